/* cluster_index.c - per-zoom cells of the point layers, and how a tile's
 * clusters are made from them (see cluster_index.h).
 *
 * Layout per point layer: an open-addressing map id -> point (its Web
 * Mercator position in [0,1)^2, category, supporters), and per zoom a map
 * cell -> struct cell plus a map tile -> the cells of that tile and the
 * tile's clusters (a memo, dropped whenever one of its cells changes). A
 * build counts the points at the finest cluster zoom, sums each coarser
 * zoom from the next finer one, then lays each zoom's cells out tile by
 * tile in one block. Cells are never removed: one that empties keeps
 * n = 0 and is skipped.
 *
 * Merge rule - supercluster's greedy pass, over the cells of one tile:
 * cells in rank order (more points first, then the smaller cell key); a
 * cell not yet taken roots a cluster and takes every free cell of the
 * tile whose mean lies within MD_CLUSTER_RADIUS_UNITS of its own. A
 * cluster's position is its points' mean, clamped into the tile. Nothing
 * depends on which tile asks, so a cluster near a border is the same in
 * both tiles (the neighbour shows it in its buffer), and no cluster mixes
 * the points of two tiles: the clusters placed in a tile's extent hold
 * exactly its points.
 *
 * Reach (for invalidation): a change anywhere in tile T can re-run T's
 * greedy pass, and T's clusters show in T and in its 8 neighbours'
 * buffers - so the tiles within one tile of the change
 * (MD_CLUSTER_REACH_UNITS = one extent) and no others.
 */
#include "cluster_index.h"
#include "tile_crs.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELLS (1 << MD_CLUSTER_CELL_SHIFT)
#define NPOINT_LAYERS 2 /* facilities, reports */

struct cat_count {
    uint32_t cat;
    int32_t n;
};

struct cell {
    uint64_t key; /* cx << 32 | cy at level z + MD_CLUSTER_CELL_SHIFT */
    int64_t n, supporters;
    double sx, sy;          /* sums of the points' Mercator positions in [0,1) */
    struct cat_count *cats; /* in the grid's slab while `slab` */
    uint32_t ncats, capcats;
    uint32_t tile; /* index in grid.tiles */
    bool slab;
};

/* One cluster of a tile, as the tile's memo keeps it. */
struct memo_cluster {
    uint64_t id;
    int32_t x, y; /* in its own tile, clamped into the extent */
    int64_t n, supporters;
    uint32_t cats, ncats; /* range of memo.cats (code ids, ascending by code) */
    uint32_t top;         /* code id of the most frequent category */
    uint32_t text;        /* offset in memo_text: categories text, NUL, abbreviation, NUL */
    uint32_t text_len;    /* length of the categories text */
};

struct tile_cells {
    uint64_t key; /* tx << 32 | ty */
    uint32_t *cells;
    uint32_t n, cap;
    /* The tile's clusters, computed on first use and dropped when one of
     * its cells changes. */
    bool memo_valid;
    struct memo_cluster *clusters;
    size_t nclusters;
    struct cat_count *memo_cats;
    char *memo_text; /* the clusters' texts (memo_cluster.text) */
};

/* An open-addressing map uint64 key -> index (+1; 0 = empty). */
struct slots {
    uint32_t *v;
    size_t n; /* power of two */
};

struct grid {
    struct cell *cells;
    size_t ncells, capcells;
    struct slots cell_map;
    struct tile_cells *tiles;
    size_t ntiles, captiles;
    struct slots tile_map;
    struct cat_count *slab; /* the cells' categories after a build, tile by tile */
};

struct point {
    int64_t id; /* 0: empty slot */
    double fx, fy;
    uint32_t cat;
    bool live;
    int64_t supporters;
};

struct layer_index {
    bool built;
    int64_t seq;
    int zooms;     /* grids for z < zooms */
    bool building; /* count points at the finest zoom only (build aggregates) */
    struct grid grids[MD_TILE_MAX_ZOOM + 1];
    struct point *points;
    size_t npoints, points_cap; /* cap: power of two */
    char **codes;
    uint32_t *code_rank; /* rank of each code in ascending order */
    uint32_t *by_rank;   /* the code of each rank */
    size_t ncodes, capcodes;
    struct slots code_map;
};

struct md_cluster_index {
    pthread_rwlock_t lock;
    enum md_crs crs; /* where points are placed: WGS84 or their GCJ-02 position */
    struct layer_index layers[NPOINT_LAYERS];
};

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* ---- maps ----------------------------------------------------------------- */

/* The slot holding key (per keyof), or the empty slot where it would go. */
typedef uint64_t (*key_of_fn)(const void *items, uint32_t index);

