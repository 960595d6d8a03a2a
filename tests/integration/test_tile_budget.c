/* With 1M reports, every tile stays under its budget (500 KB, 200k features)
 * at every zoom, and the thinned zooms still spread points evenly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mvt_decode.h"
#include "tile_math.h"

#define DB "mapd-test-1m.sqlite"

static struct md_tile_id tile_at(uint32_t z, double lon, double lat)
{
    struct md_bbox b = {lon, lat, lon, lat};
    uint32_t x0, y0, x1, y1;
    md_tile_range_covering(z, &b, 4096, 0, &x0, &y0, &x1, &y1);
    return (struct md_tile_id){z, x0, y0};
}

static void every_zoom_under_budget(void **state)
{
    (void)state;
    md_sh("rm -f " DB " " DB "-wal " DB "-shm");
    assert_int_equal(md_sh("%s sample --db " DB " --facilities 100000 --reports 1000000 --quiet",
                           getenv("MAPD_BIN")),
                     0);
    struct md_harness h;
    md_harness_start_on(&h, DB, NULL);
    size_t biggest = 0;
    int thinned_zooms = 0;
    for (uint32_t z = 0; z <= 22; z++) {
        /* The urban core is the densest place of the sample city. */
        struct md_tile_id t = tile_at(z, 116.40, 39.91);
        char path[128];
        snprintf(path, sizeof(path), "/tiles/facilities,reports,districts,grids/%u/%u/%u.mvt", t.z,
                 t.x, t.y);
        struct md_http_res r;
        assert_int_equal(md_http(&h, "GET", path, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        if (r.len > 500 * 1024)
            fail_msg("z%u tile is %zu bytes", z, r.len);
        struct md_pool *pool = md_pool_new((size_t)256 << 20);
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        VectorTile__Tile *tile = NULL;
        assert_int_equal(md_mvt_decode(r.body, r.len, pool, &tile, &ctx), MD_OK);
        size_t features = 0;
        for (size_t i = 0; i < tile->n_layers; i++)
            features += tile->layers[i]->n_features;
        assert_true(features > 0 && features <= 200000);
        /* At z12-z14 the raw report layer has more candidates than the
         * budget: it must be thinned, not cut. Thinning keeps points all
         * over the tile: every quadrant has some. */
        for (size_t i = 0; i < tile->n_layers; i++) {
            VectorTile__Tile__Layer *l = tile->layers[i];
            if (strcmp(l->name, "reports") != 0 || z < 12 || l->n_features < 6000)
                continue;
            thinned_zooms++;
            int quad[4] = {0};
            for (size_t f = 0; f < l->n_features; f++) {
                VectorTile__Tile__Feature *ft = l->features[f];
                int32_t x = (int32_t)((ft->geometry[1] >> 1) ^ -(ft->geometry[1] & 1));
                int32_t y = (int32_t)((ft->geometry[2] >> 1) ^ -(ft->geometry[2] & 1));
                quad[(x >= 2048) + 2 * (y >= 2048)]++;
            }
            for (int q = 0; q < 4; q++)
                assert_true(quad[q] > (int)l->n_features / 20);
        }
        if (r.len > biggest)
            biggest = r.len;
        printf("z%-2u %7zu bytes %6zu features\n", z, r.len, features);
        md_pool_free(pool);
        md_http_res_free(&r);
    }
    assert_true(thinned_zooms >= 1);
    assert_int_equal(md_harness_stop(&h), 0);
    md_sh("rm -f " DB " " DB "-wal " DB "-shm");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(every_zoom_under_budget)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
