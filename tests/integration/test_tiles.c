/* Vector tiles over real HTTP, decoded by GDAL's MVT driver (an independent
 * decoder), checked against SpatiaLite counts; freshness; bad requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <gdal.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "store.h"
#include "store_int.h"
#include "tile_crs.h"
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

struct decoded {
    int layers;
    int features[4]; /* by md_layer */
    int invalid;
    int clusters;
    long point_count_sum;
    char bad_field[64];
};

static const char *const allowed[4][13] = {
    {"mvt_id", "category", "name", "status", "cluster", "point_count", "point_count_abbreviated",
     "categories", NULL},
    {"mvt_id", "service_code", "status", "kind", "created_at", "overdue", "supporters", "category",
     "cluster", "point_count", "point_count_abbreviated", "categories", NULL},
    {"mvt_id", "code", "name", "name_en", NULL},
    {"mvt_id", "code", "district_code", NULL},
};

static bool field_allowed(int layer, const char *name)
{
    for (int i = 0; allowed[layer][i]; i++) {
        if (strcmp(allowed[layer][i], name) == 0)
            return true;
    }
    return false;
}

/* Decode tile bytes with GDAL (MVT driver, as a /vsimem file). */
static void gdal_decode(const struct md_http_res *r, struct md_tile_id t, struct decoded *d)
{
    memset(d, 0, sizeof(*d));
    char path[128], opt[3][32];
    /* CLIP=NO: keep what lies in the buffer, as clients receive it. */
    snprintf(path, sizeof(path), "/vsimem/tile_%u_%u_%u.mvt", t.z, t.x, t.y);
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
    d->layers = GDALDatasetGetLayerCount(ds);
    for (int i = 0; i < d->layers; i++) {
        OGRLayerH layer = GDALDatasetGetLayer(ds, i);
        const char *lname = OGR_L_GetName(layer);
        /* district_labels: points with the districts' fields, counted with them */
        int li = strcmp(lname, "facilities") == 0        ? 0
                 : strcmp(lname, "reports") == 0         ? 1
                 : strcmp(lname, "districts") == 0       ? 2
                 : strcmp(lname, "district_labels") == 0 ? 2
                                                         : 3;
        assert_true(strcmp(lname, "grids") == 0 || li < 3);
        OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
        for (int fi = 0; fi < OGR_FD_GetFieldCount(defn); fi++) {
            const char *fname = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, fi));
            if (!field_allowed(li, fname))
                snprintf(d->bad_field, sizeof(d->bad_field), "%s.%s", lname, fname);
        }
        int pc = OGR_FD_GetFieldIndex(defn, "point_count");
        OGRFeatureH feat;
        OGR_L_ResetReading(layer);
        while ((feat = OGR_L_GetNextFeature(layer))) {
            d->features[li]++;
            OGRGeometryH g = OGR_F_GetGeometryRef(feat);
            if (!g || !OGR_G_IsValid(g))
                d->invalid++;
            if (pc >= 0 && OGR_F_IsFieldSetAndNotNull(feat, pc)) {
                d->clusters++;
                d->point_count_sum += OGR_F_GetFieldAsInteger64(feat, pc);
            }
            OGR_F_Destroy(feat);
        }
    }
    GDALClose(ds);
    VSIUnlink(path);
}

static long fetch(const char *layers, struct md_tile_id t, struct md_http_res *r)
{
    char path[256];
    snprintf(path, sizeof(path), "/tiles/%s/%u/%u/%u.mvt", layers, t.z, t.x, t.y);
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, r), 0);
    return r->status;
}

static struct md_tile_id tile_at(uint32_t z, double lon, double lat)
{
    struct md_bbox b = {lon, lat, lon, lat};
    uint32_t x0, y0, x1, y1;
    md_tile_range_covering(z, &b, 4096, 0, &x0, &y0, &x1, &y1);
    return (struct md_tile_id){z, x0, y0};
}

