/* glyphs.c - glyph ranges for MapLibre: FreeType coverage -> SDF -> PBF.
 *
 * Per glyph: FreeType renders 8-bit coverage at 24 px (light hinting, no
 * embedded bitmaps); the coverage goes through tiny-sdf's two-grid exact
 * EDT (Felzenszwalb & Huttenlocher, with tiny-sdf's sub-pixel seeding of
 * partially covered pixels); the result is a (w+6) x (h+6) byte field.
 * Metrics follow node-fontnik, which MapLibre's shaping is tuned for:
 * left = bearing x, top = bearing y - ascender, advance rounded to pixels.
 *
 * Invariants: each of the 256 cache slots is written once under the mutex
 * and never changed afterwards; md_glyphs_range packs from the cached
 * glyphs while holding the mutex, so callers never see a half-built range.
 */
#include "glyphs.h"
#include "glyphs.pb-c.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NRANGES 256
#define SDF_SIDE (MD_GLYPH_MAX_PX + 2 * MD_GLYPH_BUFFER)
#define INF 1e20

struct glyph_range {
    size_t n;
    Mapd__Glyphs__Glyph *glyphs;
    Mapd__Glyphs__Glyph **ptrs;
    uint8_t *bitmaps; /* all bitmaps of the range, back to back */
};

struct md_glyphs {
    pthread_mutex_t mu;
    FT_Library lib;
    FT_Face face;
    int ascender; /* pixels at MD_GLYPH_FONT_PX */
    struct glyph_range *ranges[NRANGES];
};

/* ---- tiny-sdf's distance transform ----------------------------------------- */

/* 1-D squared EDT of `length` samples at grid[offset + q * stride]. */
static void edt1d(double *grid, int offset, int stride, int length, double *f, int *v,
                  double *z)
{
    v[0] = 0;
    z[0] = -INF;
    z[1] = INF;
    f[0] = grid[offset];
    for (int q = 1, k = 0; q < length; q++) {
        double s;
        f[q] = grid[offset + q * stride];
        double q2 = (double)q * q;
        do {
            int r = v[k];
            s = (f[q] - f[r] + q2 - (double)r * r) / (q - r) / 2;
        } while (s <= z[k] && --k > -1);
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = INF;
    }
    for (int q = 0, k = 0; q < length; q++) {
        while (z[k + 1] < q)
            k++;
        int r = v[k];
        double qr = q - r;
        grid[offset + q * stride] = f[r] + qr * qr;
    }
}

/* 2-D squared EDT of the width x height window at (x0, y0) of a grid whose
 * rows are grid_w long. */
static void edt(double *grid, int x0, int y0, int width, int height, int grid_w, double *f,
                int *v, double *z)
{
    for (int x = x0; x < x0 + width; x++)
        edt1d(grid, y0 * grid_w + x, grid_w, height, f, v, z);
    for (int y = y0; y < y0 + height; y++)
        edt1d(grid, y * grid_w + x0, 1, width, f, v, z);
}

void md_glyph_sdf(const uint8_t *alpha, int w, int h, uint8_t *sdf)
{
    const int b = MD_GLYPH_BUFFER;
    const int width = w + 2 * b, height = h + 2 * b, len = width * height;
    double outer[SDF_SIDE * SDF_SIDE], inner[SDF_SIDE * SDF_SIDE];
    double f[SDF_SIDE], z[SDF_SIDE + 1];
    int v[SDF_SIDE];
    if (w <= 0 || h <= 0 || w > MD_GLYPH_MAX_PX || h > MD_GLYPH_MAX_PX)
        return;
    for (int i = 0; i < len; i++) {
        outer[i] = INF;
        inner[i] = 0;
    }
    /* Seed: covered pixels are at distance 0 from the outside, partially
     * covered ones at (0.5 - a)^2 on the side the coverage says. */
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double a = alpha[y * w + x] / 255.0;
            if (a == 0)
                continue;
            int j = (y + b) * width + x + b;
            if (a == 1) {
                outer[j] = 0;
                inner[j] = INF;
            } else {
                double d = 0.5 - a;
                outer[j] = d > 0 ? d * d : 0;
                inner[j] = d < 0 ? d * d : 0;
            }
        }
    }
    edt(outer, 0, 0, width, height, width, f, v, z);
    edt(inner, b, b, w, h, width, f, v, z);
    for (int i = 0; i < len; i++) {
        double d = sqrt(outer[i]) - sqrt(inner[i]);
        double px = round(255 - 255 * (d / MD_GLYPH_RADIUS + MD_GLYPH_CUTOFF));
        sdf[i] = (uint8_t)(px < 0 ? 0 : px > 255 ? 255 : px);
    }
}

/* ---- rendering a range --------------------------------------------------------- */

