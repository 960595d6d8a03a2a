/* pg_idem.c - Idempotency-Key records on PostgreSQL (pg_idem.h).
 *
 * Table idempotency_keys of pg_schema_sql.h, primary key (scope, key), as
 * on SQLite. A live record refuses a second one with INSERT ... ON CONFLICT
 * DO NOTHING: no row inserted is MD_ECONFLICT, and the statement does not
 * fail, so the writer's transaction stays usable (it rolls the report
 * back to its savepoint). Against another node's insert of the same key,
 * not yet committed, the INSERT waits for it: its COMMIT makes this one a
 * conflict, its ROLLBACK lets this one in - the key decides, as on SQLite.
 */
#include "pg_idem.h"

#include "pg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void int_param(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
}

md_err md__pg_idem_get(struct md_pg *pg, const char *scope, const char *key, int64_t now,
                       struct md_idem_row *out, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT fingerprint, report_id, status, content_type, body, created_at"
        " FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at > $3::bigint";
    memset(out, 0, sizeof(*out));
    char since[24];
    int_param(now - MD_IDEM_TTL_S, since);
    const char *values[] = {scope, key, since};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_idem_get", sql, 3, values, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", md__pg_text(r, 0, 0));
        out->report_id = md__pg_int(r, 0, 1);
        out->answer.status = (int)md__pg_int(r, 0, 2);
        snprintf(out->answer.content_type, sizeof(out->answer.content_type), "%s",
                 md__pg_text(r, 0, 3));
        out->answer.body = strdup(md__pg_text(r, 0, 4));
        out->created_at = md__pg_int(r, 0, 5);
        if (!out->answer.body)
            rc = md_fail(ctx, MD_ENOMEM, "reading an idempotency key");
    } else {
        rc = md_fail(ctx, MD_ENOTFOUND, "no such idempotency key");
    }
    PQclear(r);
    return rc;
}

md_err md__pg_idem_put(struct md_pg *pg, const struct md_idem_new *k, int64_t report_id,
                       const struct md_idem_answer *a, int64_t now, struct md_ctx *ctx)
{
    static const char expired_sql[] = "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2"
                                      " AND created_at <= $3::bigint";
    static const char insert_sql[] =
        "INSERT INTO idempotency_keys(scope, key, fingerprint, report_id, status, content_type,"
        " body, created_at) VALUES ($1, $2, $3, $4::bigint, $5::integer, $6, $7, $8::bigint)"
        " ON CONFLICT (scope, key) DO NOTHING";
    char since[24], rid[24], status[24], at[24];
    int_param(now - MD_IDEM_TTL_S, since);
    int_param(report_id, rid);
    int_param(a->status, status);
    int_param(now, at);
    const char *expired[] = {k->scope, k->key, since};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_idem_expired", expired_sql, 3, expired, &r, ctx);
    PQclear(r);
    if (rc)
        return rc;
    const char *values[] = {k->scope, k->key,          k->fingerprint,         rid,
                            status,   a->content_type, a->body ? a->body : "", at};
    rc = md__pg_query(pg, "md_idem_put", insert_sql, 8, values, &r, ctx);
    if (!rc && strcmp(PQcmdTuples(r), "1") != 0)
        rc = md_fail(ctx, MD_ECONFLICT,
                     "a request with this Idempotency-Key was already made; retry it to get"
                     " its answer");
    PQclear(r);
    return rc;
}

md_err md__pg_idem_prune(struct md_pg *pg, int64_t now, int64_t *deleted, struct md_ctx *ctx)
{
    static const char sql[] = "DELETE FROM idempotency_keys WHERE created_at <= $1::bigint";
    char since[24];
    int_param(now - MD_IDEM_TTL_S, since);
    const char *values[] = {since};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_idem_prune", sql, 1, values, &r, ctx);
    if (!rc && deleted)
        *deleted = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}
