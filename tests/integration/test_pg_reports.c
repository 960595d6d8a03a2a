/* Report creation on PostgreSQL (store/pg/pg_reports.c, pg_locate.c,
 * pg_idem.c) against SpatiaLite, on a throwaway cluster and a small sample
 * city (`mapd sample`) copied over with md_pg_copy_from_store, the same
 * reports created on both through the group-commit writer (md_ingest on
 * each database's path) after the checks api/report_intake.c makes:
 *   - write_txn: md_store_begin/commit/rollback, savepoints and the
 *     transaction state on PostgreSQL; other SQL still refused;
 *   - same_locate: district and grid of grid vertices (points on borders
 *     and corners, held by several cells), cell centres, district vertices
 *     and points just outside the city (the sliver rule) are the same from
 *     both backends;
 *   - same_copied_reports: the sample's reports as copied read back as the
 *     same public JSON and history, with the same open duplicates around
 *     each; the same categories and facility categories;
 *   - same_reports: each report's category, routing, duplicates, public
 *     JSON (md_report_get), report.created event and token lookup are the
 *     same; one change_log row per report on PostgreSQL; the second report
 *     at the same spot finds the first as a duplicate on both (the answer
 *     changes with what was written); a fresh connection sees each row
 *     once its ticket is done; a photo's bytes arrive;
 *   - idempotency: a keyed create records its answer; the key replays it
 *     (md_idem_get) and refuses a second create, on both;
 *   - bad_input: an unknown service code and a report the database
 *     refuses (an unknown channel) fail with the same codes on both, and
 *     the report after the refused one in the writer still commits;
 *   - reconnects: after the server ended every session, the store and the
 *     writer work again on new connections.
 * Fields that differ by design, removed before comparing: created_at and
 * updated_at (each writer reads the clock for its own batch: the same
 * second or the next), the token (96 random bits) and event ids (the
 * SQLite sample city has events of its own; PostgreSQL's start at 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ingest.h"
#include "locate.h"
#include "md_time.h"
#include "pg_copy.h"
#include "pg_harness.h"
#include "pg_schema.h"
#include "reports.h"
#include "store_int.h"

#define OFFSET_MIN 480

static struct md_pg_cluster pg;
static char dir[64] = "/tmp/mapd-pgreports-XXXXXX";
static char db_path[128], uri[256];
static struct md_store *lite, *post;
static struct md_ingest *lite_writer, *post_writer;
static PGconn *conn; /* a plain libpq connection: what another client sees */

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir) || md_pg_cluster_start(&pg, "") != 0) {
        md_pg_cluster_stop(&pg);
        return -1;
    }
    const char *bin = getenv("MAPD_BIN");
    snprintf(db_path, sizeof(db_path), "%s/city.sqlite", dir);
    snprintf(uri, sizeof(uri), "postgresql://postgres@127.0.0.1:%u/city", pg.port);
    PGconn *c = PQconnectdb(pg.conninfo);
    int bad = PQstatus(c) != CONNECTION_OK;
    if (!bad) {
        PGresult *r = PQexec(c, "CREATE DATABASE city");
        bad = PQresultStatus(r) != PGRES_COMMAND_OK;
        PQclear(r);
    }
    PQfinish(c);
    if (!bad && (!bin || md_sh("'%s' sample --db '%s' --facilities 300 --reports 800 --seed 7"
                               " --quiet",
                               bin, db_path) != 0))
        bad = 1;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (!bad && (md_pg_schema_create(uri, &ctx) || md_store_open(db_path, 0, &lite, &ctx) ||
                 md_pg_copy_from_store(uri, lite, &ctx) || md_store_open(uri, 0, &post, &ctx) ||
                 md_ingest_start(db_path, OFFSET_MIN, 0, NULL, NULL, &lite_writer, &ctx) ||
                 md_ingest_start(uri, OFFSET_MIN, 0, NULL, NULL, &post_writer, &ctx))) {
        fprintf(stderr, "setup: %s\n", md_ctx_message(&ctx));
        bad = 1;
    }
    if (!bad) {
        conn = PQconnectdb(uri);
        bad = PQstatus(conn) != CONNECTION_OK;
    }
    if (bad) {
        md_pg_cluster_stop(&pg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    md_ingest_stop(lite_writer);
    md_ingest_stop(post_writer);
    md_store_close(lite);
    md_store_close(post);
    PQfinish(conn);
    md_pg_cluster_stop(&pg);
    md_sh("rm -rf '%s'", dir);
    return 0;
}

/* A count on the plain connection, with one text parameter (may be NULL). */
static long long pg_count(const char *sql, const char *param)
{
    const char *values[] = {param};
    PGresult *r = PQexecParams(conn, sql, param ? 1 : 0, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

static void write_txn(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_store_txn_state(post), MD_TXN_NONE);
    assert_int_equal(md_store_begin(post, &ctx), MD_OK);
    assert_int_equal(md_store_txn_state(post), MD_TXN_WRITE);
    assert_int_equal(md__store_exec(post, "SAVEPOINT report", &ctx), MD_OK);
    assert_int_equal(md__store_exec(post, "ROLLBACK TO report; RELEASE report", &ctx), MD_OK);
    md_store_rollback(post);
    assert_int_equal(md_store_txn_state(post), MD_TXN_NONE);
    /* A read snapshot is not a write transaction. */
    assert_int_equal(md_store_read_begin(post, &ctx), MD_OK);
    assert_int_equal(md_store_txn_state(post), MD_TXN_READ);
    md_store_read_end(post);
    /* Anything but a savepoint stays refused. */
    assert_int_equal(md__store_exec(post, "PRAGMA temp_store = MEMORY", &ctx), MD_EINVAL);
    assert_non_null(strstr(md_ctx_message(&ctx), "not yet on PostgreSQL"));
    md_ctx_init(&ctx);
    assert_int_equal(md__store_exec(post, "SAVEPOINT x; DROP TABLE reports", &ctx), MD_EINVAL);
    /* A failed statement: COMMIT rolls back and says so. */
    md_ctx_init(&ctx);
    assert_int_equal(md_store_begin(post, &ctx), MD_OK);
    assert_int_equal(md__store_exec(post, "RELEASE nosuch", &ctx), MD_EDB);
    md_ctx_init(&ctx);
    assert_int_equal(md_store_commit(post, &ctx), MD_EDB);
    assert_non_null(strstr(md_ctx_message(&ctx), "rolled back"));
    assert_int_equal(md_store_txn_state(post), MD_TXN_NONE);
    /* Durable at COMMIT: the server's default, which nothing here changes. */
    assert_int_equal(pg_count("SELECT count(*) FROM pg_settings WHERE name = 'synchronous_commit'"
                              " AND setting = 'on'",
                              NULL),
                     1);
}

struct located {
    md_err rc;
    char district[MD_DISTRICT_CODE_MAX], grid[MD_GRID_CODE_MAX];
};

static struct located locate(struct md_store *s, double lon, double lat)
{
    struct located at = {0};
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    at.rc = md_store_locate(s, lon, lat, at.district, at.grid, &ctx);
    if (at.rc && at.rc != MD_ENOTFOUND)
        fail_msg("locate %.9f,%.9f: %s", lon, lat, md_ctx_message(&ctx));
    return at;
}

static void same_locate(void **state)
{
    (void)state;
    /* Vertices of 40 cells (corners shared by up to four cells), their
     * centres, the vertices of every district, and points 0.001 and 0.01
     * degree west of the westmost vertices (a sliver; nothing near). */
    static const char sql[] =
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_DumpPoints(geom)).geom p FROM grids"
        "  WHERE id IN (SELECT id FROM grids ORDER BY id LIMIT 40)) a"
        " UNION ALL SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM grids"
        " UNION ALL SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_DumpPoints(geom)).geom p"
        "  FROM districts) d"
        " UNION ALL SELECT ST_XMin(geom) - 0.001, ST_YMin(geom) FROM districts"
        " UNION ALL SELECT ST_XMin(geom) - 0.01, ST_YMin(geom) FROM districts";
    PGresult *r = PQexec(conn, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int n = PQntuples(r), inside = 0, outside = 0, shared = 0;
    assert_true(n > 200);
    for (int i = 0; i < n; i++) {
        double lon = strtod(PQgetvalue(r, i, 0), NULL), lat = strtod(PQgetvalue(r, i, 1), NULL);
        struct located a = locate(lite, lon, lat), b = locate(post, lon, lat);
        if (a.rc != b.rc || strcmp(a.district, b.district) || strcmp(a.grid, b.grid))
            fail_msg("%.17g,%.17g: sqlite %d %s/%s, postgresql %d %s/%s", lon, lat, a.rc,
                     a.district, a.grid, b.rc, b.district, b.grid);
        inside += a.rc == MD_OK && a.grid[0];
        outside += a.rc == MD_ENOTFOUND;
    }
    PQclear(r);
    /* Not trivial: most points are in cells, some in none, and corners
     * shared by several cells were among them (the tie rule decided). */
    shared = (int)pg_count("SELECT count(*) FROM (SELECT (ST_DumpPoints(geom)).geom p FROM grids"
                           " WHERE id IN (SELECT id FROM grids ORDER BY id LIMIT 40)) a"
                           " WHERE (SELECT count(*) FROM grids g WHERE ST_Intersects(g.geom, a.p))"
                           " > 1",
                           NULL);
    assert_true(inside > n / 2);
    assert_true(outside > 0);
    assert_true(shared > 10);
}

static void assert_json_same(json_t *a, json_t *b, const char *what)
{
    if (!json_equal(a, b)) {
        char *ta = json_dumps(a, JSON_SORT_KEYS), *tb = json_dumps(b, JSON_SORT_KEYS);
        fail_msg("%s differ:\nsqlite     %s\npostgresql %s", what, ta, tb);
    }
}

/* The sample's own reports, copied: the same public JSON (times, notes,
 * overdue at one `now`), and the same open reports of a category within
 * 50 km of each open report. */
static void same_copied_reports(void **state)
{
    (void)state;
    int64_t now = md_time_now();
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    for (int64_t id = 1; id <= 800; id += 7) {
        json_t *a = NULL, *b = NULL;
        assert_int_equal(md_report_get(lite, id, now, OFFSET_MIN, &a, &ctx), MD_OK);
        assert_int_equal(md_report_get(post, id, now, OFFSET_MIN, &b, &ctx), MD_OK);
        assert_json_same(a, b, "copied report");
        json_decref(a);
        json_decref(b);
        assert_int_equal(md_report_history(lite, id, OFFSET_MIN, &a, &ctx), MD_OK);
        assert_int_equal(md_report_history(post, id, OFFSET_MIN, &b, &ctx), MD_OK);
        assert_true(json_array_size(a) >= 1);
        assert_json_same(a, b, "copied history");
        json_decref(a);
        json_decref(b);
    }
    json_t *a = NULL, *b = NULL;
    assert_int_equal(md_report_history(post, 99999, OFFSET_MIN, &b, &ctx), MD_ENOTFOUND);
    md_ctx_init(&ctx);
    assert_int_equal(md_categories_json(lite, &a, &ctx), MD_OK);
    assert_int_equal(md_categories_json(post, &b, &ctx), MD_OK);
    assert_true(json_array_size(a) > 20);
    assert_json_same(a, b, "categories");
    json_decref(a);
    json_decref(b);
    assert_int_equal(md_facility_categories_json(lite, &a, &ctx), MD_OK);
    assert_int_equal(md_facility_categories_json(post, &b, &ctx), MD_OK);
    assert_true(json_array_size(a) > 3);
    assert_json_same(a, b, "facility categories");
    json_decref(a);
    json_decref(b);
    /* Around each open report (few are: most of the sample is closed). */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(md_store_db(lite),
                                        "SELECT id, service_code, lon, lat FROM reports"
                                        " WHERE status NOT IN ('closed', 'rejected')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t probes = 0, dups = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 1);
        double lon = sqlite3_column_double(st, 2), lat = sqlite3_column_double(st, 3);
        json_t *da = NULL, *db = NULL;
        assert_int_equal(
            md_report_nearby_open(lite, code, lon, lat, 50000, 0, 20, OFFSET_MIN, &da, &ctx),
            MD_OK);
        assert_int_equal(
            md_report_nearby_open(post, code, lon, lat, 50000, 0, 20, OFFSET_MIN, &db, &ctx),
            MD_OK);
        assert_json_same(da, db, "nearby reports");
        dups += json_array_size(da);
        probes++;
        json_decref(da);
        json_decref(db);
    }
    sqlite3_finalize(st);
    assert_true(probes > 10);
    assert_true(dups > probes); /* each finds itself, and some others */
}

/* ---- creating reports */

struct created {
    md_err rc;
    char msg[MD_CTX_MSG_MAX];
    struct md_report_created cr;
    json_t *dups;
    struct located at;
};

/* What md__report_submit does before queueing (category, routing,
 * duplicates), then the writer; waits for the ticket. */
static struct created submit(struct md_store *s, struct md_ingest *g,
                             const struct md_report_input *given)
{
    struct created out = {0};
    struct md_report_input in = *given;
    struct md_category cat = {0};
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    out.rc = md_category_get(s, in.service_code, &cat, &ctx);
    if (out.rc == MD_ENOTFOUND) { /* report_intake.c's answer */
        md_ctx_clear(&ctx);
        out.rc = md_fail(&ctx, MD_EUNPROC, "category '%.20s' is not a known service code",
                         in.service_code);
    }
    if (!out.rc) {
        out.at = locate(s, in.lon, in.lat);
        out.rc = out.at.rc == MD_ENOTFOUND ? MD_EUNPROC : out.at.rc;
        memcpy(in.district, out.at.district, sizeof(in.district));
        memcpy(in.grid, out.at.grid, sizeof(in.grid));
    }
    if (!out.rc)
        out.rc = md_report_nearby_open(s, cat.code, in.lon, in.lat, cat.dup_radius_m, 0, 20,
                                       OFFSET_MIN, &out.dups, &ctx);
    md_category_clear(&cat);
    struct md_ingest_ticket *t = NULL;
    if (!out.rc)
        out.rc = md_ingest_submit(g, &in, &t, &ctx);
    if (t) {
        md_err err = MD_OK;
        for (int i = 0; i < 10000 && !md_ingest_ticket_done(t, &err, &out.cr, &ctx); i++)
            usleep(1000);
        assert_true(md_ingest_ticket_done(t, &err, &out.cr, &ctx));
        out.rc = err;
        md_ingest_ticket_free(t);
    }
    snprintf(out.msg, sizeof(out.msg), "%s", md_ctx_message(&ctx));
    return out;
}

/* A report's public JSON without the clock's fields. */
static json_t *public_json(struct md_store *s, int64_t id)
{
    json_t *j = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md_report_get(s, id, md_time_now(), OFFSET_MIN, &j, &ctx) != MD_OK)
        fail_msg("report %lld: %s", (long long)id, md_ctx_message(&ctx));
    json_object_del(j, "created_at");
    json_object_del(j, "updated_at");
    return j;
}

struct events {
    int n;
    int64_t report_ids[16];
    json_t *reports[16];
};

static md_err on_event(int64_t id, const char *type, const char *payload, void *userdata)
{
    struct events *e = userdata;
    (void)id;
    assert_string_equal(type, "report.created");
    json_t *p = json_loads(payload, 0, NULL);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "report.created");
    assert_true(e->n < 16);
    json_t *report = json_incref(json_object_get(p, "report"));
    json_object_del(report, "created_at");
    json_object_del(report, "updated_at");
    e->report_ids[e->n] = json_integer_value(json_object_get(report, "id"));
    e->reports[e->n++] = report;
    json_decref(p);
    return MD_OK;
}