static size_t slot_find(const struct slots *m, uint64_t key, uint64_t hash, const void *items,
                        key_of_fn key_of)
{
    size_t i = (size_t)hash & (m->n - 1);
    while (m->v[i] && key_of(items, m->v[i] - 1) != key)
        i = (i + 1) & (m->n - 1);
    return i;
}

static uint64_t cell_key_of(const void *items, uint32_t i)
{
    return ((const struct cell *)items)[i].key;
}

static uint64_t tile_key_of(const void *items, uint32_t i)
{
    return ((const struct tile_cells *)items)[i].key;
}

/* Rebuild m with room for `want` items at half load; the first `count`
 * items are in it. */
static bool slots_grow(struct slots *m, size_t count, size_t want, const void *items,
                       key_of_fn key_of)
{
    size_t n = m->n ? m->n : 64;
    while (n < want * 2 + 2)
        n *= 2;
    if (n == m->n)
        return true;
    uint32_t *v = calloc(n, sizeof(*v));
    if (!v)
        return false;
    struct slots grown = {v, n};
    for (uint32_t i = 0; i < count; i++) {
        uint64_t k = key_of(items, i);
        grown.v[slot_find(&grown, k, mix(k), items, key_of)] = i + 1;
    }
    free(m->v);
    *m = grown;
    return true;
}

static bool grow_array(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *p = realloc(*arr, cap2 * size);
    if (!p)
        return false;
    *arr = p;
    *cap = cap2;
    return true;
}

/* ---- categories ------------------------------------------------------------- */

static uint64_t code_key_of(const void *items, uint32_t i)
{
    return str_hash(((char *const *)items)[i]);
}

static int cmp_code(const void *a, const void *b, void *codes)
{
    char **c = codes;
    return strcmp(c[*(const uint32_t *)a], c[*(const uint32_t *)b]);
}

/* Ranks of the codes in ascending order (kept so clusters list them sorted). */
static bool rank_codes(struct layer_index *L)
{
    uint32_t *order = realloc(L->by_rank, L->ncodes * sizeof(*order));
    if (order)
        L->by_rank = order;
    uint32_t *rank = realloc(L->code_rank, L->ncodes * sizeof(*rank));
    if (rank)
        L->code_rank = rank;
    if (!order || !rank)
        return false;
    for (uint32_t i = 0; i < L->ncodes; i++)
        order[i] = i;
    qsort_r(order, L->ncodes, sizeof(*order), cmp_code, L->codes);
    for (uint32_t i = 0; i < L->ncodes; i++)
        rank[order[i]] = i;
    return true;
}

/* The id of category `code`, interned on first sight. UINT32_MAX: no memory. */
static uint32_t intern(struct layer_index *L, const char *code)
{
    uint64_t h = str_hash(code);
    if (L->code_map.n) {
        size_t i = (size_t)mix(h) & (L->code_map.n - 1);
        for (; L->code_map.v[i]; i = (i + 1) & (L->code_map.n - 1)) {
            if (strcmp(L->codes[L->code_map.v[i] - 1], code) == 0)
                return L->code_map.v[i] - 1;
        }
    }
    char *copy = strdup(code);
    if (!copy || !grow_array((void **)&L->codes, &L->capcodes, L->ncodes + 1, sizeof(char *))) {
        free(copy);
        return UINT32_MAX;
    }
    L->codes[L->ncodes++] = copy;
    if (L->code_map.n < L->ncodes * 2 + 2) {
        free(L->code_map.v);
        L->code_map = (struct slots){0};
        if (!slots_grow(&L->code_map, L->ncodes, L->ncodes, L->codes, code_key_of))
            return UINT32_MAX;
        /* slots_grow hashed with mix(str_hash); find above uses the same. */
    } else {
        size_t i = (size_t)mix(h) & (L->code_map.n - 1);
        while (L->code_map.v[i])
            i = (i + 1) & (L->code_map.n - 1);
        L->code_map.v[i] = (uint32_t)L->ncodes;
    }
    return rank_codes(L) ? (uint32_t)L->ncodes - 1 : UINT32_MAX;
}

/* ---- cells ------------------------------------------------------------------ */

static bool tile_add_cell(struct grid *g, uint64_t tkey, uint32_t cell)
{
    if (!g->tile_map.n || g->tile_map.n < g->ntiles * 2 + 2) {
        if (!slots_grow(&g->tile_map, g->ntiles, g->ntiles + 1, g->tiles, tile_key_of))
            return false;
    }
    size_t i = slot_find(&g->tile_map, tkey, mix(tkey), g->tiles, tile_key_of);
    if (!g->tile_map.v[i]) {
        if (!grow_array((void **)&g->tiles, &g->captiles, g->ntiles + 1, sizeof(*g->tiles)))
            return false;
        g->tiles[g->ntiles] = (struct tile_cells){.key = tkey};
        g->tile_map.v[i] = (uint32_t)++g->ntiles;
    }
    struct tile_cells *tc = &g->tiles[g->tile_map.v[i] - 1];
    size_t cap = tc->cap;
    if (!grow_array((void **)&tc->cells, &cap, tc->n + 1, sizeof(*tc->cells)))
        return false;
    tc->cap = (uint32_t)cap;
    tc->cells[tc->n++] = cell;
    return true;
}

