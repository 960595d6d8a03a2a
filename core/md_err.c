/* md_err.c - the error table and md_ctx failure recording. */
#include "md_err.h"
#include "md_time.h"

#include <stdio.h>
#include <string.h>

struct err_row {
    const char *code;
    const char *msg;
    int status;
};

#define MD_ERR_ROW(name, code, msg, status) {code, msg, status},
static const struct err_row err_rows[] = {MD_ERR_LIST(MD_ERR_ROW)};
#undef MD_ERR_ROW

static const struct err_row *row_of(md_err err)
{
    if ((int)err < 0 || err >= MD_ERR__COUNT)
        return &err_rows[MD_EINTERNAL];
    return &err_rows[err];
}

const char *md_strerror(md_err err)
{
    return row_of(err)->msg;
}

const char *md_err_code(md_err err)
{
    return row_of(err)->code;
}

int md_err_http_status(md_err err)
{
    return row_of(err)->status;
}

void md_ctx_init(struct md_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
}

const struct md_budget_text md_budget_query = {
    "the query", "--query-budget-ms",
    "narrow the area, simplify the polygon, add filters or shorten the range"};

void md_ctx_set_budget(struct md_ctx *ctx, unsigned ms, const struct md_budget_text *text)
{
    ctx->budget_ms = ms;
    ctx->deadline_us = ms ? md_time_mono_us() + (int64_t)ms * 1000 : 0;
    ctx->budget_text = text;
}

md_err md_ctx_budget(struct md_ctx *ctx)
{
    if (!ctx || !ctx->deadline_us || md_time_mono_us() < ctx->deadline_us)
        return MD_OK;
    const struct md_budget_text *t = ctx->budget_text ? ctx->budget_text : &md_budget_query;
    return md_fail(ctx, MD_EEXPENSIVE, "%s needs more than its work budget of %u ms (%s): %s",
                   t->what, ctx->budget_ms, t->flag, t->hint);
}

void md_ctx_clear(struct md_ctx *ctx)
{
    ctx->err = MD_OK;
    ctx->msg[0] = '\0';
}

md_err md_vfail(struct md_ctx *ctx, md_err err, const char *fmt, va_list ap)
{
    if (!ctx || ctx->err != MD_OK)
        return err;
    ctx->err = err;
    if (fmt)
        vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
    else
        ctx->msg[0] = '\0';
    return err;
}

md_err md_fail(struct md_ctx *ctx, md_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    md_vfail(ctx, err, fmt, ap);
    va_end(ap);
    return err;
}

const char *md_ctx_message(const struct md_ctx *ctx)
{
    if (ctx->msg[0])
        return ctx->msg;
    return md_strerror(ctx->err);
}
