/* queries.c - /api/v1/nearest, /api/v1/within, /api/v1/districts/at, and
 * the parameter helpers the other planner APIs share (queries.h).
 *
 * Points in requests are in the request's crs (wgs84 by default) and are
 * converted to WGS84 before any search; points in replies are converted
 * back. Distances are geodesic metres on WGS84 between the WGS84 points.
 */
#include "queries.h"
#include "areas.h"
#include "feature_read.h"
#include "json_body.h"
#include "workflow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POLYGON_VERTICES 100000

static md_err handle_nearest(struct md_call *c);
static md_err handle_within(struct md_call *c);
static md_err handle_district_at(struct md_call *c);

#define FILTER_PARAMS "category", "status", "district", "group", "kind", "from", "to"
static const char *const nearest_params[] = {"crs", "layer",        "lon",         "lat",
                                             "k",   "max_distance", FILTER_PARAMS, NULL};
static const char *const within_params[] = {"crs",    "layer",       "bbox", "limit",
                                            "offset", "after",       "lon",  "lat",
                                            "radius", FILTER_PARAMS, NULL};
static const char *const district_at_params[] = {"crs", "lon", "lat", NULL};

const struct md_route md__queries_routes[] = {
    {"GET", "/api/v1/nearest", false, handle_nearest, "nearest", NULL},
    {"GET", "/api/v1/within", false, handle_within, "within", NULL},
    {"POST", "/api/v1/within", false, handle_within, "within", NULL},
    {"GET", "/api/v1/districts/at", false, handle_district_at, "districts_at", NULL},
};
const size_t md__queries_routes_count = sizeof(md__queries_routes) / sizeof(md__queries_routes[0]);

md_err md__param_layer(struct md_call *c, const char *name, enum md_layer dflt, bool point_only,
                       enum md_layer *out)
{
    const char *v = md__param(c, name);
    *out = dflt;
    if (!v || !*v)
        return MD_OK;
    if (md_layer_parse(v, out) || (point_only && !md_query_point_layer(*out)))
        return md_fail(c->ctx, MD_EINVAL, "%s must be %s", name,
                       point_only ? "facilities or reports"
                                  : "facilities, reports, districts or grids");
    return MD_OK;
}

static bool one_of(const char *v, const char *const *list)
{
    for (; *list; list++) {
        if (strcmp(v, *list) == 0)
            return true;
    }
    return false;
}

md_err md__param_filter(struct md_call *c, enum md_layer layer, struct md_query_filter *f)
{
    static const char *const kinds[] = {"problem", "incident", "correction", NULL};
    bool reports = layer == MD_LAYER_REPORTS;
    memset(f, 0, sizeof(*f));
    md_err rc = md__param_str(c, "category", false, 700, &f->category);
    if (!rc)
        rc = md__param_str(c, "status", false, 200, &f->status);
    if (!rc)
        rc = md__param_str(c, "district", false, 16, &f->district);
    if (!rc && reports)
        rc = md__param_str(c, "group", false, 8, &f->group);
    if (!rc && reports)
        rc = md__param_str(c, "kind", false, 16, &f->kind);
    if (!rc)
        rc = md__param_time(c, "from", &f->from, &f->has_from);
    if (!rc)
        rc = md__param_time_end(c, "to", &f->to, &f->has_to);
    if (rc)
        return rc;
    if (!reports && (md__param(c, "group") || md__param(c, "kind")))
        return md_fail(c->ctx, MD_EINVAL, "group and kind apply to reports only");
    if ((rc = md__check_statuses(c, layer, f->status)))
        return rc;
    if (f->kind && !one_of(f->kind, kinds))
        return md_fail(c->ctx, MD_EINVAL, "kind must be problem, incident or correction");
    if (f->has_from && f->has_to && f->from > f->to)
        return md_fail(c->ctx, MD_EINVAL, "from is after to");
    return md__check_filter(c, layer, f);
}

