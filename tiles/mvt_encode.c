/* mvt_encode.c - Mapbox Vector Tile 2.1 builder (see mvt_encode.h).
 *
 * Features are written straight to the protobuf wire format: this is the hot
 * path, and building protobuf-c message structs per feature would cost an
 * allocation per field. The generated protobuf-c code (vector_tile.pb-c.c)
 * reads tiles back in mvt_decode.c.
 *
 * Wire format used here (field numbers from vector_tile.proto):
 *   Tile    : layers=3 (len)
 *   Layer   : name=1 (len), features=2 (len), keys=3 (len), values=4 (len),
 *             extent=5 (varint), version=15 (varint, always 2)
 *   Feature : id=1 (varint), tags=2 (packed varints), type=3 (varint),
 *             geometry=4 (packed varints)
 *   Value   : string=1 (len), float=2 (fixed32), double=3 (fixed64),
 *             uint=5 (varint), sint=6 (zigzag varint), bool=7 (varint)
 * A field's key byte is (field << 3) | wire type (0 varint, 1 fixed64,
 * 2 length-delimited, 5 fixed32).
 *
 * Per layer the builder keeps three byte streams, each already in its final
 * wire form: the encoded features, the keys (Layer field 3 entries) and the
 * values (Layer field 4 entries), plus two hash tables that map a key or an
 * encoded value to its index. Serializing is then a few memcpy's per layer.
 *
 * Invariants:
 * - A feature's tags and geometry are collected in scratch arrays shared by
 *   all features, and encoded into the layer on md_mvt_feature_end().
 * - Keys and values added by a feature are rolled back when it is dropped;
 *   hash chains are pushed at the head, so the newest entries are always the
 *   first of their chain and rollback pops them in reverse order.
 * - A layer that ends with no feature is unlinked and never written.
 */
#include "mvt_encode.h"

#include <math.h>
#include <string.h>

#define VARINT_MAX 10
/* Largest command count: the count is a 29-bit field of the command integer. */
#define CMD_COUNT_MAX ((UINT32_C(1) << (32 - MD_MVT_CMD_BITS)) - 1)
/* Property positions whose last key is remembered per layer. */
#define KEY_CACHE 16
/* Coordinates beyond this are rejected before any int64 arithmetic. */
#define COORD_LIMIT 4.0e15

/* Field keys, (field << 3) | wire type. */
enum {
    KEY_TILE_LAYERS = (3 << 3) | 2,
    KEY_LAYER_NAME = (1 << 3) | 2,
    KEY_LAYER_FEATURES = (2 << 3) | 2,
    KEY_LAYER_KEYS = (3 << 3) | 2,
    KEY_LAYER_VALUES = (4 << 3) | 2,
    KEY_LAYER_EXTENT = (5 << 3) | 0,
    KEY_LAYER_VERSION = (15 << 3) | 0,
    KEY_FEATURE_ID = (1 << 3) | 0,
    KEY_FEATURE_TAGS = (2 << 3) | 2,
    KEY_FEATURE_TYPE = (3 << 3) | 0,
    KEY_FEATURE_GEOMETRY = (4 << 3) | 2,
    KEY_VALUE_STRING = (1 << 3) | 2,
    KEY_VALUE_FLOAT = (2 << 3) | 5,
    KEY_VALUE_DOUBLE = (3 << 3) | 1,
    KEY_VALUE_UINT = (5 << 3) | 0,
    KEY_VALUE_SINT = (6 << 3) | 0,
    KEY_VALUE_BOOL = (7 << 3) | 0,
};

/* A byte or uint32 array growing by doubling inside the pool. */
struct bytes {
    uint8_t *data;
    size_t len, cap;
};

struct words {
    uint32_t *data;
    size_t len, cap;
};

/* One dictionary entry (a key or a value); its bytes live in the layer's
 * keys/values stream at [at, at + len). */
struct dict_entry {
    uint64_t hash;
    size_t at;
    uint32_t len;
    uint32_t next;         /* index + 1 of the next entry in the chain, 0 = end */
    uint64_t last_feature; /* keys: serial of the last feature that used it */
};

struct dict {
    struct dict_entry *entries;
    uint32_t count, cap;
    uint32_t *buckets; /* index + 1 of the chain head, 0 = empty; nbuckets is 2^k */
    uint32_t nbuckets;
};

struct mvt_layer {
    struct mvt_layer *next;
    const char *name;
    size_t name_len;
    uint32_t extent;
    size_t feature_count;
    struct bytes features; /* Layer field 2 entries */
    struct bytes keys;     /* Layer field 3 entries */
    struct bytes values;   /* Layer field 4 entries */
    struct dict key_dict, value_dict;
    uint32_t key_cache[KEY_CACHE]; /* key index + 1 last seen at each property position */
};

