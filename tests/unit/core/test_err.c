#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "md_err.h"

static void statuses_come_from_the_list(void **state)
{
    (void)state;
    assert_int_equal(md_err_http_status(MD_OK), 200);
    assert_int_equal(md_err_http_status(MD_EINVAL), 400);
    assert_int_equal(md_err_http_status(MD_ENOTFOUND), 404);
    assert_int_equal(md_err_http_status(MD_EMETHOD), 405);
    assert_int_equal(md_err_http_status(MD_ERATE), 429);
    assert_int_equal(md_err_http_status(MD_ENOSPACE), 507);
    assert_string_equal(md_err_code(MD_ENOTFOUND), "not_found");
    assert_string_equal(md_strerror(MD_ETOOBIG), "payload too large");
    assert_string_equal(md_err_code((md_err)999), "internal_error");
}

static void first_failure_wins(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_string_equal(md_ctx_message(&ctx), "success");
    assert_int_equal(md_fail(&ctx, MD_EINVAL, "lat %g is outside -90..90", 91.5), MD_EINVAL);
    assert_int_equal(md_fail(&ctx, MD_EDB, "later"), MD_EDB);
    assert_int_equal(ctx.err, MD_EINVAL);
    assert_string_equal(md_ctx_message(&ctx), "lat 91.5 is outside -90..90");
    md_ctx_clear(&ctx);
    assert_int_equal(ctx.err, MD_OK);
    assert_int_equal(md_fail(&ctx, MD_ENOTFOUND, NULL), MD_ENOTFOUND);
    assert_string_equal(md_ctx_message(&ctx), "not found");
    assert_int_equal(md_fail(NULL, MD_EIO, "no ctx"), MD_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(statuses_come_from_the_list),
        cmocka_unit_test(first_failure_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