md_err md__check_statuses(struct md_call *c, enum md_layer layer, const char *list)
{
    static const char *const fac_status[] = {"open", "closed", "unverified", NULL};
    bool reports = layer == MD_LAYER_REPORTS;
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, ",");
        char one[24] = "";
        if (n < sizeof(one))
            memcpy(one, p, n);
        if (!(reports ? md_status_valid(one) : one_of(one, fac_status)))
            return md_fail(c->ctx, MD_EINVAL, "status '%.*s' is not a %s status",
                           (int)(n > 20 ? 20 : n), p, reports ? "report" : "facility");
        p += n + (p[n] == ',');
    }
    return MD_OK;
}

md_err md__check_filter(struct md_call *c, enum md_layer layer, const struct md_query_filter *f)
{
    struct md_store *s = c->w->store;
    enum md_code_list cats =
        layer == MD_LAYER_REPORTS ? MD_CODES_REPORT_CATEGORY : MD_CODES_FACILITY_CATEGORY;
    bool found = true;
    md_err rc = MD_OK;
    for (const char *p = f->category; !rc && p && *p;) { /* each item of a comma list */
        size_t n = strcspn(p, ",");
        char one[40] = "";
        if (n < sizeof(one))
            memcpy(one, p, n);
        if (!(rc = md_store_code_known(s, cats, one, &found, c->ctx)) && !found)
            return md_fail(c->ctx, MD_EINVAL, "unknown category '%.*s'", (int)(n > 40 ? 40 : n), p);
        p += n + (p[n] == ',');
    }
    if (!rc && f->group &&
        !(rc = md_store_code_known(s, MD_CODES_CATEGORY_GROUP, f->group, &found, c->ctx)) && !found)
        return md_fail(c->ctx, MD_EINVAL, "unknown group '%s'", f->group);
    if (!rc && f->district &&
        !(rc = md_store_code_known(s, MD_CODES_DISTRICT, f->district, &found, c->ctx)) && !found)
        return md_fail(c->ctx, MD_EINVAL, "unknown district '%s'", f->district);
    return rc;
}

/* ---- GeoJSON polygon bodies */

static md_err ring_from_json(struct md_call *c, json_t *ring, enum md_crs crs, size_t *budget,
                             GEOSGeometry **out)
{
    GEOSContextHandle_t h = md_geos_handle(c->w->geos);
    size_t n = json_array_size(ring);
    if (!json_is_array(ring) || n < 4)
        return md_fail(c->ctx, MD_EINVAL, "polygon: a ring needs at least 4 positions");
    if (n > *budget)
        return md_fail(c->ctx, MD_EINVAL, "polygon: more than %d vertices", MAX_POLYGON_VERTICES);
    *budget -= n;
    GEOSCoordSequence *seq = GEOSCoordSeq_create_r(h, (unsigned)n, 2);
    if (!seq)
        return md_geos_fail(c->w->geos, c->ctx, "polygon");
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(ring, i);
        double x = json_number_value(json_array_get(p, 0)),
               y = json_number_value(json_array_get(p, 1));
        if (!json_is_array(p) || json_array_size(p) < 2 || !json_is_number(json_array_get(p, 0)) ||
            !json_is_number(json_array_get(p, 1))) {
            GEOSCoordSeq_destroy_r(h, seq);
            return md_fail(c->ctx, MD_EINVAL, "polygon: position %zu is not [lon, lat]", i);
        }
        if (x < -180 || x > 180 || y < -90 || y > 90) {
            GEOSCoordSeq_destroy_r(h, seq);
            return md_fail(c->ctx, MD_EINVAL,
                           "polygon: position %g,%g is outside -180..180, -90..90", x, y);
        }
        md_crs_to_wgs84(crs, x, y, &x, &y);
        GEOSCoordSeq_setXY_r(h, seq, (unsigned)i, x, y);
    }
    *out = GEOSGeom_createLinearRing_r(h, seq);
    if (!*out)
        return md_fail(c->ctx, MD_EINVAL, "polygon: a ring is not closed");
    return MD_OK;
}

