/* Unit tests for tiles/tile_gzip.c: round trips through zlib's inflate and
 * checks of the RFC 1952 framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tile_gzip.h"

/* Inflate a gzip stream (windowBits 16+15: gzip only) into a malloc'd buffer. */
static unsigned char *gunzip(const void *gz, size_t n, size_t *out_len)
{
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
    size_t cap = 1024, len = 0;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)gz;
    zs.avail_in = (uInt)n;
    int zrc;
    do {
        if (len == cap) {
            cap *= 2;
            out = realloc(out, cap);
        }
        zs.next_out = out + len;
        zs.avail_out = (uInt)(cap - len);
        zrc = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        assert_true(zrc == Z_OK || zrc == Z_STREAM_END);
    } while (zrc != Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0); /* exactly one member, nothing after it */
    inflateEnd(&zs);
    *out_len = len;
    return out;
}

static void round_trip(void **state)
{
    (void)state;
    size_t n = 300000;
    unsigned char *src = malloc(n);
    uint32_t seed = 12345;
    for (size_t i = 0; i < n; i++) { /* half compressible text, half noise */
        seed = seed * 1103515245u + 12345u;
        src[i] = i < n / 2 ? (unsigned char)("mapd tile "[i % 10]) : (unsigned char)(seed >> 24);
    }
    struct md_buf out;
    md_buf_init(&out, 1 << 20);
    assert_int_equal(md_buf_append(&out, "HDR", 3), MD_OK); /* md_gzip appends */
    assert_int_equal(md_gzip(src, n, 6, &out), MD_OK);
    assert_true(out.len > 3 + 18 && out.len < 3 + n);
    assert_memory_equal(out.data, "HDR", 3);
    const unsigned char *gz = (const unsigned char *)out.data + 3;
    /* RFC 1952: magic 1f 8b, method 8 (deflate); ISIZE trailer = n mod 2^32. */
    assert_int_equal(gz[0], 0x1f);
    assert_int_equal(gz[1], 0x8b);
    assert_int_equal(gz[2], 8);
    size_t gz_len = out.len - 3;
    uint32_t isize = (uint32_t)gz[gz_len - 4] | (uint32_t)gz[gz_len - 3] << 8 |
                     (uint32_t)gz[gz_len - 2] << 16 | (uint32_t)gz[gz_len - 1] << 24;
    assert_int_equal(isize, n);
    size_t back_len;
    unsigned char *back = gunzip(gz, gz_len, &back_len);
    assert_int_equal(back_len, n);
    assert_memory_equal(back, src, n);
    free(back);
    md_buf_free(&out);
    free(src);
}

static void levels_and_empty(void **state)
{
    (void)state;
    const char *text = "{\"type\":\"FeatureCollection\",\"features\":[]}";
    for (int level = -1; level <= 9; level++) {
        struct md_buf out;
        md_buf_init(&out, 4096);
        assert_int_equal(md_gzip(text, strlen(text), level, &out), MD_OK);
        size_t back_len;
        unsigned char *back = gunzip(out.data, out.len, &back_len);
        assert_int_equal(back_len, strlen(text));
        assert_memory_equal(back, text, back_len);
        free(back);
        md_buf_free(&out);
    }
    struct md_buf out;
    md_buf_init(&out, 4096);
    assert_int_equal(md_gzip(NULL, 0, 6, &out), MD_OK);
    size_t back_len;
    unsigned char *back = gunzip(out.data, out.len, &back_len);
    assert_int_equal(back_len, 0);
    free(back);
    md_buf_free(&out);
}

static void errors(void **state)
{
    (void)state;
    struct md_buf out;
    md_buf_init(&out, 64);
    assert_int_equal(md_gzip("x", 1, 10, &out), MD_EINVAL);
    assert_int_equal(md_gzip("x", 1, -2, &out), MD_EINVAL);
    assert_int_equal(md_gzip(NULL, 5, 6, &out), MD_EINVAL);
    assert_int_equal(md_gzip("x", 1, 6, NULL), MD_EINVAL);
    /* 1000 random bytes cannot fit a 64-byte cap; out is left as it was. */
    unsigned char noise[1000];
    for (size_t i = 0; i < sizeof(noise); i++)
        noise[i] = (unsigned char)(i * 2654435761u >> 13);
    assert_int_equal(md_buf_append(&out, "ab", 2), MD_OK);
    assert_int_equal(md_gzip(noise, sizeof(noise), 9, &out), MD_ETOOBIG);
    assert_int_equal(out.len, 2);
    assert_string_equal(out.data, "ab");
    md_buf_free(&out);

    /* 100 kB of zeros compress to ~130 bytes: fits a 1 kB cap although
     * deflate's worst-case bound does not. */
    unsigned char *zeros = calloc(1, 100000);
    md_buf_init(&out, 1024);
    assert_int_equal(md_gzip(zeros, 100000, 6, &out), MD_OK);
    assert_true(out.len < 1024);
    size_t back_len;
    unsigned char *back = gunzip(out.data, out.len, &back_len);
    assert_int_equal(back_len, 100000);
    assert_memory_equal(back, zeros, 100000);
    free(back);
    free(zeros);
    md_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(levels_and_empty),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