static struct events events_after(struct md_store *s, int64_t after)
{
    struct events e = {0};
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_events_since(s, after, 16, on_event, &e, &ctx), MD_OK);
    return e;
}

static int64_t last_event(struct md_store *s)
{
    int64_t id = -1;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_events_last_id(s, &id, &ctx), MD_OK);
    return id;
}

static const unsigned char jpeg_display[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J',
                                             'F',  'I',  'F',  0x00, 0x01, 0xff, 0xd9};
static const unsigned char jpeg_thumb[] = {0xff, 0xd8, 0x00, 0x00, 0xff, 0xd9};

static void same_reports(void **state)
{
    (void)state;
    /* A point inside the city: the centre of the first cell. */
    double lon = 0, lat = 0;
    PGresult *r =
        PQexec(conn, "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)),"
                     " (SELECT code FROM categories WHERE kind = 'problem' ORDER BY code"
                     " LIMIT 1) FROM grids ORDER BY id LIMIT 1");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    lon = strtod(PQgetvalue(r, 0, 0), NULL);
    lat = strtod(PQgetvalue(r, 0, 1), NULL);
    char code[8];
    snprintf(code, sizeof(code), "%s", PQgetvalue(r, 0, 2));
    PQclear(r);
    struct md_photo_new photo = {
        jpeg_display, jpeg_thumb, sizeof(jpeg_display), sizeof(jpeg_thumb), 640, 480, 12345};
    const struct md_report_input inputs[] = {
        {.kind = "problem",
         .service_code = code,
         .description = "井盖缺失 manhole cover missing",
         .address = "东长安街",
         .lon = lon,
         .lat = lat,
         .channel = "app",
         .attributes = "{\"size\":\"large\"}",
         .contact = {.name = "张三", .phone = "13800000000"},
         .client_addr = "192.0.2.1",
         .actor_role = MD_ROLE_PUBLIC,
         .actor_id = "anonymous"},
        /* the same spot and category: the first is its duplicate */
        {.kind = "problem",
         .service_code = code,
         .description = "again",
         .lon = lon + 0.00001,
         .lat = lat,
         .channel = "web",
         .media_urls = "[\"https://example.org/a.jpg\"]",
         .actor_role = MD_ROLE_PUBLIC,
         .actor_id = "anonymous",
         .photos = &photo,
         .nphotos = 1},
        /* an officer's incident, no description */
        {.kind = "incident",
         .service_code = code,
         .lon = lon + 0.002,
         .lat = lat - 0.001,
         .channel = "patrol",
         .actor_role = MD_ROLE_OFFICER,
         .actor_id = "officer-7"},
    };
    enum { N = sizeof(inputs) / sizeof(inputs[0]) };
    int64_t lite_after = last_event(lite), post_after = last_event(post);
    assert_int_equal(post_after, 0);
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        struct created a = submit(lite, lite_writer, &inputs[i]);
        struct created b = submit(post, post_writer, &inputs[i]);
        if (a.rc || b.rc)
            fail_msg("report %d: sqlite %d %s / postgresql %d %s", i, a.rc, a.msg, b.rc, b.msg);
        ids[i] = b.cr.id;
        /* Durable: another connection sees it as soon as the ticket is done
         * (the test's own, and one made for this report alone). */
        assert_int_equal(pg_count("SELECT count(*) FROM reports WHERE token = $1", b.cr.token), 1);
        PGconn *fresh = PQconnectdb(uri);
        assert_int_equal(PQstatus(fresh), CONNECTION_OK);
        const char *tv[] = {b.cr.token};
        PGresult *fr = PQexecParams(fresh, "SELECT id FROM reports WHERE token = $1", 1, NULL, tv,
                                    NULL, NULL, 0);
        assert_int_equal(PQresultStatus(fr), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(fr), 1);
        assert_int_equal(strtoll(PQgetvalue(fr, 0, 0), NULL, 10), b.cr.id);
        PQclear(fr);
        PQfinish(fresh);
        /* The same routing, duplicates and id (both give max(id) + 1: the
         * copy moved PostgreSQL's identity past SQLite's rowids). */
        assert_int_equal(a.rc, MD_OK);
        assert_string_equal(a.at.district, b.at.district);
        assert_string_equal(a.at.grid, b.at.grid);
        assert_true(b.at.grid[0] != '\0');
        assert_json_same(a.dups, b.dups, "duplicates");
        if (i == 1) { /* the first report is a duplicate of the second, on both */
            assert_true(json_array_size(b.dups) >= 1);
            int64_t found = 0;
            size_t k;
            json_t *d;
            json_array_foreach(b.dups, k, d) if (json_integer_value(json_object_get(d, "id")) ==
                                                 ids[0]) found = 1;
            assert_true(found);
        }
        json_decref(a.dups);
        json_decref(b.dups);
        assert_int_equal(a.cr.id, b.cr.id);
        assert_int_equal(a.cr.nphotos, b.cr.nphotos);
        assert_true(strcmp(a.cr.token, b.cr.token) != 0);
        /* The public JSON, the token lookup. */
        json_t *ja = public_json(lite, a.cr.id), *jb = public_json(post, b.cr.id);
        assert_json_same(ja, jb, "public JSON");
        json_decref(ja);
        json_decref(jb);
        struct md_ctx hctx;
        md_ctx_init(&hctx);
        assert_int_equal(md_report_history(lite, a.cr.id, OFFSET_MIN, &ja, &hctx), MD_OK);
        assert_int_equal(md_report_history(post, b.cr.id, OFFSET_MIN, &jb, &hctx), MD_OK);
        assert_int_equal(json_array_size(jb), 1 + inputs[i].nphotos);
        for (size_t h = 0; h < json_array_size(jb); h++) { /* "at" is the clock's */
            json_object_del(json_array_get(ja, h), "at");
            json_object_del(json_array_get(jb, h), "at");
        }
        assert_json_same(ja, jb, "history");
        json_decref(ja);
        json_decref(jb);
        int64_t by_token = 0;
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        assert_int_equal(md_report_by_token(post, b.cr.token, &by_token, &ctx), MD_OK);
        assert_int_equal(by_token, b.cr.id);
        assert_int_equal(md_report_by_token(post, a.cr.token, &by_token, &ctx), MD_ENOTFOUND);
        /* One change per report (the trigger), a contact only when given. */
        char idtext[24];
        snprintf(idtext, sizeof(idtext), "%lld", (long long)b.cr.id);
        assert_int_equal(pg_count("SELECT count(*) FROM change_log WHERE layer = 1"
                                  " AND feature_id = $1::bigint",
                                  idtext),
                         1);
        assert_int_equal(pg_count("SELECT count(*) FROM report_contacts"
                                  " WHERE report_id = $1::bigint",
                                  idtext),
                         inputs[i].contact.name ? 1 : 0);
        assert_int_equal(pg_count("SELECT count(*) FROM report_history"
                                  " WHERE report_id = $1::bigint",
                                  idtext),
                         1 + (long long)inputs[i].nphotos);
    }
    /* The photo: its bytes and etag, the same as SQLite's. */
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)ids[1]);
    assert_int_equal(pg_count("SELECT count(*) FROM report_photos WHERE report_id = $1::bigint"
                              " AND display = '\\xffd8ffe000104a4649460001ffd9'::bytea"
                              " AND thumb = '\\xffd80000ffd9'::bytea AND width = 640",
                              idtext),
                     1);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(md_store_db(lite),
                           "SELECT display_etag FROM report_photos WHERE report_id = ?", -1, &st,
                           NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, ids[1]);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(pg_count("SELECT count(*) FROM report_photos WHERE display_etag = $1",
                              (const char *)sqlite3_column_text(st, 0)),
                     1);
    sqlite3_finalize(st);
    /* The events: one report.created per report, the same report JSON. */
    struct events ea = events_after(lite, lite_after), eb = events_after(post, post_after);
    assert_int_equal(ea.n, N);
    assert_int_equal(eb.n, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(eb.report_ids[i], ids[i]);
        assert_int_equal(ea.report_ids[i], ids[i]);
        assert_json_same(ea.reports[i], eb.reports[i], "event reports");
        json_decref(ea.reports[i]);
        json_decref(eb.reports[i]);
    }
    assert_int_equal(last_event(post), N);
    /* What SSE reads after the last one: nothing. */
    struct events none = events_after(post, last_event(post));
    assert_int_equal(none.n, 0);
}

