/* tile_cache.c - LRU tile cache with change-log invalidation (see tile_cache.h).
 *
 * Entries live in a hash table whose hash ignores the layer list, so all
 * cached variants of one z/x/y share a chain: invalidating a tile is one
 * chain walk. An md_lru list orders entries by last use. A ring keeps
 * the last RING changes for the race rule of md_tile_cache_put.
 */
#include "tile_cache.h"
#include "cluster_index.h"
#include "md_lru.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING 4096
#define NBUCKETS 65536

struct entry {
    struct md_tile_key key;
    unsigned mask;
    struct entry *hnext;        /* hash chain */
    struct md_lru_link lru;
    char etag[24];
    size_t raw_len, gz_len;
    unsigned char *bytes; /* raw then gz */
};

struct change {
    int64_t seq;
    enum md_layer layer;
    struct md_bbox bbox[MD_TILE_CRS_COUNT]; /* the changed box as each CRS draws it */
};

struct md_tile_cache {
    pthread_mutex_t lock;
    pthread_mutex_t sync_lock;
    struct entry **buckets;
    struct md_lru lru;
    size_t bytes, budget, entries;
    size_t entries_crs[MD_TILE_CRS_COUNT]; /* a CRS with none is skipped on invalidation */
    int64_t seq;
    int cluster_below[MD_LAYER__COUNT];
    struct change ring[RING];
    size_t ring_next, ring_count;
    struct md_tile_cache_stats stats;
};

struct md_tile_key md_tile_key_make(struct md_tile_id t, const struct md_tile_layers *layers)
{
    return md_tile_key_make_crs(t, layers, MD_CRS_WGS84);
}

struct md_tile_key md_tile_key_make_crs(struct md_tile_id t, const struct md_tile_layers *layers,
                                        enum md_crs crs)
{
    struct md_tile_key k = {.t = t, .layers_code = 0, .crs = crs};
    for (size_t i = 0; i < layers->n; i++)
        k.layers_code = k.layers_code * 8 + (uint32_t)layers->layer[i] + 1;
    return k;
}

static size_t crs_index(enum md_crs crs)
{
    return crs == MD_CRS_GCJ02 ? 1 : 0;
}

static unsigned key_mask(uint32_t code)
{
    unsigned mask = 0;
    for (; code; code /= 8)
        mask |= 1u << ((code % 8) - 1);
    return mask;
}

static size_t bucket_of(struct md_tile_id t)
{
    uint64_t h = ((uint64_t)t.z << 50) ^ ((uint64_t)t.x << 25) ^ t.y;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 48) & (NBUCKETS - 1);
}

static bool same_key(const struct md_tile_key *a, const struct md_tile_key *b)
{
    return a->t.z == b->t.z && a->t.x == b->t.x && a->t.y == b->t.y &&
           a->layers_code == b->layers_code && a->crs == b->crs;
}

struct md_tile_cache *md_tile_cache_new(size_t budget)
{
    struct md_tile_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->buckets = calloc(NBUCKETS, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->budget = budget;
    c->seq = -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->sync_lock, NULL);
    return c;
}

void md_tile_cache_free(struct md_tile_cache *c)
{
    if (!c)
        return;
    for (struct md_lru_link *k = c->lru.head, *next; k; k = next) {
        next = k->next;
        struct entry *e = md_lru_entry(k, struct entry, lru);
        free(e->bytes);
        free(e);
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->sync_lock);
    free(c);
}

static size_t entry_size(const struct entry *e)
{
    return sizeof(*e) + e->raw_len + e->gz_len;
}

/* Remove e from the chain (given its predecessor link) and the LRU; free it. */
static void drop_entry(struct md_tile_cache *c, struct entry **link, struct entry *e)
{
    *link = e->hnext;
    md_lru_unlink(&c->lru, &e->lru);
    c->bytes -= entry_size(e);
    c->entries--;
    c->entries_crs[crs_index(e->key.crs)]--;
    free(e->bytes);
    free(e);
}

static void drop_key(struct md_tile_cache *c, const struct md_tile_key *k)
{
    struct entry **link = &c->buckets[bucket_of(k->t)];
    while (*link) {
        if (same_key(&(*link)->key, k)) {
            drop_entry(c, link, *link);
            return;
        }
        link = &(*link)->hnext;
    }
}

/* Tiles of zoom z in `crs` a change touches: its bbox as that CRS draws it
 * plus the buffer, plus the cluster index's reach at cluster zooms (the
 * changed point's tile and its neighbours, whose buffers show that tile's
 * clusters). */
static void change_range(const struct md_tile_cache *c, const struct change *ch, enum md_crs crs,
                         uint32_t z, uint32_t *x0, uint32_t *y0, uint32_t *x1, uint32_t *y1)
{
    uint32_t grow = MD_TILE_BUFFER;
    if ((int)z < c->cluster_below[ch->layer])
        grow += MD_CLUSTER_REACH_UNITS;
    md_tile_range_covering(z, &ch->bbox[crs_index(crs)], MD_TILE_EXTENT, grow, x0, y0, x1, y1);
}

