/* basemap_style.h - an external vector base map (--basemap-style): a
 * MapLibre style, read once at start from a file or an http(s) URL, whose
 * sources and layers every served style draws beneath mapd's own.
 *
 * Its sources become "ext-<id>" and its layers "ext-<id>" (their `source`
 * renamed alike), placed right above mapd's background; their icons are
 * left out (the served style has mapd's sprite, not theirs) and their text
 * is drawn with mapd's glyphs. Its sources must name absolute http(s) URLs.
 */
#ifndef MD_BASEMAP_STYLE_H
#define MD_BASEMAP_STYLE_H

#include "md_err.h"
#include <jansson.h>

#define MD_BASEMAP_STYLE_MAX (4u << 20) /* bytes of the external style */

/* Read the style at `where` (a file, or an http(s) URL fetched with
 * libcurl: 10 s, MD_BASEMAP_STYLE_MAX bytes) and check it: a JSON object
 * with version 8, a `sources` object whose URLs are absolute http(s) and a
 * `layers` array of objects with string ids. *out (caller frees) is its
 * text. MD_EINVAL / MD_EIO naming what is wrong. */
md_err md_basemap_style_load(const char *where, char **out, struct md_ctx *ctx) MD_WUR;

/* Put the checked style `ext` (text from md_basemap_style_load) into the
 * served style `style`: its sources and layers as the header says, the
 * layers at index `at` of style's layers. MD_ENOMEM or MD_EINVAL. */
md_err md_basemap_style_compose(json_t *style, const char *ext, size_t at,
                                struct md_ctx *ctx) MD_WUR;

#endif