/* Reports whose tile-space position falls inside tile t plus its buffer. */
static int sql_count_in_tile(struct md_store *s, const char *table, struct md_tile_id t)
{
    struct md_bbox q;
    md_tile_query_bbox(t, 4096, 64, &q);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT lon, lat FROM %s WHERE lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?",
             table);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(md_store_db(s), sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_double(st, 1, q.minx - 1e-6);
    sqlite3_bind_double(st, 2, q.maxx + 1e-6);
    sqlite3_bind_double(st, 3, q.miny - 1e-6);
    sqlite3_bind_double(st, 4, q.maxy + 1e-6);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double tx, ty;
        md_tile_project(t, 4096, sqlite3_column_double(st, 0), sqlite3_column_double(st, 1), &tx, &ty);
        n += tx >= -64 && tx <= 4160 && ty >= -64 && ty <= 4160;
    }
    sqlite3_finalize(st);
    return n;
}

static struct md_store *open_db(void)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    assert_int_equal(md_store_open(H.db, MD_STORE_READWRITE, &s, &ctx), MD_OK);
    return s;
}

static void counts_match_spatialite_at_unclustered_zooms(void **state)
{
    (void)state;
    struct md_store *s = open_db();
    static const double spots[][2] = {{116.40, 39.91}, {116.32, 39.99}, {116.46, 39.93},
                                      {116.20, 39.90}, {116.65, 40.13}};
    int checked = 0;
    for (uint32_t z = 13; z <= 18; z++) {
        for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
            struct md_tile_id t = tile_at(z, spots[i][0], spots[i][1]);
            struct md_http_res r;
            long st = fetch("facilities,reports", t, &r);
            /* Raw points from z14 (reports) and z13 (facilities); below, clusters. */
            int want_r = z >= 14 ? sql_count_in_tile(s, "reports", t) : 0;
            int want_f = sql_count_in_tile(s, "facilities", t);
            int clusters_r = 0;
            if (want_r + want_f == 0) {
                assert_int_equal(st, 204);
            } else {
                assert_int_equal(st, 200);
                struct decoded d;
                gdal_decode(&r, t, &d);
                if (z < 14) {
                    clusters_r = d.clusters;
                    d.features[1] = 0;
                    d.clusters = 0;
                }
                assert_true(z >= 14 || clusters_r > 0);
                if (d.features[1] != want_r || d.features[0] != want_f)
                    fail_msg("tile %u/%u/%u: reports %d (sql %d), facilities %d (sql %d)", t.z,
                             t.x, t.y, d.features[1], want_r, d.features[0], want_f);
                assert_int_equal(d.invalid, 0);
                assert_int_equal(d.clusters, 0);
                assert_string_equal(d.bad_field, "");
                checked += want_r > 0;
            }
            md_http_res_free(&r);
        }
    }
    assert_true(checked >= 10);
    md_store_close(s);
}

static void clusters_at_low_zoom_hold_every_point(void **state)
{
    (void)state;
    /* z6 tile around Beijing: each report counted once, in some cluster. */
    struct md_tile_id t = tile_at(6, 116.4, 39.9);
    struct md_http_res r;
    assert_int_equal(fetch("reports", t, &r), 200);
    struct decoded d;
    gdal_decode(&r, t, &d);
    assert_true(d.clusters > 0);
    assert_int_equal(d.point_count_sum, 20000);
    assert_string_equal(d.bad_field, "");
    md_http_res_free(&r);
}

static void polygons_are_valid_and_clipped(void **state)
{
    (void)state;
    for (uint32_t z = 5; z <= 14; z += 3) {
        struct md_tile_id t = tile_at(z, 116.40, 39.91);
        struct md_http_res r;
        assert_int_equal(fetch("districts,grids", t, &r), 200);
        struct decoded d;
        gdal_decode(&r, t, &d);
        assert_true(d.features[2] >= 1);
        if (z >= 10)
            assert_true(d.features[3] >= 1);
        else
            assert_int_equal(d.features[3], 0); /* grids start at z10 */
        assert_int_equal(d.invalid, 0);
        md_http_res_free(&r);
    }
}

