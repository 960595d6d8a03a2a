/* Unit tests for tiles/tile_geom.c: the lon/lat -> tile-space pipeline.
 * Test geometries are written in tile units and turned into lon/lat with an
 * inverse projection written here (not the library's), so each test states
 * where things should land in the tile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mvt_decode.h"
#include "mvt_encode.h"
#include "tile_geom.h"

#define TILE ((struct md_tile_id){12, 3372, 1552}) /* Beijing, ~9.8 km wide */
#define BUF 64

static GEOSContextHandle_t geos;

static int setup(void **state)
{
    (void)state;
    geos = GEOS_init_r();
    return geos ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    GEOS_finish_r(geos);
    return 0;
}

/* Tile units of tile t -> lon/lat, by the inverse slippy-map formulas. */
static void unproject(struct md_tile_id t, double tx, double ty, double *lon, double *lat)
{
    double n = (double)(1u << t.z);
    double wx = (t.x + tx / 4096.0) / n, wy = (t.y + ty / 4096.0) / n;
    *lon = wx * 360.0 - 180.0;
    *lat = atan(sinh(M_PI * (1.0 - 2.0 * wy))) * 180.0 / M_PI;
}

/* Plain lon/lat WKT. */
static GEOSGeometry *lonlat_wkt(const char *text)
{
    GEOSWKTReader *r = GEOSWKTReader_create_r(geos);
    GEOSGeometry *g = GEOSWKTReader_read_r(geos, r, text);
    GEOSWKTReader_destroy_r(geos, r);
    assert_non_null(g);
    return g;
}

struct unproject_params {
    struct md_tile_id t;
};

static int unproject_cb(double *x, double *y, void *userdata)
{
    const struct unproject_params *p = userdata;
    unproject(p->t, *x, *y, x, y);
    return 1;
}

static GEOSGeometry *lonlat_from_tile_wkt(struct md_tile_id t, const char *text)
{
    GEOSWKTReader *r = GEOSWKTReader_create_r(geos);
    GEOSGeometry *g = GEOSWKTReader_read_r(geos, r, text);
    GEOSWKTReader_destroy_r(geos, r);
    assert_non_null(g);
    struct unproject_params p = {t};
    GEOSGeometry *ll = GEOSGeom_transformXY_r(geos, g, unproject_cb, &p);
    GEOSGeom_destroy_r(geos, g);
    assert_non_null(ll);
    return ll;
}

static GEOSGeometry *prepare(struct md_tile_id t, const char *tile_wkt, md_err want_rc)
{
    GEOSGeometry *in = lonlat_from_tile_wkt(t, tile_wkt), *out = (GEOSGeometry *)1;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_err rc = md_tile_geom_prepare(geos, in, t, 4096, BUF, &out, &ctx);
    GEOSGeom_destroy_r(geos, in);
    if (rc != want_rc)
        fail_msg("md_tile_geom_prepare: %d (%s), want %d", rc, md_ctx_message(&ctx), want_rc);
    return out;
}

static char *to_wkt(const GEOSGeometry *g, char *buf, size_t n)
{
    GEOSWKTWriter *w = GEOSWKTWriter_create_r(geos);
    GEOSWKTWriter_setTrim_r(geos, w, 1);
    GEOSWKTWriter_setRoundingPrecision_r(geos, w, 3);
    char *text = GEOSWKTWriter_write_r(geos, w, g);
    snprintf(buf, n, "%s", text);
    GEOSFree_r(geos, text);
    GEOSWKTWriter_destroy_r(geos, w);
    return buf;
}

static void assert_integer_coords(const GEOSGeometry *g)
{
    GEOSGeometry *pts = GEOSGeom_extractUniquePoints_r(geos, g);
    assert_non_null(pts);
    int n = GEOSGetNumGeometries_r(geos, pts);
    for (int i = 0; i < n; i++) {
        double x, y;
        const GEOSGeometry *p = GEOSGetGeometryN_r(geos, pts, i);
        assert_true(GEOSGeomGetX_r(geos, p, &x) && GEOSGeomGetY_r(geos, p, &y));
        assert_true(x == floor(x) && y == floor(y));
    }
    GEOSGeom_destroy_r(geos, pts);
}

