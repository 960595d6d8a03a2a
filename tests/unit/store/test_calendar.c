/* calendar: deadlines on working time, across weekends and holidays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "calendar.h"
#include "md_time.h"

static int64_t at(const char *iso)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t t = 0;
    assert_int_equal(md_time_parse(iso, 480, &t, &ctx), MD_OK);
    return t;
}

static void expect(const struct md_calendar *c, const char *start, int value, const char *unit,
                   const char *want)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t out = 0;
    assert_int_equal(md_calendar_deadline(c, at(start), value, unit, &out, &ctx), MD_OK);
    char got[MD_TIME_STR_MAX];
    md_time_format(out, 480, got);
    if (strcmp(got, want) != 0)
        fail_msg("%s + %d %s: got %s, want %s", start, value, unit, got, want);
}

static void hours_within_a_day_and_over_night(void **state)
{
    (void)state;
    struct md_calendar c;
    md_calendar_default(&c);
    /* 2026-11-18 is a Wednesday. */
    expect(&c, "2026-11-18T10:00:00+08:00", 2, "hours", "2026-11-18T12:00:00+08:00");
    expect(&c, "2026-11-18T16:00:00+08:00", 2, "hours", "2026-11-19T10:00:00+08:00");
    /* Before opening: counts from 09:00. */
    expect(&c, "2026-11-18T06:30:00+08:00", 4, "hours", "2026-11-18T13:00:00+08:00");
    /* After closing: counts from the next morning. */
    expect(&c, "2026-11-18T20:00:00+08:00", 1, "hours", "2026-11-19T10:00:00+08:00");
}

static void weekend_is_skipped(void **state)
{
    (void)state;
    struct md_calendar c;
    md_calendar_default(&c);
    /* Friday 15:00 + 4h = Monday 11:00. */
    expect(&c, "2026-11-20T15:00:00+08:00", 4, "hours", "2026-11-23T11:00:00+08:00");
    /* Saturday report + 1 day (8 working hours) = Monday 17:00. */
    expect(&c, "2026-11-21T11:00:00+08:00", 1, "days", "2026-11-23T17:00:00+08:00");
    /* Wednesday 10:00 + 5 days = next Wednesday 10:00. */
    expect(&c, "2026-11-18T10:00:00+08:00", 5, "days", "2026-11-25T10:00:00+08:00");
}

static void holidays_and_makeup_days(void **state)
{
    (void)state;
    struct md_calendar c;
    md_calendar_default(&c);
    /* National Day week 2026: Oct 1-7 off (Thu-Wed), Sat Oct 10 a make-up workday. */
    int64_t holidays[7], workdays[1];
    for (int i = 0; i < 7; i++)
        holidays[i] = (at("2026-10-01T12:00:00+08:00") + 480 * 60) / 86400 + i;
    workdays[0] = (at("2026-10-10T12:00:00+08:00") + 480 * 60) / 86400;
    c.holidays = holidays;
    c.nholidays = 7;
    c.workdays = workdays;
    c.nworkdays = 1;
    /* Sep 30 (Wed) 16:00 + 2h: 1h that day, then Oct 1-7 off -> Thu Oct 8 10:00. */
    expect(&c, "2026-09-30T16:00:00+08:00", 2, "hours", "2026-10-08T10:00:00+08:00");
    /* Fri Oct 9 16:00 + 2h -> Saturday Oct 10 is a workday: 10:00 that day. */
    expect(&c, "2026-10-09T16:00:00+08:00", 2, "hours", "2026-10-10T10:00:00+08:00");
    assert_false(md_calendar_is_workday(&c, holidays[3]));
    assert_true(md_calendar_is_workday(&c, workdays[0]));
}

static void bad_units_rejected(void **state)
{
    (void)state;
    struct md_calendar c;
    md_calendar_default(&c);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t out;
    assert_int_equal(md_calendar_deadline(&c, 0, 3, "weeks", &out, &ctx), MD_EINVAL);
    assert_string_equal(ctx.msg, "deadline unit must be hours or days");
    md_ctx_init(&ctx);
    assert_int_equal(md_calendar_deadline(&c, 0, -1, "hours", &out, &ctx), MD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hours_within_a_day_and_over_night),
        cmocka_unit_test(weekend_is_skipped),
        cmocka_unit_test(holidays_and_makeup_days),
        cmocka_unit_test(bad_units_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
