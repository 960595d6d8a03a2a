/* tile_cache: precise invalidation at every zoom, the stale-render rule, LRU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tile_cache.h"
#include "unit_store.h"

static struct md_tile_id tile_at(uint32_t z, double lon, double lat)
{
    struct md_bbox b = {lon, lat, lon, lat};
    uint32_t x0, y0, x1, y1;
    md_tile_range_covering(z, &b, 4096, 0, &x0, &y0, &x1, &y1);
    return (struct md_tile_id){z, x0, y0};
}

static struct md_tile_key key(uint32_t z, uint32_t x, uint32_t y, enum md_layer l)
{
    struct md_tile_layers layers = {.layer = {l}, .n = 1};
    return md_tile_key_make((struct md_tile_id){z, x, y}, &layers);
}

static bool cached(struct md_tile_cache *c, struct md_tile_key k)
{
    struct md_buf out;
    md_buf_init(&out, 1 << 20);
    char etag[24];
    bool hit = md_tile_cache_get(c, &k, false, &out, etag);
    md_buf_free(&out);
    return hit;
}

static int64_t seq(struct md_store *s)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t v = 0;
    assert_int_equal(md_store_change_seq(s, &v, &ctx), MD_OK);
    return v;
}

static void put(struct md_tile_cache *c, struct md_tile_key k, int64_t at_seq)
{
    md_tile_cache_put(c, &k, "tile", 4, "gz", 2, "\"e\"", at_seq);
}

static void invalidates_exactly_the_covering_tiles(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tcache");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_tile_cache *c = md_tile_cache_new(1 << 20);
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    const double lon = 116.3912, lat = 39.9071;
    /* At every zoom: the covering tile, its far neighbour, and the covering
     * tile of another layer. */
    for (uint32_t z = 0; z <= 22; z++) {
        struct md_tile_id t = tile_at(z, lon, lat);
        put(c, key(z, t.x, t.y, MD_LAYER_REPORTS), seq(s));
        if (t.x >= 3)
            put(c, key(z, t.x - 3, t.y, MD_LAYER_REPORTS), seq(s));
        put(c, key(z, t.x, t.y, MD_LAYER_FACILITIES), seq(s));
    }
    unit_insert_report(s, lon, lat);
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    for (uint32_t z = 0; z <= 22; z++) {
        struct md_tile_id t = tile_at(z, lon, lat);
        assert_false(cached(c, key(z, t.x, t.y, MD_LAYER_REPORTS)));
        if (t.x >= 3)
            assert_true(cached(c, key(z, t.x - 3, t.y, MD_LAYER_REPORTS)));
        assert_true(cached(c, key(z, t.x, t.y, MD_LAYER_FACILITIES)));
    }
    struct md_tile_cache_stats st;
    md_tile_cache_stats(c, &st);
    assert_int_equal(st.invalidations, 23);
    md_tile_cache_free(c);
    unit_store_drop(s);
}

static void buffer_neighbours_are_invalidated_too(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tcache");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_tile_cache *c = md_tile_cache_new(1 << 20);
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    /* A point a hair east of a z16 tile's west edge shows in the west
     * neighbour's buffer too. */
    struct md_tile_id t = tile_at(16, 116.3912, 39.9071);
    struct md_bbox b;
    md_tile_bounds_lonlat(t, &b);
    put(c, key(16, t.x - 1, t.y, MD_LAYER_REPORTS), seq(s));
    put(c, key(16, t.x + 1, t.y, MD_LAYER_REPORTS), seq(s));
    unit_insert_report(s, b.minx + 1e-6, (b.miny + b.maxy) / 2);
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    assert_false(cached(c, key(16, t.x - 1, t.y, MD_LAYER_REPORTS)));
    assert_true(cached(c, key(16, t.x + 1, t.y, MD_LAYER_REPORTS)));
    md_tile_cache_free(c);
    unit_store_drop(s);
}

