/* pg_tokens.c - API tokens, units and officers on PostgreSQL (pg_tokens.h).
 *
 * The statements are tokens.c's and units.c's with PostgreSQL's forms:
 * ids come back with RETURNING (SQLite reads last_insert_rowid); "INSERT OR
 * REPLACE" is INSERT ... ON CONFLICT DO UPDATE; a row counted or refused
 * (token_usage, a unit that exists, a live token revoked) is told by the
 * rows RETURNING gives, where SQLite reads sqlite3_changes. Nothing here
 * opens a transaction: these run in the caller's.
 */
#include "pg_tokens.h"

#include "md_sha256.h"
#include "md_time.h"
#include "pg_store.h"
#include "reports.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define TOKEN_PREFIX "mdt_" /* tokens.c's */
#define TOKEN_BYTES 32

static void int_param(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
}

/* Run a statement; *rows gets how many rows it returned (may be NULL). */
static md_err run(struct md_pg *pg, const char *name, const char *sql, int n,
                  const char *const *values, int *rows, struct md_ctx *ctx)
{
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, name, sql, n, values, &r, ctx);
    if (!rc && rows)
        *rows = PQntuples(r);
    PQclear(r);
    return rc;
}

md_err md__pg_token_create(struct md_pg *pg, enum md_role role, const char *label,
                           char token[MD_TOKEN_TEXT_MAX], int64_t *id, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO tokens(hash, role, label, created_at)"
                              " VALUES ($1, $2, $3, $4::bigint) RETURNING id";
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[TOKEN_BYTES];
    if (role <= MD_ROLE_PUBLIC || role >= MD_ROLE__COUNT)
        return md_fail(ctx, MD_EINVAL, "a token needs the role app, officer, centre or admin");
    md_err rc = md_random_bytes(raw, sizeof(raw), ctx);
    if (rc)
        return rc;
    size_t n = strlen(TOKEN_PREFIX);
    memcpy(token, TOKEN_PREFIX, n);
    for (int i = 0; i < TOKEN_BYTES; i++) {
        token[n++] = hex[raw[i] >> 4];
        token[n++] = hex[raw[i] & 15];
    }
    token[n] = '\0';
    char hash[MD_SHA256_HEX_LEN], at[24];
    md_sha256_hex(token, n, hash);
    int_param(md_time_now(), at);
    const char *values[] = {hash, md_role_name(role), label ? label : "", at};
    PGresult *r = NULL;
    rc = md__pg_query(pg, "md_token_insert", sql, 4, values, &r, ctx);
    if (!rc && PQntuples(r) != 1)
        rc = md_fail(ctx, MD_EDB, "saving the token: no id returned");
    if (!rc && id)
        *id = md__pg_int(r, 0, 0);
    PQclear(r);
    if (rc)
        token[0] = '\0';
    return rc;
}

md_err md__pg_token_verify(struct md_pg *pg, const char *token, struct md_principal *out,
                           struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT t.id, t.hash, t.role, t.revoked_at, p.officer_id, o.unit_code, p.scopes,"
        " p.quota_per_day, p.expires_at FROM tokens t LEFT JOIN token_policy p ON p.token_id = t.id"
        " LEFT JOIN officers o ON o.id = p.officer_id WHERE t.hash = $1";
    size_t n = token ? strlen(token) : 0;
    if (n != strlen(TOKEN_PREFIX) + 2 * TOKEN_BYTES || strncmp(token, TOKEN_PREFIX, 4) != 0)
        return md_fail(ctx, MD_EUNAUTH, "the token is malformed (expected mdt_ and 64 hex digits)");
    char hash[MD_SHA256_HEX_LEN];
    md_sha256_hex(token, n, hash);
    const char *values[] = {hash};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_token_verify", sql, 1, values, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) != 1) {
        rc = md_fail(ctx, MD_EUNAUTH, "unknown token");
    } else {
        const char *stored = md__pg_text(r, 0, 1);
        bool match = strlen(stored) == 64 && md_ct_equal(stored, hash, 64);
        if (!match)
            rc = md_fail(ctx, MD_EUNAUTH, "unknown token");
        else if (!PQgetisnull(r, 0, 3))
            rc = md_fail(ctx, MD_EUNAUTH, "the token has been revoked");
        else if (!PQgetisnull(r, 0, 8) && md__pg_int(r, 0, 8) <= md_time_now())
            rc = md_fail(ctx, MD_EUNAUTH, "the token has expired");
        else {
            memset(out, 0, sizeof(*out));
            out->token_id = md__pg_int(r, 0, 0);
            struct md_ctx sub;
            md_ctx_init(&sub);
            if (md_role_parse(md__pg_text(r, 0, 2), &out->role, &sub))
                out->role = MD_ROLE_PUBLIC;
            snprintf(out->actor, sizeof(out->actor), "token:%lld", (long long)out->token_id);
            out->officer_id = md__pg_int(r, 0, 4);
            snprintf(out->unit, sizeof(out->unit), "%s", md__pg_text(r, 0, 5));
            md_ctx_init(&sub);
            if (md_scopes_parse(PQgetisnull(r, 0, 6) ? NULL : md__pg_text(r, 0, 6), &out->scopes,
                                &sub))
                out->scopes = 0; /* a scope this mapd does not know grants nothing */
            out->quota_per_day = md__pg_int(r, 0, 7);
        }
    }
    PQclear(r);
    return rc;
}

