/* pg_city.c - city-wide reads and the overdue touch on PostgreSQL (pg_city.h).
 *
 * Each is one prepared statement of the same meaning as its SQLite twin.
 * Aggregates are cast to the types md__pg_int / md__pg_double read (sum()
 * of bigint is numeric on PostgreSQL, whose binary form they do not). */
#include "pg_city.h"

#include <stdio.h>
#include <stdlib.h>

md_err md__pg_schema_version(struct md_pg *pg, int *out, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT value::integer FROM meta WHERE key = 'schema_version'";
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_schema_version", sql, 0, NULL, &r, ctx);
    if (rc)
        return rc;
    *out = PQntuples(r) == 1 ? (int)md__pg_int(r, 0, 0) : 0;
    PQclear(r);
    return MD_OK;
}

md_err md__pg_status_counts(struct md_pg *pg, struct md_status_count *out, int max, int *n,
                            struct md_ctx *ctx)
{
    static const char sql[] = "SELECT status, n FROM report_status_counts ORDER BY status COLLATE \"C\"";
    PGresult *r = NULL;
    *n = 0;
    md_err rc = md__pg_query(pg, "md_status_counts", sql, 0, NULL, &r, ctx);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r) && *n < max; i++, (*n)++) {
        snprintf(out[*n].status, sizeof(out[*n].status), "%s", md__pg_text(r, i, 0));
        out[*n].count = md__pg_int(r, i, 1);
    }
    PQclear(r);
    return MD_OK;
}

md_err md__pg_city_bounds(struct md_pg *pg, struct md_bbox *out, bool *any, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)),"
                              " max(ST_YMax(geom)) FROM districts";
    PGresult *r = NULL;
    *any = false;
    md_err rc = md__pg_query(pg, "md_city_bounds", sql, 0, NULL, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        *out = (struct md_bbox){md__pg_double(r, 0, 0), md__pg_double(r, 0, 1),
                                md__pg_double(r, 0, 2), md__pg_double(r, 0, 3)};
        *any = true;
    }
    PQclear(r);
    return MD_OK;
}

md_err md__pg_data_center(struct md_pg *pg, double *lon, double *lat, bool *any,
                          struct md_ctx *ctx)
{
    /* SQLite sums its cluster cells (per-cell sums kept by triggers); this
     * schema has no cells yet, so the points are summed directly: the same
     * sums, added in another order (the centre agrees to ~1e-12 degrees). */
    static const char sql[] =
        "SELECT sum(lon)::float8, sum(lat)::float8, count(*)::bigint FROM"
        " (SELECT lon, lat FROM facilities UNION ALL SELECT lon, lat FROM reports) p";
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_data_center", sql, 0, NULL, &r, ctx);
    if (rc)
        return rc;
    int64_t n = PQntuples(r) == 1 ? md__pg_int(r, 0, 2) : 0;
    *any = n > 0;
    if (*any) {
        *lon = md__pg_double(r, 0, 0) / (double)n;
        *lat = md__pg_double(r, 0, 1) / (double)n;
    }
    PQclear(r);
    return MD_OK;
}

md_err md__pg_basemap_attribution(struct md_pg *pg, char *out, size_t n, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT value FROM meta WHERE key = 'basemap_attribution'";
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_basemap_attribution", sql, 0, NULL, &r, ctx);
    if (rc)
        return rc;
    snprintf(out, n, "%s", PQntuples(r) == 1 ? md__pg_text(r, 0, 0) : "");
    PQclear(r);
    return MD_OK;
}

md_err md__pg_calendar_days(struct md_pg *pg, md_pg_day_fn fn, void *userdata, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT day, kind FROM calendar_days ORDER BY day COLLATE \"C\"";
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_calendar_days", sql, 0, NULL, &r, ctx);
    for (int i = 0; !rc && i < PQntuples(r); i++)
        rc = fn(md__pg_text(r, i, 0), md__pg_text(r, i, 1), userdata, ctx);
    PQclear(r);
    return rc;
}

md_err md__pg_touch_overdue(struct md_pg *pg, int64_t since, int64_t now, int *n,
                            struct md_ctx *ctx)
{
    /* One statement: the touch fires the change-log trigger of every report
     * whose deadline passed in [since, now), so caches redraw its ring. */
    static const char sql[] =
        "UPDATE reports SET expected_at = expected_at WHERE status IN ('dispatched', 'in_progress')"
        " AND expected_at >= $1::bigint AND expected_at < $2::bigint";
    char a[24], b[24];
    snprintf(a, sizeof(a), "%lld", (long long)since);
    snprintf(b, sizeof(b), "%lld", (long long)now);
    const char *values[] = {a, b};
    PGresult *r = NULL;
    *n = 0;
    md_err rc = md__pg_query(pg, "md_touch_overdue", sql, 2, values, &r, ctx);
    if (rc)
        return rc;
    const char *tuples = PQcmdTuples(r);
    *n = tuples && *tuples ? atoi(tuples) : 0;
    PQclear(r);
    return MD_OK;
}
