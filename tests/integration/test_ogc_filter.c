/* OGC API - Features Part 2 (CRS URIs), Part 3 (queryables, CQL2 text
 * filter, sortby) and Part 5 (schemas) at /ogc, checked against SQL on the
 * server's own file and through GDAL's OAPIF driver. */
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

/* GET path expecting 400; returns the error message (caller frees). */
static char *get_400(const char *path)
{
    json_t *j = get(path, 400, "application/json");
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    assert_non_null(m);
    char *out = strdup(m);
    json_decref(j);
    return out;
}

/* URL-encode a filter into "/ogc/collections/<col>/items?filter=..." */
static void filter_path(char *out, size_t n, const char *col, const char *cql, const char *more)
{
    size_t k = (size_t)snprintf(out, n, "/ogc/collections/%s/items?limit=10000&filter=", col);
    for (const unsigned char *p = (const unsigned char *)cql; *p && k + 4 < n; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            out[k++] = (char)*p;
        else
            k += (size_t)snprintf(out + k, n - k, "%%%02X", *p);
    }
    out[k] = '\0';
    if (more)
        snprintf(out + k, n - k, "%s", more);
}

static int64_t filter_count(const char *col, const char *cql)
{
    char path[4096];
    filter_path(path, sizeof(path), col, cql, NULL);
    json_t *j = get(path, 200, "application/geo+json");
    int64_t n = matched(j);
    json_decref(j);
    return n;
}

/* Part 3: queryables are a JSON Schema per collection, linked from it; typed
 * as the items are (facility_id an integer, times date-time). */
static void queryables_are_json_schema(void **state)
{
    (void)state;
    json_t *col = get("/ogc/collections/reports", 200, "application/json");
    json_t *l = link_rel(col, "http://www.opengis.net/def/rel/ogc/1.0/queryables");
    assert_non_null(l);
    assert_string_equal(json_string_value(json_object_get(col, "temporalProperty")), "created_at");
    json_t *q = get(json_string_value(json_object_get(l, "href")), 200, "application/schema+json");
    assert_string_equal(json_string_value(json_object_get(q, "type")), "object");
    json_t *props = json_object_get(q, "properties");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(props, "facility_id"), "type")),
        "integer");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(props, "closed_at"), "format")),
        "date-time");
    assert_non_null(json_object_get(props, "geometry"));
    assert_null(json_object_get(props, "token")); /* never public */
    json_decref(q);
    /* Part 5: the schema of the properties, with roles. */
    l = link_rel(col, "http://www.opengis.net/def/rel/ogc/1.0/schema");
    assert_non_null(l);
    json_t *sc = get(json_string_value(json_object_get(l, "href")), 200, "application/schema+json");
    props = json_object_get(sc, "properties");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(props, "created_at"), "x-ogc-role")),
        "primary-instant");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(props, "media_urls"), "type")), "array");
    json_decref(sc);
    json_decref(col);
    json_t *conf = get("/ogc/conformance", 200, "application/json");
    char *text = json_dumps(conf, 0);
    assert_non_null(strstr(text, "ogcapi-features-3/1.0/conf/filter"));
    assert_non_null(strstr(text, "cql2/1.0/conf/cql2-text"));
    assert_non_null(strstr(text, "cql2/1.0/conf/advanced-comparison-operators"));
    free(text);
    json_decref(conf);
    /* The API definition lists each queryable of a collection and filter-lang. */
    json_t *api = get("/ogc/api", 200, NULL);
    json_t *params = json_object_get(
        json_object_get(
            json_object_get(json_object_get(api, "paths"), "/collections/reports/items"), "get"),
        "parameters");
    assert_true(json_array_size(params) > 10);
    text = json_dumps(params, 0);
    assert_non_null(strstr(text, "\"facility_id\""));
    free(text);
    json_decref(api);
}

