#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "md_time.h"

static void formats_with_zone(void **state)
{
    (void)state;
    char s[MD_TIME_STR_MAX];
    md_time_format(0, 0, s);
    assert_string_equal(s, "1970-01-01T00:00:00Z");
    md_time_format(1700000000, 480, s);
    assert_string_equal(s, "2023-11-15T06:13:20+08:00");
    md_time_format(951782400, -330, s); /* 2000-02-29T00:00Z */
    assert_string_equal(s, "2000-02-28T18:30:00-05:30");
}

static void parses_iso_forms(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t t;
    assert_int_equal(md_time_parse("2023-11-15T06:13:20+08:00", 0, &t, &ctx), MD_OK);
    assert_int_equal(t, 1700000000);
    assert_int_equal(md_time_parse("2023-11-14T22:13:20Z", 480, &t, &ctx), MD_OK);
    assert_int_equal(t, 1700000000);
    assert_int_equal(md_time_parse("2023-11-14T22:13:20.123Z", 480, &t, &ctx), MD_OK);
    assert_int_equal(t, 1700000000);
    assert_int_equal(md_time_parse("2023-11-15", 480, &t, &ctx), MD_OK);
    assert_int_equal(t, 1699977600);
    assert_int_equal(md_time_parse("2024-02-29T00:00:00+0800", 0, &t, &ctx), MD_OK);
}

static void rejects_bad_dates(void **state)
{
    (void)state;
    const char *bad[] = {"", "2023", "2023-13-01", "2023-02-29", "2023-11-15T25:00",
                         "2023-11-15T10:00:00+15:00", "2023-11-15x", "yesterday"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        int64_t t;
        assert_int_equal(md_time_parse(bad[i], 0, &t, &ctx), MD_EINVAL);
        assert_non_null(strstr(ctx.msg, "ISO 8601"));
    }
}

static void civil_round_trip(void **state)
{
    (void)state;
    for (int64_t d = -800000; d < 800000; d += 997) {
        int y;
        unsigned m, dd;
        md_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(md_days_from_civil(y, m, dd), d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_with_zone),
        cmocka_unit_test(parses_iso_forms),
        cmocka_unit_test(rejects_bad_dates),
        cmocka_unit_test(civil_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
