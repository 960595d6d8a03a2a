/* /api/v1/nearest, /api/v1/within, /api/v1/districts/at over real HTTP,
 * checked against a brute-force computation over the same rows.
 *
 * The test reads every facility and report straight from the server's
 * database file, computes distances with PROJ's geodesic library (not
 * mapd's wrapper), sorts by (distance, id) and compares ids and order with
 * the server's answer for a few thousand random points; returned distances
 * are also checked against PROJ's `geod` command-line tool (<= 1 mm).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <geodesic.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct md_harness H;
static struct geod_geodesic G;

struct row {
    int64_t id;
    double lon, lat;
    char category[32];
    char status[16];
    char district[16];
    char grid[24];
};

struct table {
    struct row *v;
    size_t n;
};

static struct table facilities, reports;
static const char *const fac_categories[] = {
    "convenience_store", "market", "vegetable_stall", "breakfast", "toilet", "kiosk", "parking"};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}

static void load(struct table *t, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(H.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    size_t cap = 1024;
    t->v = malloc(cap * sizeof(*t->v));
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (t->n == cap)
            t->v = realloc(t->v, (cap *= 2) * sizeof(*t->v));
        struct row *r = &t->v[t->n++];
        memset(r, 0, sizeof(*r));
        r->id = sqlite3_column_int64(st, 0);
        r->lon = sqlite3_column_double(st, 1);
        r->lat = sqlite3_column_double(st, 2);
        snprintf(r->category, sizeof(r->category), "%s", sqlite3_column_text(st, 3));
        snprintf(r->status, sizeof(r->status), "%s", sqlite3_column_text(st, 4));
        snprintf(r->district, sizeof(r->district), "%s", sqlite3_column_text(st, 5));
        if (sqlite3_column_text(st, 6))
            snprintf(r->grid, sizeof(r->grid), "%s", sqlite3_column_text(st, 6));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int setup(void **state)
{
    (void)state;
    geod_init(&G, 6378137.0, 1 / 298.257223563);
    md_harness_start(&H, NULL);
    load(&facilities,
         "SELECT id, lon, lat, category, status, district_code, grid_code FROM facilities");
    load(&reports,
         "SELECT id, lon, lat, service_code, status, district_code, grid_code FROM reports");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(facilities.v);
    free(reports.v);
    return md_harness_stop(&H) == 0 ? 0 : -1;
}

static double dist(double lon1, double lat1, double lon2, double lat2)
{
    double s12;
    geod_inverse(&G, lat1, lon1, lat2, lon2, &s12, NULL, NULL);
    return s12;
}

struct cand {
    int64_t id;
    double d;
};

static int cand_cmp(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    if (a->d != b->d)
        return a->d < b->d ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int id_cmp(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    return a->id < b->id ? -1 : a->id > b->id;
}

static json_t *get(const char *path, long want)
{
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    if (r.status != want)
        fail_msg("GET %s: status %ld, want %ld: %s", path, r.status, want, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    if (!j)
        fail_msg("GET %s: not JSON: %.200s", path, r.body);
    md_http_res_free(&r);
    return j;
}

/* Random point over Beijing's urban area and surroundings, rounded to the
 * 1e-6 degrees the requests carry (%.6f). */
static void random_point(double *lon, double *lat)
{
    *lon = round((115.9 + rnd() * 1.0) * 1e6) / 1e6;
    *lat = round((39.6 + rnd() * 0.7) * 1e6) / 1e6;
}

/* Pairs (query point, returned point, returned distance) for the geod check. */
static FILE *pairs;
static int npairs;

static void compare(json_t *fc, const struct cand *want, size_t nwant, bool distances, double qlon,
                    double qlat, const char *what)
{
    json_t *features = json_object_get(fc, "features");
    if (json_array_size(features) != nwant)
        fail_msg("%s: %zu features, brute force %zu", what, json_array_size(features), nwant);
    for (size_t i = 0; i < nwant; i++) {
        json_t *f = json_array_get(features, i);
        int64_t id = json_integer_value(json_object_get(f, "id"));
        if (id != want[i].id)
            fail_msg("%s: feature %zu is %lld, brute force %lld (d %.4f)", what, i, (long long)id,
                     (long long)want[i].id, want[i].d);
        if (!distances)
            continue;
        double d =
            json_number_value(json_object_get(json_object_get(f, "properties"), "distance_m"));
        if (fabs(d - want[i].d) > 1e-3)
            fail_msg("%s: distance %.4f, PROJ geodesic %.4f", what, d, want[i].d);
        if (i == 0 && pairs) {
            json_t *c = json_object_get(json_object_get(f, "geometry"), "coordinates");
            fprintf(pairs, "%.10f %.10f %.10f %.10f %.4f\n", qlat, qlon,
                    json_number_value(json_array_get(c, 1)),
                    json_number_value(json_array_get(c, 0)), d);
            npairs++;
        }
    }
}

