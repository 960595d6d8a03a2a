/* test_pg_http.c - the same city served from SpatiaLite and from PostGIS
 * gives the same answers over HTTP (issue 13's differential test).
 *
 * `mapd sample` with the same options builds the same city (same ids, same
 * rows) in a SpatiaLite file and, copied under the same ids, in a
 * throwaway PostgreSQL; one `mapd serve` on each. Compared byte for byte:
 * raw-point, cluster, polygon and base-map tiles at many zooms (and the
 * gzip'd form), TileJSON, nearest and within (circle, box, district, both
 * layers, filters, paging cursors), reports and their history, the
 * category lists, a bad request's error. Then one report created on each
 * (same input, same next id) answers the same there too, except for its
 * times and follow-up token (so the tiles under it are not compared: they
 * carry its creation time); so do the citizen's follow-ups ("me too" once
 * per device, a comment under the token, a refused rating and token).
 */
#include "harness.h"
#include "pg_harness.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static struct md_pg_cluster pg;
static struct md_harness lite, post;
static char dir[] = "/tmp/mapd-pghttp-XXXXXX";

#define SAMPLE_OPTS "--facilities 1500 --reports 3000 --seed 21 --anchor 2026-11-01 --quiet"

static int setup(void **state)
{
    (void)state;
    const char *bin = getenv("MAPD_BIN");
    char uri[128], file[300];
    if (!bin || !mkdtemp(dir) || md_pg_cluster_start(&pg, "") != 0)
        return -1;
    snprintf(uri, sizeof(uri), "postgresql://postgres@127.0.0.1:%u/postgres", pg.port);
    snprintf(file, sizeof(file), "%s/city.sqlite", dir);
    if (md_sh("'%s' sample --db '%s' " SAMPLE_OPTS, bin, file) ||
        md_sh("'%s' sample --db '%s' " SAMPLE_OPTS, bin, uri))
        return -1;
    const char *args[] = {"--rate-limit", "0", "--quiet", NULL};
    md_harness_start_on(&lite, file, args);
    md_harness_start_on(&post, uri, args);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int a = md_harness_stop(&lite), b = md_harness_stop(&post);
    md_pg_cluster_stop(&pg);
    md_sh("rm -rf '%s'", dir);
    return a || b;
}

/* GET path from both servers: the same answer (md_pg_same_get). */
static size_t same(const char *path, const char *const *headers)
{
    return md_pg_same_get(&lite, &post, path, headers);
}

static void same_tiles(void **state)
{
    (void)state;
    const char *gz[] = {"Accept-Encoding: gzip", NULL};
    size_t bytes = 0;
    static const struct {
        int z;
        double lon, lat;
    } at[] = {{8, 116.40, 39.91},    {10, 116.40, 39.91}, {11, 116.30, 39.95}, {12, 116.40, 39.91},
              {13, 116.45, 39.92},   {14, 116.40, 39.91}, {15, 116.39, 39.90}, {16, 116.40, 39.91},
              {17, 116.397, 39.909}, {12, 116.65, 40.13}, {14, 116.20, 39.75}};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        double n = (double)(1L << at[i].z), rad = at[i].lat * 3.14159265358979323846 / 180.0;
        long x = (long)((at[i].lon + 180.0) / 360.0 * n);
        long y =
            (long)((1.0 - __builtin_asinh(__builtin_tan(rad)) / 3.14159265358979323846) / 2.0 * n);
        char path[160];
        snprintf(path, sizeof(path),
                 "/tiles/facilities,reports,districts,grids,basemap/%d/%ld/%ld.mvt", at[i].z, x, y);
        bytes += same(path, NULL);
        bytes += same(path, gz);
        snprintf(path, sizeof(path), "/tiles/reports/%d/%ld/%ld.mvt?crs=gcj02", at[i].z, x, y);
        bytes += same(path, NULL);
    }
    assert_true(bytes > 100000);
    same("/tiles/reports.json", NULL);
    same("/tiles/facilities,reports.json?crs=gcj02", NULL);
}

