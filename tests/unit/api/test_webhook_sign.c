/* api/webhook_sign: X-Mapd-Signature is sha256= and the hex HMAC-SHA256 of
 * timestamp "." body under the secret (expected values from Python's hmac
 * module, an independent implementation); the timestamp is part of what is
 * signed; the body may hold NULs (its length counts, not strlen). Also the
 * retry schedule of webhook_sender (doubling from the base, capped) and the
 * event filter webhooks share with the live stream (event_filter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "event_filter.h"
#include "webhook_sender.h"
#include "webhook_sign.h"

static const char SECRET[] = "test-secret-0123456789abcdef";
static const char BODY[] = "{\"id\":1,\"event\":\"report.created\"}";

static void sign(const char *secret, int64_t ts, const char *body, size_t len, char *out)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md__webhook_sign(secret, ts, body, len, out, &ctx))
        fail_msg("%s", md_ctx_message(&ctx));
}

static void signature(void **state)
{
    (void)state;
    char sig[MD_WEBHOOK_SIGNATURE_MAX];
    sign(SECRET, 1700000000, BODY, strlen(BODY), sig);
    assert_string_equal(sig,
                        "sha256=675135709d6dec0d29e725b8d2a0eeab98a13401ec4080af50b379b6e969ba10");
    sign(SECRET, 1700000001, BODY, strlen(BODY), sig);
    assert_string_equal(sig,
                        "sha256=5b5e63b50f52fe14c1f8eaaeca38dc25116d6309c05a31c55cfe0835b28bfc80");
    sign("whsec_x", 0, "", 0, sig);
    assert_string_equal(sig,
                        "sha256=4e8c2621ad6b7e8ee9325e803d12429025d82e5abc79b476cf0efabfaf9a6e57");
    char with_nul[MD_WEBHOOK_SIGNATURE_MAX];
    sign(SECRET, 1700000000, "ab\0cd", 5, with_nul);
    sign(SECRET, 1700000000, "ab", 2, sig);
    assert_string_not_equal(sig, with_nul);
}

static void backoff(void **state)
{
    (void)state;
    assert_int_equal(md__webhook_backoff_ms(1000, 1), 1000);
    assert_int_equal(md__webhook_backoff_ms(1000, 2), 2000);
    assert_int_equal(md__webhook_backoff_ms(1000, 3), 4000);
    assert_int_equal(md__webhook_backoff_ms(100, 4), 800);
    assert_int_equal(md__webhook_backoff_ms(0, 1), 1000); /* 0 = the default */
    assert_int_equal(md__webhook_backoff_ms(1000, 13), MD_WEBHOOK_BACKOFF_CAP_MS);
    assert_int_equal(md__webhook_backoff_ms(1000, 1000), MD_WEBHOOK_BACKOFF_CAP_MS);
}

static void filter(void **state)
{
    (void)state;
    struct md_event_about a;
    md__event_about("{\"type\":\"report.created\",\"report\":{\"id\":7,\"district\":\"110101\","
                    "\"category\":\"200102\",\"status\":\"reported\",\"contact\":\"x\"}}",
                    &a);
    assert_int_equal(a.report, 7);
    assert_string_equal(a.district, "110101");
    struct md_event_filter any = {0}, f = {0};
    assert_true(md__event_matches(&any, &a));
    strcpy(f.categories, "200104,200102");
    strcpy(f.district, "110101");
    assert_true(md__event_matches(&f, &a));
    strcpy(f.statuses, "filed");
    assert_false(md__event_matches(&f, &a));
    strcpy(f.statuses, "filed,reported");
    assert_true(md__event_matches(&f, &a));
    strcpy(f.categories, "2001"); /* an item, not a prefix */
    assert_false(md__event_matches(&f, &a));
    struct md_event_filter other = {.report = 8};
    assert_false(md__event_matches(&other, &a));
    md__event_about("not json", &a);
    assert_int_equal(a.report, 0);
    assert_false(md__event_matches(&other, &a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(signature), cmocka_unit_test(backoff),
                                       cmocka_unit_test(filter)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