static size_t brute(const struct table *t, double lon, double lat, const char *category,
                    double radius, struct cand *out)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (category && strcmp(t->v[i].category, category) != 0)
            continue;
        double d = dist(lon, lat, t->v[i].lon, t->v[i].lat);
        if (radius >= 0 && d > radius)
            continue;
        out[n++] = (struct cand){t->v[i].id, d};
    }
    qsort(out, n, sizeof(*out), cand_cmp);
    return n;
}

static void nearest_facilities_equal_brute_force(void **state)
{
    (void)state;
    struct cand *c = malloc(facilities.n * sizeof(*c));
    char path[256];
    pairs = fopen("mapd-queries-pairs.txt", "w");
    npairs = 0;
    static const int ks[] = {1, 5, 10, 25};
    for (int q = 0; q < 2000; q++) {
        double lon, lat;
        random_point(&lon, &lat);
        int k = ks[q % 4];
        const char *cat = q % 3 == 0 ? NULL : fac_categories[(q / 3) % 7];
        snprintf(path, sizeof(path), "/api/v1/nearest?lon=%.6f&lat=%.6f&k=%d%s%s", lon, lat, k,
                 cat ? "&category=" : "", cat ? cat : "");
        size_t n = brute(&facilities, lon, lat, cat, -1, c);
        json_t *fc = get(path, 200);
        compare(fc, c, n < (size_t)k ? n : (size_t)k, true, lon, lat, path);
        json_decref(fc);
    }
    fclose(pairs);
    pairs = NULL;
    free(c);
}

static void nearest_distances_match_geod_cli(void **state)
{
    (void)state;
    /* geod -I reads lat1 lon1 lat2 lon2 and prints az1 az2 s12. */
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "cut -d' ' -f1-4 mapd-queries-pairs.txt | geod -I +ellps=WGS84 -f %%.10f -F %%.6f"
             " > mapd-queries-geod.txt");
    assert_int_equal(md_sh("%s", cmd), 0);
    FILE *a = fopen("mapd-queries-pairs.txt", "r"), *b = fopen("mapd-queries-geod.txt", "r");
    assert_non_null(a);
    assert_non_null(b);
    int n = 0;
    double la1, lo1, la2, lo2, d, az1, az2, s12;
    while (fscanf(a, "%lf %lf %lf %lf %lf", &la1, &lo1, &la2, &lo2, &d) == 5) {
        assert_int_equal(fscanf(b, "%lf %lf %lf", &az1, &az2, &s12), 3);
        if (fabs(d - s12) > 1e-3)
            fail_msg("pair %d: mapd %.4f m, geod %.6f m", n, d, s12);
        n++;
    }
    fclose(a);
    fclose(b);
    assert_true(n >= 1900);
}

static void nearest_reports_with_filters(void **state)
{
    (void)state;
    struct cand *c = malloc(reports.n * sizeof(*c));
    char path[256];
    static const char *const codes[] = {"200101", "200102", "200301", "200505", "900001"};
    for (int q = 0; q < 300; q++) {
        double lon, lat;
        random_point(&lon, &lat);
        const char *cat = q % 2 ? codes[q % 5] : NULL;
        snprintf(path, sizeof(path), "/api/v1/nearest?layer=reports&lon=%.6f&lat=%.6f&k=10%s%s",
                 lon, lat, cat ? "&category=" : "", cat ? cat : "");
        size_t n = brute(&reports, lon, lat, cat, -1, c);
        json_t *fc = get(path, 200);
        compare(fc, c, n < 10 ? n : 10, true, lon, lat, path);
        json_decref(fc);
    }
    free(c);
}

