/* sprite.h - the style's sprite sheet: SDF icons rendered from SVG with
 * libvips (facility category glyphs from Maki, report status shapes).
 *
 * Every icon is a signed distance field (MapLibre's "sdf": true): one
 * channel of shape, coloured by the style (icon-color, icon-halo-*), so
 * the category and status colours stay in the style and the sheet does
 * not change when a colour does. Each icon is rendered at
 * MD_SPRITE_GLYPH_PX x pixel ratio, padded, and turned into an SDF by the
 * same transform as the glyph PBFs (tiles/glyphs.h, md_glyph_sdf); every
 * cell of the sheet is MD_SPRITE_CELL_PX x pixel ratio square, laid out in
 * rows (md_sprite_layout), so cells never overlap.
 */
#ifndef MD_SPRITE_H
#define MD_SPRITE_H

#include "md_buf.h"
#include "md_err.h"
#include <stddef.h>

#define MD_SPRITE_GLYPH_PX 18 /* drawn size of a 15 px Maki glyph at ratio 1 */
#define MD_SPRITE_CELL_PX 26  /* cell (glyph + SDF spread) at ratio 1 */
#define MD_SPRITE_MAX_ICONS 256
#define MD_SPRITE_MAX_SVG_BYTES ((size_t)64 << 10)
#define MD_SPRITE_MAX_NAME 64

/* One icon to render: its sprite name ([A-Za-z0-9_-], 1..MD_SPRITE_MAX_NAME
 * bytes) and an SVG with a 15 x 15 viewBox (Maki's), both borrowed. */
struct md_sprite_icon {
    const char *name;
    const char *svg;
    size_t svg_len;
};

/* Where icon i sits in a sheet of `cols` columns of cells of `cell` px. */
struct md_sprite_rect {
    int x, y, w, h;
};

/* Lay n icons out in a near-square grid of cell x cell px cells: fills
 * rects[0..n) (caller's array) and the sheet's width and height. n >= 1. */
void md_sprite_layout(size_t n, int cell, struct md_sprite_rect *rects, int *sheet_w, int *sheet_h);

/* Render `icons` at pixel_ratio 1 or 2 into a PNG sheet (appended to png)
 * and its MapLibre index (appended to json: {"name": {"x","y","width",
 * "height","pixelRatio","sdf":true}, ...}). Errors: MD_EINVAL (bad name,
 * ratio or count, SVG over the size cap), MD_EINTERNAL (libvips cannot render
 * an SVG, named in ctx), MD_ETOOBIG (a buffer's cap), MD_ENOMEM. */
md_err md_sprite_build(const struct md_sprite_icon *icons, size_t n, int pixel_ratio,
                       struct md_buf *png, struct md_buf *json, struct md_ctx *ctx) MD_WUR;

/* The built-in SVG (15 x 15 viewBox, static, never freed) of a report
 * status's shape: circle (reported), square (filed), triangle
 * (dispatched), diamond (in_progress), pentagon (handled), pause bars
 * (parked), check (closed), cross (rejected); "cluster" a plain disc;
 * NULL for other names. */
const char *md_sprite_shape_svg(const char *shape);

/* The Maki icon (its file name without .svg, static) drawn for a facility
 * category code; "marker" for codes the table does not know. */
const char *md_sprite_maki_for(const char *category);

#endif
