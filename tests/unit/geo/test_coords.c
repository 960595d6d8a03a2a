/* test_coords.c - WGS84 / GCJ-02 / BD-09 conversions and crs= parsing.
 * Reference values are gcoord 1.0.7's transform() (tests/node/geo_gcoord.mjs
 * checks a thousand more points against it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "coords.h"
#include "geodesic.h"
#include "geo_test.h"

struct known {
    const char *place;
    double wgs_lon, wgs_lat, gcj_lon, gcj_lat, bd_lon, bd_lat;
};

/* node -e 'g.transform([lon, lat], g.WGS84, g.GCJ02 / g.BD09)', printed with 12 decimals. */
static const struct known known_points[] = {
    {"Tiananmen", 116.391, 39.907, 116.397240958599, 39.908401108846, 116.403614423766,
     39.914743900760},
    {"Shanghai", 121.4737, 31.2304, 121.478223059277, 31.228457737577, 121.484781468503,
     31.234310593690},
    {"Guangzhou", 113.2644, 23.1291, 113.269729592103, 23.126423339923, 113.276150751571,
     23.132711257239},
    {"Chengdu", 104.0665, 30.5723, 104.069004905671, 30.569845540720, 104.075480940876,
     30.575856163708},
    {"Harbin", 126.535, 45.8038, 126.541040350158, 45.805781525148, 126.547659214140,
     45.811395822940},
};

#define KNOWN_TOL 1e-11 /* the reference values carry 12 decimals */

static void known_conversions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(known_points) / sizeof(known_points[0]); i++) {
        const struct known *k = &known_points[i];
        double lon, lat;
        md_gcj02_from_wgs84(k->wgs_lon, k->wgs_lat, &lon, &lat);
        assert_close(lon, k->gcj_lon, KNOWN_TOL);
        assert_close(lat, k->gcj_lat, KNOWN_TOL);
        md_bd09_from_wgs84(k->wgs_lon, k->wgs_lat, &lon, &lat);
        assert_close(lon, k->bd_lon, KNOWN_TOL);
        assert_close(lat, k->bd_lat, KNOWN_TOL);
        md_bd09_from_gcj02(k->gcj_lon, k->gcj_lat, &lon, &lat);
        assert_close(lon, k->bd_lon, KNOWN_TOL);
        assert_close(lat, k->bd_lat, KNOWN_TOL);
        /* Inverses land back on the WGS84 point (1e-9° is ~0.1 mm). */
        md_wgs84_from_gcj02(k->gcj_lon, k->gcj_lat, &lon, &lat);
        assert_close(lon, k->wgs_lon, 1e-9);
        assert_close(lat, k->wgs_lat, 1e-9);
        md_wgs84_from_bd09(k->bd_lon, k->bd_lat, &lon, &lat);
        assert_close(lon, k->wgs_lon, 1e-9);
        assert_close(lat, k->wgs_lat, 1e-9);
        md_gcj02_from_bd09(k->bd_lon, k->bd_lat, &lon, &lat);
        assert_close(lon, k->gcj_lon, 1e-9);
        assert_close(lat, k->gcj_lat, 1e-9);
        /* The generic entry points dispatch to the same functions. */
        md_crs_from_wgs84(MD_CRS_BD09, k->wgs_lon, k->wgs_lat, &lon, &lat);
        assert_close(lon, k->bd_lon, KNOWN_TOL);
        md_crs_to_wgs84(MD_CRS_GCJ02, k->gcj_lon, k->gcj_lat, &lon, &lat);
        assert_close(lat, k->wgs_lat, 1e-9);
        md_crs_convert(MD_CRS_GCJ02, MD_CRS_BD09, k->gcj_lon, k->gcj_lat, &lon, &lat);
        assert_close(lat, k->bd_lat, KNOWN_TOL);
        md_crs_convert(MD_CRS_BD09, MD_CRS_WGS84, k->bd_lon, k->bd_lat, &lon, &lat);
        assert_close(lon, k->wgs_lon, 1e-9);
        md_crs_convert(MD_CRS_WGS84, MD_CRS_WGS84, 1.5, 2.5, &lon, &lat);
        assert_true(lon == 1.5 && lat == 2.5);
    }
}

/* The offsets themselves are hundreds of metres: a test that only did round
 * trips would pass with identity functions. */
static void offsets_are_real(void **state)
{
    (void)state;
    double lon, lat;
    md_gcj02_from_wgs84(116.391, 39.907, &lon, &lat);
    double gcj_shift = md_geod_distance(116.391, 39.907, lon, lat);
    assert_true(gcj_shift > 400.0 && gcj_shift < 700.0);
    md_bd09_from_gcj02(lon, lat, &lon, &lat);
    assert_true(md_geod_distance(116.391, 39.907, lon, lat) > gcj_shift + 500.0);
}