static void within_radius_equal_brute_force(void **state)
{
    (void)state;
    struct cand *c = malloc(reports.n * sizeof(*c));
    char path[256];
    for (int q = 0; q < 1000; q++) {
        double lon, lat, radius = 20 + rnd() * 3000;
        random_point(&lon, &lat);
        const struct table *t = q % 4 == 3 ? &reports : &facilities;
        const char *cat = q % 5 == 1 && t == &facilities ? fac_categories[q % 7] : NULL;
        snprintf(path, sizeof(path),
                 "/api/v1/within?layer=%s&lon=%.6f&lat=%.6f&radius=%.3f"
                 "&limit=10000%s%s",
                 t == &reports ? "reports" : "facilities", lon, lat, radius,
                 cat ? "&category=" : "", cat ? cat : "");
        radius = strtod(strstr(path, "radius=") + 7, NULL);
        size_t n = brute(t, lon, lat, cat, radius, c);
        json_t *fc = get(path, 200);
        assert_int_equal(json_integer_value(json_object_get(fc, "numberMatched")), n);
        compare(fc, c, n, true, lon, lat, path);
        json_decref(fc);
    }
    free(c);
}

static void within_radius_pages(void **state)
{
    (void)state;
    struct cand *c = malloc(reports.n * sizeof(*c));
    size_t n = brute(&reports, 116.4, 39.91, NULL, 2000, c);
    assert_true(n > 200);
    for (size_t off = 0; off < n; off += 77) {
        char path[256];
        snprintf(path, sizeof(path),
                 "/api/v1/within?layer=reports&lon=116.4&lat=39.91&radius=2000&limit=77&offset=%zu",
                 off);
        json_t *fc = get(path, 200);
        assert_int_equal(json_integer_value(json_object_get(fc, "numberMatched")), n);
        size_t want = n - off < 77 ? n - off : 77;
        assert_int_equal(json_integer_value(json_object_get(fc, "numberReturned")), want);
        compare(fc, c + off, want, true, 116.4, 39.91, path);
        json_decref(fc);
    }
    free(c);
}

static void within_bbox_equal_brute_force(void **state)
{
    (void)state;
    struct cand *c = malloc(facilities.n * sizeof(*c));
    for (int q = 0; q < 200; q++) {
        double x0, y0;
        random_point(&x0, &y0);
        double x1 = x0 + rnd() * 0.08, y1 = y0 + rnd() * 0.06;
        /* Snap one edge onto an existing point: edges are inclusive. */
        const struct row *r = &facilities.v[(size_t)(rnd() * facilities.n)];
        if (q % 2) {
            x0 = r->lon;
            y0 = r->lat - 0.01;
            x1 = r->lon + 0.05;
            y1 = r->lat + 0.01;
        }
        char path[256];
        snprintf(path, sizeof(path), "/api/v1/within?bbox=%.6f,%.6f,%.6f,%.6f&limit=10000", x0, y0,
                 x1, y1);
        sscanf(strstr(path, "bbox=") + 5, "%lf,%lf,%lf,%lf", &x0, &y0, &x1, &y1);
        size_t n = 0;
        for (size_t i = 0; i < facilities.n; i++) {
            const struct row *f = &facilities.v[i];
            if (f->lon >= x0 && f->lon <= x1 && f->lat >= y0 && f->lat <= y1)
                c[n++] = (struct cand){f->id, 0};
        }
        qsort(c, n, sizeof(*c), id_cmp);
        json_t *fc = get(path, 200);
        assert_int_equal(json_integer_value(json_object_get(fc, "numberMatched")), n);
        compare(fc, c, n, false, 0, 0, path);
        json_decref(fc);
    }
    free(c);
}

/* Even-odd rule; the random vertices make boundary hits vanishingly unlikely. */
static bool in_polygon(const double (*v)[2], int nv, double x, double y)
{
    bool in = false;
    for (int i = 0, j = nv - 1; i < nv; j = i++) {
        if ((v[i][1] > y) != (v[j][1] > y) &&
            x < (v[j][0] - v[i][0]) * (y - v[i][1]) / (v[j][1] - v[i][1]) + v[i][0])
            in = !in;
    }
    return in;
}

