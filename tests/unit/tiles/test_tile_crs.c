/* tile_crs: where GCJ-02 tiles draw points, and that the boxes moved
 * between WGS84 and GCJ-02 hold every point they must (checked by brute
 * force on fine grids, in Beijing and at the edges of China's box) while
 * staying tight at high zoom. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "tile_crs.h"

static bool inside(const struct md_bbox *b, double lon, double lat)
{
    return lon >= b->minx && lon <= b->maxx && lat >= b->miny && lat <= b->maxy;
}

static struct md_tile_id tile_at(uint32_t z, double lon, double lat)
{
    struct md_bbox b = {lon, lat, lon, lat};
    uint32_t x0, y0, x1, y1;
    md_tile_range_covering(z, &b, MD_TILE_EXTENT, 0, &x0, &y0, &x1, &y1);
    return (struct md_tile_id){z, x0, y0};
}

static void points(void **state)
{
    (void)state;
    double lon, lat, glon, glat;
    md_tile_crs_point(MD_CRS_WGS84, 116.4, 39.9, &lon, &lat);
    assert_true(lon == 116.4 && lat == 39.9);
    md_tile_crs_point(MD_CRS_GCJ02, 116.4, 39.9, &lon, &lat);
    md_gcj02_from_wgs84(116.4, 39.9, &glon, &glat);
    assert_true(lon == glon && lat == glat);
    assert_true(lon - 116.4 > 0.005);                        /* ~500 m east in Beijing */
    md_tile_crs_point(MD_CRS_GCJ02, -0.1, 51.5, &lon, &lat); /* London: identity */
    assert_true(lon == -0.1 && lat == 51.5);
    assert_true(md_tile_crs_served(MD_CRS_WGS84) && md_tile_crs_served(MD_CRS_GCJ02));
    assert_false(md_tile_crs_served(MD_CRS_BD09));
}

/* Every WGS84 point of a grid around the tile that GCJ-02 draws inside the
 * buffered tile lies in the query box. Two grids: around the tile itself
 * (the identity outside China) and around the tile moved back by the offset
 * at its centre, each grown by half the tile and 0.002°. Returns how many
 * points were drawn in the tile. */
static int check_grid(const struct md_bbox *r, const struct md_bbox *q, double dlon, double dlat)
{
    const int n = 160;
    double w = r->maxx - r->minx, h = r->maxy - r->miny;
    int hits = 0;
    for (int i = 0; i <= n; i++) {
        for (int j = 0; j <= n; j++) {
            double lon = r->minx - dlon - w * 0.5 - 0.002 + (w * 2 + 0.004) * i / n;
            double lat = r->miny - dlat - h * 0.5 - 0.002 + (h * 2 + 0.004) * j / n;
            double glon, glat;
            md_gcj02_from_wgs84(lon, lat, &glon, &glat);
            if (!inside(r, glon, glat))
                continue;
            hits++;
            assert_true(inside(q, lon, lat));
        }
    }
    return hits;
}

static int check_query(struct md_tile_id t, uint32_t buffer)
{
    struct md_bbox q, r;
    md_tile_crs_query_bbox(t, MD_CRS_GCJ02, MD_TILE_EXTENT, buffer, &q);
    md_tile_query_bbox(t, MD_TILE_EXTENT, buffer, &r);
    double clon = (r.minx + r.maxx) / 2, clat = (fmax(r.miny, -85) + fmin(r.maxy, 85)) / 2;
    double glon, glat;
    md_gcj02_from_wgs84(clon, clat, &glon, &glat);
    return check_grid(&r, &q, 0, 0) + check_grid(&r, &q, glon - clon, glat - clat);
}

static void query_box_holds_every_row_drawn_in_the_tile(void **state)
{
    (void)state;
    for (uint32_t z = 4; z <= 20; z += 2)
        assert_true(check_query(tile_at(z, 116.397, 39.909), MD_TILE_BUFFER) > 100);
    assert_true(check_query(tile_at(16, 116.397, 39.909), 0) > 100);
    /* At the edges of the China box the transform jumps to the identity. */
    assert_true(check_query(tile_at(14, 72.005, 40.0), MD_TILE_BUFFER) > 100);
    assert_true(check_query(tile_at(14, 137.83, 45.0), MD_TILE_BUFFER) > 100);
    assert_true(check_query(tile_at(14, 120.0, 55.826), MD_TILE_BUFFER) > 100);
    assert_true(check_query(tile_at(12, 110.0, 0.83), MD_TILE_BUFFER) > 100);
    /* Outside China: the WGS84 box itself (plus nothing much). */
    struct md_bbox q, r;
    struct md_tile_id london = tile_at(14, -0.1, 51.5);
    md_tile_crs_query_bbox(london, MD_CRS_GCJ02, MD_TILE_EXTENT, 0, &q);
    md_tile_query_bbox(london, MD_TILE_EXTENT, 0, &r);
    assert_true(q.minx <= r.minx && q.maxx >= r.maxx && q.maxx - q.minx < (r.maxx - r.minx) + 0.02);
    /* The top row of tiles reaches the pole. */
    md_tile_crs_query_bbox((struct md_tile_id){2, 3, 0}, MD_CRS_GCJ02, MD_TILE_EXTENT, 0, &q);
    assert_true(q.maxy >= 90.0);
}

