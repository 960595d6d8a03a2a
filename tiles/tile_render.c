/* tile_render.c - database rows to one MVT tile (see tile_render.h).
 *
 * Steps per tile: BEGIN (a read snapshot) -> newest change seq -> each layer
 * in order -> COMMIT -> serialize; if the bytes exceed MD_TILE_MAX_BYTES the
 * tile is rendered again with half the point budget.
 *
 * Thinning: when a point layer has more candidates than its budget, points
 * are bucketed on a square grid in tile space, with the smallest cell size
 * (binary search) whose number of occupied cells fits; the lowest id in each
 * cell is kept. The result is even density over the tile, not a prefix of
 * some order. Points are written in id order, polygons and labels in the
 * id order their reads return (tile_read.h), so both backends draw the
 * same bytes.
 */
#include "tile_render.h"
#include "cluster_index.h"
#include "mvt_encode.h"
#include "tile_basemap.h"
#include "tile_crs.h"
#include "tile_geom.h"
#include "tile_read.h"
#include "workflow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Public properties of one candidate point. */
struct point_row {
    int64_t id;
    int32_t x, y;
    const char *category, *name, *status, *kind;
    int64_t created_at, expected_at, supporters;
};

struct render {
    struct md_store *s;
    struct md_geos *g;
    struct md_pool *pool;
    struct md_mvt *mvt;
    struct md_tile_id t;
    struct md_ctx *ctx;
    struct md_tile_stats *stats;
    struct md_cluster_index *clusters;
    enum md_crs crs; /* what the tile is drawn in (tile_crs.h) */
    size_t point_budget;
    int64_t now;
};

static const int32_t lo_lim = -MD_TILE_BUFFER, hi_lim = MD_TILE_EXTENT + MD_TILE_BUFFER;

static bool in_buffer(double x, double y)
{
    return x >= lo_lim && x <= hi_lim && y >= lo_lim && y <= hi_lim;
}

/* ---- clusters ---------------------------------------------------------- */

struct cluster_out {
    struct render *r;
    bool supporters; /* the layer's points carry supporters (reports) */
};

static md_err emit_cluster(const struct md_cluster *c, void *userdata)
{
    struct cluster_out *o = userdata;
    struct render *r = o->r;
    md_err rc = md_mvt_feature(r->mvt, c->id, MD_MVT_POINT);
    if (!rc)
        rc = md_mvt_point(r->mvt, c->x, c->y);
    if (!rc)
        rc = md_mvt_prop_bool(r->mvt, "cluster", true);
    if (!rc)
        rc = md_mvt_prop_int(r->mvt, "point_count", c->n);
    if (!rc)
        rc = md_mvt_prop_str(r->mvt, "point_count_abbreviated", c->abbreviated);
    if (!rc)
        rc = md_mvt_prop_str(r->mvt, "category", c->top_category);
    if (!rc)
        rc = md_mvt_prop_strn(r->mvt, "categories", c->categories, c->categories_len);
    /* The sum over the cluster's points: "me too" shows at every zoom. */
    if (!rc && o->supporters)
        rc = md_mvt_prop_int(r->mvt, "supporters", c->supporters);
    if (!rc)
        rc = md_mvt_feature_end(r->mvt);
    if (!rc) {
        r->stats->features++;
        r->stats->clusters++;
    }
    return rc;
}

/* A clustered zoom: the cluster index, synced to this tile's snapshot. */
static md_err render_clusters(struct render *r, enum md_layer layer)
{
    struct cluster_out o = {.r = r, .supporters = layer == MD_LAYER_REPORTS};
    md_err rc = md_cluster_index_sync(r->clusters, r->s, layer, r->stats->change_seq, r->ctx);
    if (!rc)
        rc = md_cluster_index_tile(r->clusters, layer, r->t, r->pool, emit_cluster, &o, r->ctx);
    return rc;
}

/* ---- raw points ----------------------------------------------------------- */

struct point_set {
    struct point_row *rows;
    size_t n, cap;
};