/* ---- Idempotency-Key */

static md_err render(const void *arg, const struct md_report_created *cr,
                     struct md_idem_answer *out)
{
    char buf[96];
    snprintf(buf, sizeof(buf), "{\"id\":%lld,\"tag\":\"%s\"}", (long long)cr->id,
             (const char *)arg);
    out->status = 201;
    snprintf(out->content_type, sizeof(out->content_type), "application/json");
    out->body = strdup(buf);
    return out->body ? MD_OK : MD_ENOMEM;
}

static md_err keyed(struct md_ingest *g, const struct md_report_input *in, const char *tag,
                    char **body, int64_t *id)
{
    struct md_idem_new k = {.scope = "POST /api/v1/reports anonymous",
                            .key = "pg-key-1",
                            .fingerprint = "f1",
                            .render = render,
                            .render_arg = strdup(tag),
                            .render_free = free};
    struct md_ingest_ticket *t = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_ingest_submit_keyed(g, in, &k, &t, &ctx), MD_OK);
    md_err err = MD_OK;
    struct md_report_created cr;
    for (int i = 0; i < 10000 && !md_ingest_ticket_done(t, &err, &cr, &ctx); i++)
        usleep(1000);
    assert_true(md_ingest_ticket_done(t, &err, &cr, &ctx));
    *body = NULL;
    if (!err) {
        struct md_idem_answer a = {0};
        assert_true(md_ingest_ticket_answer(t, &a));
        *body = a.body;
        *id = cr.id;
    }
    md_ingest_ticket_free(t);
    return err;
}

