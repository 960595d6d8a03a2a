/* store/stats_read: the scan of filtered reports behind /api/v1/stats and
 * /api/v1/hotspots, against a real SpatiaLite file: every filter, the box,
 * the typed columns, the text mask, a callback's error and a step error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_read.h"
#include "store.h"
#include "store_int.h"
#include "unit_store.h"

#define ALL_COLUMNS                                                                                \
    ((MD_STATS_COL_TEXT(MD_STATS_NTEXT) - 1) | MD_STATS_COL_TIMES | MD_STATS_COL_POINT)

static void insert(struct md_store *s, int id, const char *kind, const char *code,
                   const char *district, const char *status, const char *channel, int64_t created,
                   const char *expected, const char *closed, double lon, double lat)
{
    char sql[768];
    snprintf(sql, sizeof(sql),
             "INSERT INTO reports(id, kind, service_code, district_code, status, channel,"
             " created_at, updated_at, expected_at, closed_at, lon, lat, geom)"
             " VALUES (%d, '%s', '%s', '%s', '%s', '%s', %lld, %lld, %s, %s, %.7f, %.7f,"
             " MakePoint(%.7f, %.7f, 4326))",
             id, kind, code, district, status, channel, (long long)created, (long long)created,
             expected, closed, lon, lat, lon, lat);
    unit_exec(s, sql);
}

/* 1: group 01, open, due at 5000; 2: group 02, closed at 4000, due 3000;
 * 3: an incident of group 01, no deadline. */
static struct md_store *three_reports(const char *name)
{
    struct md_store *s = unit_store_fresh(name);
    insert(s, 1, "problem", "200102", "110101", "reported", "app", 1000, "5000", "NULL", 116.40,
           39.90);
    insert(s, 2, "problem", "200201", "110102", "closed", "web", 2000, "3000", "4000", 116.50,
           39.95);
    insert(s, 3, "incident", "200103", "110101", "in_progress", "hotline", 3000, "NULL", "NULL",
           116.30, 39.80);
    return s;
}

#define MAX_SEEN 8
struct seen {
    int n;
    struct md_stats_row rows[MAX_SEEN];
    char texts[MAX_SEEN][MD_STATS_NTEXT][16];
    bool text_null[MAX_SEEN][MD_STATS_NTEXT];
    int stop_after; /* > 0: return MD_EEXPENSIVE from the stop_after-th row */
    bool interrupt; /* interrupt the connection on the first row */
    struct md_store *s;
};

static md_err collect(const struct md_stats_row *row, void *userdata)
{
    struct seen *v = userdata;
    assert_true(v->n < MAX_SEEN);
    v->rows[v->n] = *row;
    for (int i = 0; i < MD_STATS_NTEXT; i++) {
        v->text_null[v->n][i] = row->text[i] == NULL;
        snprintf(v->texts[v->n][i], sizeof(v->texts[v->n][i]), "%s",
                 row->text[i] ? row->text[i] : "");
    }
    v->n++;
    if (v->interrupt)
        sqlite3_interrupt(md_store_db(v->s));
    if (v->stop_after && v->n == v->stop_after)
        return MD_EEXPENSIVE;
    return MD_OK;
}

/* How many reports pass `scope`. */
static int count(struct md_store *s, const struct md_stats_scope *scope)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct seen v = {0};
    assert_int_equal(md_store_stats_reports(s, scope, 0, collect, &v, &ctx), MD_OK);
    return v.n;
}