/* CQL2 text on real data, each count against SQL on the same file. */
static void cql2_filters_match_sql(void **state)
{
    (void)state;
    static const struct {
        const char *col, *cql, *sql;
    } cases[] = {
        {"reports", "status = 'closed'", "SELECT count(*) FROM reports WHERE status = 'closed'"},
        {"reports", "status <> 'closed' AND service_code = '200101'",
         "SELECT count(*) FROM reports WHERE status <> 'closed' AND service_code = '200101'"},
        {"reports", "status = 'closed' OR NOT (kind = 'problem')",
         "SELECT count(*) FROM reports WHERE status = 'closed' OR NOT kind = 'problem'"},
        {"reports", "status IN ('filed', 'dispatched')",
         "SELECT count(*) FROM reports WHERE status IN ('filed', 'dispatched')"},
        {"reports", "status NOT IN ('closed')",
         "SELECT count(*) FROM reports WHERE status <> 'closed'"},
        {"reports", "closed_at IS NULL", "SELECT count(*) FROM reports WHERE closed_at IS NULL"},
        {"reports", "facility_id IS NOT NULL AND facility_id > 100",
         "SELECT count(*) FROM reports WHERE facility_id > 100"},
        {"reports", "id BETWEEN 100 AND 250",
         "SELECT count(*) FROM reports WHERE id BETWEEN 100 AND 250"},
        {"reports", "closed_at >= TIMESTAMP('2026-06-01T00:00:00Z')",
         "SELECT count(*) FROM reports WHERE closed_at >= 1780272000"},
        {"reports", "closed_at > '2026-06-01T00:00:00Z'",
         "SELECT count(*) FROM reports WHERE closed_at > 1780272000"},
        {"reports", "created_at = DATE('2026-06-01')", /* a date is its whole day, city time */
         "SELECT count(*) FROM reports WHERE created_at BETWEEN 1780243200 AND 1780329599"},
        {"reports", "T_INTERSECTS(closed_at, INTERVAL('2026-06-01T00:00:00Z', '..'))",
         "SELECT count(*) FROM reports WHERE closed_at >= 1780272000"},
        {"reports", "T_BEFORE(created_at, TIMESTAMP('2026-06-01T00:00:00Z'))",
         "SELECT count(*) FROM reports WHERE created_at < 1780272000"},
        {"facilities", "name LIKE '%便利%'",
         "SELECT count(*) FROM facilities WHERE name GLOB '*便利*'"},
        {"facilities", "category LIKE 'toile_'",
         "SELECT count(*) FROM facilities WHERE category = 'toilet'"},
        {"facilities", "category LIKE 'TOILET'", "SELECT 0"}, /* LIKE is case-sensitive */
        {"facilities", "S_INTERSECTS(geometry, BBOX(116.30, 39.85, 116.50, 39.98))",
         "SELECT count(*) FROM facilities WHERE lon BETWEEN 116.30 AND 116.50 AND lat BETWEEN "
         "39.85 AND 39.98"},
        {"facilities",
         "S_INTERSECTS(geometry, POLYGON((116.3 39.85, 116.5 39.85, 116.4 39.98, 116.3 39.85))) "
         "AND status = 'open'",
         "SELECT count(*) FROM facilities WHERE ST_Intersects(geom, GeomFromText('POLYGON((116.3 "
         "39.85,"
         " 116.5 39.85, 116.4 39.98, 116.3 39.85))', 4326)) = 1 AND status = 'open'"},
        {"districts", "S_INTERSECTS(geometry, POINT(116.397 39.909))",
         "SELECT count(*) FROM districts WHERE ST_Intersects(geom, MakePoint(116.397, 39.909, "
         "4326)) = 1"},
        {"grids", "district_code = '110101' AND code LIKE '110101%'",
         "SELECT count(*) FROM grids WHERE district_code = '110101'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t want = sql_int("%s", cases[i].sql), got = filter_count(cases[i].col, cases[i].cql);
        if (got != want)
            fail_msg("%s: %s gave %lld, SQL %lld", cases[i].col, cases[i].cql, (long long)got,
                     (long long)want);
    }
    assert_true(sql_int("SELECT count(*) FROM reports WHERE closed_at >= 1780272000") > 0);
    /* Queryables as equality parameters combine with the filter. */
    json_t *j =
        get("/ogc/collections/reports/items?status=closed&filter=kind%3D%27problem%27&limit=10000",
            200, NULL);
    assert_int_equal(
        matched(j),
        sql_int("SELECT count(*) FROM reports WHERE status = 'closed' AND kind = 'problem'"));
    json_decref(j);
}

/* Bad filters: 400 naming the position; unknown properties and wrong types too. */
static void bad_filters_are_400(void **state)
{
    (void)state;
    static const struct {
        const char *cql, *want;
    } cases[] = {
        {"status == 'closed'", "position 9"},
        {"status = 'closed' AND", "position 22"},
        {"nope = 1", "unknown property 'nope' at position 1"},
        {"token = 'x'", "unknown property 'token'"}, /* private fields are not queryable */
        {"facility_id = 'x'", "is an integer; the value at position 15"},
        {"closed_at > 'soon'", "position 13"},
        {"S_INTERSECTS(status, BBOX(0,0,1,1))", "takes the property 'geometry'"},
        {"status LIKE 5", "position 13"},
    };
    char path[1024];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        filter_path(path, sizeof(path), "reports", cases[i].cql, NULL);
        char *m = get_400(path);
        if (!strstr(m, cases[i].want))
            fail_msg("%s: '%s' lacks '%s'", cases[i].cql, m, cases[i].want);
        free(m);
    }
    free(get_400("/ogc/collections/reports/items?filter=status%3D%27x%27&filter-lang=cql2-json"));
    free(get_400("/ogc/collections/reports/items?cursor=zz"));
    free(get_400("/ogc/collections/reports/items?sortby=token"));
    free(get_400("/ogc/collections/reports/items?bbox-crs=EPSG:3857"));
}

