/* OGC API - Features - Part 1: Core (OGC 17-069r4) at /ogc, tested from the
 * standard's requirement list (each test names the requirements it covers).
 * Counts are checked against SQL on the server's own database file, with
 * SpatiaLite for geometry predicates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>
#include <spatialite.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct md_harness H;
static sqlite3 *db;
static void *splite;

#define CONF_CORE "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
#define CONF_GEOJSON "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"

static int setup(void **state)
{
    (void)state;
    md_harness_start(&H, NULL);
    assert_int_equal(sqlite3_open_v2(H.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    splite = spatialite_alloc_connection();
    spatialite_init_ex(db, splite, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sqlite3_close(db);
    spatialite_cleanup_ex(splite);
    return md_harness_stop(&H) == 0 ? 0 : -1;
}

static int64_t sql_int(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

/* GET path (or absolute URL on the server); checks status and content type prefix. */
static json_t *get(const char *path, long want, const char *want_type)
{
    struct md_http_res r;
    if (strncmp(path, "http://", 7) == 0)
        path = strchr(path + 7, '/');
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    if (r.status != want)
        fail_msg("GET %s: status %ld, want %ld: %.300s", path, r.status, want, r.body);
    char type[256] = "";
    md_http_header(&r, "Content-Type", type, sizeof(type));
    if (want_type && strncmp(type, want_type, strlen(want_type)) != 0)
        fail_msg("GET %s: Content-Type '%s', want '%s'", path, type, want_type);
    json_t *j = json_loads(r.body, 0, NULL);
    if (!j)
        fail_msg("GET %s: not JSON: %.200s", path, r.body);
    md_http_res_free(&r);
    return j;
}

static json_t *link_rel(json_t *obj, const char *rel)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(obj, "links"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "rel")), rel) == 0)
            return l;
    }
    return NULL;
}

/* numberMatched when the server counted it (it is optional: only where cheap),
 * else the matches counted by walking the next links from the page's self
 * link at limit=10000. */
static int64_t matched(json_t *j)
{
    json_t *n = json_object_get(j, "numberMatched");
    if (n)
        return json_integer_value(n);
    const char *self = json_string_value(json_object_get(link_rel(j, "self"), "href"));
    assert_non_null(self);
    char url[4096] = "";
    const char *q = strchr(self, '?');
    size_t base = q ? (size_t)(q - self) : strlen(self);
    snprintf(url, sizeof(url), "%.*s?limit=10000", (int)base, self);
    for (const char *p = q; p && *p;) { /* keep every parameter but limit */
        const char *end = strchr(p + 1, '&');
        size_t len = end ? (size_t)(end - p - 1) : strlen(p + 1);
        if (strncmp(p + 1, "limit=", 6) != 0)
            snprintf(url + strlen(url), sizeof(url) - strlen(url), "&%.*s", (int)len, p + 1);
        p = end;
    }
    int64_t total = 0;
    char *next = strdup(url);
    while (next) {
        json_t *page = get(next, 200, "application/geo+json");
        free(next);
        next = NULL;
        total += json_integer_value(json_object_get(page, "numberReturned"));
        json_t *l = link_rel(page, "next");
        if (l)
            next = strdup(json_string_value(json_object_get(l, "href")));
        json_decref(page);
    }
    return total;
}

static void assert_links_well_formed(json_t *obj)
{
    size_t i;
    json_t *l;
    assert_true(json_array_size(json_object_get(obj, "links")) > 0);
    json_array_foreach(json_object_get(obj, "links"), i, l)
    {
        assert_non_null(json_string_value(json_object_get(l, "rel")));
        assert_non_null(json_string_value(json_object_get(l, "type")));
        const char *href = json_string_value(json_object_get(l, "href"));
        assert_non_null(href);
        assert_true(strncmp(href, "http://", 7) == 0);
    }
}