static void no_private_data_in_tiles(void **state)
{
    (void)state;
    struct md_store *s = open_db();
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(md_store_db(s),
                                        "SELECT c.phone, c.email, r.lon, r.lat, r.token FROM"
                                        " report_contacts c JOIN reports r ON r.id = c.report_id"
                                        " LIMIT 40",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int checked = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *phone = (const char *)sqlite3_column_text(st, 0);
        const char *email = (const char *)sqlite3_column_text(st, 1);
        const char *token = (const char *)sqlite3_column_text(st, 4);
        for (uint32_t z = 14; z <= 18; z += 4) {
            struct md_tile_id t = tile_at(z, sqlite3_column_double(st, 2), sqlite3_column_double(st, 3));
            struct md_http_res r;
            assert_int_equal(fetch("facilities,reports,districts,grids", t, &r), 200);
            assert_null(memmem(r.body, r.len, phone, strlen(phone)));
            assert_null(memmem(r.body, r.len, email, strlen(email)));
            assert_null(memmem(r.body, r.len, token, strlen(token)));
            md_http_res_free(&r);
            checked++;
        }
    }
    sqlite3_finalize(st);
    assert_true(checked >= 40);
    md_store_close(s);
}

static void etag(const struct md_http_res *r, char *out)
{
    assert_true(md_http_header(r, "ETag", out, 64));
}

static void cache_state(const struct md_http_res *r, char *out)
{
    assert_true(md_http_header(r, "X-Tile-Cache", out, 16));
}

static void new_report_is_in_the_next_tile_at_every_zoom(void **state)
{
    (void)state;
    const double lon = 116.3912, lat = 39.9071;
    const uint32_t zooms[] = {6, 12, 18};
    char before[3][64], other_before[64], tmp[64];
    struct decoded d0[3];
    struct md_tile_id far = tile_at(14, 116.65, 40.13);
    struct md_http_res r;
    for (int i = 0; i < 3; i++) {
        struct md_tile_id t = tile_at(zooms[i], lon, lat);
        long st = fetch("reports", t, &r);
        if (st == 200)
            gdal_decode(&r, t, &d0[i]);
        else
            memset(&d0[i], 0, sizeof(d0[i]));
        if (!md_http_header(&r, "ETag", before[i], 64))
            before[i][0] = '\0';
        md_http_res_free(&r);
    }
    fetch("reports", far, &r);
    etag(&r, other_before);
    md_http_res_free(&r);
    /* A write by another process, straight into the database. */
    struct md_store *s = open_db();
    char *err = NULL;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO reports(kind, service_code, district_code, status, channel, created_at,"
             " updated_at, lon, lat, geom) VALUES ('problem', '200102', '110101', 'reported',"
             " 'app', 0, 0, %f, %f, MakePoint(%f, %f, 4326))",
             lon, lat, lon, lat);
    assert_int_equal(sqlite3_exec(md_store_db(s), sql, NULL, NULL, &err), SQLITE_OK);
    md_store_close(s);
    for (int i = 0; i < 3; i++) {
        struct md_tile_id t = tile_at(zooms[i], lon, lat);
        assert_int_equal(fetch("reports", t, &r), 200);
        struct decoded d;
        gdal_decode(&r, t, &d);
        if (zooms[i] < 14) /* clustered: one more in the counts */
            assert_int_equal(d.point_count_sum, d0[i].point_count_sum + 1);
        else
            assert_int_equal(d.features[1], d0[i].features[1] + 1);
        etag(&r, tmp);
        assert_string_not_equal(tmp, before[i]);
        cache_state(&r, tmp);
        assert_string_equal(tmp, "miss");
        md_http_res_free(&r);
    }
    /* A tile elsewhere kept its ETag and stayed cached. */
    fetch("reports", far, &r);
    etag(&r, tmp);
    assert_string_equal(tmp, other_before);
    cache_state(&r, tmp);
    assert_string_equal(tmp, "hit");
    md_http_res_free(&r);
}

static long fetch_gcj02(const char *layers, struct md_tile_id t, struct md_http_res *r)
{
    char path[256];
    snprintf(path, sizeof(path), "/tiles/%s/%u/%u/%u.mvt?crs=gcj02", layers, t.z, t.x, t.y);
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, r), 0);
    return r->status;
}

/* A point written by another process is in the next GCJ-02 tile at its
 * GCJ-02 position at every zoom (one more in the cluster counts below the
 * cluster zoom, one more feature above), while the GCJ-02 tile at its WGS84
 * position - several tiles west at z18 - stays cached. */
