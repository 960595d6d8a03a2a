/* test_reproject.c - imports' CRS -> WGS84: recorded `cs2cs` values, a live
 * comparison with `cs2cs` over Gauss-Kruger zone 20, mapd's own CRS names
 * and PROJ's error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coords.h"
#include "reproject.h"
#include "geo_test.h"

struct recorded {
    double x, y, lon, lat;
};

/* printf "N E\n" | cs2cs -d 12 EPSG:4498 EPSG:4326 (EPSG:4498 is CGCS2000 /
 * 6-degree Gauss-Kruger zone 20: central meridian 117°E, false easting
 * 20,500,000 m with the zone number in front, official axis order
 * northing-easting; mapd takes easting first). */
static const struct recorded zone20[] = {
    {20449420.3, 4419806.1, 116.408459048673, 39.910923909184}, /* Beijing */
    {20300000.0, 3500000.0, 114.892641517288, 31.605166258355},
    {20700000.0, 2500000.0, 118.944645520809, 22.586048338924},
    {20500000.0, 5000000.0, 117.000000000000, 45.135473787606},
    {20350000.5, 3000000.25, 115.487460724116, 27.103495736801},
};

#define CS2CS_TOL 1e-11 /* cs2cs printed 12 decimals */

static void check_recorded(const char *crs_text, const struct recorded *pts, size_t n)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_reproj *r = NULL;
    if (md_reproj_new(NULL, crs_text, &r, &ctx) != MD_OK)
        fail_msg("md_reproj_new(%s): %s", crs_text, ctx.msg);
    for (size_t i = 0; i < n; i++) {
        double lon = 0, lat = 0;
        assert_int_equal(md_reproj_point(r, pts[i].x, pts[i].y, &lon, &lat, &ctx), MD_OK);
        assert_close(lon, pts[i].lon, CS2CS_TOL);
        assert_close(lat, pts[i].lat, CS2CS_TOL);
    }
    md_reproj_free(r);
}

static void gauss_kruger_zone20(void **state)
{
    (void)state;
    size_t n = sizeof(zone20) / sizeof(zone20[0]);
    check_recorded("EPSG:4498", zone20, n);
    check_recorded("urn:ogc:def:crs:EPSG::4498", zone20, n);
    /* The same CRS as a PROJ string (no +type=crs, as people write it) and as WKT. */
    check_recorded("+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=20500000 +y_0=0 +ellps=GRS80 "
                   "+units=m +no_defs",
                   zone20, n);
    check_recorded(
        "PROJCS[\"CGCS2000 / Gauss-Kruger zone 20\",GEOGCS[\"China Geodetic Coordinate System "
        "2000\",DATUM[\"China_2000\",SPHEROID[\"CGCS2000\",6378137,298.257222101,AUTHORITY["
        "\"EPSG\",\"1024\"]],AUTHORITY[\"EPSG\",\"1043\"]],PRIMEM[\"Greenwich\",0,AUTHORITY["
        "\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],"
        "AUTHORITY[\"EPSG\",\"4490\"]],PROJECTION[\"Transverse_Mercator\"],PARAMETER[\"latitude_"
        "of_origin\",0],PARAMETER[\"central_meridian\",117],PARAMETER[\"scale_factor\",1],"
        "PARAMETER[\"false_easting\",20500000],PARAMETER[\"false_northing\",0],UNIT[\"metre\",1,"
        "AUTHORITY[\"EPSG\",\"9001\"]],AUTHORITY[\"EPSG\",\"4498\"]]",
        zone20, n);
}

static void cgcs2000_geographic(void **state)
{
    (void)state;
    /* printf "lat lon\n" | cs2cs -d 12 EPSG:4490 EPSG:4326: CGCS2000 and WGS84
     * agree to a few centimetres, and PROJ applies a null ("ballpark") shift. */
    static const struct recorded pts[] = {
        {116.391, 39.907, 116.391000000000, 39.907000000000},
        {121.4737, 31.2304, 121.473700000000, 31.230400000000},
    };
    check_recorded("EPSG:4490", pts, 2);
    check_recorded("CGCS2000", pts, 2);                              /* exact alias */
    check_recorded("China Geodetic Coordinate System 2000", pts, 2); /* exact name */

    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_reproj *r = NULL;
    assert_int_equal(md_reproj_new(NULL, "EPSG:4490", &r, &ctx), MD_OK);
    assert_non_null(strstr(md_reproj_describe(r), "China Geodetic Coordinate System 2000"));
    double lon, lat;
    assert_int_equal(md_reproj_point(r, 116.391, 91.0, &lon, &lat, &ctx), MD_EINVAL);
    md_reproj_free(r);
}