static void range_free(struct glyph_range *r)
{
    if (!r)
        return;
    free(r->glyphs);
    free(r->ptrs);
    free(r->bitmaps);
    free(r);
}

/* Coverage of one rendered FreeType bitmap as w x h bytes (cropped to
 * MD_GLYPH_MAX_PX); returns false for pixel modes we do not handle. */
static bool coverage(const FT_Bitmap *bm, uint8_t *alpha, int *w, int *h)
{
    *w = bm->width < MD_GLYPH_MAX_PX ? (int)bm->width : MD_GLYPH_MAX_PX;
    *h = bm->rows < MD_GLYPH_MAX_PX ? (int)bm->rows : MD_GLYPH_MAX_PX;
    if (bm->pitch < 0 || (*w > 0 && !bm->buffer))
        return false;
    for (int y = 0; y < *h; y++) {
        const unsigned char *row = bm->buffer + (size_t)y * (size_t)bm->pitch;
        for (int x = 0; x < *w; x++) {
            if (bm->pixel_mode == FT_PIXEL_MODE_GRAY)
                alpha[y * *w + x] = row[x];
            else if (bm->pixel_mode == FT_PIXEL_MODE_MONO)
                alpha[y * *w + x] = (row[x >> 3] & (0x80 >> (x & 7))) ? 255 : 0;
            else
                return false;
        }
    }
    return true;
}

static md_err render_range(struct md_glyphs *g, uint32_t start, struct glyph_range **out,
                           struct md_ctx *ctx)
{
    const size_t sdf_max = (size_t)SDF_SIDE * SDF_SIDE;
    struct glyph_range *r = calloc(1, sizeof(*r));
    if (!r || !(r->glyphs = calloc(256, sizeof(*r->glyphs))) ||
        !(r->ptrs = calloc(256, sizeof(*r->ptrs))) || !(r->bitmaps = malloc(256 * sdf_max))) {
        range_free(r);
        return md_fail(ctx, MD_ENOMEM, "glyph range %u", (unsigned)start);
    }
    uint8_t alpha[MD_GLYPH_MAX_PX * MD_GLYPH_MAX_PX];
    size_t used = 0;
    for (uint32_t cp = start; cp < start + 256; cp++) {
        FT_UInt index = FT_Get_Char_Index(g->face, cp);
        if (index == 0 || FT_Load_Glyph(g->face, index, FT_LOAD_RENDER | FT_LOAD_NO_BITMAP |
                                                             FT_LOAD_TARGET_LIGHT))
            continue;
        FT_GlyphSlot slot = g->face->glyph;
        int w = 0, h = 0;
        if (!coverage(&slot->bitmap, alpha, &w, &h))
            continue;
        Mapd__Glyphs__Glyph *gl = &r->glyphs[r->n];
        mapd__glyphs__glyph__init(gl);
        gl->id = cp;
        long adv = (slot->advance.x + 32) >> 6;
        gl->advance = adv < 0 ? 0 : (uint32_t)adv;
        if (w > 0 && h > 0) {
            uint8_t *sdf = r->bitmaps + used;
            md_glyph_sdf(alpha, w, h, sdf);
            gl->has_bitmap = true;
            gl->bitmap.data = sdf;
            gl->bitmap.len = (size_t)(w + 2 * MD_GLYPH_BUFFER) * (size_t)(h + 2 * MD_GLYPH_BUFFER);
            used += gl->bitmap.len;
            gl->width = (uint32_t)w;
            gl->height = (uint32_t)h;
            gl->left = slot->bitmap_left;
            gl->top = slot->bitmap_top - g->ascender;
        }
        r->ptrs[r->n] = gl;
        r->n++;
    }
    /* Keep only the bytes used: a range holds what the font has, not 256
     * worst-case bitmaps (so every cached range together stays font-sized). */
    size_t offset[256];
    for (size_t i = 0; i < r->n; i++)
        offset[i] = r->glyphs[i].has_bitmap ? (size_t)(r->glyphs[i].bitmap.data - r->bitmaps) : 0;
    uint8_t *shrunk = realloc(r->bitmaps, used ? used : 1);
    if (shrunk) {
        r->bitmaps = shrunk;
        for (size_t i = 0; i < r->n; i++) {
            if (r->glyphs[i].has_bitmap)
                r->glyphs[i].bitmap.data = shrunk + offset[i];
        }
    }
    *out = r;
    return MD_OK;
}

/* ---- public API ---------------------------------------------------------------- */