static void idempotency(void **state)
{
    (void)state;
    struct md_store *stores[] = {lite, post};
    struct md_ingest *writers[] = {lite_writer, post_writer};
    struct located at = locate(post, 116.40, 39.91);
    long long keys_before = pg_count("SELECT count(*) FROM idempotency_keys", NULL);
    for (int b = 0; b < 2; b++) {
        struct md_report_input in = {.kind = "problem",
                                     .service_code = "200102",
                                     .description = "keyed",
                                     .lon = 116.40,
                                     .lat = 39.91,
                                     .channel = "app",
                                     .actor_role = MD_ROLE_PUBLIC,
                                     .actor_id = "anonymous"};
        memcpy(in.district, at.district, sizeof(in.district));
        memcpy(in.grid, at.grid, sizeof(in.grid));
        char *first = NULL, *second = NULL;
        int64_t id = 0, id2 = 0;
        assert_int_equal(keyed(writers[b], &in, "first", &first, &id), MD_OK);
        char want[96];
        snprintf(want, sizeof(want), "{\"id\":%lld,\"tag\":\"first\"}", (long long)id);
        assert_string_equal(first, want);
        /* A retry replays the recorded answer... */
        struct md_idem_row row;
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        assert_int_equal(md_idem_get(stores[b], "POST /api/v1/reports anonymous", "pg-key-1",
                                     md_time_now(), &row, &ctx),
                         MD_OK);
        assert_string_equal(row.answer.body, first);
        assert_int_equal(row.answer.status, 201);
        assert_string_equal(row.answer.content_type, "application/json");
        assert_string_equal(row.fingerprint, "f1");
        assert_int_equal(row.report_id, id);
        md_idem_row_clear(&row);
        /* ...and a second create under the key writes nothing. */
        assert_int_equal(keyed(writers[b], &in, "second", &second, &id2), MD_ECONFLICT);
        assert_null(second);
        int64_t after = 0;
        assert_int_equal(md_events_last_id(stores[b], &after, &ctx), MD_OK);
        json_t *j = NULL;
        assert_int_equal(md_report_get(stores[b], id + 1, md_time_now(), OFFSET_MIN, &j, &ctx),
                         MD_ENOTFOUND);
        md_ctx_init(&ctx);
        assert_int_equal(md_idem_get(stores[b], "POST /api/v1/reports anonymous", "other",
                                     md_time_now(), &row, &ctx),
                         MD_ENOTFOUND);
        free(first);
    }
    assert_int_equal(pg_count("SELECT count(*) FROM idempotency_keys", NULL), keys_before + 1);
    /* Expired keys go (an hour's prune, here called directly). */
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t deleted = -1;
    assert_int_equal(md_idem_prune(post, md_time_now() + MD_IDEM_TTL_S + 1, &deleted, &ctx), MD_OK);
    assert_int_equal(deleted, keys_before + 1);
}

