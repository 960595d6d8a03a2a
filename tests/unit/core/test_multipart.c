/* md_multipart: boundaries from Content-Type, parts and their limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "md_multipart.h"

static void boundary_forms(void **state)
{
    (void)state;
    struct md_ctx ctx;
    char b[72];
    md_ctx_init(&ctx);
    assert_int_equal(md_multipart_boundary("multipart/form-data; boundary=abc", b, &ctx), MD_OK);
    assert_string_equal(b, "abc");
    assert_int_equal(md_multipart_boundary("Multipart/Form-Data;boundary=\"a b\"", b, &ctx), MD_OK);
    assert_string_equal(b, "a b");
    assert_int_equal(md_multipart_boundary("application/json", b, &ctx), MD_EMEDIA);
    assert_int_equal(md_multipart_boundary("multipart/form-data", b, &ctx), MD_EINVAL);
    assert_int_equal(md_multipart_boundary("multipart/form-data; boundary=a\x01", b, &ctx),
                     MD_EINVAL);
}

static void parts_and_binary_data(void **state)
{
    (void)state;
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nt0k\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"photo\";"
        " filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        "\xff\xd8\r\n--X\0\r\n--XyZ--\r\n";
    struct md_multipart m;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(
        md_multipart_parse((const unsigned char *)body, sizeof(body) - 1, "XyZ", &m, &ctx), MD_OK);
    assert_int_equal(m.nparts, 2);
    const struct md_part *t = md_multipart_get(&m, "token");
    assert_non_null(t);
    assert_int_equal(t->len, 3);
    assert_memory_equal(t->data, "t0k", 3);
    const struct md_part *p = md_multipart_get(&m, "photo");
    assert_string_equal(p->filename, "a.jpg");
    assert_string_equal(p->content_type, "image/jpeg");
    assert_int_equal(p->len, 8); /* \xff\xd8 CRLF --X NUL: a near-delimiter stays data */
    assert_null(md_multipart_get(&m, "nope"));
}

static void malformed_bodies(void **state)
{
    (void)state;
    struct md_multipart m;
    struct md_ctx ctx;
    static const char *const bad[] = {
        "no boundary here",
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nnot closed",
        "--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
        "--b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        md_ctx_init(&ctx);
        assert_int_equal(
            md_multipart_parse((const unsigned char *)bad[i], strlen(bad[i]), "b", &m, &ctx),
            MD_EINVAL);
        assert_true(strlen(ctx.msg) > 0);
    }
    char many[4096] = "";
    for (int i = 0; i <= MD_MULTIPART_MAX_PARTS; i++)
        strcat(many, "--b\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nx\r\n");
    strcat(many, "--b--");
    md_ctx_init(&ctx);
    assert_int_equal(md_multipart_parse((const unsigned char *)many, strlen(many), "b", &m, &ctx),
                     MD_EINVAL);
    assert_non_null(strstr(ctx.msg, "at most"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boundary_forms),
        cmocka_unit_test(parts_and_binary_data),
        cmocka_unit_test(malformed_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