/* The cell of key at this zoom, created when missing; NULL: no memory. */
static struct cell *cell_get(struct grid *g, uint64_t key)
{
    if (!g->cell_map.n || g->cell_map.n < g->ncells * 2 + 2) {
        if (!slots_grow(&g->cell_map, g->ncells, g->ncells + 1, g->cells, cell_key_of))
            return NULL;
    }
    size_t i = slot_find(&g->cell_map, key, mix(key), g->cells, cell_key_of);
    if (g->cell_map.v[i])
        return &g->cells[g->cell_map.v[i] - 1];
    if (!grow_array((void **)&g->cells, &g->capcells, g->ncells + 1, sizeof(*g->cells)))
        return NULL;
    uint64_t cx = key >> 32, cy = key & 0xffffffffu;
    uint64_t tkey = (cx >> MD_CLUSTER_CELL_SHIFT) << 32 | (cy >> MD_CLUSTER_CELL_SHIFT);
    if (!tile_add_cell(g, tkey, (uint32_t)g->ncells))
        return NULL;
    g->cells[g->ncells] = (struct cell){
        .key = key,
        .tile = g->tile_map.v[slot_find(&g->tile_map, tkey, mix(tkey), g->tiles, tile_key_of)] - 1};
    g->cell_map.v[i] = (uint32_t)++g->ncells;
    return &g->cells[g->ncells - 1];
}

/* Add `delta` points of category cat to c's counts (dropping a count that
 * reaches 0). */
static bool cell_count_cat(struct cell *c, uint32_t cat, int32_t delta)
{
    for (uint32_t i = 0; i < c->ncats; i++) {
        if (c->cats[i].cat != cat)
            continue;
        c->cats[i].n += delta;
        if (c->cats[i].n <= 0)
            c->cats[i] = c->cats[--c->ncats];
        return true;
    }
    if (delta <= 0)
        return true; /* not counted: nothing to take away */
    if (c->ncats == c->capcats) {
        uint32_t cap = c->capcats ? c->capcats * 2 : 2;
        struct cat_count *cats =
            c->slab ? malloc(cap * sizeof(*cats)) : realloc(c->cats, cap * sizeof(*cats));
        if (!cats)
            return false;
        if (c->slab && c->ncats)
            memcpy(cats, c->cats, c->ncats * sizeof(*cats));
        c->cats = cats;
        c->capcats = cap;
        c->slab = false;
    }
    c->cats[c->ncats++] = (struct cat_count){cat, delta};
    return true;
}

/* Count point p (sign +1) or take it away (-1) at every cluster zoom. */
static bool count_point(struct layer_index *L, const struct point *p, int sign)
{
    for (int z = L->building ? L->zooms - 1 : 0; z < L->zooms; z++) {
        double scale = (double)((uint64_t)1 << (z + MD_CLUSTER_CELL_SHIFT));
        uint64_t last = (uint64_t)scale - 1;
        uint64_t cx = (uint64_t)(p->fx * scale), cy = (uint64_t)(p->fy * scale);
        cx = cx > last ? last : cx;
        cy = cy > last ? last : cy;
        struct cell *c = cell_get(&L->grids[z], cx << 32 | cy);
        if (!c || !cell_count_cat(c, p->cat, sign))
            return false;
        L->grids[z].tiles[c->tile].memo_valid = false;
        c->n += sign;
        c->supporters += sign * p->supporters;
        c->sx += sign * p->fx;
        c->sy += sign * p->fy;
        if (c->n <= 0) /* no drift left behind in an empty cell */
            *c = (struct cell){.key = c->key,
                               .cats = c->cats,
                               .capcats = c->capcats,
                               .tile = c->tile,
                               .slab = c->slab};
    }
    return true;
}

/* ---- points ------------------------------------------------------------------ */

static struct point *point_slot(struct layer_index *L, int64_t id)
{
    size_t i = (size_t)mix((uint64_t)id) & (L->points_cap - 1);
    while (L->points[i].id && L->points[i].id != id)
        i = (i + 1) & (L->points_cap - 1);
    return &L->points[i];
}