static void same_queries(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/api/v1/nearest?lon=116.4&lat=39.91&k=10",
        "/api/v1/nearest?lon=116.4&lat=39.91&k=5&layer=reports",
        "/api/v1/nearest?lon=116.3&lat=39.95&k=20&layer=reports&status=reported,dispatched",
        "/api/v1/nearest?lon=116.4&lat=39.91&k=3&category=toilet",
        "/api/v1/nearest?lon=116.4&lat=39.91&k=3&crs=gcj02",
        "/api/v1/within?lon=116.4&lat=39.91&radius=500",
        "/api/v1/within?lon=116.4&lat=39.91&radius=1500&layer=reports&limit=7",
        "/api/v1/within?lon=116.4&lat=39.91&radius=1500&layer=reports&limit=7&order=id",
        "/api/v1/within?bbox=116.35,39.88,116.45,39.93&limit=20",
        "/api/v1/within?bbox=116.35,39.88,116.45,39.93&layer=reports&limit=20",
        "/api/v1/within?district=110101&layer=facilities&limit=15",
        "/api/v1/within?lon=116.4&lat=39.91&radius=2000&layer=reports&category=200102",
        "/api/v1/reports/1",
        "/api/v1/reports/17",
        "/api/v1/reports/2999",
        "/api/v1/reports/1/history",
        "/api/v1/reports/17/history",
        "/api/v1/reports/999999",
        "/api/v1/categories",
        "/api/v1/facility-categories",
        "/api/v1/nearest?lon=116.4&lat=91&k=3",
        "/api/v1/within?lon=116.4&lat=39.91&radius=-5",
    };
    size_t bytes = 0;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        bytes += same(paths[i], NULL);
    assert_true(bytes > 20000);
    /* Following a page's cursor: the same next pages. */
    char path[256] = "/api/v1/within?lon=116.4&lat=39.91&radius=1200&layer=reports&limit=25";
    for (int page = 0; page < 4; page++) {
        same(path, NULL);
        struct md_http_res r;
        assert_int_equal(md_http(&lite, "GET", path, NULL, NULL, 0, &r), 0);
        json_t *j = json_loads(r.body, 0, NULL);
        const char *next = json_string_value(json_object_get(j, "next"));
        if (next)
            snprintf(path, sizeof(path),
                     "/api/v1/within?lon=116.4&lat=39.91&radius=1200&layer=reports&limit=25"
                     "&cursor=%s",
                     next);
        json_decref(j);
        md_http_res_free(&r);
        if (!next)
            break;
    }
}

