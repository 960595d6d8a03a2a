/* /api/v1/stats and /api/v1/hotspots against direct SQL over the server's
 * database file (SpatiaLite loaded for the hexagon containment checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
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

static json_t *get(const char *path, long want)
{
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    if (r.status != want)
        fail_msg("GET %s: status %ld, want %ld: %.300s", path, r.status, want, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    if (!j)
        fail_msg("GET %s: not JSON", path);
    md_http_res_free(&r);
    return j;
}

/* Rows of `sql` as "k1|k2|...|count" lines, compared with the API's groups
 * rendered the same way. */
static void compare_groups(const char *path, const char *const *dims, int ndims, const char *sql,
                           const char *metric)
{
    json_t *j = get(path, 200);
    json_t *groups = json_object_get(j, "groups");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    size_t i = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *g = json_array_get(groups, i++);
        if (!g)
            fail_msg("%s: fewer groups than SQL (%zu)", path, i);
        for (int d = 0; d < ndims; d++) {
            const char *want = (const char *)sqlite3_column_text(st, d);
            const char *got = json_string_value(json_object_get(g, dims[d]));
            if (!got || strcmp(want, got) != 0)
                fail_msg("%s: group %zu %s = %s, SQL %s", path, i, dims[d], got ? got : "null", want);
        }
        if (sqlite3_column_type(st, ndims) == SQLITE_FLOAT) {
            double want = sqlite3_column_double(st, ndims);
            double got = json_number_value(json_object_get(g, metric));
            if (fabs(want - got) > 1e-3)
                fail_msg("%s: group %zu %s = %.6f, SQL %.6f", path, i, metric, got, want);
        } else {
            int64_t want = sqlite3_column_int64(st, ndims);
            int64_t got = json_integer_value(json_object_get(g, metric));
            if (want != got)
                fail_msg("%s: group %zu %s = %lld, SQL %lld", path, i, metric, (long long)got,
                         (long long)want);
        }
    }
    sqlite3_finalize(st);
    if (i != json_array_size(groups))
        fail_msg("%s: %zu groups, SQL %zu", path, json_array_size(groups), i);
    json_decref(j);
}

static void counts_by_category(void **state)
{
    (void)state;
    static const char *const d[] = {"category"};
    compare_groups("/api/v1/stats?by=category", d, 1,
                   "SELECT service_code, count(*) FROM reports GROUP BY 1 ORDER BY 1", "count");
}

static void counts_by_group_and_status_in_a_district(void **state)
{
    (void)state;
    static const char *const d[] = {"group", "status"};
    compare_groups("/api/v1/stats?by=group,status&district=110105", d, 2,
                   "SELECT c.group_code, r.status, count(*) FROM reports r JOIN categories c ON"
                   " c.code = r.service_code WHERE r.district_code = '110105' GROUP BY 1, 2 ORDER BY 1, 2",
                   "count");
}

static void counts_by_district_and_month_in_a_time_range(void **state)
{
    (void)state;
    static const char *const d[] = {"district", "month"};
    /* 2026-03-01T00:00:00+08:00 = 1772294400, 2026-09-01T00:00:00+08:00 = 1788192000 */
    compare_groups("/api/v1/stats?by=district,month&from=2026-03-01&to=2026-08-31T23:59:59%2B08:00",
                   d, 2,
                   "SELECT district_code, strftime('%Y-%m', created_at + 28800, 'unixepoch'), count(*)"
                   " FROM reports WHERE created_at BETWEEN 1772294400 AND 1788191999"
                   " GROUP BY 1, 2 ORDER BY 1, 2", "count");
}

static void counts_by_day_and_week_in_a_bbox(void **state)
{
    (void)state;
    static const char *const d1[] = {"day"};
    compare_groups("/api/v1/stats?by=day&bbox=116.3,39.85,116.5,39.98&category=200102", d1, 1,
                   "SELECT date(created_at + 28800, 'unixepoch'), count(*) FROM reports"
                   " WHERE service_code = '200102' AND lon BETWEEN 116.3 AND 116.5 AND lat BETWEEN"
                   " 39.85 AND 39.98 GROUP BY 1 ORDER BY 1", "count");
    static const char *const d2[] = {"week"};
    compare_groups("/api/v1/stats?by=week", d2, 1,
                   "SELECT date(created_at + 28800, 'unixepoch', 'weekday 0', '-6 days'), count(*)"
                   " FROM reports GROUP BY 1 ORDER BY 1", "count");
}

static void overdue_and_close_times(void **state)
{
    (void)state;
    static const char *const d[] = {"category"};
    /* at = 2026-10-20T00:00:00+08:00 = 1792425600 */
    compare_groups("/api/v1/stats?by=category&at=2026-10-20", d, 1,
                   "SELECT service_code, sum(status IN ('reported','filed','dispatched','in_progress')"
                   " AND expected_at IS NOT NULL AND expected_at < 1792425600) FROM reports"
                   " GROUP BY 1 ORDER BY 1", "overdue");
    compare_groups("/api/v1/stats?by=category", d, 1,
                   "SELECT service_code, sum(status = 'closed' AND closed_at > expected_at)"
                   " FROM reports GROUP BY 1 ORDER BY 1", "closed_late");
    compare_groups("/api/v1/stats?by=category&status=closed", d, 1,
                   "SELECT service_code, avg((closed_at - created_at) / 3600.0) FROM reports"
                   " WHERE status = 'closed' GROUP BY 1 ORDER BY 1", "close_hours_mean");
    /* p90, nearest rank: the ceil(0.9 n)-th smallest duration of each group. */
    static const char *const dd[] = {"district"};
    compare_groups("/api/v1/stats?by=district&status=closed", dd, 1,
                   "SELECT district_code, h FROM (SELECT district_code, (closed_at - created_at)"
                   " / 3600.0 AS h, row_number() OVER (PARTITION BY district_code ORDER BY"
                   " closed_at - created_at) AS rn, count(*) OVER (PARTITION BY district_code) AS n"
                   " FROM reports WHERE status = 'closed') WHERE rn = (9 * n + 9) / 10 ORDER BY 1",
                   "close_hours_p90");
}

