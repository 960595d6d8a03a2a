/* `mapd init` and `mapd sample` with --db postgresql://... on a throwaway
 * cluster:
 *   - sample_into_pg: the sample city lands in PostgreSQL with the same
 *     row counts and the same facilities (id, name, position) as the same
 *     options give in a SpatiaLite file, under mapd's schema version;
 *   - sample_twice_refused: a second sample into the same database fails
 *     with a clear message and leaves its rows as they were;
 *   - init_into_pg: init gives an empty city with the categories;
 *   - bad_uri: an unreachable server is an error naming the connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pg_harness.h"

static struct md_pg_cluster pg;
static char dir[64] = "/tmp/mapd-pgcli-XXXXXX";
static const char *bin;

static char *uri_of(const char *dbname, char out[256])
{
    snprintf(out, 256, "postgresql://postgres@127.0.0.1:%u/%s", pg.port, dbname);
    return out;
}

static int setup(void **state)
{
    (void)state;
    bin = getenv("MAPD_BIN");
    if (!bin || !mkdtemp(dir) || md_pg_cluster_start(&pg, "") != 0) {
        md_pg_cluster_stop(&pg);
        return -1;
    }
    PGconn *c = md_pg_connect(pg.conninfo);
    md_pg_exec_ok(c, "CREATE DATABASE city");
    md_pg_exec_ok(c, "CREATE DATABASE empty_city");
    PQfinish(c);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    md_pg_cluster_stop(&pg);
    md_sh("rm -rf '%s'", dir);
    return 0;
}

#define OPTS "--facilities 300 --reports 500 --seed 3 --quiet"

static void sample_into_pg(void **state)
{
    (void)state;
    char uri[256], file[128];
    snprintf(file, sizeof(file), "%s/city.sqlite", dir);
    assert_int_equal(md_sh("'%s' sample --db '%s' " OPTS, bin, uri_of("city", uri)), 0);
    assert_int_equal(md_sh("'%s' sample --db '%s' " OPTS, bin, file), 0);
    PGconn *c = md_pg_connect(uri);
    assert_int_equal(md_pg_scalar(c, "SELECT count(*) FROM facilities"), 300);
    assert_int_equal(md_pg_scalar(c, "SELECT count(*) FROM reports"), 500);
    assert_true(md_pg_scalar(c, "SELECT count(*) FROM districts") >= 16);
    assert_true(md_pg_scalar(c, "SELECT count(*) FROM grids") > 0);
    assert_true(md_pg_scalar(c, "SELECT count(*) FROM categories") > 0);
    /* The same facilities as the SpatiaLite file: compare a digest of
     * (id, name, lon, lat) computed by each database. */
    char lite[128] = "", post[128] = "";
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "sqlite3 '%s' \"SELECT count(*) || ':' || sum(id) || ':' || "
             "printf('%%.6f', sum(lon)) || ':' || printf('%%.6f', sum(lat)) || ':' || "
             "sum(length(name)) FROM facilities\"",
             file);
    assert_true(md_sh_first_line(cmd, lite, sizeof(lite)));
    PGresult *r = PQexec(c, "SELECT count(*) || ':' || sum(id) || ':' || "
                            "to_char(sum(lon)::numeric, 'FM999999990.000000') || ':' || "
                            "to_char(sum(lat)::numeric, 'FM999999990.000000') || ':' || "
                            "sum(length(name)) FROM facilities");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(post, sizeof(post), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    assert_string_equal(lite, post);
}

static void sample_twice_refused(void **state)
{
    (void)state;
    char uri[256], out[512] = "", cmd[512];
    snprintf(cmd, sizeof(cmd), "'%s' sample --db '%s' " OPTS " 2>&1; echo rc=$?", bin,
             uri_of("city", uri));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    pclose(p);
    assert_non_null(strstr(out, "already has a mapd schema"));
    assert_null(strstr(out, "rc=0"));
    PGconn *c = md_pg_connect(uri);
    assert_int_equal(md_pg_scalar(c, "SELECT count(*) FROM facilities"), 300);
    PQfinish(c);
}

static void init_into_pg(void **state)
{
    (void)state;
    char uri[256];
    assert_int_equal(md_sh("'%s' init --db '%s' >/dev/null", bin, uri_of("empty_city", uri)), 0);
    PGconn *c = md_pg_connect(uri);
    assert_int_equal(md_pg_scalar(c, "SELECT count(*) FROM facilities"), 0);
    assert_int_equal(md_pg_scalar(c, "SELECT count(*) FROM reports"), 0);
    assert_true(md_pg_scalar(c, "SELECT count(*) FROM categories") > 0);
    assert_true(md_pg_scalar(c, "SELECT count(*) FROM facility_categories") > 0);
    PQfinish(c);
}

static void bad_uri(void **state)
{
    (void)state;
    assert_int_not_equal(
        md_sh("'%s' init --db 'postgresql://postgres@127.0.0.1:1/none' 2>/dev/null", bin), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sample_into_pg),
        cmocka_unit_test(sample_twice_refused),
        cmocka_unit_test(init_into_pg),
        cmocka_unit_test(bad_uri),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