static void assert_equals_wkt(const GEOSGeometry *g, const char *want)
{
    char got[4096];
    GEOSWKTReader *r = GEOSWKTReader_create_r(geos);
    GEOSGeometry *w = GEOSWKTReader_read_r(geos, r, want);
    GEOSWKTReader_destroy_r(geos, r);
    assert_non_null(w);
    if (GEOSEquals_r(geos, g, w) != 1)
        fail_msg("got %s, want %s", to_wkt(g, got, sizeof(got)), want);
    GEOSGeom_destroy_r(geos, w);
}

static void project_and_snap_points(void **state)
{
    (void)state;
    /* Tiananmen: Beijing's 116.4, 39.9 lands at (1529.17, 591.49) in 12/3372/1552,
     * which the snap rounds to (1529, 591). */
    GEOSGeometry *in = lonlat_wkt("POINT (116.4 39.9)"), *out = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_tile_geom_prepare(geos, in, TILE, 4096, BUF, &out, &ctx), MD_OK);
    assert_non_null(out);
    assert_equals_wkt(out, "POINT (1529 591)");
    GEOSGeom_destroy_r(geos, out);
    GEOSGeom_destroy_r(geos, in);

    /* Points outside the tile + buffer never appear; the buffer's own points do. */
    out = prepare(TILE,
                  "MULTIPOINT ((10 10), (-63.6 4000), (-64.6 100), (4100 4159.9),"
                  "(4200 10), (2000 -5000), (100 4161))",
                  MD_OK);
    assert_non_null(out);
    assert_equals_wkt(out, "MULTIPOINT ((10 10), (-64 4000), (4100 4160))");
    assert_integer_coords(out);
    GEOSGeom_destroy_r(geos, out);

    /* Entirely outside: nothing, and no error. */
    out = prepare(TILE, "POINT (5000 5000)", MD_OK);
    assert_null(out);
    out = prepare(TILE, "MULTIPOINT ((-200 10), (10 -200))", MD_OK);
    assert_null(out);
    out = prepare(TILE, "POINT EMPTY", MD_OK);
    assert_null(out);
}

static void clip_polygon_to_buffer(void **state)
{
    (void)state;
    /* A polygon much larger than the tile becomes the buffered square. */
    GEOSGeometry *out = prepare(
        TILE, "POLYGON ((-3000 -3000, 9000 -3000, 9000 9000, -3000 9000, -3000 -3000))", MD_OK);
    assert_non_null(out);
    assert_equals_wkt(out, "POLYGON ((-64 -64, 4160 -64, 4160 4160, -64 4160, -64 -64))");
    GEOSGeom_destroy_r(geos, out);

    /* A polygon with a hole, half outside: the hole stays, the shell is cut
     * at x = 4160. */
    out = prepare(TILE,
                  "POLYGON ((3000 1000, 6000 1000, 6000 2000, 3000 2000, 3000 1000),"
                  "(3500 1200, 3600 1200, 3600 1300, 3500 1300, 3500 1200))",
                  MD_OK);
    assert_non_null(out);
    assert_equals_wkt(out, "POLYGON ((3000 1000, 4160 1000, 4160 2000, 3000 2000, 3000 1000),"
                           "(3500 1200, 3600 1200, 3600 1300, 3500 1300, 3500 1200))");
    double xmax;
    assert_true(GEOSGeom_getXMax_r(geos, out, &xmax));
    assert_true(xmax == 4160);
    GEOSGeom_destroy_r(geos, out);

    /* A line crossing the tile is cut at both buffer edges. */
    out = prepare(TILE, "LINESTRING (-1000 2048, 5000 2048)", MD_OK);
    assert_non_null(out);
    assert_equals_wkt(out, "LINESTRING (-64 2048, 4160 2048)");
    GEOSGeom_destroy_r(geos, out);

    /* A polygon only touching the buffer's corner from outside: nothing. */
    out = prepare(TILE, "POLYGON ((4160 4160, 4300 4160, 4300 4300, 4160 4300, 4160 4160))", MD_OK);
    assert_null(out);
}

