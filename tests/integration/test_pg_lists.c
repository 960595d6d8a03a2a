/* test_pg_lists.c - report lists and Open311 reads from SpatiaLite and
 * from PostGIS give the same answers over HTTP (issue 13).
 *
 * The same city (`mapd sample`, same options) in a SpatiaLite file and a
 * throwaway PostgreSQL, one `mapd serve` on each (test_pg_http.c's set-up).
 * Compared byte for byte: GET /api/v1/reports under every filter (status,
 * category, district, kind, created and updated ranges, bbox in both CRSs,
 * overdue), both orders, offset pages and the `next` keyset cursor
 * followed to the end; Open311 requests.json/.xml with their filters
 * (dates, status open/closed, service_code, lat/long/radius, page,
 * service_request_id, extensions), requests/{id}, services, tokens;
 * /api/v1/stats (groupings, scopes, `at`) and /api/v1/hotspots. Then
 * a report created on PostgreSQL alone shows at the top of its list and
 * nowhere on SpatiaLite's (the comparison can fail), and once created on
 * SpatiaLite too, the lists agree again except for its times.
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

#define SAMPLE_OPTS "--facilities 1500 --reports 3000 --seed 21 --anchor 2026-11-01 --quiet"

static int setup(void **state)
{
    (void)state;
    const char *bin = getenv("MAPD_BIN");
    char uri[128], file[300], dir[] = "/tmp/mapd-pglists-XXXXXX";
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
    return a || b;
}

/* GET path from both servers: the same answer (md_pg_same_get). */
static size_t same(const char *path, const char *const *headers)
{
    return md_pg_same_get(&lite, &post, path, headers);
}

/* GET the first page and follow its `next` cursor for at most `pages`
 * pages, comparing each; returns how many pages were compared. */
static int same_pages(const char *first, int pages)
{
    char path[512];
    snprintf(path, sizeof(path), "%s", first);
    int n = 0;
    for (; n < pages; n++) {
        same(path, NULL);
        struct md_http_res r;
        assert_int_equal(md_http(&lite, "GET", path, NULL, NULL, 0, &r), 0);
        json_t *j = json_loads(r.body, 0, NULL);
        const char *next = json_string_value(json_object_get(j, "next"));
        if (next)
            snprintf(path, sizeof(path), "%s&after=%s", first, next);
        json_decref(j);
        md_http_res_free(&r);
        if (!next)
            return n + 1;
    }
    return n;
}

