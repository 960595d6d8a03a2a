/* http_msg.c - requests and responses as handlers see them (api.h): query
 * and header lookup, response headers, bodies, and mapd's JSON error form
 * {"error": {"code", "message"}} with the status from the error table. */
#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void md_response_init(struct md_response *res)
{
    memset(res, 0, sizeof(*res));
    res->status = 200;
    res->content_type = "application/json";
    md_buf_init(&res->body, (size_t)64 << 20);
}

void md_response_free(struct md_response *res)
{
    md_buf_free(&res->body);
    if (res->has_file)
        close(res->file_fd);
    res->has_file = false;
    if (res->stream.free)
        res->stream.free(res->stream.userdata);
    res->stream.free = NULL;
    res->stream.next = NULL;
    if (res->deferred.free)
        res->deferred.free(res->deferred.userdata);
    res->deferred.free = NULL;
    res->deferred.poll = NULL;
}

const char *md_request_query(const struct md_request *req, const char *key)
{
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, key) == 0)
            return req->query[i].value ? req->query[i].value : "";
    }
    return NULL;
}

const char *md_request_header(const struct md_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].key, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}

md_err md_response_header(struct md_response *res, struct md_pool *pool, const char *name,
                          const char *value)
{
    if (res->nheaders >= MD_RESPONSE_MAX_HEADERS)
        return MD_EINTERNAL;
    const char *v = pool ? md_pool_strdup(pool, value) : value;
    if (!v)
        return MD_ENOMEM;
    res->headers[res->nheaders].key = name;
    res->headers[res->nheaders].value = v;
    res->nheaders++;
    return MD_OK;
}

void md_response_error(struct md_response *res, const struct md_ctx *ctx)
{
    md_err err = ctx->err ? ctx->err : MD_EINTERNAL;
    res->status = md_err_http_status(err);
    res->content_type = "application/json";
    md_buf_reset(&res->body);
    if (md_buf_puts(&res->body, "{\"error\":{\"code\":") ||
        md_buf_json_str(&res->body, md_err_code(err)) || md_buf_puts(&res->body, ",\"message\":") ||
        md_buf_json_str(&res->body, md_ctx_message(ctx)) || md_buf_puts(&res->body, "}}\n")) {
        md_buf_reset(&res->body);
        MD_IGNORE(md_buf_puts(&res->body, "{\"error\":{\"code\":\"internal_error\"}}\n"));
    }
}

md_err md__json_body(struct md_call *call, const char *json)
{
    call->res->content_type = "application/json";
    md_buf_reset(&call->res->body);
    md_err rc = md_buf_puts(&call->res->body, json);
    return rc ? md_fail(call->ctx, rc, "response too large") : MD_OK;
}

bool md__origin_listed(const char *list, const char *origin, bool *any)
{
    size_t n = origin ? strlen(origin) : 0;
    *any = false;
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ') {
            p++;
            len--;
        }
        if (len == 1 && *p == '*')
            *any = true;
        if (*any || (origin && len == n && strncmp(p, origin, n) == 0))
            return true;
        p = end ? end + 1 : p + len;
    }
    return false;
}
