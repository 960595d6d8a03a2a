/* md_err.h - mapd's single error type and the per-request error context.
 *
 * Every fallible function returns md_err (0 = MD_OK). The list below is the
 * only place an error's name, message, JSON code and HTTP status are defined:
 * md_strerror(), md_err_code() and md_err_http_status() all read it.
 * Detail for the caller goes into struct md_ctx through md_fail().
 */
#ifndef MD_ERR_H
#define MD_ERR_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>

#define MD_WUR __attribute__((warn_unused_result))
#define MD_PRINTF(a, b) __attribute__((format(printf, a, b)))
/* Deliberately ignore a result (best-effort work such as a header on an error
 * reply); GCC does not let a (void) cast silence warn_unused_result. */
#define MD_IGNORE(expr) \
    do {                \
        if (expr) {     \
        }               \
    } while (0)

/* X(NAME, json code, message, http status) */
#define MD_ERR_LIST(X)                                                                  \
    X(OK, "ok", "success", 200)                                                         \
    X(EINVAL, "invalid_argument", "invalid argument", 400)                             \
    X(EPARSE, "parse_error", "malformed input", 400)                                   \
    X(EUNAUTH, "unauthorized", "authentication required", 401)                         \
    X(EFORBID, "forbidden", "not allowed for this role", 403)                          \
    X(ENOTFOUND, "not_found", "not found", 404)                                        \
    X(EMETHOD, "method_not_allowed", "method not allowed", 405)                        \
    X(ENOTACCEPT, "not_acceptable", "not acceptable", 406)                             \
    X(ETIMEOUT, "request_timeout", "request timed out", 408)                           \
    X(ECONFLICT, "conflict", "conflicts with the current state", 409)                  \
    X(ETOOBIG, "payload_too_large", "payload too large", 413)                          \
    X(EURITOOLONG, "uri_too_long", "URI too long", 414)                                \
    X(EMEDIA, "unsupported_media_type", "unsupported media type", 415)                 \
    X(ERANGE, "range_not_satisfiable", "range not satisfiable", 416)                   \
    X(EUNPROC, "unprocessable", "cannot be processed", 422)                            \
    X(EEXPENSIVE, "query_too_expensive", "query needs more work than allowed", 422)    \
    X(ERATE, "rate_limited", "too many requests", 429)                                 \
    X(EHDRTOOBIG, "header_too_large", "request header fields too large", 431)          \
    X(ENOMEM, "out_of_memory", "out of memory", 500)                                   \
    X(EDB, "database_error", "database error", 500)                                    \
    X(EIO, "io_error", "input/output error", 500)                                      \
    X(EGEOS, "geometry_error", "geometry engine error", 500)                           \
    X(EPROJ, "projection_error", "coordinate transformation error", 500)               \
    X(EINTERNAL, "internal_error", "internal error", 500)                              \
    X(EBUSY, "service_unavailable", "service busy, retry later", 503)                  \
    X(ENOSPACE, "insufficient_storage", "storage is full", 507)                         \
    X(ENOTIMPL, "not_implemented", "not implemented on this backend", 501)

#define MD_ERR_ENUM(name, code, msg, status) MD_##name,
typedef enum { MD_ERR_LIST(MD_ERR_ENUM) MD_ERR__COUNT } md_err;
#undef MD_ERR_ENUM

/* Human message for an error; never NULL, static storage. */
const char *md_strerror(md_err err);
/* Machine code used in JSON error bodies ("invalid_argument"); static storage. */
const char *md_err_code(md_err err);
/* HTTP status to answer with for this error. */
int md_err_http_status(md_err err);

#define MD_CTX_MSG_MAX 512

/* Per-request (or per-command) error context. Stack-allocate and md_ctx_init().
 * Holds the first failure's detail; later failures do not overwrite it. */
struct md_ctx {
    md_err err;
    char msg[MD_CTX_MSG_MAX];
    struct md_pool *pool; /* borrowed; may be NULL */
    /* The work budget of an expensive request (md_ctx_set_budget):
     * md_ctx_budget() fails with MD_EEXPENSIVE once the monotonic clock
     * passes deadline_us. 0 = no budget. */
    int64_t deadline_us;
    unsigned budget_ms;
    const struct md_budget_text *budget_text; /* NULL: md_budget_query */
};

/* What md_ctx_budget's message says of a budget: "<what> needs more than
 * its work budget of N ms (<flag>): <hint>". */
struct md_budget_text {
    const char *what, *flag, *hint;
};
/* The query budget's (--query-budget-ms). */
extern const struct md_budget_text md_budget_query;

void md_ctx_init(struct md_ctx *ctx);
/* MD_OK while the ctx's work budget lasts (or it has none), else
 * MD_EEXPENSIVE with a message giving the limit. Long loops call it every
 * few hundred rows; it reads the clock, so not per row. */
md_err md_ctx_budget(struct md_ctx *ctx) MD_WUR;
/* Give ctx a work budget of ms from now (0: none); text may be NULL (the
 * query budget's words). The one place a budget is set up. */
void md_ctx_set_budget(struct md_ctx *ctx, unsigned ms, const struct md_budget_text *text);
/* Clear a recorded failure (for callers that handle an error and go on). */
void md_ctx_clear(struct md_ctx *ctx);
/* Record `err` with a printf-style detail; returns `err` so callers can
 * `return md_fail(ctx, MD_EINVAL, "lat %g is outside -90..90", lat);`.
 * The first recorded failure wins. ctx may be NULL. */
md_err md_fail(struct md_ctx *ctx, md_err err, const char *fmt, ...) MD_PRINTF(3, 4);
md_err md_vfail(struct md_ctx *ctx, md_err err, const char *fmt, va_list ap);
/* The recorded detail, or the error's generic message when none was given. */
const char *md_ctx_message(const struct md_ctx *ctx);

#endif
