/* basemap_sample.h - the sample city's synthetic, approximate base map of
 * Beijing (ring roads, axes, radials, rivers, lakes, a street grid in the
 * core, names), written by `mapd sample`. Deterministic. */
#ifndef MD_BASEMAP_SAMPLE_H
#define MD_BASEMAP_SAMPLE_H

#include "basemap.h"

/* Replace the base map of `s` (not in a transaction) with the synthetic one,
 * rows stamped `now`; `out` (may be NULL) gets what was written. */
md_err md_basemap_sample(struct md_store *s, int64_t now, struct md_basemap_summary *out,
                         struct md_ctx *ctx) MD_WUR;

#endif