static void simplify_and_collapse(void **state)
{
    (void)state;
    /* A 25 x 33 m building: ~224 x 292 units at z16, nothing at z4. */
    double lon = 116.3974, lat = 39.8992, d = 0.0003;
    char text[512];
    snprintf(text, sizeof(text),
             "POLYGON ((%.7f %.7f, %.7f %.7f, %.7f %.7f, %.7f %.7f, %.7f %.7f))", lon, lat, lon + d,
             lat, lon + d, lat + d, lon, lat + d, lon, lat);
    GEOSGeometry *building = lonlat_wkt(text);

    struct md_ctx ctx;
    md_ctx_init(&ctx);
    GEOSGeometry *out = NULL;
    struct md_tile_id z4 = {4, 13, 6};
    assert_int_equal(md_tile_geom_prepare(geos, building, z4, 4096, BUF, &out, &ctx), MD_OK);
    assert_null(out);

    struct md_tile_id z16 = {16, 53957, 24834};
    assert_int_equal(md_tile_geom_prepare(geos, building, z16, 4096, BUF, &out, &ctx), MD_OK);
    assert_non_null(out);
    double area;
    assert_true(GEOSArea_r(geos, out, &area));
    assert_true(area > 222.0 * 290.0 && area < 226.0 * 294.0);
    assert_int_equal(GEOSGeomTypeId_r(geos, out), GEOS_POLYGON);
    assert_int_equal(GEOSGeomGetNumPoints_r(geos, GEOSGetExteriorRing_r(geos, out)), 5);
    assert_integer_coords(out);
    GEOSGeom_destroy_r(geos, out);
    GEOSGeom_destroy_r(geos, building);

    /* Vertices closer than a unit to the shape's line are simplified away. */
    out = prepare(TILE, "LINESTRING (0 0, 1000 0.3, 2000 -0.4, 3000 0.2, 4000 0)", MD_OK);
    assert_non_null(out);
    assert_equals_wkt(out, "LINESTRING (0 0, 4000 0)");
    assert_int_equal(GEOSGeomGetNumPoints_r(geos, out), 2);
    GEOSGeom_destroy_r(geos, out);

    /* A multipolygon where one part collapses keeps only the other. */
    out = prepare(TILE,
                  "MULTIPOLYGON (((10 10, 10.3 10, 10.3 10.3, 10 10.3, 10 10)),"
                  "((100 100, 200 100, 200 200, 100 200, 100 100)))",
                  MD_OK);
    assert_non_null(out);
    assert_int_equal(GEOSGeomTypeId_r(geos, out), GEOS_POLYGON);
    assert_equals_wkt(out, "POLYGON ((100 100, 200 100, 200 200, 100 200, 100 100))");
    GEOSGeom_destroy_r(geos, out);

    /* A 400-vertex circle of radius 100 units keeps its area with far fewer
     * vertices. */
    char circle[400 * 40 + 64];
    size_t len = (size_t)snprintf(circle, sizeof(circle), "POLYGON ((");
    for (int i = 0; i <= 400; i++) {
        double a = 2 * M_PI * (i % 400) / 400;
        len += (size_t)snprintf(circle + len, sizeof(circle) - len, "%s%.6f %.6f",
                                i ? ", " : "", 2000 + 100 * cos(a), 2000 + 100 * sin(a));
    }
    snprintf(circle + len, sizeof(circle) - len, "))");
    out = prepare(TILE, circle, MD_OK);
    assert_non_null(out);
    int vertices = GEOSGeomGetNumPoints_r(geos, GEOSGetExteriorRing_r(geos, out));
    assert_true(vertices > 10 && vertices < 60);
    assert_true(GEOSArea_r(geos, out, &area));
    assert_true(fabs(area - M_PI * 100 * 100) < 0.03 * M_PI * 100 * 100);
    assert_int_equal(GEOSisValid_r(geos, out), 1);
    assert_integer_coords(out);
    GEOSGeom_destroy_r(geos, out);

    /* Douglas-Peucker alone would drop the shell's vertex (500,0), 1 unit off
     * the chord, and lay the shell's edge onto the hole's. The topology-
     * preserving simplifier keeps it, and the hole. */
    out = prepare(TILE,
                  "POLYGON ((0 1, 500 0, 1000 1, 1000 1000, 0 1000, 0 1),"
                  "(450 1, 450 50, 550 50, 550 1, 450 1))",
                  MD_OK);
    assert_non_null(out);
    assert_int_equal(GEOSisValid_r(geos, out), 1);
    assert_int_equal(GEOSGetNumInteriorRings_r(geos, out), 1);
    assert_equals_wkt(out, "POLYGON ((0 1, 500 0, 1000 1, 1000 1000, 0 1000, 0 1),"
                           "(450 1, 450 50, 550 50, 550 1, 450 1))");
    /* Without the hole the vertex goes. */
    GEOSGeom_destroy_r(geos, out);
    out = prepare(TILE, "POLYGON ((0 1, 500 0, 1000 1, 1000 1000, 0 1000, 0 1))", MD_OK);
    assert_equals_wkt(out, "POLYGON ((0 1, 1000 1, 1000 1000, 0 1000, 0 1))");
    assert_int_equal(GEOSGeomGetNumPoints_r(geos, GEOSGetExteriorRing_r(geos, out)), 5);
    GEOSGeom_destroy_r(geos, out);

    /* A line shorter than half a unit collapses. */
    out = prepare(TILE, "LINESTRING (50.1 50.1, 50.3 50.2)", MD_OK);
    assert_null(out);
}