md_err md_glyphs_open(const char *font_path, struct md_glyphs **out, struct md_ctx *ctx)
{
    struct stat st;
    if (!font_path || stat(font_path, &st) != 0 || !S_ISREG(st.st_mode))
        return md_fail(ctx, MD_ENOTFOUND, "font file %s not found (install fonts-wqy-microhei "
                                          "or pass --font FILE)",
                       font_path ? font_path : "(none)");
    struct md_glyphs *g = calloc(1, sizeof(*g));
    if (!g)
        return md_fail(ctx, MD_ENOMEM, "glyphs");
    md_err rc = MD_OK;
    if (FT_Init_FreeType(&g->lib)) {
        rc = md_fail(ctx, MD_EINTERNAL, "FreeType could not start");
        goto out;
    }
    if (FT_New_Face(g->lib, font_path, 0, &g->face)) {
        rc = md_fail(ctx, MD_EPARSE, "FreeType cannot read font %s", font_path);
        goto out;
    }
    if (FT_Set_Pixel_Sizes(g->face, 0, MD_GLYPH_FONT_PX)) {
        rc = md_fail(ctx, MD_EPARSE, "font %s has no %d px size", font_path, MD_GLYPH_FONT_PX);
        goto out;
    }
    g->ascender = (int)((g->face->size->metrics.ascender + 32) >> 6);
    pthread_mutex_init(&g->mu, NULL);
out:
    if (rc) {
        if (g->face)
            FT_Done_Face(g->face);
        if (g->lib)
            FT_Done_FreeType(g->lib);
        free(g);
        return rc;
    }
    *out = g;
    return MD_OK;
}

void md_glyphs_free(struct md_glyphs *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < NRANGES; i++)
        range_free(g->ranges[i]);
    FT_Done_Face(g->face);
    FT_Done_FreeType(g->lib);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

md_err md_glyphs_check_stack(const char *fontstack, struct md_ctx *ctx)
{
    size_t n = fontstack ? strlen(fontstack) : 0;
    if (n == 0 || n > MD_GLYPH_MAX_STACK)
        return md_fail(ctx, MD_EINVAL, "fontstack must be 1..%d characters", MD_GLYPH_MAX_STACK);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)fontstack[i];
        if (!isalnum(ch) && !strchr(" ,-_.", ch))
            return md_fail(ctx, MD_EINVAL, "fontstack may hold letters, digits, spaces and "
                                           "',-_.' only");
    }
    return MD_OK;
}

static bool parse_u32(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 5)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

md_err md_glyphs_parse_range(const char *text, uint32_t *start, struct md_ctx *ctx)
{
    const char *dash = text ? strchr(text, '-') : NULL;
    uint32_t a, b;
    if (!dash || !parse_u32(text, (size_t)(dash - text), &a) ||
        !parse_u32(dash + 1, strlen(dash + 1), &b))
        return md_fail(ctx, MD_EINVAL, "glyph range must be {start}-{end}, e.g. 0-255");
    if (a % 256 != 0 || b != a + 255 || b > 65535)
        return md_fail(ctx, MD_EINVAL, "glyph range %u-%u must be 256 codepoints starting at a "
                                       "multiple of 256, ending at most at 65535",
                       (unsigned)a, (unsigned)b);
    *start = a;
    return MD_OK;
}

md_err md_glyphs_range(struct md_glyphs *g, const char *fontstack, uint32_t start,
                       struct md_buf *out, struct md_ctx *ctx)
{
    if (start % 256 != 0 || start > 65535 - 255)
        return md_fail(ctx, MD_EINVAL, "glyph range start %u is not a multiple of 256 below 65536",
                       (unsigned)start);
    md_err rc = md_glyphs_check_stack(fontstack, ctx);
    if (rc)
        return rc;
    char range[16];
    snprintf(range, sizeof(range), "%u-%u", (unsigned)start, (unsigned)start + 255);
    pthread_mutex_lock(&g->mu);
    struct glyph_range *r = g->ranges[start / 256];
    if (!r && !(rc = render_range(g, start, &r, ctx)))
        g->ranges[start / 256] = r;
    if (!rc) {
        Mapd__Glyphs__Fontstack stack = MAPD__GLYPHS__FONTSTACK__INIT;
        stack.name = (char *)fontstack;
        stack.range = range;
        stack.n_glyphs = r->n;
        stack.glyphs = r->ptrs;
        Mapd__Glyphs__Fontstack *stacks[1] = {&stack};
        Mapd__Glyphs__Glyphs msg = MAPD__GLYPHS__GLYPHS__INIT;
        msg.n_stacks = 1;
        msg.stacks = stacks;
        size_t n = mapd__glyphs__glyphs__get_packed_size(&msg);
        rc = md_buf_reserve(out, n);
        if (rc) {
            md_fail(ctx, rc, "glyph range %s is too large", range);
        } else {
            mapd__glyphs__glyphs__pack(&msg, (uint8_t *)out->data + out->len);
            out->len += n;
            out->data[out->len] = '\0';
        }
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}