struct md_mvt {
    struct md_pool *pool;
    struct md_ctx own_ctx;
    struct md_ctx *user_ctx;
    struct mvt_layer *layers, *last_layer; /* written layers, in order */
    struct mvt_layer *layer;               /* open layer, not yet linked */
    size_t feature_count;

    /* the open feature */
    bool in_feature;
    uint64_t feature_serial;
    uint64_t id;
    enum md_mvt_geom_type type;
    struct words tags;
    struct words geom;
    size_t point_cmd_at; /* POINT features: index of the MoveTo command */
    uint32_t point_count;
    int64_t cur_x, cur_y; /* the geometry cursor (spec 4.3.1) */
    uint32_t keys_mark, values_mark;
    size_t keys_len_mark, values_len_mark;

    double *coords; /* scratch for one coordinate sequence, as x,y pairs */
    size_t coords_cap;
    int64_t *ring; /* scratch for one rounded, de-duplicated part */
    size_t ring_cap;
};

/* ---- errors ---- */

static md_err fail(struct md_mvt *t, md_err err, const char *fmt, ...) MD_PRINTF(3, 4);

static md_err fail(struct md_mvt *t, md_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    md_ctx_clear(&t->own_ctx); /* own_ctx keeps the latest failure */
    md_vfail(&t->own_ctx, err, fmt, ap);
    va_end(ap);
    if (t->user_ctx)
        md_fail(t->user_ctx, err, "%s", t->own_ctx.msg);
    return err;
}

static md_err oom(struct md_mvt *t)
{
    return fail(t, MD_ENOMEM, "tile memory pool exhausted");
}

/* ---- growable arrays in the pool ---- */

static bool grow(struct md_pool *pool, void **data, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return false;
        ncap *= 2;
    }
    void *p = md_pool_alloc(pool, ncap * elem);
    if (!p)
        return false;
    if (*data && *cap)
        memcpy(p, *data, *cap * elem);
    *data = p;
    *cap = ncap;
    return true;
}

static bool bytes_reserve(struct md_pool *pool, struct bytes *b, size_t extra)
{
    void *data = b->data;
    bool ok = grow(pool, &data, &b->cap, b->len + extra, 1);
    b->data = data;
    return ok;
}

static bool words_push(struct md_pool *pool, struct words *w, uint32_t v)
{
    if (w->len == w->cap) {
        void *data = w->data;
        if (!grow(pool, &data, &w->cap, w->len + 1, sizeof(uint32_t)))
            return false;
        w->data = data;
    }
    w->data[w->len++] = v;
    return true;
}

/* ---- varints ---- */

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* ZigZag (spec 4.3.2): small negative numbers become small unsigned ones,
 * 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3 ... */
static uint32_t zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static uint64_t zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static uint32_t command(uint32_t id, uint32_t count)
{
    return (id & 0x7) | (count << MD_MVT_CMD_BITS);
}

/* ---- dictionaries ---- */

/* A multiply-xorshift hash over 8-byte words (the keys and values of a
 * tile are short strings and numbers; a byte-at-a-time hash was a third of
 * the cost of a point feature). Not for untrusted-collision resistance:
 * chains only slow down, never break, on collisions. */
static uint64_t hash_bytes(uint64_t h, const void *bytes, size_t n)
{
    const uint64_t mul = UINT64_C(0x9E3779B97F4A7C15);
    const uint8_t *p = bytes;
    uint64_t w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * mul;
        h ^= h >> 32;
    }
    w = (uint64_t)n << 56;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)p[i] << (8 * i);
    h = (h ^ w) * mul;
    return h ^ (h >> 29);
}

#define HASH_SEED UINT64_C(14695981039346656037)

static bool dict_rehash(struct md_pool *pool, struct dict *d, uint32_t nbuckets)
{
    uint32_t *buckets = md_pool_calloc(pool, nbuckets, sizeof(uint32_t));
    if (!buckets)
        return false;
    /* Oldest first, so that newer entries end up ahead in their chains. */
    for (uint32_t i = 0; i < d->count; i++) {
        struct dict_entry *e = &d->entries[i];
        uint32_t b = (uint32_t)(e->hash & (nbuckets - 1));
        e->next = buckets[b];
        buckets[b] = i + 1;
    }
    d->buckets = buckets;
    d->nbuckets = nbuckets;
    return true;
}

static struct dict_entry *dict_find(const struct dict *d, const struct bytes *stream, uint64_t hash,
                                    const void *bytes, size_t n)
{
    if (!d->nbuckets)
        return NULL;
    uint32_t i = d->buckets[hash & (d->nbuckets - 1)];
    while (i) {
        struct dict_entry *e = &d->entries[i - 1];
        if (e->hash == hash && e->len == n && memcmp(stream->data + e->at, bytes, n) == 0)
            return e;
        i = e->next;
    }
    return NULL;
}

