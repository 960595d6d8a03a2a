#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "md_buf.h"

static void grows_and_caps(void **state)
{
    (void)state;
    struct md_buf b;
    md_buf_init(&b, 1000);
    for (int i = 0; i < 99; i++)
        assert_int_equal(md_buf_puts(&b, "0123456789"), MD_OK);
    assert_int_equal(b.len, 990);
    assert_int_equal(md_buf_puts(&b, "0123456789"), MD_OK);
    assert_int_equal(b.len, 1000);
    assert_int_equal(md_buf_putc(&b, 'x'), MD_ETOOBIG);
    assert_int_equal(b.len, 1000);
    assert_int_equal(b.data[1000], '\0');
    md_buf_free(&b);
    md_buf_free(NULL);
}

static void printf_long_and_short(void **state)
{
    (void)state;
    struct md_buf b;
    md_buf_init(&b, 1 << 20);
    assert_int_equal(md_buf_printf(&b, "%d-%s", 42, "x"), MD_OK);
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(md_buf_printf(&b, "[%s]", big), MD_OK);
    assert_int_equal(b.len, 4 + 601);
    assert_memory_equal(b.data, "42-x[aaa", 8);
    size_t n;
    char *s = md_buf_steal(&b, &n);
    assert_int_equal(n, 605);
    assert_null(b.data);
    free(s);
}

static void json_and_xml_escape(void **state)
{
    (void)state;
    struct md_buf b;
    md_buf_init(&b, 4096);
    assert_int_equal(md_buf_json_str(&b, "a\"b\\c\n\x01城"), MD_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001城\"");
    md_buf_reset(&b);
    assert_int_equal(md_buf_xml_str(&b, "<a href='x'>&\"</a>\x02"), MD_OK);
    assert_string_equal(b.data, "&lt;a href=&apos;x&apos;&gt;&amp;&quot;&lt;/a&gt; ");
    md_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_and_caps),
        cmocka_unit_test(printf_long_and_short),
        cmocka_unit_test(json_and_xml_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
