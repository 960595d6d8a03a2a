/* tile_cache.h - rendered tiles in memory, LRU under a byte budget, kept
 * exact by the database's change_log.
 *
 * Invalidation is precise: a change (layer, lon/lat bbox) drops, at every
 * zoom, only the cached tiles whose buffered extent the change touches - at
 * cluster zooms grown by MD_CLUSTER_REACH_UNITS, how far a merge of cells can
 * move a cluster - and only entries whose layers include that layer.
 * md_tile_cache_sync() reads new change_log rows (from any writer) and
 * applies them; call it before every lookup.
 *
 * Tiles are cached per CRS (the key's crs, tile_crs.h): a change's WGS84
 * bbox drops WGS84 tiles, and the same bbox moved to GCJ-02
 * (md_tile_crs_bbox_from_wgs84) drops GCJ-02 tiles, with the same margins.
 *
 * Race rule: an entry rendered from a snapshot at change seq S is stored only
 * if no change after S (kept in a ring of recent changes) touches it;
 * otherwise it is simply not cached. Thread-safe (one mutex).
 */
#ifndef MD_TILE_CACHE_H
#define MD_TILE_CACHE_H

#include "md_buf.h"
#include "store.h"
#include "tile_crs.h"
#include "tile_math.h"
#include "tile_render.h"

struct md_tile_cache;

struct md_tile_key {
    struct md_tile_id t;
    uint32_t layers_code; /* the ordered layer list, see md_tile_key_make */
    enum md_crs crs;      /* what the tile is drawn in (MD_CRS_WGS84 or MD_CRS_GCJ02) */
};

struct md_tile_cache_stats {
    int64_t hits, misses, puts, skipped_stale, evictions, invalidations;
    size_t bytes, entries;
    int64_t seq;
};

/* The key of a WGS84 tile; md_tile_key_make_crs of one drawn in `crs`
 * (WGS84 or GCJ-02). */
struct md_tile_key md_tile_key_make(struct md_tile_id t, const struct md_tile_layers *layers);
struct md_tile_key md_tile_key_make_crs(struct md_tile_id t, const struct md_tile_layers *layers,
                                        enum md_crs crs);
/* New cache with `budget` bytes (> 0). Caller frees. */
struct md_tile_cache *md_tile_cache_new(size_t budget);
void md_tile_cache_free(struct md_tile_cache *c);
/* Apply change_log rows newer than the last seen. */
md_err md_tile_cache_sync(struct md_tile_cache *c, struct md_store *s, struct md_ctx *ctx) MD_WUR;
/* On a hit, append the tile (gzip'd bytes when `gzip`) to out, copy its ETag
 * (a quoted string) into etag, and return true. Empty tiles are cached too
 * (out gets 0 bytes). An entry stored without its gzip'd form (gz_len 0:
 * compressed only once a client asks) is a miss for `gzip`. */
bool md_tile_cache_get(struct md_tile_cache *c, const struct md_tile_key *k, bool gzip,
                       struct md_buf *out, char etag[24]);
/* Store a tile rendered at change seq `seq` (raw and gzip'd bytes, both
 * copied). Silently not stored when stale or larger than the budget. */
void md_tile_cache_put(struct md_tile_cache *c, const struct md_tile_key *k, const void *raw,
                       size_t raw_len, const void *gz, size_t gz_len, const char *etag,
                       int64_t seq);
void md_tile_cache_stats(struct md_tile_cache *c, struct md_tile_cache_stats *out);
/* Strong ETag of tile bytes: a quoted 64-bit hash in hex (bytes may be NULL when n == 0). */
void md_tile_etag(const void *bytes, size_t n, char out[24]);
/* The ETag of a tile drawn in `crs`: md_tile_etag for WGS84; for GCJ-02 a
 * hash seeded apart, so the two CRSs never share an ETag, not even for
 * equal bytes (an empty tile, a tile outside China). */
void md_tile_etag_crs(const void *bytes, size_t n, enum md_crs crs, char out[24]);

#endif