static void stale_render_is_not_stored(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tcache");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_tile_cache *c = md_tile_cache_new(1 << 20);
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    struct md_tile_id t = tile_at(14, 116.40, 39.91);
    int64_t rendered_at = seq(s); /* a render started here ... */
    unit_insert_report(s, 116.40, 39.91); /* ... a change lands meanwhile ... */
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    put(c, key(14, t.x, t.y, MD_LAYER_REPORTS), rendered_at); /* ... and it finishes */
    assert_false(cached(c, key(14, t.x, t.y, MD_LAYER_REPORTS)));
    /* A render of an untouched tile from the same moment is fine. */
    put(c, key(14, t.x + 5, t.y, MD_LAYER_REPORTS), rendered_at);
    assert_true(cached(c, key(14, t.x + 5, t.y, MD_LAYER_REPORTS)));
    md_tile_cache_free(c);
    unit_store_drop(s);
}

/* An entry stored raw only (composite parts, tiles no client asked gzip'd)
 * is a hit raw and a miss gzip'd, until its gzip'd form is stored; an empty
 * tile is a hit either way. */
static void raw_only_entries_miss_for_gzip(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tcache");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_tile_cache *c = md_tile_cache_new(1 << 20);
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    struct md_tile_key k = key(14, 100, 200, MD_LAYER_FACILITIES);
    md_tile_cache_put(c, &k, "tile", 4, NULL, 0, "\"e\"", seq(s));
    struct md_buf out;
    md_buf_init(&out, 1 << 20);
    char etag[24];
    assert_true(md_tile_cache_get(c, &k, false, &out, etag));
    assert_int_equal(out.len, 4);
    assert_false(md_tile_cache_get(c, &k, true, &out, etag));
    md_tile_cache_put(c, &k, "tile", 4, "gz", 2, "\"e\"", seq(s));
    md_buf_reset(&out);
    assert_true(md_tile_cache_get(c, &k, true, &out, etag));
    assert_int_equal(out.len, 2);
    struct md_tile_key empty = key(14, 101, 200, MD_LAYER_FACILITIES);
    md_tile_cache_put(c, &empty, NULL, 0, NULL, 0, "\"0\"", seq(s));
    assert_true(md_tile_cache_get(c, &empty, true, &out, etag));
    md_buf_free(&out);
    md_tile_cache_free(c);
    unit_store_drop(s);
}

static void lru_keeps_the_budget(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tcache");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_tile_cache *c = md_tile_cache_new(64 * 1024);
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    static char big[6000];
    memset(big, 7, sizeof(big));
    for (uint32_t i = 0; i < 40; i++) {
        struct md_tile_key k = key(20, i, 0, MD_LAYER_REPORTS);
        md_tile_cache_put(c, &k, big, sizeof(big), big, 10, "\"x\"", seq(s));
        if (i == 5) /* keep touching tile 0: it stays */
            assert_true(cached(c, key(20, 0, 0, MD_LAYER_REPORTS)));
        if (i > 5)
            assert_true(cached(c, key(20, 0, 0, MD_LAYER_REPORTS)));
    }
    struct md_tile_cache_stats st;
    md_tile_cache_stats(c, &st);
    assert_true(st.bytes <= 64 * 1024);
    assert_true(st.evictions > 0);
    assert_true(cached(c, key(20, 0, 0, MD_LAYER_REPORTS)));
    assert_false(cached(c, key(20, 1, 0, MD_LAYER_REPORTS)));
    assert_true(cached(c, key(20, 39, 0, MD_LAYER_REPORTS)));
    md_tile_cache_free(c);
    unit_store_drop(s);
}

static struct md_tile_key key_crs(uint32_t z, struct md_tile_id t, enum md_crs crs)
{
    struct md_tile_layers layers = {.layer = {MD_LAYER_REPORTS}, .n = 1};
    return md_tile_key_make_crs((struct md_tile_id){z, t.x, t.y}, &layers, crs);
}