static void new_report_is_in_the_next_gcj02_tile_at_every_zoom(void **state)
{
    (void)state;
    const double lon = 116.3712, lat = 39.9271;
    double glon, glat;
    md_gcj02_from_wgs84(lon, lat, &glon, &glat);
    enum { NZ = 19 };
    struct decoded d0[NZ];
    char before[NZ][64], tmp[64], wgs_spot[64];
    struct md_http_res r;
    for (uint32_t z = 0; z < NZ; z++) {
        struct md_tile_id t = tile_at(z, glon, glat);
        if (fetch_gcj02("reports", t, &r) == 200)
            gdal_decode(&r, t, &d0[z]);
        else
            memset(&d0[z], 0, sizeof(d0[z]));
        etag(&r, before[z]);
        md_http_res_free(&r);
    }
    struct md_tile_id at_wgs = tile_at(18, lon, lat);
    assert_true(at_wgs.x + 2 < tile_at(18, glon, glat).x);
    fetch_gcj02("reports", at_wgs, &r);
    etag(&r, wgs_spot);
    md_http_res_free(&r);
    struct md_store *s = open_db();
    char *err = NULL;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO reports(kind, service_code, district_code, status, channel, created_at,"
             " updated_at, lon, lat, geom) VALUES ('problem', '200102', '110102', 'reported',"
             " 'app', 0, 0, %f, %f, MakePoint(%f, %f, 4326))",
             lon, lat, lon, lat);
    assert_int_equal(sqlite3_exec(md_store_db(s), sql, NULL, NULL, &err), SQLITE_OK);
    md_store_close(s);
    for (uint32_t z = 0; z < NZ; z++) {
        struct md_tile_id t = tile_at(z, glon, glat);
        assert_int_equal(fetch_gcj02("reports", t, &r), 200);
        struct decoded d;
        gdal_decode(&r, t, &d);
        if (z < 14)
            assert_int_equal(d.point_count_sum, d0[z].point_count_sum + 1);
        else
            assert_int_equal(d.features[1], d0[z].features[1] + 1);
        etag(&r, tmp);
        assert_string_not_equal(tmp, before[z]);
        cache_state(&r, tmp);
        assert_string_equal(tmp, "miss");
        md_http_res_free(&r);
    }
    fetch_gcj02("reports", at_wgs, &r);
    etag(&r, tmp);
    assert_string_equal(tmp, wgs_spot);
    cache_state(&r, tmp);
    assert_string_equal(tmp, "hit");
    md_http_res_free(&r);
}