/* Append an entry for bytes already written to the stream at [at, at + n). */
static struct dict_entry *dict_add(struct md_pool *pool, struct dict *d, uint64_t hash, size_t at,
                                   size_t n)
{
    if (d->count == UINT32_MAX - 1)
        return NULL;
    if (d->count == d->cap) {
        void *data = d->entries;
        size_t cap = d->cap;
        if (!grow(pool, &data, &cap, (size_t)d->count + 1, sizeof(struct dict_entry)))
            return NULL;
        d->entries = data;
        d->cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    }
    if (d->count + 1 > d->nbuckets / 2 + d->nbuckets / 4 &&
        !dict_rehash(pool, d, d->nbuckets ? d->nbuckets * 2 : 64))
        return NULL;
    struct dict_entry *e = &d->entries[d->count];
    e->hash = hash;
    e->at = at;
    e->len = (uint32_t)n;
    e->last_feature = 0;
    uint32_t b = (uint32_t)(hash & (d->nbuckets - 1));
    e->next = d->buckets[b];
    d->buckets[b] = ++d->count;
    return e;
}

/* Drop the entries added after `mark` (newest first; each is its chain's head). */
static void dict_rollback(struct dict *d, uint32_t mark)
{
    while (d->count > mark) {
        struct dict_entry *e = &d->entries[d->count - 1];
        d->buckets[e->hash & (d->nbuckets - 1)] = e->next;
        d->count--;
    }
}

/* ---- builder ---- */

struct md_mvt *md_mvt_new(struct md_pool *pool)
{
    if (!pool)
        return NULL;
    struct md_mvt *t = md_pool_calloc(pool, 1, sizeof(*t));
    if (!t)
        return NULL;
    t->pool = pool;
    md_ctx_init(&t->own_ctx);
    return t;
}

void md_mvt_set_ctx(struct md_mvt *t, struct md_ctx *ctx)
{
    t->user_ctx = ctx;
}

const char *md_mvt_message(const struct md_mvt *t)
{
    return md_ctx_message(&t->own_ctx);
}

size_t md_mvt_feature_count(const struct md_mvt *t)
{
    return t ? t->feature_count : 0;
}

/* Close the open layer: link it when it kept a feature, forget it otherwise. */
static void layer_end(struct md_mvt *t)
{
    struct mvt_layer *l = t->layer;
    t->layer = NULL;
    if (!l || l->feature_count == 0)
        return;
    if (t->last_layer)
        t->last_layer->next = l;
    else
        t->layers = l;
    t->last_layer = l;
}

md_err md_mvt_layer(struct md_mvt *t, const char *name, uint32_t extent)
{
    if (!t)
        return MD_EINVAL;
    md_err rc = md_mvt_feature_end(t);
    if (rc)
        return rc;
    layer_end(t);
    if (!name || !name[0])
        return fail(t, MD_EINVAL, "layer name is empty");
    if (extent == 0)
        return fail(t, MD_EINVAL, "layer \"%s\": extent must be > 0", name);
    for (const struct mvt_layer *l = t->layers; l; l = l->next)
        if (strcmp(l->name, name) == 0)
            return fail(t, MD_EINVAL, "layer \"%s\" is already in the tile", name);
    struct mvt_layer *l = md_pool_calloc(t->pool, 1, sizeof(*l));
    if (!l)
        return oom(t);
    l->name_len = strlen(name);
    l->name = md_pool_strndup(t->pool, name, l->name_len);
    if (!l->name)
        return oom(t);
    l->extent = extent;
    t->layer = l;
    return MD_OK;
}

md_err md_mvt_feature(struct md_mvt *t, uint64_t id, enum md_mvt_geom_type type)
{
    if (!t)
        return MD_EINVAL;
    md_err rc = md_mvt_feature_end(t);
    if (rc)
        return rc;
    if (!t->layer)
        return fail(t, MD_EINVAL, "feature %llu: no layer started", (unsigned long long)id);
    if (type != MD_MVT_POINT && type != MD_MVT_LINESTRING && type != MD_MVT_POLYGON)
        return fail(t, MD_EINVAL, "feature %llu: geometry type %d is not 1, 2 or 3",
                    (unsigned long long)id, (int)type);
    t->in_feature = true;
    t->feature_serial++;
    t->id = id;
    t->type = type;
    t->tags.len = 0;
    t->geom.len = 0;
    t->point_count = 0;
    t->cur_x = t->cur_y = 0;
    t->keys_mark = t->layer->key_dict.count;
    t->values_mark = t->layer->value_dict.count;
    t->keys_len_mark = t->layer->keys.len;
    t->values_len_mark = t->layer->values.len;
    return MD_OK;
}

