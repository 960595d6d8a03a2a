/* sprite: the sheet layout never overlaps and covers the sheet; a built
 * sheet's PNG is the size the layout says, its JSON index names exactly the
 * icons with their rects (pixelRatio, sdf), the SDF is inside (>= 191) at a
 * shape's centre and outside at a cell's corner, at ratios 1 and 2; bad
 * names, ratios and SVGs are refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#include "md_err.h"
#include "sprite.h"

static bool overlap(const struct md_sprite_rect *a, const struct md_sprite_rect *b)
{
    return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

static void layout_never_overlaps(void **state)
{
    (void)state;
    struct md_sprite_rect r[64];
    for (size_t n = 1; n <= 64; n++) {
        int w = 0, h = 0;
        md_sprite_layout(n, 32, r, &w, &h);
        for (size_t i = 0; i < n; i++) {
            assert_true(r[i].x >= 0 && r[i].y >= 0 && r[i].x + r[i].w <= w && r[i].y + r[i].h <= h);
            for (size_t j = 0; j < i; j++)
                assert_false(overlap(&r[i], &r[j]));
        }
        assert_true((size_t)(w / 32) * (size_t)(h / 32) < n + (size_t)(w / 32)); /* no empty row */
    }
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 16);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void builds_sheet_and_index(void **state)
{
    (void)state;
    char path[4096];
    const char *src = getenv("MAPD_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/web/node_modules/@mapbox/maki/icons/toilet.svg",
             src ? src : ".");
    size_t toilet_len = 0;
    char *toilet = read_all(path, &toilet_len);
    assert_non_null(toilet);
    const char *circle = md_sprite_shape_svg("circle"), *square = md_sprite_shape_svg("square");
    struct md_sprite_icon icons[] = {
        {"shape-circle", circle, strlen(circle)},
        {"shape-square", square, strlen(square)},
        {"facility-toilet", toilet, toilet_len},
    };
    for (int ratio = 1; ratio <= 2; ratio++) {
        struct md_ctx ctx = {0};
        struct md_buf png, json;
        md_buf_init(&png, 1 << 20);
        md_buf_init(&json, 1 << 16);
        assert_int_equal(md_sprite_build(icons, 3, ratio, &png, &json, &ctx), MD_OK);
        int cell = MD_SPRITE_CELL_PX * ratio;
        /* 3 icons: 2 columns, 2 rows */
        assert_true(png.len > 33 && memcmp(png.data, "\x89PNG", 4) == 0);
        assert_int_equal(be32((unsigned char *)png.data + 16), 2 * cell);
        assert_int_equal(be32((unsigned char *)png.data + 20), 2 * cell);
        json_error_t err;
        json_t *idx = json_loadb(json.data, json.len, 0, &err);
        assert_non_null(idx);
        assert_int_equal(json_object_size(idx), 3);
        struct md_sprite_rect rects[3];
        for (int i = 0; i < 3; i++) {
            json_t *e = json_object_get(idx, icons[i].name);
            assert_non_null(e);
            rects[i] =
                (struct md_sprite_rect){(int)json_integer_value(json_object_get(e, "x")),
                                        (int)json_integer_value(json_object_get(e, "y")),
                                        (int)json_integer_value(json_object_get(e, "width")),
                                        (int)json_integer_value(json_object_get(e, "height"))};
            assert_int_equal(rects[i].w, cell);
            assert_int_equal(rects[i].h, cell);
            assert_true(rects[i].x + cell <= 2 * cell && rects[i].y + cell <= 2 * cell);
            assert_int_equal(json_integer_value(json_object_get(e, "pixelRatio")), ratio);
            assert_true(json_is_true(json_object_get(e, "sdf")));
            for (int j = 0; j < i; j++)
                assert_false(overlap(&rects[i], &rects[j]));
        }
        json_decref(idx);
        /* The distance field: inside at the circle's and square's centres,
         * outside at their cells' corners. */
        VipsImage *img = NULL;
        assert_int_equal(vips_pngload_buffer(png.data, png.len, &img, NULL), 0);
        size_t size = 0;
        unsigned char *px = vips_image_write_to_memory(img, &size);
        int w = vips_image_get_width(img);
        assert_int_equal(vips_image_get_bands(img), 4);
        for (int i = 0; i < 2; i++) {
            size_t centre =
                ((size_t)(rects[i].y + cell / 2) * (size_t)w + (size_t)(rects[i].x + cell / 2)) * 4;
            size_t corner = ((size_t)rects[i].y * (size_t)w + (size_t)rects[i].x) * 4;
            assert_true(px[centre + 3] >= 191);
            assert_true(px[corner + 3] < 191);
            assert_int_equal(px[centre], 255); /* white: the style colours it */
        }
        g_free(px);
        g_object_unref(img);
        md_buf_free(&png);
        md_buf_free(&json);
    }
    free(toilet);
}

static void refuses_bad_input(void **state)
{
    (void)state;
    const char *circle = md_sprite_shape_svg("circle");
    struct md_buf png, json;
    md_buf_init(&png, 1 << 20);
    md_buf_init(&json, 1 << 16);
    struct md_ctx ctx = {0};
    struct md_sprite_icon bad_name[] = {{"a b", circle, strlen(circle)}};
    assert_int_equal(md_sprite_build(bad_name, 1, 1, &png, &json, &ctx), MD_EINVAL);
    assert_non_null(strstr(ctx.msg, "a b"));
    struct md_sprite_icon ok[] = {{"ok", circle, strlen(circle)}};
    assert_int_equal(md_sprite_build(ok, 1, 3, &png, &json, &ctx), MD_EINVAL);
    assert_int_equal(md_sprite_build(ok, 0, 1, &png, &json, &ctx), MD_EINVAL);
    struct md_sprite_icon broken[] = {{"broken", "<svg", 4}};
    memset(&ctx, 0, sizeof(ctx));
    assert_int_equal(md_sprite_build(broken, 1, 1, &png, &json, &ctx), MD_EINTERNAL);
    assert_non_null(strstr(ctx.msg, "broken"));
    assert_int_equal(png.len, 0);
    assert_int_equal(json.len, 0);
    assert_null(md_sprite_shape_svg("nope"));
    assert_string_equal(md_sprite_maki_for("toilet"), "toilet");
    assert_string_equal(md_sprite_maki_for("a city's own"), "marker");
    md_buf_free(&png);
    md_buf_free(&json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_never_overlaps),
        cmocka_unit_test(builds_sheet_and_index),
        cmocka_unit_test(refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
