/* Unit tests for tiles/glyphs.c: tiny-sdf's distance field on known shapes,
 * range and fontstack validation, and glyph PBFs decoded with protobuf-c
 * (metrics of known glyphs of the Debian font mapd uses by default). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glyphs.h"
#include "glyphs.pb-c.h"

#define FONT "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#define B MD_GLYPH_BUFFER

/* An 8 x 8 coverage bitmap with a solid 4 x 4 square at (2..5, 2..5). */
static void sdf_of_square(void **state)
{
    (void)state;
    uint8_t alpha[8 * 8] = {0};
    for (int y = 2; y < 6; y++)
        for (int x = 2; x < 6; x++)
            alpha[y * 8 + x] = 255;
    uint8_t sdf[(8 + 2 * B) * (8 + 2 * B)];
    md_glyph_sdf(alpha, 8, 8, sdf);
    const int w = 8 + 2 * B;
    /* Inside, one pixel from the nearest empty pixel: 255 - 255 * (-1/8 + 1/4). */
    assert_int_equal(sdf[(2 + B) * w + 2 + B], 223);
    /* Outside, one pixel from the square: 255 - 255 * (1/8 + 1/4). */
    assert_int_equal(sdf[(2 + B) * w + 1 + B], 159);
    /* Two pixels out: 255 - 255 * (2/8 + 1/4). */
    assert_int_equal(sdf[(2 + B) * w + 0 + B], 128); /* 127.5 rounds up */
    /* Inside, two pixels deep: 255 - 255 * (-2/8 + 1/4) = 255. */
    assert_int_equal(sdf[(3 + B) * w + 3 + B], 255);
    /* The far corner of the border is more than radius * 3/4 away: 0. */
    assert_int_equal(sdf[0], 0);
    /* Symmetric shape, symmetric field. */
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            assert_int_equal(sdf[y * w + x], sdf[x * w + y]);
}

/* A half-covered pixel sits exactly on the edge (distance 0 -> cutoff). */
static void sdf_of_half_pixel(void **state)
{
    (void)state;
    uint8_t alpha[1] = {128}; /* 128/255 ~ 0.502: just inside */
    uint8_t sdf[(1 + 2 * B) * (1 + 2 * B)];
    md_glyph_sdf(alpha, 1, 1, sdf);
    int mid = sdf[B * (1 + 2 * B) + B];
    assert_in_range(mid, 190, 192);
}

static void ranges_and_stacks(void **state)
{
    (void)state;
    struct md_ctx ctx;
    uint32_t start = 1;
    md_ctx_init(&ctx);
    assert_int_equal(md_glyphs_parse_range("0-255", &start, &ctx), MD_OK);
    assert_int_equal(start, 0);
    assert_int_equal(md_glyphs_parse_range("65280-65535", &start, &ctx), MD_OK);
    assert_int_equal(start, 65280);
    const char *bad[] = {"1-256", "0-256", "256-255", "65536-65791", "abc", "0-255x", "-0-255",
                         "", "0255", "000000-255", NULL};
    for (const char **b = bad; *b; b++) {
        md_ctx_init(&ctx);
        assert_int_equal(md_glyphs_parse_range(*b, &start, &ctx), MD_EINVAL);
    }
    md_ctx_init(&ctx);
    assert_int_equal(md_glyphs_parse_range("256-767", &start, &ctx), MD_EINVAL);
    assert_non_null(strstr(md_ctx_message(&ctx), "256 codepoints"));
    md_ctx_init(&ctx);
    assert_int_equal(md_glyphs_check_stack("Noto Sans Regular,Open Sans Bold", &ctx), MD_OK);
    assert_int_equal(md_glyphs_check_stack("../etc/passwd", &ctx), MD_EINVAL);
    md_ctx_init(&ctx);
    assert_int_equal(md_glyphs_check_stack("", &ctx), MD_EINVAL);
    char longname[MD_GLYPH_MAX_STACK + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    md_ctx_init(&ctx);
    assert_int_equal(md_glyphs_check_stack(longname, &ctx), MD_EINVAL);
}

static const Mapd__Glyphs__Glyph *find(const Mapd__Glyphs__Fontstack *fs, uint32_t id)
{
    for (size_t i = 0; i < fs->n_glyphs; i++)
        if (fs->glyphs[i]->id == id)
            return fs->glyphs[i];
    return NULL;
}

static Mapd__Glyphs__Glyphs *range_pbf(struct md_glyphs *g, uint32_t start)
{
    struct md_ctx ctx;
    struct md_buf out;
    md_ctx_init(&ctx);
    md_buf_init(&out, 4 << 20);
    assert_int_equal(md_glyphs_range(g, "Noto Sans Regular", start, &out, &ctx), MD_OK);
    Mapd__Glyphs__Glyphs *msg =
        mapd__glyphs__glyphs__unpack(NULL, out.len, (const uint8_t *)out.data);
    assert_non_null(msg);
    /* A second call answers from the cache, byte for byte. */
    struct md_buf again;
    md_buf_init(&again, 4 << 20);
    assert_int_equal(md_glyphs_range(g, "Noto Sans Regular", start, &again, &ctx), MD_OK);
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);
    md_buf_free(&again);
    md_buf_free(&out);
    return msg;
}

