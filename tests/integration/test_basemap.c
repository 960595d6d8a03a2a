/* The base map: the sample's synthetic one in tiles; `mapd import --layer
 * basemap` of a small hand-written OSM file (tests/integration/data/
 * small-city.osm) while the server runs, its tiles decoded by GDAL's MVT
 * driver and counted per zoom (the generalisation: which classes at which
 * zoom); a re-import of the same file invalidates no cached tile, a changed
 * street only the tiles it touches; TileJSON's centre at the data's centre
 * of mass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tile_math.h"

static struct md_harness H;

static int setup(void **state)
{
    (void)state;
    GDALAllRegister();
    md_harness_start(&H, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    GDALDestroyDriverManager();
    return md_harness_stop(&H) == 0 ? 0 : -1;
}

#define MAX_IDS 4096

/* Feature ids of layer "basemap" seen over several tiles, with a few fields. */
struct seen {
    long long ids[MAX_IDS];
    int n;
    int invalid;
    char names[8192]; /* "|kind:class:name:name_en" per new id */
};

static void add_feature(struct seen *s, OGRFeatureH f)
{
    long long id = OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "mvt_id"));
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    if (!g || !OGR_G_IsValid(g))
        s->invalid++;
    for (int i = 0; i < s->n; i++) {
        if (s->ids[i] == id)
            return;
    }
    assert_true(s->n < MAX_IDS);
    s->ids[s->n++] = id;
    const char *fields[4] = {"kind", "class", "name", "name_en"};
    size_t len = strlen(s->names);
    snprintf(s->names + len, sizeof(s->names) - len, "|");
    for (int i = 0; i < 4; i++) {
        int k = OGR_F_GetFieldIndex(f, fields[i]);
        len = strlen(s->names);
        snprintf(s->names + len, sizeof(s->names) - len, "%s%s", i ? ":" : "",
                 k >= 0 && OGR_F_IsFieldSetAndNotNull(f, k) ? OGR_F_GetFieldAsString(f, k) : "");
    }
}

static void gdal_decode(const struct md_http_res *r, struct md_tile_id t, struct seen *s)
{
    char path[128], opt[3][32];
    snprintf(path, sizeof(path), "/vsimem/basemap_%u_%u_%u.mvt", t.z, t.x, t.y);
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)r->body, (vsi_l_offset)r->len, FALSE);
    VSIFCloseL(f);
    snprintf(opt[0], sizeof(opt[0]), "Z=%u", t.z);
    snprintf(opt[1], sizeof(opt[1]), "X=%u", t.x);
    snprintf(opt[2], sizeof(opt[2]), "Y=%u", t.y);
    const char *const open_opts[] = {opt[0], opt[1], opt[2], "CLIP=NO", NULL};
    const char *const drivers[] = {"MVT", NULL};
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, drivers, open_opts, NULL);
    if (!ds)
        fail_msg("GDAL could not open tile %u/%u/%u (%zu bytes)", t.z, t.x, t.y, r->len);
    OGRLayerH layer = GDALDatasetGetLayerByName(ds, "basemap");
    OGRFeatureH feat;
    if (layer) {
        OGR_L_ResetReading(layer);
        while ((feat = OGR_L_GetNextFeature(layer))) {
            add_feature(s, feat);
            OGR_F_Destroy(feat);
        }
    }
    GDALClose(ds);
    VSIUnlink(path);
}

static long fetch(struct md_tile_id t, struct md_http_res *r)
{
    char path[256];
    snprintf(path, sizeof(path), "/tiles/basemap/%u/%u/%u.mvt", t.z, t.x, t.y);
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, r), 0);
    return r->status;
}

/* Every basemap feature of the tiles at zoom z covering the lon/lat box. */
static void collect(uint32_t z, struct md_bbox box, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    uint32_t x0, y0, x1, y1;
    md_tile_range_covering(z, &box, 4096, 0, &x0, &y0, &x1, &y1);
    for (uint32_t x = x0; x <= x1; x++) {
        for (uint32_t y = y0; y <= y1; y++) {
            struct md_http_res r;
            struct md_tile_id t = {z, x, y};
            long st = fetch(t, &r);
            assert_true(st == 200 || st == 204);
            if (st == 200)
                gdal_decode(&r, t, s);
            md_http_res_free(&r);
        }
    }
}

