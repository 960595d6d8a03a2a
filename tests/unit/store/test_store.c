/* store: schema, change tracking triggers, cluster cells, bulk mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "query.h"
#include "store.h"
#include "store_int.h"
#include "unit_store.h"

static char categories[512];

static int64_t q(struct md_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(md_store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(md_store_db(s)));
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}


static void insert_facility(struct md_store *s, int id, const char *cat, double lon, double lat)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO facilities(id, category, name, status, updated_at, lon, lat, geom)"
             " VALUES (%d, '%s', 'f%d', 'open', 0, %.6f, %.6f, MakePoint(%.6f, %.6f, 4326))",
             id, cat, id, lon, lat, lon, lat);
    unit_exec(s, sql);
}

static void init_creates_schema_and_categories(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("init");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int v = 0;
    assert_int_equal(md_store_schema_version(s, &v, &ctx), MD_OK);
    assert_int_equal(v, MD_SCHEMA_VERSION);
    assert_int_equal(q(s, "SELECT count(*) FROM categories"), 27);
    assert_int_equal(q(s, "SELECT count(*) FROM categories WHERE code = '200102' AND"
                          " group_zh = '市容环境' AND deadline_unit = 'hours'"),
                     1);
    assert_int_equal(q(s, "SELECT count(*) FROM facility_categories"), 7);
    /* four layers and the base map */
    assert_int_equal(q(s, "SELECT count(*) FROM geometry_columns WHERE spatial_index_enabled = 1"), 5);
    assert_int_equal(q(s, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
    /* A grown WAL is truncated after a checkpoint (issue 11). */
    assert_int_equal(q(s, "PRAGMA journal_size_limit"), 67108864);
    /* Idempotent on an initialised database. */
    assert_int_equal(md_store_init(s, categories, &ctx), MD_OK);
    assert_int_equal(q(s, "SELECT count(*) FROM categories"), 27);
    unit_store_drop(s);
}

static void open_rejects_missing_and_readonly(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    assert_int_equal(md_store_open("/tmp/mapd-no-such-file.sqlite", 0, &s, &ctx), MD_EIO);
    assert_non_null(strstr(ctx.msg, "does not exist"));
    s = unit_store_fresh("ro");
    char path[256];
    snprintf(path, sizeof(path), "%s", md_store_path(s));
    md_store_close(s);
    chmod(path, 0444);
    md_ctx_init(&ctx);
    if (geteuid() != 0) { /* root can write anyway */
        assert_int_equal(md_store_open(path, 0, &s, &ctx), MD_EIO);
        assert_non_null(strstr(ctx.msg, "read-only"));
    }
    chmod(path, 0644);
    unlink(path);
}

static void triggers_track_versions_changes_and_cells(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("trig");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_layer_info before, after;
    assert_int_equal(md_store_layer_info(s, MD_LAYER_FACILITIES, &before, &ctx), MD_OK);
    int64_t seq0 = 0;
    assert_int_equal(md_store_change_seq(s, &seq0, &ctx), MD_OK);
    insert_facility(s, 1, "toilet", 116.397, 39.909);
    assert_int_equal(md_store_layer_info(s, MD_LAYER_FACILITIES, &after, &ctx), MD_OK);
    assert_true(after.version > before.version);
    assert_int_equal(after.row_count, 1);
    assert_int_equal(after.cluster_below_zoom, 13);
    int64_t seq1 = 0;
    assert_int_equal(md_store_change_seq(s, &seq1, &ctx), MD_OK);
    assert_int_equal(seq1, seq0 + 1);
    assert_int_equal(q(s, "SELECT count(*) FROM change_log WHERE layer = 0 AND minx = 116.397"
                          " AND maxy = 39.909"),
                     1);
    /* One cell per kept cluster zoom (facilities cluster below z13: cells are
     * kept at z12, 10, ..., 0), each with n = 1 and the point as its sum. */
    assert_int_equal(q(s, "SELECT count(*) FROM cluster_cells WHERE layer = 0 AND n = 1"
                          " AND category = 'toilet' AND sum_lon = 116.397"),
                     7);
    /* Reports cluster below z14: kept at z13, 11, 9, 7, 5, 3, 1. */
    assert_int_equal(q(s, "SELECT sum(1 << z) FROM cluster_zooms WHERE layer = 1"),
                     (1 << 13) | (1 << 11) | (1 << 9) | (1 << 7) | (1 << 5) | (1 << 3) | (1 << 1));
    /* z0: 8 cells across the world; 116.397E is in cell 6, 39.909N in cell 3. */
    assert_int_equal(q(s, "SELECT cx * 10 + cy FROM cluster_cells WHERE layer = 0 AND z = 0"), 63);
    /* z10 cell: floor((116.397+180)/360 * 8192) = 6744. */
    assert_int_equal(q(s, "SELECT cx FROM cluster_cells WHERE layer = 0 AND z = 10"), 6744);
    insert_facility(s, 2, "toilet", 116.398, 39.909);
    assert_int_equal(q(s, "SELECT n FROM cluster_cells WHERE layer = 0 AND z = 10"), 2);
    /* Moving one far away splits the cell; both states go to the change log. */
    unit_exec(s, "UPDATE facilities SET lon = 121.47, lat = 31.23, geom = MakePoint(121.47, 31.23, 4326)"
            " WHERE id = 2");
    assert_int_equal(q(s, "SELECT n FROM cluster_cells WHERE layer = 0 AND z = 10 AND cx = 6744"), 1);
    assert_int_equal(q(s, "SELECT count(*) FROM cluster_cells WHERE layer = 0 AND z = 10"), 2);
    assert_int_equal(q(s, "SELECT count(*) FROM change_log WHERE feature_id = 2"), 3);
    /* Category change moves between category rows. */
    unit_exec(s, "UPDATE facilities SET category = 'kiosk' WHERE id = 1");
    assert_int_equal(q(s, "SELECT count(*) FROM cluster_cells WHERE category = 'toilet' AND cx = 6744"), 0);
    assert_int_equal(q(s, "SELECT n FROM cluster_cells WHERE category = 'kiosk' AND z = 10"), 1);
    unit_exec(s, "DELETE FROM facilities");
    assert_int_equal(q(s, "SELECT count(*) FROM cluster_cells WHERE layer = 0"), 0);
    assert_int_equal(md_store_layer_info(s, MD_LAYER_FACILITIES, &after, &ctx), MD_OK);
    assert_int_equal(after.row_count, 0);
    /* lon/lat must agree with the geometry. */
    char *err = NULL;
    assert_int_not_equal(sqlite3_exec(md_store_db(s),
                                      "INSERT INTO facilities(category, name, status, updated_at, lon,"
                                      " lat, geom) VALUES ('toilet', 'x', 'open', 0, 1, 2,"
                                      " MakePoint(3, 4, 4326))",
                                      NULL, NULL, &err),
                         SQLITE_OK);
    assert_non_null(strstr(err, "geom must be a POINT in SRID 4326 at lon/lat"));
    sqlite3_free(err);
    /* ... and be a point in WGS84 (SpatiaLite's constraint triggers are
     * replaced on the point tables by this check). */
    err = NULL;
    assert_int_not_equal(sqlite3_exec(md_store_db(s),
                                      "INSERT INTO facilities(category, name, status, updated_at, lon,"
                                      " lat, geom) VALUES ('toilet', 'x', 'open', 0, 3, 4,"
                                      " MakePoint(3, 4, 4490))",
                                      NULL, NULL, &err),
                         SQLITE_OK);
    assert_non_null(strstr(err, "SRID 4326"));
    sqlite3_free(err);
    /* The R*Tree is kept by mapd's own insert trigger and SpatiaLite agrees. */
    insert_facility(s, 50, "toilet", 116.5, 40.1);
    assert_int_equal(q(s, "SELECT CheckSpatialIndex('facilities', 'geom')"), 1);
    assert_int_equal(q(s, "SELECT count(*) FROM idx_facilities_geom WHERE pkid = 50"
                          " AND xmin <= 116.5 AND xmax >= 116.5 AND ymin <= 40.1 AND ymax >= 40.1"),
                     1);
    unit_store_drop(s);
}

static void bulk_mode_rebuilds_what_triggers_keep(void **state)
{
    (void)state;
    struct md_store *a = unit_store_fresh("bulk-a"), *b = unit_store_fresh("bulk-b");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    static const char *const cats[] = {"toilet", "kiosk", "market"};
    assert_int_equal(md_store_bulk_begin(b, MD_LAYER_FACILITIES, &ctx), MD_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM sqlite_master WHERE name = 'facilities_track_i'"), 0);
    unsigned x = 12345;
    for (int i = 1; i <= 600; i++) {
        x = x * 1103515245u + 12345u;
        double lon = 115.5 + (x % 20000) / 10000.0;
        x = x * 1103515245u + 12345u;
        double lat = 39.4 + (x % 15000) / 10000.0;
        insert_facility(a, i, cats[i % 3], lon, lat);
        insert_facility(b, i, cats[i % 3], lon, lat);
    }
    struct md_bbox box = {115.5, 39.4, 117.5, 40.9};
    assert_int_equal(md_store_bulk_end(b, MD_LAYER_FACILITIES, &box, &ctx), MD_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM sqlite_master WHERE name = 'facilities_track_i'"), 1);
    assert_int_equal(q(b, "SELECT count(*) FROM sqlite_master WHERE name = 'facilities_category'"), 1);
    assert_int_equal(q(b, "SELECT row_count FROM layers WHERE id = 0"), 600);
    assert_int_equal(q(b, "SELECT count(*) FROM idx_facilities_geom"), 600);
    /* The empty R*Tree was packed bottom-up: SQLite's own check accepts it,
     * it holds every row's box, and it finds the same rows as the tree built
     * by inserts (more checks after updates and deletes below). */
    assert_int_equal(q(b, "SELECT rtreecheck('idx_facilities_geom') = 'ok'"), 1);
    assert_true(q(b, "SELECT count(*) FROM idx_facilities_geom_node") > 2);
    const char *in_box = "SELECT sum(pkid * (pkid % 7 + 1)) FROM idx_facilities_geom"
                         " WHERE xmin <= 116.2 AND xmax >= 115.9 AND ymin <= 40.3 AND ymax >= 39.8";
    assert_int_equal(q(a, in_box), q(b, in_box));
    assert_int_equal(q(b, "SELECT count(*) FROM facilities f JOIN idx_facilities_geom r ON r.pkid = f.id"
                          " WHERE r.xmin <= f.lon AND r.xmax >= f.lon AND r.ymin <= f.lat"
                          " AND r.ymax >= f.lat AND r.xmax - r.xmin < 1e-4"), 600);
    assert_int_equal(q(a, "SELECT count(*) FROM cluster_cells"), q(b, "SELECT count(*) FROM cluster_cells"));
    /* Same cells with the same counts (compare a fingerprint of the tables). */
    const char *fp = "SELECT sum((z * 1000003 + cx * 7919 + cy * 104729 + length(category)) * n)"
                     " FROM cluster_cells";
    assert_int_equal(q(a, fp), q(b, fp));
    assert_int_equal(q(b, "SELECT count(*) FROM change_log WHERE layer = 0 AND feature_id IS NULL"), 1);
    /* Triggers are live again after bulk mode. */
    insert_facility(b, 601, "toilet", 116.0, 40.0);
    assert_int_equal(q(b, "SELECT row_count FROM layers WHERE id = 0"), 601);
    /* Abort restores the state before bulk mode. */
    assert_int_equal(md_store_bulk_begin(b, MD_LAYER_FACILITIES, &ctx), MD_OK);
    insert_facility(b, 700, "toilet", 116.0, 40.0);
    md_store_bulk_abort(b);
    assert_int_equal(q(b, "SELECT count(*) FROM facilities"), 601);
    assert_int_equal(q(b, "SELECT count(*) FROM sqlite_master WHERE name = 'facilities_track_i'"), 1);
    /* The packed tree through updates and deletes. */
    const char *edit = "UPDATE facilities SET lon = 116.01, lat = 40.01,"
                       " geom = MakePoint(116.01, 40.01, 4326) WHERE id <= 50;"
                       " DELETE FROM facilities WHERE id > 550 AND id <= 600";
    insert_facility(a, 601, "toilet", 116.0, 40.0); /* as b got above */
    unit_exec(a, edit);
    unit_exec(b, edit);
    assert_int_equal(q(b, "SELECT rtreecheck('idx_facilities_geom') = 'ok'"), 1);
    assert_int_equal(q(b, "SELECT count(*) FROM idx_facilities_geom"), 551);
    assert_int_equal(q(a, in_box), q(b, in_box));
    unit_store_drop(a);
    unit_store_drop(b);
}

static md_err collect(const struct md_change *c, void *userdata)
{
    int *n = userdata;
    (*n)++;
    return c->layer == MD_LAYER_REPORTS ? MD_OK : MD_EINTERNAL;
}

static void reports_keep_status_counts(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("status");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t seq0 = 0;
    assert_int_equal(md_store_change_seq(s, &seq0, &ctx), MD_OK);
    unit_exec(s, "INSERT INTO reports(kind, service_code, district_code, status, channel, created_at,"
            " updated_at, lon, lat, geom) VALUES ('problem', '200102', '110101', 'reported', 'app',"
            " 0, 0, 116.4, 39.9, MakePoint(116.4, 39.9, 4326))");
    unit_exec(s, "UPDATE reports SET status = 'filed'");
    struct md_status_count counts[16];
    int n = 0;
    assert_int_equal(md_store_report_status_counts(s, counts, 16, &n, &ctx), MD_OK);
    assert_int_equal(n, 8);
    for (int i = 0; i < n; i++)
        assert_int_equal(counts[i].count, strcmp(counts[i].status, "filed") == 0 ? 1 : 0);
    int seen = 0;
    assert_int_equal(md_store_changes_between(s, seq0, INT64_MAX, collect, &seen, &ctx), MD_OK);
    assert_int_equal(seen, 3); /* insert + update (old and new state) */
    unit_store_drop(s);
}

static int64_t nearest_id(struct md_store *s, double lon, double lat)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_query_hit hit;
    int n = 0;
    if (md_query_nearest(s, MD_LAYER_FACILITIES, lon, lat, 1, 0, NULL, &hit, &n, &ctx))
        fail_msg("nearest: %s", md_ctx_message(&ctx));
    return n ? hit.id : -1;
}

static int64_t matched_within_1m(struct md_store *s, double lon, double lat)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_region r = {.kind = MD_REGION_CIRCLE, .lon = lon, .lat = lat, .radius_m = 1.0};
    struct md_query_hit hit;
    int n = 0;
    int64_t matched = 0;
    if (md_query_within(s, MD_LAYER_FACILITIES, &r, NULL, MD_ORDER_DISTANCE, 0, 1, &hit, &n,
                        &matched, &ctx))
        fail_msg("within: %s", md_ctx_message(&ctx));
    return matched;
}

/* Nearest and within keep decoded R*Tree nodes per connection: every committed change,
 * from this connection or another, and uncommitted changes in the
 * connection's own write transaction, are seen; rolled-back ones are not. */
static void nearest_sees_every_change(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("nearest"), *other = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    unit_exec(s, "BEGIN");
    for (int i = 0; i < 4000; i++) /* enough for a tree of several levels */
        insert_facility(s, i + 1, "toilet", 116.3 + (i % 80) * 0.002, 39.85 + (i / 80) * 0.002);
    unit_exec(s, "COMMIT");
    double lon = 116.3811, lat = 39.9009;
    int64_t first = nearest_id(s, lon, lat);
    assert_true(first > 0);
    assert_int_equal(matched_within_1m(s, lon, lat), 0);
    insert_facility(s, 9001, "toilet", lon, lat);
    assert_int_equal(nearest_id(s, lon, lat), 9001);
    assert_int_equal(matched_within_1m(s, lon, lat), 1);
    unit_exec(s, "DELETE FROM facilities WHERE id = 9001");
    assert_int_equal(nearest_id(s, lon, lat), first);
    assert_int_equal(matched_within_1m(s, lon, lat), 0);
    unit_exec(s, "BEGIN");
    insert_facility(s, 9002, "toilet", lon, lat);
    assert_int_equal(nearest_id(s, lon, lat), 9002);
    unit_exec(s, "ROLLBACK");
    assert_int_equal(nearest_id(s, lon, lat), first);
    assert_int_equal(md_store_open(md_store_path(s), 0, &other, &ctx), MD_OK);
    unit_exec(other, "UPDATE facilities SET lon = 116.3811, lat = 39.9009,"
                " geom = MakePoint(116.3811, 39.9009, 4326) WHERE id = 4000");
    assert_int_equal(nearest_id(s, lon, lat), 4000);
    md_store_close(other);
    unit_store_drop(s);
}

static void layer_names_round_trip(void **state)
{
    (void)state;
    enum md_layer l;
    assert_int_equal(md_layer_parse("grids", &l), MD_OK);
    assert_int_equal(l, MD_LAYER_GRIDS);
    assert_string_equal(md_layer_name(MD_LAYER_REPORTS), "reports");
    assert_int_equal(md_layer_parse("users", &l), MD_ENOTFOUND);
    assert_null(md_layer_name(MD_LAYER__COUNT));
}

int main(void)
{
    snprintf(categories, sizeof(categories), "%s/sample-data/categories.json",
             getenv("MAPD_SOURCE_DIR") ? getenv("MAPD_SOURCE_DIR") : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_creates_schema_and_categories),
        cmocka_unit_test(open_rejects_missing_and_readonly),
        cmocka_unit_test(triggers_track_versions_changes_and_cells),
        cmocka_unit_test(bulk_mode_rebuilds_what_triggers_keep),
        cmocka_unit_test(reports_keep_status_counts),
        cmocka_unit_test(layer_names_round_trip),
        cmocka_unit_test(nearest_sees_every_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
