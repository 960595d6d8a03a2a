#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "md_text.h"

static void doubles(void **state)
{
    (void)state;
    struct md_ctx ctx;
    double v;
    md_ctx_init(&ctx);
    assert_int_equal(md_parse_double("116.397", "lon", &v, &ctx), MD_OK);
    assert_true(v > 116.396 && v < 116.398);
    assert_int_equal(md_parse_double("-1e3", "x", &v, &ctx), MD_OK);
    const char *bad[] = {"", "nan", "NaN", "inf", "1e999", "0x10", "1.0abc", " 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        md_ctx_init(&ctx);
        assert_int_equal(md_parse_double(bad[i], "lat", &v, &ctx), MD_EINVAL);
        assert_non_null(strstr(ctx.msg, "lat"));
    }
}

static void integers(void **state)
{
    (void)state;
    struct md_ctx ctx;
    int64_t v;
    md_ctx_init(&ctx);
    assert_int_equal(md_parse_int64("22", "z", 0, 22, &v, &ctx), MD_OK);
    assert_int_equal(v, 22);
    assert_int_equal(md_parse_int64("23", "z", 0, 22, &v, &ctx), MD_EINVAL);
    assert_string_equal(ctx.msg, "z must be between 0 and 22, got '23'");
    const char *bad[] = {"", "-", "1.5", "12a", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        md_ctx_init(&ctx);
        assert_int_equal(md_parse_int64(bad[i], "k", 0, INT64_MAX, &v, &ctx), MD_EINVAL);
    }
}

static void utf8(void **state)
{
    (void)state;
    assert_true(md_utf8_valid("abc", 3));
    assert_true(md_utf8_valid("城管地图", strlen("城管地图")));
    assert_int_equal(md_utf8_len("城管a"), 3);
    assert_false(md_utf8_valid("\xff", 1));
    assert_false(md_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(md_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(md_utf8_valid("\xe5\x9f", 2));         /* truncated */
    assert_false(md_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

static void lonlat(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_check_lonlat(116.4, 39.9, &ctx), MD_OK);
    assert_int_equal(md_check_lonlat(116.4, 91, &ctx), MD_EINVAL);
    assert_string_equal(ctx.msg, "latitude 91 is outside -90..90");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles),
        cmocka_unit_test(integers),
        cmocka_unit_test(utf8),
        cmocka_unit_test(lonlat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