static const struct md_bbox core = {116.36, 39.87, 116.44, 39.95};
static const struct md_bbox small_city = {116.385, 39.895, 116.415, 39.922};

static void sample_basemap_in_tiles(void **state)
{
    (void)state;
    struct seen *s = calloc(1, sizeof(*s));
    collect(12, core, s);
    assert_int_equal(s->invalid, 0);
    assert_non_null(strstr(s->names, "road:trunk:二环路:2nd Ring Road"));
    assert_non_null(strstr(s->names, "road:primary:长安街:Chang'an Avenue"));
    assert_non_null(strstr(s->names, "water:lake:"));
    assert_null(strstr(s->names, "building:"));        /* buildings from z14 */
    assert_null(strstr(s->names, "road:residential")); /* streets from z13 */
    collect(15, (struct md_bbox){116.41, 39.92, 116.42, 39.925}, s);
    assert_non_null(strstr(s->names, "building:building"));
    assert_non_null(strstr(s->names, "road:residential:"));
    free(s);
}

static void tilejson_centre_is_the_dense_core(void **state)
{
    (void)state;
    struct md_http_res r;
    assert_int_equal(
        md_http(&H, "GET", "/tiles/basemap,districts,facilities.json", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    double b[4], c[2];
    const char *p = strstr(r.body, "\"bounds\":[");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "\"bounds\":[%lf,%lf,%lf,%lf]", &b[0], &b[1], &b[2], &b[3]), 4);
    p = strstr(r.body, "\"center\":[");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "\"center\":[%lf,%lf", &c[0], &c[1]), 2);
    /* The sample's points crowd around 116.40E 39.91N; Beijing's bounds'
     * middle is 40 km north-east of it. */
    double core_lon = 116.40, core_lat = 39.91;
    double mid_lon = (b[0] + b[2]) / 2, mid_lat = (b[1] + b[3]) / 2;
    assert_true(hypot(mid_lon - core_lon, mid_lat - core_lat) > 0.3);
    if (hypot(c[0] - core_lon, c[1] - core_lat) > 0.12)
        fail_msg("center %f,%f is not the dense core", c[0], c[1]);
    assert_non_null(strstr(r.body, "synthetic"));
    assert_non_null(strstr(r.body, "{\"id\":\"basemap\""));
    md_http_res_free(&r);
}

static int import_osm(const char *file, char *log, size_t n)
{
    char out[512];
    snprintf(out, sizeof(out), "%s/import.log", H.dir);
    int rc = md_sh("'%s' import --db '%s' --layer basemap '%s' 2>'%s'", getenv("MAPD_BIN"), H.db,
                   file, out);
    FILE *f = fopen(out, "r");
    size_t got = f ? fread(log, 1, n - 1, f) : 0;
    log[got] = '\0';
    if (f)
        fclose(f);
    return rc;
}

static void cache_state(const struct md_http_res *r, char *out)
{
    if (!md_http_header(r, "X-Tile-Cache", out, 16))
        out[0] = '\0';
}

/* Counts per zoom: primary road and river from z8, rail z9, secondary z10,
 * place, lake and park z11, residential z13, buildings z14, footway z15. */
static void osm_import_generalised_per_zoom(void **state)
{
    (void)state;
    char file[512], log[2048];
    snprintf(file, sizeof(file), "%s/tests/integration/data/small-city.osm",
             getenv("MAPD_SOURCE_DIR"));
    int rc = import_osm(file, log, sizeof(log));
    if (rc != 0)
        fail_msg("import exited %d: %s", rc, log);
    /* The synthetic sample was replaced: its features are gone. */
    assert_non_null(strstr(log, "11 drawn (11 new, 0 changed, 0 unchanged)"));
    assert_non_null(strstr(log, "2 not drawn")); /* the bench and the fence */
    static const struct {
        uint32_t z;
        int n;
    } want[] = {{8, 2}, {9, 3}, {10, 4}, {11, 7}, {12, 7}, {13, 8}, {14, 10}, {16, 11}, {18, 11}};
    struct seen *s = calloc(1, sizeof(*s));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        collect(want[i].z, small_city, s);
        if (s->n != want[i].n)
            fail_msg("z%u: %d features, want %d: %s", want[i].z, s->n, want[i].n, s->names);
        assert_int_equal(s->invalid, 0);
    }
    assert_non_null(strstr(s->names, "road:primary:测试大街:Test Avenue"));
    assert_non_null(strstr(s->names, "waterway:river:测试河:Test River"));
    assert_non_null(strstr(s->names, "water:lake:测试湖:"));
    assert_non_null(strstr(s->names, "green:park:测试公园:"));
    assert_non_null(strstr(s->names, "place:suburb:测试坊:Test Quarter"));
    assert_non_null(strstr(s->names, "rail:rail:测试铁路:"));
    assert_non_null(strstr(s->names, "road:path::"));
    assert_null(strstr(s->names, "二环路"));
    free(s);
}

