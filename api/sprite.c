/* sprite.c - SDF sprite sheets rendered from SVG with libvips (sprite.h).
 *
 * Steps per icon: libvips renders the SVG (librsvg underneath) at
 * MD_SPRITE_GLYPH_PX x ratio; its alpha band is centred on a canvas of
 * cell - 2 x MD_GLYPH_BUFFER px; md_glyph_sdf turns the coverage into a
 * distance field of exactly cell px, whose bytes become the alpha of a
 * white RGBA cell of the sheet (MapLibre's SDF shader reads alpha; the
 * edge is at 191/255, as with glyphs). The sheet goes out as PNG.
 * Invariant: cells come from md_sprite_layout only, so no two overlap and
 * the JSON rects are exactly the pixels written.
 */
#include "sprite.h"

#include "glyphs.h"
#include "photo_image.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#define SVG_HEAD                                                                                   \
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"15\" height=\"15\" viewBox=\"0 0 15 15\">"
#define STROKE(d) "<path d=\"" d "\" fill=\"none\" stroke=\"#000\" stroke-width=\"3.2\"/>"

/* Report status shapes: solid and simple, so each stays distinct at 14 px
 * whatever its colour (issue 15: status by shape, not colour alone). */
static const struct {
    const char *name;
    const char *svg;
} shapes[] = {
    {"circle", SVG_HEAD "<circle cx=\"7.5\" cy=\"7.5\" r=\"6\"/></svg>"},
    {"square", SVG_HEAD "<rect x=\"2\" y=\"2\" width=\"11\" height=\"11\"/></svg>"},
    {"triangle", SVG_HEAD "<path d=\"M7.5 0.8 L14.3 13.5 L0.7 13.5 Z\"/></svg>"},
    {"diamond", SVG_HEAD "<path d=\"M7.5 0.3 L14.7 7.5 L7.5 14.7 L0.3 7.5 Z\"/></svg>"},
    {"pentagon", SVG_HEAD "<path d=\"M7.5 0.8 L14.4 5.8 L11.8 13.9 L3.2 13.9 L0.6 5.8 Z\"/></svg>"},
    {"pause", SVG_HEAD "<rect x=\"2\" y=\"1.5\" width=\"4.2\" height=\"12\"/>"
                       "<rect x=\"8.8\" y=\"1.5\" width=\"4.2\" height=\"12\"/></svg>"},
    {"check", SVG_HEAD STROKE("M1.2 7.6 L5.6 12 L13.8 3") "</svg>"},
    {"cross", SVG_HEAD STROKE("M2.3 2.3 L12.7 12.7 M12.7 2.3 L2.3 12.7") "</svg>"},
    {"cluster", SVG_HEAD "<circle cx=\"7.5\" cy=\"7.5\" r=\"7.5\"/></svg>"},
};

/* Facility category code -> Maki icon (sample-data/categories.json's
 * codes); a city's own codes draw "marker" until listed here. */
static const struct {
    const char *category;
    const char *maki;
} maki_icons[] = {
    {"convenience_store", "convenience"},
    {"market", "grocery"},
    {"vegetable_stall", "garden"},
    {"breakfast", "bakery"},
    {"toilet", "toilet"},
    {"kiosk", "information"},
    {"parking", "parking"},
    {"pharmacy", "pharmacy"},
    {"post_office", "post"},
};

const char *md_sprite_shape_svg(const char *shape)
{
    for (size_t i = 0; shape && i < sizeof(shapes) / sizeof(shapes[0]); i++)
        if (strcmp(shapes[i].name, shape) == 0)
            return shapes[i].svg;
    return NULL;
}

const char *md_sprite_maki_for(const char *category)
{
    for (size_t i = 0; category && i < sizeof(maki_icons) / sizeof(maki_icons[0]); i++)
        if (strcmp(maki_icons[i].category, category) == 0)
            return maki_icons[i].maki;
    return "marker";
}

void md_sprite_layout(size_t n, int cell, struct md_sprite_rect *rects, int *sheet_w, int *sheet_h)
{
    size_t cols = (size_t)ceil(sqrt((double)n));
    if (cols == 0)
        cols = 1;
    size_t rows = (n + cols - 1) / cols;
    for (size_t i = 0; i < n; i++)
        rects[i] =
            (struct md_sprite_rect){(int)(i % cols) * cell, (int)(i / cols) * cell, cell, cell};
    *sheet_w = (int)cols * cell;
    *sheet_h = (int)(rows ? rows : 1) * cell;
}

static bool good_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MD_SPRITE_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

