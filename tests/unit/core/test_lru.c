/* md_lru: order of use, unlinking from any place, getting entries back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "md_lru.h"

struct item {
    int value;
    struct md_lru_link lru;
};

/* The values from head to tail, and the same read back from the tail. */
static int order(const struct md_lru *l, int *out)
{
    int n = 0, m = 0;
    for (struct md_lru_link *k = l->head; k; k = k->next)
        out[n++] = md_lru_entry(k, struct item, lru)->value;
    for (struct md_lru_link *k = l->tail; k; k = k->prev, m++)
        assert_int_equal(md_lru_entry(k, struct item, lru)->value, out[n - 1 - m]);
    assert_int_equal(m, n);
    return n;
}

static void push_unlink_and_reuse(void **state)
{
    (void)state;
    struct md_lru l = {0};
    struct item it[4] = {{.value = 0}, {.value = 1}, {.value = 2}, {.value = 3}};
    int v[4];
    for (int i = 0; i < 4; i++)
        md_lru_push_front(&l, &it[i].lru);
    assert_int_equal(order(&l, v), 4);
    assert_int_equal(v[0], 3);
    assert_int_equal(v[3], 0);
    md_lru_unlink(&l, &it[2].lru); /* middle */
    md_lru_unlink(&l, &it[0].lru); /* tail */
    md_lru_unlink(&l, &it[3].lru); /* head */
    assert_int_equal(order(&l, v), 1);
    assert_int_equal(v[0], 1);
    md_lru_push_front(&l, &it[0].lru); /* a used entry moves to the front */
    assert_int_equal(order(&l, v), 2);
    assert_int_equal(v[0], 0);
    assert_int_equal(v[1], 1);
    md_lru_unlink(&l, &it[0].lru);
    md_lru_unlink(&l, &it[1].lru);
    assert_null(l.head);
    assert_null(l.tail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(push_unlink_and_reuse)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
