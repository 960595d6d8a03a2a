/* pg_tile_read.c - PostGIS reads behind tile_read.h (pg_tile_read.h).
 *
 * Points: the GiST index on geom finds the candidates (`&&` an envelope of
 * the box), and lon/lat BETWEEN the box keeps exactly the points SQLite's
 * tile-key read keeps (both bounds included), so both backends give the
 * renderer the same rows. Polygons: the GiST index, bounding boxes meeting
 * the box, as SQLite's R*Tree; the geometry as ST_AsBinary(geom, 'NDR'),
 * the little-endian ISO WKB SpatiaLite's AsBinary gives. Polygons and
 * labels come in id order (districts.id / grids.id are SQLite's rowids,
 * kept by pg_copy). The whole result is fetched in binary form, then fed
 * to the callback row by row; its strings are the result's, freed after.
 */
#include "pg_tile_read.h"

#include "pg_store.h"

#include <stdbool.h>
#include <stdio.h>

#define BOX_WHERE_GEOM                                                                          \
    " geom && ST_MakeEnvelope($1::float8, $3::float8, $2::float8, $4::float8, 4326)"
#define BOX_WHERE_LONLAT                                                                        \
    " lon BETWEEN $1::float8 AND $2::float8 AND lat BETWEEN $3::float8 AND $4::float8"

static const char facilities_sql[] =
    "SELECT id, lon, lat, category, name, status FROM facilities WHERE" BOX_WHERE_GEOM
    " AND" BOX_WHERE_LONLAT;
static const char reports_sql[] =
    "SELECT id, lon, lat, service_code, status, kind, created_at, expected_at, supporters"
    " FROM reports WHERE" BOX_WHERE_GEOM " AND" BOX_WHERE_LONLAT;
static const char districts_sql[] =
    "SELECT id, code, name, name_en, ST_AsBinary(geom, 'NDR') FROM districts WHERE" BOX_WHERE_GEOM
    " ORDER BY id";
static const char grids_sql[] =
    "SELECT id, code, district_code, '', ST_AsBinary(geom, 'NDR') FROM grids WHERE" BOX_WHERE_GEOM
    " ORDER BY id";
static const char labels_sql[] =
    "SELECT id, code, name, name_en, label_lon, label_lat FROM districts"
    " WHERE label_lon BETWEEN $1::float8 AND $2::float8"
    " AND label_lat BETWEEN $3::float8 AND $4::float8 ORDER BY id";

/* The base map: below z12 by its stored lon/lat box (as SQLite reads it
 * through its (min_zoom, minx) index), from z12 by the GiST index's box (as
 * SQLite reads its R*Tree). */
static const char basemap_box_sql[] =
    "SELECT id, kind, class, name, name_en, ST_AsBinary(geom, 'NDR') FROM basemap"
    " WHERE min_zoom <= $5::integer AND minx <= $2::float8 AND maxx >= $1::float8"
    " AND miny <= $4::float8 AND maxy >= $3::float8 ORDER BY id";
static const char basemap_gist_sql[] =
    "SELECT id, kind, class, name, name_en, ST_AsBinary(geom, 'NDR') FROM basemap"
    " WHERE" BOX_WHERE_GEOM " AND min_zoom <= $5::integer ORDER BY id";
#define BASEMAP_GIST_ZOOM 12

/* Run statement `name` over `box` ($1..$4 = minx, maxx, miny, maxy). */
static md_err query_box(struct md_pg *pg, const char *name, const char *sql,
                        const struct md_bbox *box, PGresult **out, struct md_ctx *ctx)
{
    char p[4][MD_PG_DOUBLE_CHARS];
    md__pg_double_param(box->minx, p[0]);
    md__pg_double_param(box->maxx, p[1]);
    md__pg_double_param(box->miny, p[2]);
    md__pg_double_param(box->maxy, p[3]);
    const char *values[] = {p[0], p[1], p[2], p[3]};
    return md__pg_query(pg, name, sql, 4, values, out, ctx);
}