static md_err push_row(struct render *r, struct point_set *ps, const struct point_row *row)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 1024;
        if (cap > MD_TILE_MAX_FEATURES * 8)
            return md_fail(r->ctx, MD_ENOMEM, "too many candidate points");
        struct point_row *rows = md_pool_alloc(r->pool, cap * sizeof(*rows));
        if (!rows)
            return md_fail(r->ctx, MD_ENOMEM, "tile memory");
        if (ps->n)
            memcpy(rows, ps->rows, ps->n * sizeof(*rows));
        ps->rows = rows;
        ps->cap = cap;
    }
    ps->rows[ps->n++] = *row;
    return MD_OK;
}

struct point_collect {
    struct render *r;
    bool reports;
    struct point_set *ps;
};

/* Keep a point inside the buffered tile, its strings copied into the pool. */
static md_err collect_point(const struct md_tile_point *p, void *userdata)
{
    struct point_collect *c = userdata;
    struct render *r = c->r;
    double tx, ty, lon, lat;
    md_tile_crs_point(r->crs, p->lon, p->lat, &lon, &lat);
    md_tile_project(r->t, MD_TILE_EXTENT, lon, lat, &tx, &ty);
    if (!in_buffer(tx, ty))
        return MD_OK;
    struct point_row row = {.id = p->id,
                            .x = (int32_t)lround(tx),
                            .y = (int32_t)lround(ty),
                            .category = md_pool_strdup(r->pool, p->category)};
    if (c->reports) {
        row.status = md_pool_strdup(r->pool, p->status);
        row.kind = md_pool_strdup(r->pool, p->kind);
        row.created_at = p->created_at;
        row.expected_at = p->expected_at;
        row.supporters = p->supporters;
    } else {
        row.name = md_pool_strdup(r->pool, p->name);
        row.status = md_pool_strdup(r->pool, p->status);
    }
    if (!row.category || !row.status || (c->reports ? !row.kind : !row.name))
        return md_fail(r->ctx, MD_ENOMEM, "tile memory");
    return push_row(r, c->ps, &row);
}

static md_err load_points(struct render *r, enum md_layer layer, struct point_set *ps)
{
    struct point_collect c = {.r = r, .reports = layer == MD_LAYER_REPORTS, .ps = ps};
    struct md_bbox q;
    md_tile_crs_query_bbox(r->t, r->crs, MD_TILE_EXTENT, MD_TILE_BUFFER, &q);
    struct md_store_tile_span span;
    md_tile_range_covering(MD_STORE_TILE_KEY_ZOOM, &q, MD_TILE_EXTENT, 0, &span.x0, &span.y0,
                           &span.x1, &span.y1);
    return md_store_tile_points(r->s, layer, &q, &span, collect_point, &c, r->ctx);
}

static int cmp_id(const void *a, const void *b)
{
    const struct point_row *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Mark the lowest id per grid cell of `cellsz` tile units; returns the count. */
static size_t grid_keep(const struct point_set *ps, int32_t cellsz, uint64_t *slots, size_t nslots,
                        bool *keep)
{
    size_t kept = 0;
    memset(slots, 0xff, nslots * sizeof(*slots));
    for (size_t i = 0; i < ps->n; i++) {
        int32_t cx = (ps->rows[i].x - lo_lim) / cellsz, cy = (ps->rows[i].y - lo_lim) / cellsz;
        uint64_t key = ((uint64_t)(uint32_t)cx << 32) | (uint32_t)cy;
        size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (nslots - 1);
        while (slots[h] != UINT64_MAX && slots[h] != key)
            h = (h + 1) & (nslots - 1);
        keep[i] = slots[h] == UINT64_MAX;
        if (keep[i]) {
            slots[h] = key;
            kept++;
        }
    }
    return kept;
}

/* Keep the lowest id per grid cell (rows sorted by id), with the smallest
 * cell (binary search over whole tile units) whose kept count fits the
 * budget. */
static md_err thin(struct render *r, struct point_set *ps, bool *keep, size_t *kept)
{
    size_t nslots = 1;
    while (nslots < ps->n * 2)
        nslots <<= 1;
    uint64_t *slots = md_pool_alloc(r->pool, nslots * sizeof(*slots));
    if (!slots)
        return md_fail(r->ctx, MD_ENOMEM, "thinning");
    int32_t lo = 1, hi = MD_TILE_EXTENT + 2 * MD_TILE_BUFFER; /* hi: one cell, always fits */
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (grid_keep(ps, mid, slots, nslots, keep) <= r->point_budget)
            hi = mid;
        else
            lo = mid + 1;
    }
    *kept = grid_keep(ps, lo, slots, nslots, keep);
    return MD_OK;
}

