/* Imports, exports and backups end to end: `mapd export`/HTTP exports
 * re-imported into an empty database give the same rows; Shapefile and
 * GeoPackage files made by ogr2ogr (EPSG:4498 Gauss-Kruger and EPSG:4490
 * CGCS2000) land where they belong; GCJ-02 input; a CSV with exactly three
 * bad rows reports exactly those three; exports hold public fields only;
 * an online backup taken while the server runs is consistent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static struct md_harness H;
static const char *bin;
static char dir[512];

static int setup(void **state)
{
    (void)state;
    md_harness_start(&H, NULL);
    bin = getenv("MAPD_BIN");
    assert_non_null(bin);
    snprintf(dir, sizeof(dir), "%s/io", H.dir);
    assert_int_equal(md_sh("mkdir -p '%s'", dir), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return md_harness_stop(&H) == 0 ? 0 : -1;
}

static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : status;
}

static int64_t sql_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* A new database with the sample's districts and grids imported from exports. */
static void fresh_db_with_areas(const char *db)
{
    assert_int_equal(md_sh("rm -f '%s' '%s-wal' '%s-shm' && '%s' init --db '%s' > /dev/null", db,
                           db, db, bin, db),
                     0);
    assert_int_equal(
        exit_code(md_sh("'%s' import --db '%s' --layer districts '%s/districts.geojson'"
                        " 2>> '%s/log'",
                        bin, db, dir, dir)),
        0);
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer grids '%s/grids.geojson'"
                                     " 2>> '%s/log'",
                                     bin, db, dir, dir)),
                     0);
}

#define FAC_COLS                                                                                   \
    "id, category, name, address, phone, opening_hours, district_code, grid_code,"                 \
    " status, source, updated_at, lon, lat"
#define REP_COLS                                                                                   \
    "id, kind, service_code, description, address, district_code, grid_code, status,"              \
    " parked_from, channel, media_urls, facility_id, proposed_change, merged_into,"                \
    " created_at, updated_at, expected_at, closed_at, lon, lat"