static bool points_grow(struct layer_index *L)
{
    if (L->points_cap && L->npoints * 2 + 2 <= L->points_cap)
        return true;
    size_t cap = L->points_cap ? L->points_cap * 2 : 1024;
    struct point *old = L->points;
    size_t old_cap = L->points_cap;
    L->points = calloc(cap, sizeof(*L->points));
    if (!L->points) {
        L->points = old;
        return false;
    }
    L->points_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].id)
            *point_slot(L, old[i].id) = old[i];
    }
    free(old);
    return true;
}

struct adding {
    struct layer_index *L;
    enum md_crs crs;
};

static md_err add_point(const struct md_point *mp, void *userdata)
{
    const struct adding *a = userdata;
    struct layer_index *L = a->L;
    if (mp->id == 0 || !points_grow(L))
        return mp->id == 0 ? MD_OK : MD_ENOMEM;
    double mx, my, lon, lat;
    md_tile_crs_point(a->crs, mp->lon, mp->lat, &lon, &lat);
    md_merc_from_lonlat(lon, lat, &mx, &my);
    struct point p = {.id = mp->id,
                      .fx = (mx + MD_MERC_HALF) / (2 * MD_MERC_HALF),
                      .fy = (MD_MERC_HALF - my) / (2 * MD_MERC_HALF),
                      .cat = intern(L, mp->category),
                      .live = true,
                      .supporters = mp->supporters};
    p.fx = p.fx < 0 ? 0 : p.fx >= 1 ? nextafter(1.0, 0.0) : p.fx;
    p.fy = p.fy < 0 ? 0 : p.fy >= 1 ? nextafter(1.0, 0.0) : p.fy;
    if (p.cat == UINT32_MAX)
        return MD_ENOMEM;
    struct point *slot = point_slot(L, mp->id);
    if (slot->id && slot->live && !count_point(L, slot, -1))
        return MD_ENOMEM;
    if (!slot->id)
        L->npoints++;
    *slot = p;
    return count_point(L, slot, +1) ? MD_OK : MD_ENOMEM;
}

static bool remove_point(struct layer_index *L, int64_t id)
{
    if (!L->points_cap)
        return true;
    struct point *slot = point_slot(L, id);
    if (!slot->id || !slot->live)
        return true;
    slot->live = false;
    return count_point(L, slot, -1);
}

/* ---- build and sync ------------------------------------------------------------ */

static void layer_clear(struct layer_index *L)
{
    for (int z = 0; z <= MD_TILE_MAX_ZOOM; z++) {
        struct grid *g = &L->grids[z];
        for (size_t i = 0; i < g->ncells; i++) {
            if (!g->cells[i].slab)
                free(g->cells[i].cats);
        }
        free(g->slab);
        for (size_t i = 0; i < g->ntiles; i++) {
            free(g->tiles[i].cells);
            free(g->tiles[i].clusters);
            free(g->tiles[i].memo_cats);
            free(g->tiles[i].memo_text);
        }
        free(g->cells);
        free(g->tiles);
        free(g->cell_map.v);
        free(g->tile_map.v);
    }
    for (size_t i = 0; i < L->ncodes; i++)
        free(L->codes[i]);
    free(L->codes);
    free(L->code_rank);
    free(L->by_rank);
    free(L->code_map.v);
    free(L->points);
    *L = (struct layer_index){0};
}

/* Grid z from the cells of grid z + 1 (a cell's parent halves its key). */
static bool aggregate(struct grid *g, const struct grid *finer)
{
    for (size_t i = 0; i < finer->ncells; i++) {
        const struct cell *f = &finer->cells[i];
        if (f->n <= 0)
            continue;
        uint64_t key = (f->key >> 33) << 32 | ((f->key & 0xffffffffu) >> 1);
        struct cell *c = cell_get(g, key);
        if (!c)
            return false;
        for (uint32_t k = 0; k < f->ncats; k++) {
            if (!cell_count_cat(c, f->cats[k].cat, f->cats[k].n))
                return false;
        }
        c->n += f->n;
        c->supporters += f->supporters;
        c->sx += f->sx;
        c->sy += f->sy;
    }
    return true;
}

/* Lay the cells out tile by tile, their categories in one slab, so that a
 * tile reads contiguous memory (the cells were made in id order, which is
 * all over the map). */
