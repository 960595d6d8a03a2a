/* md_pool.h - a memory arena per request.
 *
 * Allocations come from chained blocks and are all released together by
 * md_pool_free(); individual frees are no-ops. A pool has a byte cap so that
 * no request can grow it without limit (allocation then returns NULL).
 */
#ifndef MD_POOL_H
#define MD_POOL_H

#include <stddef.h>

struct md_pool;

/* New pool that may hand out at most `max_bytes`; caller frees with md_pool_free(). */
struct md_pool *md_pool_new(size_t max_bytes);
/* Releases every allocation and the pool; accepts NULL. */
void md_pool_free(struct md_pool *pool);
/* Aligned allocation owned by the pool; NULL when the cap is reached. */
void *md_pool_alloc(struct md_pool *pool, size_t n);
void *md_pool_calloc(struct md_pool *pool, size_t count, size_t n);
char *md_pool_strdup(struct md_pool *pool, const char *s);
char *md_pool_strndup(struct md_pool *pool, const char *s, size_t n);
/* Bytes handed out so far. */
size_t md_pool_used(const struct md_pool *pool);

#endif