static void within_polygon_equal_brute_force(void **state)
{
    (void)state;
    struct cand *c = malloc(reports.n * sizeof(*c));
    for (int q = 0; q < 50; q++) {
        /* A star-shaped (hence simple) polygon around a random centre. */
        double cx, cy, v[12][2];
        random_point(&cx, &cy);
        int nv = 5 + q % 7;
        char body[2048];
        int len = snprintf(body, sizeof(body), "{\"type\":\"Polygon\",\"coordinates\":[[");
        for (int i = 0; i < nv; i++) {
            double a = 2 * M_PI * i / nv, r = 0.01 + rnd() * 0.05;
            char num[64];
            snprintf(num, sizeof(num), "%.9f", cx + r * cos(a)); /* what the server reads */
            v[i][0] = strtod(num, NULL);
            snprintf(num, sizeof(num), "%.9f", cy + r * 0.75 * sin(a));
            v[i][1] = strtod(num, NULL);
            len +=
                snprintf(body + len, sizeof(body) - (size_t)len, "[%.9f,%.9f],", v[i][0], v[i][1]);
        }
        len += snprintf(body + len, sizeof(body) - (size_t)len, "[%.9f,%.9f]]]}", v[0][0], v[0][1]);
        size_t n = 0;
        for (size_t i = 0; i < reports.n; i++) {
            if (in_polygon(v, nv, reports.v[i].lon, reports.v[i].lat))
                c[n++] = (struct cand){reports.v[i].id, 0};
        }
        qsort(c, n, sizeof(*c), id_cmp);
        struct md_http_res r;
        assert_int_equal(md_http(&H, "POST", "/api/v1/within?layer=reports&limit=10000", NULL, body,
                                 (size_t)len, &r),
                         0);
        if (r.status != 200)
            fail_msg("POST within: %ld %s", r.status, r.body);
        json_t *fc = json_loads(r.body, 0, NULL);
        md_http_res_free(&r);
        assert_int_equal(json_integer_value(json_object_get(fc, "numberMatched")), n);
        compare(fc, c, n, false, 0, 0, "polygon");
        json_decref(fc);
    }
    free(c);
}

static void within_district_uses_district_codes(void **state)
{
    (void)state;
    struct cand *c = malloc(facilities.n * sizeof(*c));
    size_t n = 0;
    for (size_t i = 0; i < facilities.n; i++) {
        if (strcmp(facilities.v[i].district, "110105") == 0 &&
            strcmp(facilities.v[i].status, "open") == 0)
            c[n++] = (struct cand){facilities.v[i].id, 0};
    }
    qsort(c, n, sizeof(*c), id_cmp);
    json_t *fc = get("/api/v1/within?district=110105&status=open&limit=10000", 200);
    assert_int_equal(json_integer_value(json_object_get(fc, "numberMatched")), n);
    compare(fc, c, n, false, 0, 0, "district");
    json_decref(fc);
    free(c);
}

static void expect_400(const char *method, const char *path, const char *body,
                       const char *msg_part);

