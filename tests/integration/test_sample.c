/* The sample city: deterministic contents, every point inside its district and grid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "areas.h"
#include "store.h"
#include "store_int.h"

static const char *const tables[] = {"facilities",      "reports",   "report_history",
                                     "report_contacts", "districts", "grids",
                                     "cluster_cells",   "layers",    "basemap"};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* FNV-1a over every value of every row, in primary-key order. */
static uint64_t table_checksum(struct md_store *s, const char *table)
{
    char sql[256];
    /* `layers` carries row counts and versions; all deterministic except nothing. */
    snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1, 2, 3", table);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(md_store_db(s), sql, -1, &st, NULL), SQLITE_OK);
    uint64_t h = 0xcbf29ce484222325ull;
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            int type = sqlite3_column_type(st, c);
            h = fnv(h, &type, sizeof(type));
            if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
                char num[64];
                snprintf(num, sizeof(num), "%.17g", sqlite3_column_double(st, c));
                h = fnv(h, num, strlen(num));
            } else if (type != SQLITE_NULL) {
                const void *v = sqlite3_column_blob(st, c);
                h = fnv(h, v, (size_t)sqlite3_column_bytes(st, c));
            }
        }
    }
    sqlite3_finalize(st);
    assert_true(rows > 0);
    return h;
}

static void make_sample(const char *path, int seed)
{
    md_sh("rm -f %s %s-wal %s-shm", path, path, path);
    assert_int_equal(md_sh("%s sample --db %s --facilities 800 --reports 2500 --seed %d --quiet",
                           getenv("MAPD_BIN"), path, seed),
                     0);
}

static void checksums(const char *path, uint64_t *out)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    assert_int_equal(md_store_open(path, MD_STORE_READONLY, &s, &ctx), MD_OK);
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        out[i] = table_checksum(s, tables[i]);
    md_store_close(s);
}

static void same_seed_same_contents(void **state)
{
    (void)state;
    const size_t n = sizeof(tables) / sizeof(tables[0]);
    uint64_t a[sizeof(tables) / sizeof(tables[0])], b[sizeof(a) / sizeof(a[0])],
        c[sizeof(a) / sizeof(a[0])];
    make_sample("mapd-sample-a.sqlite", 42);
    make_sample("mapd-sample-b.sqlite", 42);
    make_sample("mapd-sample-c.sqlite", 43);
    checksums("mapd-sample-a.sqlite", a);
    checksums("mapd-sample-b.sqlite", b);
    checksums("mapd-sample-c.sqlite", c);
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            fail_msg("table %s differs between two runs with seed 42", tables[i]);
    }
    assert_true(a[0] != c[0]); /* facilities differ with another seed */
    assert_true(a[1] != c[1]); /* reports too */
    md_sh("rm -f mapd-sample-[abc].sqlite*");
}

static int64_t count(struct md_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(md_store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(md_store_db(s)));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void points_lie_in_their_district_and_grid(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    assert_int_equal(md_store_open(getenv("MAPD_FIXTURE_DB"), MD_STORE_READONLY, &s, &ctx), MD_OK);
    assert_int_equal(count(s, "SELECT count(*) FROM reports"), 20000);
    /* Checked with SpatiaLite/GEOS against the stored polygons. */
    assert_int_equal(count(s, "SELECT count(*) FROM reports r JOIN districts d"
                              " ON d.code = r.district_code WHERE ST_Intersects(d.geom, r.geom) = 1"),
                     20000);
    assert_int_equal(count(s, "SELECT count(*) FROM reports r JOIN grids g"
                              " ON g.code = r.grid_code WHERE ST_Intersects(g.geom, r.geom) = 1"),
                     20000);
    assert_int_equal(count(s, "SELECT count(*) FROM facilities f JOIN districts d"
                              " ON d.code = f.district_code WHERE ST_Intersects(d.geom, f.geom) = 1"),
                     5000);
    /* Grid codes: 15 digits starting with their district's code. */
    assert_int_equal(count(s, "SELECT count(*) FROM grids WHERE length(code) <> 15"
                              " OR substr(code, 1, 6) <> district_code"),
                     0);
    /* Every category and every workflow state is present. */
    assert_int_equal(count(s, "SELECT count(DISTINCT category) FROM facilities"),
                     count(s, "SELECT count(*) FROM facility_categories"));
    assert_int_equal(count(s, "SELECT count(DISTINCT status) FROM reports"), 8);
    assert_int_equal(count(s, "SELECT count(DISTINCT service_code) FROM reports"),
                     count(s, "SELECT count(*) FROM categories WHERE code <> '900004'"));
    /* Density: the urban core (Dongcheng + Xicheng, ~93 km2) holds far more per km2 than Yanqing. */
    int64_t core = count(s, "SELECT count(*) FROM reports WHERE district_code IN ('110101','110102')");
    int64_t yanqing = count(s, "SELECT count(*) FROM reports WHERE district_code = '110119'");
    assert_true(core > 2000);
    assert_true((double)core / 93.0 > 20.0 * ((double)yanqing / 1994.0));
    /* History matches status: the last history row's to_status is the report's status. */
    assert_int_equal(count(s, "SELECT count(*) FROM reports r WHERE r.status <> (SELECT to_status"
                              " FROM report_history h WHERE h.report_id = r.id ORDER BY h.id DESC LIMIT 1)"),
                     0);
    /* Locating: a point in a sliver between two digitised borders goes to the
     * nearest district; a point far outside the city is outside. */
    char district[MD_DISTRICT_CODE_MAX], grid[MD_GRID_CODE_MAX];
    md_ctx_init(&ctx);
    assert_int_equal(md_store_locate(s, 116.397, 39.909, district, grid, &ctx), MD_OK);
    assert_string_equal(district, "110101");
    assert_int_equal(strlen(grid), 15);
    assert_int_equal(md_store_locate(s, 116.381, 39.981, district, grid, &ctx), MD_OK);
    assert_string_equal(district, "110105");
    assert_int_equal(strlen(grid), 15);
    assert_int_equal(md_store_locate(s, 121.47, 31.23, district, grid, &ctx), MD_ENOTFOUND);
    assert_non_null(strstr(ctx.msg, "outside every district"));
    /* The spatial indexes are populated. */
    assert_int_equal(count(s, "SELECT count(*) FROM idx_reports_geom"), 20000);
    assert_int_equal(count(s, "SELECT count(*) FROM idx_facilities_geom"), 5000);
    md_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_contents),
        cmocka_unit_test(points_lie_in_their_district_and_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