md_err md__pg_token_set_policy(struct md_pg *pg, int64_t id, const struct md_token_policy *p,
                               struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO token_policy(token_id, officer_id, scopes, quota_per_day, expires_at)"
        " VALUES ($1::bigint, $2::bigint, $3, $4::bigint, $5::bigint) ON CONFLICT (token_id)"
        " DO UPDATE SET officer_id = EXCLUDED.officer_id, scopes = EXCLUDED.scopes,"
        " quota_per_day = EXCLUDED.quota_per_day, expires_at = EXCLUDED.expires_at";
    char tid[24], oid[24], quota[24], exp[24];
    int_param(id, tid);
    int_param(p->officer_id, oid);
    int_param(p->quota_per_day, quota);
    int_param(p->expires_at, exp);
    const char *values[] = {tid, p->officer_id ? oid : NULL,
                            p->scopes && *p->scopes ? p->scopes : NULL,
                            p->quota_per_day ? quota : NULL, p->expires_at ? exp : NULL};
    return run(pg, "md_token_set_policy", sql, 5, values, NULL, ctx);
}

md_err md__pg_token_use(struct md_pg *pg, const struct md_principal *who, int64_t now,
                        int64_t *retry_after_s, struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO token_usage AS u(token_id, day, n) VALUES ($1::bigint, $2::bigint, 1)"
        " ON CONFLICT (token_id, day) DO UPDATE SET n = u.n + 1 WHERE u.n < $3::bigint"
        " RETURNING n";
    if (who->quota_per_day <= 0 || who->token_id <= 0)
        return MD_OK;
    int64_t day = now / 86400;
    if (retry_after_s)
        *retry_after_s = (day + 1) * 86400 - now;
    char tid[24], d[24], q[24];
    int_param(who->token_id, tid);
    int_param(day, d);
    int_param(who->quota_per_day, q);
    const char *values[] = {tid, d, q};
    int counted = 0;
    md_err rc = run(pg, "md_token_use", sql, 3, values, &counted, ctx);
    if (!rc && counted == 0)
        rc = md_fail(ctx, MD_ERATE, "this key's quota of %lld requests per day is used up",
                     (long long)who->quota_per_day);
    return rc;
}

md_err md__pg_token_revoke(struct md_pg *pg, int64_t id, struct md_ctx *ctx)
{
    static const char sql[] = "UPDATE tokens SET revoked_at = $1::bigint"
                              " WHERE id = $2::bigint AND revoked_at IS NULL RETURNING id";
    char at[24], tid[24];
    int_param(md_time_now(), at);
    int_param(id, tid);
    const char *values[] = {at, tid};
    int rows = 0;
    md_err rc = run(pg, "md_token_revoke", sql, 2, values, &rows, ctx);
    if (!rc && rows == 0)
        rc = md_fail(ctx, MD_ENOTFOUND, "no live token with id %lld", (long long)id);
    return rc;
}

md_err md__pg_token_list(struct md_pg *pg, md_token_fn fn, void *userdata, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT t.id, t.role, t.label, t.hash, t.created_at, t.revoked_at, o.unit_code, o.name,"
        " p.scopes, p.quota_per_day, p.expires_at,"
        " (SELECT n FROM token_usage u WHERE u.token_id = t.id AND u.day = $1::bigint)"
        " FROM tokens t LEFT JOIN token_policy p ON p.token_id = t.id"
        " LEFT JOIN officers o ON o.id = p.officer_id ORDER BY t.id";
    char d[24];
    int_param(md_time_now() / 86400, d);
    const char *values[] = {d};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_token_list", sql, 1, values, &r, ctx);
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        struct md_token_info t = {.id = md__pg_int(r, i, 0)};
        snprintf(t.role, sizeof(t.role), "%s", md__pg_text(r, i, 1));
        snprintf(t.label, sizeof(t.label), "%s", md__pg_text(r, i, 2));
        snprintf(t.hash_prefix, sizeof(t.hash_prefix), "%s", md__pg_text(r, i, 3));
        t.created_at = md__pg_int(r, i, 4);
        t.revoked_at = md__pg_int(r, i, 5);
        snprintf(t.unit, sizeof(t.unit), "%s", md__pg_text(r, i, 6));
        snprintf(t.officer, sizeof(t.officer), "%s", md__pg_text(r, i, 7));
        snprintf(t.scopes, sizeof(t.scopes), "%s", md__pg_text(r, i, 8));
        t.quota_per_day = md__pg_int(r, i, 9);
        t.expires_at = md__pg_int(r, i, 10);
        t.used_today = md__pg_int(r, i, 11);
        rc = fn(&t, userdata);
    }
    PQclear(r);
    return rc;
}

