/* glyphs.h - MapLibre glyph ranges ("glyphs" PBFs) rendered from a font file.
 *
 * MapLibre GL draws text from signed distance fields (SDF) of 256-codepoint
 * ranges fetched from the style's glyphs URL. This module opens one font
 * with FreeType, rasterizes each glyph of a range at 24 px, turns the
 * coverage into an SDF with the exact Euclidean distance transform of
 * @mapbox/tiny-sdf (buffer 3, radius 8, cutoff 0.25), and encodes the range
 * as glyphs.proto. Rendered ranges are cached for the life of the object.
 *
 * Thread safety: one struct md_glyphs may be used from many threads; a mutex
 * serializes FreeType (its faces are not thread-safe) and the cache.
 */
#ifndef MD_GLYPHS_H
#define MD_GLYPHS_H

#include "md_buf.h"
#include "md_err.h"
#include <stdint.h>

#define MD_GLYPH_FONT_PX 24 /* rasterization size, as MapLibre expects */
#define MD_GLYPH_BUFFER 3   /* SDF border in pixels around each glyph */
#define MD_GLYPH_RADIUS 8   /* distance (px) mapped onto the byte range */
#define MD_GLYPH_CUTOFF 0.25
#define MD_GLYPH_MAX_PX 64  /* glyph bitmaps are cropped to this (hostile fonts) */
#define MD_GLYPH_MAX_STACK 256 /* longest fontstack name accepted */

struct md_glyphs;

/* Open the font at `font_path` (TrueType/OpenType/collection; face 0).
 * Caller frees with md_glyphs_free(). Errors: MD_ENOTFOUND (no such file),
 * MD_EPARSE (FreeType cannot read it), MD_ENOMEM. */
md_err md_glyphs_open(const char *font_path, struct md_glyphs **out, struct md_ctx *ctx) MD_WUR;
void md_glyphs_free(struct md_glyphs *g);

/* Append to `out` the glyphs PBF of codepoints start..start+255 under the
 * stack name `fontstack` (borrowed, checked with md_glyphs_check_stack).
 * start must be a multiple of 256 below 65536 (MD_EINVAL otherwise).
 * Codepoints the font lacks are left out. Errors: MD_EINVAL, MD_ETOOBIG
 * (out's cap), MD_ENOMEM. */
md_err md_glyphs_range(struct md_glyphs *g, const char *fontstack, uint32_t start,
                       struct md_buf *out, struct md_ctx *ctx) MD_WUR;

/* Parse "{start}-{end}" (e.g. "256-511"): 256-aligned, end = start + 255,
 * end <= 65535. MD_EINVAL with a message naming the problem. */
md_err md_glyphs_parse_range(const char *text, uint32_t *start, struct md_ctx *ctx) MD_WUR;

/* A fontstack name: 1..MD_GLYPH_MAX_STACK bytes of letters, digits, space,
 * ',', '-', '_', '.'. MD_EINVAL otherwise. */
md_err md_glyphs_check_stack(const char *fontstack, struct md_ctx *ctx) MD_WUR;

/* The SDF of a coverage bitmap, as tiny-sdf computes it: `alpha` is w x h
 * coverage bytes (0 = empty, 255 = covered); `sdf` receives (w + 2*buffer)
 * x (h + 2*buffer) bytes, 255 deep inside, 191 on the edge (cutoff 0.25),
 * falling by 255/radius per pixel outside. w, h <= MD_GLYPH_MAX_PX. */
void md_glyph_sdf(const uint8_t *alpha, int w, int h, uint8_t *sdf);

#endif