/* One within answer: GET, or POST with `body`. */
static json_t *within_get(const char *path, const char *body)
{
    if (!body)
        return get(path, 200);
    struct md_http_res r;
    assert_int_equal(md_http(&H, "POST", path, NULL, body, strlen(body), &r), 0);
    if (r.status != 200)
        fail_msg("POST %s: %ld %s", path, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    md_http_res_free(&r);
    return j;
}

/* Keyset pages (`after` = the previous page's `next`) concatenated are the
 * whole answer, in the same order, with the same distances; no count. */
static void within_keyset_pages_equal_whole(void **state)
{
    (void)state;
    static const struct {
        const char *query, *body;
    } cases[] = {
        {"layer=reports&lon=116.4&lat=39.91&radius=2000", NULL},
        {"layer=reports&lon=116.45&lat=39.95&radius=3000&category=200101,200102", NULL},
        {"layer=facilities&lon=116.2&lat=40.2&radius=20000", NULL},
        {"layer=reports&bbox=116.40,39.90,116.41,39.91", NULL},
        {"layer=reports&bbox=116.2,39.7,116.6,40.1", NULL},
        {"layer=facilities&bbox=115.4,39.4,117.5,41.1&status=open", NULL},
        {"layer=facilities&district=110105", NULL},
        {"layer=reports", "{\"type\":\"Polygon\",\"coordinates\":[[[116.3,39.85],[116.5,39.85],"
                          "[116.4,39.98],[116.3,39.85]]]}"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char path[512];
        snprintf(path, sizeof(path), "/api/v1/within?%s&limit=10000&offset=0", cases[k].query);
        json_t *whole = within_get(path, cases[k].body);
        json_t *all = json_object_get(whole, "features");
        size_t n = (size_t)json_integer_value(json_object_get(whole, "numberMatched"));
        size_t at = 0, pages = 0;
        assert_true(n > 40);
        assert_true(!json_object_get(whole, "next") == (n <= 10000));
        char next[128] = "";
        for (;;) {
            snprintf(path, sizeof(path), "/api/v1/within?%s&limit=37%s%s", cases[k].query,
                     next[0] ? "&after=" : "", next);
            json_t *page = within_get(path, cases[k].body);
            json_t *f = json_object_get(page, "features");
            /* Counted only where free: never on a page that has a next. */
            assert_null(
                json_object_get(page, json_object_get(page, "next") ? "numberMatched" : "-"));
            for (size_t i = 0; i < json_array_size(f); i++, at++) {
                json_t *a = json_array_get(f, i), *b = json_array_get(all, at);
                if (at >= 10000)
                    continue; /* past the whole answer's limit: counted only */
                if (!b || json_integer_value(json_object_get(a, "id")) !=
                              json_integer_value(json_object_get(b, "id")))
                    fail_msg("%s: feature %zu differs from the whole answer", path, at);
                json_t *da = json_object_get(json_object_get(a, "properties"), "distance_m");
                json_t *db = json_object_get(json_object_get(b, "properties"), "distance_m");
                assert_true(!da == !db);
                if (da)
                    assert_true(json_number_value(da) == json_number_value(db));
            }
            pages++;
            const char *nx = json_string_value(json_object_get(page, "next"));
            if (!nx) {
                json_decref(page);
                break;
            }
            assert_true(json_array_size(f) == 37);
            snprintf(next, sizeof(next), "%s", nx);
            json_decref(page);
        }
        if (at != n)
            fail_msg("%s: pages hold %zu of %zu", cases[k].query, at, n);
        assert_int_equal(pages, (n + 36) / 37);
        json_decref(whole);
    }
    expect_400("GET", "/api/v1/within?bbox=116.4,39.9,116.5,40&after=x", NULL,
               "after must be the `next` cursor");
    expect_400("GET", "/api/v1/within?bbox=116.4,39.9,116.5,40&after=d12.5_3", NULL,
               "after must be the `next` cursor");
    expect_400("GET", "/api/v1/within?lon=116.4&lat=39.9&radius=100&after=i3", NULL,
               "after must be the `next` cursor");
    expect_400("GET", "/api/v1/within?bbox=116.4,39.9,116.5,40&after=i3&offset=10", NULL,
               "after and offset exclude each other");
}

static void districts_at_agrees_with_stored_codes(void **state)
{
    (void)state;
    for (int q = 0; q < 200; q++) {
        const struct row *r = &reports.v[(size_t)(rnd() * reports.n)];
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/districts/at?lon=%.6f&lat=%.6f", r->lon, r->lat);
        json_t *j = get(path, 200);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "district"), "code")),
            r->district);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "grid"), "code")),
                            r->grid);
        json_decref(j);
    }
    json_t *j = get("/api/v1/districts/at?lon=121.47&lat=31.23", 404); /* Shanghai */
    json_decref(j);
}

static const struct row *facility_by_id(int64_t id)
{
    for (size_t i = 0; i < facilities.n; i++) {
        if (facilities.v[i].id == id)
            return &facilities.v[i];
    }
    fail_msg("no facility %lld", (long long)id);
    return NULL;
}