md_err md__pg_tile_points(struct md_pg *pg, enum md_layer layer, const struct md_bbox *box,
                          md_tile_point_fn fn, void *userdata, struct md_ctx *ctx)
{
    if (layer != MD_LAYER_FACILITIES && layer != MD_LAYER_REPORTS)
        return md_fail(ctx, MD_EINVAL, "layer %d has no points", (int)layer);
    bool reports = layer == MD_LAYER_REPORTS;
    PGresult *r = NULL;
    md_err rc = reports ? query_box(pg, "md_tile_reports", reports_sql, box, &r, ctx)
                        : query_box(pg, "md_tile_facilities", facilities_sql, box, &r, ctx);
    for (int i = 0, n = r ? PQntuples(r) : 0; !rc && i < n; i++) {
        struct md_tile_point p = {.id = md__pg_int(r, i, 0),
                                  .lon = md__pg_double(r, i, 1),
                                  .lat = md__pg_double(r, i, 2),
                                  .category = md__pg_text(r, i, 3),
                                  .name = "",
                                  .kind = ""};
        if (reports) {
            p.status = md__pg_text(r, i, 4);
            p.kind = md__pg_text(r, i, 5);
            p.created_at = md__pg_int(r, i, 6);
            p.expected_at = md__pg_int(r, i, 7);
            p.supporters = md__pg_int(r, i, 8);
        } else {
            p.name = md__pg_text(r, i, 4);
            p.status = md__pg_text(r, i, 5);
        }
        rc = fn(&p, userdata);
    }
    PQclear(r);
    return rc;
}

md_err md__pg_tile_polygons(struct md_pg *pg, enum md_layer layer, const struct md_bbox *box,
                            md_tile_polygon_fn fn, void *userdata, struct md_ctx *ctx)
{
    if (layer != MD_LAYER_DISTRICTS && layer != MD_LAYER_GRIDS)
        return md_fail(ctx, MD_EINVAL, "layer %d has no polygons", (int)layer);
    bool districts = layer == MD_LAYER_DISTRICTS;
    PGresult *r = NULL;
    md_err rc = districts ? query_box(pg, "md_tile_districts", districts_sql, box, &r, ctx)
                          : query_box(pg, "md_tile_grids", grids_sql, box, &r, ctx);
    for (int i = 0, n = r ? PQntuples(r) : 0; !rc && i < n; i++) {
        int len = PQgetisnull(r, i, 4) ? 0 : PQgetlength(r, i, 4);
        struct md_tile_polygon p = {
            .id = md__pg_int(r, i, 0),
            .code = md__pg_text(r, i, 1),
            .name = "",
            .name_en = "",
            .district_code = "",
            .wkb = len > 0 ? (const unsigned char *)PQgetvalue(r, i, 4) : NULL,
            .wkb_len = len > 0 ? (size_t)len : 0};
        if (districts) {
            p.name = md__pg_text(r, i, 2);
            p.name_en = md__pg_text(r, i, 3);
        } else {
            p.district_code = md__pg_text(r, i, 2);
        }
        rc = fn(&p, userdata);
    }
    PQclear(r);
    return rc;
}

md_err md__pg_basemap_rows(struct md_pg *pg, const struct md_bbox *box, int z,
                           md_basemap_row_fn fn, void *userdata, struct md_ctx *ctx)
{
    char p[5][MD_PG_DOUBLE_CHARS];
    md__pg_double_param(box->minx, p[0]);
    md__pg_double_param(box->maxx, p[1]);
    md__pg_double_param(box->miny, p[2]);
    md__pg_double_param(box->maxy, p[3]);
    snprintf(p[4], sizeof(p[4]), "%d", z);
    const char *values[] = {p[0], p[1], p[2], p[3], p[4]};
    bool gist = z >= BASEMAP_GIST_ZOOM;
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, gist ? "md_basemap_gist" : "md_basemap_box",
                             gist ? basemap_gist_sql : basemap_box_sql, 5, values, &r, ctx);
    for (int i = 0, n = r ? PQntuples(r) : 0; !rc && i < n; i++) {
        if (PQgetisnull(r, i, 5))
            continue;
        struct md_basemap_row row = {
            .id = md__pg_int(r, i, 0),
            .kind = md__pg_text(r, i, 1),
            .klass = md__pg_text(r, i, 2),
            .name = md__pg_text(r, i, 3),
            .name_en = md__pg_text(r, i, 4),
            .wkb = (const unsigned char *)PQgetvalue(r, i, 5),
            .wkb_len = (size_t)PQgetlength(r, i, 5),
        };
        rc = fn(&row, userdata);
    }
    PQclear(r);
    return rc;
}

md_err md__pg_tile_labels(struct md_pg *pg, const struct md_bbox *box, md_tile_label_fn fn,
                          void *userdata, struct md_ctx *ctx)
{
    PGresult *r = NULL;
    md_err rc = query_box(pg, "md_tile_labels", labels_sql, box, &r, ctx);
    for (int i = 0, n = r ? PQntuples(r) : 0; !rc && i < n; i++) {
        struct md_tile_label l = {.id = md__pg_int(r, i, 0),
                                  .code = md__pg_text(r, i, 1),
                                  .name = md__pg_text(r, i, 2),
                                  .name_en = md__pg_text(r, i, 3),
                                  .lon = md__pg_double(r, i, 4),
                                  .lat = md__pg_double(r, i, 5)};
        rc = fn(&l, userdata);
    }
    PQclear(r);
    return rc;
}