static bool change_touches(const struct md_tile_cache *c, const struct change *ch,
                           const struct md_tile_key *k, unsigned mask)
{
    if (!(mask & (1u << ch->layer)))
        return false;
    uint32_t x0, y0, x1, y1;
    change_range(c, ch, k->crs, k->t.z, &x0, &y0, &x1, &y1);
    return k->t.x >= x0 && k->t.x <= x1 && k->t.y >= y0 && k->t.y <= y1;
}

static void invalidate_tile(struct md_tile_cache *c, struct md_tile_id t, enum md_crs crs,
                            enum md_layer layer)
{
    struct entry **link = &c->buckets[bucket_of(t)];
    while (*link) {
        struct entry *e = *link;
        if (e->key.t.z == t.z && e->key.t.x == t.x && e->key.t.y == t.y && e->key.crs == crs &&
            (e->mask & (1u << layer))) {
            drop_entry(c, link, e);
            c->stats.invalidations++;
        } else {
            link = &e->hnext;
        }
    }
}

static void invalidate_crs(struct md_tile_cache *c, const struct change *ch, enum md_crs crs)
{
    for (uint32_t z = 0; z <= MD_TILE_MAX_ZOOM; z++) {
        uint32_t x0, y0, x1, y1;
        change_range(c, ch, crs, z, &x0, &y0, &x1, &y1);
        uint64_t area = (uint64_t)(x1 - x0 + 1) * (y1 - y0 + 1);
        if (area <= c->entries + 16) {
            for (uint32_t x = x0; x <= x1; x++)
                for (uint32_t y = y0; y <= y1; y++)
                    invalidate_tile(c, (struct md_tile_id){z, x, y}, crs, ch->layer);
            continue;
        }
        /* A large area (a bulk import): walk the entries instead. */
        for (struct md_lru_link *k = c->lru.head, *next; k; k = next) {
            next = k->next;
            struct entry *e = md_lru_entry(k, struct entry, lru);
            if (e->key.t.z == z && e->key.crs == crs && change_touches(c, ch, &e->key, e->mask))
                drop_key(c, &e->key), c->stats.invalidations++;
        }
    }
}

static void invalidate(struct md_tile_cache *c, const struct change *ch)
{
    static const enum md_crs served[MD_TILE_CRS_COUNT] = {MD_CRS_WGS84, MD_CRS_GCJ02};
    for (size_t i = 0; i < MD_TILE_CRS_COUNT; i++) {
        if (c->entries_crs[i])
            invalidate_crs(c, ch, served[i]);
    }
    c->ring[c->ring_next] = *ch;
    c->ring_next = (c->ring_next + 1) % RING;
    if (c->ring_count < RING)
        c->ring_count++;
}

static md_err apply_change(const struct md_change *mc, void *userdata)
{
    struct md_tile_cache *c = userdata;
    struct change ch = {.seq = mc->seq, .layer = mc->layer, .bbox = {mc->bbox}};
    md_tile_crs_bbox_from_wgs84(MD_CRS_GCJ02, &mc->bbox, &ch.bbox[crs_index(MD_CRS_GCJ02)]);
    pthread_mutex_lock(&c->lock);
    invalidate(c, &ch);
    pthread_mutex_unlock(&c->lock);
    return MD_OK;
}

md_err md_tile_cache_sync(struct md_tile_cache *c, struct md_store *s, struct md_ctx *ctx)
{
    int64_t newest = 0;
    md_err rc = md_store_change_seq(s, &newest, ctx);
    if (rc)
        return rc;
    pthread_mutex_lock(&c->lock);
    int64_t seen = c->seq;
    pthread_mutex_unlock(&c->lock);
    if (newest == seen)
        return MD_OK;
    pthread_mutex_lock(&c->sync_lock);
    pthread_mutex_lock(&c->lock);
    seen = c->seq;
    pthread_mutex_unlock(&c->lock);
    if (seen < 0) {
        /* First sync: nothing cached yet; learn the cluster zooms. */
        for (int l = 0; !rc && l < MD_LAYER__COUNT; l++) {
            struct md_layer_info info;
            rc = md_store_layer_info(s, (enum md_layer)l, &info, ctx);
            c->cluster_below[l] = info.cluster_below_zoom;
        }
        seen = newest;
    }
    if (!rc && seen < newest)
        rc = md_store_changes_between(s, seen, newest, apply_change, c, ctx);
    pthread_mutex_lock(&c->lock);
    if (!rc)
        c->seq = newest;
    c->stats.seq = c->seq;
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&c->sync_lock);
    return rc;
}