/* Write the open feature as a Layer field 2 entry. */
static md_err feature_write(struct md_mvt *t)
{
    struct mvt_layer *l = t->layer;
    size_t tags_size = 0, geom_size = 0;
    for (size_t i = 0; i < t->tags.len; i++)
        tags_size += varint_size(t->tags.data[i]);
    for (size_t i = 0; i < t->geom.len; i++)
        geom_size += varint_size(t->geom.data[i]);
    size_t body = 1 + varint_size(t->id) + 1 + 1 + 1 + varint_size(geom_size) + geom_size;
    if (t->tags.len)
        body += 1 + varint_size(tags_size) + tags_size;
    if (!bytes_reserve(t->pool, &l->features, 1 + varint_size(body) + body))
        return oom(t);

    uint8_t *p = l->features.data + l->features.len;
    *p++ = KEY_LAYER_FEATURES;
    p = put_varint(p, body);
    *p++ = KEY_FEATURE_ID;
    p = put_varint(p, t->id);
    if (t->tags.len) {
        *p++ = KEY_FEATURE_TAGS;
        p = put_varint(p, tags_size);
        for (size_t i = 0; i < t->tags.len; i++)
            p = put_varint(p, t->tags.data[i]);
    }
    *p++ = KEY_FEATURE_TYPE;
    *p++ = (uint8_t)t->type;
    *p++ = KEY_FEATURE_GEOMETRY;
    p = put_varint(p, geom_size);
    for (size_t i = 0; i < t->geom.len; i++)
        p = put_varint(p, t->geom.data[i]);
    l->features.len = (size_t)(p - l->features.data);
    l->feature_count++;
    t->feature_count++;
    return MD_OK;
}

md_err md_mvt_feature_end(struct md_mvt *t)
{
    if (!t)
        return MD_EINVAL;
    if (!t->in_feature)
        return MD_OK;
    t->in_feature = false;
    if (t->type == MD_MVT_POINT && t->point_count)
        t->geom.data[t->point_cmd_at] = command(MD_MVT_CMD_MOVE_TO, t->point_count);
    if (t->geom.len)
        return feature_write(t);
    /* Dropped: forget the keys and values only this feature added. */
    struct mvt_layer *l = t->layer;
    dict_rollback(&l->key_dict, t->keys_mark);
    dict_rollback(&l->value_dict, t->values_mark);
    l->keys.len = t->keys_len_mark;
    l->values.len = t->values_len_mark;
    return MD_OK;
}

/* ---- geometry ---- */

static const char *type_name(enum md_mvt_geom_type type)
{
    return type == MD_MVT_POINT ? "POINT" : type == MD_MVT_LINESTRING ? "LINESTRING" : "POLYGON";
}

static md_err need_feature(struct md_mvt *t, const char *what)
{
    if (!t->in_feature)
        return fail(t, MD_EINVAL, "%s outside a feature", what);
    return MD_OK;
}

/* Append the parameters of a move from the cursor to (x, y). */
static md_err put_delta(struct md_mvt *t, int64_t x, int64_t y)
{
    int64_t dx = x - t->cur_x, dy = y - t->cur_y;
    if (dx < INT32_MIN || dx > INT32_MAX || dy < INT32_MIN || dy > INT32_MAX)
        return fail(t, MD_EINVAL, "feature %llu: move of (%lld,%lld) does not fit in 32 bits",
                    (unsigned long long)t->id, (long long)dx, (long long)dy);
    if (!words_push(t->pool, &t->geom, zigzag32((int32_t)dx)) ||
        !words_push(t->pool, &t->geom, zigzag32((int32_t)dy)))
        return oom(t);
    t->cur_x = x;
    t->cur_y = y;
    return MD_OK;
}

static md_err point_add(struct md_mvt *t, int64_t x, int64_t y)
{
    if (t->point_count == CMD_COUNT_MAX)
        return fail(t, MD_EINVAL, "feature %llu: too many points", (unsigned long long)t->id);
    if (t->point_count == 0) {
        t->point_cmd_at = t->geom.len;
        if (!words_push(t->pool, &t->geom, 0)) /* patched in md_mvt_feature_end */
            return oom(t);
    }
    md_err rc = put_delta(t, x, y);
    if (rc)
        return rc;
    t->point_count++;
    return MD_OK;
}