static void mapd_own_names(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_reproj *r = NULL;
    double lon, lat, want_lon, want_lat;

    assert_int_equal(md_reproj_new(NULL, "gcj02", &r, &ctx), MD_OK);
    assert_string_equal(md_reproj_describe(r), "GCJ-02 to WGS84 (mapd)");
    assert_int_equal(md_reproj_point(r, 116.397240958599, 39.908401108846, &lon, &lat, &ctx),
                     MD_OK);
    assert_close(lon, 116.391, 1e-9);
    assert_close(lat, 39.907, 1e-9);
    assert_int_equal(md_reproj_point(r, 200.0, 39.9, &lon, &lat, &ctx), MD_EINVAL);
    assert_string_equal(ctx.msg, "longitude 200 is outside -180..180");
    md_reproj_free(r);

    md_ctx_init(&ctx);
    assert_int_equal(md_reproj_new(NULL, "BD09", &r, &ctx), MD_OK);
    assert_int_equal(md_reproj_point(r, 116.403614423766, 39.914743900760, &lon, &lat, &ctx),
                     MD_OK);
    md_wgs84_from_bd09(116.403614423766, 39.914743900760, &want_lon, &want_lat);
    assert_true(lon == want_lon && lat == want_lat);
    md_reproj_free(r);

    assert_int_equal(md_reproj_new(NULL, "epsg:4326", &r, &ctx), MD_OK);
    assert_string_equal(md_reproj_describe(r), "WGS84 (no change)");
    assert_int_equal(md_reproj_point(r, 116.391, 39.907, &lon, &lat, &ctx), MD_OK);
    assert_true(lon == 116.391 && lat == 39.907);
    md_reproj_free(r);
}

static void callers_context(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    PJ_CONTEXT *pj = proj_context_create();
    assert_non_null(pj);
    struct md_reproj *r = NULL;
    assert_int_equal(md_reproj_new(pj, "EPSG:4498", &r, &ctx), MD_OK);
    /* Borrowed only during md_reproj_new: the caller may drop it at once. */
    proj_context_destroy(pj);
    double lon, lat;
    assert_int_equal(md_reproj_point(r, zone20[0].x, zone20[0].y, &lon, &lat, &ctx), MD_OK);
    assert_close(lon, zone20[0].lon, CS2CS_TOL);
    md_reproj_free(r);
    md_reproj_free(NULL);
}

static void expect_new_error(const char *crs_text, md_err err, const char *message)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_reproj *r = (struct md_reproj *)&ctx; /* must stay untouched */
    assert_int_equal(md_reproj_new(NULL, crs_text, &r, &ctx), err);
    assert_ptr_equal(r, (struct md_reproj *)&ctx);
    assert_int_equal(ctx.err, err);
    if (strcmp(ctx.msg, message) != 0)
        fail_msg("crs %.60s: got \"%s\", want \"%s\"", crs_text, ctx.msg, message);
}

static void bad_definitions(void **state)
{
    (void)state;
    expect_new_error("EPSG:99999", MD_EINVAL,
                     "crs 'EPSG:99999' is not usable: proj_create: crs not found");
    expect_new_error("+proj=foo", MD_EINVAL,
                     "crs '+proj=foo' is not usable: proj_create: Error 1027 (Invalid value for "
                     "an argument): Unknown projection");
    expect_new_error("+proj=tmerc +lon_0=abc", MD_EINVAL,
                     "crs '+proj=tmerc +lon_0=abc' is not usable: proj_create: invalid value for "
                     "lon_0");
    expect_new_error("PROJCS[broken", MD_EINVAL,
                     "crs 'PROJCS[broken' is not usable: proj_create: missing , or ]");
    /* PROJ on its own would take "foo" for Amersfoort; mapd wants exact names. */
    expect_new_error("foo", MD_EINVAL,
                     "crs 'foo' is not an exact CRS name known to PROJ; use a code such as "
                     "EPSG:4490, WKT or a PROJ string");
    expect_new_error("urn:ogc:def:ellipsoid:EPSG::7019", MD_EINVAL,
                     "'urn:ogc:def:ellipsoid:EPSG::7019' is not a coordinate reference system");
    expect_new_error("", MD_EINVAL, "source crs is empty");
    expect_new_error(NULL, MD_EINVAL, "source crs is empty");

    size_t big = MD_REPROJ_MAX_CRS_LEN + 1;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, 'x', big);
    huge[big] = '\0';
    expect_new_error(huge, MD_EINVAL, "source crs definition is longer than 65536 bytes");
    free(huge);
    /* Bytes that must not reach a JSON body are not echoed. */
    expect_new_error("EPSG:\xff\xfe", MD_EINVAL,
                     "crs '(definition not shown)' is not usable: proj_create: crs not found");
}