static void check_bitmap(const Mapd__Glyphs__Glyph *gl)
{
    assert_true(gl->has_bitmap);
    assert_int_equal(gl->bitmap.len, (gl->width + 2 * B) * (gl->height + 2 * B));
    /* The border row is outside the glyph: low values; some pixel is deep inside. */
    int max = 0;
    for (size_t i = 0; i < gl->bitmap.len; i++)
        max = gl->bitmap.data[i] > max ? gl->bitmap.data[i] : max;
    assert_true(max > 191);
    assert_true(gl->bitmap.data[0] < 100);
}

static void font_ranges(void **state)
{
    (void)state;
    if (access(FONT, R_OK) != 0) {
        fprintf(stderr, "skipping: %s not installed (Debian fonts-wqy-microhei)\n", FONT);
        skip();
    }
    struct md_ctx ctx;
    struct md_glyphs *g = NULL;
    md_ctx_init(&ctx);
    assert_int_equal(md_glyphs_open(FONT, &g, &ctx), MD_OK);

    Mapd__Glyphs__Glyphs *msg = range_pbf(g, 0);
    assert_int_equal(msg->n_stacks, 1);
    const Mapd__Glyphs__Fontstack *fs = msg->stacks[0];
    assert_string_equal(fs->name, "Noto Sans Regular");
    assert_string_equal(fs->range, "0-255");
    assert_true(fs->n_glyphs > 150); /* Latin-1 */
    /* Space: an advance and no bitmap. */
    const Mapd__Glyphs__Glyph *space = find(fs, ' ');
    assert_non_null(space);
    assert_int_equal(space->width, 0);
    assert_false(space->has_bitmap);
    assert_in_range(space->advance, 4, 10);
    /* 'A' of WenQuanYi Micro Hei at 24 px: 15 x 17 px, on the baseline; top
     * is its height minus the font's 23 px ascender (node-fontnik's rule). */
    const Mapd__Glyphs__Glyph *a = find(fs, 'A');
    assert_non_null(a);
    fprintf(stderr, "A: w %u h %u left %d top %d advance %u\n", a->width, a->height, a->left,
            a->top, a->advance);
    assert_int_equal(a->width, 15);
    assert_int_equal(a->height, 17);
    assert_int_equal(a->left, 0);
    assert_int_equal(a->top, 17 - 23);
    assert_int_equal(a->advance, 15);
    check_bitmap(a);
    mapd__glyphs__glyphs__free_unpacked(msg, NULL);

    /* U+4E2D 中 (in range 19968-20223): a full-width ideograph. */
    msg = range_pbf(g, 0x4E00);
    fs = msg->stacks[0];
    assert_string_equal(fs->range, "19968-20223");
    const Mapd__Glyphs__Glyph *zhong = find(fs, 0x4E2D);
    assert_non_null(zhong);
    fprintf(stderr, "zhong: w %u h %u left %d top %d advance %u\n", zhong->width, zhong->height,
            zhong->left, zhong->top, zhong->advance);
    assert_int_equal(zhong->advance, 24);
    assert_in_range(zhong->width, 16, 24);
    assert_in_range(zhong->height, 18, 25);
    check_bitmap(zhong);
    mapd__glyphs__glyphs__free_unpacked(msg, NULL);

    /* A range the font has nothing in (surrogates) is a valid, empty stack. */
    msg = range_pbf(g, 0xD800);
    assert_int_equal(msg->n_stacks, 1);
    assert_int_equal(msg->stacks[0]->n_glyphs, 0);
    mapd__glyphs__glyphs__free_unpacked(msg, NULL);

    struct md_buf out;
    md_buf_init(&out, 1 << 20);
    md_ctx_init(&ctx);
    assert_int_equal(md_glyphs_range(g, "Noto Sans Regular", 100, &out, &ctx), MD_EINVAL);
    md_ctx_init(&ctx);
    assert_int_equal(md_glyphs_range(g, "bad/stack", 0, &out, &ctx), MD_EINVAL);
    md_ctx_init(&ctx);
    md_buf_init(&out, 100); /* too small for a range */
    assert_int_equal(md_glyphs_range(g, "Noto Sans Regular", 0, &out, &ctx), MD_ETOOBIG);
    md_buf_free(&out);
    md_glyphs_free(g);
}

static void open_errors(void **state)
{
    (void)state;
    struct md_ctx ctx;
    struct md_glyphs *g = NULL;
    md_ctx_init(&ctx);
    assert_int_equal(md_glyphs_open("/nonexistent/font.ttf", &g, &ctx), MD_ENOTFOUND);
    assert_non_null(strstr(md_ctx_message(&ctx), "/nonexistent/font.ttf"));
    md_ctx_init(&ctx);
    char path[] = "/tmp/mapd-notafontXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a font", 10), 10);
    close(fd);
    assert_int_equal(md_glyphs_open(path, &g, &ctx), MD_EPARSE);
    unlink(path);
    assert_null(g);
    md_glyphs_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sdf_of_square),    cmocka_unit_test(sdf_of_half_pixel),
        cmocka_unit_test(ranges_and_stacks), cmocka_unit_test(font_ranges),
        cmocka_unit_test(open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