static bool compact(struct grid *g)
{
    size_t ncats = 0;
    for (size_t i = 0; i < g->ncells; i++)
        ncats += g->cells[i].ncats;
    struct cell *cells = malloc((g->ncells ? g->ncells : 1) * sizeof(*cells));
    struct cat_count *slab = malloc((ncats ? ncats : 1) * sizeof(*slab));
    if (!cells || !slab) {
        free(cells);
        free(slab);
        return false;
    }
    size_t at = 0, cat_at = 0;
    for (size_t t = 0; t < g->ntiles; t++) {
        struct tile_cells *tc = &g->tiles[t];
        for (uint32_t k = 0; k < tc->n; k++) {
            struct cell *c = &g->cells[tc->cells[k]];
            cells[at] = *c;
            cells[at].cats = slab + cat_at;
            cells[at].capcats = c->ncats;
            cells[at].slab = true;
            if (c->ncats)
                memcpy(slab + cat_at, c->cats, c->ncats * sizeof(*slab));
            cat_at += c->ncats;
            if (!c->slab)
                free(c->cats);
            tc->cells[k] = (uint32_t)at++;
        }
    }
    free(g->cells);
    free(g->slab);
    g->cells = cells;
    g->capcells = g->ncells;
    g->slab = slab;
    free(g->cell_map.v);
    g->cell_map = (struct slots){0};
    return slots_grow(&g->cell_map, g->ncells, g->ncells, g->cells, cell_key_of);
}

static md_err build(struct layer_index *L, enum md_crs crs, struct md_store *s, enum md_layer layer,
                    int64_t seq, struct md_ctx *ctx)
{
    struct adding adding = {.L = L, .crs = crs};
    struct md_layer_info info;
    layer_clear(L);
    md_err rc = md_store_layer_info(s, layer, &info, ctx);
    if (rc)
        return rc;
    L->zooms = info.cluster_below_zoom < 0                  ? 0
               : info.cluster_below_zoom > MD_TILE_MAX_ZOOM ? MD_TILE_MAX_ZOOM
                                                            : info.cluster_below_zoom;
    L->building = true;
    rc = md_store_points_each(s, layer, add_point, &adding, ctx);
    L->building = false;
    for (int z = L->zooms - 2; !rc && z >= 0; z--)
        rc = aggregate(&L->grids[z], &L->grids[z + 1]) ? MD_OK : MD_ENOMEM;
    for (int z = 0; !rc && z < L->zooms; z++)
        rc = compact(&L->grids[z]) ? MD_OK : MD_ENOMEM;
    if (rc == MD_ENOMEM && !ctx->err)
        md_fail(ctx, rc, "cluster index");
    if (!rc) {
        L->built = true;
        L->seq = seq;
    }
    return rc;
}

struct changed {
    enum md_layer layer;
    bool bulk;
    int64_t *ids;
    size_t n, cap;
};

static md_err note_change(const struct md_change *c, void *userdata)
{
    struct changed *ch = userdata;
    if (c->layer != ch->layer)
        return MD_OK;
    if (c->feature_id < 0) {
        ch->bulk = true;
        return MD_OK;
    }
    if (!grow_array((void **)&ch->ids, &ch->cap, ch->n + 1, sizeof(*ch->ids)))
        return MD_ENOMEM;
    ch->ids[ch->n++] = c->feature_id;
    return MD_OK;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Apply the changes (L->seq, seq]: each changed point leaves its old cells
 * and joins the cells of its row as the snapshot holds it. */
static md_err replay(struct layer_index *L, enum md_crs crs, struct md_store *s,
                     enum md_layer layer, int64_t seq, struct md_ctx *ctx)
{
    struct adding adding = {.L = L, .crs = crs};
    struct changed ch = {.layer = layer};
    md_err rc = md_store_changes_between(s, L->seq, seq, note_change, &ch, ctx);
    if (!rc && ch.bulk)
        rc = build(L, crs, s, layer, seq, ctx);
    if (!rc && !ch.bulk) {
        if (ch.n)
            qsort(ch.ids, ch.n, sizeof(*ch.ids), cmp_id);
        for (size_t i = 0; !rc && i < ch.n; i++) {
            if (i && ch.ids[i] == ch.ids[i - 1])
                continue;
            rc = remove_point(L, ch.ids[i]) ? MD_OK : MD_ENOMEM;
            if (!rc)
                rc = md_store_point_get(s, layer, ch.ids[i], add_point, &adding, ctx);
        }
        if (!rc)
            L->seq = seq;
    }
    free(ch.ids);
    if (rc == MD_ENOMEM && !ctx->err)
        md_fail(ctx, rc, "cluster index");
    return rc;
}

struct md_cluster_index *md_cluster_index_new(void)
{
    return md_cluster_index_new_crs(MD_CRS_WGS84);
}

struct md_cluster_index *md_cluster_index_new_crs(enum md_crs crs)
{
    if (!md_tile_crs_served(crs))
        return NULL;
    struct md_cluster_index *ci = calloc(1, sizeof(*ci));
    if (ci && pthread_rwlock_init(&ci->lock, NULL) != 0) {
        free(ci);
        return NULL;
    }
    if (ci)
        ci->crs = crs;
    return ci;
}

void md_cluster_index_free(struct md_cluster_index *ci)
{
    if (!ci)
        return;
    for (int l = 0; l < NPOINT_LAYERS; l++)
        layer_clear(&ci->layers[l]);
    pthread_rwlock_destroy(&ci->lock);
    free(ci);
}

md_err md_cluster_index_sync(struct md_cluster_index *ci, struct md_store *s, enum md_layer layer,
                             int64_t snapshot_seq, struct md_ctx *ctx)
{
    if (layer != MD_LAYER_FACILITIES && layer != MD_LAYER_REPORTS)
        return md_fail(ctx, MD_EINVAL, "layer %d is not a point layer", (int)layer);
    struct layer_index *L = &ci->layers[layer];
    pthread_rwlock_rdlock(&ci->lock);
    bool fresh = L->built && L->seq >= snapshot_seq;
    pthread_rwlock_unlock(&ci->lock);
    if (fresh)
        return MD_OK;
    md_err rc = MD_OK;
    pthread_rwlock_wrlock(&ci->lock);
    if (!L->built)
        rc = build(L, ci->crs, s, layer, snapshot_seq, ctx);
    else if (L->seq < snapshot_seq)
        rc = replay(L, ci->crs, s, layer, snapshot_seq, ctx);
    if (rc)
        layer_clear(L); /* half-applied: build again next time */
    pthread_rwlock_unlock(&ci->lock);
    return rc;
}

/* ---- a tile's clusters ------------------------------------------------------- */

static bool outranks(const struct cell *a, const struct cell *b)
{
    return a->n > b->n || (a->n == b->n && a->key < b->key);
}

static int cmp_rank_desc(const void *a, const void *b)
{
    const struct cell *x = *(const struct cell *const *)a, *y = *(const struct cell *const *)b;
    return outranks(x, y) ? -1 : outranks(y, x) ? 1 : 0;
}

/* The greedy pass over one tile's cells (see the rule at the top) into the
 * tile's memo. `z` is the grid's zoom. */
static size_t put_count(char *out, uint64_t v)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(out, digits + sizeof(digits) - n, n);
    return n;
}