static void make_valid_bow_tie(void **state)
{
    (void)state;
    /* A self-intersecting "bow-tie" ring: two triangles meeting at (200,200). */
    GEOSGeometry *out =
        prepare(TILE, "POLYGON ((100 100, 300 300, 300 100, 100 300, 100 100))", MD_OK);
    assert_non_null(out);
    assert_int_equal(GEOSisValid_r(geos, out), 1);
    assert_int_equal(GEOSGeomTypeId_r(geos, out), GEOS_MULTIPOLYGON);
    assert_int_equal(GEOSGetNumGeometries_r(geos, out), 2);
    double area;
    assert_true(GEOSArea_r(geos, out, &area));
    assert_true(fabs(area - 20000.0) < 1.0);
    assert_equals_wkt(out, "MULTIPOLYGON (((100 100, 200 200, 100 300, 100 100)),"
                           "((200 200, 300 300, 300 100, 200 200)))");
    assert_integer_coords(out);
    GEOSGeom_destroy_r(geos, out);

    /* A bow-tie whose crossing is off the grid is still valid after snapping. */
    out = prepare(TILE, "POLYGON ((0 0, 301 200, 301 0, 0 200, 0 0))", MD_OK);
    assert_non_null(out);
    assert_int_equal(GEOSisValid_r(geos, out), 1);
    assert_integer_coords(out);
    assert_true(GEOSArea_r(geos, out, &area));
    assert_true(fabs(area - 301.0 * 100.0) < 200.0);
    GEOSGeom_destroy_r(geos, out);
}

static void arguments(void **state)
{
    (void)state;
    GEOSGeometry *in = lonlat_wkt("POINT (116.4 39.9)"), *out = (GEOSGeometry *)1;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_tile_id bad = {3, 8, 0};
    assert_int_equal(md_tile_geom_prepare(geos, in, bad, 4096, BUF, &out, &ctx), MD_EINVAL);
    assert_null(out);
    assert_string_equal(ctx.msg, "tile 3/8/0 does not exist");
    md_ctx_init(&ctx);
    assert_int_equal(md_tile_geom_prepare(geos, in, TILE, 0, BUF, &out, &ctx), MD_EINVAL);
    assert_int_equal(md_tile_geom_prepare(geos, NULL, TILE, 4096, BUF, &out, &ctx), MD_EINVAL);
    assert_int_equal(md_tile_geom_prepare(geos, in, TILE, 4096, BUF, NULL, &ctx), MD_EINVAL);
    GEOSGeom_destroy_r(geos, in);
    in = lonlat_wkt("LINESTRING (116.4 39.9, inf 40)");
    md_ctx_init(&ctx);
    assert_int_equal(md_tile_geom_prepare(geos, in, TILE, 4096, BUF, &out, &ctx), MD_EINVAL);
    assert_string_equal(ctx.msg, "geometry has a non-finite coordinate");
    GEOSGeom_destroy_r(geos, in);
}

