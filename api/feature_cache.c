/* feature_cache.c - rendered properties of point features (feature_cache.h).
 *
 * SHARDS independent hash tables, each with its own lock, LRU list and
 * share of the budget, so the workers rarely wait on one another. A read
 * only marks its entry used; eviction gives a used entry at the tail a
 * second chance (moves it to the head) instead of dropping it.
 *
 * `seq` is the change-log position the entries are exact for, or -1 while a
 * sync is dropping entries (nothing is read or stored then). The race rule:
 * a put checks seq under its shard's lock, and a sync sets seq to -1 before
 * it takes any shard lock to drop the changed rows, so a row rendered from
 * an older snapshot can never land after its invalidation.
 */
#include "feature_cache.h"
#include "md_lru.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 16
#define MAX_TEXT ((size_t)64 << 10) /* a feature's properties; larger ones are not kept */

struct entry {
    struct entry *hnext; /* hash chain */
    struct md_lru_link lru;
    int64_t id;
    enum md_layer layer;
    bool used; /* read since it last reached the LRU tail (second chance) */
    size_t len;
    char text[];
};

struct shard {
    pthread_mutex_t lock;
    struct entry **buckets;
    size_t nbuckets; /* a power of two */
    struct md_lru lru;
    size_t bytes, budget;
    int64_t entries;
};

struct md_feature_cache {
    struct shard shard[SHARDS];
    atomic_llong seq;
    pthread_mutex_t sync_lock;
    atomic_llong hits, misses, invalidated;
};

static uint64_t key_hash(enum md_layer layer, int64_t id)
{
    uint64_t h = ((uint64_t)id ^ ((uint64_t)layer << 56)) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

static struct shard *shard_of(struct md_feature_cache *c, uint64_t h)
{
    return &c->shard[h % SHARDS];
}

static struct entry **bucket_of(struct shard *sh, uint64_t h)
{
    return &sh->buckets[(h / SHARDS) & (sh->nbuckets - 1)];
}

static size_t entry_bytes(const struct entry *e)
{
    return sizeof(*e) + e->len + 1;
}

struct md_feature_cache *md_feature_cache_new(size_t budget_bytes)
{
    struct md_feature_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    /* About one bucket per 512 bytes of budget (entries are ~300-600 bytes). */
    size_t nb = 64;
    while (nb * SHARDS * 512 < budget_bytes && nb < ((size_t)1 << 20))
        nb *= 2;
    bool ok = true;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *sh = &c->shard[i];
        pthread_mutex_init(&sh->lock, NULL);
        sh->budget = budget_bytes / SHARDS;
        sh->nbuckets = nb;
        sh->buckets = calloc(nb, sizeof(*sh->buckets));
        ok = ok && sh->buckets;
    }
    pthread_mutex_init(&c->sync_lock, NULL);
    atomic_init(&c->seq, -1);
    if (!ok) {
        md_feature_cache_free(c);
        return NULL;
    }
    return c;
}

/* Unlink e from its chain and the LRU list and free it (shard locked). */
static void entry_drop(struct shard *sh, struct entry *e)
{
    struct entry **pp = bucket_of(sh, key_hash(e->layer, e->id));
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    md_lru_unlink(&sh->lru, &e->lru);
    sh->bytes -= entry_bytes(e);
    sh->entries--;
    free(e);
}

static struct entry *find(struct shard *sh, uint64_t h, enum md_layer layer, int64_t id)
{
    for (struct entry *e = *bucket_of(sh, h); e; e = e->hnext)
        if (e->id == id && e->layer == layer)
            return e;
    return NULL;
}

/* Drop every entry of `layer` (all layers when layer < 0). */
static int64_t drop_layer(struct md_feature_cache *c, int layer)
{
    int64_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *sh = &c->shard[i];
        pthread_mutex_lock(&sh->lock);
        for (struct md_lru_link *k = sh->lru.head, *next; k; k = next) {
            next = k->next;
            struct entry *e = md_lru_entry(k, struct entry, lru);
            if (layer < 0 || (int)e->layer == layer) {
                entry_drop(sh, e);
                n++;
            }
        }
        pthread_mutex_unlock(&sh->lock);
    }
    return n;
}

void md_feature_cache_free(struct md_feature_cache *c)
{
    if (!c)
        return;
    drop_layer(c, -1);
    for (int i = 0; i < SHARDS; i++) {
        free(c->shard[i].buckets);
        pthread_mutex_destroy(&c->shard[i].lock);
    }
    pthread_mutex_destroy(&c->sync_lock);
    free(c);
}