static md_err polygon_from_json(struct md_call *c, json_t *rings, enum md_crs crs, size_t *budget,
                                GEOSGeometry **out)
{
    GEOSContextHandle_t h = md_geos_handle(c->w->geos);
    size_t n = json_array_size(rings);
    if (!json_is_array(rings) || n < 1)
        return md_fail(c->ctx, MD_EINVAL, "polygon: coordinates must be an array of rings");
    GEOSGeometry **r = calloc(n, sizeof(*r));
    if (!r)
        return md_fail(c->ctx, MD_ENOMEM, "polygon");
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < n; i++)
        rc = ring_from_json(c, json_array_get(rings, i), crs, budget, &r[i]);
    if (!rc) {
        *out = GEOSGeom_createPolygon_r(h, r[0], r + 1, (unsigned)(n - 1));
        if (!*out)
            rc = md_geos_fail(c->w->geos, c->ctx, "polygon");
    } else {
        for (size_t i = 0; i < n; i++)
            GEOSGeom_destroy_r(h, r[i]);
    }
    free(r);
    return rc;
}

static md_err geometry_from_json(struct md_call *c, json_t *g, enum md_crs crs, GEOSGeometry **out)
{
    GEOSContextHandle_t h = md_geos_handle(c->w->geos);
    const char *type = json_string_value(json_object_get(g, "type"));
    json_t *coords = json_object_get(g, "coordinates");
    size_t budget = MAX_POLYGON_VERTICES;
    if (type && strcmp(type, "Polygon") == 0)
        return polygon_from_json(c, coords, crs, &budget, out);
    if (!type || strcmp(type, "MultiPolygon") != 0)
        return md_fail(c->ctx, MD_EINVAL, "the body must be a GeoJSON Polygon or MultiPolygon");
    size_t n = json_array_size(coords);
    if (n < 1)
        return md_fail(c->ctx, MD_EINVAL, "polygon: a MultiPolygon needs at least one polygon");
    GEOSGeometry **parts = calloc(n, sizeof(*parts));
    if (!parts)
        return md_fail(c->ctx, MD_ENOMEM, "polygon");
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < n; i++)
        rc = polygon_from_json(c, json_array_get(coords, i), crs, &budget, &parts[i]);
    if (!rc) {
        *out = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, parts, (unsigned)n);
        if (!*out)
            rc = md_geos_fail(c->w->geos, c->ctx, "polygon");
    } else {
        for (size_t i = 0; i < n; i++)
            GEOSGeom_destroy_r(h, parts[i]);
    }
    free(parts);
    return rc;
}

/* ---- the cost of validating a polygon
 *
 * GEOS's validity check cannot be interrupted per thread (GEOS 3.11), and
 * its cost is the number of edge pairs whose extents overlap: about 10 per
 * edge for real boundaries (Beijing's districts: 5-10), but quadratic for a
 * star whose spikes all overlap (n^2/5: 44,000 vertices is 4e8 pairs,
 * 20 s). So the pairs are counted first, by a sweep over the edges sorted
 * by west end that stops at the limit: the budget allows
 * PAIRS_PER_BUDGET_MS pairs per millisecond of --query-budget-ms. */
#define PAIRS_PER_BUDGET_MS 5000

struct edge_extent {
    double x0, x1, y0, y1;
};

static int extent_cmp(const void *a, const void *b)
{
    double d = ((const struct edge_extent *)a)->x0 - ((const struct edge_extent *)b)->x0;
    return d < 0 ? -1 : d > 0;
}