md_err md__pg_unit_add(struct md_pg *pg, const char *code, const char *name, const char *unit_type,
                       const char *district, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO units(code, name, unit_type, district_code, created_at)"
                              " VALUES ($1, $2, $3, $4, $5::bigint) ON CONFLICT (code) DO NOTHING"
                              " RETURNING code";
    if (!md_unit_code_valid(code))
        return md_fail(ctx, MD_EINVAL, "unit code must be 1-32 letters, digits, '-' or '_'");
    if (!name || !*name || strlen(name) >= MD_UNIT_NAME_MAX)
        return md_fail(ctx, MD_EINVAL, "unit name must be 1-200 bytes");
    char at[24];
    int_param(md_time_now(), at);
    const char *values[] = {code, name, unit_type && *unit_type ? unit_type : NULL,
                            district && *district ? district : NULL, at};
    int rows = 0;
    md_err rc = run(pg, "md_unit_add", sql, 5, values, &rows, ctx);
    if (!rc && rows == 0)
        rc = md_fail(ctx, MD_ECONFLICT, "unit %s exists", code);
    return rc;
}

md_err md__pg_unit_exists(struct md_pg *pg, const char *code, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT 1 FROM units WHERE code = $1";
    const char *values[] = {code};
    int rows = 0;
    md_err rc = run(pg, "md_unit_exists", sql, 1, values, &rows, ctx);
    if (!rc && rows == 0)
        rc = md_fail(ctx, MD_ENOTFOUND, "no unit '%.32s' (see GET /api/v1/units)", code);
    return rc;
}

