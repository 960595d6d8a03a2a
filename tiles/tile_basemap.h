/* tile_basemap.h - the base map's MVT layer "basemap" of one tile.
 *
 * Rows drawn at the tile's zoom (store/load/basemap.h: min_zoom <= z) whose box
 * meets the buffered tile go through the GEOS pipeline of tile_geom.h
 * (clipped, simplified to the tile's resolution, snapped, repaired); what
 * collapses is dropped. Properties: kind, class, name, name_en (names only
 * when set).
 */
#ifndef MD_TILE_BASEMAP_H
#define MD_TILE_BASEMAP_H

#include "coords.h"
#include "geos_ctx.h"
#include "md_pool.h"
#include "mvt_encode.h"
#include "store.h"
#include "tile_math.h"

/* Append layer "basemap" of tile t, drawn in `crs` (tile_crs.h), to `mvt`
 * (borrowed; the layer is started here). *features grows by the features
 * written. The caller holds the read transaction. Errors: MD_EDB,
 * MD_EGEOS, MD_ENOMEM. */
md_err md_tile_basemap_render(struct md_store *s, struct md_geos *g, struct md_pool *pool,
                              struct md_mvt *mvt, struct md_tile_id t, enum md_crs crs,
                              size_t *features, struct md_ctx *ctx) MD_WUR;

#endif