/* WGS84 and GCJ-02 tiles are cached apart, and a change drops the GCJ-02
 * tiles where GCJ-02 draws it (~500 m east of its WGS84 tile in Beijing,
 * several z18 tiles), not the GCJ-02 tiles at its WGS84 position. */
static void gcj02_tiles_are_invalidated_where_gcj02_draws_the_change(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tcache");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_tile_cache *c = md_tile_cache_new(1 << 20);
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    const double lon = 116.3912, lat = 39.9071;
    double glon, glat;
    md_gcj02_from_wgs84(lon, lat, &glon, &glat);
    struct md_tile_id tw = tile_at(18, lon, lat), tg = tile_at(18, glon, glat);
    assert_true(tg.x > tw.x + 2); /* far apart, beyond each other's buffer */
    struct md_tile_key wgs_at_w = key_crs(18, tw, MD_CRS_WGS84);
    struct md_tile_key wgs_at_g = key_crs(18, tg, MD_CRS_WGS84);
    struct md_tile_key gcj_at_w = key_crs(18, tw, MD_CRS_GCJ02);
    struct md_tile_key gcj_at_g = key_crs(18, tg, MD_CRS_GCJ02);
    md_tile_cache_put(c, &wgs_at_w, "wgs", 3, "gz", 2, "\"w\"", seq(s));
    md_tile_cache_put(c, &gcj_at_w, "gcj02", 5, "gz", 2, "\"g\"", seq(s));
    put(c, wgs_at_g, seq(s));
    put(c, gcj_at_g, seq(s));
    /* One tile, two entries: each CRS gets its own bytes and ETag. */
    struct md_buf out;
    md_buf_init(&out, 1 << 20);
    char etag[24];
    assert_true(md_tile_cache_get(c, &gcj_at_w, false, &out, etag));
    assert_int_equal(out.len, 5);
    assert_string_equal(etag, "\"g\"");
    md_buf_free(&out);
    int64_t before = seq(s);
    unit_insert_report(s, lon, lat);
    assert_int_equal(md_tile_cache_sync(c, s, &ctx), MD_OK);
    assert_false(cached(c, wgs_at_w));
    assert_false(cached(c, gcj_at_g));
    assert_true(cached(c, wgs_at_g));
    assert_true(cached(c, gcj_at_w));
    /* The race rule holds per CRS too: a GCJ-02 render from before the
     * change is not stored where the change shows, but is elsewhere. */
    put(c, gcj_at_g, before);
    assert_false(cached(c, gcj_at_g));
    struct md_tile_key far = key_crs(18, (struct md_tile_id){18, tw.x - 20, tw.y}, MD_CRS_GCJ02);
    put(c, far, before);
    assert_true(cached(c, far));
    md_tile_cache_free(c);
    unit_store_drop(s);
}

static void etags_differ_per_crs(void **state)
{
    (void)state;
    char w[24], g[24], plain[24];
    md_tile_etag_crs(NULL, 0, MD_CRS_WGS84, w);
    md_tile_etag_crs(NULL, 0, MD_CRS_GCJ02, g);
    md_tile_etag(NULL, 0, plain);
    assert_string_equal(w, plain);
    assert_string_not_equal(w, g);
    md_tile_etag_crs("same bytes", 10, MD_CRS_WGS84, w);
    md_tile_etag_crs("same bytes", 10, MD_CRS_GCJ02, g);
    assert_string_not_equal(w, g);
    assert_int_equal(strlen(g), 18); /* a quoted 64-bit hex hash */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(invalidates_exactly_the_covering_tiles),
        cmocka_unit_test(buffer_neighbours_are_invalidated_too),
        cmocka_unit_test(stale_render_is_not_stored),
        cmocka_unit_test(lru_keeps_the_budget),
        cmocka_unit_test(raw_only_entries_miss_for_gzip),
        cmocka_unit_test(gcj02_tiles_are_invalidated_where_gcj02_draws_the_change),
        cmocka_unit_test(etags_differ_per_crs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