/* The texts of tc's clusters (categories and abbreviated count), made here
 * once so that a tile request only copies them. */
static bool memo_texts(const struct layer_index *L, struct tile_cells *tc)
{
    size_t len = 0;
    for (size_t i = 0; i < tc->nclusters; i++) {
        const struct memo_cluster *m = &tc->clusters[i];
        for (uint32_t k = 0; k < m->ncats; k++)
            len += strlen(L->codes[tc->memo_cats[m->cats + k].cat]) + 22;
        len += 2 + 32;
    }
    free(tc->memo_text);
    tc->memo_text = malloc(len ? len : 1);
    if (!tc->memo_text || len > UINT32_MAX)
        return false;
    char *p = tc->memo_text;
    for (size_t i = 0; i < tc->nclusters; i++) {
        struct memo_cluster *m = &tc->clusters[i];
        m->text = (uint32_t)(p - tc->memo_text);
        for (uint32_t k = 0; k < m->ncats; k++) {
            const struct cat_count *cc = &tc->memo_cats[m->cats + k];
            const char *code = L->codes[cc->cat];
            size_t n = strlen(code);
            if (k)
                *p++ = ',';
            memcpy(p, code, n);
            p += n;
            *p++ = ':';
            p += put_count(p, (uint64_t)cc->n);
        }
        m->text_len = (uint32_t)(p - tc->memo_text) - m->text;
        *p++ = '\0';
        char abbr[32];
        md_cluster_abbreviate(m->n, abbr);
        size_t n = strlen(abbr) + 1;
        memcpy(p, abbr, n);
        p += n;
    }
    return true;
}

