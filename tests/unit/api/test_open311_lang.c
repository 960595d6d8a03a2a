/* api/open311_lang: `locale` and Accept-Language (q-values, ties, q=0,
 * "*", malformed), the Chinese text of the common Open311 errors (the
 * specific pattern before the general one, untranslated stays false,
 * truncation at a character boundary) and the halves of bilingual texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "md_text.h"
#include "open311_lang.h"

static enum md_o311_lang locale(const char *tag)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    enum md_o311_lang l;
    if (md_o311_locale(tag, &l, &ctx))
        fail_msg("%s: %s", tag, md_ctx_message(&ctx));
    return l;
}

static enum md_o311_lang accept(const char *header)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    enum md_o311_lang l;
    if (md_o311_accept_language(header, &l, &ctx))
        fail_msg("%s: %s", header, md_ctx_message(&ctx));
    return l;
}

static void locales(void **state)
{
    (void)state;
    assert_int_equal(locale("zh"), MD_O311_ZH);
    assert_int_equal(locale("zh_CN"), MD_O311_ZH);
    assert_int_equal(locale("ZH-Hans-CN"), MD_O311_ZH);
    assert_int_equal(locale("en"), MD_O311_EN);
    assert_int_equal(locale("en_US"), MD_O311_EN);
    assert_int_equal(locale("fr"), MD_O311_DEFAULT); /* well-formed, not served */
    assert_int_equal(locale("eng"), MD_O311_DEFAULT);
    static const char *const bad[] = {"",       "e n",    "en-", "-en",       "123",
                                      "en--US", "zh;q=1", "*",   "abcdefghi", "en-US-abcdefghi",
                                      "中文"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        enum md_o311_lang l;
        assert_int_equal(md_o311_locale(bad[i], &l, &ctx), MD_EINVAL);
        assert_non_null(strstr(md_ctx_message(&ctx), "locale must be a language tag"));
    }
}

static void accept_languages(void **state)
{
    (void)state;
    assert_int_equal(accept("en-US,en;q=0.9,zh;q=0.8"), MD_O311_EN);
    assert_int_equal(accept("zh-CN,zh;q=0.9,en;q=0.8"), MD_O311_ZH);
    assert_int_equal(accept("fr, en;q=0.5, zh;q=0.7"), MD_O311_ZH); /* fr not served */
    assert_int_equal(accept("en;q=0.5,zh;q=0.5"), MD_O311_EN);      /* a tie: the first */
    assert_int_equal(accept("zh;q=0, en;q=0.1"), MD_O311_EN);       /* q=0: not acceptable */
    assert_int_equal(accept("zh;q=0"), MD_O311_DEFAULT);
    assert_int_equal(accept("*"), MD_O311_DEFAULT);
    assert_int_equal(accept("fr-CH, fr;q=0.9, *;q=0.5"), MD_O311_DEFAULT);
    assert_int_equal(accept(""), MD_O311_DEFAULT);
    assert_int_equal(accept(" , en ; q=1.000 ,"), MD_O311_EN);
    static const char *const bad[] = {"en;q=2",     "en;q=0.5555", "en;q=",    "en;x=1",
                                      "en q=1",     "e_n",         "en;;q=1",  "12",
                                      "en;q=1.001", "中文",        "en;q=-0.1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        enum md_o311_lang l;
        if (md_o311_accept_language(bad[i], &l, &ctx) != MD_EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_non_null(strstr(md_ctx_message(&ctx), "Accept-Language is malformed"));
    }
    char many[400] = "";
    for (int i = 0; i < 33; i++)
        strcat(many, "en,");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    enum md_o311_lang l;
    assert_int_equal(md_o311_accept_language(many, &l, &ctx), MD_EINVAL);
}

static void translations(void **state)
{
    (void)state;
    char zh[512];
    static const char *const pairs[][2] = {
        {"api_key is not valid", "api_key 无效"},
        {"service_code is required", "缺少必填参数 service_code"},
        {"attribute size is required for category 200401", "服务代码 200401 需要属性 size"},
        {"category '999999' is not a known service code (see /api/v1/categories)",
         "'999999' 不是已知的服务代码（见 /api/v1/categories）"},
        {"the point 121.470000,31.230000 is outside every district this server covers",
         "坐标点 121.470000,31.230000 不在本服务器覆盖的任何区内"},
        {"too many reports from 127.0.0.1; at most 30 a minute, retry in 2 s",
         "来自 127.0.0.1 的提交过多：每分钟最多 30 条，请 2 秒后重试"},
        {"report 99999999 does not exist", "服务请求 99999999 不存在"},
        {"lat 91 is outside -90..90", "lat 91 超出 -90..90 范围"},
        {"page must be between 1 and 1000000, got '0'", "page 必须在 1 到 1000000 之间，收到 '0'"},
        {"no facility, district or street named '火星路'; give lat and long",
         "没有名为 '火星路' 的设施、区或街道；请提供 lat 和 long"},
        {"no facility, district or street named 'x': 3 facilities have this name or address;"
         " give lat and long",
         "没有名为 'x' 的唯一设施、区或街道：有 3 个设施同名或同地址；请提供 lat 和 long"},
        {"lat and long are required", "lat 和 long 为必填项"},
        {"100% is required", "缺少必填参数 100%"}, /* '%' in what matched is kept */
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        if (!md_o311_translate_zh(pairs[i][0], zh, sizeof(zh)))
            fail_msg("no translation of '%s'", pairs[i][0]);
        assert_string_equal(zh, pairs[i][1]);
    }
    strcpy(zh, "kept");
    assert_false(md_o311_translate_zh("something mapd never says", zh, sizeof(zh)));
    assert_string_equal(zh, "kept");
    /* A short buffer cuts whole characters: "服务请求" is 4 x 3 bytes. */
    char small[8];
    assert_true(md_o311_translate_zh("report 1 does not exist", small, sizeof(small)));
    assert_string_equal(small, "服务");
    assert_true(md_utf8_valid(small, strlen(small)));
}

static void halves(void **state)
{
    (void)state;
    char out[64];
    md_o311_half("塌陷面积 Size of the collapse", MD_O311_ZH, out, sizeof(out));
    assert_string_equal(out, "塌陷面积");
    md_o311_half("塌陷面积 Size of the collapse", MD_O311_EN, out, sizeof(out));
    assert_string_equal(out, "Size of the collapse");
    md_o311_half("1–5平方米 1–5 m²", MD_O311_EN, out, sizeof(out));
    assert_string_equal(out, "1–5 m²");
    md_o311_half("1–5平方米 1–5 m²", MD_O311_ZH, out, sizeof(out));
    assert_string_equal(out, "1–5平方米");
    md_o311_half("塌陷面积 Size", MD_O311_DEFAULT, out, sizeof(out));
    assert_string_equal(out, "塌陷面积 Size");
    md_o311_half("车牌号", MD_O311_EN, out, sizeof(out)); /* one language only */
    assert_string_equal(out, "车牌号");
    md_o311_half("Licence plate", MD_O311_ZH, out, sizeof(out));
    assert_string_equal(out, "Licence plate");
    assert_string_equal(md_o311_lang_tag(MD_O311_ZH), "zh");
    assert_string_equal(md_o311_lang_tag(MD_O311_EN), "en");
    assert_string_equal(md_o311_lang_tag(MD_O311_DEFAULT), "zh, en");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(locales),
        cmocka_unit_test(accept_languages),
        cmocka_unit_test(translations),
        cmocka_unit_test(halves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
