/* mapd's PostGIS schema (store/pg/pg_schema.h) on a real throwaway cluster:
 *   - creates_version_1: md_pg_schema_create, then the version reads 1; a
 *     second create is refused (409) and changes nothing;
 *   - typed_geometry_and_gist: geometry_columns lists the four layers with
 *     their type and SRID 4326, each has a GiST index the planner uses for
 *     a box query, and the B-tree indexes of the SpatiaLite schema exist;
 *   - constraints_refuse_bad_rows: each bad row is refused with the
 *     expected SQLSTATE and constraint (lat out of range, unknown category,
 *     bad status, channel and kind, a description over 4,000 characters,
 *     a duplicate token, a 14-digit grid code, a Polygon where a
 *     MultiPolygon belongs, a geom written past lon/lat, history of a
 *     report that does not exist);
 *   - writes_are_tracked: inserts, updates and deletes of facilities,
 *     reports and districts log one change each with the right layer,
 *     feature id and box, bump the layer's version and row count, and keep
 *     report_status_counts exact.
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
#include "pg_schema.h"

static struct md_pg_cluster pg;
static PGconn *conn; /* the tests' own connection */

static int setup(void **state)
{
    (void)state;
    if (md_pg_cluster_start(&pg, "") != 0) {
        md_pg_cluster_stop(&pg);
        return -1;
    }
    conn = PQconnectdb(pg.conninfo);
    if (PQstatus(conn) != CONNECTION_OK) { /* no group teardown after a failed setup */
        PQfinish(conn);
        md_pg_cluster_stop(&pg);
        return -1;
    }
    PQclear(PQexec(conn, "SET client_min_messages = error"));
    return 0;
}