static bool memo_compute(struct layer_index *L, struct grid *g, struct tile_cells *tc, int z)
{
    const struct cell *order[CELLS * CELLS];
    int slot[CELLS][CELLS], owner[CELLS * CELLS];
    double u[CELLS * CELLS], v[CELLS * CELLS]; /* cell means, zoom-wide tile units */
    double units = (double)((uint64_t)1 << z) * MD_TILE_EXTENT;
    size_t n = 0, ncats = 0;
    for (uint32_t k = 0; k < tc->n; k++) {
        const struct cell *c = &g->cells[tc->cells[k]];
        if (c->n > 0 && n < CELLS * CELLS) {
            order[n++] = c;
            ncats += c->ncats;
        }
    }
    qsort(order, n, sizeof(order[0]), cmp_rank_desc);
    memset(slot, 0xff, sizeof(slot));
    for (size_t i = 0; i < n; i++) {
        slot[(order[i]->key >> 32) & (CELLS - 1)][order[i]->key & (CELLS - 1)] = (int)i;
        u[i] = order[i]->sx / (double)order[i]->n * units;
        v[i] = order[i]->sy / (double)order[i]->n * units;
        owner[i] = -1;
    }
    free(tc->clusters);
    free(tc->memo_cats);
    tc->clusters = malloc((n ? n : 1) * sizeof(*tc->clusters));
    tc->memo_cats = malloc((ncats ? ncats : 1) * sizeof(*tc->memo_cats));
    tc->nclusters = 0;
    if (!tc->clusters || !tc->memo_cats)
        return false;
    const double r2 = (double)MD_CLUSTER_RADIUS_UNITS * MD_CLUSTER_RADIUS_UNITS;
    const int reach = (MD_CLUSTER_RADIUS_UNITS + MD_CLUSTER_CELL_UNITS - 1) / MD_CLUSTER_CELL_UNITS;
    int64_t *by_rank = calloc(L->ncodes + 1, sizeof(*by_rank));
    if (!by_rank)
        return false;
    uint32_t cat_at = 0;
    uint64_t tx = tc->key >> 32, ty = tc->key & 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        if (owner[i] >= 0)
            continue;
        /* A new cluster rooted at i takes every free cell whose mean lies
         * within the radius of i's mean. */
        int cx = (int)((order[i]->key >> 32) & (CELLS - 1)),
            cy = (int)(order[i]->key & (CELLS - 1));
        struct memo_cluster m = {.id = 0};
        double sx = 0, sy = 0;
        uint32_t lo = UINT32_MAX, hi = 0;
        for (int dx = -reach; dx <= reach; dx++) {
            for (int dy = -reach; dy <= reach; dy++) {
                int x = cx + dx, y = cy + dy;
                if (x < 0 || y < 0 || x >= CELLS || y >= CELLS || slot[x][y] < 0)
                    continue;
                int j = slot[x][y];
                double du = u[j] - u[i], dw = v[j] - v[i];
                if (owner[j] >= 0 || du * du + dw * dw > r2)
                    continue;
                owner[j] = (int)i;
                const struct cell *c = order[j];
                m.n += c->n;
                m.supporters += c->supporters;
                sx += c->sx;
                sy += c->sy;
                for (uint32_t k = 0; k < c->ncats; k++) {
                    uint32_t r = L->code_rank[c->cats[k].cat];
                    by_rank[r] += c->cats[k].n;
                    lo = r < lo ? r : lo;
                    hi = r > hi ? r : hi;
                }
            }
        }
        m.cats = cat_at;
        int64_t top = 0;
        for (uint32_t r = lo; lo != UINT32_MAX && r <= hi; r++) {
            if (!by_rank[r])
                continue;
            uint32_t code = L->by_rank[r];
            tc->memo_cats[cat_at++] = (struct cat_count){code, (int32_t)by_rank[r]};
            if (by_rank[r] > top) {
                top = by_rank[r];
                m.top = code;
            }
            by_rank[r] = 0;
        }
        m.ncats = cat_at - m.cats;
        double px = (sx / (double)m.n * (double)((uint64_t)1 << z) - (double)tx) * MD_TILE_EXTENT;
        double py = (sy / (double)m.n * (double)((uint64_t)1 << z) - (double)ty) * MD_TILE_EXTENT;
        int64_t ix = (int64_t)floor(px + 0.5), iy = (int64_t)floor(py + 0.5);
        m.x = (int32_t)(ix < 0 ? 0 : ix > MD_TILE_EXTENT - 1 ? MD_TILE_EXTENT - 1 : ix);
        m.y = (int32_t)(iy < 0 ? 0 : iy > MD_TILE_EXTENT - 1 ? MD_TILE_EXTENT - 1 : iy);
        /* The root cell's number at this zoom, from 1: below 2^53 for JavaScript. */
        m.id = (order[i]->key >> 32) * ((uint64_t)1 << (z + MD_CLUSTER_CELL_SHIFT)) +
               (order[i]->key & 0xffffffffu) + 1;
        tc->clusters[tc->nclusters++] = m;
    }
    free(by_rank);
    if (!memo_texts(L, tc))
        return false;
    tc->memo_valid = true;
    return true;
}

/* The memo of tile (tx, ty) at zoom z, or NULL when the tile has no cells.
 * *stale is set when it needs computing (the caller holds only the read lock). */
static struct tile_cells *tile_memo(struct grid *g, int64_t tx, int64_t ty, int z, bool *stale)
{
    if (tx < 0 || ty < 0 || tx >= ((int64_t)1 << z) || ty >= ((int64_t)1 << z) || !g->tile_map.n)
        return NULL;
    uint64_t tkey = (uint64_t)tx << 32 | (uint64_t)ty;
    size_t i = slot_find(&g->tile_map, tkey, mix(tkey), g->tiles, tile_key_of);
    if (!g->tile_map.v[i])
        return NULL;
    struct tile_cells *tc = &g->tiles[g->tile_map.v[i] - 1];
    if (!tc->memo_valid)
        *stale = true;
    return tc;
}