static void crs_converts_in_and_out(void **state)
{
    (void)state;
    json_t *g = get("/api/v1/nearest?lon=116.40&lat=39.91&k=1&crs=gcj02", 200);
    assert_string_equal(json_string_value(json_object_get(g, "crs_name")), "gcj02");
    json_t *gf = json_array_get(json_object_get(g, "features"), 0);
    json_t *gc = json_object_get(json_object_get(gf, "geometry"), "coordinates");
    double gx = json_number_value(json_array_get(gc, 0)),
           gy = json_number_value(json_array_get(gc, 1));
    const struct row *f = facility_by_id(json_integer_value(json_object_get(gf, "id")));
    /* GCJ-02 in Beijing is a few hundred metres off WGS84. */
    double off = dist(f->lon, f->lat, gx, gy);
    if (off < 100 || off > 1000)
        fail_msg("GCJ-02 offset %.1f m", off);
    /* Asking from the facility's own GCJ-02 position finds it, < 1 cm away. */
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/nearest?lon=%.12f&lat=%.12f&k=1&crs=gcj02", gx, gy);
    json_t *back = get(path, 200);
    json_t *bf = json_array_get(json_object_get(back, "features"), 0);
    assert_int_equal(json_integer_value(json_object_get(bf, "id")), f->id);
    assert_true(
        json_number_value(json_object_get(json_object_get(bf, "properties"), "distance_m")) < 0.01);
    /* BD-09 likewise. */
    json_t *b = get("/api/v1/nearest?lon=116.40&lat=39.91&k=1&crs=bd09", 200);
    json_t *bc = json_object_get(
        json_object_get(json_array_get(json_object_get(b, "features"), 0), "geometry"),
        "coordinates");
    snprintf(path, sizeof(path), "/api/v1/nearest?lon=%.12f&lat=%.12f&k=1&crs=bd09",
             json_number_value(json_array_get(bc, 0)), json_number_value(json_array_get(bc, 1)));
    json_t *bb = get(path, 200);
    assert_true(
        json_number_value(json_object_get(
            json_object_get(json_array_get(json_object_get(bb, "features"), 0), "properties"),
            "distance_m")) < 0.01);
    json_decref(bb);
    json_decref(b);
    json_decref(back);
    json_decref(g);
}

