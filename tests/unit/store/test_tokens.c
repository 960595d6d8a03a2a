/* store/tokens + store/units: scope lists, a token's policy (officer and
 * unit, scopes, daily quota, expiry) read back by md_token_verify, the
 * quota counted per UTC day, and units/officers as data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "md_time.h"
#include "tokens.h"
#include "unit_store.h"
#include "units.h"

static void scopes_parse(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    unsigned bits = 0;
    assert_int_equal(md_scopes_parse(NULL, &bits, &ctx), MD_OK);
    assert_int_equal(bits, MD_SCOPES_ALL);
    assert_int_equal(md_scopes_parse("report:create,staff:read", &bits, &ctx), MD_OK);
    assert_int_equal(bits, (1u << MD_SCOPE_REPORT_CREATE) | (1u << MD_SCOPE_STAFF_READ));
    assert_int_equal(md_scopes_parse("report:create,root", &bits, &ctx), MD_EINVAL);
    assert_non_null(strstr(md_ctx_message(&ctx), "unknown scope 'root'"));
    struct md_principal p = {.role = MD_ROLE_APP, .scopes = 1u << MD_SCOPE_STAFF_READ};
    md_ctx_init(&ctx);
    assert_int_equal(md_principal_scope(&p, MD_SCOPE_REPORT_CREATE, &ctx), MD_EFORBID);
    assert_non_null(strstr(md_ctx_message(&ctx), "report:create"));
}

static void policy_round_trip(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tokens");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_unit_add(s, "DC-HW", "东城区环卫中心", "sanitation", NULL, &ctx), MD_OK);
    assert_int_equal(md_unit_add(s, "DC-HW", "again", NULL, NULL, &ctx), MD_ECONFLICT);
    assert_int_equal(md_unit_add(s, "a b", "bad", NULL, NULL, &ctx), MD_EINVAL);
    int64_t officer = 0, id = 0;
    md_ctx_init(&ctx);
    assert_int_equal(md_officer_add(s, "NOPE", "x", &officer, &ctx), MD_ENOTFOUND);
    assert_int_equal(md_officer_add(s, "DC-HW", "张三", &officer, &ctx), MD_OK);
    char tok[MD_TOKEN_TEXT_MAX];
    assert_int_equal(md_token_create(s, MD_ROLE_OFFICER, "t", tok, &id, &ctx), MD_OK);
    struct md_token_policy pol = {.officer_id = officer, .scopes = "staff:read", .quota_per_day = 2};
    assert_int_equal(md_token_set_policy(s, id, &pol, &ctx), MD_OK);
    struct md_principal who;
    assert_int_equal(md_token_verify(s, tok, &who, &ctx), MD_OK);
    assert_int_equal(who.officer_id, officer);
    assert_string_equal(who.unit, "DC-HW");
    assert_int_equal(who.scopes, 1u << MD_SCOPE_STAFF_READ);
    int64_t now = md_time_now(), retry = 0;
    assert_int_equal(md_token_use(s, &who, now, &retry, &ctx), MD_OK);
    assert_int_equal(md_token_use(s, &who, now, &retry, &ctx), MD_OK);
    assert_int_equal(md_token_use(s, &who, now, &retry, &ctx), MD_ERATE);
    assert_true(retry > 0 && retry <= 86400);
    assert_int_equal(md_token_use(s, &who, now + 86400, &retry, &ctx), MD_OK); /* a new day */
    /* Expiry: a token past its expires_at is refused. */
    struct md_token_policy gone = {.expires_at = now - 1};
    assert_int_equal(md_token_set_policy(s, id, &gone, &ctx), MD_OK);
    md_ctx_init(&ctx);
    assert_int_equal(md_token_verify(s, tok, &who, &ctx), MD_EUNAUTH);
    assert_non_null(strstr(md_ctx_message(&ctx), "expired"));
    unit_store_drop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scopes_parse),
        cmocka_unit_test(policy_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