/* /req/core/root-op, /req/core/root-success */
static void landing_page_links(void **state)
{
    (void)state;
    json_t *j = get("/ogc", 200, "application/json");
    assert_links_well_formed(j);
    assert_non_null(link_rel(j, "self"));
    json_t *desc = link_rel(j, "service-desc");
    assert_non_null(desc);
    assert_non_null(link_rel(j, "conformance"));
    assert_non_null(link_rel(j, "data"));
    /* /req/core/api-definition-success: the definition is where the link says. */
    json_t *api = get(json_string_value(json_object_get(desc, "href")), 200,
                      "application/vnd.oai.openapi+json;version=3.0");
    assert_true(strncmp(json_string_value(json_object_get(api, "openapi")), "3.0", 3) == 0);
    /* Paths relative to the API root (servers[0].url), where clients look them up. */
    assert_non_null(
        json_object_get(json_object_get(api, "paths"), "/collections/{collectionId}/items"));
    assert_null(
        json_object_get(json_object_get(api, "paths"), "/ogc/collections/{collectionId}/items"));
    const char *server = json_string_value(
        json_object_get(json_array_get(json_object_get(api, "servers"), 0), "url"));
    assert_non_null(server);
    assert_non_null(strstr(server, "/ogc"));
    json_decref(api);
    json_t *slash = get("/ogc/", 200, "application/json");
    json_decref(slash);
    json_decref(j);
}

/* /req/core/conformance-op, /req/core/conformance-success, /req/geojson/definition */
static void conformance_classes(void **state)
{
    (void)state;
    json_t *j = get("/ogc/conformance", 200, "application/json");
    json_t *list = json_object_get(j, "conformsTo");
    bool core = false, geojson = false;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        core = core || strcmp(json_string_value(v), CONF_CORE) == 0;
        geojson = geojson || strcmp(json_string_value(v), CONF_GEOJSON) == 0;
    }
    assert_true(core && geojson);
    json_decref(j);
}

/* /req/core/fc-md-op, fc-md-success, fc-md-links, fc-md-items, fc-md-extent, sfc-md-success */
static void collections_metadata(void **state)
{
    (void)state;
    json_t *j = get("/ogc/collections", 200, "application/json");
    assert_links_well_formed(j);
    assert_non_null(link_rel(j, "self"));
    json_t *cols = json_object_get(j, "collections");
    assert_int_equal(json_array_size(cols), 4);
    static const char *const ids[] = {"facilities", "reports", "districts", "grids"};
    for (size_t i = 0; i < 4; i++) {
        json_t *c = json_array_get(cols, i);
        assert_string_equal(json_string_value(json_object_get(c, "id")), ids[i]);
        assert_links_well_formed(c);
        json_t *items = link_rel(c, "items");
        assert_non_null(items);
        assert_string_equal(json_string_value(json_object_get(items, "type")),
                            "application/geo+json");
        json_t *bbox = json_array_get(
            json_object_get(json_object_get(json_object_get(c, "extent"), "spatial"), "bbox"), 0);
        assert_int_equal(json_array_size(bbox), 4);
        assert_true(json_number_value(json_array_get(bbox, 0)) <=
                    json_number_value(json_array_get(bbox, 2)));
        assert_true(json_number_value(json_array_get(bbox, 1)) <=
                    json_number_value(json_array_get(bbox, 3)));
        /* Beijing lies inside every extent. */
        assert_true(json_number_value(json_array_get(bbox, 0)) < 116.4 &&
                    json_number_value(json_array_get(bbox, 2)) > 116.4);
        /* /req/core/sfc-md-success: the same description on its own. */
        char path[128];
        snprintf(path, sizeof(path), "/ogc/collections/%s", ids[i]);
        json_t *one = get(path, 200, "application/json");
        assert_true(json_equal(one, c));
        json_decref(one);
    }
    json_t *none = get("/ogc/collections/nope", 404, "application/json");
    json_decref(none);
    json_decref(j);
}

/* /req/core/fc-op, fc-response, fc-limit-definition, fc-limit-response-1/2,
 * fc-numberMatched, fc-numberReturned, fc-timeStamp, /req/geojson/content */