static void bad_points(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_reproj *r = NULL;
    assert_int_equal(md_reproj_new(NULL, "EPSG:4498", &r, &ctx), MD_OK);
    double lon = 7.0, lat = 7.0;
    /* An easting without the zone prefix is ~3,000 km west of the zone. */
    assert_int_equal(md_reproj_point(r, 500000.0, 4400000.0, &lon, &lat, &ctx), MD_EINVAL);
    assert_string_equal(ctx.msg, "cannot transform (500000, 4400000) to WGS84: Point outside of "
                                 "projection domain");
    assert_true(lon == 7.0 && lat == 7.0);
    md_ctx_init(&ctx);
    assert_int_equal(md_reproj_point(r, NAN, 4400000.0, &lon, &lat, &ctx), MD_EINVAL);
    assert_string_equal(ctx.msg, "coordinate (nan, 4.4e+06) is not finite");
    /* The transformer still works after errors. */
    md_ctx_init(&ctx);
    assert_int_equal(md_reproj_point(r, zone20[1].x, zone20[1].y, &lon, &lat, &ctx), MD_OK);
    assert_close(lat, zone20[1].lat, CS2CS_TOL);
    md_reproj_free(r);
}

/* Every point of a grid over zone 20 against a live `cs2cs`. */
static void matches_cs2cs_over_zone20(void **state)
{
    (void)state;
    char path[] = "/tmp/mapd_cs2cs_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    int n = 0;
    for (double north = 2000000.0; north <= 5800000.0; north += 200000.0)
        for (double east = 20250000.0; east <= 20750000.0; east += 50000.0, n++)
            fprintf(f, "%.3f %.3f\n", north, east);
    assert_int_equal(fclose(f), 0);

    const char *cs2cs = getenv("MAPD_CS2CS");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s -d 12 EPSG:4498 EPSG:4326 < %s", cs2cs ? cs2cs : "cs2cs", path);
    FILE *out = popen(cmd, "r");
    assert_non_null(out);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_reproj *r = NULL;
    assert_int_equal(md_reproj_new(NULL, "EPSG:4498", &r, &ctx), MD_OK);
    int read = 0;
    double worst = 0.0;
    char line[256];
    for (double north = 2000000.0; north <= 5800000.0; north += 200000.0) {
        for (double east = 20250000.0; east <= 20750000.0; east += 50000.0) {
            assert_non_null(fgets(line, sizeof(line), out));
            double want_lat, want_lon, lon, lat;
            assert_int_equal(sscanf(line, "%lf %lf", &want_lat, &want_lon), 2);
            assert_int_equal(md_reproj_point(r, east, north, &lon, &lat, &ctx), MD_OK);
            worst = fmax(worst, fmax(fabs(lon - want_lon), fabs(lat - want_lat)));
            read++;
        }
    }
    md_reproj_free(r);
    assert_int_equal(pclose(out), 0);
    unlink(path);
    assert_int_equal(read, n);
    printf("# %d points vs cs2cs: worst difference %.3g°\n", read, worst);
    assert_true(worst <= CS2CS_TOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gauss_kruger_zone20),
        cmocka_unit_test(cgcs2000_geographic),
        cmocka_unit_test(mapd_own_names),
        cmocka_unit_test(callers_context),
        cmocka_unit_test(bad_definitions),
        cmocka_unit_test(bad_points),
        cmocka_unit_test(matches_cs2cs_over_zone20),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
