/* pg_citizen.c - supports, ratings, touches and photos on PostgreSQL
 * (pg_citizen.h). A second "me too" or rating is refused by the primary
 * key, as on SQLite: INSERT ... ON CONFLICT DO NOTHING inserting no row is
 * MD_ECONFLICT, and the caller's transaction stays usable. */
#include "pg_citizen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void int_param(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
}

md_err md__pg_report_status(struct md_pg *pg, int64_t id, char *status, size_t n,
                            struct md_ctx *ctx)
{
    static const char sql[] = "SELECT status FROM reports WHERE id = $1::bigint";
    char a[24];
    int_param(id, a);
    const char *values[] = {a};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_report_status", sql, 1, values, &r, ctx);
    if (!rc && PQntuples(r) == 1)
        snprintf(status, n, "%s", md__pg_text(r, 0, 0));
    else if (!rc)
        rc = md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id);
    PQclear(r);
    return rc;
}

/* One statement that must change a row: MD_ECONFLICT `what` when it did not. */
static md_err insert_once(struct md_pg *pg, const char *name, const char *sql, int n,
                          const char *const *values, const char *what, struct md_ctx *ctx)
{
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, name, sql, n, values, &r, ctx);
    if (!rc && strcmp(PQcmdTuples(r), "1") != 0)
        rc = md_fail(ctx, MD_ECONFLICT, "%s", what);
    PQclear(r);
    return rc;
}

md_err md__pg_support_add(struct md_pg *pg, int64_t id, const char *device_hash, int64_t now,
                          int64_t *supporters, struct md_ctx *ctx)
{
    static const char insert_sql[] = "INSERT INTO report_supports(report_id, device_hash, at)"
                                     " VALUES ($1::bigint, $2, $3::bigint) ON CONFLICT DO NOTHING";
    static const char bump_sql[] = "UPDATE reports SET supporters = supporters + 1"
                                   " WHERE id = $1::bigint RETURNING supporters";
    char a[24], t[24], what[96];
    int_param(id, a);
    int_param(now, t);
    snprintf(what, sizeof(what), "this device already supports report %lld", (long long)id);
    const char *values[] = {a, device_hash, t};
    md_err rc = insert_once(pg, "md_support_add", insert_sql, 3, values, what, ctx);
    PGresult *r = NULL;
    if (!rc)
        rc = md__pg_query(pg, "md_support_bump", bump_sql, 1, values, &r, ctx);
    if (!rc)
        *supporters = PQntuples(r) == 1 ? md__pg_int(r, 0, 0) : 0;
    PQclear(r);
    return rc;
}

md_err md__pg_rating_add(struct md_pg *pg, int64_t id, int score, const char *comment,
                         int64_t now, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO report_ratings(report_id, score, comment, at)"
                              " VALUES ($1::bigint, $2::integer, $3, $4::bigint)"
                              " ON CONFLICT DO NOTHING";
    char a[24], sc[24], t[24], what[64];
    int_param(id, a);
    int_param(score, sc);
    int_param(now, t);
    snprintf(what, sizeof(what), "report %lld is already rated", (long long)id);
    const char *values[] = {a, sc, comment ? comment : "", t};
    return insert_once(pg, "md_rating_add", sql, 4, values, what, ctx);
}

md_err md__pg_report_touch(struct md_pg *pg, int64_t id, int64_t now, struct md_ctx *ctx)
{
    static const char sql[] = "UPDATE reports SET updated_at = $1::bigint WHERE id = $2::bigint";
    char t[24], a[24];
    int_param(now, t);
    int_param(id, a);
    const char *values[] = {t, a};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_report_touch", sql, 2, values, &r, ctx);
    PQclear(r);
    return rc;
}

md_err md__pg_photos_kept(struct md_pg *pg, int64_t id, int64_t *n, char *status, size_t len,
                          struct md_ctx *ctx)
{
    static const char sql[] = "SELECT r.status, (SELECT count(*) FROM report_photos p"
                              " WHERE p.report_id = r.id AND p.status = 'kept')"
                              " FROM reports r WHERE r.id = $1::bigint";
    char a[24];
    int_param(id, a);
    const char *values[] = {a};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_photos_kept", sql, 1, values, &r, ctx);
    if (!rc && PQntuples(r) == 1) {
        snprintf(status, len, "%s", md__pg_text(r, 0, 0));
        *n = md__pg_int(r, 0, 1);
    } else if (!rc) {
        rc = md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id);
    }
    PQclear(r);
    return rc;
}

md_err md__pg_photo_read(struct md_pg *pg, int64_t photo_id, bool thumb, unsigned char **out,
                         size_t *len, char *etag, size_t etag_n, char *status, size_t status_n,
                         bool *found, struct md_ctx *ctx)
{
    static const char display_sql[] =
        "SELECT p.display, p.display_etag, r.status FROM report_photos p"
        " JOIN reports r ON r.id = p.report_id WHERE p.id = $1::bigint AND p.status = 'kept'";
    static const char thumb_sql[] =
        "SELECT p.thumb, p.thumb_etag, r.status FROM report_photos p"
        " JOIN reports r ON r.id = p.report_id WHERE p.id = $1::bigint AND p.status = 'kept'";
    char a[24];
    int_param(photo_id, a);
    const char *values[] = {a};
    PGresult *r = NULL;
    *found = false;
    md_err rc = md__pg_query(pg, thumb ? "md_photo_thumb" : "md_photo_display",
                             thumb ? thumb_sql : display_sql, 1, values, &r, ctx);
    if (!rc && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        size_t n = (size_t)PQgetlength(r, 0, 0);
        *found = true;
        snprintf(etag, etag_n, "%s", md__pg_text(r, 0, 1));
        snprintf(status, status_n, "%s", md__pg_text(r, 0, 2));
        if (!(*out = malloc(n ? n : 1)))
            rc = md_fail(ctx, MD_ENOMEM, "photo %lld", (long long)photo_id);
        else {
            memcpy(*out, PQgetvalue(r, 0, 0), n);
            *len = n;
        }
    }
    PQclear(r);
    return rc;
}

md_err md__pg_photo_find(struct md_pg *pg, int64_t photo_id, int64_t *report_id, char *status,
                         size_t n, bool *found, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT p.report_id, r.status FROM report_photos p JOIN reports r ON r.id = p.report_id"
        " WHERE p.id = $1::bigint AND p.status = 'kept'";
    char a[24];
    int_param(photo_id, a);
    const char *values[] = {a};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_photo_find", sql, 1, values, &r, ctx);
    *found = !rc && PQntuples(r) == 1;
    if (*found) {
        *report_id = md__pg_int(r, 0, 0);
        snprintf(status, n, "%s", md__pg_text(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

md_err md__pg_photo_drop(struct md_pg *pg, int64_t photo_id, int64_t now, struct md_ctx *ctx)
{
    static const char sql[] = "UPDATE report_photos SET status = 'removed', display = NULL,"
                              " thumb = NULL, removed_at = $1::bigint WHERE id = $2::bigint";
    char t[24], a[24];
    int_param(now, t);
    int_param(photo_id, a);
    const char *values[] = {t, a};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_photo_drop", sql, 2, values, &r, ctx);
    PQclear(r);
    return rc;
}