static md_err emit_point(struct render *r, enum md_layer layer, const struct point_row *p)
{
    md_err rc = md_mvt_feature(r->mvt, (uint64_t)p->id, MD_MVT_POINT);
    if (!rc)
        rc = md_mvt_point(r->mvt, p->x, p->y);
    if (layer == MD_LAYER_FACILITIES) {
        if (!rc)
            rc = md_mvt_prop_str(r->mvt, "category", p->category);
        if (!rc)
            rc = md_mvt_prop_str(r->mvt, "name", p->name);
        if (!rc)
            rc = md_mvt_prop_str(r->mvt, "status", p->status);
    } else {
        if (!rc)
            rc = md_mvt_prop_str(r->mvt, "service_code", p->category);
        if (!rc)
            rc = md_mvt_prop_str(r->mvt, "status", p->status);
        if (!rc)
            rc = md_mvt_prop_str(r->mvt, "kind", p->kind);
        if (!rc)
            rc = md_mvt_prop_int(r->mvt, "created_at", p->created_at);
        if (!rc)
            rc = md_mvt_prop_bool(r->mvt, "overdue",
                                  md_workflow_overdue(p->status, p->expected_at > 0,
                                                      p->expected_at, r->now));
        if (!rc)
            rc = md_mvt_prop_int(r->mvt, "supporters", p->supporters);
    }
    if (!rc)
        rc = md_mvt_feature_end(r->mvt);
    if (!rc)
        r->stats->features++;
    return rc;
}

static md_err render_points(struct render *r, enum md_layer layer)
{
    struct point_set ps = {0};
    md_err rc = load_points(r, layer, &ps);
    if (rc || ps.n == 0)
        return rc;
    /* Points are written in id order: the tile's bytes do not depend on the
     * order a backend's index hands the rows out in (tile_read.h). */
    qsort(ps.rows, ps.n, sizeof(*ps.rows), cmp_id);
    bool *keep = NULL;
    size_t kept = ps.n;
    if (ps.n > r->point_budget) {
        keep = md_pool_alloc(r->pool, ps.n * sizeof(*keep));
        if (!keep)
            return md_fail(r->ctx, MD_ENOMEM, "thinning");
        rc = thin(r, &ps, keep, &kept);
        r->stats->thinned += ps.n - kept;
    }
    for (size_t i = 0; !rc && i < ps.n; i++) {
        if (!keep || keep[i])
            rc = emit_point(r, layer, &ps.rows[i]);
    }
    return rc;
}

/* ---- polygons ---------------------------------------------------------------- */

struct polygon_out {
    struct render *r;
    enum md_layer layer;
    GEOSWKBReader *reader;
};

static md_err emit_polygon(const struct md_tile_polygon *p, void *userdata)
{
    struct polygon_out *o = userdata;
    struct render *r = o->r;
    GEOSContextHandle_t h = md_geos_handle(r->g);
    if (!p->wkb)
        return MD_OK;
    GEOSGeometry *geom = GEOSWKBReader_read_r(h, o->reader, p->wkb, p->wkb_len);
    if (!geom)
        return md_geos_fail(r->g, r->ctx, "cannot read polygon WKB");
    GEOSGeometry *tg = NULL, *shifted = NULL;
    md_err rc = md_tile_crs_geom(h, geom, r->crs, &shifted, r->ctx);
    if (!rc)
        rc = md_tile_geom_prepare(h, shifted ? shifted : geom, r->t, MD_TILE_EXTENT,
                                  MD_TILE_BUFFER, &tg, r->ctx);
    if (shifted)
        GEOSGeom_destroy_r(h, shifted);
    GEOSGeom_destroy_r(h, geom);
    if (rc || !tg)
        return rc;
    rc = md_mvt_feature(r->mvt, (uint64_t)p->id, MD_MVT_POLYGON);
    if (!rc)
        rc = md_mvt_geom_geos(r->mvt, h, tg);
    if (!rc)
        rc = md_mvt_prop_str(r->mvt, "code", p->code);
    if (o->layer == MD_LAYER_DISTRICTS) {
        if (!rc)
            rc = md_mvt_prop_str(r->mvt, "name", p->name);
        if (!rc)
            rc = md_mvt_prop_str(r->mvt, "name_en", p->name_en);
    } else if (!rc) {
        rc = md_mvt_prop_str(r->mvt, "district_code", p->district_code);
    }
    if (!rc)
        rc = md_mvt_feature_end(r->mvt);
    if (!rc)
        r->stats->features++;
    GEOSGeom_destroy_r(h, tg);
    return rc;
}