/* The created report's JSON without what the clock and chance decide. */
static char *created_core(const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    json_t *r = json_object_get(j, "report") ? json_object_get(j, "report") : j;
    static const char *const drop[] = {"created_at", "updated_at", "token", "expected_at"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        json_object_del(r, drop[i]);
        json_object_del(j, drop[i]);
    }
    char *s = json_dumps(j, JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

static void same_create(void **state)
{
    (void)state;
    const char *body = "{\"category\":\"200102\",\"lon\":116.3912345,\"lat\":39.9067891,"
                       "\"description\":\"differential\",\"address\":\"test\"}";
    struct md_http_res a, b;
    assert_int_equal(md_http(&lite, "POST", "/api/v1/reports", NULL, body, strlen(body), &a), 0);
    assert_int_equal(md_http(&post, "POST", "/api/v1/reports", NULL, body, strlen(body), &b), 0);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    char *ca = created_core(a.body), *cb = created_core(b.body);
    assert_string_equal(ca, cb);
    free(ca);
    free(cb);
    md_http_res_free(&a);
    md_http_res_free(&b);
}

/* POST body (JSON) to path on both; the same status and, with the times
 * and tokens taken out, the same answer. Returns the SQLite answer. */
static char *same_post(const char *path_lite, const char *path_post, const char *body_lite,
                       const char *body_post, long want)
{
    const char *json[] = {"Content-Type: application/json", NULL};
    struct md_http_res a, b;
    assert_int_equal(md_http(&lite, "POST", path_lite, json, body_lite, strlen(body_lite), &a), 0);
    assert_int_equal(md_http(&post, "POST", path_post, json, body_post, strlen(body_post), &b), 0);
    if (a.status != want || b.status != want)
        fail_msg("%s: sqlite %ld %.200s / postgresql %ld %.200s", path_lite, a.status, a.body,
                 b.status, b.body);
    char *ca = created_core(a.body), *cb = created_core(b.body);
    assert_string_equal(ca, cb);
    free(cb);
    char *out = strdup(a.body);
    free(ca);
    md_http_res_free(&a);
    md_http_res_free(&b);
    return out;
}

static char *json_str(const char *body, const char *key)
{
    json_t *j = json_loads(body, 0, NULL);
    const char *v = json_string_value(json_object_get(j, key));
    char *out = v ? strdup(v) : NULL;
    json_decref(j);
    return out;
}

/* The citizen's follow-ups on both backends: "me too" (once per device),
 * a comment under the follow-up token, a refused rating, a refused token;
 * the same answers and the same history. */
static void same_follow_ups(void **state)
{
    (void)state;
    const char *body = "{\"category\":\"200101\",\"lon\":116.4012345,\"lat\":39.9123456}";
    char *a = same_post("/api/v1/reports", "/api/v1/reports", body, body, 201);
    json_t *j = json_loads(a, 0, NULL);
    long long id = (long long)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char *tok_lite = json_str(a, "token");
    free(a);
    /* Each server's own follow-up token (they are random). */
    struct md_http_res r;
    char path[96], tb_lite[128], tb_post[128];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld", id);
    assert_int_equal(md_http(&post, "GET", path, NULL, NULL, 0, &r), 0);
    md_http_res_free(&r);
    /* The PostgreSQL token: read from its database. */
    PGconn *c = md_pg_connect(pg.conninfo);
    char q[96];
    snprintf(q, sizeof(q), "SELECT token FROM reports WHERE id = %lld", id);
    PGresult *res = PQexec(c, q);
    assert_int_equal(PQntuples(res), 1);
    char *tok_post = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);

    const char *me = "{\"device\":\"0123456789abcdef0123\"}";
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/supporters", id);
    free(same_post(path, path, me, me, 201));
    free(same_post(path, path, me, me, 409));
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/comments", id);
    snprintf(tb_lite, sizeof(tb_lite), "{\"token\":\"%s\",\"text\":\"still there\"}", tok_lite);
    snprintf(tb_post, sizeof(tb_post), "{\"token\":\"%s\",\"text\":\"still there\"}", tok_post);
    free(same_post(path, path, tb_lite, tb_post, 201));
    free(same_post(path, path, "{\"token\":\"00000000000000000000000000000000\",\"text\":\"x\"}",
                   "{\"token\":\"00000000000000000000000000000000\",\"text\":\"x\"}", 403));
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/rating", id);
    snprintf(tb_lite, sizeof(tb_lite), "{\"token\":\"%s\",\"score\":4}", tok_lite);
    snprintf(tb_post, sizeof(tb_post), "{\"token\":\"%s\",\"score\":4}", tok_post);
    free(same_post(path, path, tb_lite, tb_post, 409));
    free(tok_lite);
    free(tok_post);
    /* The history (its times are each server's) and the supporters in the report. */
    snprintf(path, sizeof(path), "/api/v1/reports/%lld", id);
    struct md_http_res ra, rb;
    assert_int_equal(md_http(&lite, "GET", path, NULL, NULL, 0, &ra), 0);
    assert_int_equal(md_http(&post, "GET", path, NULL, NULL, 0, &rb), 0);
    char *ca = created_core(ra.body), *cb = created_core(rb.body);
    assert_string_equal(ca, cb);
    assert_non_null(strstr(ca, "\"supporters\": 1"));
    free(ca);
    free(cb);
    md_http_res_free(&ra);
    md_http_res_free(&rb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_tiles),
        cmocka_unit_test(same_queries),
        cmocka_unit_test(same_create),
        cmocka_unit_test(same_follow_ups),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
