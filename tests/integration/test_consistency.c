/* test_consistency.c - issue 11, one meaning for each thing, against the
 * real server: unknown query parameters and unknown category/district codes
 * are a 400 naming them in every /api/v1 endpoint, export and the event
 * stream; one date-range parser (a date-only `to` includes that day) and
 * one comma-list grammar for status and category across reports, stats,
 * within, nearest, exports and Open311 (tests/integration/data/
 * consistency.py, checked against the database); lists newest first by
 * time, ties by id; a create with ?crs=gcj02 answers in GCJ-02; one
 * definition of overdue in tiles, the API and stats; numbers printed with
 * 12 significant digits in REST, exports and events alike.
 */
#include "harness.h"

#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static struct md_harness H;

static int setup(void **state)
{
    (void)state;
    md_harness_start(&H, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return md_harness_stop(&H);
}

static void expect_400(const char *path, const char *text)
{
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    if (r.status != 400 || !strstr(r.body, text))
        fprintf(stderr, "%s -> %ld %s\n", path, r.status, r.body);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, text));
    md_http_res_free(&r);
}

static void expect_200(const char *path)
{
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    if (r.status != 200)
        fprintf(stderr, "%s -> %ld %s\n", path, r.status, r.body);
    assert_int_equal(r.status, 200);
    md_http_res_free(&r);
}

static void unknown_query_parameters_are_refused(void **state)
{
    (void)state;
    expect_400("/api/v1/within?district=110101&catgory=toilet", "unknown query parameter 'catgory'");
    expect_400("/api/v1/export/reports.csv?satus=filed", "unknown query parameter 'satus'");
    expect_400("/api/v1/events?since=1", "unknown query parameter 'since'");
    expect_400("/api/v1/reports?stauts=filed", "unknown query parameter 'stauts'");
    expect_400("/api/v1/nearest?lon=116.4&lat=39.9&kk=3", "unknown query parameter 'kk'");
    expect_400("/api/v1/stats?byy=district", "unknown query parameter 'byy'");
    expect_400("/api/v1/hotspots?cel=500", "unknown query parameter 'cel'");
    expect_400("/api/v1/districts/at?lon=116.4&lat=39.9&x=1", "unknown query parameter 'x'");
    expect_400("/api/v1/categories?lang=en", "unknown query parameter 'lang'");
    expect_400("/api/v1/reports/1?crs=gcj02&fields=id", "unknown query parameter 'fields'");
    /* The parameters each route reads still pass. */
    expect_200("/api/v1/within?district=110101&category=kiosk&limit=5&offset=1&crs=gcj02");
    expect_200("/api/v1/nearest?lon=116.4&lat=39.9&k=3&layer=reports&status=filed&from=2026-01-01");
    expect_200("/api/v1/stats?by=district&at=2026-11-01&bbox=116,39,117,41");
    expect_200("/api/v1/hotspots?cell=500&shape=hex&limit=100");
    expect_200("/api/v1/reports?status=filed&overdue=false&updated_after=2026-01-01&limit=2");
    expect_200("/api/v1/export/grids.csv?district=110101");
}

static void unknown_codes_are_a_400_everywhere(void **state)
{
    (void)state;
    expect_400("/api/v1/reports?category=999999", "unknown category '999999'");
    expect_400("/api/v1/reports?category=200102,999998", "unknown category '999998'");
    expect_400("/api/v1/reports?district=999999", "unknown district '999999'");
    expect_400("/api/v1/within?bbox=116,39,117,41&layer=reports&category=999999",
               "unknown category");
    expect_400("/api/v1/nearest?lon=116.4&lat=39.9&category=toilet_x", "unknown category");
    expect_400("/api/v1/stats?district=999999", "unknown district");
    expect_400("/api/v1/export/reports.csv?category=999999", "unknown category");
    expect_400("/api/v1/within?district=999999", "unknown district");
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", "/open311/v2/requests.json?service_code=999999", NULL, NULL,
                             0, &r), 0);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "999999"));
    md_http_res_free(&r);
    expect_400("/api/v1/within?bbox=116,39,117,41&layer=reports&status=filed,nope",
               "status 'nope' is not a report status");
}

