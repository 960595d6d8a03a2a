/* pg_idem.h - Idempotency-Key records on PostgreSQL (private to store/):
 * the twins of idempotency.c's md_idem_get, md_idem_put and md_idem_prune,
 * with their contracts (idempotency.h); the SQLite functions dispatch here. */
#ifndef MD_PG_IDEM_H
#define MD_PG_IDEM_H

#include "idempotency.h"

struct md_pg;

md_err md__pg_idem_get(struct md_pg *pg, const char *scope, const char *key, int64_t now,
                       struct md_idem_row *out, struct md_ctx *ctx) MD_WUR;
md_err md__pg_idem_put(struct md_pg *pg, const struct md_idem_new *k, int64_t report_id,
                       const struct md_idem_answer *a, int64_t now, struct md_ctx *ctx) MD_WUR;
md_err md__pg_idem_prune(struct md_pg *pg, int64_t now, int64_t *deleted,
                         struct md_ctx *ctx) MD_WUR;

#endif