md_err md_mvt_point(struct md_mvt *t, int32_t x, int32_t y)
{
    if (!t)
        return MD_EINVAL;
    md_err rc = need_feature(t, "point");
    if (rc)
        return rc;
    if (t->type != MD_MVT_POINT)
        return fail(t, MD_EINVAL, "feature %llu: point added to a %s feature",
                    (unsigned long long)t->id, type_name(t->type));
    size_t geom_len = t->geom.len;
    rc = point_add(t, x, y);
    if (rc && t->point_count == 0)
        t->geom.len = geom_len; /* take back the MoveTo placeholder */
    return rc;
}

/* Load a coordinate sequence, rounded, into t->ring as x,y pairs, dropping
 * consecutive repeats (and, for rings, the closing point). *n = points kept. */
static md_err load_part(struct md_mvt *t, GEOSContextHandle_t h, const GEOSGeometry *g, bool ring,
                        size_t *n)
{
    const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(h, g);
    unsigned int size = 0;
    *n = 0;
    if (!seq || !GEOSCoordSeq_getSize_r(h, seq, &size))
        return fail(t, MD_EGEOS, "feature %llu: cannot read coordinates",
                    (unsigned long long)t->id);
    if (size == 0)
        return MD_OK;
    void *coords = t->coords, *pts = t->ring;
    if (!grow(t->pool, &coords, &t->coords_cap, (size_t)size * 2, sizeof(double)) ||
        !grow(t->pool, &pts, &t->ring_cap, (size_t)size * 2, sizeof(int64_t)))
        return oom(t);
    t->coords = coords;
    t->ring = pts;
    if (!GEOSCoordSeq_copyToBuffer_r(h, seq, t->coords, 0, 0))
        return fail(t, MD_EGEOS, "feature %llu: cannot read coordinates",
                    (unsigned long long)t->id);
    size_t kept = 0;
    for (unsigned int i = 0; i < size; i++) {
        double x = nearbyint(t->coords[2 * i]), y = nearbyint(t->coords[2 * i + 1]);
        if (!(fabs(x) <= COORD_LIMIT && fabs(y) <= COORD_LIMIT))
            return fail(t, MD_EINVAL, "feature %llu: coordinate (%g,%g) is not usable",
                        (unsigned long long)t->id, x, y);
        int64_t ix = (int64_t)x, iy = (int64_t)y;
        if (kept && t->ring[2 * kept - 2] == ix && t->ring[2 * kept - 1] == iy)
            continue;
        t->ring[2 * kept] = ix;
        t->ring[2 * kept + 1] = iy;
        kept++;
    }
    if (ring && kept > 1 && t->ring[0] == t->ring[2 * kept - 2] &&
        t->ring[1] == t->ring[2 * kept - 1])
        kept--;
    *n = kept;
    return MD_OK;
}

/* Twice the signed area of t->ring by the surveyor's formula, in tile space
 * (positive = clockwise on a y-down screen = exterior ring in MVT). */
static double ring_area2(const int64_t *pts, size_t n)
{
    double sum = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++)
        sum += (double)pts[2 * j] * (double)pts[2 * i + 1] -
               (double)pts[2 * i] * (double)pts[2 * j + 1];
    return sum;
}

/* Emit t->ring (n points): MoveTo(1), LineTo(n-1), and ClosePath for rings;
 * reversed when `reverse`. */
static md_err emit_part(struct md_mvt *t, size_t n, bool ring, bool reverse)
{
    md_err rc = MD_OK;
    if (n - 1 > CMD_COUNT_MAX)
        return fail(t, MD_EINVAL, "feature %llu: part has too many vertices",
                    (unsigned long long)t->id);
    for (size_t k = 0; k < n; k++) {
        size_t i = reverse ? (k == 0 ? 0 : n - k) : k; /* reversed ring keeps its start */
        if (k == 0 && !words_push(t->pool, &t->geom, command(MD_MVT_CMD_MOVE_TO, 1)))
            return oom(t);
        if (k == 1 &&
            !words_push(t->pool, &t->geom, command(MD_MVT_CMD_LINE_TO, (uint32_t)(n - 1))))
            return oom(t);
        rc = put_delta(t, t->ring[2 * i], t->ring[2 * i + 1]);
        if (rc)
            return rc;
    }
    if (ring && !words_push(t->pool, &t->geom, command(MD_MVT_CMD_CLOSE_PATH, 1)))
        return oom(t);
    return MD_OK;
}

static md_err geom_line(struct md_mvt *t, GEOSContextHandle_t h, const GEOSGeometry *g)
{
    size_t n;
    md_err rc = load_part(t, h, g, false, &n);
    if (rc || n < 2)
        return rc;
    return emit_part(t, n, false, false);
}