static void bad_input(void **state)
{
    (void)state;
    struct md_report_input in = {.kind = "problem",
                                 .service_code = "999999",
                                 .lon = 116.40,
                                 .lat = 39.91,
                                 .channel = "app",
                                 .actor_role = MD_ROLE_PUBLIC,
                                 .actor_id = "anonymous"};
    struct created a = submit(lite, lite_writer, &in), b = submit(post, post_writer, &in);
    assert_int_equal(a.rc, MD_EUNPROC);
    assert_int_equal(b.rc, MD_EUNPROC);
    struct md_category cat;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_category_get(post, "999999", &cat, &ctx), MD_ENOTFOUND);
    assert_string_equal(md_ctx_message(&ctx), "unknown category '999999'");
    md_category_clear(&cat);
    /* Refused by the database (a CHECK), alone: the next report commits. */
    long long before = pg_count("SELECT count(*) FROM reports", NULL);
    in.service_code = "200102";
    in.channel = "carrier-pigeon";
    a = submit(lite, lite_writer, &in);
    b = submit(post, post_writer, &in);
    assert_int_equal(a.rc, MD_EDB);
    assert_int_equal(b.rc, MD_EDB);
    json_decref(a.dups);
    json_decref(b.dups);
    assert_non_null(strstr(b.msg, "check constraint"));
    in.channel = "app";
    b = submit(post, post_writer, &in);
    assert_int_equal(b.rc, MD_OK);
    json_decref(b.dups);
    a = submit(lite, lite_writer, &in);
    assert_int_equal(a.rc, MD_OK);
    json_decref(a.dups);
    assert_int_equal(pg_count("SELECT count(*) FROM reports", NULL), before + 1);
    assert_int_equal(md_store_txn_state(post), MD_TXN_NONE);
}

