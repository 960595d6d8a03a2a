/* store/reports + calendar import: the 2026 holiday calendar shipped in
 * sample-data drives dispatch deadlines across weekends, public holidays and
 * make-up workdays; a report's insert/step/history round trip at the store
 * level, with its events in the same transactions; photos inserted with
 * the report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "md_time.h"
#include "reports.h"

static char dir[64], db[128];
static struct md_store *S;
static struct md_calendar CAL;

static int setup(void **state)
{
    (void)state;
    char cats[1024], cal[1024];
    const char *src = getenv("MAPD_SOURCE_DIR");
    assert_non_null(src);
    snprintf(cats, sizeof(cats), "%s/sample-data/categories.json", src);
    snprintf(cal, sizeof(cal), "%s/sample-data/calendar.json", src);
    snprintf(dir, sizeof(dir), "/tmp/mapd-reports-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/db.sqlite", dir);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md_store_open(db, MD_STORE_CREATE, &S, &ctx) || md_store_init(S, cats, &ctx) ||
        md_store_begin(S, &ctx) || md_calendar_import(S, cal, &ctx) || md_store_commit(S, &ctx) ||
        md_calendar_load(S, &CAL, &ctx))
        fail_msg("setup: %s", md_ctx_message(&ctx));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    md_calendar_free(&CAL);
    md_store_close(S);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int64_t at(const char *iso)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t t = 0;
    assert_int_equal(md_time_parse(iso, 480, &t, &ctx), MD_OK);
    return t;
}

static void expect(const char *start, int value, const char *unit, const char *want)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t out = 0;
    assert_int_equal(md_calendar_deadline(&CAL, at(start), value, unit, &out, &ctx), MD_OK);
    char got[MD_TIME_STR_MAX];
    md_time_format(out, 480, got);
    if (strcmp(got, want) != 0)
        fail_msg("%s + %d %s: got %s, want %s", start, value, unit, got, want);
}

static void holidays_weekends_and_makeup_days(void **state)
{
    (void)state;
    assert_int_equal(CAL.nholidays, 33);
    assert_int_equal(CAL.nworkdays, 6);
    /* A weekend: Friday 16:00 + 4 h = 1 h Friday, 3 h Monday. */
    expect("2026-11-20T16:00:00+08:00", 4, "hours", "2026-11-23T12:00:00+08:00");
    /* National Day: Wed 30 Sep 16:00 + 2 days (16 h) skips 1-7 Oct: 1 h on the
     * 30th, 8 h on Thu 8 Oct, 7 h on Fri 9 Oct. */
    expect("2026-09-30T16:00:00+08:00", 2, "days", "2026-10-09T16:00:00+08:00");
    /* A make-up Saturday (10 Oct) works: Fri 9 Oct 15:00 + 4 h ends Sat 11:00. */
    expect("2026-10-09T15:00:00+08:00", 4, "hours", "2026-10-10T11:00:00+08:00");
    /* Spring Festival 15-23 Feb, with the make-up Saturday 14 Feb before it. */
    expect("2026-02-13T16:00:00+08:00", 2, "hours", "2026-02-14T10:00:00+08:00");
    expect("2026-02-14T16:00:00+08:00", 2, "hours", "2026-02-24T10:00:00+08:00");
    /* New Year (1-3 Jan) then the make-up Sunday 4 Jan. */
    expect("2025-12-31T17:30:00+08:00", 1, "hours", "2026-01-04T10:00:00+08:00");
    /* Labour Day 1-5 May: Thu 30 Apr 16:30 + 1 h ends Wed 6 May 09:30. */
    expect("2026-04-30T16:30:00+08:00", 1, "hours", "2026-05-06T09:30:00+08:00");
}

static md_err count_event(int64_t id, const char *type, const char *payload, void *userdata)
{
    (void)id;
    int *n = userdata;
    assert_non_null(strstr(payload, type));
    assert_null(strstr(payload, "13800000000")); /* the contact never reaches an event */
    (*n)++;
    return MD_OK;
}