/* Rows of `table` (columns `cols`) in a that differ from b, both ways. */
static int64_t differing(const char *a, const char *b, const char *table, const char *cols)
{
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM (SELECT %s FROM main.%s EXCEPT SELECT %s FROM o.%s))"
             " + (SELECT count(*) FROM (SELECT %s FROM o.%s EXCEPT SELECT %s FROM main.%s))",
             cols, table, cols, table, cols, table, cols, table);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char attach[600];
    snprintf(attach, sizeof(attach), "ATTACH '%s' AS o", b);
    assert_int_equal(sqlite3_open_v2(a, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, attach, NULL, NULL, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void round_trip_export_import(void **state)
{
    (void)state;
    /* districts and grids with the CLI, facilities over HTTP, reports as CSV. */
    assert_int_equal(
        md_sh("'%s' export --db '%s' --layer districts --out '%s/districts.geojson' 2>/dev/null",
              bin, H.db, dir),
        0);
    assert_int_equal(
        md_sh("'%s' export --db '%s' --layer grids --out '%s/grids.geojson' 2>/dev/null", bin, H.db,
              dir),
        0);
    assert_int_equal(
        md_sh("curl -sf '%s/api/v1/export/facilities.geojson' -o '%s/facilities.geojson'", H.base,
              dir),
        0);
    assert_int_equal(
        md_sh("'%s' export --db '%s' --layer reports --format csv --out '%s/reports.csv'"
              " 2>/dev/null",
              bin, H.db, dir),
        0);
    char db[600];
    snprintf(db, sizeof(db), "%s/roundtrip.sqlite", dir);
    fresh_db_with_areas(db);
    assert_int_equal(
        exit_code(md_sh("'%s' import --db '%s' --layer facilities '%s/facilities.geojson'"
                        " 2>> '%s/log'",
                        bin, db, dir, dir)),
        0);
    assert_int_equal(
        exit_code(md_sh("'%s' import --db '%s' --layer reports --batch 7000 '%s/reports.csv'"
                        " 2>> '%s/log'",
                        bin, db, dir, dir)),
        0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM reports"), 20000);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM facilities"), 5000);
    assert_int_equal(
        differing(db, H.db, "districts", "code, name, name_en, label_lon, label_lat, updated_at"),
        0);
    assert_int_equal(differing(db, H.db, "grids", "code, district_code, updated_at"), 0);
    assert_int_equal(differing(db, H.db, "facilities", FAC_COLS), 0);
    assert_int_equal(differing(db, H.db, "reports", REP_COLS), 0);
    /* Geometry too, and the derived tables bulk mode rebuilds. */
    assert_int_equal(differing(db, H.db, "districts", "code, geom"), 0);
    assert_int_equal(differing(db, H.db, "grids", "code, geom"), 0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM idx_reports_geom"), 20000);
    assert_int_equal(sql_int(db, "SELECT row_count FROM layers WHERE name = 'reports'"), 20000);
    assert_int_equal(sql_int(db, "SELECT sum(n) FROM report_status_counts"), 20000);
    assert_int_equal(sql_int(db, "SELECT sum(n) FROM cluster_cells WHERE layer = 1 AND z = 1"),
                     20000);
}

/* Facilities re-read from `db` must sit where the original ones are (1 cm). */
static void assert_same_places(const char *db, int64_t want_rows)
{
    char sql[1024];
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM main.facilities f JOIN o.facilities g ON g.id = f.id"
        " WHERE abs(f.lon - g.lon) < 1e-7 AND abs(f.lat - g.lat) < 1e-7"
        " AND f.category = g.category AND f.name = g.name AND f.district_code = g.district_code");
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char attach[600];
    snprintf(attach, sizeof(attach), "ATTACH '%s' AS o", H.db);
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, attach, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), want_rows);
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static void shapefile_in_epsg4498_and_geopackage_in_cgcs2000(void **state)
{
    (void)state;
    char db[600];
    /* Shapefile, CGCS2000 / 3-degree... zone 20 Gauss-Kruger (EPSG:4498), with
     * DBF's 10-character field names. */
    assert_int_equal(md_sh("ogr2ogr -f 'ESRI Shapefile' -t_srs EPSG:4498 -lco ENCODING=UTF-8"
                           " '%s/fac4498.shp' '%s/facilities.geojson' 2>> '%s/log'",
                           dir, dir, dir),
                     0);
    assert_int_equal(
        md_sh("ogrinfo -so '%s/fac4498.shp' fac4498 > '%s/fac4498.info' 2>&1", dir, dir), 0);
    assert_int_equal(md_sh("grep -q 'Gauss-Kruger zone 20' '%s/fac4498.info'", dir), 0);
    snprintf(db, sizeof(db), "%s/shp.sqlite", dir);
    fresh_db_with_areas(db);
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer facilities '%s/fac4498.shp'"
                                     " --map opening_hours=opening_ho 2>> '%s/log'",
                                     bin, db, dir, dir)),
                     0);
    assert_same_places(db, 5000);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM facilities WHERE opening_hours = ''"), 0);

    /* GeoPackage in EPSG:4490 (CGCS2000 geographic, latitude-first axes). */
    assert_int_equal(
        md_sh("ogr2ogr -f GPKG -t_srs EPSG:4490 '%s/fac4490.gpkg' '%s/facilities.geojson'"
              " 2>> '%s/log'",
              dir, dir, dir),
        0);
    snprintf(db, sizeof(db), "%s/gpkg.sqlite", dir);
    fresh_db_with_areas(db);
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer facilities '%s/fac4490.gpkg'"
                                     " 2>> '%s/log'",
                                     bin, db, dir, dir)),
                     0);
    assert_same_places(db, 5000);

    /* The same Shapefile with --srs overriding a wrong .prj: declare it EPSG:4498. */
    assert_int_equal(md_sh("rm '%s/fac4498.prj'", dir), 0);
    snprintf(db, sizeof(db), "%s/shp2.sqlite", dir);
    fresh_db_with_areas(db);
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer facilities '%s/fac4498.shp'"
                                     " --srs EPSG:4498 --map opening_hours=opening_ho 2>> '%s/log'",
                                     bin, db, dir, dir)),
                     0);
    assert_same_places(db, 5000);
}

static void gcj02_input(void **state)
{
    (void)state;
    char db[600];
    assert_int_equal(
        md_sh("'%s' export --db '%s' --layer facilities --crs gcj02 --out '%s/fgcj.csv'"
              " 2>/dev/null",
              bin, H.db, dir),
        0);
    snprintf(db, sizeof(db), "%s/gcj.sqlite", dir);
    fresh_db_with_areas(db);
    assert_int_equal(
        exit_code(md_sh("'%s' import --db '%s' --layer facilities --crs gcj02 '%s/fgcj.csv'"
                        " 2>> '%s/log'",
                        bin, db, dir, dir)),
        0);
    assert_same_places(db, 5000);
}

