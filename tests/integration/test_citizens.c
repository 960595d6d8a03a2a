/* test_citizens.c - a citizen and a report already filed, against the real
 * server over a copy of the sample database: "me too" once per device token
 * (201, then 409), only on open reports, counted in the report's answers,
 * the duplicate hint and the list sorted by supporters; bad input is 400
 * with a message naming the field; and the table itself holds one row per
 * (report, device hash), never the token. Following a report with its
 * follow-up token: comments and the rating in the history, withdrawing, and
 * 403 for any other token; the rating once the case is closed (accepted,
 * dispatched to a unit, handled by its officer, verified).
 */
#include "harness.h"

#include <jansson.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static struct md_harness H;
static char centre_token[128], officer_token[128];

static int setup(void **state)
{
    (void)state;
    static const char *const args[] = {"--rate-limit", "0", NULL};
    md_harness_start(&H, args);
    char cmd[1024];
    const char *bin = getenv("MAPD_BIN");
    snprintf(cmd, sizeof(cmd), "'%s' token add --db '%s' --role centre --label test", bin, H.db);
    if (!md_sh_first_line(cmd, centre_token, sizeof(centre_token)))
        return -1;
    snprintf(cmd, sizeof(cmd),
             "'%s' unit add --db '%s' --code DC-HW --name 东城区环卫中心 --type sanitation", bin,
             H.db);
    if (md_sh("%s >/dev/null", cmd) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' token add --db '%s' --role officer --unit DC-HW --name 张三",
             bin, H.db);
    return md_sh_first_line(cmd, officer_token, sizeof(officer_token)) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return md_harness_stop(&H) == 0 ? 0 : -1;
}

/* One JSON request; returns the parsed body (caller decrefs) and the status. */
static json_t *call_as(const char *tok, const char *method, const char *path, const char *body,
                       long *status)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok ? tok : "");
    bool staff = tok != NULL;
    const char *const hdrs[] = {"Content-Type: application/json", staff ? auth : NULL, NULL};
    struct md_http_res r;
    assert_int_equal(md_http(&H, method, path, hdrs, body, body ? strlen(body) : 0, &r), 0);
    json_error_t err;
    json_t *j = json_loads(r.body, 0, &err);
    if (!j)
        fprintf(stderr, "%s %s -> %ld: %s\n", method, path, r.status, r.body);
    assert_non_null(j);
    *status = r.status;
    md_http_res_free(&r);
    return j;
}

static json_t *call(const char *method, const char *path, const char *body, bool staff,
                    long *status)
{
    return call_as(staff ? centre_token : NULL, method, path, body, status);
}

static int64_t file_report(double lon, double lat)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"category\":\"200102\",\"lon\":%.6f,\"lat\":%.6f,\"description\":\"me too test\"}",
             lon, lat);
    long st;
    json_t *j = call("POST", "/api/v1/reports", body, false, &st);
    assert_int_equal(st, 201);
    int64_t id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static json_t *support(int64_t id, const char *device, long *st)
{
    char path[96], body[256];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/supporters", (long long)id);
    snprintf(body, sizeof(body), "{\"device\":\"%s\"}", device);
    return call("POST", path, body, false, st);
}

static int64_t supporters_of(int64_t id)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld", (long long)id);
    long st;
    json_t *j = call("GET", path, NULL, false, &st);
    assert_int_equal(st, 200);
    assert_true(json_is_integer(json_object_get(j, "supporters")));
    int64_t n = json_integer_value(json_object_get(j, "supporters"));
    json_decref(j);
    return n;
}

/* `st` by address: it is set by the call that makes `j`, an argument
 * evaluated in no fixed order beside it. */
static void expect_error(json_t *j, const long *stp, long want, const char *needle)
{
    long st = *stp;
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (st != want || !msg || !strstr(msg, needle))
        fprintf(stderr, "want %ld '%s', got %ld '%s'\n", want, needle, st, msg ? msg : "(none)");
    assert_int_equal(st, want);
    assert_non_null(msg);
    assert_non_null(strstr(msg, needle));
    json_decref(j);
}

