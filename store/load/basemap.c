/* basemap.c - loading and reading the base map table (basemap.h).
 *
 * A load is one transaction. Empty table: bulk mode (schema.c) - plain
 * inserts, the R*Tree packed at the end, one change logged over the box of
 * everything loaded. Filled table: per row, by src_key,
 *   unseen key          -> INSERT                       (logged by trigger)
 *   same drawn columns  -> UPDATE gen only              (not logged)
 *   different           -> UPDATE drawn columns and gen (old and new box logged)
 * and at the end DELETE rows whose gen is older than this load's (logged).
 * So a re-import of the same file logs nothing and drops no cached tile.
 */
#include "basemap.h"
#include "store_int.h"
#include "pg_city.h"
#include "pg_tile_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct md_basemap_load {
    struct md_store *s;
    bool bulk;
    int64_t gen, now;
    struct md_bbox box; /* of everything loaded (bulk: the one change logged) */
    bool any;
    char *attribution;
    struct md_basemap_summary sum;
};

/* ---- generalisation: the zoom each class is first drawn at ------------------- */

struct zoom_rule {
    const char *kind, *klass; /* klass NULL: any class of the kind */
    int min_zoom;
};

/* Roads by importance (motorways from z5, residential streets from z13,
 * service roads and paths from z15), railways, water, green, land use,
 * buildings from z14, places by rank. */
static const struct zoom_rule zoom_rules[] = {
    {"road", "motorway", 5},    {"road", "trunk", 6},       {"road", "primary", 8},
    {"road", "secondary", 10},  {"road", "tertiary", 11},   {"road", "residential", 13},
    {"road", "service", 15},    {"road", "path", 15},       {"rail", "rail", 9},
    {"rail", "subway", 11},     {"rail", "light_rail", 11}, {"rail", "tram", 13},
    {"water", NULL, 6},         {"waterway", "river", 8},   {"waterway", "canal", 10},
    {"waterway", "stream", 13}, {"green", NULL, 10},        {"landuse", NULL, 12},
    {"building", NULL, 14},     {"place", "city", 4},       {"place", "town", 8},
    {"place", "suburb", 11},    {"place", "village", 12},   {"place", "neighbourhood", 13},
    {"place", "locality", 14},
};

/* The zoom at which a box's larger side spans `px` pixels (256-px tiles). */
static int zoom_for_pixels(const struct md_bbox *b, double px)
{
    double w = fmax(b->maxx - b->minx, b->maxy - b->miny);
    if (w <= 0)
        return 0;
    double z = log2(px * 360.0 / (256.0 * w));
    return z <= 0 ? 0 : z >= 22 ? 22 : (int)ceil(z);
}

int md_basemap_min_zoom(const char *kind, const char *klass, const struct md_bbox *bbox)
{
    if (!kind || !klass)
        return -1;
    for (size_t i = 0; i < sizeof(zoom_rules) / sizeof(zoom_rules[0]); i++) {
        const struct zoom_rule *r = &zoom_rules[i];
        if (strcmp(r->kind, kind) != 0 || (r->klass && strcmp(r->klass, klass) != 0))
            continue;
        int z = r->min_zoom;
        /* Areas: not before they span 4 pixels (a lake of 100 m waits for z13). */
        bool area = strcmp(kind, "water") == 0 || strcmp(kind, "green") == 0 ||
                    strcmp(kind, "landuse") == 0;
        if (area && bbox) {
            int zs = zoom_for_pixels(bbox, 4.0);
            z = zs > z ? zs : z;
        }
        return z > 22 ? 22 : z;
    }
    return -1;
}

/* ---- loading ------------------------------------------------------------------ */

