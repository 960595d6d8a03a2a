/* Unit tests for tiles/tile_math.c. Reference values were computed
 * independently with the textbook slippy-map formulas (Python, double). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>

#include "tile_math.h"

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static void validity(void **state)
{
    (void)state;
    assert_true(md_tile_valid((struct md_tile_id){0, 0, 0}));
    assert_false(md_tile_valid((struct md_tile_id){0, 1, 0}));
    assert_false(md_tile_valid((struct md_tile_id){0, 0, 1}));
    assert_true(md_tile_valid((struct md_tile_id){3, 7, 7}));
    assert_false(md_tile_valid((struct md_tile_id){3, 8, 0}));
    assert_true(md_tile_valid((struct md_tile_id){22, (1u << 22) - 1, (1u << 22) - 1}));
    assert_false(md_tile_valid((struct md_tile_id){22, 1u << 22, 0}));
    assert_false(md_tile_valid((struct md_tile_id){23, 0, 0}));
    assert_false(md_tile_valid((struct md_tile_id){UINT32_MAX, 0, 0}));
}

static void mercator(void **state)
{
    (void)state;
    double x, y, lon, lat;
    md_merc_from_lonlat(116.4, 39.9, &x, &y);
    assert_near(x, 12957588.728337044, 1e-6);
    assert_near(y, 4851421.175183359, 1e-6);
    md_lonlat_from_merc(x, y, &lon, &lat);
    assert_near(lon, 116.4, 1e-12);
    assert_near(lat, 39.9, 1e-12);
    /* Latitude is clamped to the Mercator square. */
    md_merc_from_lonlat(180, 90, &x, &y);
    assert_near(x, 20037508.342789244, 1e-6);
    assert_near(y, 20037508.342789244, 1e-3);
    md_merc_from_lonlat(-180, -89.9, &x, &y);
    assert_near(x, -20037508.342789244, 1e-6);
    assert_near(y, -20037508.342789244, 1e-3);
    md_merc_from_lonlat(0, 0, &x, &y);
    assert_near(x, 0, 1e-9);
    assert_near(y, 0, 1e-9);
}

static void bounds(void **state)
{
    (void)state;
    struct md_bbox b;
    md_tile_bounds_merc((struct md_tile_id){0, 0, 0}, &b);
    assert_near(b.minx, -20037508.34, 0.01);
    assert_near(b.miny, -20037508.34, 0.01);
    assert_near(b.maxx, 20037508.34, 0.01);
    assert_near(b.maxy, 20037508.34, 0.01);

    md_tile_bounds_merc((struct md_tile_id){1, 1, 0}, &b);
    assert_near(b.minx, 0, 1e-6);
    assert_near(b.miny, 0, 1e-6);
    assert_near(b.maxx, 20037508.342789244, 1e-6);
    assert_near(b.maxy, 20037508.342789244, 1e-6);

    md_tile_bounds_lonlat((struct md_tile_id){0, 0, 0}, &b);
    assert_near(b.minx, -180, 1e-9);
    assert_near(b.maxx, 180, 1e-9);
    assert_near(b.miny, -85.0511287798066, 1e-9);
    assert_near(b.maxy, 85.0511287798066, 1e-9);

    /* The tile holding Tiananmen (116.4, 39.9) at z10 is 843/388. */
    md_tile_bounds_lonlat((struct md_tile_id){10, 843, 388}, &b);
    assert_near(b.minx, 116.3671875, 1e-9);
    assert_near(b.maxx, 116.71875, 1e-9);
    assert_near(b.miny, 39.63953756436671, 1e-9);
    assert_near(b.maxy, 39.90973623453718, 1e-9);
}