/* Max of the round-trip errors (metres) over a 0.25° grid covering China. */
struct trip_stats {
    double wgs_gcj, gcj_wgs, wgs_bd, bd_wgs, gcj_bd, bd_gcj;
};

static void note(double *worst, double lon0, double lat0, double lon1, double lat1)
{
    double d = md_geod_distance(lon0, lat0, lon1, lat1);
    assert_false(isnan(d));
    if (d > *worst)
        *worst = d;
}

static void round_trips_across_china(void **state)
{
    (void)state;
    struct trip_stats worst = {0};
    int points = 0;
    for (double lat = 18.0; lat <= 53.6; lat += 0.25) {
        for (double lon = 73.5; lon <= 135.1; lon += 0.25) {
            double a, b, c, d;
            points++;
            md_gcj02_from_wgs84(lon, lat, &a, &b);
            md_wgs84_from_gcj02(a, b, &c, &d);
            note(&worst.wgs_gcj, lon, lat, c, d);
            /* The grid point read as GCJ-02: inverse, then forward again. */
            md_wgs84_from_gcj02(lon, lat, &a, &b);
            md_gcj02_from_wgs84(a, b, &c, &d);
            note(&worst.gcj_wgs, lon, lat, c, d);
            md_bd09_from_wgs84(lon, lat, &a, &b);
            md_wgs84_from_bd09(a, b, &c, &d);
            note(&worst.wgs_bd, lon, lat, c, d);
            md_wgs84_from_bd09(lon, lat, &a, &b);
            md_bd09_from_wgs84(a, b, &c, &d);
            note(&worst.bd_wgs, lon, lat, c, d);
            md_bd09_from_gcj02(lon, lat, &a, &b);
            md_gcj02_from_bd09(a, b, &c, &d);
            note(&worst.gcj_bd, lon, lat, c, d);
            md_gcj02_from_bd09(lon, lat, &a, &b);
            md_bd09_from_gcj02(a, b, &c, &d);
            note(&worst.bd_gcj, lon, lat, c, d);
        }
    }
    printf("# %d points, worst round trips (m): wgs>gcj>wgs %.2e gcj>wgs>gcj %.2e "
           "wgs>bd>wgs %.2e bd>wgs>bd %.2e gcj>bd>gcj %.2e bd>gcj>bd %.2e\n",
           points, worst.wgs_gcj, worst.gcj_wgs, worst.wgs_bd, worst.bd_wgs, worst.gcj_bd,
           worst.bd_gcj);
    assert_true(points > 30000);
    const double one_cm = 0.01;
    assert_true(worst.wgs_gcj < one_cm);
    assert_true(worst.gcj_wgs < one_cm);
    assert_true(worst.wgs_bd < one_cm);
    assert_true(worst.bd_wgs < one_cm);
    assert_true(worst.gcj_bd < one_cm);
    assert_true(worst.bd_gcj < one_cm);
}

static void china_box(void **state)
{
    (void)state;
    assert_false(md_out_of_china(116.391, 39.907));
    assert_false(md_out_of_china(72.004, 0.8293)); /* corners are inside */
    assert_false(md_out_of_china(137.8347, 55.8271));
    assert_true(md_out_of_china(72.0039, 30.0));
    assert_true(md_out_of_china(137.8348, 30.0));
    assert_true(md_out_of_china(100.0, 0.8292));
    assert_true(md_out_of_china(100.0, 55.8272));
    assert_true(md_out_of_china(NAN, 30.0));
    assert_true(md_out_of_china(100.0, NAN));
    /* The box is rough: Seoul is "in China" for the formulas, Tokyo is not. */
    assert_false(md_out_of_china(126.978, 37.5665));
    assert_true(md_out_of_china(139.6917, 35.6895));
}

