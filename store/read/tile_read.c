/* tile_read.c - SpatiaLite reads behind tile_read.h: the rows of one tile.
 *
 * Points: a tile-sized box reads the layer's tile side table (schema_sql.h:
 * facility_tiles, report_tiles, keyed by (tkey, id) with tkey = the point's
 * z18 tile y * 2^18 + x), one contiguous key range per z18 tile row the box
 * spans; a box taller than TKEY_MAX_ROWS z18 rows, or one without a span,
 * reads the R*Tree idx_<layer>_geom instead. Polygons and labels: the R*Tree
 * and districts' label columns, in rowid order (the id order tile_read.h
 * promises). A PostgreSQL store goes to pg/pg_tile_read.c instead. Each
 * statement is a constant cached with md_store_stmt; a step error ends the
 * read as md_store_fail, never as "no more rows". No allocation per row: text and blobs are SQLite's, valid until
 * the next step, so borrowed by the callback.
 */
#include "tile_read.h"
#include "store_int.h"
#include "pg_tile_read.h"

static const char facilities_sql[] =
    "SELECT f.id, f.lon, f.lat, f.category, f.name, f.status FROM idx_facilities_geom i"
    " JOIN facilities f ON f.id = i.pkid"
    " WHERE i.xmin <= ?2 AND i.xmax >= ?1 AND i.ymin <= ?4 AND i.ymax >= ?3";
static const char reports_sql[] =
    "SELECT r.id, r.lon, r.lat, r.service_code, NULL, r.status, r.kind, r.created_at,"
    " r.expected_at, r.supporters FROM idx_reports_geom i JOIN reports r ON r.id = i.pkid"
    " WHERE i.xmin <= ?2 AND i.xmax >= ?1 AND i.ymin <= ?4 AND i.ymax >= ?3";

/* The same rows from the layer's tile side table: ?5..?6 one key range. */
static const char facilities_tkey_sql[] =
    "SELECT id, lon, lat, category, name, status FROM facility_tiles"
    " WHERE tkey BETWEEN ?5 AND ?6 AND lon BETWEEN ?1 AND ?2 AND lat BETWEEN ?3 AND ?4";
static const char reports_tkey_sql[] =
    "SELECT id, lon, lat, service_code, NULL, status, kind, created_at, expected_at, supporters"
    " FROM report_tiles"
    " WHERE tkey BETWEEN ?5 AND ?6 AND lon BETWEEN ?1 AND ?2 AND lat BETWEEN ?3 AND ?4";
#define TKEY_MAX_ROWS 80 /* taller boxes use the R*Tree instead */

static const char districts_sql[] =
    "SELECT d.rowid, d.code, d.name, d.name_en, AsBinary(d.geom) FROM idx_districts_geom i"
    " JOIN districts d ON d.rowid = i.pkid"
    " WHERE i.xmin <= ?2 AND i.xmax >= ?1 AND i.ymin <= ?4 AND i.ymax >= ?3 ORDER BY d.rowid";
static const char grids_sql[] =
    "SELECT g.rowid, g.code, g.district_code, NULL, AsBinary(g.geom) FROM idx_grids_geom i"
    " JOIN grids g ON g.rowid = i.pkid"
    " WHERE i.xmin <= ?2 AND i.xmax >= ?1 AND i.ymin <= ?4 AND i.ymax >= ?3 ORDER BY g.rowid";

static const char labels_sql[] =
    "SELECT rowid, code, name, name_en, label_lon, label_lat FROM districts"
    " WHERE label_lon BETWEEN ?1 AND ?2 AND label_lat BETWEEN ?3 AND ?4 ORDER BY rowid";

const char *const *md__tile_read_sql(size_t *n)
{
    static const char *const all[] = {facilities_sql,      reports_sql, facilities_tkey_sql,
                                      reports_tkey_sql,    districts_sql, grids_sql,
                                      labels_sql};
    *n = sizeof(all) / sizeof(all[0]);
    return all;
}

/* Column `col` as text; "" for NULL. */
static const char *text(sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    return v ? (const char *)v : "";
}

static void bind_box(sqlite3_stmt *st, const struct md_bbox *q)
{
    sqlite3_bind_double(st, 1, q->minx);
    sqlite3_bind_double(st, 2, q->maxx);
    sqlite3_bind_double(st, 3, q->miny);
    sqlite3_bind_double(st, 4, q->maxy);
}

