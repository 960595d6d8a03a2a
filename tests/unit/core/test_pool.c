#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "md_pool.h"

static void allocates_aligned_until_cap(void **state)
{
    (void)state;
    struct md_pool *p = md_pool_new(100000);
    assert_non_null(p);
    for (int i = 0; i < 100; i++) {
        void *a = md_pool_alloc(p, 7);
        assert_non_null(a);
        assert_int_equal((uintptr_t)a % 16, 0);
        memset(a, 1, 7);
    }
    char *big = md_pool_alloc(p, 50000);
    assert_non_null(big);
    memset(big, 2, 50000);
    assert_null(md_pool_alloc(p, 60000));
    char *s = md_pool_strdup(p, "城管");
    assert_string_equal(s, "城管");
    int *z = md_pool_calloc(p, 10, sizeof(int));
    assert_int_equal(z[9], 0);
    assert_null(md_pool_calloc(p, SIZE_MAX / 2, 4));
    md_pool_free(p);
    md_pool_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(allocates_aligned_until_cap)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
