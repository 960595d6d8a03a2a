/* SHA-256 against the FIPS 180-4 / NIST example vectors; constant-time compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "md_sha256.h"

static void nist_vectors(void **state)
{
    (void)state;
    char hex[MD_SHA256_HEX_LEN];
    md_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    md_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    md_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void million_a_in_pieces(void **state)
{
    (void)state;
    struct md_sha256 c;
    unsigned char d[MD_SHA256_LEN];
    char chunk[1001];
    memset(chunk, 'a', sizeof(chunk));
    md_sha256_init(&c);
    for (int i = 0; i < 1000; i++)
        md_sha256_update(&c, chunk, (size_t)(i % 2 ? 999 : 1001)); /* uneven split */
    md_sha256_final(&c, d);
    static const unsigned char want[MD_SHA256_LEN] = {
        0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
        0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    assert_memory_equal(d, want, MD_SHA256_LEN);
}

static void ct_equal(void **state)
{
    (void)state;
    assert_true(md_ct_equal("abcdef", "abcdef", 6));
    assert_false(md_ct_equal("abcdef", "abcdeg", 6));
    assert_false(md_ct_equal("xbcdef", "abcdef", 6));
    assert_true(md_ct_equal("", "", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(nist_vectors),
                                       cmocka_unit_test(million_a_in_pieces),
                                       cmocka_unit_test(ct_equal)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
