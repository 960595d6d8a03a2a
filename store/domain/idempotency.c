/* idempotency.c - Idempotency-Key records (idempotency.h).
 *
 * Table idempotency_keys (schema_sql.h block "idempotency"): PRIMARY KEY
 * (scope, key), so the database refuses a second record of a live key;
 * created_at is indexed for the prune.
 */
#include "idempotency.h"
#include "pg_idem.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md_idem_row_clear(struct md_idem_row *row)
{
    if (!row)
        return;
    free(row->answer.body);
    row->answer.body = NULL;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

md_err md_idem_get(struct md_store *s, const char *scope, const char *key, int64_t now,
                   struct md_idem_row *out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_idem_get(s->pg, scope, key, now, out, ctx);
    static const char sql[] =
        "SELECT fingerprint, report_id, status, content_type, body, created_at"
        " FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at > ?";
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now - MD_IDEM_TTL_S);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", col_text(st, 0));
        out->report_id = sqlite3_column_int64(st, 1);
        out->answer.status = sqlite3_column_int(st, 2);
        snprintf(out->answer.content_type, sizeof(out->answer.content_type), "%s",
                 col_text(st, 3));
        out->answer.body = strdup(col_text(st, 4));
        out->created_at = sqlite3_column_int64(st, 5);
        if (!out->answer.body)
            rc = md_fail(ctx, MD_ENOMEM, "reading an idempotency key");
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_ENOTFOUND, "no such idempotency key");
    } else {
        rc = md_store_fail(s, src, "reading an idempotency key", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

md_err md_idem_put(struct md_store *s, const struct md_idem_new *k, int64_t report_id,
                   const struct md_idem_answer *a, int64_t now, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_idem_put(s->pg, k, report_id, a, now, ctx);
    static const char expired_sql[] =
        "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at <= ?";
    static const char insert_sql[] =
        "INSERT INTO idempotency_keys(scope, key, fingerprint, report_id, status, content_type,"
        " body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, expired_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, k->scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now - MD_IDEM_TTL_S);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "replacing an expired idempotency key", ctx);
    rc = md_store_stmt(s, insert_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, k->scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, report_id);
    sqlite3_bind_int(st, 5, a->status);
    sqlite3_bind_text(st, 6, a->content_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, a->body ? a->body : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now);
    src = sqlite3_step(st);
    sqlite3_reset(st);
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return md_fail(ctx, MD_ECONFLICT,
                       "a request with this Idempotency-Key was already made; retry it to get"
                       " its answer");
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "saving the idempotency key", ctx);
    return MD_OK;
}

md_err md_idem_prune(struct md_store *s, int64_t now, int64_t *deleted, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_idem_prune(s->pg, now, deleted, ctx);
    static const char sql[] = "DELETE FROM idempotency_keys WHERE created_at <= ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, now - MD_IDEM_TTL_S);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "pruning idempotency keys", ctx);
    if (deleted)
        *deleted = sqlite3_changes(md_store_db(s));
    return MD_OK;
}

md_err md_idem_ensure_table(struct md_store *s, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG) /* pg_schema_sql.h has it */
        return MD_OK;
    return md__store_idempotency_ddl(s, ctx);
}