static void insert_step_history(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_report_input in = {.kind = "problem", .service_code = "200102", .description = "垃圾",
                                 .lon = 116.397, .lat = 39.909, .district = "110101",
                                 .channel = "app", .contact = {.phone = "13800000000"},
                                 .actor_role = MD_ROLE_PUBLIC, .actor_id = "anonymous"};
    struct md_report_created cr;
    int64_t t0 = at("2026-09-30T16:00:00+08:00");
    assert_int_equal(md_store_begin(S, &ctx), MD_OK);
    assert_int_equal(md_report_insert(S, &in, t0, 480, &cr, &ctx), MD_OK);
    assert_int_equal(md_store_commit(S, &ctx), MD_OK);
    assert_int_equal(strlen(cr.token), 32);
    struct md_principal centre = {.role = MD_ROLE_CENTRE, .token_id = 1, .actor = "token:1"};
    struct md_principal officer = {.role = MD_ROLE_OFFICER, .token_id = 2, .actor = "token:2"};
    json_t *r = NULL;
    struct md_step accept = {.action = "accept"}, dispatch = {.action = "dispatch", .note = "派遣"};
    assert_int_equal(md_report_transition(S, &CAL, cr.id, &accept, &centre, t0, 480, &r, &ctx), MD_OK);
    json_decref(r);
    /* 200102 has 4 working hours: 30 Sep 16:00 -> 8 Oct 12:00 over National Day. */
    assert_int_equal(md_report_transition(S, &CAL, cr.id, &dispatch, &centre, t0, 480, &r, &ctx), MD_OK);
    assert_string_equal(json_string_value(json_object_get(r, "expected_at")), "2026-10-08T12:00:00+08:00");
    assert_string_equal(json_string_value(json_object_get(r, "status_note")), "派遣");
    assert_null(json_object_get(r, "phone"));
    json_decref(r);
    struct md_step verify = {.action = "verify"};
    assert_int_equal(md_report_transition(S, &CAL, cr.id, &verify, &officer, t0, 480, &r, &ctx), MD_EFORBID);
    assert_string_equal(ctx.msg, "the officer role may not verify a report");
    md_ctx_init(&ctx);
    json_t *h = NULL;
    assert_int_equal(md_report_history(S, cr.id, 480, &h, &ctx), MD_OK);
    assert_int_equal(json_array_size(h), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "to")), "dispatched");
    json_decref(h);
    int events = 0;
    assert_int_equal(md_events_since(S, 0, 100, count_event, &events, &ctx), MD_OK);
    assert_int_equal(events, 3);
}

/* Photos inserted with the report (the multipart create): ids in order, a
 * history row each, bytes served to staff only until accepted; a sixth
 * photo fails the insert. */