static void square_hotspots_equal_sql_group_by(void **state)
{
    (void)state;
    json_t *j = get("/api/v1/hotspots?shape=square&cell=750&bbox=116.2,39.8,116.6,40.05&limit=100000"
                    "&from=2026-01-01", 200);
    json_t *origin = json_object_get(j, "origin"), *scale = json_object_get(j, "scale_m_per_deg");
    char sql[1024];
    /* 2026-01-01T00:00:00+08:00 = 1767196800 */
    snprintf(sql, sizeof(sql),
             "SELECT CAST(floor((lon - %.17g) * %.17g / 750.0) AS INTEGER) AS i,"
             " CAST(floor((lat - %.17g) * %.17g / 750.0) AS INTEGER) AS j, count(*) FROM reports"
             " WHERE lon BETWEEN 116.2 AND 116.6 AND lat BETWEEN 39.8 AND 40.05"
             " AND created_at >= 1767196800 GROUP BY 1, 2",
             json_number_value(json_array_get(origin, 0)), json_number_value(json_array_get(scale, 0)),
             json_number_value(json_array_get(origin, 1)), json_number_value(json_array_get(scale, 1)));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    size_t ncells = 0;
    int64_t total = 0;
    json_t *features = json_object_get(j, "features");
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t ci = sqlite3_column_int64(st, 0), cj = sqlite3_column_int64(st, 1);
        int64_t n = sqlite3_column_int64(st, 2);
        bool found = false;
        size_t k;
        json_t *f;
        json_array_foreach(features, k, f)
        {
            json_t *p = json_object_get(f, "properties");
            if (json_integer_value(json_object_get(p, "i")) == ci &&
                json_integer_value(json_object_get(p, "j")) == cj) {
                assert_int_equal(json_integer_value(json_object_get(p, "count")), n);
                found = true;
                break;
            }
        }
        if (!found)
            fail_msg("cell %lld,%lld (%lld reports) missing", (long long)ci, (long long)cj, (long long)n);
        ncells++;
        total += n;
    }
    sqlite3_finalize(st);
    assert_int_equal(json_array_size(features), ncells);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), total);
    json_decref(j);
}

static void hex_hotspots_hold_their_points(void **state)
{
    (void)state;
    json_t *j = get("/api/v1/hotspots?shape=hex&cell=400&group=05&limit=60", 200);
    json_t *features = json_object_get(j, "features");
    assert_int_equal(json_array_size(features), 60);
    int64_t prev = INT64_MAX;
    size_t k;
    json_t *f;
    json_array_foreach(features, k, f)
    {
        int64_t count = json_integer_value(json_object_get(json_object_get(f, "properties"), "count"));
        assert_true(count <= prev); /* busiest first */
        prev = count;
        char *geom = json_dumps(json_object_get(f, "geometry"), JSON_COMPACT);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db,
            "SELECT count(*) FROM reports r JOIN categories c ON c.code = r.service_code,"
            " (SELECT GeomFromGeoJSON(?1) AS g) WHERE c.group_code = '05'"
            " AND r.lon BETWEEN MbrMinX(g) AND MbrMaxX(g) AND r.lat BETWEEN MbrMinY(g) AND MbrMaxY(g)"
            " AND ST_Contains(g, MakePoint(r.lon, r.lat)) = 1", -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_text(st, 1, geom, -1, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t want = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (want != count)
            fail_msg("hexagon %zu: %lld reports counted, SpatiaLite finds %lld in %s", k,
                     (long long)count, (long long)want, geom);
        free(geom);
    }
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM reports r JOIN categories c ON"
                                            " c.code = r.service_code WHERE c.group_code = '05'",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    json_decref(j);
}

static void bad_parameters(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "/api/v1/stats?by=colour",         "/api/v1/stats?by=day,day",
        "/api/v1/stats?by=a,b,c,d",        "/api/v1/stats?from=2026-13-01",
        "/api/v1/stats?category=nope",     "/api/v1/stats?bbox=117,40,116,39",
        "/api/v1/hotspots?cell=1",         "/api/v1/hotspots?shape=circle",
        "/api/v1/hotspots?cell=-5",        "/api/v1/hotspots?crs=mars",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        json_decref(get(bad[i], 400));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_by_category),
        cmocka_unit_test(counts_by_group_and_status_in_a_district),
        cmocka_unit_test(counts_by_district_and_month_in_a_time_range),
        cmocka_unit_test(counts_by_day_and_week_in_a_bbox),
        cmocka_unit_test(overdue_and_close_times),
        cmocka_unit_test(square_hotspots_equal_sql_group_by),
        cmocka_unit_test(hex_hotspots_hold_their_points),
        cmocka_unit_test(bad_parameters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