/* Pipeline + encoder + decoder: a polygon with a hole, given in GEOS's
 * orientation, comes out with the spec's winding (exterior clockwise on a
 * y-down screen, i.e. positive surveyor's area), and the decoder agrees. */
static void pipeline_into_tile(void **state)
{
    (void)state;
    GEOSGeometry *g = prepare(TILE,
                              "POLYGON ((1000 1000, 1000 3000, 3000 3000, 3000 1000, 1000 1000),"
                              "(1500 1500, 2500 1500, 2500 2500, 1500 2500, 1500 1500))",
                              MD_OK);
    assert_non_null(g);
    struct md_pool *pool = md_pool_new(1 << 20);
    struct md_mvt *t = md_mvt_new(pool);
    assert_int_equal(md_mvt_layer(t, "districts", 4096), MD_OK);
    assert_int_equal(md_mvt_feature(t, 42, MD_MVT_POLYGON), MD_OK);
    assert_int_equal(md_mvt_geom_geos(t, geos, g), MD_OK);
    assert_int_equal(md_mvt_prop_str(t, "name", "Dongcheng"), MD_OK);
    struct md_buf out;
    md_buf_init(&out, 1 << 20);
    assert_int_equal(md_mvt_serialize(t, &out), MD_OK);
    VectorTile__Tile *tile = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_mvt_decode(out.data, out.len, pool, &tile, &ctx), MD_OK);
    const VectorTile__Tile__Feature *f = tile->layers[0]->features[0];
    assert_int_equal(f->id, 42);
    /* Shell from (1000,1000) clockwise on screen: east, south, west; then the
     * hole from (1500,1500) counter-clockwise: south, east, north. Whatever
     * vertex GEOS starts a ring at, the deltas of each ring must be these up
     * to rotation; check the turning direction through the commands. */
    assert_int_equal(f->n_geometry, 22);
    int64_t x = 0, y = 0;
    double area[2] = {0, 0};
    size_t i = 0;
    for (int ring = 0; ring < 2; ring++) {
        int64_t px, py, x0, y0;
        assert_int_equal(f->geometry[i++], 9);
        x += (int32_t)((f->geometry[i] >> 1) ^ (~(f->geometry[i] & 1) + 1));
        y += (int32_t)((f->geometry[i + 1] >> 1) ^ (~(f->geometry[i + 1] & 1) + 1));
        i += 2;
        x0 = px = x;
        y0 = py = y;
        assert_int_equal(f->geometry[i++], 2 | 3 << 3);
        for (int k = 0; k < 3; k++, i += 2) {
            x += (int32_t)((f->geometry[i] >> 1) ^ (~(f->geometry[i] & 1) + 1));
            y += (int32_t)((f->geometry[i + 1] >> 1) ^ (~(f->geometry[i + 1] & 1) + 1));
            area[ring] += (double)px * y - (double)x * py;
            px = x;
            py = y;
        }
        area[ring] += (double)px * y0 - (double)x0 * py;
        assert_int_equal(f->geometry[i++], 15);
    }
    assert_true(area[0] == 2.0 * 2000 * 2000);
    assert_true(area[1] == -2.0 * 1000 * 1000);
    md_buf_free(&out);
    md_pool_free(pool);
    GEOSGeom_destroy_r(geos, g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(project_and_snap_points),
        cmocka_unit_test(clip_polygon_to_buffer),
        cmocka_unit_test(simplify_and_collapse),
        cmocka_unit_test(make_valid_bow_tie),
        cmocka_unit_test(arguments),
        cmocka_unit_test(pipeline_into_tile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
