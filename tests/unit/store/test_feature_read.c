/* store/feature_read: features by key, scans with filters, extents and
 * code lookups, against a real SpatiaLite file; the public SELECTs agree
 * with md_layer_public(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feature_read.h"
#include "store.h"
#include "store_int.h"
#include "unit_store.h"

static void insert_facility(struct md_store *s, int id, const char *cat, double lon, double lat,
                            int64_t updated)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO facilities(id, category, name, status, updated_at, lon, lat, geom)"
             " VALUES (%d, '%s', 'f%d', 'open', %lld, %.6f, %.6f, MakePoint(%.6f, %.6f, 4326))",
             id, cat, id, (long long)updated, lon, lat, lon, lat);
    unit_exec(s, sql);
}

static struct md_store *city(const char *name)
{
    struct md_store *s = unit_store_fresh(name);
    insert_facility(s, 1, "market", 116.40, 39.90, 100);
    insert_facility(s, 2, "toilet", 116.50, 39.95, 300);
    insert_facility(s, 3, "market", 116.30, 39.80, 200);
    unit_exec(s,
              "INSERT INTO districts(code, name, name_en, label_lon, label_lat, updated_at, geom)"
              " VALUES ('110101', '东城区', 'Dongcheng', 116.41, 39.93, 7,"
              " CastToMulti(GeomFromText('POLYGON((116.38 39.85, 116.45 39.85, 116.45 39.97,"
              " 116.38 39.97, 116.38 39.85))', 4326)))");
    return s;
}

/* md_row_fn: records the row's columns by the public column list. */
struct seen {
    enum md_layer layer;
    int calls;
    int64_t ids[8];
    char text[8][64]; /* the second public column as text */
    double lon, lat;
    int wkb_len;
    bool null_phone_or_kind;
};

static md_err record(const struct md_row *row, void *userdata)
{
    struct seen *v = userdata;
    const struct md_layer_columns *d = md_layer_public(v->layer);
    int i = v->calls++;
    if (i >= 8)
        return MD_ERANGE;
    if (d->text_id)
        snprintf(v->text[i], sizeof(v->text[i]), "%s", md_row_text(row, 0));
    else
        v->ids[i] = md_row_int(row, 0);
    if (!d->text_id)
        snprintf(v->text[i], sizeof(v->text[i]), "%s", md_row_text(row, 1));
    for (int c = 0; c < d->nfeature; c++) {
        if (d->cols[c].type == MD_COL_LON) {
            v->lon = md_row_double(row, c);
            v->lat = md_row_double(row, c + 1);
        } else if (d->cols[c].type == MD_COL_WKB) {
            assert_non_null(md_row_blob(row, c, &v->wkb_len));
        }
    }
    return MD_OK;
}

static md_err stop_here(const struct md_row *row, void *userdata)
{
    (void)row;
    (void)userdata;
    return MD_EBUSY;
}

static void feature_get_reads_the_public_row(void **state)
{
    (void)state;
    struct md_store *s = city("fr_get");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct seen v = {.layer = MD_LAYER_FACILITIES};
    bool found = false;
    struct md_key_value key = {.i = 2};
    assert_int_equal(md_store_feature_get(s, MD_LAYER_FACILITIES, &key, record, &v, &found, &ctx),
                     MD_OK);
    assert_true(found);
    assert_int_equal(v.calls, 1);
    assert_int_equal(v.ids[0], 2);
    assert_string_equal(v.text[0], "toilet");
    assert_true(v.lon == 116.5 && v.lat == 39.95);
    /* no such id: no call */
    key.i = 99;
    assert_int_equal(md_store_feature_get(s, MD_LAYER_FACILITIES, &key, record, &v, &found, &ctx),
                     MD_OK);
    assert_false(found);
    assert_int_equal(v.calls, 1);
    /* districts by code, the polygon as WKB */
    struct seen d = {.layer = MD_LAYER_DISTRICTS};
    struct md_key_value code = {.is_text = true, .s = "110101"};
    assert_int_equal(md_store_feature_get(s, MD_LAYER_DISTRICTS, &code, record, &d, &found, &ctx),
                     MD_OK);
    assert_true(found);
    assert_string_equal(d.text[0], "110101");
    assert_int_equal(d.wkb_len, 9 + 9 + 4 + 5 * 16); /* a MultiPolygon of one 5-point ring */
    /* a key of the wrong kind, a layer without public features, a callback error */
    assert_int_equal(md_store_feature_get(s, MD_LAYER_DISTRICTS, &key, record, &d, &found, &ctx),
                     MD_EINVAL);
    assert_int_equal(md_store_feature_get(s, MD_LAYER_BASEMAP, &key, record, &d, &found, &ctx),
                     MD_EINVAL);
    key.i = 1;
    assert_int_equal(
        md_store_feature_get(s, MD_LAYER_FACILITIES, &key, stop_here, NULL, &found, &ctx),
        MD_EBUSY);
    unit_store_drop(s);
}