static void items_response_and_limit(void **state)
{
    (void)state;
    json_t *j = get("/ogc/collections/reports/items", 200, "application/geo+json");
    assert_string_equal(json_string_value(json_object_get(j, "type")), "FeatureCollection");
    assert_int_equal(json_array_size(json_object_get(j, "features")), 10); /* default limit */
    assert_int_equal(json_integer_value(json_object_get(j, "numberReturned")), 10);
    assert_int_equal(matched(j), sql_int("SELECT count(*) FROM reports"));
    assert_non_null(json_string_value(json_object_get(j, "timeStamp")));
    assert_links_well_formed(j);
    assert_non_null(link_rel(j, "self"));
    assert_non_null(link_rel(j, "next"));
    assert_null(link_rel(j, "prev"));
    json_t *f = json_array_get(json_object_get(j, "features"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "type")), "Feature");
    assert_string_equal(json_string_value(json_object_get(json_object_get(f, "geometry"), "type")),
                        "Point");
    /* Public fields only: no follow-up token, no contact. */
    assert_null(json_object_get(json_object_get(f, "properties"), "token"));
    assert_null(json_object_get(json_object_get(f, "properties"), "phone"));
    json_decref(j);

    /* A limit above the maximum is served as the maximum (/per/core/limit-response). */
    j = get("/ogc/collections/reports/items?limit=20000", 200, "application/geo+json");
    assert_int_equal(json_integer_value(json_object_get(j, "numberReturned")), 10000);
    assert_int_equal(json_array_size(json_object_get(j, "features")), 10000);
    json_decref(j);
}

/* Paging: next links walk every matching item exactly once (fc-links, fc-rel-type). */
static void paging_with_next_links(void **state)
{
    (void)state;
    const char *bbox = "116.30,39.85,116.50,39.98";
    int64_t want = sql_int("SELECT count(*) FROM facilities WHERE lon BETWEEN 116.30 AND 116.50 AND"
                           " lat BETWEEN 39.85 AND 39.98");
    assert_true(want > 1000);
    char path[512];
    snprintf(path, sizeof(path), "/ogc/collections/facilities/items?bbox=%s&limit=250", bbox);
    char *url = strdup(path);
    int64_t seen = 0, last_id = 0;
    int pages = 0;
    while (url) {
        json_t *j = get(url, 200, "application/geo+json");
        free(url);
        url = NULL;
        if (json_object_get(j, "numberMatched"))
            assert_int_equal(json_integer_value(json_object_get(j, "numberMatched")), want);
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(j, "features"), i, f)
        {
            int64_t id = json_integer_value(json_object_get(f, "id"));
            assert_true(id > last_id); /* ordered, no repeats */
            last_id = id;
            seen++;
        }
        if (pages > 0) /* keyset pages: an opaque cursor, no offset */
            assert_null(
                strstr(json_string_value(json_object_get(link_rel(j, "self"), "href")), "offset="));
        json_t *next = link_rel(j, "next");
        if (next)
            url = strdup(json_string_value(json_object_get(next, "href")));
        pages++;
        json_decref(j);
    }
    assert_int_equal(seen, want);
    assert_int_equal(pages, (want + 249) / 250);
}

