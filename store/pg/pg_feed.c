/* pg_feed.c - the change log and the point feed on PostgreSQL (pg_feed.h).
 *
 * The change log's numbers are gapless in commit order (pg_changelog_sql.h),
 * so "after < seq <= upto" read inside the caller's snapshot is every change
 * that snapshot holds past `after`, and none is skipped by a later read.
 * A full point load is one query in id order, fetched in single-row mode:
 * a million reports never sit in one PGresult. */
#include "pg_feed.h"

#include <stdio.h>

static void int_param(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
}

md_err md__pg_changes_between(struct md_pg *pg, int64_t after, int64_t upto, md_change_fn fn,
                              void *userdata, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT seq, layer, minx, miny, maxx, maxy, coalesce(feature_id, -1)"
                              " FROM change_log WHERE seq > $1::bigint AND seq <= $2::bigint"
                              " ORDER BY seq";
    char a[24], b[24];
    int_param(after, a);
    int_param(upto, b);
    const char *values[] = {a, b};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_changes_between", sql, 2, values, &r, ctx);
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        struct md_change c = {
            .seq = md__pg_int(r, i, 0),
            .layer = (enum md_layer)md__pg_int(r, i, 1),
            .bbox = {md__pg_double(r, i, 2), md__pg_double(r, i, 3), md__pg_double(r, i, 4),
                     md__pg_double(r, i, 5)},
            .feature_id = md__pg_int(r, i, 6),
        };
        if (c.layer < MD_LAYER__COUNT)
            rc = fn(&c, userdata);
    }
    PQclear(r);
    return rc;
}

static const char *const points_sql[2] = {
    "SELECT id, lon, lat, category, 0::bigint FROM facilities ORDER BY id",
    "SELECT id, lon, lat, service_code, supporters FROM reports ORDER BY id"};
static const char *const point_sql[2] = {
    "SELECT id, lon, lat, category, 0::bigint FROM facilities WHERE id = $1::bigint",
    "SELECT id, lon, lat, service_code, supporters FROM reports WHERE id = $1::bigint"};
static const char *const point_names[2] = {"md_point_get_0", "md_point_get_1"};

static md_err each_row(const PGresult *r, md_point_fn fn, void *userdata)
{
    md_err rc = MD_OK;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        struct md_point p = {.id = md__pg_int(r, i, 0),
                             .lon = md__pg_double(r, i, 1),
                             .lat = md__pg_double(r, i, 2),
                             .category = md__pg_text(r, i, 3),
                             .supporters = md__pg_int(r, i, 4)};
        rc = fn(&p, userdata);
    }
    return rc;
}

md_err md__pg_points_each(struct md_pg *pg, enum md_layer layer, md_point_fn fn, void *userdata,
                          struct md_ctx *ctx)
{
    if (layer != MD_LAYER_FACILITIES && layer != MD_LAYER_REPORTS)
        return md_fail(ctx, MD_EINVAL, "layer %d has no points", (int)layer);
    PGconn *c = md__pg_conn(pg);
    if (!PQsendQueryParams(c, points_sql[layer], 0, NULL, NULL, NULL, NULL, 1) ||
        !PQsetSingleRowMode(c))
        return md__pg_fail(c, NULL, "points", ctx);
    md_err rc = MD_OK;
    PGresult *r;
    while ((r = PQgetResult(c))) { /* drained to the end even after an error */
        ExecStatusType st = PQresultStatus(r);
        if (!rc && st == PGRES_SINGLE_TUPLE)
            rc = each_row(r, fn, userdata);
        else if (!rc && st != PGRES_TUPLES_OK)
            rc = md__pg_fail(c, r, "points", ctx);
        PQclear(r);
    }
    return rc;
}

md_err md__pg_point_get(struct md_pg *pg, enum md_layer layer, int64_t id, md_point_fn fn,
                        void *userdata, struct md_ctx *ctx)
{
    if (layer != MD_LAYER_FACILITIES && layer != MD_LAYER_REPORTS)
        return md_fail(ctx, MD_EINVAL, "layer %d has no points", (int)layer);
    char a[24];
    int_param(id, a);
    const char *values[] = {a};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, point_names[layer], point_sql[layer], 1, values, &r, ctx);
    if (!rc)
        rc = each_row(r, fn, userdata);
    PQclear(r);
    return rc;
}