static md_err ring_extents(GEOSContextHandle_t h, const GEOSGeometry *ring, struct edge_extent **v,
                           size_t *n, size_t *cap)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, ring);
    unsigned size = 0;
    if (!cs || !GEOSCoordSeq_getSize_r(h, cs, &size))
        return MD_EGEOS;
    double px = 0, py = 0;
    for (unsigned i = 0; i < size; i++) {
        double x, y;
        if (!GEOSCoordSeq_getXY_r(h, cs, i, &x, &y))
            return MD_EGEOS;
        if (i > 0) {
            if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 1024;
                struct edge_extent *nv = realloc(*v, ncap * sizeof(*nv));
                if (!nv)
                    return MD_ENOMEM;
                *v = nv;
                *cap = ncap;
            }
            (*v)[(*n)++] = (struct edge_extent){px < x ? px : x, px < x ? x : px, py < y ? py : y,
                                                py < y ? y : py};
        }
        px = x;
        py = y;
    }
    return MD_OK;
}

static md_err polygon_check_cost(struct md_call *c, const GEOSGeometry *g)
{
    GEOSContextHandle_t h = md_geos_handle(c->w->geos);
    if (!c->ctx->budget_ms)
        return MD_OK;
    uint64_t limit = (uint64_t)c->ctx->budget_ms * PAIRS_PER_BUDGET_MS, pairs = 0;
    struct edge_extent *v = NULL;
    size_t n = 0, cap = 0;
    md_err rc = MD_OK;
    int parts = GEOSGetNumGeometries_r(h, g);
    for (int i = 0; !rc && i < parts; i++) {
        const GEOSGeometry *p = GEOSGetGeometryN_r(h, g, i);
        rc = ring_extents(h, GEOSGetExteriorRing_r(h, p), &v, &n, &cap);
        for (int k = 0; !rc && k < GEOSGetNumInteriorRings_r(h, p); k++)
            rc = ring_extents(h, GEOSGetInteriorRingN_r(h, p, k), &v, &n, &cap);
    }
    if (rc) {
        free(v);
        return md_fail(c->ctx, rc, "reading the polygon's edges");
    }
    qsort(v, n, sizeof(*v), extent_cmp);
    for (size_t i = 0; i < n && pairs <= limit; i++)
        for (size_t j = i + 1; j < n && v[j].x0 <= v[i].x1 && pairs <= limit; j++)
            pairs++;
    free(v);
    if (pairs > limit)
        return md_fail(c->ctx, MD_EEXPENSIVE,
                       "the polygon's %zu edges overlap too much to check within the work "
                       "budget of %u ms (--query-budget-ms): more than %llu edge pairs (a real "
                       "boundary has about 10 per edge); simplify it",
                       n, c->ctx->budget_ms, (unsigned long long)limit);
    return MD_OK;
}

md_err md__body_polygon(struct md_call *c, enum md_crs crs, GEOSGeometry **out)
{
    GEOSContextHandle_t h = md_geos_handle(c->w->geos);
    json_error_t jerr;
    *out = NULL;
    md_err ct = md__require_json(c);
    if (ct)
        return ct;
    if (!c->req->body_len)
        return md_fail(c->ctx, MD_EINVAL, "the body must be a GeoJSON Polygon or MultiPolygon");
    json_t *root = json_loadb(c->req->body, c->req->body_len, 0, &jerr);
    if (!root)
        return md_fail(c->ctx, MD_EPARSE, "body is not JSON: %s (line %d)", jerr.text, jerr.line);
    json_t *g = root;
    const char *type = json_string_value(json_object_get(root, "type"));
    if (type && strcmp(type, "FeatureCollection") == 0) {
        json_t *features = json_object_get(root, "features");
        if (json_array_size(features) != 1) {
            json_decref(root);
            return md_fail(c->ctx, MD_EINVAL, "a FeatureCollection body must hold one feature");
        }
        g = json_array_get(features, 0);
        type = json_string_value(json_object_get(g, "type"));
    }
    if (type && strcmp(type, "Feature") == 0)
        g = json_object_get(g, "geometry");
    md_err rc = geometry_from_json(c, g, crs, out);
    json_decref(root);
    if (!rc && (rc = polygon_check_cost(c, *out))) {
        GEOSGeom_destroy_r(h, *out);
        *out = NULL;
    }
    if (rc)
        return rc;
    char valid = GEOSisValid_r(h, *out);
    if (valid != 1) {
        char *reason = GEOSisValidReason_r(h, *out);
        rc = md_fail(c->ctx, MD_EINVAL, "polygon is not valid: %s", reason ? reason : "invalid");
        GEOSFree_r(h, reason);
        GEOSGeom_destroy_r(h, *out);
        *out = NULL;
    }
    return rc;
}

