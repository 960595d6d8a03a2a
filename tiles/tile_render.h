/* tile_render.h - one vector tile from the database, for one or more layers.
 *
 * Point layers below their cluster zoom come from the cluster index
 * (cluster_index.h: cells merged into placed clusters, no SQL); at and above it,
 * every point in the buffered tile (store/read/tile_read.h), thinned on an even grid
 * when a layer would exceed its feature budget. Polygon layers go through
 * the GEOS pipeline of tile_geom.h. Tiles stay under MD_TILE_MAX_BYTES: a
 * tile that comes out larger is rendered again with a smaller point budget.
 * Only public fields become properties.
 */
#ifndef MD_TILE_RENDER_H
#define MD_TILE_RENDER_H

#include "coords.h"
#include "geos_ctx.h"
#include "md_buf.h"
#include "md_pool.h"
#include "store.h"
#include "tile_math.h"

#define MD_TILE_MAX_BYTES (500 * 1024)
#define MD_TILE_MAX_FEATURES 200000
/* Points per layer before thinning starts (~25 bytes each on the wire). */
#define MD_TILE_POINT_BUDGET 12000
#define MD_TILE_MAX_LAYERS MD_LAYER__COUNT

struct md_tile_layers {
    enum md_layer layer[MD_TILE_MAX_LAYERS];
    size_t n;
};

/* The MVT layer written after "districts" whenever districts are asked for:
 * one point per district at its label point, only in the tile whose extent
 * holds it (fields code, name, name_en), for one label per district. */
#define MD_DISTRICT_LABELS_LAYER "district_labels"

struct md_tile_stats {
    size_t features;    /* features written, all layers */
    size_t clusters;    /* of which cluster features */
    size_t thinned;     /* points left out by thinning */
    int64_t change_seq; /* the database's change_log seq the tile reflects */
};

struct md_cluster_index;

/* Render tile `t` with `layers` (in that order) into `out` (appended; empty
 * when no layer has a feature there). Reads in one read transaction so the
 * tile and stats->change_seq are one consistent snapshot (the cluster index
 * `clusters`, shared by the threads, is synced to at least that snapshot).
 * `pool` holds the temporary memory (borrowed). Errors: MD_EDB, MD_EGEOS,
 * MD_ENOMEM. */
md_err md_tile_render(struct md_store *s, struct md_geos *g, struct md_cluster_index *clusters,
                      struct md_pool *pool, struct md_tile_id t,
                      const struct md_tile_layers *layers, int64_t now, struct md_buf *out,
                      struct md_tile_stats *stats, struct md_ctx *ctx) MD_WUR;
/* The same, drawn in `crs` (tile_crs.h: WGS84 or GCJ-02; md_tile_render is
 * this with MD_CRS_WGS84). `clusters` must be an index built in the same
 * crs (md_cluster_index_new_crs). MD_EINVAL for a crs tiles are not drawn in. */
md_err md_tile_render_crs(struct md_store *s, struct md_geos *g,
                          struct md_cluster_index *clusters, struct md_pool *pool,
                          struct md_tile_id t, enum md_crs crs,
                          const struct md_tile_layers *layers, int64_t now, struct md_buf *out,
                          struct md_tile_stats *stats, struct md_ctx *ctx) MD_WUR;

/* Parse "facilities,reports": known names (basemap too), no repeats, at most 5.
 * MD_EINVAL with a message naming the bad part. */
md_err md_tile_layers_parse(const char *text, size_t len, struct md_tile_layers *out,
                            struct md_ctx *ctx) MD_WUR;
/* Bit mask (1 << layer) of a layer list. */
unsigned md_tile_layers_mask(const struct md_tile_layers *layers);

#endif