static void me_too_once_per_device(void **state)
{
    (void)state;
    int64_t id = file_report(116.4101, 39.9102);
    assert_int_equal(supporters_of(id), 0);
    long st;
    json_t *j = support(id, "device-aaaaaaaaaaaaaaaa", &st);
    assert_int_equal(st, 201);
    assert_int_equal(json_integer_value(json_object_get(j, "supporters")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "report_id")), id);
    json_decref(j);
    expect_error(support(id, "device-aaaaaaaaaaaaaaaa", &st), &st, 409, "already supports");
    j = support(id, "device-bbbbbbbbbbbbbbbb", &st);
    assert_int_equal(st, 201);
    assert_int_equal(json_integer_value(json_object_get(j, "supporters")), 2);
    json_decref(j);
    assert_int_equal(supporters_of(id), 2);

    /* The table keeps (report, SHA-256 of the device), never the token. */
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open_v2(H.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*), sum(length(device_hash) = 64),"
                                        " sum(instr(device_hash, 'device') > 0)"
                                        " FROM report_supports WHERE report_id = ?",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(q, 1, id);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 2);
    assert_int_equal(sqlite3_column_int(q, 1), 2);
    assert_int_equal(sqlite3_column_int(q, 2), 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void me_too_bad_input(void **state)
{
    (void)state;
    int64_t id = file_report(116.4102, 39.9103);
    long st;
    expect_error(support(id, "short", &st), &st, 400, "device must be 16-128");
    expect_error(support(999999999, "device-cccccccccccccccc", &st), &st, 404, "does not exist");
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/supporters", (long long)id);
    expect_error(call("POST", path, "{\"device\":\"device-cccccccccccccccc\",\"x\":1}", false, &st),
                 &st, 400, "x");
    expect_error(call("POST", path, "[1]", false, &st), &st, 400, "JSON object");
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/nothing", (long long)id);
    expect_error(call("POST", path, "{}", false, &st), &st, 404, "no such resource");
    assert_int_equal(supporters_of(id), 0);
}

static void closed_reports_take_no_support(void **state)
{
    (void)state;
    int64_t id = file_report(116.4103, 39.9104);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/transitions", (long long)id);
    long st;
    json_decref(call("POST", path, "{\"action\":\"reject\",\"note\":\"不属实\"}", true, &st));
    assert_int_equal(st, 200);
    expect_error(support(id, "device-dddddddddddddddd", &st), &st, 409, "only open reports");
    assert_int_equal(supporters_of(id), 0);
}

static void duplicate_hint_and_sort_carry_supporters(void **state)
{
    (void)state;
    int64_t first = file_report(116.3801, 39.9301);
    long st;
    for (int i = 0; i < 3; i++) {
        char dev[40];
        snprintf(dev, sizeof(dev), "device-sort-%016d", i);
        json_decref(support(first, dev, &st));
        assert_int_equal(st, 201);
    }
    /* A second report a few metres away: the hint lists the first with its count. */
    json_t *j = call("POST", "/api/v1/reports",
                     "{\"category\":\"200102\",\"lon\":116.38011,\"lat\":39.93011}", false, &st);
    assert_int_equal(st, 201);
    json_t *dups = json_object_get(j, "duplicates");
    bool seen = false;
    size_t i;
    json_t *d;
    json_array_foreach(dups, i, d)
    {
        if (json_integer_value(json_object_get(d, "id")) == first) {
            seen = true;
            assert_int_equal(json_integer_value(json_object_get(d, "supporters")), 3);
        }
    }
    assert_true(seen);
    json_decref(j);
    /* Most supported first: the first page is in non-increasing order, led by ours. */
    j = call("GET", "/api/v1/reports?sort=supporters&status=reported&limit=20", NULL, true, &st);
    assert_int_equal(st, 200);
    json_t *arr = json_object_get(j, "reports");
    assert_true(json_array_size(arr) > 1);
    int64_t prev = INT64_MAX;
    json_array_foreach(arr, i, d)
    {
        int64_t n = json_integer_value(json_object_get(d, "supporters"));
        assert_true(n <= prev);
        prev = n;
    }
    assert_true(json_integer_value(json_object_get(json_array_get(arr, 0), "supporters")) >= 3);
    json_decref(j);
    expect_error(call("GET", "/api/v1/reports?sort=loudest", NULL, false, &st), &st, 400,
                 "sort must be newest or supporters");
}

/* File a report; its follow-up token into tok. */
static int64_t file_with_token(char tok[64])
{
    long st;
    json_t *j = call("POST", "/api/v1/reports",
                     "{\"category\":\"200102\",\"lon\":116.4001,\"lat\":39.9201}", false, &st);
    assert_int_equal(st, 201);
    snprintf(tok, 64, "%s", json_string_value(json_object_get(j, "token")));
    int64_t id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static json_t *follow(int64_t id, const char *what, const char *body, long *st)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/%s", (long long)id, what);
    return call("POST", path, body, false, st);
}

static json_t *history(int64_t id)
{
    char path[96];
    long st;
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/history", (long long)id);
    json_t *j = call("GET", path, NULL, false, &st);
    assert_int_equal(st, 200);
    return j;
}

static void step(const char *tok, int64_t id, const char *body)
{
    char path[96];
    long st;
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/transitions", (long long)id);
    json_t *j = call_as(tok, "POST", path, body, &st);
    if (st != 200)
        fprintf(stderr, "%s -> %ld\n", body, st);
    assert_int_equal(st, 200);
    json_decref(j);
}

static void reporter_comments_with_the_token(void **state)
{
    (void)state;
    char tok[64], other_tok[64], body[256];
    int64_t id = file_with_token(tok);
    int64_t other = file_with_token(other_tok);
    long st;
    snprintf(body, sizeof(body), "{\"token\":\"%s\",\"text\":\"垃圾还在，越来越多\"}", tok);
    json_t *j = follow(id, "comments", body, &st);
    assert_int_equal(st, 201);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "report"), "status")),
                        "reported");
    json_decref(j);
    /* Another report's token, a made-up one, none: 403 / 403 / 400. */
    snprintf(body, sizeof(body), "{\"token\":\"%s\",\"text\":\"x\"}", other_tok);
    expect_error(follow(id, "comments", body, &st), &st, 403, "not the follow-up token");
    expect_error(follow(id, "comments", "{\"token\":\"0000\",\"text\":\"x\"}", &st), &st, 403,
                 "not the follow-up token");
    expect_error(follow(id, "comments", "{\"text\":\"x\"}", &st), &st, 400, "token");
    snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tok);
    expect_error(follow(id, "comments", body, &st), &st, 400, "text");
    snprintf(body, sizeof(body), "{\"token\":\"%s\",\"text\":\"x\"}", tok);
    expect_error(follow(999999999, "comments", body, &st), &st, 404, "does not exist");
    /* The history shows the comment as the reporter's. */
    j = history(id);
    json_t *h = json_object_get(j, "history");
    assert_int_equal(json_array_size(h), 2);
    json_t *c = json_array_get(h, 1);
    assert_string_equal(json_string_value(json_object_get(c, "action")), "comment");
    assert_string_equal(json_string_value(json_object_get(c, "actor")), "reporter");
    assert_string_equal(json_string_value(json_object_get(c, "role")), "public");
    assert_string_equal(json_string_value(json_object_get(c, "note")), "垃圾还在，越来越多");
    assert_string_equal(json_string_value(json_object_get(c, "to")), "reported");
    json_decref(j);
    (void)other;
}