static void csv_with_three_bad_rows(void **state)
{
    (void)state;
    char path[600], db[600], errs[600];
    snprintf(path, sizeof(path), "%s/bad.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name,category,lon,lat,status\n"
          "A,toilet,116.40,39.91,open\n"
          "B,market,116.41,39.92,open\n"
          "C,kiosk,116.42,abc,open\n" /* row 3: lat is not a number */
          "D,parking,116.43,39.93,\n"
          "E,casino,116.44,39.94,open\n" /* row 5: unknown category */
          "F,toilet,116.45,39.95,closed\n"
          "G,toilet,116.46,200,open\n" /* row 7: lat out of range */
          "\"H, with comma\",breakfast,116.47,39.96,unverified\n"
          "I,market,116.48,39.97,open\n"
          "J,toilet,116.381,39.981,open\n", /* in a sliver between two districts */
          f);
    fclose(f);
    snprintf(db, sizeof(db), "%s/bad.sqlite", dir);
    snprintf(errs, sizeof(errs), "%s/bad.err", dir);
    fresh_db_with_areas(db);
    int st = md_sh("'%s' import --db '%s' --layer facilities '%s' 2> '%s'", bin, db, path, errs);
    assert_int_equal(exit_code(st), 3);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM facilities"), 7);
    /* The sliver rule of md_store_locate: the nearest district and grid. */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM facilities WHERE name = 'J'"
                                 " AND district_code = '110105' AND length(grid_code) = 15"),
                     1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM facilities WHERE name = 'H, with comma'"),
                     1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM facilities WHERE district_code = '110101'"
                                 " AND name = 'A'"),
                     1);
    /* Exactly three "row N" lines, naming rows 3, 5 and 7 (lines 4, 6, 8). */
    assert_int_equal(md_sh("test $(grep -c '^row ' '%s') -eq 3", errs), 0);
    assert_int_equal(md_sh("grep -q '^row 3 (line 4): coordinates 116.42' '%s' ||"
                           " grep -q '^row 3 (line 4): lat must be a number' '%s'",
                           errs, errs),
                     0);
    assert_int_equal(md_sh("grep -q \"^row 5 (line 6): unknown category 'casino'\" '%s'", errs), 0);
    assert_int_equal(md_sh("grep -q '^row 7 (line 8): ' '%s'", errs), 0);
    assert_int_equal(md_sh("grep -q 'import: 7 of 10 rows into facilities (3 bad, 0 repaired, 1 "
                           "outside every district)' '%s'",
                           errs),
                     0);
}

/* Issue 11: an imported string holds no character that some output cannot
 * carry (the API's input rule, md_text_bad_char): the row is refused with
 * the field, the code point and its position. */
static void control_characters_refused(void **state)
{
    (void)state;
    char path[600], db[600], errs[600];
    snprintf(path, sizeof(path), "%s/ctl.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name,category,lon,lat,status\n"
          "A\001B,toilet,116.40,39.91,open\n"
          "ok,market,116.41,39.92,open\n"
          "C\xEF\xBF\xBE,kiosk,116.42,39.93,open\n",
          f);
    fclose(f);
    snprintf(db, sizeof(db), "%s/ctl.sqlite", dir);
    snprintf(errs, sizeof(errs), "%s/ctl.err", dir);
    fresh_db_with_areas(db);
    int st = md_sh("'%s' import --db '%s' --layer facilities '%s' 2> '%s'", bin, db, path, errs);
    assert_int_equal(exit_code(st), 3);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM facilities"), 1);
    assert_int_equal(md_sh("grep -q '^row 1 (line 2): name has control character U+0001 at "
                           "character 1' '%s'", errs), 0);
    assert_int_equal(md_sh("grep -q '^row 3 (line 4): name has control character U+FFFE at "
                           "character 1' '%s'", errs), 0);
}

/* Real files: the project's own beijing-districts.geojson (11 of 16 polygons
 * invalid) is repaired with MakeValid, each repair reported; a category map;
 * points outside every district kept or refused and counted; a missing file
 * says so; --quiet prints nothing on success. */