/* Every public SELECT names the columns of md_layer_public(), in order. */
static void selects_match_the_public_column_list(void **state)
{
    (void)state;
    struct md_store *s = city("fr_cols");
    for (int l = MD_LAYER_FACILITIES; l <= MD_LAYER_GRIDS; l++) {
        const struct md_layer_columns *d = md_layer_public((enum md_layer)l);
        assert_non_null(d);
        sqlite3_stmt *st = NULL;
        assert_int_equal(
            sqlite3_prepare_v2(md_store_db(s), md__feature_select_by_key(l), -1, &st, NULL),
            SQLITE_OK);
        assert_int_equal(sqlite3_column_count(st), d->nfeature);
        for (int i = 0; i < d->nfeature; i++)
            if (d->cols[i].type != MD_COL_WKB)
                assert_string_equal(sqlite3_column_name(st, i), d->cols[i].name);
        sqlite3_finalize(st);
    }
    assert_null(md_layer_public(MD_LAYER_BASEMAP));
    struct md_field f[MD_LAYER_MAX_FIELDS];
    int n = md_layer_filter_fields(MD_LAYER_REPORTS, f, MD_LAYER_MAX_FIELDS);
    assert_int_equal(n, 18); /* 20 public columns but the two JSON ones */
    assert_true(md_layer_column_is_json(MD_LAYER_REPORTS, "media_urls"));
    assert_false(md_layer_column_is_json(MD_LAYER_REPORTS, "status"));
    for (int i = 0; i < n; i++)
        assert_string_not_equal(f[i].name, "token");
    unit_store_drop(s);
}

static int scan_ids(struct md_store *s, const struct md_scan_query *q, int64_t *ids, int64_t *ver)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store_scan *sc = NULL;
    assert_int_equal(md_store_scan_open(s, q, &sc, &ctx), MD_OK);
    assert_int_equal(md_store_txn_state(s), MD_TXN_READ);
    *ver = md_store_scan_version(sc);
    int n = 0;
    const struct md_row *row = NULL;
    while (md_store_scan_next(sc, &row, &ctx) == MD_OK && row)
        ids[n++] = md_row_int(row, 0);
    assert_null(row);
    md_store_scan_close(sc);
    assert_int_equal(md_store_txn_state(s), MD_TXN_NONE);
    return n;
}

static void scans_filter_in_key_order(void **state)
{
    (void)state;
    struct md_store *s = city("fr_scan");
    int64_t ids[8], ver = 0;
    struct md_scan_query q = {.layer = MD_LAYER_FACILITIES};
    assert_int_equal(scan_ids(s, &q, ids, &ver), 3);
    assert_true(ids[0] == 1 && ids[1] == 2 && ids[2] == 3);
    assert_true(ver > 0);
    q.filter.category = "market";
    assert_int_equal(scan_ids(s, &q, ids, &ver), 2);
    assert_true(ids[0] == 1 && ids[1] == 3);
    q.filter.category = "market,toilet";
    q.has_box = true;
    q.box = (struct md_bbox){116.35, 39.85, 116.55, 40.0};
    assert_int_equal(scan_ids(s, &q, ids, &ver), 2);
    assert_true(ids[0] == 1 && ids[1] == 2);
    q = (struct md_scan_query){
        .layer = MD_LAYER_FACILITIES,
        .filter = {.has_from = true, .from = 150, .has_to = true, .to = 300}};
    assert_int_equal(scan_ids(s, &q, ids, &ver), 2);
    assert_true(ids[0] == 2 && ids[1] == 3);
    /* A scan over a table that is not there is an error, not an empty answer. */
    unit_exec(s, "ALTER TABLE grids RENAME TO grids_gone");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store_scan *sc = NULL;
    q = (struct md_scan_query){.layer = MD_LAYER_GRIDS};
    assert_int_equal(md_store_scan_open(s, &q, &sc, &ctx), MD_EDB);
    assert_null(sc);
    assert_int_equal(md_store_txn_state(s), MD_TXN_NONE);
    unit_store_drop(s);
}

