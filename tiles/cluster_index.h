/* cluster_index.h - the point layers' clusters in memory, kept exact by
 * the change log, so clustered tiles need no SQL.
 *
 * Per point layer and per zoom z below the layer's cluster zoom, the index
 * holds the occupied cells of a grid 16 x 16 per tile (cell level z + 4):
 * count, sum of Web Mercator positions, per-category counts (and the sum of
 * the points' `supporters`). A tile's clusters are its cells merged by
 * supercluster's greedy radius pass (see cluster_index.c): deterministic,
 * placed where points concentrate, never across a tile border - so the
 * clusters whose position lies in a tile's extent hold exactly the points
 * of that tile, and a change alters clusters at most MD_CLUSTER_REACH_UNITS
 * tile units away from it (the tile cache's invalidation margin).
 *
 * Sync: md_cluster_index_sync, called inside the tile's read snapshot,
 * builds a layer on first use and then replays the change log rows after
 * the index's seq - reading each changed point's row as the snapshot holds
 * it - so any writer (this process, `mapd import`, a database shell) is seen, and
 * the index is never older than the snapshot. Thread-safe: one rwlock.
 */
#ifndef MD_CLUSTER_INDEX_H
#define MD_CLUSTER_INDEX_H

#include "coords.h"
#include "md_err.h"
#include "md_pool.h"
#include "store.h"
#include "tile_math.h"

/* Cells per tile side: 2^MD_CLUSTER_CELL_SHIFT. */
#define MD_CLUSTER_CELL_SHIFT 4
#define MD_CLUSTER_CELL_UNITS (MD_TILE_EXTENT >> MD_CLUSTER_CELL_SHIFT)
/* Two cells merge when their centres are this close (tile units): 40 px of
 * a 512 px tile, supercluster's default radius. */
#define MD_CLUSTER_RADIUS_UNITS 320
/* How far (tile units, at the tile's zoom) from a change the tiles reach
 * whose clusters it can alter: one extent, i.e. the changed point's tile
 * and its neighbours (see cluster_index.c, "Reach"). */
#define MD_CLUSTER_REACH_UNITS MD_TILE_EXTENT

struct md_cluster_index;

struct md_cluster_cat {
    const char *code; /* borrowed from the index, valid while it lives */
    int64_t n;
};

/* One cluster of a tile, in that tile's space (buffer included). */
struct md_cluster {
    uint64_t id;  /* unique per layer and zoom, the same in every tile that shows it */
    int32_t x, y; /* tile units */
    int64_t n;
    int64_t supporters;
    const struct md_cluster_cat *cats; /* by code, ascending; ncats >= 1 */
    size_t ncats;
    const char *top_category; /* the most frequent (the first code on a tie) */
    /* The same counts as text, made once per memoised tile (not per
     * request): "code:n,code:n" in the order of cats, and n abbreviated as
     * md_cluster_abbreviate does. Borrowed like cats. */
    const char *categories;
    size_t categories_len;
    const char *abbreviated;
};

typedef md_err (*md_cluster_fn)(const struct md_cluster *c, void *userdata);

/* New empty index (WGS84). Caller frees. NULL when out of memory. */
struct md_cluster_index *md_cluster_index_new(void);
/* New empty index whose points sit where tiles in `crs` draw them
 * (tile_crs.h: a GCJ-02 index places each point at its GCJ-02 position, so
 * the clusters of a GCJ-02 tile hold exactly the points drawn in it). Built
 * on first sync, like any index. NULL when out of memory or for a crs tiles
 * are not drawn in. Caller frees. */
struct md_cluster_index *md_cluster_index_new_crs(enum md_crs crs);
void md_cluster_index_free(struct md_cluster_index *ci);

/* Bring `layer` up to the snapshot `s` has open (snapshot_seq = its newest
 * change seq): build it on first use (cluster zooms from the layers table),
 * rebuild it after a bulk load, else apply the changed rows. MD_EDB and
 * MD_ENOMEM (the index is then dropped and built again next time). */
md_err md_cluster_index_sync(struct md_cluster_index *ci, struct md_store *s, enum md_layer layer,
                             int64_t snapshot_seq, struct md_ctx *ctx) MD_WUR;

/* Call fn for each cluster of `layer` that tile t shows (z must be below
 * the layer's cluster zoom; the layer synced): those of t, then those of
 * its neighbours whose position falls in t's buffer. `pool` holds the
 * temporary memory. Errors: fn's, MD_ENOMEM, MD_EINVAL (not synced). */
md_err md_cluster_index_tile(struct md_cluster_index *ci, enum md_layer layer, struct md_tile_id t,
                             struct md_pool *pool, md_cluster_fn fn, void *userdata,
                             struct md_ctx *ctx) MD_WUR;

/* supercluster's point_count_abbreviated: "999", "1k", "1.2k", "15k"
 * (Math.round on tenths of thousands below 10000, on thousands above). */
void md_cluster_abbreviate(int64_t n, char out[32]);

#endif