static void real_files_repairs_maps_outside(void **state)
{
    (void)state;
    const char *src = getenv("MAPD_SOURCE_DIR");
    assert_non_null(src);
    char db[600], errs[600], csv[600], map[600];
    snprintf(db, sizeof(db), "%s/real.sqlite", dir);
    snprintf(errs, sizeof(errs), "%s/real.err", dir);
    assert_int_equal(md_sh("rm -f '%s' && '%s' init --db '%s' > /dev/null", db, bin, db), 0);
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer districts --map code=id"
                                     " '%s/sample-data/beijing-districts.geojson' 2> '%s'",
                                     bin, db, src, errs)),
                     0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM districts"), 16);
    assert_int_equal(
        md_sh("grep -q 'import: 16 of 16 rows into districts (0 bad, 12 repaired,' '%s'", errs), 0);
    assert_int_equal(md_sh("test $(grep -c 'repaired an invalid polygon' '%s') -eq 12", errs), 0);

    snprintf(csv, sizeof(csv), "%s/shops.csv", dir);
    snprintf(map, sizeof(map), "%s/categories.map", dir);
    FILE *f = fopen(map, "w");
    assert_non_null(f);
    fputs("# source value,code\n公厕,toilet\r\n便利店,convenience_store\n", f);
    fclose(f);
    f = fopen(csv, "w");
    assert_non_null(f);
    fputs("name,category,lon,lat,status\n"
          "A,公厕,116.40,39.91,open\n"
          "B,便利店,116.41,39.92,open\n"
          "C,toilet,116.42,39.93,open\n" /* already a code */
          "D,洗衣店,116.43,39.94,open\n" /* row 4: in no map */
          "E,公厕,118.90,41.60,open\n",  /* row 5: far outside Beijing */
          f);
    fclose(f);
    /* --outside refuse: row 5 refused, counted */
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer facilities --category-map '%s'"
                                     " --outside refuse '%s' 2> '%s'",
                                     bin, db, map, csv, errs)),
                     3);
    assert_int_equal(md_sh("grep -q \"^row 4 (line 5): unknown category '洗衣店' (not a code, nor a"
                           " source value of --category-map)\" '%s'",
                           errs),
                     0);
    assert_int_equal(
        md_sh(
            "grep -q '^row 5 (line 6): point 118.900000,41.600000 is outside every district' '%s'",
            errs),
        0);
    assert_int_equal(md_sh("grep -q '(2 bad, 0 repaired, 1 outside every district)' '%s'", errs),
                     0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM facilities WHERE category = 'toilet'"), 2);
    assert_int_equal(
        sql_int(db, "SELECT count(*) FROM facilities WHERE category = 'convenience_store'"), 1);
    /* --outside keep: the point kept without district; --quiet: no summary at all */
    assert_int_equal(
        md_sh("rm -f '%s' && '%s' init --db '%s' > /dev/null && '%s' import --db '%s'"
              " --layer districts --map code=id --quiet '%s/sample-data/beijing-districts.geojson'"
              " > '%s' 2>&1",
              db, bin, db, bin, db, src, errs),
        0);
    assert_int_equal(md_sh("test ! -s '%s'", errs), 0);
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer facilities --category-map '%s'"
                                     " --outside keep '%s' 2> '%s'",
                                     bin, db, map, csv, errs)),
                     3);
    assert_int_equal(
        sql_int(db, "SELECT count(*) FROM facilities WHERE name = 'E' AND district_code IS NULL"
                    " AND grid_code IS NULL"),
        1);
    assert_int_equal(md_sh("grep -q '(1 bad, 0 repaired, 1 outside every district)' '%s'", errs),
                     0);
    /* A missing file says so. */
    assert_int_equal(
        exit_code(md_sh("'%s' import --db '%s' --layer facilities '%s/nope.csv' 2> '%s'", bin, db,
                        dir, errs)),
        1);
    assert_int_equal(md_sh("grep -q 'no such file: .*nope.csv' '%s'", errs), 0);
}

static void bad_invocations(void **state)
{
    (void)state;
    char db[600];
    snprintf(db, sizeof(db), "%s/empty.sqlite", dir);
    assert_int_equal(md_sh("rm -f '%s' && '%s' init --db '%s' > /dev/null", db, bin, db), 0);
    /* reports need districts */
    assert_int_equal(
        exit_code(md_sh("'%s' import --db '%s' --layer reports '%s/reports.csv' 2>/dev/null", bin,
                        db, dir)),
        1);
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer facilities /nonexistent.geojson"
                                     " 2>/dev/null",
                                     bin, db)),
                     1);
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer facilities --srs EPSG:999999"
                                     " '%s/facilities.geojson' 2>/dev/null",
                                     bin, db, dir)),
                     1);
    assert_int_equal(exit_code(md_sh("'%s' import --db '%s' --layer facilities --map nope=x"
                                     " '%s/facilities.geojson' 2>/dev/null",
                                     bin, db, dir)),
                     1);
    assert_int_equal(
        exit_code(md_sh("'%s' import --db '%s' --layer roads x.csv 2>/dev/null", bin, db)), 2);
}