/* Hand the clusters of memo tc (tile dx, dy from t) that t shows to fn. */
static md_err emit_memo(const struct layer_index *L, const struct tile_cells *tc, int dx, int dy,
                        struct md_cluster_cat *cats, md_cluster_fn fn, void *userdata)
{
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < tc->nclusters; i++) {
        const struct memo_cluster *m = &tc->clusters[i];
        int64_t x = m->x + (int64_t)dx * MD_TILE_EXTENT, y = m->y + (int64_t)dy * MD_TILE_EXTENT;
        if (x < -MD_TILE_BUFFER || y < -MD_TILE_BUFFER || x > MD_TILE_EXTENT + MD_TILE_BUFFER ||
            y > MD_TILE_EXTENT + MD_TILE_BUFFER)
            continue;
        for (uint32_t k = 0; k < m->ncats; k++) {
            const struct cat_count *cc = &tc->memo_cats[m->cats + k];
            cats[k] = (struct md_cluster_cat){L->codes[cc->cat], cc->n};
        }
        struct md_cluster c = {.id = m->id,
                               .x = (int32_t)x,
                               .y = (int32_t)y,
                               .n = m->n,
                               .supporters = m->supporters,
                               .cats = cats,
                               .ncats = m->ncats,
                               .top_category = L->codes[m->top],
                               .categories = tc->memo_text + m->text,
                               .categories_len = m->text_len,
                               .abbreviated = tc->memo_text + m->text + m->text_len + 1};
        rc = fn(&c, userdata);
    }
    return rc;
}

md_err md_cluster_index_tile(struct md_cluster_index *ci, enum md_layer layer, struct md_tile_id t,
                             struct md_pool *pool, md_cluster_fn fn, void *userdata,
                             struct md_ctx *ctx)
{
    if (layer != MD_LAYER_FACILITIES && layer != MD_LAYER_REPORTS)
        return md_fail(ctx, MD_EINVAL, "layer %d is not a point layer", (int)layer);
    struct layer_index *L = &ci->layers[layer];
    md_err rc = MD_OK;
    bool writer = false;
    pthread_rwlock_rdlock(&ci->lock);
    for (;;) {
        if (!L->built || (int)t.z >= L->zooms) {
            rc = md_fail(ctx, MD_EINVAL, "no clusters for %s at z%u", md_layer_name(layer), t.z);
            goto out;
        }
        struct grid *g = &L->grids[t.z];
        struct tile_cells *block[3][3];
        bool stale = false;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                block[dy + 1][dx + 1] =
                    tile_memo(g, (int64_t)t.x + dx, (int64_t)t.y + dy, (int)t.z, &stale);
        if (stale && !writer) { /* compute the missing memos under the write lock */
            pthread_rwlock_unlock(&ci->lock);
            pthread_rwlock_wrlock(&ci->lock);
            writer = true;
            continue;
        }
        for (int k = 0; k < 9; k++) {
            struct tile_cells *tc = block[k / 3][k % 3];
            if (tc && !tc->memo_valid && !memo_compute(L, g, tc, (int)t.z)) {
                rc = md_fail(ctx, MD_ENOMEM, "tile clusters");
                goto out;
            }
        }
        struct md_cluster_cat *cats = md_pool_alloc(pool, (L->ncodes + 1) * sizeof(*cats));
        if (!cats) {
            rc = md_fail(ctx, MD_ENOMEM, "cluster categories");
            goto out;
        }
        /* The tile's own clusters first, then the neighbours' in its buffer. */
        if (block[1][1])
            rc = emit_memo(L, block[1][1], 0, 0, cats, fn, userdata);
        for (int k = 0; !rc && k < 9; k++) {
            if (k != 4 && block[k / 3][k % 3])
                rc = emit_memo(L, block[k / 3][k % 3], k % 3 - 1, k / 3 - 1, cats, fn, userdata);
        }
        break;
    }
out:
    pthread_rwlock_unlock(&ci->lock);
    return rc;
}

void md_cluster_abbreviate(int64_t n, char out[32])
{
    /* supercluster 9: count >= 10000 ? Math.round(count / 1000) + "k" :
     * count >= 1000 ? Math.round(count / 100) / 10 + "k" : count. Ties round
     * up, as Math.round does for positive numbers. */
    if (n >= 10000) {
        snprintf(out, 32, "%lldk", (long long)((n + 500) / 1000));
    } else if (n >= 1000) {
        long long tenths = (n + 50) / 100;
        if (tenths % 10 == 0)
            snprintf(out, 32, "%lldk", tenths / 10);
        else
            snprintf(out, 32, "%lld.%lldk", tenths / 10, tenths % 10);
    } else {
        snprintf(out, 32, "%lld", (long long)n);
    }
}