/* Each test's setup: a test that failed inside a transaction left it open. */
static int clean_slate(void **state)
{
    (void)state;
    PQclear(PQexec(conn, "ROLLBACK"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(conn);
    md_pg_cluster_stop(&pg);
    return 0;
}

static void creates_version_1(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int v = -1;
    if (md_pg_schema_version(pg.conninfo, &v, &ctx) != MD_OK)
        fail_msg("version: %s", md_ctx_message(&ctx));
    assert_int_equal(v, 0);
    if (md_pg_schema_create(pg.conninfo, &ctx) != MD_OK)
        fail_msg("create: %s", md_ctx_message(&ctx));
    assert_int_equal(md_pg_schema_version(pg.conninfo, &v, &ctx), MD_OK);
    assert_int_equal(v, 1);
    assert_int_equal(md_pg_scalar(conn, "SELECT count(*) FROM meta WHERE key = 'backend'"
                                        " AND value = 'postgis'"),
                     1);
    /* Idempotency-Key records, keyed (scope, key) as on SQLite. */
    assert_int_equal(md_pg_scalar(conn, "SELECT count(*) FROM information_schema.key_column_usage"
                                        " WHERE table_name = 'idempotency_keys'"
                                        " AND constraint_name = 'idempotency_keys_pkey'"),
                     2);
    long long tables =
        md_pg_scalar(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");

    md_ctx_init(&ctx);
    assert_int_equal(md_pg_schema_create(pg.conninfo, &ctx), MD_ECONFLICT);
    assert_non_null(strstr(md_ctx_message(&ctx), "already has a mapd schema (version 1)"));
    assert_int_equal(
        md_pg_scalar(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), tables);

    md_ctx_init(&ctx);
    assert_int_equal(md_pg_schema_version("host=127.0.0.1 port=1 connect_timeout=2", &v, &ctx),
                     MD_EDB);
    assert_non_null(strstr(md_ctx_message(&ctx), "postgresql connect"));
}

static void typed_geometry_and_gist(void **state)
{
    (void)state;
    PGresult *r =
        PQexec(conn, "SELECT f_table_name || ' ' || type || ' ' || srid FROM geometry_columns"
                     " WHERE f_table_schema = 'public' ORDER BY 1");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    const char *want[] = {"basemap GEOMETRY 4326", "districts MULTIPOLYGON 4326",
                          "facilities POINT 4326", "grids MULTIPOLYGON 4326",
                          "reports POINT 4326"};
    assert_int_equal(PQntuples(r), 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(PQgetvalue(r, i, 0), want[i]);
    PQclear(r);

    const char *tables[] = {"districts", "grids", "facilities", "reports", "basemap"};
    for (int i = 0; i < 5; i++) {
        char sql[256], plan[256];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM pg_indexes WHERE tablename = '%s'"
                 " AND indexname = '%s_geom' AND indexdef LIKE '%%USING gist (geom)%%'",
                 tables[i], tables[i]);
        assert_int_equal(md_pg_scalar(conn, sql), 1);
        /* The planner takes it for a box query (no rows: force it past a seq scan). */
        md_pg_exec_ok(conn, "SET enable_seqscan = off");
        snprintf(sql, sizeof(sql),
                 "EXPLAIN SELECT 1 FROM %s WHERE geom && ST_MakeEnvelope(116, 39, 117, 40, 4326)",
                 tables[i]);
        r = PQexec(conn, sql);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        int found = 0;
        snprintf(plan, sizeof(plan), "%s_geom", tables[i]);
        for (int j = 0; j < PQntuples(r); j++)
            found |= strstr(PQgetvalue(r, j, 0), plan) != NULL;
        PQclear(r);
        md_pg_exec_ok(conn, "RESET enable_seqscan");
        assert_true(found);
    }

    const char *btree[] = {"grids_district",  "facilities_category", "facilities_district",
                           "reports_status",  "reports_created",     "reports_updated",
                           "reports_service", "reports_district",    "report_history_report"};
    for (size_t i = 0; i < sizeof(btree) / sizeof(btree[0]); i++) {
        char sql[160];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_indexes WHERE indexname = '%s'",
                 btree[i]);
        if (md_pg_scalar(conn, sql) != 1)
            fail_msg("index %s is missing", btree[i]);
    }
}

/* One facility category, one report category, one district: what the rows
 * below refer to. */
static const char fixture_sql[] =
    "INSERT INTO facility_categories(code, name_zh, name_en) VALUES ('toilet', '公厕', 'toilet');"
    "INSERT INTO categories(code, kind, group_code, group_zh, group_en, name_zh, name_en,"
    " deadline_value, deadline_unit, unit_type) VALUES ('010101', 'problem', '01', '市容', 'city',"
    " '暴露垃圾', 'exposed rubbish', 2, 'hours', 'sanitation');"
    "INSERT INTO districts(id, code, name, updated_at, geom) VALUES (5, '110101', '东城区', 0,"
    " ST_GeomFromText('MULTIPOLYGON(((116.3 39.8, 116.5 39.8, 116.5 40, 116.3 40, 116.3 39.8)))',"
    " 4326))";

#define FACILITY(cols, vals)                                                                       \
    "INSERT INTO facilities(category, name, status, updated_at, lon, lat" cols ") VALUES"          \
    " ('toilet', 'a', 'open', 0, 116.4, 39.9" vals ")"
#define REPORT(cols, vals)                                                                         \
    "INSERT INTO reports(kind, service_code, district_code, status, channel, created_at,"          \
    " updated_at, lon, lat" cols ") VALUES ('problem', '010101', '110101', 'reported', 'app', 0,"  \
    " 0, 116.4, 39.9" vals ")"

struct bad_row {
    const char *sql;
    const char *sqlstate;   /* expected */
    const char *constraint; /* expected, or NULL when the error names none */
};

static void constraints_refuse_bad_rows(void **state)
{
    (void)state;
    md_pg_exec_ok(conn, "BEGIN");
    md_pg_exec_ok(conn, fixture_sql);
    md_pg_exec_ok(conn, REPORT(", token", ", 'tok-1'"));
    md_pg_exec_ok(conn, "SAVEPOINT ok");
    static const struct bad_row rows[] = {
        {"UPDATE facilities SET lat = 91", "23514", "facilities_lat_check"}, /* no rows yet: */
        {FACILITY("", "") "; UPDATE facilities SET lat = 91", "23514", "facilities_lat_check"},
        {FACILITY("", "") "; UPDATE facilities SET lon = -180.5", "23514", "facilities_lon_check"},
        {"INSERT INTO facilities(category, name, status, updated_at, lon, lat)"
         " VALUES ('kiosk', 'a', 'open', 0, 116.4, 39.9)",
         "23503", "facilities_category_fkey"},
        {"INSERT INTO facilities(category, name, status, updated_at, lon, lat)"
         " VALUES ('toilet', 'a', 'gone', 0, 116.4, 39.9)",
         "23514", "facilities_status_check"},
        {FACILITY(", geom", ", ST_SetSRID(ST_MakePoint(1, 2), 4326)"), "428C9", NULL},
        {REPORT(", description", ", repeat('长', 4001)"), "23514", "reports_description_check"},
        {"UPDATE reports SET channel = 'fax'", "23514", "reports_channel_check"},
        {"UPDATE reports SET kind = 'complaint'", "23514", "reports_kind_check"},
        {"UPDATE reports SET status = 'lost'", "23514", "reports_status_check"},
        {"UPDATE reports SET service_code = '999999'", "23503", "reports_service_code_fkey"},
        {REPORT(", token", ", 'tok-1'"), "23505", "reports_token_key"},
        {"INSERT INTO report_history(report_id, action, to_status, actor_role, actor_id, at)"
         " VALUES (424242, 'accept', 'filed', 'centre', 'c1', 0)",
         "23503", "report_history_report_id_fkey"},
        {"INSERT INTO grids(code, district_code, updated_at, geom)"
         " VALUES ('11010100101010', '110101', 0,"
         " ST_Multi(ST_MakeEnvelope(116.3, 39.8, 116.31, 39.81, 4326)))",
         "23514", "grids_code_check"},
        {"INSERT INTO grids(code, district_code, updated_at, geom)"
         " VALUES ('110199001010101', '110199', 0,"
         " ST_Multi(ST_MakeEnvelope(116.3, 39.8, 116.31, 39.81, 4326)))",
         "23503", "grids_district_code_fkey"},
        {"INSERT INTO districts(code, name, updated_at, geom) VALUES ('110102', 'x', 0,"
         " ST_MakeEnvelope(116.3, 39.8, 116.5, 40, 4326))",
         "22023", NULL},
        {"INSERT INTO districts(code, name, updated_at, geom) VALUES ('110102', 'x', 0,"
         " ST_Multi(ST_MakeEnvelope(116.3, 39.8, 116.5, 40, 3857)))",
         "22023", NULL},
    };
    /* The first row is a control: nothing to update, so nothing is refused. */
    PGresult *r = PQexec(conn, rows[0].sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    assert_string_equal(PQcmdTuples(r), "0");
    PQclear(r);
    for (size_t i = 1; i < sizeof(rows) / sizeof(rows[0]); i++) {
        r = PQexec(conn, rows[i].sql);
        const char *state_ = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
        if (PQresultStatus(r) != PGRES_FATAL_ERROR || !state_ ||
            strcmp(state_, rows[i].sqlstate) != 0 ||
            (rows[i].constraint && (!cons || strcmp(cons, rows[i].constraint) != 0)))
            fail_msg("row %zu (%s): want %s %s, got %s %s %s", i, rows[i].sql, rows[i].sqlstate,
                     rows[i].constraint ? rows[i].constraint : "", state_ ? state_ : "(none)",
                     cons ? cons : "", PQresultErrorMessage(r));
        PQclear(r);
        md_pg_exec_ok(conn, "ROLLBACK TO SAVEPOINT ok");
    }
    md_pg_exec_ok(conn, "ROLLBACK");
}

static void writes_are_tracked(void **state)
{
    (void)state;
    md_pg_exec_ok(conn, fixture_sql); /* district 5: one change */
    long long seq0 = md_pg_scalar(conn, "SELECT seq FROM change_counter");
    md_pg_exec_ok(conn, FACILITY(", id", ", 7"));
    md_pg_exec_ok(conn, "UPDATE facilities SET lon = 116.45, lat = 39.95 WHERE id = 7");
    md_pg_exec_ok(conn, REPORT(", id", ", 9"));
    md_pg_exec_ok(conn, REPORT(", id", ", 10"));
    md_pg_exec_ok(conn, "UPDATE reports SET status = 'filed' WHERE id = 9");
    md_pg_exec_ok(conn, "DELETE FROM reports WHERE id = 10");
    md_pg_exec_ok(conn, "UPDATE districts SET geom = ST_Multi(ST_MakeEnvelope(116.2, 39.8, 116.5,"
                        " 40.1, 4326)) WHERE id = 5");
    md_pg_exec_ok(conn, "DELETE FROM districts WHERE id = 5");

    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(format('%%s %%s %%s %%s %%s %%s', layer, feature_id, minx, miny,"
             " maxx, maxy), '; ' ORDER BY seq) FROM change_log WHERE seq > %lld",
             seq0);
    PGresult *r = PQexec(conn, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "0 7 116.4 39.9 116.4 39.9; "
                                             "0 7 116.4 39.9 116.45 39.95; "
                                             "1 9 116.4 39.9 116.4 39.9; "
                                             "1 10 116.4 39.9 116.4 39.9; "
                                             "1 9 116.4 39.9 116.4 39.9; "
                                             "1 10 116.4 39.9 116.4 39.9; "
                                             "2 5 116.2 39.8 116.5 40.1; "
                                             "2 5 116.2 39.8 116.5 40.1");
    PQclear(r);
    /* gapless: one number per change */
    assert_int_equal(md_pg_scalar(conn, "SELECT seq FROM change_counter"), seq0 + 8);
    r = PQexec(conn, "SELECT string_agg(format('%s %s %s', name, version, row_count), '; '"
                     " ORDER BY id) FROM layers");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0),
                        "facilities 2 1; reports 4 1; districts 3 0; grids 0 0; basemap 0 0");
    PQclear(r);
    assert_int_equal(md_pg_scalar(conn, "SELECT count(*) FROM facilities WHERE id = 7"
                                        " AND ST_X(geom) = 116.45 AND ST_Y(geom) = 39.95"
                                        " AND ST_SRID(geom) = 4326"),
                     1);
    r = PQexec(conn, "SELECT string_agg(format('%s %s', status, n), ' ' ORDER BY status)"
                     " FROM report_status_counts WHERE n <> 0");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "filed 1");
    PQclear(r);
    assert_int_equal(md_pg_scalar(conn, "SELECT count(*) FROM reports"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(creates_version_1),
        cmocka_unit_test(typed_geometry_and_gist),
        cmocka_unit_test_setup(constraints_refuse_bad_rows, clean_slate),
        cmocka_unit_test_setup(writes_are_tracked, clean_slate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
