/* feature_cache.h - private to api/: the rendered GeoJSON properties of
 * point features (facilities, reports), shared by the workers, so that the
 * answer of a nearest/within query is copied instead of re-read row by row.
 *
 * Exact, never stale: the cache follows the database's change log (every
 * insert, update and delete of a row logs its id; a bulk load logs its
 * layer), and an entry is used or stored only by a request whose read
 * snapshot ends at the change the cache has caught up with. A request on an
 * older or newer snapshot simply reads the rows.
 *
 * Usage, inside one read transaction:
 *   int64_t seq;
 *   if (md_feature_cache_sync(c, store, &seq, ctx) == MD_OK)
 *       hit = md_feature_cache_get(c, layer, id, seq, out);
 *   ... on a miss: render the properties, then md_feature_cache_put(...).
 */
#ifndef MD_FEATURE_CACHE_H
#define MD_FEATURE_CACHE_H

#include "md_buf.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

struct md_feature_cache;

struct md_feature_cache_stats {
    int64_t hits, misses, entries, bytes, invalidated;
};

/* NULL on allocation failure; budget_bytes bounds the entries' memory. */
struct md_feature_cache *md_feature_cache_new(size_t budget_bytes);
void md_feature_cache_free(struct md_feature_cache *c);

/* Catch the cache up with the change log as the caller's read snapshot sees
 * it; *seq is that snapshot's newest change, the key for get and put. Call it
 * inside the read transaction the rows are then read in. */
md_err md_feature_cache_sync(struct md_feature_cache *c, struct md_store *s, int64_t *seq,
                             struct md_ctx *ctx) MD_WUR;

/* Append the cached properties of (layer, id) to out; false when absent or
 * when the cache is not at the caller's snapshot `seq`. */
bool md_feature_cache_get(struct md_feature_cache *c, enum md_layer layer, int64_t id,
                          int64_t seq, struct md_buf *out);

/* Keep props[0..n) (as rendered in snapshot `seq`) for (layer, id); ignored
 * when the cache has moved on from `seq` or the text is too big. */
void md_feature_cache_put(struct md_feature_cache *c, enum md_layer layer, int64_t id,
                          int64_t seq, const char *props, size_t n);

/* Add a request's hits and misses to the statistics (once per request: the
 * counters are shared by every worker). */
void md_feature_cache_count(struct md_feature_cache *c, int64_t hits, int64_t misses);

void md_feature_cache_stats(struct md_feature_cache *c, struct md_feature_cache_stats *out);

#endif