static void extents_and_lookups(void **state)
{
    (void)state;
    struct md_store *s = city("fr_ext");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_bbox b = {0};
    bool any = false;
    assert_int_equal(md_store_layer_bounds(s, MD_LAYER_FACILITIES, &b, &any, &ctx), MD_OK);
    assert_true(any);
    /* the R*Tree stores float32 bounds rounded outwards */
    assert_true(b.minx <= 116.30 && b.minx > 116.29 && b.maxx >= 116.50 && b.maxx < 116.51);
    assert_true(b.miny <= 39.80 && b.maxy >= 39.95);
    assert_int_equal(md_store_layer_bounds(s, MD_LAYER_GRIDS, &b, &any, &ctx), MD_OK);
    assert_false(any);
    int64_t t0 = 0, t1 = 0;
    assert_int_equal(md_store_layer_time_range(s, MD_LAYER_FACILITIES, &t0, &t1, &any, &ctx),
                     MD_OK);
    assert_true(any && t0 == 100 && t1 == 300);
    assert_int_equal(md_store_layer_time_range(s, MD_LAYER_REPORTS, &t0, &t1, &any, &ctx), MD_OK);
    assert_false(any);
    assert_int_equal(md_store_city_bounds(s, &b, &any, &ctx), MD_OK);
    assert_true(any && b.minx == 116.38 && b.maxy == 39.97);
    bool found = false;
    assert_int_equal(md_store_code_known(s, MD_CODES_FACILITY_CATEGORY, "market", &found, &ctx),
                     MD_OK);
    assert_true(found);
    assert_int_equal(md_store_code_known(s, MD_CODES_REPORT_CATEGORY, "market", &found, &ctx),
                     MD_OK);
    assert_false(found);
    assert_int_equal(md_store_code_known(s, MD_CODES_REPORT_CATEGORY, "200102", &found, &ctx),
                     MD_OK);
    assert_true(found);
    assert_int_equal(md_store_code_known(s, MD_CODES_DISTRICT, "110101", &found, &ctx), MD_OK);
    assert_true(found);
    assert_int_equal(md_store_code_known(s, MD_CODES_CATEGORY_GROUP, "no-such", &found, &ctx),
                     MD_OK);
    assert_false(found);
    char name[64], en[64];
    assert_int_equal(
        md_store_district_names(s, "110101", name, sizeof(name), en, sizeof(en), &found, &ctx),
        MD_OK);
    assert_true(found);
    assert_string_equal(name, "东城区");
    assert_string_equal(en, "Dongcheng");
    assert_int_equal(
        md_store_district_names(s, "999999", name, sizeof(name), en, sizeof(en), &found, &ctx),
        MD_OK);
    assert_false(found);
    unit_store_drop(s);
}

/* Every column of a layer table that a statement feeding an output reads
 * is public and shown there (sqlite3_column_table_name/origin_name: which
 * table and column each result comes from); tables outside the layers are
 * allowed only from `joins`. */
static void expect_shown(struct md_store *s, const char *sql, unsigned where,
                         const char *const *joins)
{
    static const struct {
        const char *table;
        enum md_layer layer;
    } tables[] = {{"facilities", MD_LAYER_FACILITIES}, {"facility_tiles", MD_LAYER_FACILITIES},
                  {"reports", MD_LAYER_REPORTS},       {"report_tiles", MD_LAYER_REPORTS},
                  {"districts", MD_LAYER_DISTRICTS},   {"grids", MD_LAYER_GRIDS}};
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(md_store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(md_store_db(s)));
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        const char *t = sqlite3_column_table_name(st, i), *c = sqlite3_column_origin_name(st, i);
        if (!t || (c && strcmp(c, "rowid") == 0)) /* an expression, or a row's number */
            continue;
        bool layer_table = false;
        for (size_t k = 0; k < sizeof(tables) / sizeof(tables[0]); k++)
            if (strcmp(t, tables[k].table) == 0) {
                layer_table = true;
                if (!md_layer_column_shown(tables[k].layer, c, where))
                    fail_msg("%s.%s is read for an output that must not show it", t, c);
            }
        bool joined = false;
        for (const char *const *j = joins; !layer_table && j && *j; j++)
            joined |= strcmp(t, *j) == 0;
        if (!layer_table && !joined)
            fail_msg("column %d comes from table %s: not a public source", i, t);
    }
    sqlite3_finalize(st);
}

static void outputs_read_only_public_columns(void **state)
{
    (void)state;
    struct md_store *s = city("fr_shown");
    /* The reports API's JSON (Open311 and events take it): categories,
     * history notes, ratings and photos are joined in; never contacts. */
    static const char *const report_joins[] = {"categories", "report_history", "report_ratings",
                                               "report_photos", NULL};
    expect_shown(s, md__report_select_sql(), MD_SHOWN_REPORT, report_joins);
    /* Tiles: each statement's columns are shown in tiles (rowid is the
     * polygons' feature id, not a field). */
    static const char *const tile_joins[] = {NULL};
    size_t n = 0;
    const char *const *tile_sql = md__tile_read_sql(&n);
    assert_true(n >= 7);
    for (size_t i = 0; i < n; i++)
        expect_shown(s, tile_sql[i], MD_SHOWN_TILE, tile_joins);
    assert_false(md_layer_column_shown(MD_LAYER_REPORTS, "token", ~0u));
    assert_true(md_layer_column_shown(MD_LAYER_REPORTS, "supporters", MD_SHOWN_TILE));
    assert_false(md_layer_column_shown(MD_LAYER_REPORTS, "supporters", MD_SHOWN_FEATURE));
    unit_store_drop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(feature_get_reads_the_public_row),
        cmocka_unit_test(selects_match_the_public_column_list),
        cmocka_unit_test(scans_filter_in_key_order),
        cmocka_unit_test(extents_and_lookups),
        cmocka_unit_test(outputs_read_only_public_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