static md_err geom_polygon(struct md_mvt *t, GEOSContextHandle_t h, const GEOSGeometry *g)
{
    size_t n;
    const GEOSGeometry *shell = GEOSGetExteriorRing_r(h, g);
    int holes = GEOSGetNumInteriorRings_r(h, g);
    if (!shell || holes < 0)
        return fail(t, MD_EGEOS, "feature %llu: cannot read polygon rings",
                    (unsigned long long)t->id);
    md_err rc = load_part(t, h, shell, true, &n);
    if (rc || n < 3)
        return rc;
    double area = ring_area2(t->ring, n);
    if (area == 0)
        return MD_OK;
    rc = emit_part(t, n, true, area < 0);
    for (int i = 0; !rc && i < holes; i++) {
        const GEOSGeometry *hole = GEOSGetInteriorRingN_r(h, g, i);
        if (!hole)
            return fail(t, MD_EGEOS, "feature %llu: cannot read polygon rings",
                        (unsigned long long)t->id);
        rc = load_part(t, h, hole, true, &n);
        if (rc || n < 3)
            continue;
        area = ring_area2(t->ring, n);
        if (area != 0)
            rc = emit_part(t, n, true, area > 0);
    }
    return rc;
}

static md_err geom_points(struct md_mvt *t, GEOSContextHandle_t h, const GEOSGeometry *g)
{
    size_t n;
    md_err rc = load_part(t, h, g, false, &n);
    /* A point is a one-coordinate sequence; n is 0 only for an empty point. */
    if (!rc && n == 1)
        rc = point_add(t, t->ring[0], t->ring[1]);
    return rc;
}

static md_err geom_walk(struct md_mvt *t, GEOSContextHandle_t h, const GEOSGeometry *g, int depth)
{
    int kind = GEOSGeomTypeId_r(h, g);
    enum md_mvt_geom_type want;
    switch (kind) {
    case GEOS_POINT:
    case GEOS_MULTIPOINT:
        want = MD_MVT_POINT;
        break;
    case GEOS_LINESTRING:
    case GEOS_LINEARRING:
    case GEOS_MULTILINESTRING:
        want = MD_MVT_LINESTRING;
        break;
    case GEOS_POLYGON:
    case GEOS_MULTIPOLYGON:
        want = MD_MVT_POLYGON;
        break;
    case GEOS_GEOMETRYCOLLECTION:
        want = t->type;
        break;
    default:
        return fail(t, MD_EGEOS, "feature %llu: unknown geometry kind %d",
                    (unsigned long long)t->id, kind);
    }
    if (want != t->type)
        return fail(t, MD_EINVAL, "feature %llu: %s geometry in a %s feature",
                    (unsigned long long)t->id, type_name(want), type_name(t->type));
    if (GEOSisEmpty_r(h, g) == 1)
        return MD_OK;
    switch (kind) {
    case GEOS_POINT:
        return geom_points(t, h, g);
    case GEOS_LINESTRING:
    case GEOS_LINEARRING:
        return geom_line(t, h, g);
    case GEOS_POLYGON:
        return geom_polygon(t, h, g);
    default:
        break;
    }
    if (depth > 8)
        return fail(t, MD_EINVAL, "feature %llu: collections nested too deep",
                    (unsigned long long)t->id);
    int parts = GEOSGetNumGeometries_r(h, g);
    for (int i = 0; i < parts; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
        if (!part)
            return fail(t, MD_EGEOS, "feature %llu: cannot read part %d", (unsigned long long)t->id,
                        i);
        md_err rc = geom_walk(t, h, part, depth + 1);
        if (rc)
            return rc;
    }
    return MD_OK;
}

md_err md_mvt_geom_geos(struct md_mvt *t, GEOSContextHandle_t h, const GEOSGeometry *g)
{
    if (!t)
        return MD_EINVAL;
    md_err rc = need_feature(t, "geometry");
    if (rc)
        return rc;
    if (!h || !g)
        return fail(t, MD_EINVAL, "feature %llu: NULL geometry", (unsigned long long)t->id);
    size_t geom_len = t->geom.len;
    uint32_t point_count = t->point_count;
    size_t point_cmd_at = t->point_cmd_at;
    int64_t cur_x = t->cur_x, cur_y = t->cur_y;
    rc = geom_walk(t, h, g, 0);
    if (rc) {
        t->geom.len = geom_len;
        t->point_count = point_count;
        t->point_cmd_at = point_cmd_at;
        t->cur_x = cur_x;
        t->cur_y = cur_y;
    }
    return rc;
}

/* ---- properties ---- */

/* Index of `key` in the layer's keys, adding it when new. */
/* The layer's key whose bytes are the NUL-terminated `key`, if entry i+1. */
static struct dict_entry *key_if_equal(struct mvt_layer *l, uint32_t i, const char *key)
{
    if (i == 0 || i > l->key_dict.count)
        return NULL;
    struct dict_entry *e = &l->key_dict.entries[i - 1];
    const uint8_t *k = l->keys.data + e->at;
    /* strncmp stops at key's NUL, so a shorter key is never over-read. */
    return strncmp((const char *)k, key, e->len) == 0 && key[e->len] == '\0' ? e : NULL;
}