static void reconnects(void **state)
{
    (void)state;
    /* Every other session of the database ends (a restart, a failover). */
    assert_true(pg_count("SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000)"
                         " FROM pg_stat_activity WHERE datname = 'city'"
                         " AND pid <> pg_backend_pid()) t",
                         NULL) >= 2);
    /* A statement outside a transaction fails on the dropped connection (503:
     * retry; it is not retried: it may have run) and the next one reconnects. */
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t last = 0;
    assert_int_equal(md_events_last_id(post, &last, &ctx), MD_EBUSY);
    md_ctx_init(&ctx);
    assert_int_equal(md_events_last_id(post, &last, &ctx), MD_OK);
    assert_true(last > 0);
    /* The writer's next batch begins on a new connection. */
    struct md_report_input in = {.kind = "problem",
                                 .service_code = "200102",
                                 .lon = 116.40,
                                 .lat = 39.91,
                                 .channel = "app",
                                 .actor_role = MD_ROLE_PUBLIC,
                                 .actor_id = "anonymous"};
    struct created b = submit(post, post_writer, &in);
    assert_int_equal(b.rc, MD_OK);
    json_decref(b.dups);
    assert_int_equal(pg_count("SELECT count(*) FROM reports WHERE token = $1", b.cr.token), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_txn),           cmocka_unit_test(same_locate),
        cmocka_unit_test(same_copied_reports), cmocka_unit_test(same_reports),
        cmocka_unit_test(idempotency),         cmocka_unit_test(bad_input),
        cmocka_unit_test(reconnects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