static void reimport_invalidates_only_what_changed(void **state)
{
    (void)state;
    char file[512], copy[512], log[2048];
    snprintf(file, sizeof(file), "%s/tests/integration/data/small-city.osm",
             getenv("MAPD_SOURCE_DIR"));
    /* Warm two z16 tiles: one on the renamed street (way 102 at 39.91N), one
     * on the untouched river (39.897N, a tile further south). */
    struct md_tile_id on_street, on_river;
    uint32_t x0, y0, x1, y1;
    md_tile_range_covering(16, &(struct md_bbox){116.392, 39.91, 116.392, 39.91}, 4096, 0, &x0, &y0,
                           &x1, &y1);
    on_street = (struct md_tile_id){16, x0, y0};
    md_tile_range_covering(16, &(struct md_bbox){116.392, 39.8965, 116.392, 39.8965}, 4096, 0, &x0,
                           &y0, &x1, &y1);
    on_river = (struct md_tile_id){16, x0, y0};
    assert_true(on_street.y != on_river.y);
    struct md_http_res r;
    char cs[16];
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(fetch(on_street, &r), 200);
        md_http_res_free(&r);
        assert_int_equal(fetch(on_river, &r), 200);
        md_http_res_free(&r);
    }
    assert_int_equal(import_osm(file, log, sizeof(log)), 0);
    assert_non_null(strstr(log, "(0 new, 0 changed, 11 unchanged), 0 deleted"));
    assert_int_equal(fetch(on_street, &r), 200);
    cache_state(&r, cs);
    assert_string_equal(cs, "hit"); /* nothing changed: nothing dropped */
    md_http_res_free(&r);
    snprintf(copy, sizeof(copy), "%s/renamed.osm", H.dir);
    assert_int_equal(md_sh("sed 's/v=\"中街\"/v=\"新中街\"/' '%s' > '%s'", file, copy), 0);
    assert_int_equal(import_osm(copy, log, sizeof(log)), 0);
    assert_non_null(strstr(log, "(0 new, 1 changed, 10 unchanged), 0 deleted"));
    assert_int_equal(fetch(on_street, &r), 200);
    cache_state(&r, cs);
    assert_string_equal(cs, "miss");
    struct seen *s = calloc(1, sizeof(*s));
    gdal_decode(&r, on_street, s);
    assert_non_null(strstr(s->names, "road:secondary:新中街:"));
    md_http_res_free(&r);
    assert_int_equal(fetch(on_river, &r), 200);
    cache_state(&r, cs);
    assert_string_equal(cs, "hit");
    md_http_res_free(&r);
    free(s);
}

static void bad_osm_file(void **state)
{
    (void)state;
    char bad[512], log[2048];
    snprintf(bad, sizeof(bad), "%s/not-osm.osm", H.dir);
    assert_int_equal(md_sh("printf 'hello' > '%s'", bad), 0);
    assert_int_not_equal(import_osm(bad, log, sizeof(log)), 0);
    assert_non_null(strstr(log, "cannot open"));
    assert_int_not_equal(import_osm("/nonexistent/x.osm.pbf", log, sizeof(log)), 0);
    assert_non_null(strstr(log, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sample_basemap_in_tiles),
        cmocka_unit_test(tilejson_centre_is_the_dense_core),
        cmocka_unit_test(osm_import_generalised_per_zoom),
        cmocka_unit_test(reimport_invalidates_only_what_changed),
        cmocka_unit_test(bad_osm_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