static md_err check_feature(const struct md_basemap_feature *f, struct md_ctx *ctx)
{
    if (!f->src_key || !*f->src_key || strlen(f->src_key) > 64)
        return md_fail(ctx, MD_EINVAL, "base map feature needs a source key of 1..64 bytes");
    if (md_basemap_min_zoom(f->kind, f->klass, NULL) < 0)
        return md_fail(ctx, MD_EINVAL, "%s: kind '%.32s' class '%.32s' is not part of the base map",
                       f->src_key, f->kind ? f->kind : "", f->klass ? f->klass : "");
    if (f->min_zoom < 0 || f->min_zoom > 22)
        return md_fail(ctx, MD_EINVAL, "%s: min_zoom %d is outside 0..22", f->src_key, f->min_zoom);
    if (!f->wkb || f->wkb_len < 5 || f->wkb_len > ((size_t)64 << 20))
        return md_fail(ctx, MD_EINVAL, "%s: geometry missing or over 64 MB", f->src_key);
    const struct md_bbox *b = &f->bbox;
    if (!(b->minx >= -180 && b->maxx <= 180 && b->miny >= -90 && b->maxy <= 90 &&
          b->minx <= b->maxx && b->miny <= b->maxy))
        return md_fail(ctx, MD_EINVAL, "%s: box is not inside lon/lat", f->src_key);
    if ((f->name && strlen(f->name) >= MD_BASEMAP_TEXT_MAX) ||
        (f->name_en && strlen(f->name_en) >= MD_BASEMAP_TEXT_MAX))
        return md_fail(ctx, MD_EINVAL, "%s: name over %d bytes", f->src_key,
                       MD_BASEMAP_TEXT_MAX - 1);
    return MD_OK;
}

md_err md_store_basemap_begin(struct md_store *s, const char *attribution, int64_t now,
                              struct md_basemap_load **out, struct md_ctx *ctx)
{
    static const char rows_sql[] = "SELECT count(*) FROM basemap";
    static const char gen_sql[] = "SELECT coalesce(max(gen), 0) FROM basemap";
    *out = NULL;
    struct md_basemap_load *l = calloc(1, sizeof(*l));
    if (!l || !(l->attribution = strdup(attribution ? attribution : ""))) {
        free(l);
        return md_fail(ctx, MD_ENOMEM, "base map load");
    }
    l->s = s;
    l->now = now;
    int64_t rows = 0;
    md_err rc = md_store_scalar(s, rows_sql, &rows, ctx);
    if (!rc)
        rc = md_store_scalar(s, gen_sql, &l->gen, ctx);
    l->gen++;
    l->bulk = rows == 0;
    if (!rc)
        rc = l->bulk ? md_store_bulk_begin(s, MD_LAYER_BASEMAP, ctx) : md_store_begin(s, ctx);
    if (rc) {
        free(l->attribution);
        free(l);
        return rc;
    }
    l->sum.bulk = l->bulk;
    *out = l;
    return MD_OK;
}

static void grow(struct md_basemap_load *l, const struct md_bbox *b)
{
    if (!l->any) {
        l->box = *b;
        l->any = true;
        return;
    }
    l->box.minx = fmin(l->box.minx, b->minx);
    l->box.miny = fmin(l->box.miny, b->miny);
    l->box.maxx = fmax(l->box.maxx, b->maxx);
    l->box.maxy = fmax(l->box.maxy, b->maxy);
}

/* Bind kind..updated_at as ?2..?14 in the order of the INSERT/UPDATE below. */
static void bind_feature(sqlite3_stmt *st, const struct md_basemap_load *l,
                         const struct md_basemap_feature *f)
{
    sqlite3_bind_text(st, 2, f->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, f->klass, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, f->name ? f->name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, f->name_en ? f->name_en : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, f->min_zoom);
    sqlite3_bind_double(st, 7, f->bbox.minx);
    sqlite3_bind_double(st, 8, f->bbox.miny);
    sqlite3_bind_double(st, 9, f->bbox.maxx);
    sqlite3_bind_double(st, 10, f->bbox.maxy);
    sqlite3_bind_int64(st, 11, l->gen);
    sqlite3_bind_int64(st, 12, l->now);
    sqlite3_bind_blob(st, 13, f->wkb, (int)f->wkb_len, SQLITE_STATIC);
}

static md_err step_done(struct md_store *s, sqlite3_stmt *st, const char *what, struct md_ctx *ctx)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, what, ctx);
}