/* How many reports a list answer holds. */
static size_t count(struct md_harness *h, const char *path, const char *key)
{
    struct md_http_res r;
    assert_int_equal(md_http(h, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    size_t n = json_array_size(key ? json_object_get(j, key) : j);
    json_decref(j);
    md_http_res_free(&r);
    return n;
}

/* PostgreSQL's status for GET path. */
static long status_of(const char *path)
{
    struct md_http_res r;
    assert_int_equal(md_http(&post, "GET", path, NULL, NULL, 0, &r), 0);
    long st = r.status;
    md_http_res_free(&r);
    return st;
}

static void same_lists(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/api/v1/reports",
        "/api/v1/reports?limit=50",
        "/api/v1/reports?limit=50&offset=120",
        "/api/v1/reports?status=reported,dispatched,filed&limit=40",
        "/api/v1/reports?status=closed&limit=40",
        "/api/v1/reports?category=200102&limit=40",
        "/api/v1/reports?category=200102,200501&limit=40&sort=supporters",
        "/api/v1/reports?district=110101&limit=40",
        "/api/v1/reports?kind=problem&limit=20",
        "/api/v1/reports?kind=incident&limit=20",
        "/api/v1/reports?kind=correction&limit=20",
        "/api/v1/reports?from=2026-09-01&to=2026-10-15&limit=60",
        "/api/v1/reports?updated_after=2026-10-01&updated_before=2026-10-31&limit=60",
        "/api/v1/reports?bbox=116.35,39.88,116.45,39.93&limit=80",
        "/api/v1/reports?bbox=116.35,39.88,116.45,39.93&limit=80&crs=gcj02",
        "/api/v1/reports?overdue=true&limit=80",
        "/api/v1/reports?overdue=false&limit=30&sort=supporters",
        "/api/v1/reports?sort=supporters&limit=60",
        "/api/v1/reports?sort=supporters&limit=60&offset=30",
        "/api/v1/reports?sort=newest&status=in_progress,handled&district=110105&limit=25",
        "/api/v1/reports?status=reported&category=200102&district=110101&bbox=116.2,39.8,116.6,40.1"
        "&from=2026-08-01&limit=25",
        "/api/v1/reports?status=nonsense",
        "/api/v1/reports?after=1.2.3",
        "/api/v1/reports?sort=supporters&after=123.4",
    };
    size_t bytes = 0;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        bytes += same(paths[i], NULL);
    assert_true(bytes > 100000);
    for (size_t i = 0; i < 21; i++)
        assert_int_equal(status_of(paths[i]), 200);
    /* The filters select: fewer rows than the whole, and some. */
    size_t all = count(&post, "/api/v1/reports?limit=5000", "reports");
    assert_true(all > 1000);
    size_t some = count(&post, "/api/v1/reports?limit=5000&status=closed", "reports");
    assert_true(some > 0 && some < all);
    some = count(&post, "/api/v1/reports?limit=5000&bbox=116.35,39.88,116.45,39.93", "reports");
    assert_true(some > 0 && some < all);
    /* Keyset pages followed to the end, in both orders, with filters. */
    assert_true(same_pages("/api/v1/reports?limit=250", 40) > 5);
    assert_true(same_pages("/api/v1/reports?limit=250&sort=supporters", 40) > 5);
    assert_true(same_pages("/api/v1/reports?limit=30&status=reported,dispatched,in_progress"
                           "&sort=supporters",
                           40) > 2);
    assert_true(same_pages("/api/v1/reports?limit=20&bbox=116.3,39.85,116.5,39.95", 40) > 2);
}

static void same_open311(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/open311/v2/services.json",
        "/open311/v2/services.xml",
        "/open311/v2/services/200102.json",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        "/open311/v2/requests.json?start_date=2026-09-01T00:00:00Z&end_date=2026-10-30T00:00:00Z",
        "/open311/v2/requests.xml?start_date=2026-09-01T00:00:00Z&end_date=2026-10-30T00:00:00Z"
        "&page_size=50&page=3",
        "/open311/v2/requests.json?start_date=2026-08-01T00:00:00Z&status=open",
        "/open311/v2/requests.json?start_date=2026-08-01T00:00:00Z&status=closed",
        "/open311/v2/requests.json?start_date=2026-08-01T00:00:00Z&status=open,closed"
        "&service_code=200102",
        "/open311/v2/requests.json?start_date=2026-08-01T00:00:00Z&lat=39.91&long=116.4",
        "/open311/v2/requests.json?start_date=2026-08-01T00:00:00Z&lat=39.91&long=116.4"
        "&radius=2500&page_size=20&page=2",
        "/open311/v2/requests.xml?start_date=2026-08-01T00:00:00Z&lat=39.91&long=116.4"
        "&radius=3000&status=open&extensions=true",
        "/open311/v2/requests.json?updated_after=2026-10-01T00:00:00Z&extensions=true",
        "/open311/v2/requests.json?service_request_id=1,17,2999,999999",
        "/open311/v2/requests.xml?service_request_id=5,6,7&extensions=true",
        "/open311/v2/requests/1.json",
        "/open311/v2/requests/17.xml",
        "/open311/v2/requests/999999.json",
        "/open311/v2/requests.json?status=maybe",
        "/open311/v2/tokens/nosuchtoken.json",
    };
    size_t bytes = 0;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        bytes += same(paths[i], NULL);
    assert_true(bytes > 50000);
    for (size_t i = 0; i < 15; i++)
        assert_int_equal(status_of(paths[i]), 200);
    size_t near = count(&post,
                        "/open311/v2/requests.json?start_date=2026-08-01T00:00:00Z&lat=39.91"
                        "&long=116.4&radius=1500",
                        NULL);
    assert_true(near > 0 && near < 1000);
}