static md_err render_polygons(struct render *r, enum md_layer layer)
{
    GEOSContextHandle_t h = md_geos_handle(r->g);
    struct polygon_out o = {.r = r, .layer = layer, .reader = GEOSWKBReader_create_r(h)};
    if (!o.reader)
        return md_geos_fail(r->g, r->ctx, "WKB reader");
    struct md_bbox q;
    md_tile_crs_query_bbox(r->t, r->crs, MD_TILE_EXTENT, MD_TILE_BUFFER, &q);
    md_err rc = md_store_tile_polygons(r->s, layer, &q, emit_polygon, &o, r->ctx);
    GEOSWKBReader_destroy_r(h, o.reader);
    return rc;
}

/* ---- district labels ------------------------------------------------------------
 *
 * One point per district at its label point (districts.label_lon/lat), in
 * the MVT layer "district_labels", written only into the tile whose extent
 * holds it: a polygon's name would otherwise be placed once in every tile
 * the district crosses. */

static md_err emit_label(const struct md_tile_label *l, void *userdata)
{
    struct render *r = userdata;
    double tx, ty, lon, lat;
    md_tile_crs_point(r->crs, l->lon, l->lat, &lon, &lat);
    md_tile_project(r->t, MD_TILE_EXTENT, lon, lat, &tx, &ty);
    int32_t x = (int32_t)floor(tx), y = (int32_t)floor(ty);
    if (x < 0 || y < 0 || x >= (int32_t)MD_TILE_EXTENT || y >= (int32_t)MD_TILE_EXTENT)
        return MD_OK; /* on the edge: it belongs to the neighbour */
    md_err rc = md_mvt_feature(r->mvt, (uint64_t)l->id, MD_MVT_POINT);
    if (!rc)
        rc = md_mvt_point(r->mvt, x, y);
    if (!rc)
        rc = md_mvt_prop_str(r->mvt, "code", l->code);
    if (!rc)
        rc = md_mvt_prop_str(r->mvt, "name", l->name);
    if (!rc)
        rc = md_mvt_prop_str(r->mvt, "name_en", l->name_en);
    if (!rc)
        rc = md_mvt_feature_end(r->mvt);
    if (!rc)
        r->stats->features++;
    return rc;
}

static md_err render_district_labels(struct render *r)
{
    md_err rc = md_mvt_layer(r->mvt, MD_DISTRICT_LABELS_LAYER, MD_TILE_EXTENT);
    if (rc)
        return rc;
    struct md_bbox q;
    md_tile_crs_query_bbox(r->t, r->crs, MD_TILE_EXTENT, 0, &q);
    return md_store_tile_labels(r->s, &q, emit_label, r, r->ctx);
}

/* ---- the tile -------------------------------------------------------------- */

static md_err render_layers(struct render *r, const struct md_tile_layers *layers)
{
    md_err rc = md_store_change_seq(r->s, &r->stats->change_seq, r->ctx);
    for (size_t i = 0; !rc && i < layers->n; i++) {
        enum md_layer layer = layers->layer[i];
        struct md_layer_info info;
        rc = md_store_layer_settings(r->s, layer, &info, r->ctx);
        if (rc || (int)r->t.z < info.min_zoom || (int)r->t.z > info.max_zoom)
            continue;
        if (layer != MD_LAYER_BASEMAP &&
            (rc = md_mvt_layer(r->mvt, md_layer_name(layer), MD_TILE_EXTENT)))
            break;
        if (layer == MD_LAYER_FACILITIES || layer == MD_LAYER_REPORTS)
            rc = (int)r->t.z < info.cluster_below_zoom ? render_clusters(r, layer)
                                                       : render_points(r, layer);
        else if (layer == MD_LAYER_BASEMAP)
            rc = md_tile_basemap_render(r->s, r->g, r->pool, r->mvt, r->t, r->crs,
                                        &r->stats->features, r->ctx);
        else
            rc = render_polygons(r, layer);
        if (!rc && layer == MD_LAYER_DISTRICTS)
            rc = render_district_labels(r);
    }
    return rc;
}

