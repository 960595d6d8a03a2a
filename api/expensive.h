/* expensive.h - private to api/: the bounded pool of threads that runs
 * expensive requests (expensive.c). */
#ifndef MD_EXPENSIVE_H
#define MD_EXPENSIVE_H

#include "api_int.h"

struct md_expensive_pool;

/* `slots` threads (at least 1), each with its own SQLite connection, GEOS
 * and PROJ context on cfg->db_path (borrowed, outlives the pool). */
md_err md__expensive_new(const struct md_config *cfg, unsigned slots,
                         struct md_expensive_pool **out, struct md_ctx *ctx) MD_WUR;
/* Stop the threads (after their running jobs) and free; accepts NULL. */
void md__expensive_free(struct md_expensive_pool *p);
/* Run fn(call) on a free slot under the budget cfg->query_budget_ms: the
 * answer becomes call->res's deferred response (the connection waits
 * without holding an HTTP worker). MD_EBUSY (with Retry-After) when every
 * slot is taken. The request must stay alive until the deferred's free,
 * as every request does. */
md_err md__expensive_submit(struct md_expensive_pool *p, struct md_call *call,
                            md_handler_fn fn) MD_WUR;

#endif