static void expect_400(const char *method, const char *path, const char *body, const char *msg_part)
{
    struct md_http_res r;
    assert_int_equal(md_http(&H, method, path, NULL, body, body ? strlen(body) : 0, &r), 0);
    if (r.status != 400)
        fail_msg("%s %s: status %ld: %s", method, path, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (!msg || !strstr(msg, msg_part))
        fail_msg("%s %s: message '%s' lacks '%s'", method, path, msg ? msg : "(none)", msg_part);
    json_decref(j);
    md_http_res_free(&r);
}

static void bad_inputs_are_400_naming_the_parameter(void **state)
{
    (void)state;
    expect_400("GET", "/api/v1/nearest?lon=116.4&lat=39.9&k=0", NULL,
               "k must be between 1 and 1000");
    expect_400("GET", "/api/v1/nearest?lon=116.4&lat=39.9&k=100000", NULL,
               "k must be between 1 and 1000");
    expect_400("GET", "/api/v1/nearest?lon=116.4&lat=200", NULL, "lat 200 is outside -90..90");
    expect_400("GET", "/api/v1/nearest?lon=116.4", NULL, "lat is required");
    expect_400("GET", "/api/v1/nearest?lon=abc&lat=39.9", NULL, "lon must be a number");
    expect_400("GET", "/api/v1/nearest?lon=116.4&lat=39.9&crs=mars", NULL, "unknown crs 'mars'");
    expect_400("GET", "/api/v1/nearest?lon=116.4&lat=39.9&category=casino", NULL,
               "unknown category 'casino'");
    expect_400("GET", "/api/v1/nearest?lon=116.4&lat=39.9&layer=districts", NULL,
               "layer must be facilities or reports");
    expect_400("GET", "/api/v1/nearest?lon=116.4&lat=39.9&status=gone", NULL, "status 'gone'");
    expect_400("GET", "/api/v1/within?lon=116.4&lat=39.9&radius=-1", NULL,
               "radius must be between 0 and");
    expect_400("GET", "/api/v1/within?lon=116.4&lat=39.9", NULL, "radius is required");
    expect_400("GET", "/api/v1/within?bbox=116.5,39.9,116.4,40.0", NULL,
               "bbox has min greater than max");
    expect_400("GET", "/api/v1/within?bbox=116.5,39.9,116.6", NULL, "bbox must be four numbers");
    expect_400("GET", "/api/v1/within?bbox=116.4,39.9,116.5,40&limit=0", NULL,
               "limit must be between 1 and 10000");
    expect_400("GET", "/api/v1/within?bbox=116.4,39.9,116.5,40&lon=1&lat=2&radius=3", NULL,
               "exactly one of");
    expect_400("GET", "/api/v1/within?district=999999", NULL, "unknown district '999999'");
    expect_400("GET", "/api/v1/within?bbox=116.4,39.9,116.5,40&from=2026-02-01&to=2026-01-01", NULL,
               "from is after to");
    expect_400("POST", "/api/v1/within",
               "{\"type\":\"Polygon\",\"coordinates\":[[[116.3,39.9],[116.5,40.0],[116.5,39.9],["
               "116.3,40.0],[116.3,39.9]]]}",
               "polygon is not valid: Self-intersection");
    expect_400("POST", "/api/v1/within",
               "{\"type\":\"Polygon\",\"coordinates\":[[[116.3,39.9],[116.5,40.0]]]}",
               "at least 4 positions");
    expect_400("POST", "/api/v1/within", "{\"type\":\"Point\",\"coordinates\":[116.3,39.9]}",
               "GeoJSON Polygon or MultiPolygon");
    expect_400("POST", "/api/v1/within", "{not json", "body is not JSON");
    expect_400("GET", "/api/v1/districts/at?lon=116.4&lat=200", NULL, "lat 200 is outside -90..90");
}

/* ---- the feature cache: same bytes as without it, and never stale. */

static char *get_body(const struct md_harness *h, const char *path)
{
    struct md_http_res r;
    assert_int_equal(md_http(h, "GET", path, NULL, NULL, 0, &r), 0);
    if (r.status != 200)
        fail_msg("GET %s: status %ld: %s", path, r.status, r.body);
    char *body = strdup(r.body);
    md_http_res_free(&r);
    return body;
}

static long long metric(const char *name)
{
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    char key[128];
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *p = strstr(r.body, key);
    long long v = p ? strtoll(p + strlen(key), NULL, 10) : -1;
    md_http_res_free(&r);
    if (v < 0)
        fail_msg("/metrics has no %s", name);
    return v;
}

/* Answers from the cache (asked twice: the second is served from it) are
 * byte for byte those of a server without it, in every crs. */
static void feature_cache_gives_the_same_bytes(void **state)
{
    (void)state;
    static const char *const args[] = {"--feature-cache-mb", "0", NULL};
    static const char *const crs[] = {"wgs84", "gcj02", "bd09"};
    struct md_harness plain;
    md_harness_start(&plain, args);
    long long hits0 = metric("mapd_feature_cache_hits_total");
    for (int i = 0; i < 150; i++) {
        double lon, lat;
        random_point(&lon, &lat);
        char path[256];
        if (i % 3 == 2)
            snprintf(path, sizeof(path),
                     "/api/v1/within?layer=%s&lon=%.6f&lat=%.6f&radius=800&limit=30&crs=%s",
                     i % 2 ? "reports" : "facilities", lon, lat, crs[i % 3]);
        else
            snprintf(path, sizeof(path), "/api/v1/nearest?layer=%s&lon=%.6f&lat=%.6f&k=%d&crs=%s",
                     i % 2 ? "reports" : "facilities", lon, lat, 1 + i % 20, crs[i % 3]);
        char *want = get_body(&plain, path);
        for (int round = 0; round < 2; round++) {
            char *got = get_body(&H, path);
            if (strcmp(got, want) != 0)
                fail_msg("%s (round %d): differs from the uncached answer:\n%.300s\n%.300s", path,
                         round, got, want);
            free(got);
        }
        free(want);
    }
    assert_true(metric("mapd_feature_cache_hits_total") > hits0 + 500);
    assert_int_equal(md_harness_stop(&plain), 0);
}

static void sql_write(const char *fmt, long long id, const char *text)
{
    sqlite3 *db = NULL;
    char *sql = sqlite3_mprintf(fmt, text, id);
    assert_int_equal(sqlite3_open_v2(H.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_free(sql);
    sqlite3_close(db);
}

static json_t *first_feature(json_t *fc)
{
    json_t *f = json_array_get(json_object_get(fc, "features"), 0);
    assert_non_null(f);
    return f;
}

/* Another process changes and deletes rows the cache holds: the very next
 * answer shows the change. */
static void feature_cache_follows_other_writers(void **state)
{
    (void)state;
    const char *near = "/api/v1/nearest?layer=facilities&lon=116.397&lat=39.909&k=3";
    const char *near_r = "/api/v1/nearest?layer=reports&lon=116.397&lat=39.909&k=3";
    json_decref(get(near, 200));
    json_t *fc = get(near, 200); /* now from the cache */
    long long id = json_integer_value(json_object_get(first_feature(fc), "id"));
    json_decref(fc);
    long long inval0 = metric("mapd_feature_cache_invalidated_total");
    sql_write("UPDATE facilities SET name = %Q WHERE id = %lld", id, "renamed by another process");
    fc = get(near, 200);
    json_t *f = first_feature(fc);
    assert_int_equal(json_integer_value(json_object_get(f, "id")), id);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(f, "properties"), "name")),
        "renamed by another process");
    json_decref(fc);
    assert_true(metric("mapd_feature_cache_invalidated_total") > inval0);

    json_decref(get(near_r, 200));
    fc = get(near_r, 200);
    id = json_integer_value(json_object_get(first_feature(fc), "id"));
    json_decref(fc);
    sql_write("UPDATE reports SET description = %Q WHERE id = %lld", id, "edited elsewhere");
    fc = get(near_r, 200);
    f = first_feature(fc);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(f, "properties"), "description")),
        "edited elsewhere");
    json_decref(fc);
    sql_write("DELETE FROM reports WHERE description = %Q AND id = %lld", id, "edited elsewhere");
    fc = get(near_r, 200);
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(fc, "features"), i, v)
        assert_true(json_integer_value(json_object_get(v, "id")) != id);
    json_decref(fc);
}