/* /req/core/fc-bbox-definition, fc-bbox-response */
static void bbox_semantics(void **state)
{
    (void)state;
    /* Points on the edge are inside. */
    double lon = 0, lat = 0;
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT lon, lat FROM facilities WHERE id = 77", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    lon = sqlite3_column_double(st, 0);
    lat = sqlite3_column_double(st, 1);
    sqlite3_finalize(st);
    char path[512];
    snprintf(path, sizeof(path),
             "/ogc/collections/facilities/items?bbox=%.6f,%.6f,%.6f,%.6f&limit=10000", lon, lat,
             lon + 0.02, lat + 0.02);
    json_t *j = get(path, 200, "application/geo+json");
    assert_int_equal(
        matched(j),
        sql_int("SELECT count(*) FROM facilities WHERE lon BETWEEN %.6f AND %.6f AND lat"
                " BETWEEN %.6f AND %.6f",
                lon, lon + 0.02, lat, lat + 0.02));
    json_t *first = json_array_get(json_object_get(j, "features"), 0);
    assert_non_null(first);
    json_decref(j);

    /* Six numbers (with heights) select the same as four. */
    json_t *a = get("/ogc/collections/reports/items?bbox=116.3,39.8,116.5,40.0", 200, NULL);
    json_t *b = get("/ogc/collections/reports/items?bbox=116.3,39.8,-10,116.5,40.0,100", 200, NULL);
    assert_int_equal(matched(a), matched(b));
    json_decref(a);
    json_decref(b);

    /* A box crossing the antimeridian is valid (and holds none of Beijing). */
    j = get("/ogc/collections/facilities/items?bbox=170,30,-170,45", 200, NULL);
    assert_int_equal(matched(j), 0);
    json_decref(j);

    /* Polygons: every district whose area intersects the box (SpatiaLite decides). */
    static const char *const boxes[] = {"116.38,39.90,116.42,39.93", "116.0,39.6,116.9,40.3",
                                        "116.6,40.2,116.61,40.21", "115.0,39.0,115.1,39.1"};
    for (size_t i = 0; i < 4; i++) {
        double x0, y0, x1, y1;
        sscanf(boxes[i], "%lf,%lf,%lf,%lf", &x0, &y0, &x1, &y1);
        snprintf(path, sizeof(path), "/ogc/collections/districts/items?bbox=%s&limit=100",
                 boxes[i]);
        j = get(path, 200, "application/geo+json");
        assert_int_equal(matched(j),
                         sql_int("SELECT count(*) FROM districts WHERE ST_Intersects(geom,"
                                 " BuildMbr(%f, %f, %f, %f, 4326)) = 1",
                                 x0, y0, x1, y1));
        json_decref(j);
        snprintf(path, sizeof(path), "/ogc/collections/grids/items?bbox=%s&limit=10", boxes[i]);
        j = get(path, 200, "application/geo+json");
        assert_int_equal(matched(j), sql_int("SELECT count(*) FROM grids WHERE ST_Intersects(geom,"
                                             " BuildMbr(%f, %f, %f, %f, 4326)) = 1",
                                             x0, y0, x1, y1));
        json_decref(j);
    }
}

/* /req/core/fc-time-definition, fc-time-response */
static void datetime_instants_and_intervals(void **state)
{
    (void)state;
    int64_t t = sql_int("SELECT created_at FROM reports WHERE id = 1234");
    char path[512], iso[64];
    /* An instant: the reports created at that second. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', ?1, 'unixepoch')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, t);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(iso, sizeof(iso), "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    snprintf(path, sizeof(path), "/ogc/collections/reports/items?datetime=%s&limit=100", iso);
    json_t *j = get(path, 200, "application/geo+json");
    assert_int_equal(matched(j),
                     sql_int("SELECT count(*) FROM reports WHERE created_at = %lld", (long long)t));
    bool found = false;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(j, "features"), i, f) found =
        found || json_integer_value(json_object_get(f, "id")) == 1234;
    assert_true(found);
    json_decref(j);

    /* Closed interval, in the city's offset. 2026-06-01T00:00:00+08:00 = 1780243200. */
    j = get("/ogc/collections/reports/items?datetime=2026-06-01T00:00:00%2B08:00/"
            "2026-07-01T00:00:00%2B08:00",
            200, NULL);
    assert_int_equal(
        matched(j),
        sql_int("SELECT count(*) FROM reports WHERE created_at BETWEEN 1780243200 AND 1782835200"));
    json_decref(j);
    /* Open ends, both spellings. */
    j = get("/ogc/collections/reports/items?datetime=../2026-06-01T00:00:00Z", 200, NULL);
    assert_int_equal(matched(j),
                     sql_int("SELECT count(*) FROM reports WHERE created_at <= 1780272000"));
    json_decref(j);
    j = get("/ogc/collections/reports/items?datetime=2026-06-01T00:00:00Z/", 200, NULL);
    assert_int_equal(matched(j),
                     sql_int("SELECT count(*) FROM reports WHERE created_at >= 1780272000"));
    json_decref(j);
    /* A date is the whole day (city time). */
    j = get("/ogc/collections/reports/items?datetime=2026-06-01", 200, NULL);
    assert_int_equal(
        matched(j),
        sql_int("SELECT count(*) FROM reports WHERE created_at BETWEEN 1780243200 AND 1780329599"));
    json_decref(j);
}