static void rows_carry_typed_columns(void **state)
{
    (void)state;
    struct md_store *s = three_reports("cols");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_stats_scope all = {0};
    struct seen v = {0};
    assert_int_equal(md_store_stats_reports(s, &all, ALL_COLUMNS, collect, &v, &ctx), MD_OK);
    assert_int_equal(v.n, 3);
    /* report 2 (table order = id order here) */
    assert_string_equal(v.texts[1][MD_STATS_CATEGORY], "200201");
    assert_string_equal(v.texts[1][MD_STATS_GROUP], "02");
    assert_string_equal(v.texts[1][MD_STATS_DISTRICT], "110102");
    assert_string_equal(v.texts[1][MD_STATS_STATUS], "closed");
    assert_string_equal(v.texts[1][MD_STATS_KIND], "problem");
    assert_string_equal(v.texts[1][MD_STATS_CHANNEL], "web");
    assert_int_equal(v.rows[1].created_at, 2000);
    assert_true(v.rows[1].has_closed_at);
    assert_int_equal(v.rows[1].closed_at, 4000);
    assert_true(v.rows[1].has_expected_at);
    assert_int_equal(v.rows[1].expected_at, 3000);
    assert_float_equal(v.rows[1].lon, 116.50, 1e-9);
    assert_float_equal(v.rows[1].lat, 39.95, 1e-9);
    /* absent times */
    assert_false(v.rows[0].has_closed_at);
    assert_int_equal(v.rows[0].closed_at, 0);
    assert_false(v.rows[2].has_expected_at);
    assert_string_equal(v.texts[2][MD_STATS_KIND], "incident");
    assert_string_equal(v.texts[2][MD_STATS_GROUP], "01");

    /* only the columns asked for are read; the others stay NULL / 0 */
    struct seen w = {0};
    unsigned some = MD_STATS_COL_TEXT(MD_STATS_STATUS) | MD_STATS_COL_TEXT(MD_STATS_DISTRICT);
    assert_int_equal(md_store_stats_reports(s, &all, some, collect, &w, &ctx), MD_OK);
    assert_int_equal(w.n, 3);
    for (int i = 0; i < MD_STATS_NTEXT; i++)
        assert_int_equal(w.text_null[1][i], !(some & MD_STATS_COL_TEXT(i)));
    assert_string_equal(w.texts[1][MD_STATS_STATUS], "closed");
    assert_string_equal(w.texts[1][MD_STATS_DISTRICT], "110102");
    assert_int_equal(w.rows[1].created_at, 0);
    assert_false(w.rows[1].has_closed_at);
    assert_float_equal(w.rows[1].lon, 0, 0);
    struct seen t = {0};
    assert_int_equal(md_store_stats_reports(s, &all, MD_STATS_COL_TIMES, collect, &t, &ctx), MD_OK);
    assert_true(t.text_null[1][MD_STATS_STATUS]);
    assert_int_equal(t.rows[1].created_at, 2000);
    assert_int_equal(t.rows[1].closed_at, 4000);
    assert_int_equal(t.rows[1].expected_at, 3000);
    assert_float_equal(t.rows[1].lat, 0, 0);
    struct seen p = {0};
    assert_int_equal(md_store_stats_reports(s, &all, MD_STATS_COL_POINT, collect, &p, &ctx), MD_OK);
    assert_float_equal(p.rows[1].lon, 116.50, 1e-9);
    assert_float_equal(p.rows[1].lat, 39.95, 1e-9);
    assert_int_equal(p.rows[1].created_at, 0);
    unit_store_drop(s);
}

static void filters_and_box_select_reports(void **state)
{
    (void)state;
    struct md_store *s = three_reports("filters");
    struct md_stats_scope sc = {0};
    assert_int_equal(count(s, &sc), 3);
    sc.filter.category = "200102,200103"; /* comma list */
    assert_int_equal(count(s, &sc), 2);
    sc.filter.category = "200102";
    assert_int_equal(count(s, &sc), 1);
    sc = (struct md_stats_scope){0};
    sc.filter.group = "02";
    assert_int_equal(count(s, &sc), 1);
    sc = (struct md_stats_scope){0};
    sc.filter.status = "closed,in_progress";
    assert_int_equal(count(s, &sc), 2);
    sc = (struct md_stats_scope){0};
    sc.filter.district = "110101";
    assert_int_equal(count(s, &sc), 2);
    sc = (struct md_stats_scope){0};
    sc.filter.kind = "incident";
    assert_int_equal(count(s, &sc), 1);
    sc = (struct md_stats_scope){0};
    sc.filter.has_from = true;
    sc.filter.from = 2000; /* inclusive */
    assert_int_equal(count(s, &sc), 2);
    sc.filter.has_to = true;
    sc.filter.to = 2000;
    assert_int_equal(count(s, &sc), 1);
    sc = (struct md_stats_scope){0};
    sc.has_box = true;
    sc.box = (struct md_bbox){116.35, 39.85, 116.50, 39.95}; /* edges included */
    assert_int_equal(count(s, &sc), 2);
    sc.box = (struct md_bbox){0, 0, 1, 1};
    assert_int_equal(count(s, &sc), 0);
    /* conditions combine */
    sc = (struct md_stats_scope){0};
    sc.filter.district = "110101";
    sc.filter.kind = "problem";
    assert_int_equal(count(s, &sc), 1);
    unit_store_drop(s);
}

static void callback_error_stops_the_scan(void **state)
{
    (void)state;
    struct md_store *s = three_reports("stop");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_stats_scope all = {0};
    struct seen v = {.stop_after = 2};
    assert_int_equal(md_store_stats_reports(s, &all, ALL_COLUMNS, collect, &v, &ctx),
                     MD_EEXPENSIVE);
    assert_int_equal(v.n, 2);
    /* the statement was reset: the next scan starts over */
    assert_int_equal(count(s, &all), 3);
    unit_store_drop(s);
}

static void step_error_is_an_error(void **state)
{
    (void)state;
    struct md_store *s = three_reports("steperr");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_stats_scope all = {0};
    struct seen v = {.interrupt = true, .s = s};
    assert_int_equal(md_store_stats_reports(s, &all, 0, collect, &v, &ctx), MD_EDB);
    assert_int_equal(v.n, 1); /* not a short answer */
    assert_non_null(strstr(md_ctx_message(&ctx), "stats: interrupted"));
    assert_int_equal(count(s, &all), 3);
    unit_store_drop(s);
}

static void empty_table_calls_nothing(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("empty");
    struct md_stats_scope all = {0};
    assert_int_equal(count(s, &all), 0);
    unit_store_drop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_carry_typed_columns),
        cmocka_unit_test(filters_and_box_select_reports),
        cmocka_unit_test(callback_error_stops_the_scan),
        cmocka_unit_test(step_error_is_an_error),
        cmocka_unit_test(empty_table_calls_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