/* Facility categories are data: one added to the table is listed with its
 * names, coloured in the served style, given an icon in its sprite, and
 * accepted as a filter. */
static void facility_categories_are_data(void **state)
{
    (void)state;
    sql_write("INSERT INTO facility_categories(code, name_zh, name_en, color, sort)"
              " VALUES ('water_station', %Q, 'Drinking water', '#00ced1', %lld)",
              99, "饮水点");
    json_t *j = get("/api/v1/facility-categories", 200);
    json_t *arr = json_object_get(j, "facility_categories");
    assert_true(json_array_size(arr) >= 8);
    json_t *last = json_array_get(arr, json_array_size(arr) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "code")), "water_station");
    assert_string_equal(json_string_value(json_object_get(last, "name_zh")), "饮水点");
    assert_string_equal(json_string_value(json_object_get(last, "color")), "#00ced1");
    json_decref(j);

    j = get("/styles/mapd.json", 200);
    json_t *layer, *match = NULL;
    size_t i;
    json_array_foreach(json_object_get(j, "layers"), i, layer)
        if (strcmp(json_string_value(json_object_get(layer, "id")), "facilities-point") == 0)
            match = json_object_get(json_object_get(layer, "paint"), "icon-color");
    assert_non_null(match);
    bool found = false;
    for (size_t k = 2; k + 1 < json_array_size(match); k += 2)
        found =
            found || (strcmp(json_string_value(json_array_get(match, k)), "water_station") == 0 &&
                      strcmp(json_string_value(json_array_get(match, k + 1)), "#00ced1") == 0);
    assert_true(found);
    assert_int_equal(json_array_size(match) % 2, 1); /* match, input, pairs, fallback */
    json_decref(j);
    /* ... and gets its icon in the sprite (rebuilt when the codes change) */
    j = get("/styles/sprite@2x.json", 200);
    json_t *icon = json_object_get(j, "facility-water_station");
    assert_non_null(icon);
    assert_int_equal(json_integer_value(json_object_get(icon, "pixelRatio")), 2);
    assert_true(json_is_true(json_object_get(icon, "sdf")));
    json_decref(j);

    j = get("/api/v1/nearest?lon=116.4&lat=39.9&category=water_station", 200);
    assert_int_equal(json_array_size(json_object_get(j, "features")), 0);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nearest_facilities_equal_brute_force),
        cmocka_unit_test(nearest_distances_match_geod_cli),
        cmocka_unit_test(nearest_reports_with_filters),
        cmocka_unit_test(within_radius_equal_brute_force),
        cmocka_unit_test(within_radius_pages),
        cmocka_unit_test(within_bbox_equal_brute_force),
        cmocka_unit_test(within_polygon_equal_brute_force),
        cmocka_unit_test(within_district_uses_district_codes),
        cmocka_unit_test(within_keyset_pages_equal_whole),
        cmocka_unit_test(districts_at_agrees_with_stored_codes),
        cmocka_unit_test(crs_converts_in_and_out),
        cmocka_unit_test(bad_inputs_are_400_naming_the_parameter),
        cmocka_unit_test(feature_cache_gives_the_same_bytes),
        cmocka_unit_test(feature_cache_follows_other_writers),
        cmocka_unit_test(facility_categories_are_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