/* /rec/core/fc-filters: property filters */
static void property_filters(void **state)
{
    (void)state;
    json_t *j = get("/ogc/collections/reports/items?service_code=200101&status=closed", 200, NULL);
    assert_int_equal(
        matched(j),
        sql_int(
            "SELECT count(*) FROM reports WHERE service_code = '200101' AND status = 'closed'"));
    json_decref(j);
    j = get("/ogc/collections/facilities/items?category=toilet&district_code=110105", 200, NULL);
    assert_int_equal(matched(j), sql_int("SELECT count(*) FROM facilities WHERE category = "
                                         "'toilet' AND district_code = '110105'"));
    json_decref(j);
    j = get("/ogc/collections/grids/items?district_code=110101", 200, NULL);
    assert_int_equal(matched(j),
                     sql_int("SELECT count(*) FROM grids WHERE district_code = '110101'"));
    json_decref(j);
}

/* /req/core/f-op, f-success, f-links; 404 for an unknown feature */
static void single_feature(void **state)
{
    (void)state;
    json_t *j = get("/ogc/collections/facilities/items/42", 200, "application/geo+json");
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 42);
    assert_links_well_formed(j);
    assert_non_null(link_rel(j, "self"));
    assert_non_null(link_rel(j, "collection"));
    json_decref(j);
    j = get("/ogc/collections/districts/items/110105", 200, "application/geo+json");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "110105");
    const char *type = json_string_value(json_object_get(json_object_get(j, "geometry"), "type"));
    assert_true(strcmp(type, "MultiPolygon") == 0 || strcmp(type, "Polygon") == 0);
    json_decref(j);
    json_decref(get("/ogc/collections/facilities/items/99999999", 404, NULL));
    json_decref(get("/ogc/collections/facilities/items/abc", 404, NULL));
    json_decref(get("/ogc/collections/reports/items/1?token=x", 400, NULL));
}

/* /req/core/query-param-unknown, /req/core/query-param-invalid */
static void invalid_parameters_are_400(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "/ogc/collections/reports/items?foo=1",
        "/ogc/collections/reports/items?limit=0",
        "/ogc/collections/reports/items?limit=abc",
        "/ogc/collections/reports/items?offset=-1",
        "/ogc/collections/reports/items?bbox=1,2,3",
        "/ogc/collections/reports/items?bbox=116,40,117,39",
        "/ogc/collections/reports/items?bbox=116,39,200,40",
        "/ogc/collections/reports/items?datetime=yesterday",
        "/ogc/collections/reports/items?datetime=2026-02-01/2026-01-01",
        "/ogc/collections/reports/items?crs=mars",
        "/ogc/collections/reports/items?category=200101", /* a facilities property */
        "/ogc/conformance?limit=5",
        "/ogc?f=xml",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = get(bad[i], 400, "application/json");
        assert_non_null(json_object_get(json_object_get(j, "error"), "message"));
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(landing_page_links),
        cmocka_unit_test(conformance_classes),
        cmocka_unit_test(collections_metadata),
        cmocka_unit_test(items_response_and_limit),
        cmocka_unit_test(paging_with_next_links),
        cmocka_unit_test(bbox_semantics),
        cmocka_unit_test(datetime_instants_and_intervals),
        cmocka_unit_test(property_filters),
        cmocka_unit_test(single_feature),
        cmocka_unit_test(invalid_parameters_are_400),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