/* ---- replies */

/* Properties of hit h: from the feature cache, or read and rendered (and
 * then cached when seq >= 0). *found: the row exists. */
/* md_row_fn: a row's properties (md__row_props) appended to b. */
struct props_out {
    enum md_layer layer;
    int tz_offset_min;
    struct md_buf *b;
    size_t at; /* where they start */
};

static md_err props_row(const struct md_row *row, void *userdata)
{
    struct props_out *p = userdata;
    return md__row_props(row, p->layer, p->tz_offset_min, p->b);
}

static md_err hit_props(struct md_call *c, enum md_layer layer, const struct md_query_hit *h,
                        int64_t seq, struct md_buf *b, bool *found, int64_t *hits)
{
    struct md_feature_cache *fc = c->api->features;
    *found = true;
    if (fc && md_feature_cache_get(fc, layer, h->id, seq, b)) {
        (*hits)++;
        return MD_OK;
    }
    struct props_out out = {layer, c->api->cfg->timezone_offset_min, b, b->len};
    struct md_key_value key = {.i = h->id};
    md_err rc = md_store_feature_get(c->w->store, layer, &key, props_row, &out, found, c->ctx);
    if (!rc && *found && fc)
        md_feature_cache_put(fc, layer, h->id, seq, b->data + out.at, b->len - out.at);
    return rc;
}

md_err md__send_hits(struct md_call *c, enum md_layer layer, const struct md_query_hit *hits, int n,
                     int64_t matched, bool with_distance, enum md_crs crs, const char *extra)
{
    struct md_store *s = c->w->store;
    struct md_buf *b = &c->res->body;
    md_buf_reset(b);
    /* The feature cache is keyed by the snapshot: only inside a read
     * transaction (the callers hold one), never inside a write. */
    int64_t seq = -1;
    md_err rc = MD_OK;
    if (c->api->features && md_store_txn_state(s) == MD_TXN_READ)
        rc = md_feature_cache_sync(c->api->features, s, &seq, c->ctx);
    /* Room for the usual answer at once (features are ~300-600 bytes):
     * no regrowing while it is written. */
    if (!rc) /* past the buffer's cap it grows as it goes, and fails there */
        MD_IGNORE(md_buf_reserve(b, 512 + (size_t)n * 640));
    if (!rc)
        rc = md_buf_puts(b, "{\"type\":\"FeatureCollection\",");
    if (!rc && matched >= 0)
        rc = md_buf_printf(b, "\"numberMatched\":%lld,", (long long)matched);
    if (!rc)
        rc = md_buf_printf(b, "\"numberReturned\":%d,\"crs_name\":\"%s\"%s,\"features\":[", n,
                           md_crs_name(crs), extra ? extra : "");
    int64_t cached = 0;
    for (int i = 0, written = 0; !rc && i < n; i++) {
        const struct md_query_hit *h = &hits[i];
        size_t at = b->len;
        bool found = false;
        rc = md_buf_puts(b, written ? "," : "");
        if (!rc)
            rc = md__point_feature_open(b, h->id, h->lon, h->lat, crs);
        if (!rc)
            rc = hit_props(c, layer, h, seq, b, &found, &cached);
        if (!rc)
            rc = md__point_feature_close(b, with_distance ? &h->distance_m : NULL);
        if (!rc && !found) {
            b->len = at; /* gone meanwhile (outside a snapshot): left out */
            b->data[at] = '\0';
        }
        written += found;
    }
    if (c->api->features)
        md_feature_cache_count(c->api->features, cached, n - cached);
    if (!rc)
        rc = md_buf_puts(b, "]}\n");
    if (rc)
        return c->ctx->err ? rc : md_fail(c->ctx, rc, "building the response");
    c->res->content_type = "application/geo+json";
    return MD_OK;
}