static void outside_china_unchanged(void **state)
{
    (void)state;
    static const double points[][2] = {
        {-0.1276, 51.5072}, {139.6917, 35.6895}, {151.2093, -33.8688}, {0.0, 0.0},
        {-74.006, 40.7128}, {180.0, -90.0},      {72.0, 40.0},         {120.0, 60.0},
    };
    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        double lon = points[i][0], lat = points[i][1], olon, olat;
        md_gcj02_from_wgs84(lon, lat, &olon, &olat);
        assert_true(olon == lon && olat == lat);
        md_wgs84_from_gcj02(lon, lat, &olon, &olat);
        assert_true(olon == lon && olat == lat);
        md_crs_to_wgs84(MD_CRS_GCJ02, lon, lat, &olon, &olat);
        assert_true(olon == lon && olat == lat);
        /* BD-09's own step applies everywhere (as in gcoord): WGS84 -> BD-09
         * outside China is just GCJ-02 -> BD-09 of the same numbers. */
        double blon, blat, glon, glat;
        md_bd09_from_wgs84(lon, lat, &blon, &blat);
        md_bd09_from_gcj02(lon, lat, &glon, &glat);
        assert_true(blon == glon && blat == glat);
    }
    /* London in BD-09: 0.0065° east, 0.006° north, plus the perturbation,
     * whose 3e-6·cos(lon·x_pi) rad turn about (0°, 0°) moves a point 51.5° out
     * by 1.4e-4° westward. */
    double lon, lat;
    md_bd09_from_wgs84(-0.1276, 51.5072, &lon, &lat);
    assert_close(lon, -0.1276 + 0.0065 - 51.5074 * 3e-6 * cos(-0.1276 * M_PI * 3000.0 / 180.0),
                 1e-6);
    assert_close(lat, 51.5072 + 0.006, 3e-5);
    md_wgs84_from_bd09(lon, lat, &lon, &lat);
    assert_close(lon, -0.1276, 1e-10);
    assert_close(lat, 51.5072, 1e-10);
}

static void nan_propagates(void **state)
{
    (void)state;
    double lon, lat;
    md_wgs84_from_bd09(NAN, 30.0, &lon, &lat);
    assert_true(isnan(lon) || isnan(lat));
    md_bd09_from_wgs84(100.0, NAN, &lon, &lat);
    assert_true(isnan(lon) || isnan(lat));
}

static void parse_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum md_crs crs;
    } good[] = {
        {"wgs84", MD_CRS_WGS84},     {"WGS84", MD_CRS_WGS84},     {"gcj02", MD_CRS_GCJ02},
        {"GCJ02", MD_CRS_GCJ02},     {"Bd09", MD_CRS_BD09},       {"bd09", MD_CRS_BD09},
        {"epsg:4326", MD_CRS_WGS84}, {"EPSG:4326", MD_CRS_WGS84}, {"4326", MD_CRS_WGS84},
        {"", MD_CRS_WGS84},          {NULL, MD_CRS_WGS84},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        enum md_crs crs = MD_CRS_BD09 + 1;
        assert_int_equal(md_crs_parse(good[i].name, &crs, &ctx), MD_OK);
        assert_int_equal(crs, good[i].crs);
        assert_int_equal(ctx.err, MD_OK);
    }
    assert_string_equal(md_crs_name(MD_CRS_WGS84), "wgs84");
    assert_string_equal(md_crs_name(MD_CRS_GCJ02), "gcj02");
    assert_string_equal(md_crs_name(MD_CRS_BD09), "bd09");
    assert_string_equal(md_crs_name((enum md_crs)7), "unknown");
}

static void parse_bad_names(void **state)
{
    (void)state;
    static const struct {
        const char *name, *message;
    } bad[] = {
        {"gcj-02",
         "unknown crs 'gcj-02': use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean wgs84)"},
        {"bd09mc",
         "unknown crs 'bd09mc': use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean wgs84)"},
        {"EPSG:4490",
         "unknown crs 'EPSG:4490': use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean "
         "wgs84)"},
        {" wgs84",
         "unknown crs ' wgs84': use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean wgs84)"},
        {"wgs84\n", "unknown crs: use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean wgs84)"},
        {"火星坐标", "unknown crs: use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean wgs84)"},
        {"wgs84wgs84wgs84wgs84wgs84wgs84wgs84wgs84wgs84",
         "unknown crs: use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean wgs84)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        enum md_crs crs = MD_CRS_GCJ02;
        assert_int_equal(md_crs_parse(bad[i].name, &crs, &ctx), MD_EINVAL);
        assert_int_equal(ctx.err, MD_EINVAL);
        assert_string_equal(ctx.msg, bad[i].message);
        assert_int_equal(crs, MD_CRS_GCJ02); /* untouched on failure */
    }
    /* A NULL ctx is allowed (quiet probe). */
    enum md_crs crs;
    assert_int_equal(md_crs_parse("nope", &crs, NULL), MD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_conversions),
        cmocka_unit_test(offsets_are_real),
        cmocka_unit_test(round_trips_across_china),
        cmocka_unit_test(china_box),
        cmocka_unit_test(outside_china_unchanged),
        cmocka_unit_test(nan_propagates),
        cmocka_unit_test(parse_names),
        cmocka_unit_test(parse_bad_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