bool md_tile_cache_get(struct md_tile_cache *c, const struct md_tile_key *k, bool gzip,
                       struct md_buf *out, char etag[24])
{
    bool hit = false;
    pthread_mutex_lock(&c->lock);
    for (struct entry *e = c->buckets[bucket_of(k->t)]; e; e = e->hnext) {
        if (!same_key(&e->key, k))
            continue;
        if (gzip && e->raw_len && !e->gz_len) /* stored before anyone asked for gzip */
            break;
        const unsigned char *p = gzip ? e->bytes + e->raw_len : e->bytes;
        size_t n = gzip ? e->gz_len : e->raw_len;
        if (md_buf_append(out, p, n) == MD_OK) {
            memcpy(etag, e->etag, 24);
            md_lru_unlink(&c->lru, &e->lru);
            md_lru_push_front(&c->lru, &e->lru);
            hit = true;
        }
        break;
    }
    if (hit)
        c->stats.hits++;
    else
        c->stats.misses++;
    pthread_mutex_unlock(&c->lock);
    return hit;
}

/* True when a change newer than `seq` may touch k (or the ring is too short to tell). */
static bool stale(const struct md_tile_cache *c, const struct md_tile_key *k, unsigned mask,
                  int64_t seq)
{
    if (seq >= c->seq)
        return false;
    size_t oldest = (c->ring_next + RING - c->ring_count) % RING;
    if (c->ring_count == 0 || c->ring[oldest].seq > seq + 1)
        return true;
    for (size_t i = 0; i < c->ring_count; i++) {
        const struct change *ch = &c->ring[(oldest + i) % RING];
        if (ch->seq > seq && change_touches(c, ch, k, mask))
            return true;
    }
    return false;
}

void md_tile_cache_put(struct md_tile_cache *c, const struct md_tile_key *k, const void *raw,
                       size_t raw_len, const void *gz, size_t gz_len, const char *etag,
                       int64_t seq)
{
    struct entry *e = calloc(1, sizeof(*e));
    unsigned char *bytes = malloc(raw_len + gz_len + 1);
    if (!e || !bytes || sizeof(*e) + raw_len + gz_len > c->budget / 4) {
        free(e);
        free(bytes);
        return;
    }
    e->key = *k;
    e->mask = key_mask(k->layers_code);
    e->raw_len = raw_len;
    e->gz_len = gz_len;
    e->bytes = bytes;
    if (raw_len)
        memcpy(bytes, raw, raw_len);
    if (gz_len)
        memcpy(bytes + raw_len, gz, gz_len);
    snprintf(e->etag, sizeof(e->etag), "%s", etag);
    pthread_mutex_lock(&c->lock);
    if (c->seq < 0 || stale(c, k, e->mask, seq)) {
        c->stats.skipped_stale++;
        pthread_mutex_unlock(&c->lock);
        free(bytes);
        free(e);
        return;
    }
    drop_key(c, k);
    struct entry **bucket = &c->buckets[bucket_of(k->t)];
    e->hnext = *bucket;
    *bucket = e;
    md_lru_push_front(&c->lru, &e->lru);
    c->bytes += entry_size(e);
    c->entries++;
    c->entries_crs[crs_index(k->crs)]++;
    c->stats.puts++;
    while (c->bytes > c->budget && c->lru.tail) {
        struct entry *victim = md_lru_entry(c->lru.tail, struct entry, lru);
        drop_key(c, &victim->key);
        c->stats.evictions++;
    }
    pthread_mutex_unlock(&c->lock);
}

void md_tile_cache_stats(struct md_tile_cache *c, struct md_tile_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->bytes = c->bytes;
    out->entries = c->entries;
    pthread_mutex_unlock(&c->lock);
}

/* 64-bit multiply-xorshift mix (as in SplitMix64's finalizer). */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void md_tile_etag(const void *bytes, size_t n, char out[24])
{
    md_tile_etag_crs(bytes, n, MD_CRS_WGS84, out);
}

void md_tile_etag_crs(const void *bytes, size_t n, enum md_crs crs, char out[24])
{
    /* Four independent lanes of eight bytes, so the multiplies overlap: an
     * ETag over a 500 KB tile costs a few microseconds. The seed differs
     * per CRS. */
    const unsigned char *p = bytes;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    if (crs != MD_CRS_WGS84)
        seed = mix64(seed ^ (uint64_t)crs);
    uint64_t lane[4] = {seed ^ n, mix64(seed + 1), mix64(seed + 2), mix64(seed + 3)};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * k, 8);
            lane[k] = mix64(lane[k] ^ w) + 0x9E3779B97F4A7C15ull;
        }
    }
    uint64_t h = lane[0];
    for (int k = 1; k < 4; k++)
        h = mix64(h ^ lane[k]) + 0x9E3779B97F4A7C15ull;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = mix64(h ^ w) + 0x9E3779B97F4A7C15ull;
    }
    uint64_t tail = 0;
    if (n > i)
        memcpy(&tail, p + i, n - i);
    h = mix64(h ^ tail ^ ((uint64_t)(n - i) << 56));
    snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}