/* lon/lat in the request's crs, checked, converted to WGS84. */
static md_err param_point(struct md_call *c, enum md_crs crs, double *lon, double *lat)
{
    md_err rc = md__param_lonlat(c, "lon", "lat", lon, lat);
    if (!rc)
        md_crs_to_wgs84(crs, *lon, *lat, lon, lat);
    return rc;
}

static md_err handle_nearest(struct md_call *c)
{
    md_err params_rc = md__params_only(c, nearest_params);
    if (params_rc)
        return params_rc;
    enum md_crs crs;
    enum md_layer layer;
    struct md_query_filter f;
    double lon, lat, max_m = 0;
    int64_t k = 10;
    md_err rc = md__param_crs(c, &crs);
    if (!rc)
        rc = md__param_layer(c, "layer", MD_LAYER_FACILITIES, true, &layer);
    if (!rc)
        rc = param_point(c, crs, &lon, &lat);
    if (!rc)
        rc = md__param_int(c, "k", false, 1, MD_QUERY_MAX_K, &k);
    if (!rc)
        rc = md__param_double(c, "max_distance", false, &max_m);
    if (!rc && !(max_m >= 0))
        rc = md_fail(c->ctx, MD_EINVAL, "max_distance must be a positive number of metres");
    if (!rc)
        rc = md__param_filter(c, layer, &f);
    if (rc)
        return rc;
    struct md_query_hit *hits = md_pool_calloc(c->req->pool, (size_t)k, sizeof(*hits));
    if (!hits)
        return md_fail(c->ctx, MD_ENOMEM, "nearest");
    int n = 0;
    /* One snapshot for the search and the rows it returns (and one lock
     * round trip instead of one per statement). */
    bool began = md_store_txn_state(c->w->store) == MD_TXN_NONE;
    if (began && (rc = md_store_read_begin(c->w->store, c->ctx)))
        return rc;
    rc = md_query_nearest(c->w->store, layer, lon, lat, (int)k, max_m, &f, hits, &n, c->ctx);
    if (!rc)
        rc = md__send_hits(c, layer, hits, n, n, true, crs, NULL);
    if (began)
        md_store_read_end(c->w->store);
    return rc;
}

/* The keyset cursor of a within page ("next"): "i<id>" by id, or
 * "d<distance>_<id>" by distance (%.17g reads back the same double). */
static void within_cursor(enum md_query_order order, const struct md_query_hit *last, char *out,
                          size_t n)
{
    if (order == MD_ORDER_DISTANCE)
        snprintf(out, n, ",\"next\":\"d%.17g_%lld\"", last->distance_m, (long long)last->id);
    else
        snprintf(out, n, ",\"next\":\"i%lld\"", (long long)last->id);
}

static md_err within_cursor_parse(struct md_call *c, const char *text, enum md_query_order order,
                                  struct md_query_after *out)
{
    char *end = NULL;
    bool ok = false;
    if (order == MD_ORDER_DISTANCE && text[0] == 'd') {
        double d = strtod(text + 1, &end);
        if (end != text + 1 && *end == '_' && isfinite(d) && d >= 0) {
            const char *id = end + 1;
            long long v = strtoll(id, &end, 10);
            ok = end != id && !*end && v >= 0 && id[0] != '-' && id[0] != '+';
            *out = (struct md_query_after){d, v};
        }
    } else if (order == MD_ORDER_ID && text[0] == 'i' && text[1] >= '0' && text[1] <= '9') {
        long long v = strtoll(text + 1, &end, 10);
        ok = !*end && v >= 0;
        *out = (struct md_query_after){0, v};
    }
    if (!ok)
        return md_fail(c->ctx, MD_EINVAL,
                       "after must be the `next` cursor of a previous page of the same query");
    return MD_OK;
}

