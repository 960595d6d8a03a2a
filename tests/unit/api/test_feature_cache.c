/* feature_cache: entries dropped by exactly the rows a change touches, a
 * bulk load drops its layer, the snapshot rule for get and put, the budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feature_cache.h"
#include "unit_store.h"

static int64_t sync_now(struct md_feature_cache *c, struct md_store *s)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t seq = -7;
    assert_int_equal(md_feature_cache_sync(c, s, &seq, &ctx), MD_OK);
    assert_true(seq >= 0);
    return seq;
}

static bool has(struct md_feature_cache *c, enum md_layer l, int64_t id, int64_t seq,
                const char *want)
{
    struct md_buf b;
    md_buf_init(&b, 1 << 20);
    bool hit = md_feature_cache_get(c, l, id, seq, &b);
    if (hit && want)
        assert_string_equal(b.data, want);
    md_buf_free(&b);
    return hit;
}

static void changes_drop_exactly_their_rows(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("fcache");
    for (int i = 0; i < 3; i++)
        unit_insert_report(s, 116.3 + i * 0.01, 39.9);
    struct md_feature_cache *c = md_feature_cache_new(1 << 20);
    assert_non_null(c);
    int64_t seq = sync_now(c, s);
    for (int id = 1; id <= 3; id++)
        md_feature_cache_put(c, MD_LAYER_REPORTS, id, seq, "\"n\":1", 5);
    md_feature_cache_put(c, MD_LAYER_FACILITIES, 2, seq, "\"f\":2", 5);
    assert_true(has(c, MD_LAYER_REPORTS, 2, seq, "\"n\":1"));
    assert_true(has(c, MD_LAYER_FACILITIES, 2, seq, "\"f\":2"));

    unit_exec(s, "UPDATE reports SET description = 'x' WHERE id = 2");
    unit_exec(s, "DELETE FROM reports WHERE id = 3");
    /* Catching up drops exactly reports 2 and 3. */
    int64_t seq2 = sync_now(c, s);
    assert_true(seq2 > seq);

    assert_true(has(c, MD_LAYER_REPORTS, 1, seq2, "\"n\":1"));
    assert_false(has(c, MD_LAYER_REPORTS, 2, seq2, NULL));
    assert_false(has(c, MD_LAYER_REPORTS, 3, seq2, NULL));
    assert_true(has(c, MD_LAYER_FACILITIES, 2, seq2, "\"f\":2"));
    /* An old snapshot neither reads nor writes. */
    assert_false(has(c, MD_LAYER_REPORTS, 1, seq, NULL));
    md_feature_cache_put(c, MD_LAYER_REPORTS, 2, seq, "\"old\":1", 7);
    assert_false(has(c, MD_LAYER_REPORTS, 2, seq2, NULL));

    struct md_feature_cache_stats st;
    md_feature_cache_stats(c, &st);
    assert_int_equal(st.invalidated, 2);
    assert_int_equal(st.entries, 2);
    md_feature_cache_free(c);
    unit_store_drop(s);
}

static void bulk_load_drops_its_layer(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("fcache");
    unit_insert_report(s, 116.3, 39.9);
    struct md_feature_cache *c = md_feature_cache_new(1 << 20);
    int64_t seq = sync_now(c, s);
    md_feature_cache_put(c, MD_LAYER_REPORTS, 1, seq, "r", 1);
    md_feature_cache_put(c, MD_LAYER_FACILITIES, 1, seq, "f", 1);
    /* What md_store_bulk_end logs: one change without a feature id. */
    unit_exec(s, "INSERT INTO change_log(layer, feature_id, minx, miny, maxx, maxy, at)"
            " VALUES (1, NULL, 116, 39, 117, 40, 0)");
    seq = sync_now(c, s);
    assert_false(has(c, MD_LAYER_REPORTS, 1, seq, NULL));
    assert_true(has(c, MD_LAYER_FACILITIES, 1, seq, "f"));
    md_feature_cache_free(c);
    unit_store_drop(s);
}

static void budget_is_kept_and_used_entries_stay(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("fcache");
    struct md_feature_cache *c = md_feature_cache_new(256 << 10);
    int64_t seq = sync_now(c, s);
    char text[1000];
    memset(text, 'a', sizeof(text));
    md_feature_cache_put(c, MD_LAYER_FACILITIES, 0, seq, text, sizeof(text));
    for (int id = 1; id < 5000; id++) {
        md_feature_cache_put(c, MD_LAYER_FACILITIES, id, seq, text, sizeof(text));
        assert_true(has(c, MD_LAYER_FACILITIES, 0, seq, NULL)); /* read often: kept */
    }
    struct md_feature_cache_stats st;
    md_feature_cache_stats(c, &st);
    assert_true(st.bytes <= 256 << 10);
    assert_true(st.entries > 100 && st.entries < 260);
    assert_true(has(c, MD_LAYER_FACILITIES, 4999, seq, NULL));
    assert_false(has(c, MD_LAYER_FACILITIES, 1, seq, NULL));
    md_feature_cache_free(c);
    unit_store_drop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changes_drop_exactly_their_rows),
        cmocka_unit_test(bulk_load_drops_its_layer),
        cmocka_unit_test(budget_is_kept_and_used_entries_stay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