static void query_box_is_tight_at_high_zoom(void **state)
{
    (void)state;
    struct md_tile_id t = tile_at(16, 116.397, 39.909);
    struct md_bbox q, r;
    md_tile_crs_query_bbox(t, MD_CRS_GCJ02, MD_TILE_EXTENT, MD_TILE_BUFFER, &q);
    md_tile_query_bbox(t, MD_TILE_EXTENT, MD_TILE_BUFFER, &r);
    /* The tile moved ~0.006° west by the offset, padded by under 1e-4°
     * (~10 m), not by the ~0.01° of the offset's range over China. */
    assert_true(q.maxx - q.minx < r.maxx - r.minx + 1e-4);
    assert_true(q.maxy - q.miny < r.maxy - r.miny + 1e-4);
    assert_true(q.maxx < r.maxx - 0.004);
    md_tile_crs_query_bbox(t, MD_CRS_WGS84, MD_TILE_EXTENT, MD_TILE_BUFFER, &q);
    assert_true(q.minx == r.minx && q.maxx == r.maxx && q.miny == r.miny && q.maxy == r.maxy);
}

/* Every point of a grid over a WGS84 box is drawn inside the moved box. */
static void check_image(struct md_bbox b)
{
    struct md_bbox g;
    md_tile_crs_bbox_from_wgs84(MD_CRS_GCJ02, &b, &g);
    const int n = 120;
    for (int i = 0; i <= n; i++) {
        for (int j = 0; j <= n; j++) {
            double lon = b.minx + (b.maxx - b.minx) * i / n,
                   lat = b.miny + (b.maxy - b.miny) * j / n;
            double glon, glat;
            md_gcj02_from_wgs84(lon, lat, &glon, &glat);
            assert_true(inside(&g, glon, glat));
        }
    }
}

static void moved_box_holds_where_each_point_is_drawn(void **state)
{
    (void)state;
    check_image((struct md_bbox){116.39, 39.90, 116.39, 39.90}); /* a point */
    check_image((struct md_bbox){116.2, 39.7, 116.6, 40.1});
    check_image((struct md_bbox){70.0, 30.0, 75.0, 35.0}); /* across the box edge */
    check_image((struct md_bbox){73.0, 3.0, 136.0, 54.0}); /* most of China */
    check_image((struct md_bbox){-180, -85, 180, 85});
    struct md_bbox b = {116.39, 39.90, 116.391, 39.901}, g;
    md_tile_crs_bbox_from_wgs84(MD_CRS_GCJ02, &b, &g);
    assert_true(g.maxx - g.minx < 0.001 + 1e-4 && g.minx > b.minx + 0.004);
    /* WGS84 and invalid boxes are copied. */
    md_tile_crs_bbox_from_wgs84(MD_CRS_WGS84, &b, &g);
    assert_true(g.minx == b.minx && g.maxy == b.maxy);
    struct md_bbox bad = {NAN, 0, 1, 1};
    md_tile_crs_bbox_from_wgs84(MD_CRS_GCJ02, &bad, &g);
    assert_true(isnan(g.minx) && g.maxx == 1);
}

static void geometry_every_vertex_shifted(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    GEOSContextHandle_t h = GEOS_init_r();
    GEOSWKTReader *rd = GEOSWKTReader_create_r(h);
    GEOSGeometry *g = GEOSWKTReader_read_r(h, rd, "LINESTRING (116.3 39.8, 116.4 39.9, -0.1 51.5)");
    GEOSGeometry *out = NULL;
    assert_int_equal(md_tile_crs_geom(h, g, MD_CRS_WGS84, &out, &ctx), MD_OK);
    assert_null(out);
    assert_int_equal(md_tile_crs_geom(h, g, MD_CRS_GCJ02, &out, &ctx), MD_OK);
    assert_non_null(out);
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, out);
    const double in[3][2] = {{116.3, 39.8}, {116.4, 39.9}, {-0.1, 51.5}};
    for (unsigned i = 0; i < 3; i++) {
        double x, y, wx, wy;
        assert_true(GEOSCoordSeq_getXY_r(h, cs, i, &x, &y));
        md_gcj02_from_wgs84(in[i][0], in[i][1], &wx, &wy);
        assert_true(x == wx && y == wy);
    }
    GEOSGeom_destroy_r(h, out);
    GEOSGeom_destroy_r(h, g);
    GEOSWKTReader_destroy_r(h, rd);
    GEOS_finish_r(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(points),
        cmocka_unit_test(query_box_holds_every_row_drawn_in_the_tile),
        cmocka_unit_test(query_box_is_tight_at_high_zoom),
        cmocka_unit_test(moved_box_holds_where_each_point_is_drawn),
        cmocka_unit_test(geometry_every_vertex_shifted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