static md_err apply_change(const struct md_change *ch, void *userdata)
{
    struct md_feature_cache *c = userdata;
    if (ch->layer != MD_LAYER_FACILITIES && ch->layer != MD_LAYER_REPORTS)
        return MD_OK;
    if (ch->feature_id < 0) {
        atomic_fetch_add(&c->invalidated, drop_layer(c, (int)ch->layer));
        return MD_OK;
    }
    uint64_t h = key_hash(ch->layer, ch->feature_id);
    struct shard *sh = shard_of(c, h);
    pthread_mutex_lock(&sh->lock);
    struct entry *e = find(sh, h, ch->layer, ch->feature_id);
    if (e) {
        entry_drop(sh, e);
        atomic_fetch_add(&c->invalidated, 1);
    }
    pthread_mutex_unlock(&sh->lock);
    return MD_OK;
}

md_err md_feature_cache_sync(struct md_feature_cache *c, struct md_store *s, int64_t *seq,
                             struct md_ctx *ctx)
{
    int64_t newest = 0;
    md_err rc = md_store_change_seq(s, &newest, ctx);
    *seq = -1;
    if (rc)
        return rc;
    *seq = newest;
    if (atomic_load(&c->seq) == newest)
        return MD_OK;
    pthread_mutex_lock(&c->sync_lock);
    int64_t cur = atomic_load(&c->seq);
    if (cur >= 0 && cur >= newest) {
        /* Caught up already (or past this snapshot: this request reads rows). */
        pthread_mutex_unlock(&c->sync_lock);
        return MD_OK;
    }
    atomic_store(&c->seq, -1);
    if (cur < 0)
        atomic_fetch_add(&c->invalidated, drop_layer(c, -1));
    else
        rc = md_store_changes_between(s, cur, newest, apply_change, c, ctx);
    if (!rc)
        atomic_store(&c->seq, newest); /* on failure it stays -1: the next sync starts over */
    pthread_mutex_unlock(&c->sync_lock);
    return rc;
}

bool md_feature_cache_get(struct md_feature_cache *c, enum md_layer layer, int64_t id,
                          int64_t seq, struct md_buf *out)
{
    bool hit = false;
    if (seq >= 0 && atomic_load(&c->seq) == seq) {
        uint64_t h = key_hash(layer, id);
        struct shard *sh = shard_of(c, h);
        pthread_mutex_lock(&sh->lock);
        struct entry *e = atomic_load(&c->seq) == seq ? find(sh, h, layer, id) : NULL;
        if (e && md_buf_append(out, e->text, e->len) == MD_OK) {
            e->used = true; /* cheaper than relinking on every read */
            hit = true;
        }
        pthread_mutex_unlock(&sh->lock);
    }
    return hit;
}

void md_feature_cache_count(struct md_feature_cache *c, int64_t hits, int64_t misses)
{
    if (hits)
        atomic_fetch_add_explicit(&c->hits, hits, memory_order_relaxed);
    if (misses)
        atomic_fetch_add_explicit(&c->misses, misses, memory_order_relaxed);
}

void md_feature_cache_put(struct md_feature_cache *c, enum md_layer layer, int64_t id,
                          int64_t seq, const char *props, size_t n)
{
    if (seq < 0 || n > MAX_TEXT || atomic_load(&c->seq) != seq)
        return;
    struct entry *e = malloc(sizeof(*e) + n + 1);
    if (!e)
        return;
    *e = (struct entry){.id = id, .layer = layer, .len = n};
    memcpy(e->text, props, n);
    e->text[n] = '\0';
    uint64_t h = key_hash(layer, id);
    struct shard *sh = shard_of(c, h);
    pthread_mutex_lock(&sh->lock);
    if (atomic_load(&c->seq) != seq || find(sh, h, layer, id) ||
        entry_bytes(e) > sh->budget) {
        pthread_mutex_unlock(&sh->lock);
        free(e);
        return;
    }
    struct entry **b = bucket_of(sh, h);
    e->hnext = *b;
    *b = e;
    md_lru_push_front(&sh->lru, &e->lru);
    sh->bytes += entry_bytes(e);
    sh->entries++;
    while (sh->bytes > sh->budget && sh->lru.tail) {
        struct entry *t = md_lru_entry(sh->lru.tail, struct entry, lru);
        if (t->used && t != e) {
            t->used = false;
            md_lru_unlink(&sh->lru, &t->lru);
            md_lru_push_front(&sh->lru, &t->lru);
        } else {
            entry_drop(sh, t);
        }
    }
    pthread_mutex_unlock(&sh->lock);
}

void md_feature_cache_stats(struct md_feature_cache *c, struct md_feature_cache_stats *out)
{
    *out = (struct md_feature_cache_stats){
        .hits = atomic_load(&c->hits),
        .misses = atomic_load(&c->misses),
        .invalidated = atomic_load(&c->invalidated),
    };
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&c->shard[i].lock);
        out->entries += c->shard[i].entries;
        out->bytes += (int64_t)c->shard[i].bytes;
        pthread_mutex_unlock(&c->shard[i].lock);
    }
}