md_err md_tile_render(struct md_store *s, struct md_geos *g, struct md_cluster_index *clusters,
                      struct md_pool *pool, struct md_tile_id t,
                      const struct md_tile_layers *layers, int64_t now, struct md_buf *out,
                      struct md_tile_stats *stats, struct md_ctx *ctx)
{
    return md_tile_render_crs(s, g, clusters, pool, t, MD_CRS_WGS84, layers, now, out, stats,
                              ctx);
}

md_err md_tile_render_crs(struct md_store *s, struct md_geos *g,
                          struct md_cluster_index *clusters, struct md_pool *pool,
                          struct md_tile_id t, enum md_crs crs,
                          const struct md_tile_layers *layers, int64_t now, struct md_buf *out,
                          struct md_tile_stats *stats, struct md_ctx *ctx)
{
    if (!md_tile_crs_served(crs))
        return md_fail(ctx, MD_EINVAL, "tiles are not drawn in crs %s", md_crs_name(crs));
    if (!md_tile_valid(t))
        return md_fail(ctx, MD_EINVAL, "tile %u/%u/%u is outside the tile pyramid", t.z, t.x, t.y);
    size_t start = out->len;
    struct render r = {.s = s,
                       .g = g,
                       .pool = pool,
                       .t = t,
                       .ctx = ctx,
                       .stats = stats,
                       .clusters = clusters,
                       .crs = crs,
                       .point_budget = MD_TILE_POINT_BUDGET,
                       .now = now};
    for (int attempt = 0; attempt < 6; attempt++) {
        memset(stats, 0, sizeof(*stats));
        out->len = start;
        r.mvt = md_mvt_new(pool);
        if (!r.mvt)
            return md_fail(ctx, MD_ENOMEM, "tile builder");
        md_mvt_set_ctx(r.mvt, ctx);
        md_err rc = md_store_read_begin(s, ctx);
        if (!rc) {
            rc = render_layers(&r, layers);
            md_store_read_end(s);
        }
        if (!rc)
            rc = md_mvt_serialize(r.mvt, out);
        if (rc)
            return rc;
        if (out->len - start <= MD_TILE_MAX_BYTES && stats->features <= MD_TILE_MAX_FEATURES)
            return MD_OK;
        r.point_budget /= 2;
    }
    return md_fail(ctx, MD_EINTERNAL, "tile %u/%u/%u stays over its size budget", t.z, t.x, t.y);
}

md_err md_tile_layers_parse(const char *text, size_t len, struct md_tile_layers *out,
                            struct md_ctx *ctx)
{
    out->n = 0;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && text[j] != ',')
            j++;
        char name[32];
        size_t n = j - i;
        enum md_layer layer;
        if (n == 0 || n >= sizeof(name))
            return md_fail(ctx, MD_EINVAL, "empty or overlong layer name in '%.*s'",
                           (int)(len > 64 ? 64 : len), text);
        memcpy(name, text + i, n);
        name[n] = '\0';
        if (md_layer_parse_tile(name, &layer))
            return md_fail(ctx, MD_EINVAL,
                           "unknown layer '%.31s' (layers: basemap, facilities, reports,"
                           " districts, grids)",
                           name);
        for (size_t k = 0; k < out->n; k++) {
            if (out->layer[k] == layer)
                return md_fail(ctx, MD_EINVAL, "layer '%s' is listed twice", name);
        }
        out->layer[out->n++] = layer;
        i = j + 1;
    }
    return MD_OK;
}

unsigned md_tile_layers_mask(const struct md_tile_layers *layers)
{
    unsigned mask = 0;
    for (size_t i = 0; i < layers->n; i++)
        mask |= 1u << layers->layer[i];
    return mask;
}