static md_err handle_within(struct md_call *c)
{
    md_err params_rc = md__params_only(c, within_params);
    if (params_rc)
        return params_rc;
    enum md_crs crs;
    enum md_layer layer;
    struct md_query_filter f;
    struct md_region r = {.kind = MD_REGION_ALL};
    GEOSGeometry *poly = NULL;
    const GEOSPreparedGeometry *prep = NULL;
    GEOSContextHandle_t h = md_geos_handle(c->w->geos);
    int64_t limit = 100, offset = 0;
    bool has_bbox = false, post = strcmp(c->req->method, "POST") == 0;
    bool has_point = md__param(c, "lon") || md__param(c, "lat") || md__param(c, "radius");
    md_err rc = md__param_crs(c, &crs);
    if (!rc)
        rc = md__param_layer(c, "layer", MD_LAYER_FACILITIES, true, &layer);
    if (!rc)
        rc = md__param_bbox(c, "bbox", &r.boxes[0], &has_bbox);
    if (!rc)
        rc = md__param_int(c, "limit", false, 1, c->api->cfg->max_query_limit, &limit);
    if (!rc)
        rc = md__param_int(c, "offset", false, 0, INT32_MAX, &offset);
    if (!rc)
        rc = md__param_filter(c, layer, &f);
    if (rc)
        goto out;
    int regions = has_point + has_bbox + post + (f.district != NULL);
    if (regions != 1) {
        rc = md_fail(c->ctx, MD_EINVAL,
                     "within needs exactly one of lon+lat+radius, bbox, "
                     "district, or a GeoJSON polygon body (POST)");
        goto out;
    }
    if (has_point) {
        r.kind = MD_REGION_CIRCLE;
        rc = param_point(c, crs, &r.lon, &r.lat);
        if (!rc)
            rc = md__param_double(c, "radius", true, &r.radius_m);
        if (!rc && (r.radius_m < 0 || r.radius_m > 1e6))
            rc = md_fail(c->ctx, MD_EINVAL, "radius must be between 0 and 1000000 metres, got %g",
                         r.radius_m);
    } else if (has_bbox) {
        r.kind = MD_REGION_BOXES;
        r.nboxes = 1;
        if (crs != MD_CRS_WGS84) {
            /* The box's corners in WGS84: the offsets are smooth and small, so
             * the converted corners bound the converted box to within metres. */
            struct md_bbox b = r.boxes[0];
            md_crs_to_wgs84(crs, b.minx, b.miny, &r.boxes[0].minx, &r.boxes[0].miny);
            md_crs_to_wgs84(crs, b.maxx, b.maxy, &r.boxes[0].maxx, &r.boxes[0].maxy);
        }
    } else if (post) {
        r.kind = MD_REGION_POLYGON;
        rc = md__body_polygon(c, crs, &poly);
        if (!rc && !(prep = GEOSPrepare_r(h, poly)))
            rc = md_geos_fail(c->w->geos, c->ctx, "preparing the polygon");
        if (!rc) /* parsing and validating a big polygon counts against the budget */
            rc = md_ctx_budget(c->ctx);
        if (!rc) {
            double x0, y0, x1, y1;
            GEOSGeom_getXMin_r(h, poly, &x0);
            GEOSGeom_getYMin_r(h, poly, &y0);
            GEOSGeom_getXMax_r(h, poly, &x1);
            GEOSGeom_getYMax_r(h, poly, &y1);
            r.boxes[0] = (struct md_bbox){x0, y0, x1, y1};
            r.nboxes = 1;
            r.geos = h;
            r.polygon = prep;
        }
    }
    const char *cursor = md__param(c, "after");
    bool has_after = cursor != NULL;
    struct md_query_after after = {0, 0};
    if (!rc && has_after && md__param(c, "offset"))
        rc = md_fail(c->ctx, MD_EINVAL, "after and offset exclude each other: page by one of them");
    if (!rc && has_after)
        rc = within_cursor_parse(
            c, cursor, r.kind == MD_REGION_CIRCLE ? MD_ORDER_DISTANCE : MD_ORDER_ID, &after);
    if (rc)
        goto out;
    struct md_query_hit *hits = md_pool_calloc(c->req->pool, (size_t)limit + 1, sizeof(*hits));
    if (!hits) {
        rc = md_fail(c->ctx, MD_ENOMEM, "within");
        goto out;
    }
    enum md_query_order order = r.kind == MD_REGION_CIRCLE ? MD_ORDER_DISTANCE : MD_ORDER_ID;
    int n = 0;
    int64_t matched = -1;
    bool more = false;
    bool began = md_store_txn_state(c->w->store) == MD_TXN_NONE;
    if (began && (rc = md_store_read_begin(c->w->store, c->ctx)))
        goto out;
    if (!md__param(c, "offset")) {
        /* A keyset page (the first, or after a cursor): its cost does not
         * grow with the matches or the depth; the count is given only when
         * it is free (the page holds every match). */
        rc = md_query_within_after(c->w->store, layer, &r, &f, order, has_after ? &after : NULL,
                                   (int)limit, hits, &n, &more, c->ctx);
        if (!rc && !more && !has_after)
            matched = n;
    } else { /* offset paging counts every match */
        rc = md_query_within(c->w->store, layer, &r, &f, order, offset, (int)limit, hits, &n,
                             &matched, c->ctx);
        more = offset + n < matched;
    }
    if (!rc) {
        char extra[160];
        int at = has_after ? snprintf(extra, sizeof(extra), ",\"limit\":%lld", (long long)limit)
                           : snprintf(extra, sizeof(extra), ",\"offset\":%lld,\"limit\":%lld",
                                      (long long)offset, (long long)limit);
        if (more && n > 0)
            within_cursor(order, &hits[n - 1], extra + at, sizeof(extra) - (size_t)at);
        rc = md__send_hits(c, layer, hits, n, matched, r.kind == MD_REGION_CIRCLE, crs, extra);
    }
    if (began)
        md_store_read_end(c->w->store);
out:
    GEOSPreparedGeom_destroy_r(h, prep);
    GEOSGeom_destroy_r(h, poly);
    return rc;
}

static md_err handle_district_at(struct md_call *c)
{
    md_err params_rc = md__params_only(c, district_at_params);
    if (params_rc)
        return params_rc;
    enum md_crs crs;
    double lon, lat;
    char district[MD_DISTRICT_CODE_MAX], grid[MD_GRID_CODE_MAX];
    md_err rc = md__param_crs(c, &crs);
    if (!rc)
        rc = param_point(c, crs, &lon, &lat);
    if (!rc)
        rc = md_store_locate(c->w->store, lon, lat, district, grid, c->ctx);
    if (rc)
        return rc;
    char name[128], name_en[128];
    bool found = false;
    rc = md_store_district_names(c->w->store, district, name, sizeof(name), name_en,
                                 sizeof(name_en), &found, c->ctx);
    if (rc)
        return rc;
    json_t *j = NULL;
    if (found)
        j = json_pack("{s:{s:s,s:s,s:s},s:o}", "district", "code", district, "name", name,
                      "name_en", name_en, "grid",
                      grid[0] ? json_pack("{s:s}", "code", grid) : json_null());
    return md__send_json(c, 200, j);
}