/* Render one icon's SDF (cell x cell bytes) into sdf. */
static md_err icon_sdf(const struct md_sprite_icon *icon, int ratio, int cell, uint8_t *sdf,
                       struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    VipsImage *img = NULL;
    uint8_t *rgba = NULL;
    uint8_t *alpha = NULL;
    char why[200];
    int canvas = cell - 2 * MD_GLYPH_BUFFER;
    double scale = (double)(MD_SPRITE_GLYPH_PX * ratio) / 15.0;
    if (vips_svgload_buffer((void *)icon->svg, icon->svg_len, &img, "scale", scale, NULL)) {
        md_photo_vips_reason(why, sizeof(why));
        rc =
            md_fail(ctx, MD_EINTERNAL, "sprite icon %s could not be rendered: %s", icon->name, why);
        goto out;
    }
    int w = vips_image_get_width(img), h = vips_image_get_height(img);
    size_t size = 0;
    if (vips_image_get_bands(img) != 4 || vips_image_get_format(img) != VIPS_FORMAT_UCHAR ||
        !(rgba = vips_image_write_to_memory(img, &size)) || size != (size_t)w * (size_t)h * 4) {
        rc = md_fail(ctx, MD_EINTERNAL, "sprite icon %s did not render as 8-bit RGBA", icon->name);
        goto out;
    }
    alpha = calloc((size_t)canvas * (size_t)canvas, 1);
    if (!alpha) {
        rc = md_fail(ctx, MD_ENOMEM, "sprite icon %s", icon->name);
        goto out;
    }
    int ox = (canvas - w) / 2, oy = (canvas - h) / 2; /* centred; clipped if too big */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (x + ox >= 0 && x + ox < canvas && y + oy >= 0 && y + oy < canvas)
                alpha[(size_t)(y + oy) * (size_t)canvas + (size_t)(x + ox)] =
                    rgba[((size_t)y * (size_t)w + (size_t)x) * 4 + 3];
    md_glyph_sdf(alpha, canvas, canvas, sdf);
out:
    free(alpha);
    g_free(rgba);
    if (img)
        g_object_unref(img);
    return rc;
}

static md_err write_index(const struct md_sprite_icon *icons, const struct md_sprite_rect *rects,
                          size_t n, int ratio, struct md_buf *json)
{
    md_err rc = md_buf_putc(json, '{');
    for (size_t i = 0; !rc && i < n; i++) {
        if (i)
            rc = md_buf_putc(json, ',');
        if (!rc)
            rc = md_buf_json_str(json, icons[i].name);
        if (!rc)
            rc = md_buf_printf(json,
                               ":{\"x\":%d,\"y\":%d,\"width\":%d,\"height\":%d,\"pixelRatio\":%d,"
                               "\"sdf\":true}",
                               rects[i].x, rects[i].y, rects[i].w, rects[i].h, ratio);
    }
    return rc ? rc : md_buf_puts(json, "}\n");
}

md_err md_sprite_build(const struct md_sprite_icon *icons, size_t n, int pixel_ratio,
                       struct md_buf *png, struct md_buf *json, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    struct md_sprite_rect *rects = NULL;
    uint8_t *sheet = NULL, *sdf = NULL;
    VipsImage *img = NULL;
    void *png_bytes = NULL;
    size_t png_len = 0;
    char why[200];
    if (pixel_ratio != 1 && pixel_ratio != 2)
        return md_fail(ctx, MD_EINVAL, "sprite pixel ratio %d is not 1 or 2", pixel_ratio);
    if (n == 0 || n > MD_SPRITE_MAX_ICONS)
        return md_fail(ctx, MD_EINVAL, "a sprite holds 1..%d icons, not %zu", MD_SPRITE_MAX_ICONS,
                       n);
    for (size_t i = 0; i < n; i++) {
        if (!good_name(icons[i].name))
            return md_fail(ctx, MD_EINVAL, "sprite icon name %.64s is not [A-Za-z0-9_-]{1,64}",
                           icons[i].name ? icons[i].name : "(null)");
        if (!icons[i].svg || icons[i].svg_len > MD_SPRITE_MAX_SVG_BYTES)
            return md_fail(ctx, MD_EINVAL, "sprite icon %s: no SVG or over %zu bytes",
                           icons[i].name, MD_SPRITE_MAX_SVG_BYTES);
    }
    if ((rc = md_photo_init(ctx)))
        return rc;
    int cell = MD_SPRITE_CELL_PX * pixel_ratio, sheet_w, sheet_h;
    rects = calloc(n, sizeof(*rects));
    sdf = malloc((size_t)cell * (size_t)cell);
    if (!rects || !sdf) {
        rc = md_fail(ctx, MD_ENOMEM, "sprite layout");
        goto out;
    }
    md_sprite_layout(n, cell, rects, &sheet_w, &sheet_h);
    size_t sheet_bytes = (size_t)sheet_w * (size_t)sheet_h * 4;
    sheet = calloc(sheet_bytes, 1);
    if (!sheet) {
        rc = md_fail(ctx, MD_ENOMEM, "sprite sheet %dx%d", sheet_w, sheet_h);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = icon_sdf(&icons[i], pixel_ratio, cell, sdf, ctx)))
            goto out;
        for (int y = 0; y < cell; y++) {
            uint8_t *row =
                sheet + ((size_t)(rects[i].y + y) * (size_t)sheet_w + (size_t)rects[i].x) * 4;
            for (int x = 0; x < cell; x++) {
                row[x * 4] = row[x * 4 + 1] = row[x * 4 + 2] = 255;
                row[x * 4 + 3] = sdf[(size_t)y * (size_t)cell + (size_t)x];
            }
        }
    }
    img = vips_image_new_from_memory(sheet, sheet_bytes, sheet_w, sheet_h, 4, VIPS_FORMAT_UCHAR);
    if (!img || vips_pngsave_buffer(img, &png_bytes, &png_len, "compression", 9, NULL)) {
        md_photo_vips_reason(why, sizeof(why));
        rc = md_fail(ctx, MD_EINTERNAL, "the sprite sheet could not be encoded: %s", why);
        goto out;
    }
    rc = md_buf_append(png, png_bytes, png_len);
    if (!rc)
        rc = write_index(icons, rects, n, pixel_ratio, json);
    if (rc)
        rc = md_fail(ctx, rc, "sprite sheet output");
out:
    g_free(png_bytes);
    if (img)
        g_object_unref(img);
    free(sheet);
    free(sdf);
    free(rects);
    return rc;
}