/* Step `st` (bound by the caller), feed each row to fn, reset. */
static md_err each_point(struct md_store *s, bool reports, sqlite3_stmt *st, md_tile_point_fn fn,
                         void *userdata, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_tile_point p = {.id = sqlite3_column_int64(st, 0),
                                  .lon = sqlite3_column_double(st, 1),
                                  .lat = sqlite3_column_double(st, 2),
                                  .category = text(st, 3),
                                  .name = "",
                                  .status = text(st, 5),
                                  .kind = ""};
        if (reports) {
            p.kind = text(st, 6);
            p.created_at = sqlite3_column_int64(st, 7);
            p.expected_at = sqlite3_column_int64(st, 8);
            p.supporters = sqlite3_column_int64(st, 9);
        } else {
            p.name = text(st, 4);
        }
        rc = fn(&p, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "tile points", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_store_tile_points(struct md_store *s, enum md_layer layer, const struct md_bbox *box,
                            const struct md_store_tile_span *span, md_tile_point_fn fn,
                            void *userdata, struct md_ctx *ctx)
{
    if (layer != MD_LAYER_FACILITIES && layer != MD_LAYER_REPORTS)
        return md_fail(ctx, MD_EINVAL, "layer %d has no points", (int)layer);
    if (s->backend == MD_BACKEND_PG)
        return md__pg_tile_points(s->pg, layer, box, fn, userdata, ctx);
    bool reports = layer == MD_LAYER_REPORTS;
    sqlite3_stmt *st = NULL;
    md_err rc;
    if (!span || span->x0 > span->x1 || span->y1 - span->y0 > TKEY_MAX_ROWS) {
        rc = md_store_stmt(s, reports ? reports_sql : facilities_sql, &st, ctx);
        if (rc)
            return rc;
        bind_box(st, box);
        return each_point(s, reports, st, fn, userdata, ctx);
    }
    /* One key range per z18 row, one key of margin all round: SQL's and C's
     * floating point may round a point on a tile edge differently. */
    const uint32_t last = (1u << MD_STORE_TILE_KEY_ZOOM) - 1;
    uint32_t x0 = span->x0 ? span->x0 - 1 : 0, y0 = span->y0 ? span->y0 - 1 : 0;
    uint32_t x1 = span->x1 < last ? span->x1 + 1 : last, y1 = span->y1 < last ? span->y1 + 1 : last;
    rc = md_store_stmt(s, reports ? reports_tkey_sql : facilities_tkey_sql, &st, ctx);
    for (uint32_t y = y0; !rc && y <= y1; y++) {
        bind_box(st, box);
        sqlite3_bind_int64(st, 5, ((int64_t)y << MD_STORE_TILE_KEY_ZOOM) + x0);
        sqlite3_bind_int64(st, 6, ((int64_t)y << MD_STORE_TILE_KEY_ZOOM) + x1);
        rc = each_point(s, reports, st, fn, userdata, ctx);
    }
    return rc;
}

md_err md_store_tile_polygons(struct md_store *s, enum md_layer layer, const struct md_bbox *box,
                              md_tile_polygon_fn fn, void *userdata, struct md_ctx *ctx)
{
    if (layer != MD_LAYER_DISTRICTS && layer != MD_LAYER_GRIDS)
        return md_fail(ctx, MD_EINVAL, "layer %d has no polygons", (int)layer);
    if (s->backend == MD_BACKEND_PG)
        return md__pg_tile_polygons(s->pg, layer, box, fn, userdata, ctx);
    bool districts = layer == MD_LAYER_DISTRICTS;
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, districts ? districts_sql : grids_sql, &st, ctx);
    if (rc)
        return rc;
    bind_box(st, box);
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *wkb = sqlite3_column_blob(st, 4);
        int n = sqlite3_column_bytes(st, 4);
        struct md_tile_polygon p = {.id = sqlite3_column_int64(st, 0),
                                    .code = text(st, 1),
                                    .name = "",
                                    .name_en = "",
                                    .district_code = "",
                                    .wkb = wkb && n > 0 ? wkb : NULL,
                                    .wkb_len = wkb && n > 0 ? (size_t)n : 0};
        if (districts) {
            p.name = text(st, 2);
            p.name_en = text(st, 3);
        } else {
            p.district_code = text(st, 2);
        }
        rc = fn(&p, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "tile polygons", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_store_tile_labels(struct md_store *s, const struct md_bbox *box, md_tile_label_fn fn,
                            void *userdata, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_tile_labels(s->pg, box, fn, userdata, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, labels_sql, &st, ctx);
    if (rc)
        return rc;
    bind_box(st, box);
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_tile_label l = {.id = sqlite3_column_int64(st, 0),
                                  .code = text(st, 1),
                                  .name = text(st, 2),
                                  .name_en = text(st, 3),
                                  .lon = sqlite3_column_double(st, 4),
                                  .lat = sqlite3_column_double(st, 5)};
        rc = fn(&l, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "district labels", ctx);
    sqlite3_reset(st);
    return rc;
}
