/* md_pool.c - chained-block arena (see md_pool.h).
 * Invariant: every block's `used` <= `size`; big requests get a block of
 * their own so small ones keep filling the current block. */
#include "md_pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define POOL_BLOCK 16384
#define POOL_ALIGN 16

struct pool_block {
    struct pool_block *next;
    size_t size;
    size_t used;
    _Alignas(POOL_ALIGN) unsigned char mem[];
};

struct md_pool {
    struct pool_block *head;
    size_t total;
    size_t max;
};

struct md_pool *md_pool_new(size_t max_bytes)
{
    struct md_pool *pool = calloc(1, sizeof(*pool));
    if (pool)
        pool->max = max_bytes;
    return pool;
}

void md_pool_free(struct md_pool *pool)
{
    if (!pool)
        return;
    struct pool_block *b = pool->head;
    while (b) {
        struct pool_block *next = b->next;
        free(b);
        b = next;
    }
    free(pool);
}

static struct pool_block *new_block(size_t size)
{
    struct pool_block *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void *md_pool_alloc(struct md_pool *pool, size_t n)
{
    if (n == 0)
        n = 1;
    n = (n + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
    if (n > pool->max || pool->total > pool->max - n)
        return NULL;
    struct pool_block *b = pool->head;
    if (!b || b->size - b->used < n) {
        struct pool_block *nb = new_block(n > POOL_BLOCK / 4 ? n : POOL_BLOCK);
        if (!nb)
            return NULL;
        if (n > POOL_BLOCK / 4 && b) {
            /* Keep filling the current small block: put the big one behind it. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            pool->head = nb;
        }
        b = nb;
    }
    void *p = b->mem + b->used;
    b->used += n;
    pool->total += n;
    return p;
}

void *md_pool_calloc(struct md_pool *pool, size_t count, size_t n)
{
    if (n && count > SIZE_MAX / n)
        return NULL;
    void *p = md_pool_alloc(pool, count * n);
    if (p)
        memset(p, 0, count * n);
    return p;
}

char *md_pool_strndup(struct md_pool *pool, const char *s, size_t n)
{
    char *p = md_pool_alloc(pool, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *md_pool_strdup(struct md_pool *pool, const char *s)
{
    return md_pool_strndup(pool, s, strlen(s));
}

size_t md_pool_used(const struct md_pool *pool)
{
    return pool->total;
}
