/* Exports served from files (api/export_cache.c): Content-Length, ETag,
 * Range/206, 416, If-None-Match/304, gzip twin; GDAL's /vsicurl/ opens the
 * CSV export; a new data version gets a new file; and a deliberately slow
 * reader during concurrent writes leaves the WAL under a bound, since no
 * client holds a database snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <sqlite3.h>
#include <spatialite.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

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
    return md_harness_stop(&H) == 0 ? 0 : -1;
}

static int64_t sql_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(H.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static struct md_http_res get(const char *path, const char *const *headers, long want)
{
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", path, headers, NULL, 0, &r), 0);
    if (r.status != want)
        fail_msg("GET %s: %ld, want %ld: %.200s", path, r.status, want, r.body);
    return r;
}

static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0, k;
    char *out = malloc(cap);
    while ((k = fread(out + n, 1, cap - n - 1, p)) > 0)
        if ((n += k) + 1024 > cap)
            out = realloc(out, cap *= 2);
    out[n] = '\0';
    pclose(p);
    return out;
}

/* Length, validators and ranges of one export. */
static void length_etag_ranges_gzip(void **state)
{
    (void)state;
    char v[256], etag[128];
    struct md_http_res full = get("/api/v1/export/facilities.csv", NULL, 200);
    assert_true(md_http_header(&full, "Content-Length", v, sizeof(v)));
    assert_int_equal(strtoull(v, NULL, 10), full.len);
    assert_true(md_http_header(&full, "ETag", etag, sizeof(etag)));
    assert_true(md_http_header(&full, "Accept-Ranges", v, sizeof(v)));
    assert_string_equal(v, "bytes");
    assert_int_equal(strncmp(full.body, "id,", 3), 0);

    const char *range[] = {"Range: bytes=100-1099", NULL};
    struct md_http_res part = get("/api/v1/export/facilities.csv", range, 206);
    assert_int_equal(part.len, 1000);
    assert_memory_equal(part.body, full.body + 100, 1000);
    assert_true(md_http_header(&part, "Content-Range", v, sizeof(v)));
    char want[96];
    snprintf(want, sizeof(want), "bytes 100-1099/%zu", full.len);
    assert_string_equal(v, want);
    md_http_res_free(&part);
    const char *suffix[] = {"Range: bytes=-10", NULL};
    part = get("/api/v1/export/facilities.csv", suffix, 206);
    assert_memory_equal(part.body, full.body + full.len - 10, 10);
    md_http_res_free(&part);
    const char *past[] = {"Range: bytes=999999999-", NULL};
    part = get("/api/v1/export/facilities.csv", past, 416);
    assert_true(md_http_header(&part, "Content-Range", v, sizeof(v)));
    snprintf(want, sizeof(want), "bytes */%zu", full.len);
    assert_string_equal(v, want);
    md_http_res_free(&part);

    char inm[160];
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    const char *cond[] = {inm, NULL};
    part = get("/api/v1/export/facilities.csv", cond, 304);
    md_http_res_free(&part);
    char ifr[160];
    snprintf(ifr, sizeof(ifr), "If-Range: \"other\"");
    const char *stale[] = {"Range: bytes=0-9", ifr, NULL};
    part = get("/api/v1/export/facilities.csv", stale, 200); /* another version: all of it */
    assert_int_equal(part.len, full.len);
    md_http_res_free(&part);

    /* gzip twin: the same bytes once decompressed (curl decodes). */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "curl -s --compressed -D - -o '%s/fac.csv' '%s/api/v1/export/facilities.csv' |"
             " tr -d '\\r' | grep -i '^content-encoding:'",
             H.dir, H.base);
    char *enc = run(cmd);
    assert_non_null(strstr(enc, "gzip"));
    free(enc);
    snprintf(cmd, sizeof(cmd), "%s/fac.csv", H.dir);
    FILE *f = fopen(cmd, "rb");
    assert_non_null(f);
    char *back = malloc(full.len + 1);
    assert_int_equal(fread(back, 1, full.len + 1, f), full.len);
    fclose(f);
    assert_memory_equal(back, full.body, full.len);
    free(back);
    md_http_res_free(&full);
}