static void one_date_range_and_one_list_grammar(void **state)
{
    (void)state;
    assert_int_equal(md_sh("python3 '%s/tests/integration/data/consistency.py' '%s' '%s'",
                           getenv("MAPD_SOURCE_DIR"), H.base, H.db),
                     0);
}

static void lists_are_newest_first_by_time(void **state)
{
    (void)state;
    /* The newest report by id is made the oldest by time: it must leave the
     * head of the list (ordered by created_at, ties by id). */
    assert_int_equal(md_sh("sqlite3 '%s' \"UPDATE reports SET created_at = created_at - 400 * 86400"
                           " WHERE id = (SELECT max(id) FROM reports)\"", H.db), 0);
    assert_int_equal(md_sh("python3 -c 'import json,sys,urllib.request;"
                           " r=json.load(urllib.request.urlopen(\"%s/api/v1/reports?limit=200\"))[\"reports\"];"
                           " k=[(x[\"created_at\"], x[\"id\"]) for x in r];"
                           " assert k == sorted(k, reverse=True), k[:5]'",
                           H.base), 0);
}

static double json_num(const char *body, const char *key)
{
    char want[64];
    snprintf(want, sizeof(want), "\"%s\":", key);
    const char *p = strstr(body, want);
    assert_non_null(p);
    return strtod(p + strlen(want), NULL);
}

static void create_answers_in_the_requested_crs(void **state)
{
    (void)state;
    const char *body = "{\"category\":\"200102\",\"lon\":116.4101,\"lat\":39.9101}";
    struct md_http_res r;
    assert_int_equal(md_http(&H, "POST", "/api/v1/reports?crs=gcj02", NULL, body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 201);
    /* The point was given in GCJ-02 and comes back the same, not in WGS84
     * (about 600 m away in Beijing). */
    assert_true(fabs(json_num(r.body, "lon") - 116.4101) < 1e-6);
    assert_true(fabs(json_num(r.body, "lat") - 39.9101) < 1e-6);
    long long id = (long long)json_num(r.body, "id");
    md_http_res_free(&r);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld?crs=gcj02", id);
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    assert_true(fabs(json_num(r.body, "lon") - 116.4101) < 1e-6);
    md_http_res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/reports/%lld", id);
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    assert_true(fabs(json_num(r.body, "lon") - 116.4101) > 1e-3); /* WGS84 differs */
    md_http_res_free(&r);
}

static void overdue_has_one_definition(void **state)
{
    (void)state;
    /* A handled case past its deadline waits on the centre, a parked one is
     * suspended: neither is overdue in the API, stats or tiles. */
    assert_int_equal(md_sh("python3 - '%s' '%s' <<'EOF'\n"
                           "import json, sqlite3, subprocess, sys, urllib.request\n"
                           "base, db = sys.argv[1], sys.argv[2]\n"
                           "def get(p):\n"
                           "    return urllib.request.urlopen(base + p, timeout=60).read()\n"
                           "c = sqlite3.connect(db)\n"
                           "ids = [r[0] for r in c.execute(\"SELECT id FROM reports WHERE status IN"
                           " ('handled','parked') AND expected_at IS NOT NULL LIMIT 5\")]\n"
                           "assert ids, 'no handled/parked cases with a deadline'\n"
                           "c.execute('UPDATE reports SET expected_at = 1000 WHERE id IN (%%s)'"
                           " %% ','.join(map(str, ids)))\n"
                           "c.commit()\n"
                           "for i in ids:\n"
                           "    assert json.loads(get('/api/v1/reports/%%d' %% i))['overdue'] is False\n"
                           "s = json.loads(get('/api/v1/stats?status=handled,parked'))['total']\n"
                           "assert s['overdue'] == 0, s\n"
                           "lst = json.loads(get('/api/v1/reports?overdue=true&limit=10000'))['reports']\n"
                           "assert not set(ids) & {r['id'] for r in lst}\n"
                           "print('ok', ids)\n"
                           "EOF",
                           H.base, H.db),
                     0);
    /* Tiles: GDAL's MVT driver decodes the z16 tiles of those reports. */
    assert_int_equal(md_sh("python3 - '%s' '%s' <<'EOF'\n"
                           "import math, sqlite3, subprocess, sys, urllib.request, tempfile, os\n"
                           "base, db = sys.argv[1], sys.argv[2]\n"
                           "c = sqlite3.connect(db)\n"
                           "rows = list(c.execute('SELECT id, lon, lat FROM reports WHERE"
                           " expected_at = 1000'))\n"
                           "z = 16\n"
                           "for rid, lon, lat in rows:\n"
                           "    n = 2 ** z\n"
                           "    x = int((lon + 180) / 360 * n)\n"
                           "    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)\n"
                           "    data = urllib.request.urlopen('%%s/tiles/reports/%%d/%%d/%%d.mvt'"
                           " %% (base, z, x, y)).read()\n"
                           "    f = tempfile.NamedTemporaryFile(suffix='.mvt', delete=False)\n"
                           "    f.write(data); f.close()\n"
                           "    out = subprocess.run(['ogrinfo', '-ro', '-al', '-q', '-where',"
                           " 'mvt_id = %%d' %% rid, '-oo', 'X=%%d' %% x, '-oo', 'Y=%%d' %% y, '-oo',"
                           " 'Z=%%d' %% z, f.name], capture_output=True, text=True).stdout\n"
                           "    os.unlink(f.name)\n"
                           "    assert 'overdue (Integer(Boolean)) = 0' in out, out\n"
                           "print('tiles ok', len(rows))\n"
                           "EOF",
                           H.base, H.db),
                     0);
}

/* overdue of report `id` in its z16 tile (GDAL decodes it). */
static int tile_overdue(long long id, double lon, double lat)
{
    char cmd[1200], out[64] = "";
    snprintf(cmd, sizeof(cmd), "python3 '%s/tests/integration/data/tile_overdue.py' '%s' %lld %.7f %.7f",
             getenv("MAPD_SOURCE_DIR"), H.base, id, lon, lat);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(out, sizeof(out), p))
        out[0] = '\0';
    assert_int_equal(pclose(p), 0);
    return atoi(out);
}