static void exports_hold_public_fields_only(void **state)
{
    (void)state;
    char out[600];
    snprintf(out, sizeof(out), "%s/pub.csv", dir);
    assert_int_equal(md_sh("curl -sf '%s/api/v1/export/reports.csv' -o '%s'", H.base, out), 0);
    assert_int_equal(
        md_sh("head -1 '%s' | grep -qx 'id,kind,service_code,description,address,"
              "district_code,grid_code,status,parked_from,channel,media_urls,facility_id,"
              "proposed_change,merged_into,created_at,updated_at,expected_at,closed_at,lon,lat.'",
              out),
        0);
    assert_int_equal(md_sh("test $(wc -l < '%s') -eq 20001", out), 0);
    /* Neither tokens nor any reporter's phone number appear. */
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(H.db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT (SELECT token FROM reports WHERE token IS NOT NULL"
                                        " LIMIT 1), (SELECT phone FROM report_contacts WHERE phone"
                                        " IS NOT NULL LIMIT 1)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char token[64], phone[64];
    snprintf(token, sizeof(token), "%s", sqlite3_column_text(st, 0));
    snprintf(phone, sizeof(phone), "%s", sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    sqlite3_close(h);
    assert_int_not_equal(md_sh("grep -q '%s' '%s'", token, out), 0);
    assert_int_not_equal(md_sh("grep -q '%s' '%s'", phone, out), 0);
    assert_int_not_equal(
        md_sh("curl -sf '%s/api/v1/export/reports.geojson' | grep -q '%s'", H.base, token), 0);
    /* Filters apply; unknown layers and formats are 404, bad filters 400. */
    assert_int_equal(
        md_sh("test $(curl -sf '%s/api/v1/export/reports.csv?status=parked' | wc -l) -eq"
              " $(( $(sqlite3 '%s' \"select count(*) from reports where status='parked'\") + 1 ))",
              H.base, H.db),
        0);
    assert_int_equal(
        md_sh("test $(curl -s -o /dev/null -w '%%{http_code}' '%s/api/v1/export/roads.csv') = 404",
              H.base),
        0);
    assert_int_equal(
        md_sh(
            "test $(curl -s -o /dev/null -w '%%{http_code}' '%s/api/v1/export/reports.xml') = 404",
            H.base),
        0);
    assert_int_equal(md_sh("test $(curl -s -o /dev/null -w '%%{http_code}' "
                           "'%s/api/v1/export/reports.csv?status=x') = 400",
                           H.base),
                     0);
}

static void backup_while_serving(void **state)
{
    (void)state;
    char copy[600];
    snprintf(copy, sizeof(copy), "%s/backup.sqlite", dir);
    /* Readers and the exporter keep the server busy during the copy. */
    assert_int_equal(md_sh("(for i in 1 2 3 4 5; do curl -s '%s/api/v1/export/reports.geojson' > "
                           "/dev/null; done) &"
                           " '%s' backup --db '%s' --to '%s' 2>> '%s/log'; s=$?; wait; exit $s",
                           H.base, bin, H.db, copy, dir),
                     0);
    assert_int_equal(sql_int(copy, "SELECT count(*) FROM reports"),
                     sql_int(H.db, "SELECT count(*) FROM reports"));
    assert_int_equal(md_sh("test \"$(sqlite3 '%s' 'PRAGMA integrity_check')\" = ok", copy), 0);
    /* Refuses to overwrite without --force. */
    assert_int_equal(
        exit_code(md_sh("'%s' backup --db '%s' --to '%s' 2>/dev/null", bin, H.db, copy)), 2);
    assert_int_equal(
        exit_code(md_sh("'%s' backup --db '%s' --to '%s' --force 2>/dev/null", bin, H.db, copy)),
        0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_export_import),
        cmocka_unit_test(shapefile_in_epsg4498_and_geopackage_in_cgcs2000),
        cmocka_unit_test(gcj02_input),
        cmocka_unit_test(csv_with_three_bad_rows),
        cmocka_unit_test(control_characters_refused),
        cmocka_unit_test(real_files_repairs_maps_outside),
        cmocka_unit_test(bad_invocations),
        cmocka_unit_test(exports_hold_public_fields_only),
        cmocka_unit_test(backup_while_serving),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