static void project(void **state)
{
    (void)state;
    double tx, ty;
    /* Beijing at z10: world tile coordinate (843.0933, 388.0361). */
    md_tile_project((struct md_tile_id){10, 843, 388}, 4096, 116.4, 39.9, &tx, &ty);
    assert_near(tx, 382.29333, 1e-4);
    assert_near(ty, 147.87352, 1e-4);
    assert_int_equal((uint32_t)floor(843 + tx / 4096), 843);
    /* The same point seen from the tile to the north: below its bottom edge. */
    md_tile_project((struct md_tile_id){10, 843, 387}, 4096, 116.4, 39.9, &tx, &ty);
    assert_near(ty, 4096 + 147.87352, 1e-4);
    /* Corners of the world tile. */
    md_tile_project((struct md_tile_id){0, 0, 0}, 4096, -180, 85.0511287798066, &tx, &ty);
    assert_near(tx, 0, 1e-6);
    assert_near(ty, 0, 1e-6);
    md_tile_project((struct md_tile_id){0, 0, 0}, 4096, 180, -90, &tx, &ty);
    assert_near(tx, 4096, 1e-6);
    assert_near(ty, 4096, 1e-6);
    md_tile_project((struct md_tile_id){1, 1, 1}, 512, 0, 0, &tx, &ty);
    assert_near(tx, 0, 1e-9);
    assert_near(ty, 0, 1e-9);
    /* y grows down: a point north of the tile has negative ty. */
    md_tile_project((struct md_tile_id){1, 1, 1}, 512, 90, 10, &tx, &ty);
    assert_near(tx, 256, 1e-9);
    assert_true(ty < 0);
}

static void query_bbox(void **state)
{
    (void)state;
    struct md_bbox b, tb;
    struct md_tile_id t = {10, 843, 388};
    md_tile_query_bbox(t, 4096, 64, &b);
    md_tile_bounds_lonlat(t, &tb);
    /* 64 of 4096 units of a 0.3515625° tile = 0.0054931640625° of longitude. */
    assert_near(b.minx, tb.minx - 0.0054931640625, 1e-9);
    assert_near(b.maxx, tb.maxx + 0.0054931640625, 1e-9);
    assert_true(b.miny < tb.miny && b.maxy > tb.maxy);
    /* Projecting the query corners lands on the buffer's edge. */
    double tx, ty;
    md_tile_project(t, 4096, b.minx, b.maxy, &tx, &ty);
    assert_near(tx, -64, 1e-6);
    assert_near(ty, -64, 1e-6);
    md_tile_project(t, 4096, b.maxx, b.miny, &tx, &ty);
    assert_near(tx, 4096 + 64, 1e-6);
    assert_near(ty, 4096 + 64, 1e-6);
    /* Polar rows reach the poles (clamped points are drawn on their edge). */
    md_tile_query_bbox((struct md_tile_id){2, 1, 0}, 4096, 64, &b);
    assert_near(b.maxy, 90, 0);
    md_tile_query_bbox((struct md_tile_id){2, 1, 3}, 4096, 64, &b);
    assert_near(b.miny, -90, 0);
    md_tile_query_bbox((struct md_tile_id){0, 0, 0}, 4096, 0, &b);
    assert_near(b.minx, -180, 1e-9);
    assert_near(b.maxx, 180, 1e-9);
}