static md_err key_index(struct md_mvt *t, const char *key, uint32_t *index)
{
    struct mvt_layer *l = t->layer;
    /* Features of a layer mostly give the same keys in the same order: try
     * the key this property position had last time before hashing. */
    uint32_t pos = t->tags.len / 2;
    struct dict_entry *e = pos < KEY_CACHE ? key_if_equal(l, l->key_cache[pos], key) : NULL;
    size_t n = e ? e->len : strlen(key);
    uint64_t hash = e ? e->hash : hash_bytes(HASH_SEED, key, n);
    if (!e)
        e = dict_find(&l->key_dict, &l->keys, hash, key, n);
    if (!e) {
        if (n > UINT32_MAX || !bytes_reserve(t->pool, &l->keys, 1 + VARINT_MAX + n))
            return oom(t);
        uint8_t *p = l->keys.data + l->keys.len;
        *p++ = KEY_LAYER_KEYS;
        p = put_varint(p, n);
        memcpy(p, key, n);
        l->keys.len = (size_t)(p - l->keys.data) + n;
        e = dict_add(t->pool, &l->key_dict, hash, (size_t)(p - l->keys.data), n);
        if (!e)
            return oom(t);
    }
    if (e->last_feature == t->feature_serial)
        return fail(t, MD_EINVAL, "feature %llu: property \"%s\" given twice",
                    (unsigned long long)t->id, key);
    e->last_feature = t->feature_serial;
    *index = (uint32_t)(e - l->key_dict.entries);
    if (pos < KEY_CACHE)
        l->key_cache[pos] = *index + 1;
    return MD_OK;
}

/* Index of a Value whose single field is `field_key` followed by `payload`
 * (already in wire form, with the length prefix for strings). The dictionary
 * keys on the whole Value message, so 1 (uint) and 1.0 (double) differ. */
static md_err value_index(struct md_mvt *t, const uint8_t *head, size_t head_len, const void *tail,
                          size_t tail_len, uint32_t *index)
{
    struct mvt_layer *l = t->layer;
    size_t n = head_len + tail_len;
    uint64_t hash = hash_bytes(hash_bytes(HASH_SEED, head, head_len), tail, tail_len);
    struct dict_entry *e = NULL;
    if (l->value_dict.nbuckets) {
        uint32_t i = l->value_dict.buckets[hash & (l->value_dict.nbuckets - 1)];
        while (i && !e) {
            struct dict_entry *c = &l->value_dict.entries[i - 1];
            const uint8_t *s = l->values.data + c->at;
            if (c->hash == hash && c->len == n && memcmp(s, head, head_len) == 0 &&
                (tail_len == 0 || memcmp(s + head_len, tail, tail_len) == 0))
                e = c;
            i = c->next;
        }
    }
    if (!e) {
        if (n > UINT32_MAX || !bytes_reserve(t->pool, &l->values, 1 + VARINT_MAX + n))
            return oom(t);
        uint8_t *p = l->values.data + l->values.len;
        *p++ = KEY_LAYER_VALUES;
        p = put_varint(p, n);
        size_t at = (size_t)(p - l->values.data);
        memcpy(p, head, head_len);
        if (tail_len)
            memcpy(p + head_len, tail, tail_len);
        l->values.len = at + n;
        e = dict_add(t->pool, &l->value_dict, hash, at, n);
        if (!e)
            return oom(t);
    }
    *index = (uint32_t)(e - l->value_dict.entries);
    return MD_OK;
}

static md_err prop_add(struct md_mvt *t, const char *key, const uint8_t *head, size_t head_len,
                       const void *tail, size_t tail_len)
{
    md_err rc = need_feature(t, "property");
    if (rc)
        return rc;
    if (!key || !key[0])
        return fail(t, MD_EINVAL, "feature %llu: property key is empty", (unsigned long long)t->id);
    uint32_t k = 0, v = 0;
    rc = key_index(t, key, &k);
    if (!rc)
        rc = value_index(t, head, head_len, tail, tail_len, &v);
    if (rc)
        return rc;
    if (!words_push(t->pool, &t->tags, k) || !words_push(t->pool, &t->tags, v))
        return oom(t);
    return MD_OK;
}

md_err md_mvt_prop_str(struct md_mvt *t, const char *key, const char *val)
{
    if (!t)
        return MD_EINVAL;
    if (!val)
        return fail(t, MD_EINVAL, "property \"%s\": NULL string", key ? key : "");
    return md_mvt_prop_strn(t, key, val, strlen(val));
}