/* Keyset paging with sortby: every row once, in order, both directions. */
static void sortby_pages_in_order(void **state)
{
    (void)state;
    static const char *const orders[] = {"created_at", "-created_at", "closed_at", "-closed_at"};
    int64_t want = sql_int("SELECT count(*) FROM reports WHERE service_code = '200101'");
    assert_true(want > 100);
    for (size_t o = 0; o < 4; o++) {
        bool desc = orders[o][0] == '-';
        const char *field = orders[o] + desc;
        char path[256];
        snprintf(path, sizeof(path),
                 "/ogc/collections/reports/items?service_code=200101&sortby=%s&limit=37",
                 orders[o]);
        char *url = strdup(path);
        int64_t seen = 0;
        json_t *prev = NULL;
        int64_t prev_id = 0;
        while (url) {
            json_t *j = get(url, 200, "application/geo+json");
            free(url);
            url = NULL;
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(j, "features"), i, f)
            {
                json_t *v = json_object_get(json_object_get(f, "properties"), field);
                int64_t id = json_integer_value(json_object_get(f, "id"));
                if (prev) { /* NULLs first ascending, last descending; ties by id */
                    bool pn = json_is_null(prev), vn = json_is_null(v);
                    int c = pn && vn ? 0
                            : pn     ? -1
                            : vn     ? 1
                                     : strcmp(json_string_value(prev), json_string_value(v));
                    if (desc)
                        c = -c;
                    assert_true(c < 0 || (c == 0 && (desc ? id < prev_id : id > prev_id)));
                    json_decref(prev);
                }
                prev = json_incref(v);
                prev_id = id;
                seen++;
            }
            json_t *next = link_rel(j, "next");
            if (next)
                url = strdup(json_string_value(json_object_get(next, "href")));
            json_decref(j);
        }
        json_decref(prev);
        assert_int_equal(seen, want);
    }
}