static void covering(void **state)
{
    (void)state;
    uint32_t x0, y0, x1, y1;
    /* A point in the middle of a tile touches only that tile. */
    struct md_bbox mid;
    md_tile_bounds_lonlat((struct md_tile_id){10, 843, 388}, &mid);
    double cx = (mid.minx + mid.maxx) / 2, cy = (mid.miny + mid.maxy) / 2;
    struct md_bbox pt = {cx, cy, cx, cy};
    md_tile_range_covering(10, &pt, 4096, 64, &x0, &y0, &x1, &y1);
    assert_int_equal(x0, 843);
    assert_int_equal(x1, 843);
    assert_int_equal(y0, 388);
    assert_int_equal(y1, 388);

    /* Beijing itself is 382 units from the west edge and 148 from the north
     * edge of 843/388: outside the 64-unit buffers of the neighbours. */
    struct md_bbox bj = {116.4, 39.9, 116.4, 39.9};
    md_tile_range_covering(10, &bj, 4096, 64, &x0, &y0, &x1, &y1);
    assert_int_equal(x0, 843);
    assert_int_equal(x1, 843);
    assert_int_equal(y0, 388);
    assert_int_equal(y1, 388);
    /* ... but inside them with a 512-unit buffer. */
    md_tile_range_covering(10, &bj, 4096, 512, &x0, &y0, &x1, &y1);
    assert_int_equal(x0, 842);
    assert_int_equal(x1, 843);
    assert_int_equal(y0, 387);
    assert_int_equal(y1, 388);

    /* A point 32 units west of a tile edge is in both tiles' buffers. */
    struct md_bbox edge;
    md_tile_bounds_lonlat((struct md_tile_id){10, 843, 388}, &edge);
    double lon = edge.minx - (edge.maxx - edge.minx) * 32.0 / 4096;
    struct md_bbox near_edge = {lon, cy, lon, cy};
    md_tile_range_covering(10, &near_edge, 4096, 64, &x0, &y0, &x1, &y1);
    assert_int_equal(x0, 842);
    assert_int_equal(x1, 843);
    assert_int_equal(y0, 388);
    assert_int_equal(y1, 388);
    /* Without a buffer it is in one tile only. */
    md_tile_range_covering(10, &near_edge, 4096, 0, &x0, &y0, &x1, &y1);
    assert_int_equal(x0, 842);
    assert_int_equal(x1, 842);

    /* The whole world at z2, and a polar point clamped onto the top row. */
    struct md_bbox world = {-180, -90, 180, 90};
    md_tile_range_covering(2, &world, 4096, 64, &x0, &y0, &x1, &y1);
    assert_int_equal(x0, 0);
    assert_int_equal(y0, 0);
    assert_int_equal(x1, 3);
    assert_int_equal(y1, 3);
    struct md_bbox pole = {10, 89, 10, 89};
    md_tile_range_covering(2, &pole, 4096, 64, &x0, &y0, &x1, &y1);
    assert_int_equal(x0, 2);
    assert_int_equal(x1, 2);
    assert_int_equal(y0, 0);
    assert_int_equal(y1, 0);
    md_tile_range_covering(0, &pole, 4096, 64, &x0, &y0, &x1, &y1);
    assert_int_equal(x0 + y0 + x1 + y1, 0);

    /* Invalid input: an empty range. */
    struct md_bbox bad = {10, 0, 5, 1};
    md_tile_range_covering(5, &bad, 4096, 64, &x0, &y0, &x1, &y1);
    assert_true(x0 > x1 && y0 > y1);
    struct md_bbox nan_box = {NAN, 0, 1, 1};
    md_tile_range_covering(5, &nan_box, 4096, 64, &x0, &y0, &x1, &y1);
    assert_true(x0 > x1);
    md_tile_range_covering(23, &pt, 4096, 64, &x0, &y0, &x1, &y1);
    assert_true(x0 > x1);
}

/* Every tile the covering range lists must see the point inside its buffered
 * square, and the tiles just outside the range must not. */
static void covering_agrees_with_project(void **state)
{
    (void)state;
    const double pts[][2] = {{116.4, 39.9},    {-73.98, 40.75}, {151.2, -33.87},
                             {0.0001, 0.0001}, {-0.3, 51.5},    {179.99, -16.5}};
    for (uint32_t z = 0; z <= MD_TILE_MAX_ZOOM; z += 3) {
        for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
            struct md_bbox b = {pts[i][0], pts[i][1], pts[i][0], pts[i][1]};
            uint32_t x0, y0, x1, y1;
            md_tile_range_covering(z, &b, 4096, 64, &x0, &y0, &x1, &y1);
            uint32_t n = 1u << z;
            for (int64_t x = (int64_t)x0 - 1; x <= (int64_t)x1 + 1; x++) {
                for (int64_t y = (int64_t)y0 - 1; y <= (int64_t)y1 + 1; y++) {
                    if (x < 0 || y < 0 || x >= n || y >= n)
                        continue;
                    double tx, ty;
                    md_tile_project((struct md_tile_id){z, (uint32_t)x, (uint32_t)y}, 4096,
                                    pts[i][0], pts[i][1], &tx, &ty);
                    bool inside = tx >= -64 && tx <= 4160 && ty >= -64 && ty <= 4160;
                    bool listed = x >= x0 && x <= x1 && y >= y0 && y <= y1;
                    assert_int_equal(inside, listed);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validity),
        cmocka_unit_test(mercator),
        cmocka_unit_test(bounds),
        cmocka_unit_test(project),
        cmocka_unit_test(query_bbox),
        cmocka_unit_test(covering),
        cmocka_unit_test(covering_agrees_with_project),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