/* GDAL's /vsicurl/ (HEAD for the size, then Range requests) opens the CSV export. */
static void vsicurl_opens_the_csv_export(void **state)
{
    (void)state;
    char cmd[1024], want[64];
    snprintf(cmd, sizeof(cmd),
             "ogrinfo --debug on -ro -so -al '/vsicurl/%s/api/v1/export/facilities.csv' 2>&1",
             H.base);
    char *out = run(cmd);
    snprintf(want, sizeof(want), "Feature Count: %lld",
             (long long)sql_int("SELECT count(*) FROM facilities"));
    if (!strstr(out, want))
        fail_msg("want '%s' in:\n%.2000s", want, out);
    assert_non_null(strstr(out, "response_code=206"));
    free(out);
}

/* A change to the layer is a new version: a new ETag and file, the old file gone. */
static void new_data_version_new_file(void **state)
{
    (void)state;
    char a[128], b[128];
    struct md_http_res r = get("/api/v1/export/districts.csv", NULL, 200);
    assert_true(md_http_header(&r, "ETag", a, sizeof(a)));
    md_http_res_free(&r);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(H.db, &db), SQLITE_OK);
    void *splite = spatialite_alloc_connection();
    spatialite_init_ex(db, splite, 0);
    sqlite3_busy_timeout(db, 10000);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE districts SET name_en = name_en || ' (new)'"
                                  " WHERE code = '110101'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    spatialite_cleanup_ex(splite);
    r = get("/api/v1/export/districts.csv", NULL, 200);
    assert_true(md_http_header(&r, "ETag", b, sizeof(b)));
    assert_string_not_equal(a, b);
    assert_non_null(strstr(r.body, " (new)"));
    md_http_res_free(&r);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "ls '%s.exports' | grep -c '^%.*s' ", H.db, 24, a + 1);
    char *n = run(cmd);
    assert_int_equal(atoi(n), 2); /* the new .csv and its .gz only */
    free(n);
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* The bound: a slow reader of the biggest export while 64 MiB are written
 * leaves the WAL at most 16 MiB (with a held snapshot it would hold every
 * page written: > 64 MiB). */
#define WAL_BOUND (16LL << 20)
static void slow_reader_does_not_pin_the_wal(void **state)
{
    (void)state;
    char cmd[1024], pidfile[600], wal[600];
    snprintf(pidfile, sizeof(pidfile), "%s/slow.pid", H.dir);
    snprintf(wal, sizeof(wal), "%s-wal", H.db);
    /* built first, so the slow reader only reads the file */
    struct md_http_res r = get("/api/v1/export/reports.geojson", NULL, 200);
    size_t total = r.len;
    md_http_res_free(&r);
    snprintf(cmd, sizeof(cmd),
             "curl -s --limit-rate 20k -o /dev/null '%s/api/v1/export/reports.geojson' &"
             " echo $! > '%s'",
             H.base, pidfile);
    assert_int_equal(md_sh("%s", cmd), 0);
    sleep(1);
    FILE *f = fopen(pidfile, "r");
    assert_non_null(f);
    int pid = 0;
    assert_int_equal(fscanf(f, "%d", &pid), 1);
    fclose(f);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(H.db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t_wal_load (b BLOB)", NULL, NULL, NULL),
        SQLITE_OK);
    long long peak = 0;
    for (int i = 0; i < 64; i++) { /* 1 MiB per transaction, concurrent with the reader */
        assert_int_equal(sqlite3_exec(db,
                                      "BEGIN; DELETE FROM t_wal_load;"
                                      " INSERT INTO t_wal_load VALUES (randomblob(1048576));"
                                      " COMMIT",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        long long now = file_size(wal);
        peak = now > peak ? now : peak;
    }
    assert_int_equal(sqlite3_exec(db, "DROP TABLE t_wal_load", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(kill(pid, 0), 0); /* the reader was still reading all along */
    kill(pid, SIGTERM);
    print_message("export %zu bytes read at 20 KiB/s; WAL peak %lld bytes (bound %lld)\n", total,
                  peak, WAL_BOUND);
    assert_true(total > 1 << 20);
    assert_true(peak < WAL_BOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(length_etag_ranges_gzip),
        cmocka_unit_test(vsicurl_opens_the_csv_export),
        cmocka_unit_test(new_data_version_new_file),
        cmocka_unit_test(slow_reader_does_not_pin_the_wal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