static void reporter_withdraws(void **state)
{
    (void)state;
    char tok[64], body[256];
    int64_t id = file_with_token(tok);
    long st;
    snprintf(body, sizeof(body), "{\"token\":\"%s\",\"note\":\"已自行解决\"}", tok);
    json_t *j = follow(id, "withdraw", body, &st);
    assert_int_equal(st, 200);
    json_t *r = json_object_get(j, "report");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "rejected");
    assert_string_equal(json_string_value(json_object_get(r, "status_note")), "已自行解决");
    json_decref(j);
    expect_error(follow(id, "withdraw", body, &st), &st, 409,
                 "cannot withdraw a report that is rejected");
    j = history(id);
    json_t *last = json_array_get(json_object_get(j, "history"), 1);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "withdraw");
    assert_string_equal(json_string_value(json_object_get(last, "from")), "reported");
    assert_string_equal(json_string_value(json_object_get(last, "actor")), "reporter");
    json_decref(j);
    /* The centre cannot take the reporter's step through the workflow. */
    int64_t id2 = file_with_token(tok);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/transitions", (long long)id2);
    expect_error(call("POST", path, "{\"action\":\"withdraw\"}", true, &st), &st, 403,
                 "may not withdraw");
}

static void reporter_rates_a_closed_case_once(void **state)
{
    (void)state;
    char tok[64], body[256];
    int64_t id = file_with_token(tok);
    long st;
    snprintf(body, sizeof(body), "{\"token\":\"%s\",\"score\":4,\"comment\":\"处理及时\"}", tok);
    expect_error(follow(id, "rating", body, &st), &st, 409, "rated once it is closed");
    step(centre_token, id, "{\"action\":\"accept\"}");
    step(centre_token, id, "{\"action\":\"dispatch\",\"unit\":\"DC-HW\"}");
    step(officer_token, id, "{\"action\":\"start\"}");
    /* Handled cases cannot be withdrawn any more; in progress they could. */
    step(officer_token, id, "{\"action\":\"report_back\",\"note\":\"已清运\"}");
    char wbody[128];
    snprintf(wbody, sizeof(wbody), "{\"token\":\"%s\"}", tok);
    expect_error(follow(id, "withdraw", wbody, &st), &st, 409, "handled");
    step(centre_token, id, "{\"action\":\"verify\"}");
    char bad[128];
    snprintf(bad, sizeof(bad), "{\"token\":\"%s\",\"score\":6}", tok);
    expect_error(follow(id, "rating", bad, &st), &st, 400, "score");
    json_t *j = follow(id, "rating", body, &st);
    assert_int_equal(st, 201);
    json_t *r = json_object_get(j, "report");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "closed");
    assert_int_equal(json_integer_value(json_object_get(r, "rating")), 4);
    json_decref(j);
    expect_error(follow(id, "rating", body, &st), &st, 409, "already rated");
    j = history(id);
    json_t *h = json_object_get(j, "history");
    json_t *last = json_array_get(h, json_array_size(h) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "rate");
    assert_string_equal(json_string_value(json_object_get(last, "note")), "4/5 处理及时");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(me_too_once_per_device),
        cmocka_unit_test(me_too_bad_input),
        cmocka_unit_test(closed_reports_take_no_support),
        cmocka_unit_test(duplicate_hint_and_sort_carry_supporters),
        cmocka_unit_test(reporter_comments_with_the_token),
        cmocka_unit_test(reporter_withdraws),
        cmocka_unit_test(reporter_rates_a_closed_case_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