/* Part 2: CRS URIs; bbox-crs EPSG:4326 is lat,lon order. */
static void crs_uris(void **state)
{
    (void)state;
    json_t *a = get("/ogc/collections/facilities/items?bbox=116.30,39.85,116.50,39.98&limit=10000",
                    200, NULL);
    json_t *b = get("/ogc/collections/facilities/items?bbox=39.85,116.30,39.98,116.50&limit=10000"
                    "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326"
                    "&crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                    200, NULL);
    assert_true(matched(a) > 100);
    assert_int_equal(matched(a), matched(b));
    json_decref(a);
    json_decref(b);
    struct md_http_res r;
    assert_int_equal(
        md_http(&H, "GET", "/ogc/collections/facilities/items?limit=1", NULL, NULL, 0, &r), 0);
    char crs[256] = "";
    assert_true(md_http_header(&r, "Content-Crs", crs, sizeof(crs)));
    assert_string_equal(crs, "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>");
    md_http_res_free(&r);
}

/* datetime is the declared temporal property only; another date field goes through filter. */
static void datetime_is_the_temporal_property(void **state)
{
    (void)state;
    json_t *j = get("/ogc/collections/reports/items?datetime=2026-06-01T00:00:00Z/..&limit=10000",
                    200, NULL);
    int64_t by_datetime = matched(j);
    json_decref(j);
    assert_int_equal(by_datetime,
                     sql_int("SELECT count(*) FROM reports WHERE created_at >= 1780272000"));
    assert_int_equal(filter_count("reports", "closed_at >= TIMESTAMP('2026-06-01T00:00:00Z')"),
                     sql_int("SELECT count(*) FROM reports WHERE closed_at >= 1780272000"));
}

/* Run a shell command, capture stdout+stderr (caller frees). */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t k;
    while ((k = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (cap - n < 1024)
            out = realloc(out, cap *= 2);
    }
    out[n] = '\0';
    pclose(p);
    return out;
}

/* GDAL's OAPIF driver (a client nobody here wrote) sends -where on category,
 * status and a date field to the server as CQL2, never filtering on the client. */
static void gdal_filters_on_the_server(void **state)
{
    (void)state;
    static const struct {
        const char *layer, *where, *sql;
    } cases[] = {
        {"reports",
         "status = 'closed' AND service_code = '200101' AND closed_at >= '2026-06-01 00:00:00'",
         "SELECT count(*) FROM reports WHERE status = 'closed' AND service_code = '200101'"
         " AND closed_at >= 1780272000"},
        {"facilities", "category = 'toilet' AND status <> 'closed'",
         "SELECT count(*) FROM facilities WHERE category = 'toilet' AND status <> 'closed'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char cmd[2048];
        snprintf(
            cmd, sizeof(cmd),
            "ogrinfo --debug on -ro -so -oo PAGE_SIZE=1000 'OAPIF:%s/ogc' %s -where \"%s\" 2>&1",
            H.base, cases[i].layer, cases[i].where);
        char *out = run(cmd);
        assert_null(strstr(out, "client side"));
        assert_non_null(strstr(out, "CQL text detected"));
        assert_non_null(strstr(out, "filter-lang=cql-text"));
        char want[64];
        snprintf(want, sizeof(want), "Feature Count: %lld", (long long)sql_int("%s", cases[i].sql));
        if (!strstr(out, want))
            fail_msg("%s: want '%s' in:\n%.3000s", cases[i].where, want, out);
        if (i == 0) /* typed by the schema, not guessed from a sample */
            assert_non_null(strstr(out, "facility_id: Integer"));
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queryables_are_json_schema),
        cmocka_unit_test(cql2_filters_match_sql),
        cmocka_unit_test(bad_filters_are_400),
        cmocka_unit_test(sortby_pages_in_order),
        cmocka_unit_test(crs_uris),
        cmocka_unit_test(datetime_is_the_temporal_property),
        cmocka_unit_test(gdal_filters_on_the_server),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