md_err md_mvt_prop_strn(struct md_mvt *t, const char *key, const char *val, size_t n)
{
    if (!t)
        return MD_EINVAL;
    if (!val)
        return fail(t, MD_EINVAL, "property \"%s\": NULL string", key ? key : "");
    uint8_t head[1 + VARINT_MAX];
    head[0] = KEY_VALUE_STRING;
    size_t head_len = (size_t)(put_varint(head + 1, n) - head);
    return prop_add(t, key, head, head_len, val, n);
}

static md_err prop_varint(struct md_mvt *t, const char *key, uint8_t field_key, uint64_t v)
{
    uint8_t head[1 + VARINT_MAX];
    head[0] = field_key;
    size_t head_len = (size_t)(put_varint(head + 1, v) - head);
    return prop_add(t, key, head, head_len, NULL, 0);
}

md_err md_mvt_prop_int(struct md_mvt *t, const char *key, int64_t v)
{
    if (!t)
        return MD_EINVAL;
    if (v >= 0)
        return prop_varint(t, key, KEY_VALUE_UINT, (uint64_t)v);
    return prop_varint(t, key, KEY_VALUE_SINT, zigzag64(v));
}

md_err md_mvt_prop_uint(struct md_mvt *t, const char *key, uint64_t v)
{
    if (!t)
        return MD_EINVAL;
    return prop_varint(t, key, KEY_VALUE_UINT, v);
}

md_err md_mvt_prop_bool(struct md_mvt *t, const char *key, bool v)
{
    if (!t)
        return MD_EINVAL;
    return prop_varint(t, key, KEY_VALUE_BOOL, v ? 1 : 0);
}

md_err md_mvt_prop_double(struct md_mvt *t, const char *key, double v)
{
    if (!t)
        return MD_EINVAL;
    uint8_t head[1 + 8];
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    head[0] = KEY_VALUE_DOUBLE;
    for (int i = 0; i < 8; i++) /* fixed64 is little-endian */
        head[1 + i] = (uint8_t)(bits >> (8 * i));
    return prop_add(t, key, head, sizeof(head), NULL, 0);
}

md_err md_mvt_prop_float(struct md_mvt *t, const char *key, float v)
{
    if (!t)
        return MD_EINVAL;
    uint8_t head[1 + 4];
    uint32_t bits;
    memcpy(&bits, &v, sizeof(bits));
    head[0] = KEY_VALUE_FLOAT;
    for (int i = 0; i < 4; i++) /* fixed32 is little-endian */
        head[1 + i] = (uint8_t)(bits >> (8 * i));
    return prop_add(t, key, head, sizeof(head), NULL, 0);
}

/* ---- serialization ---- */

static size_t layer_body_size(const struct mvt_layer *l)
{
    return 1 + varint_size(l->name_len) + l->name_len + l->features.len + l->keys.len +
           l->values.len + 1 + varint_size(l->extent) + 1 + 1;
}

md_err md_mvt_serialize(struct md_mvt *t, struct md_buf *out)
{
    if (!t || !out)
        return MD_EINVAL;
    md_err rc = md_mvt_feature_end(t);
    if (rc)
        return rc;
    layer_end(t);

    size_t total = 0;
    for (const struct mvt_layer *l = t->layers; l; l = l->next) {
        size_t body = layer_body_size(l);
        total += 1 + varint_size(body) + body;
    }
    if (total == 0)
        return MD_OK;
    rc = md_buf_reserve(out, total);
    if (rc)
        return fail(t, rc, "tile of %zu bytes exceeds the limit of %zu", total, out->max);

    uint8_t *start = (uint8_t *)out->data + out->len, *p = start;
    for (const struct mvt_layer *l = t->layers; l; l = l->next) {
        *p++ = KEY_TILE_LAYERS;
        p = put_varint(p, layer_body_size(l));
        *p++ = KEY_LAYER_NAME;
        p = put_varint(p, l->name_len);
        memcpy(p, l->name, l->name_len);
        p += l->name_len;
        memcpy(p, l->features.data, l->features.len);
        p += l->features.len;
        if (l->keys.len)
            memcpy(p, l->keys.data, l->keys.len);
        p += l->keys.len;
        if (l->values.len)
            memcpy(p, l->values.data, l->values.len);
        p += l->values.len;
        *p++ = KEY_LAYER_EXTENT;
        p = put_varint(p, l->extent);
        *p++ = KEY_LAYER_VERSION;
        *p++ = MD_MVT_VERSION;
    }
    out->len += (size_t)(p - start);
    out->data[out->len] = '\0';
    return MD_OK;
}