static void conditional_and_compressed(void **state)
{
    (void)state;
    struct md_tile_id t = tile_at(14, 116.40, 39.91);
    struct md_http_res r;
    assert_int_equal(fetch("reports", t, &r), 200);
    char tag[64], hdr[96], ct[96], cc[96];
    etag(&r, tag);
    assert_true(md_http_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/vnd.mapbox-vector-tile");
    assert_true(md_http_header(&r, "Cache-Control", cc, sizeof(cc)));
    assert_string_equal(cc, "public, max-age=5");
    md_http_res_free(&r);
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s", tag);
    const char *const h1[] = {hdr, NULL};
    char path[128];
    snprintf(path, sizeof(path), "/tiles/reports/%u/%u/%u.mvt", t.z, t.x, t.y);
    assert_int_equal(md_http(&H, "GET", path, h1, NULL, 0, &r), 0);
    assert_int_equal(r.status, 304);
    md_http_res_free(&r);
    const char *const h2[] = {"Accept-Encoding: gzip", NULL};
    assert_int_equal(md_http(&H, "GET", path, h2, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(md_http_header(&r, "Content-Encoding", ct, sizeof(ct)));
    assert_string_equal(ct, "gzip");
    assert_true((unsigned char)r.body[0] == 0x1f && (unsigned char)r.body[1] == 0x8b);
    md_http_res_free(&r);
    /* Districts are cached long. */
    t = tile_at(8, 116.4, 39.9);
    assert_int_equal(fetch("districts", t, &r), 200);
    assert_true(md_http_header(&r, "Cache-Control", cc, sizeof(cc)));
    assert_string_equal(cc, "public, max-age=86400");
    md_http_res_free(&r);
}

static void empty_tile_is_204(void **state)
{
    (void)state;
    struct md_http_res r;
    struct md_tile_id t = tile_at(10, -70.0, -30.0); /* Chile: no data */
    assert_int_equal(fetch("facilities,reports,districts,grids", t, &r), 204);
    assert_int_equal(r.len, 0);
    md_http_res_free(&r);
}

static void bad_tile_requests(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        long status;
        const char *msg;
    } cases[] = {
        {"/tiles/reports/23/0/0.mvt", 400, "z must be between 0 and 22"},
        {"/tiles/reports/3/8/0.mvt", 400, "x must be between 0 and 7"},
        {"/tiles/reports/3/0/8.mvt", 400, "y must be between 0 and 7"},
        {"/tiles/reports/-1/0/0.mvt", 400, "whole number"},
        {"/tiles/reports/a/0/0.mvt", 400, "whole number"},
        {"/tiles/reports/1/0/0.png", 400, "unsupported tile extension"},
        {"/tiles/reports/1/0/0", 400, "/tiles/{layers}/{z}/{x}/{y}.mvt"},
        {"/tiles/reports/1/0/0/0.mvt", 400, "/tiles/{layers}/{z}/{x}/{y}.mvt"},
        {"/tiles/users/1/0/0.mvt", 400, "unknown layer 'users'"},
        {"/tiles/reports,reports/1/0/0.mvt", 400, "listed twice"},
        {"/tiles/,/1/0/0.mvt", 400, "empty or overlong layer name"},
        {"/tiles/users.json", 400, "unknown layer"},
        {"/tiles/reports", 404, "no such tile resource"},
        {"/tiles/reports/99999999999999999999/0/0.mvt", 400, "whole number"},
        {"/styles/../../etc/passwd", 400, "malformed request path"},
        {"/styles/nope.json", 404, "no style named nope"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct md_http_res r;
        assert_int_equal(md_http(&H, "GET", cases[i].path, NULL, NULL, 0, &r), 0);
        if (r.status != cases[i].status || !strstr(r.body, cases[i].msg) || !strstr(r.body, "\"error\""))
            fail_msg("%s: got %ld %s", cases[i].path, r.status, r.body);
        md_http_res_free(&r);
    }
    struct md_http_res r;
    assert_int_equal(md_http(&H, "POST", "/tiles/reports/1/0/0.mvt", NULL, "x", 1, &r), 0);
    assert_int_equal(r.status, 405);
    md_http_res_free(&r);
    assert_int_equal(md_http(&H, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    md_http_res_free(&r);
}

static void tilejson_and_catalog(void **state)
{
    (void)state;
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", "/tiles/districts,reports.json", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"tilejson\":\"3.0.0\""));
    assert_non_null(strstr(r.body, "/tiles/districts,reports/{z}/{x}/{y}.mvt?v="));
    assert_non_null(strstr(r.body, "\"vector_layers\":[{\"id\":\"districts\""));
    assert_non_null(strstr(r.body, "\"bounds\":[115.4"));
    md_http_res_free(&r);
    assert_int_equal(md_http(&H, "GET", "/tiles", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "/tiles/reports.json"));
    assert_non_null(strstr(r.body, "/styles/mapd.json?crs=gcj02\""));
    assert_non_null(strstr(r.body, "\"crs\":[\"wgs84\",\"gcj02\"]"));
    md_http_res_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_match_spatialite_at_unclustered_zooms),
        cmocka_unit_test(clusters_at_low_zoom_hold_every_point),
        cmocka_unit_test(polygons_are_valid_and_clipped),
        cmocka_unit_test(no_private_data_in_tiles),
        cmocka_unit_test(new_report_is_in_the_next_tile_at_every_zoom),
        cmocka_unit_test(new_report_is_in_the_next_gcj02_tile_at_every_zoom),
        cmocka_unit_test(conditional_and_compressed),
        cmocka_unit_test(empty_tile_is_204),
        cmocka_unit_test(bad_tile_requests),
        cmocka_unit_test(tilejson_and_catalog),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