static void cached_tiles_follow_deadlines(void **state)
{
    (void)state;
    const char *body = "{\"category\":\"200102\",\"lon\":116.3871234,\"lat\":39.9212345}";
    struct md_http_res r;
    assert_int_equal(md_http(&H, "POST", "/api/v1/reports", NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    long long id = (long long)json_num(r.body, "id");
    md_http_res_free(&r);
    /* Dispatched, with a deadline ten seconds ahead (a write: the tile
     * cache drops the report's tiles for it, as for any write). */
    assert_int_equal(md_sh("sqlite3 '%s' \"UPDATE reports SET status = 'dispatched', expected_at ="
                           " CAST(strftime('%%s', 'now') AS INTEGER) + 10 WHERE id = %lld\"",
                           H.db, id), 0);
    assert_int_equal(tile_overdue(id, 116.3871234, 39.9212345), 0);
    assert_int_equal(tile_overdue(id, 116.3871234, 39.9212345), 0); /* now from the cache */
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld", id);
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    if (!strstr(r.body, "\"overdue\":false"))
        fprintf(stderr, "%s\n", r.body);
    assert_non_null(strstr(r.body, "\"overdue\":false"));
    md_http_res_free(&r);
    /* The deadline passes with no write at all: the cached tile must not
     * keep the old answer. */
    sleep(13);
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    assert_non_null(strstr(r.body, "\"overdue\":true"));
    md_http_res_free(&r);
    assert_int_equal(tile_overdue(id, 116.3871234, 39.9212345), 1);
}

static void numbers_print_alike_everywhere(void **state)
{
    (void)state;
    /* A point whose WGS84 conversion has more than 12 significant digits:
     * the REST answer and the event print it alike, with 12; the GeoJSON
     * export prints 12 where that reads back the stored double and up to 17
     * where not (exports are lossless: integration/import's round trip). */
    const char *body = "{\"category\":\"200102\",\"lon\":116.41234567,\"lat\":39.91234567}";
    struct md_http_res r;
    assert_int_equal(md_http(&H, "POST", "/api/v1/reports?crs=gcj02", NULL, body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 201);
    long long id = (long long)json_num(r.body, "id");
    md_http_res_free(&r);
    assert_int_equal(md_sh("python3 - '%s' %lld <<'EOF'\n"
                           "import json, re, sys, urllib.request\n"
                           "base, rid = sys.argv[1], int(sys.argv[2])\n"
                           "def get(p):\n"
                           "    return urllib.request.urlopen(base + p, timeout=60).read().decode()\n"
                           "def digits(s):\n"
                           "    return max(len(re.sub(r'[^0-9]', '', m).lstrip('0'))"
                           " for m in re.findall(r'-?[0-9]+\\.[0-9]+', s))\n"
                           "rest = get('/api/v1/reports/%%d' %% rid)\n"
                           "exp = get('/api/v1/export/reports.geojson')\n"
                           "feat = [l for l in exp.split('\\n') if '\"id\":%%d,' %% rid in l"
                           " or '\"id\":%%d}' %% rid in l]\n"
                           "import subprocess\n"
                           "ev = subprocess.run(['curl', '-s', '--max-time', '3', '-H', 'Last-Event-ID: 1',"
                           " base + '/api/v1/events'], capture_output=True, text=True).stdout\n"
                           "ev = [l for l in ev.split('\\n') if l.startswith('data:') and"
                           " '\"id\":%%d,' %% rid in l]\n"
                           "assert ev and feat, (len(ev), len(feat))\n"
                           "d = (digits(rest), digits(feat[0]), digits(ev[0]))\n"
                           "print(d)\n"
                           "assert d[0] == d[2] and 10 <= d[0] <= 12 and 10 <= d[1] <= 17, d\n"
                           "EOF",
                           H.base, id),
                     0);
}

/* The ids of one page of `path`; *next gets its keyset cursor ("" when none). */
static int page_ids(const char *path, int64_t *ids, int max, char *next, size_t n)
{
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    if (r.status != 200)
        fprintf(stderr, "%s -> %ld %s\n", path, r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    json_t *arr = json_object_get(j, "reports"), *item;
    size_t i;
    int k = 0;
    json_array_foreach(arr, i, item) if (k < max) ids[k++] =
        json_integer_value(json_object_get(item, "id"));
    const char *nx = json_string_value(json_object_get(j, "next"));
    snprintf(next, n, "%s", nx ? nx : "");
    assert_int_equal(json_is_true(json_object_get(j, "more")), nx != NULL);
    json_decref(j);
    md_http_res_free(&r);
    return k;
}

/* Keyset pages (after = the previous page's `next`) walk the same rows as
 * offset pages, in both orders and with a filter; cursors are checked. */
static void keyset_pages_walk_the_list(void **state)
{
    (void)state;
    static const char *const lists[] = {"/api/v1/reports?limit=37",
                                        "/api/v1/reports?limit=37&sort=supporters",
                                        "/api/v1/reports?limit=37&status=reported,filed"};
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        char path[512], next[96] = "";
        int64_t by_offset[37], by_key[37];
        for (int page = 0; page < 6; page++) {
            snprintf(path, sizeof(path), "%s&offset=%d", lists[l], page * 37);
            char ignore[96];
            int n1 = page_ids(path, by_offset, 37, ignore, sizeof(ignore));
            if (page == 0)
                snprintf(path, sizeof(path), "%s", lists[l]);
            else
                snprintf(path, sizeof(path), "%s&after=%s", lists[l], next);
            int n2 = page_ids(path, by_key, 37, next, sizeof(next));
            assert_int_equal(n1, n2);
            for (int i = 0; i < n1; i++)
                assert_int_equal(by_offset[i], by_key[i]);
            if (!next[0])
                break;
        }
    }
    expect_400("/api/v1/reports?after=12", "after must be the `next` cursor");
    expect_400("/api/v1/reports?after=1.2.3", "after must be the `next` cursor");
    expect_400("/api/v1/reports?after=s1.2.3", "other sort order");
    expect_400("/api/v1/reports?after=1.2&offset=5", "after and offset exclude each other");
    expect_400("/api/v1/reports?sort=supporters&after=s1.2", "after must be the `next` cursor");
}

/* Tiles, TileJSON and styles are WGS84 or GCJ-02; any other crs is a 400,
 * not ignored. */
static void tiles_refuse_another_crs(void **state)
{
    (void)state;
    expect_400("/tiles/facilities/14/13489/6208.mvt?crs=bd09",
               "Baidu base maps use their own tiling");
    expect_400("/tiles/facilities.json?crs=bd09", "Baidu base maps use their own tiling");
    expect_400("/styles/mapd.json?crs=bd09", "Baidu base maps use their own tiling");
    expect_400("/tiles/facilities.json?crs=junk", "unknown crs 'junk'");
    expect_400("/styles/mapd.json?crs=EPSG:4490",
               "served in wgs84 (EPSG:3857, the default) or gcj02");
    expect_200("/tiles/facilities.json?crs=wgs84");
    expect_200("/tiles/facilities.json?crs=gcj02");
    expect_200("/styles/mapd.json?crs=gcj02");
    expect_200("/styles/mapd.json");
}

static void tile_cache_state(const char *path, const char *want)
{
    struct md_http_res r;
    char v[32] = "";
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    assert_true(r.status == 200 || r.status == 204);
    assert_true(md_http_header(&r, "X-Tile-Cache", v, sizeof(v)));
    if (strcmp(v, want) != 0)
        fprintf(stderr, "%s: X-Tile-Cache %s, want %s\n", path, v, want);
    assert_string_equal(v, want);
    md_http_res_free(&r);
}

/* A composite tile is built from its layers' own cache entries: rendering
 * it caches each layer alone, and a new report drops only the reports part
 * (the other layers' parts stay cached). */
static void composite_tiles_cache_their_layers(void **state)
{
    (void)state;
    static const char comp[] = "/tiles/districts,facilities,reports/13/6744/3104.mvt";
    tile_cache_state(comp, "miss");
    tile_cache_state("/tiles/facilities/13/6744/3104.mvt", "hit");
    tile_cache_state("/tiles/reports/13/6744/3104.mvt", "hit");
    tile_cache_state(comp, "hit");
    struct md_http_res r;
    static const char body[] = "{\"category\":\"200104\",\"lon\":116.3967,\"lat\":39.9087}";
    const char *const hdr[] = {"Content-Type: application/json", NULL};
    assert_int_equal(md_http(&H, "POST", "/api/v1/reports", hdr, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    md_http_res_free(&r);
    tile_cache_state("/tiles/facilities/13/6744/3104.mvt", "hit");
    tile_cache_state(comp, "miss");
    tile_cache_state("/tiles/reports/13/6744/3104.mvt", "hit"); /* re-rendered for comp */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_query_parameters_are_refused),
        cmocka_unit_test(unknown_codes_are_a_400_everywhere),
        cmocka_unit_test(one_date_range_and_one_list_grammar),
        cmocka_unit_test(lists_are_newest_first_by_time),
        cmocka_unit_test(create_answers_in_the_requested_crs),
        cmocka_unit_test(overdue_has_one_definition),
        cmocka_unit_test(numbers_print_alike_everywhere),
        cmocka_unit_test(cached_tiles_follow_deadlines),
        cmocka_unit_test(keyset_pages_walk_the_list),
        cmocka_unit_test(tiles_refuse_another_crs),
        cmocka_unit_test(composite_tiles_cache_their_layers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