static void insert_with_photos(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    static const unsigned char display[] = "display-bytes", thumb[] = "thumb";
    struct md_photo_new p[MD_PHOTOS_PER_REPORT + 1];
    for (size_t i = 0; i < MD_PHOTOS_PER_REPORT + 1; i++)
        p[i] = (struct md_photo_new){.display = display,
                                     .display_len = sizeof(display),
                                     .thumb = thumb,
                                     .thumb_len = sizeof(thumb),
                                     .width = 64,
                                     .height = 48,
                                     .upload_bytes = 99};
    struct md_report_input in = {.kind = "problem",
                                 .service_code = "200102",
                                 .lon = 116.397,
                                 .lat = 39.909,
                                 .district = "110101",
                                 .channel = "web",
                                 .actor_role = MD_ROLE_PUBLIC,
                                 .actor_id = "anonymous",
                                 .photos = p,
                                 .nphotos = 2};
    struct md_report_created cr;
    int64_t t0 = at("2026-09-30T16:00:00+08:00");
    assert_int_equal(md_store_begin(S, &ctx), MD_OK);
    assert_int_equal(md_report_insert(S, &in, t0, 480, &cr, &ctx), MD_OK);
    assert_int_equal(md_store_commit(S, &ctx), MD_OK);
    assert_int_equal(cr.nphotos, 2);
    assert_true(cr.photo_ids[0] > 0 && cr.photo_ids[1] == cr.photo_ids[0] + 1);
    json_t *h = NULL;
    assert_int_equal(md_report_history(S, cr.id, 480, &h, &ctx), MD_OK);
    assert_int_equal(json_array_size(h), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "action")),
                        "photo");
    json_decref(h);
    unsigned char *bytes = NULL;
    size_t len = 0;
    char etag[MD_SHA256_HEX_LEN + 2];
    assert_int_equal(md_photo_bytes(S, cr.photo_ids[1], false, false, &bytes, &len, etag, &ctx),
                     MD_ENOTFOUND); /* not accepted yet */
    md_ctx_init(&ctx);
    assert_int_equal(md_photo_bytes(S, cr.photo_ids[1], true, true, &bytes, &len, etag, &ctx),
                     MD_OK);
    assert_int_equal(len, sizeof(thumb));
    free(bytes);
    in.nphotos = MD_PHOTOS_PER_REPORT + 1;
    assert_int_equal(md_store_begin(S, &ctx), MD_OK);
    assert_int_equal(md_report_insert(S, &in, t0, 480, &cr, &ctx), MD_EUNPROC);
    md_store_rollback(S);
    assert_non_null(strstr(ctx.msg, "at most 5 photos"));
}

/* 挂账 stops the clock: a case parked on Monday 2 March 2026 10:00 and
 * resumed a week later (no holiday between) gets its deadline moved by the
 * five working days it stood; working minutes count only 09:00-17:00 on
 * working days. */
static void parking_stops_the_clock(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t m = -1;
    assert_int_equal(md_calendar_working_minutes(&CAL, at("2026-03-06T16:30:00+08:00"),
                                                 at("2026-03-09T09:45:00+08:00"), &m, &ctx), MD_OK);
    assert_int_equal(m, 30 + 45); /* Friday's last half hour, Monday's first 45 minutes */
    assert_int_equal(md_calendar_working_minutes(&CAL, at("2026-10-01T10:00:00+08:00"),
                                                 at("2026-10-07T18:00:00+08:00"), &m, &ctx), MD_OK);
    assert_int_equal(m, 0); /* National Day holidays */
    struct md_report_input in = {.kind = "problem", .service_code = "200102", .description = "垃圾",
                                 .lon = 116.397, .lat = 39.909, .district = "110101",
                                 .channel = "app", .actor_role = MD_ROLE_PUBLIC,
                                 .actor_id = "anonymous"};
    struct md_report_created cr;
    int64_t t0 = at("2026-03-02T10:00:00+08:00");
    assert_int_equal(md_store_begin(S, &ctx), MD_OK);
    assert_int_equal(md_report_insert(S, &in, t0, 480, &cr, &ctx), MD_OK);
    assert_int_equal(md_store_commit(S, &ctx), MD_OK);
    struct md_principal centre = {.role = MD_ROLE_CENTRE, .token_id = 1, .actor = "token:1"};
    json_t *r = NULL;
    struct md_step steps[] = {{.action = "accept"}, {.action = "dispatch"}, {.action = "park"}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(md_report_transition(S, &CAL, cr.id, &steps[i], &centre, t0, 480, &r, &ctx),
                         MD_OK);
        json_decref(r);
    }
    /* 4 working hours from Monday 10:00. */
    struct md_step resume = {.action = "resume"};
    assert_int_equal(md_report_transition(S, &CAL, cr.id, &resume, &centre,
                                          at("2026-03-09T10:00:00+08:00"), 480, &r, &ctx), MD_OK);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "dispatched");
    assert_string_equal(json_string_value(json_object_get(r, "expected_at")), "2026-03-09T14:00:00+08:00");
    assert_false(json_is_true(json_object_get(r, "overdue")));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(holidays_weekends_and_makeup_days), cmocka_unit_test(insert_step_history),
        cmocka_unit_test(insert_with_photos), cmocka_unit_test(parking_stops_the_clock)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