md_err md__pg_officer_add(struct md_pg *pg, const char *unit_code, const char *name, int64_t *id,
                          struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO officers(unit_code, name, created_at)"
                              " VALUES ($1, $2, $3::bigint) RETURNING id";
    if (!name || !*name || strlen(name) >= MD_OFFICER_NAME_MAX)
        return md_fail(ctx, MD_EINVAL, "officer name must be 1-100 bytes");
    md_err rc = md__pg_unit_exists(pg, unit_code, ctx);
    if (rc)
        return rc;
    char at[24];
    int_param(md_time_now(), at);
    const char *values[] = {unit_code, name, at};
    PGresult *r = NULL;
    rc = md__pg_query(pg, "md_officer_add", sql, 3, values, &r, ctx);
    if (!rc && PQntuples(r) != 1)
        rc = md_fail(ctx, MD_EDB, "adding the officer: no id returned");
    if (!rc && id)
        *id = md__pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

md_err md__pg_officer_unit(struct md_pg *pg, int64_t officer_id, char unit[MD_UNIT_CODE_MAX],
                           struct md_ctx *ctx)
{
    static const char sql[] = "SELECT unit_code FROM officers WHERE id = $1::bigint";
    char oid[24];
    int_param(officer_id, oid);
    const char *values[] = {oid};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_officer_unit", sql, 1, values, &r, ctx);
    if (!rc && PQntuples(r) == 1)
        snprintf(unit, MD_UNIT_CODE_MAX, "%s", md__pg_text(r, 0, 0));
    else if (!rc)
        rc = md_fail(ctx, MD_ENOTFOUND, "no officer %lld", (long long)officer_id);
    PQclear(r);
    return rc;
}

md_err md__pg_assignment_get(struct md_pg *pg, int64_t report_id, int *found,
                             char unit[MD_UNIT_CODE_MAX], int64_t *officer_id, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT unit_code, officer_id FROM report_assignments WHERE report_id = $1::bigint";
    char rid[24];
    int_param(report_id, rid);
    const char *values[] = {rid};
    PGresult *r = NULL;
    *found = 0;
    unit[0] = '\0';
    *officer_id = 0;
    md_err rc = md__pg_query(pg, "md_assignment_get", sql, 1, values, &r, ctx);
    if (!rc && PQntuples(r) == 1) {
        *found = 1;
        snprintf(unit, MD_UNIT_CODE_MAX, "%s", md__pg_text(r, 0, 0));
        *officer_id = md__pg_int(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

md_err md__pg_assignment_record(struct md_pg *pg, int64_t report_id, const char *unit,
                                int64_t officer_id, int64_t now, const char *actor,
                                struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO report_assignments(report_id, unit_code, officer_id, assigned_at, actor_id)"
        " VALUES ($1::bigint, $2, $3::bigint, $4::bigint, $5) ON CONFLICT (report_id) DO UPDATE"
        " SET unit_code = EXCLUDED.unit_code, officer_id = EXCLUDED.officer_id,"
        " assigned_at = EXCLUDED.assigned_at, actor_id = EXCLUDED.actor_id";
    char rid[24], oid[24], at[24];
    int_param(report_id, rid);
    int_param(officer_id, oid);
    int_param(now, at);
    const char *values[] = {rid, unit, officer_id ? oid : NULL, at, actor};
    return run(pg, "md_assignment_record", sql, 5, values, NULL, ctx);
}

static json_t *text_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

md_err md__pg_units_json(struct md_pg *pg, json_t **out, struct md_ctx *ctx)
{
    /* codes bytewise, as SQLite's BINARY orders them */
    static const char sql[] =
        "SELECT u.code, u.name, u.unit_type, u.district_code, o.id, o.name FROM units u"
        " LEFT JOIN officers o ON o.unit_code = u.code ORDER BY u.code COLLATE \"C\", o.id";
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_units_json", sql, 0, NULL, &r, ctx);
    if (rc)
        return rc;
    json_t *arr = json_array(), *unit = NULL;
    for (int i = 0; arr && i < PQntuples(r); i++) {
        const char *code = md__pg_text(r, i, 0);
        if (!unit || strcmp(json_string_value(json_object_get(unit, "code")), code) != 0) {
            unit = json_pack("{s:s s:o s:o s:o s:[]}", "code", code, "name", text_or_null(r, i, 1),
                             "unit_type", text_or_null(r, i, 2), "district", text_or_null(r, i, 3),
                             "officers");
            json_array_append_new(arr, unit);
        }
        if (!PQgetisnull(r, i, 4))
            json_array_append_new(json_object_get(unit, "officers"),
                                  json_pack("{sI s:o}", "id", (json_int_t)md__pg_int(r, i, 4),
                                            "name", text_or_null(r, i, 5)));
    }
    PQclear(r);
    if (!arr)
        return md_fail(ctx, MD_ENOMEM, "listing units");
    *out = arr;
    return MD_OK;
}

md_err md__pg_assignment_json(struct md_pg *pg, int64_t report_id, int offset_min, json_t **out,
                              struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT a.unit_code, u.name, a.officer_id, o.name, a.assigned_at FROM report_assignments a"
        " JOIN units u ON u.code = a.unit_code LEFT JOIN officers o ON o.id = a.officer_id"
        " WHERE a.report_id = $1::bigint";
    char rid[24];
    int_param(report_id, rid);
    const char *values[] = {rid};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_assignment_json", sql, 1, values, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        char at[MD_TIME_STR_MAX];
        md_time_format(md__pg_int(r, 0, 4), offset_min, at);
        *out = json_pack("{s:o s:o s:o s:o s:s}", "unit", text_or_null(r, 0, 0), "unit_name",
                         text_or_null(r, 0, 1), "officer_id",
                         PQgetisnull(r, 0, 2) ? json_null() : json_integer(md__pg_int(r, 0, 2)),
                         "officer_name", text_or_null(r, 0, 3), "assigned_at", at);
    } else {
        *out = json_null();
    }
    PQclear(r);
    return MD_OK;
}

md_err md__pg_unit_cases_json(struct md_store *s, struct md_pg *pg, const char *unit,
                              int64_t officer_id, int limit, int64_t now, int offset_min,
                              json_t **out, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT r.id FROM report_assignments a JOIN reports r ON r.id = a.report_id"
        " WHERE a.unit_code = $1 AND ($2::bigint = 0 OR a.officer_id IS NULL"
        " OR a.officer_id = $2::bigint) AND (r.status = 'dispatched' OR r.status = 'in_progress')"
        " ORDER BY r.expected_at IS NULL, r.expected_at, r.id LIMIT $3::integer";
    char oid[24], lim[24];
    int_param(officer_id, oid);
    int_param(limit, lim);
    const char *values[] = {unit, oid, lim};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_unit_cases", sql, 3, values, &r, ctx);
    if (rc)
        return rc;
    int n = PQntuples(r) < 500 ? PQntuples(r) : 500; /* units.c's bound */
    json_t *arr = json_array();
    for (int i = 0; !rc && i < n; i++) {
        json_t *rep = NULL, *a = NULL;
        int64_t id = md__pg_int(r, i, 0);
        rc = md_report_get(s, id, now, offset_min, &rep, ctx);
        if (!rc)
            rc = md_assignment_json(s, id, offset_min, &a, ctx);
        if (!rc) {
            json_object_set_new(rep, "assignment", a);
            json_array_append_new(arr, rep);
        } else {
            json_decref(rep);
        }
    }
    PQclear(r);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return MD_OK;
}