static void same_stats(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/api/v1/stats?at=2026-11-15",
        "/api/v1/stats?by=category&at=2026-11-15T12:00:00Z",
        "/api/v1/stats?by=group,status&district=110105&at=2026-11-02T08:30:00Z",
        "/api/v1/stats?by=district,month&from=2026-03-01&to=2026-08-31T23:59:59%2B08:00"
        "&at=2026-11-02T08:30:00Z",
        "/api/v1/stats?by=day&bbox=116.3,39.85,116.5,39.98&category=200102&at=2026-11-02T08:30:00Z",
        "/api/v1/stats?by=week,kind,channel&at=2026-11-02T08:30:00Z",
        "/api/v1/stats?by=category&at=2026-10-20",
        "/api/v1/stats?by=district&status=closed,rejected&group=05&at=2026-11-02T08:30:00Z",
        "/api/v1/stats?by=category&bbox=116.3,39.85,116.5,39.98&crs=gcj02&kind=problem"
        "&at=2026-11-02T08:30:00Z",
        "/api/v1/stats?by=colour",
        "/api/v1/hotspots?shape=square&cell=750&bbox=116.2,39.8,116.6,40.05&limit=100000",
        "/api/v1/hotspots?shape=hex&cell=400&group=05&limit=60",
        "/api/v1/hotspots?shape=hex&cell=300&status=reported,dispatched,in_progress",
    };
    size_t bytes = 0;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        bytes += same(paths[i], NULL);
        if (!strstr(paths[i], "colour"))
            assert_int_equal(status_of(paths[i]), 200);
    }
    assert_true(bytes > 20000);
}

/* A report filed on PostgreSQL alone: its list changes, SpatiaLite's does
 * not; filed on SpatiaLite too, both lists hold it (the same but for the
 * times and token). */
static void lists_see_writes(void **state)
{
    (void)state;
    const char *body = "{\"category\":\"200102\",\"lon\":116.3912345,\"lat\":39.9067891,"
                       "\"description\":\"lists differential\",\"address\":\"test\"}";
    struct md_http_res a, b;
    assert_int_equal(md_http(&post, "POST", "/api/v1/reports", NULL, body, strlen(body), &b), 0);
    assert_int_equal(b.status, 201);
    json_t *jb = json_loads(b.body, 0, NULL);
    json_t *rb = json_object_get(jb, "report") ? json_object_get(jb, "report") : jb;
    const char *token = json_string_value(json_object_get(jb, "token"));
    if (!token)
        token = json_string_value(json_object_get(rb, "token"));
    assert_non_null(token);
    char tpath[200];
    snprintf(tpath, sizeof(tpath), "/open311/v2/tokens/%s.json", token);
    struct md_http_res t;
    assert_int_equal(md_http(&post, "GET", tpath, NULL, NULL, 0, &t), 0);
    assert_int_equal(t.status, 200);
    assert_non_null(strstr(t.body, "service_request_id"));
    md_http_res_free(&t);
    const char *top = "/api/v1/reports?limit=1&category=200102";
    struct md_http_res la, lb;
    assert_int_equal(md_http(&lite, "GET", top, NULL, NULL, 0, &la), 0);
    assert_int_equal(md_http(&post, "GET", top, NULL, NULL, 0, &lb), 0);
    assert_null(strstr(la.body, "lists differential"));
    assert_non_null(strstr(lb.body, "lists differential"));
    md_http_res_free(&la);
    md_http_res_free(&lb);
    assert_int_equal(md_http(&lite, "POST", "/api/v1/reports", NULL, body, strlen(body), &a), 0);
    assert_int_equal(a.status, 201);
    /* Both lists now hold it first, the same but for its times. */
    json_t *ja = json_loads(a.body, 0, NULL);
    json_t *ra = json_object_get(ja, "report") ? json_object_get(ja, "report") : ja;
    assert_int_equal(json_integer_value(json_object_get(ra, "id")),
                     json_integer_value(json_object_get(rb, "id")));
    json_decref(ja);
    json_decref(jb);
    md_http_res_free(&a);
    md_http_res_free(&b);
    /* Older pages than the new report's: identical again. */
    same("/api/v1/reports?limit=40&offset=1&category=200102", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_lists),
        cmocka_unit_test(same_open311),
        cmocka_unit_test(same_stats),
        cmocka_unit_test(lists_see_writes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