/* Filled table: 1 = unchanged (marked seen), 2 = rewritten, 0 = not there. */
static md_err match_row(struct md_basemap_load *l, const struct md_basemap_feature *f, int *how,
                        struct md_ctx *ctx)
{
    static const char find_sql[] =
        "SELECT id, kind = ?2 AND class = ?3 AND name = ?4 AND name_en = ?5 AND min_zoom = ?6"
        " AND geom = GeomFromWKB(?13, 4326) FROM basemap WHERE src_key = ?1";
    static const char touch_sql[] = "UPDATE basemap SET gen = ?2 WHERE id = ?1";
    static const char rewrite_sql[] =
        "UPDATE basemap SET kind = ?2, class = ?3, name = ?4, name_en = ?5, min_zoom = ?6,"
        " minx = ?7, miny = ?8, maxx = ?9, maxy = ?10, gen = ?11, updated_at = ?12,"
        " geom = GeomFromWKB(?13, 4326) WHERE id = ?1";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(l->s, find_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, f->src_key, -1, SQLITE_STATIC);
    bind_feature(st, l, f);
    int src = sqlite3_step(st);
    *how = 0;
    int64_t id = 0;
    if (src == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        *how = sqlite3_column_int(st, 1) == 1 ? 1 : 2;
    }
    sqlite3_reset(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return md_store_fail(l->s, src, "base map lookup", ctx);
    if (*how == 0)
        return MD_OK;
    rc = md_store_stmt(l->s, *how == 1 ? touch_sql : rewrite_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    if (*how == 1)
        sqlite3_bind_int64(st, 2, l->gen);
    else
        bind_feature(st, l, f);
    return step_done(l->s, st, "base map update", ctx);
}

md_err md_store_basemap_put(struct md_basemap_load *l, const struct md_basemap_feature *f,
                            struct md_ctx *ctx)
{
    static const char insert_sql[] =
        "INSERT INTO basemap(src_key, kind, class, name, name_en, min_zoom, minx, miny, maxx,"
        " maxy, gen, updated_at, geom) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
        " GeomFromWKB(?13, 4326))";
    md_err rc = check_feature(f, ctx);
    if (rc)
        return rc;
    int how = 0;
    if (!l->bulk)
        rc = match_row(l, f, &how, ctx);
    if (!rc && how == 0) {
        sqlite3_stmt *st = NULL;
        rc = md_store_stmt(l->s, insert_sql, &st, ctx);
        if (!rc) {
            sqlite3_bind_text(st, 1, f->src_key, -1, SQLITE_STATIC);
            bind_feature(st, l, f);
            rc = step_done(l->s, st, "base map insert", ctx);
        }
    }
    if (rc)
        return rc;
    grow(l, &f->bbox);
    if (how == 0)
        l->sum.inserted++;
    else if (how == 1)
        l->sum.unchanged++;
    else
        l->sum.updated++;
    return MD_OK;
}

static md_err finish(struct md_basemap_load *l, struct md_ctx *ctx)
{
    static const char delete_sql[] = "DELETE FROM basemap WHERE gen < ?1";
    static const char meta_sql[] =
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('basemap_attribution', ?1)";
    sqlite3_stmt *st = NULL;
    md_err rc = MD_OK;
    if (!l->bulk) {
        rc = md_store_stmt(l->s, delete_sql, &st, ctx);
        if (!rc) {
            sqlite3_bind_int64(st, 1, l->gen);
            rc = step_done(l->s, st, "base map delete", ctx);
            l->sum.deleted = sqlite3_changes(md_store_db(l->s));
        }
    }
    if (!rc)
        rc = md_store_stmt(l->s, meta_sql, &st, ctx);
    if (!rc) {
        sqlite3_bind_text(st, 1, l->attribution, -1, SQLITE_STATIC);
        rc = step_done(l->s, st, "base map attribution", ctx);
    }
    return rc;
}

md_err md_store_basemap_end(struct md_basemap_load *l, struct md_basemap_summary *out,
                            struct md_ctx *ctx)
{
    md_err rc = finish(l, ctx);
    if (rc) {
        md_store_basemap_abort(l);
        return rc;
    }
    if (l->bulk)
        rc = md_store_bulk_end(l->s, MD_LAYER_BASEMAP, l->any ? &l->box : NULL, ctx);
    else
        rc = md_store_commit(l->s, ctx);
    if (!rc && out)
        *out = l->sum;
    free(l->attribution);
    free(l);
    return rc;
}

void md_store_basemap_abort(struct md_basemap_load *l)
{
    if (!l)
        return;
    if (l->bulk)
        md_store_bulk_abort(l->s);
    else
        md_store_rollback(l->s);
    free(l->attribution);
    free(l);
}

/* ---- reading -------------------------------------------------------------------- */

/* Low zooms read few rows (min_zoom <= z) of a large table: through the
 * (min_zoom, minx) index, not the R*Tree, which holds every building. */
#define BASEMAP_RTREE_ZOOM 12

md_err md_store_basemap_rows(struct md_store *s, const struct md_bbox *box, int z,
                             md_basemap_row_fn fn, void *userdata, struct md_ctx *ctx)
{
    static const char rtree_sql[] =
        "SELECT b.id, b.kind, b.class, b.name, b.name_en, AsBinary(b.geom) FROM idx_basemap_geom i"
        " JOIN basemap b ON b.id = i.pkid WHERE i.xmin <= ?2 AND i.xmax >= ?1 AND i.ymin <= ?4"
        " AND i.ymax >= ?3 AND b.min_zoom <= ?5 ORDER BY b.id";
    static const char zoom_sql[] =
        "SELECT id, kind, class, name, name_en, AsBinary(geom) FROM basemap"
        " WHERE min_zoom <= ?5 AND minx <= ?2 AND maxx >= ?1 AND miny <= ?4 AND maxy >= ?3"
        " ORDER BY id";
    if (s->backend == MD_BACKEND_PG)
        return md__pg_basemap_rows(s->pg, box, z, fn, userdata, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, z >= BASEMAP_RTREE_ZOOM ? rtree_sql : zoom_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_double(st, 1, box->minx);
    sqlite3_bind_double(st, 2, box->maxx);
    sqlite3_bind_double(st, 3, box->miny);
    sqlite3_bind_double(st, 4, box->maxy);
    sqlite3_bind_int(st, 5, z);
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_basemap_row row = {
            .id = sqlite3_column_int64(st, 0),
            .kind = (const char *)sqlite3_column_text(st, 1),
            .klass = (const char *)sqlite3_column_text(st, 2),
            .name = (const char *)sqlite3_column_text(st, 3),
            .name_en = (const char *)sqlite3_column_text(st, 4),
            .wkb = sqlite3_column_blob(st, 5),
            .wkb_len = (size_t)sqlite3_column_bytes(st, 5),
        };
        if (!row.kind || !row.klass || !row.name || !row.name_en || !row.wkb)
            continue;
        rc = fn(&row, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "base map rows", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_store_basemap_attribution(struct md_store *s, char *out, size_t n, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_basemap_attribution(s->pg, out, n, ctx);
    static const char sql[] = "SELECT value FROM meta WHERE key = 'basemap_attribution'";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    const unsigned char *v = src == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    snprintf(out, n, "%s", v ? (const char *)v : "");
    sqlite3_reset(st);
    return src == SQLITE_ROW || src == SQLITE_DONE ? MD_OK
                                                   : md_store_fail(s, src, "attribution", ctx);
}

md_err md_store_data_center(struct md_store *s, double *lon, double *lat, bool *any,
                            struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_data_center(s->pg, lon, lat, any, ctx);
    /* The coarsest kept cluster zoom of each point layer has a handful of
     * cells whose sums together are the sums over every point. */
    static const char sql[] =
        "SELECT sum(c.sum_lon), sum(c.sum_lat), sum(c.n) FROM cluster_cells c"
        " WHERE c.z = (SELECT min(z) FROM cluster_zooms k WHERE k.layer = c.layer)";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    *any = src == SQLITE_ROW && sqlite3_column_int64(st, 2) > 0;
    if (*any) {
        double n = sqlite3_column_double(st, 2);
        *lon = sqlite3_column_double(st, 0) / n;
        *lat = sqlite3_column_double(st, 1) / n;
    }
    sqlite3_reset(st);
    return src == SQLITE_ROW || src == SQLITE_DONE ? MD_OK
                                                   : md_store_fail(s, src, "data centre", ctx);
}
