/* query.c - nearest and within queries over the point layers (query.h).
 *
 * Nearest is an expanding-circle search on the R*Tree that SpatiaLite keeps
 * for each geometry column. The tree's nodes are kept decoded per
 * connection (the cache below). One round for radius r: walk the tree for
 * the entries in the lon/lat box around the circle (md_geod_bboxes_around:
 * the box holds every point within r); give each a cheap lower bound of its
 * geodesic distance (md_geod_near_bounds at the entry box's centre, less
 * the box's size); look rows up (exact lon/lat, filters, exact distance) in
 * order of that bound until it exceeds the k-th distance found, keeping the
 * k best by distance then id. The answer is final when the k-th distance
 * is at most r: every point at least as near lies in the box. Otherwise r
 * grows (by the expected area ratio when too few were found, or to the k-th
 * distance found, which then surely suffices) and the search repeats. The
 * first r comes from the density of points around the query point (the
 * entries of the leaf nearest to it over its box's area: the circle that
 * should hold about 1.7 k points; 26 candidates and 1.04 rounds a query on
 * the 1M-report bench) or, with filters, from the last k-th distance this
 * thread saw on the layer (scaled by sqrt(k)); so most queries take one
 * round, walk a few cached nodes and look up about k+2 rows.
 *
 * A filter that few rows pass could make the circle grow over many failing
 * rows; after FALLBACK_ROWS looked-up rows it switches to reading the
 * filtered rows (through their indexes) and keeping the k best, which gives
 * the same answer.
 */
#include "query.h"
#include "feature_read.h"
#include "geodesic.h"
#include "pg_query.h"
#include "store_int.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define FALLBACK_ROWS 20000
/* A circle this big (> pi b) holds the whole ellipsoid. */
#define WHOLE_EARTH_M 2.1e7

bool md_query_point_layer(enum md_layer layer)
{
    return layer == MD_LAYER_FACILITIES || layer == MD_LAYER_REPORTS;
}

/* ---- SQL, per point layer. Filters bind NULL when absent:
 * ?10 category, ?11 group, ?12 status, ?13 district, ?14 kind, ?15 from, ?16 to. */

#define FAC_FILTERS                                                                                \
    " AND (?10 IS NULL OR " MD_SQL_IN_LIST(                                                        \
        "?10", "t.category") ") AND ?11 IS NULL"                                                   \
                             " AND (?12 IS NULL OR " MD_SQL_IN_LIST(                               \
                                 "?12", "t.status") ")"                                            \
                                                    " AND (?13 IS NULL OR t.district_code = ?13) " \
                                                    "AND ?14 IS NULL"                              \
                                                    " AND (?15 IS NULL OR t.updated_at >= ?15) "   \
                                                    "AND (?16 IS NULL OR t.updated_at <= ?16)"
#define REP_FILTERS                                                                                \
    " AND (?10 IS NULL OR " MD_SQL_IN_LIST(                                                        \
        "?10", "t.service_code") ")"                                                               \
                                 " AND (?11 IS NULL OR t.service_code IN (SELECT code FROM "       \
                                 "categories WHERE group_code = ?11))"                             \
                                 " AND (?12 IS NULL OR " MD_SQL_IN_LIST(                           \
                                     "?12",                                                        \
                                     "t.status") ")"                                               \
                                                 " AND (?13 IS NULL OR t.district_code = ?13)"     \
                                                 " AND (?14 IS NULL OR t.kind = ?14)"              \
                                                 " AND (?15 IS NULL OR t.created_at >= ?15) AND "  \
                                                 "(?16 IS NULL OR t.created_at <= ?16)"

struct layer_sql {
    const char *node;       /* ?1 R*Tree node number -> blob */
    const char *row;        /* ?1 id -> lon, lat when the row passes the filters */
    const char *row_plain;  /* ?1 id -> lon, lat (no filters: fewer VDBE steps) */
    const char *scan;       /* all rows passing the filters: id, lon, lat */
    const char *boxed;      /* rows in box ?1..?4 (minx, miny, maxx, maxy) passing filters */
    const char *count;      /* count of rows passing the filters */
    const char *page;       /* rows passing the filters by id: ?1 limit, ?2 offset */
    const char *scan_after; /* rows passing the filters with id > ?1, by id */
};

/* A keyset page by id of a region whose R*Tree box holds at most this many
 * entries takes them from the cached tree; a bigger one is read in id order
 * from the cursor (it matches often, so the page stops early). */
#define TREE_IDS_MAX 32768

static const struct layer_sql layer_sql[2] = {
    {
        "SELECT data FROM idx_facilities_geom_node WHERE nodeno = ?1",
        "SELECT t.lon, t.lat FROM facilities t WHERE t.id = ?1" FAC_FILTERS,
        "SELECT lon, lat FROM facilities WHERE id = ?1",
        "SELECT t.id, t.lon, t.lat FROM facilities t WHERE 1" FAC_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM idx_facilities_geom r CROSS JOIN facilities t"
        " ON t.id = r.pkid WHERE r.xmax >= ?1 AND r.xmin <= ?3 AND r.ymax >= ?2"
        " AND r.ymin <= ?4" FAC_FILTERS,
        "SELECT count(*) FROM facilities t WHERE 1" FAC_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM facilities t WHERE 1" FAC_FILTERS
        " ORDER BY t.id LIMIT ?1 OFFSET ?2",
        "SELECT t.id, t.lon, t.lat FROM facilities t WHERE t.id > ?1" FAC_FILTERS " ORDER BY t.id",
    },
    {
        "SELECT data FROM idx_reports_geom_node WHERE nodeno = ?1",
        "SELECT t.lon, t.lat FROM reports t WHERE t.id = ?1" REP_FILTERS,
        "SELECT lon, lat FROM reports WHERE id = ?1",
        "SELECT t.id, t.lon, t.lat FROM reports t WHERE 1" REP_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM idx_reports_geom r CROSS JOIN reports t"
        " ON t.id = r.pkid WHERE r.xmax >= ?1 AND r.xmin <= ?3 AND r.ymax >= ?2"
        " AND r.ymin <= ?4" REP_FILTERS,
        "SELECT count(*) FROM reports t WHERE 1" REP_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM reports t WHERE 1" REP_FILTERS
        " ORDER BY t.id LIMIT ?1 OFFSET ?2",
        "SELECT t.id, t.lon, t.lat FROM reports t WHERE t.id > ?1" REP_FILTERS " ORDER BY t.id",
    },
};

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_filters(sqlite3_stmt *st, const struct md_query_filter *f)
{
    static const struct md_query_filter none;
    if (!f)
        f = &none;
    bind_text_or_null(st, 10, f->category);
    bind_text_or_null(st, 11, f->group);
    bind_text_or_null(st, 12, f->status);
    bind_text_or_null(st, 13, f->district);
    bind_text_or_null(st, 14, f->kind);
    if (f->has_from)
        sqlite3_bind_int64(st, 15, f->from);
    if (f->has_to)
        sqlite3_bind_int64(st, 16, f->to);
}

static bool has_filter(const struct md_query_filter *f)
{
    return f && (f->category || f->group || f->status || f->district || f->kind || f->has_from ||
                 f->has_to);
}

/* ---- read transaction: one snapshot for the whole query. */

static md_err read_begin(struct md_store *s, bool *began, struct md_ctx *ctx)
{
    *began = sqlite3_get_autocommit(s->db);
    return *began ? md_store_read_begin(s, ctx) : MD_OK;
}

static void read_end(struct md_store *s, bool began)
{
    if (began)
        md_store_read_end(s);
}

static bool hit_before(const struct md_query_hit *a, const struct md_query_hit *b)
{
    return a->distance_m != b->distance_m ? a->distance_m < b->distance_m : a->id < b->id;
}

static int hit_cmp_distance(const void *pa, const void *pb)
{
    const struct md_query_hit *a = pa, *b = pb;
    return hit_before(a, b) ? -1 : hit_before(b, a) ? 1 : 0;
}

static int hit_cmp_id(const void *pa, const void *pb)
{
    const struct md_query_hit *a = pa, *b = pb;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* ---- nearest */

/* An R*Tree entry: row id and a lower bound of its distance. */
struct cand {
    int64_t id;
    double lo, hi;        /* bounds of its geodesic distance */
    double d, lon, lat;   /* exact, once looked up (d < 0: not yet) */
    struct rt_cell *cell; /* its cached leaf cell, or NULL */
};

struct search {
    struct md_store *s;
    const struct layer_sql *sql;
    const struct md_query_filter *f;
    double lon, lat, max_m;
    struct md_geod_near near;
    struct cand *c;
    size_t n, cap;
    int64_t rows_read;                  /* rows looked up (filters, exact lon/lat) */
    int passed;                         /* rows that passed the filters in the last round */
    bool filtered;                      /* f sets a condition */
    struct rt_tree *tree;               /* the connection's cache of this layer's nodes, or NULL */
    int depth;                          /* of the R*Tree; -1 until read */
    const struct md_query_after *after; /* only points after it (distance, id); NULL: all */
};

/* True when h comes after the search's cursor (or there is none). */
static bool after_cursor(const struct search *q, const struct md_query_hit *h)
{
    const struct md_query_after *a = q->after;
    return !a || h->distance_m > a->distance_m || (h->distance_m == a->distance_m && h->id > a->id);
}

/* k-th distance / sqrt(k) of the last answer per layer and filtered-ness:
 * only a starting radius, never a result. */
static _Thread_local double radius_hint[2][2];

/* Largest radius of curvature of WGS84 (the meridian's at the poles,
 * a / sqrt(1 - e²) = 6,399,594 m), rounded up: a path along a meridian and
 * a parallel from a box's centre to any of its points is at most
 * (half-width + half-height in degrees) x this x DEG long. */
#define MAX_CURVATURE_RADIUS_M 6.4e6
#define DEG_RAD (M_PI / 180.0)

/* Lower bound of the distance from the query point to any point of an
 * entry's box (a point, rounded outwards to float by SQLite): the bound to
 * the centre less a bound of the centre-to-corner distance (triangle
 * inequality). */
/* Bounds of the distance from the query point to any point of an entry's
 * box (a point, rounded outwards to float by SQLite): the bounds at the
 * centre widened by a bound of the centre-to-corner distance (triangle
 * inequality). */
static void entry_bounds(const struct search *q, double x0, double x1, double y0, double y1,
                         double *lo, double *hi)
{
    md_geod_near_bounds(&q->near, (x0 + x1) / 2.0, (y0 + y1) / 2.0, lo, hi);
    double half = ((x1 - x0) + (y1 - y0)) / 2.0 * DEG_RAD * MAX_CURVATURE_RADIUS_M;
    *lo -= half * 1.000001 + 1e-6;
    *hi += half * 1.000001 + 1e-6;
}

static md_err cand_add(struct search *q, int64_t id, double lo, double hi, struct rt_cell *cell,
                       struct md_ctx *ctx)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        if (q->n >= MD_QUERY_MAX_MATCHES)
            return md_fail(ctx, MD_ETOOBIG,
                           "more than %d points match: narrow the area or add filters",
                           MD_QUERY_MAX_MATCHES);
        struct cand *v = realloc(q->c, cap * sizeof(*v));
        if (!v)
            return md_fail(ctx, MD_ENOMEM, "nearest candidates");
        q->c = v;
        q->cap = cap;
    }
    q->c[q->n++] = (struct cand){id, lo, hi, -1.0, 0, 0, cell};
    return MD_OK;
}

/* ---- R*Tree nodes, decoded once per layer version.
 *
 * SQLite keeps the tree in idx_<layer>_geom_node(nodeno, data); node 1 is
 * the root. A node's blob is big-endian: u16 depth of the tree (meaningful
 * in the root only), u16 cell count, then cells of i64 id (child node number
 * in inner nodes, row id in leaves) and four f32 xmin, xmax, ymin, ymax,
 * rounded outwards by SQLite so that a box always contains its entry.
 *
 * Reading a node through SQL costs a B-tree seek and a 4 KB copy; a search
 * reads a few, every query. The cache keeps them decoded per connection,
 * tagged with the layer's layers.version (bumped in the same transaction
 * as every change of the layer, bulk loads included), and is used only
 * outside write transactions, so it only ever holds committed trees. */

#define CELL_BYTES 24
#define RTREE_CACHE_MAX_BYTES                                                                      \
    ((size_t)256 << 20) /* per connection; past it, nodes are read uncached */
#define RTREE_MAX_NODENO ((int64_t)1 << 24)

struct rt_cell {
    float x0, x1, y0, y1;
    int64_t id;
    double lon, lat; /* leaves: the row's exact place once looked up (NaN: not yet) */
};

struct rt_node {
    int ncell;
    struct rt_cell cell[];
};

struct rt_tree {
    int64_t version;       /* layers.version of the cached nodes */
    int depth;             /* -1: not read yet */
    struct rt_node **node; /* by node number */
    size_t cap;
};

struct md__rtree_cache {
    struct rt_tree tree[2];
    size_t bytes;
};

static void tree_clear(struct md__rtree_cache *c, struct rt_tree *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        if (t->node[i])
            c->bytes -= sizeof(struct rt_node) + (size_t)t->node[i]->ncell * sizeof(struct rt_cell);
        free(t->node[i]);
    }
    free(t->node);
    t->node = NULL;
    t->cap = 0;
    t->depth = -1;
}

void md__rtree_cache_free(struct md__rtree_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < 2; i++)
        tree_clear(c, &c->tree[i]);
    free(c);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static float bef32(const unsigned char *p)
{
    uint32_t u = be32(p);
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Node `nodeno`, decoded (caller frees). The root also gives the depth. */
static md_err node_read(struct search *q, int64_t nodeno, struct rt_node **out, int *depth,
                        struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(q->s, q->sql->node, &st, ctx);
    *out = NULL;
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, nodeno);
    int src = sqlite3_step(st);
    const unsigned char *d = src == SQLITE_ROW ? sqlite3_column_blob(st, 0) : NULL;
    int len = d ? sqlite3_column_bytes(st, 0) : 0;
    int ncell = len >= 4 ? (int)(be32(d) & 0xffff) : -1;
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = md_store_fail(q->s, src, "R*Tree node", ctx);
    else if (ncell < 0 || 4 + (int64_t)ncell * CELL_BYTES > len)
        rc = md_fail(ctx, MD_EDB, "R*Tree node %lld is missing or malformed", (long long)nodeno);
    struct rt_node *n = rc ? NULL : malloc(sizeof(*n) + (size_t)ncell * sizeof(n->cell[0]));
    if (!rc && !n)
        rc = md_fail(ctx, MD_ENOMEM, "R*Tree node");
    if (!rc) {
        if (depth)
            *depth = (int)(be32(d) >> 16);
        n->ncell = ncell;
        for (int i = 0; i < ncell; i++) {
            const unsigned char *c = d + 4 + i * CELL_BYTES;
            n->cell[i] = (struct rt_cell){bef32(c + 8),
                                          bef32(c + 12),
                                          bef32(c + 16),
                                          bef32(c + 20),
                                          (int64_t)((uint64_t)be32(c) << 32 | be32(c + 4)),
                                          NAN,
                                          NAN};
        }
        *out = n;
    }
    sqlite3_reset(st);
    return rc;
}

/* Node `nodeno` from the cache or the database. *owned: caller frees it. */
static md_err node_get(struct search *q, int64_t nodeno, struct rt_node **out, bool *owned,
                       struct md_ctx *ctx)
{
    struct rt_tree *t = q->tree;
    *owned = false;
    if (t && nodeno > 0 && nodeno < RTREE_MAX_NODENO && (size_t)nodeno < t->cap &&
        t->node[nodeno]) {
        *out = t->node[nodeno];
        return MD_OK;
    }
    struct rt_node *n = NULL;
    md_err rc = node_read(q, nodeno, &n, NULL, ctx);
    if (rc)
        return rc;
    *out = n;
    size_t bytes = sizeof(*n) + (size_t)n->ncell * sizeof(n->cell[0]);
    if (!t || nodeno <= 0 || nodeno >= RTREE_MAX_NODENO ||
        q->s->rtree_cache->bytes + bytes > RTREE_CACHE_MAX_BYTES) {
        *owned = true;
        return MD_OK;
    }
    if ((size_t)nodeno >= t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap <= (size_t)nodeno)
            cap *= 2;
        struct rt_node **v = realloc(t->node, cap * sizeof(*v));
        if (!v) {
            *owned = true;
            return MD_OK;
        }
        memset(v + t->cap, 0, (cap - t->cap) * sizeof(*v));
        t->node = v;
        t->cap = cap;
    }
    t->node[nodeno] = n;
    q->s->rtree_cache->bytes += bytes;
    return MD_OK;
}

/* Attach the layer's cached tree to the search when the cache may be used
 * (not in a write transaction), emptying it when the layer changed. */
static md_err tree_open(struct search *q, enum md_layer layer, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT version FROM layers WHERE id = ?1";
    q->tree = NULL;
    if (sqlite3_txn_state(q->s->db, "main") == SQLITE_TXN_WRITE)
        return MD_OK;
    if (!q->s->rtree_cache) {
        q->s->rtree_cache = calloc(1, sizeof(*q->s->rtree_cache));
        if (!q->s->rtree_cache)
            return MD_OK; /* uncached then */
        q->s->rtree_cache->tree[0].depth = q->s->rtree_cache->tree[1].depth = -1;
    }
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(q->s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, (int)layer);
    int src = sqlite3_step(st);
    int64_t version = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (src != SQLITE_ROW)
        return src == SQLITE_DONE ? MD_OK : md_store_fail(q->s, src, "layer version", ctx);
    struct rt_tree *t = &q->s->rtree_cache->tree[layer == MD_LAYER_REPORTS];
    if (t->depth >= 0 && t->version != version)
        tree_clear(q->s->rtree_cache, t);
    t->version = version;
    q->tree = t;
    return MD_OK;
}

/* Entries of node `nodeno` (at `height`, 0 = leaf) that intersect box b. */
static md_err collect(struct search *q, int64_t nodeno, int height, const struct md_bbox *b,
                      int level, struct md_ctx *ctx)
{
    if (level > 40)
        return md_fail(ctx, MD_EDB, "R*Tree deeper than 40 levels");
    struct rt_node *n = NULL;
    bool owned = false;
    md_err rc = node_get(q, nodeno, &n, &owned, ctx);
    for (int i = 0; !rc && i < n->ncell; i++) {
        struct rt_cell *c = &n->cell[i];
        if (c->x1 < b->minx || c->x0 > b->maxx || c->y1 < b->miny || c->y0 > b->maxy)
            continue;
        double lo = 0, hi = INFINITY;
        if (height == 0 || q->after)
            entry_bounds(q, c->x0, c->x1, c->y0, c->y1, &lo, &hi);
        if (q->after && hi < q->after->distance_m)
            continue; /* every point under it is before the cursor */
        if (height > 0)
            rc = collect(q, c->id, height - 1, b, level + 1, ctx);
        else
            rc = cand_add(q, c->id, lo, hi, owned ? NULL : c, ctx);
    }
    if (owned)
        free(n);
    return rc;
}

/* The tree's depth into q->depth (read once, then from the cache). */
static md_err tree_depth(struct search *q, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    if (q->depth < 0) {
        struct rt_tree *t = q->tree;
        if (t && t->depth >= 0) {
            q->depth = t->depth;
        } else {
            struct rt_node *root = NULL;
            rc = node_read(q, 1, &root, &q->depth, ctx);
            free(root);
            if (!rc && t)
                t->depth = q->depth;
        }
        if (!rc && q->depth > 40)
            rc = md_fail(ctx, MD_EDB, "R*Tree depth %d", q->depth);
    }
    return rc;
}

/* Squared distance in degrees (longitude scaled by cos lat) from the query
 * point to a cell's box: only for choosing a child to descend into. */
static double cell_gap2(const struct search *q, const struct rt_cell *c, double coslat)
{
    double dx = q->lon < c->x0 ? c->x0 - q->lon : q->lon > c->x1 ? q->lon - c->x1 : 0.0;
    double dy = q->lat < c->y0 ? c->y0 - q->lat : q->lat > c->y1 ? q->lat - c->y1 : 0.0;
    return dx * dx * coslat * coslat + dy * dy;
}

/* A first radius from the density of points around the query point: walk
 * down to the leaf whose box is nearest (the one holding the point, most
 * often) and take its entries over its box's area; the circle that should
 * hold about 1.7 k points at that density. 0 when the tree gives no
 * estimate (empty, or a leaf of one point). Only a starting radius, never
 * a result. */
static md_err density_radius(struct search *q, int k, double *r, struct md_ctx *ctx)
{
    double coslat = cos(q->lat * DEG_RAD);
    int64_t nodeno = 1;
    md_err rc = tree_depth(q, ctx);
    *r = 0;
    for (int h = q->depth; !rc && h >= 0; h--) {
        struct rt_node *n = NULL;
        bool owned = false;
        rc = node_get(q, nodeno, &n, &owned, ctx);
        if (rc || n->ncell == 0) {
            if (owned)
                free(n);
            break;
        }
        if (h == 0) {
            float x0 = n->cell[0].x0, x1 = n->cell[0].x1, y0 = n->cell[0].y0, y1 = n->cell[0].y1;
            for (int i = 1; i < n->ncell; i++) {
                x0 = fminf(x0, n->cell[i].x0), x1 = fmaxf(x1, n->cell[i].x1);
                y0 = fminf(y0, n->cell[i].y0), y1 = fmaxf(y1, n->cell[i].y1);
            }
            /* Metres per degree: ~111.3 km of latitude, times cos(lat) of longitude. */
            double area = ((double)x1 - x0) * coslat * ((double)y1 - y0) * 111320.0 * 111320.0;
            if (n->ncell > 1 && area > 0)
                *r = sqrt(1.7 * k * area / ((double)n->ncell * M_PI));
        } else {
            int best = 0;
            double best_gap = cell_gap2(q, &n->cell[0], coslat);
            for (int i = 1; i < n->ncell && best_gap > 0; i++) {
                double g = cell_gap2(q, &n->cell[i], coslat);
                if (g < best_gap)
                    best = i, best_gap = g;
            }
            nodeno = n->cell[best].id;
        }
        if (owned)
            free(n);
    }
    return rc;
}

/* The R*Tree entries in the boxes around the circle of radius r. */
static md_err read_circle(struct search *q, double r, struct md_ctx *ctx)
{
    md_err rc = tree_depth(q, ctx);
    if (rc)
        return rc;
    struct md_bbox boxes[2];
    int nboxes = md_geod_bboxes_around(q->lon, q->lat, r, boxes);
    q->n = 0;
    for (int i = 0; !rc && i < nboxes; i++)
        rc = collect(q, 1, q->depth, &boxes[i], 0, ctx);
    return rc;
}

/* A binary min-heap of the candidates by lower bound: heapify is linear
 * and a search pops only about k of them. */
static void cand_sift_down(struct cand *v, size_t n, size_t i)
{
    struct cand x = v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && v[c + 1].lo < v[c].lo)
            c++;
        if (!(v[c].lo < x.lo))
            break;
        v[i] = v[c];
        i = c;
    }
    v[i] = x;
}

static struct cand cand_pop(struct cand *v, size_t *n)
{
    struct cand top = v[0];
    v[0] = v[--*n];
    if (*n > 1)
        cand_sift_down(v, *n, 0);
    return top;
}

/* Look up row `id`: *found when it passes the filters, with its exact place.
 * Without filters, a cached leaf cell that already knows the place answers
 * (the cache is dropped whenever the layer changes); else it learns it. */
static md_err lookup_row(struct search *q, int64_t id, struct rt_cell *cell, struct md_query_hit *h,
                         bool *found, struct md_ctx *ctx)
{
    if (!q->filtered && cell && !isnan(cell->lon)) {
        *found = true;
        h->id = id;
        h->lon = cell->lon;
        h->lat = cell->lat;
        h->distance_m = md_geod_distance(q->lon, q->lat, h->lon, h->lat);
        return MD_OK;
    }
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(q->s, q->filtered ? q->sql->row : q->sql->row_plain, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    if (q->filtered)
        bind_filters(st, q->f);
    q->rows_read++;
    int src = sqlite3_step(st);
    *found = src == SQLITE_ROW;
    if (*found) {
        h->id = id;
        h->lon = sqlite3_column_double(st, 0);
        h->lat = sqlite3_column_double(st, 1);
        h->distance_m = md_geod_distance(q->lon, q->lat, h->lon, h->lat);
        if (cell) {
            cell->lon = h->lon;
            cell->lat = h->lat;
        }
    } else if (src != SQLITE_DONE) {
        rc = md_store_fail(q->s, src, "nearest row", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

/* The k best of the entries into out (sorted); *n their number. Entries
 * are looked up in order of their lower bound, until that bound exceeds
 * the k-th distance found (a tie could still win on id, so only a bound
 * strictly beyond it stops). */
static md_err best_of_candidates(struct search *q, int k, struct md_query_hit *out, int *n,
                                 struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    *n = 0;
    q->passed = 0;
    for (size_t i = q->n / 2; i-- > 0;)
        cand_sift_down(q->c, q->n, i);
    while (!rc && q->n > 0) {
        const struct cand cc = cand_pop(q->c, &q->n), *c = &cc;
        if ((*n == k && c->lo > out[k - 1].distance_m) || (q->max_m > 0 && c->lo > q->max_m))
            break;
        struct md_query_hit h;
        bool found = false;
        rc = lookup_row(q, c->id, c->cell, &h, &found, ctx);
        if (rc || !found)
            continue;
        q->passed++;
        if ((q->max_m > 0 && h.distance_m > q->max_m) || !after_cursor(q, &h))
            continue;
        if (*n == k && !hit_before(&h, &out[k - 1]))
            continue;
        int j = *n < k ? (*n)++ : k - 1;
        while (j > 0 && hit_before(&h, &out[j - 1])) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = h;
    }
    return rc;
}

/* The filtered rows in full, keeping the k best (the fallback). */
static md_err nearest_by_scan(struct search *q, int k, struct md_query_hit *out, int *n,
                              struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(q->s, q->sql->scan, &st, ctx);
    if (rc)
        return rc;
    bind_filters(st, q->f);
    *n = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_query_hit h = {sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1),
                                 sqlite3_column_double(st, 2), 0};
        h.distance_m = md_geod_distance(q->lon, q->lat, h.lon, h.lat);
        if ((q->max_m > 0 && h.distance_m > q->max_m) || !after_cursor(q, &h))
            continue;
        if (*n == k && !hit_before(&h, &out[k - 1]))
            continue;
        int i = *n < k ? (*n)++ : k - 1;
        while (i > 0 && hit_before(&h, &out[i - 1])) {
            out[i] = out[i - 1];
            i--;
        }
        out[i] = h;
    }
    if (src != SQLITE_DONE)
        rc = md_store_fail(q->s, src, "nearest scan", ctx);
    sqlite3_reset(st);
    return rc;
}

/* The R*Tree root's cells bound every entry: a cheap spatial extent. */
md_err md_store_layer_bounds(struct md_store *s, enum md_layer layer, struct md_bbox *box,
                             bool *any, struct md_ctx *ctx)
{
    static const char *const root_sql[] = {
        [MD_LAYER_FACILITIES] = "SELECT data FROM idx_facilities_geom_node WHERE nodeno = 1",
        [MD_LAYER_REPORTS] = "SELECT data FROM idx_reports_geom_node WHERE nodeno = 1",
        [MD_LAYER_DISTRICTS] = "SELECT data FROM idx_districts_geom_node WHERE nodeno = 1",
        [MD_LAYER_GRIDS] = "SELECT data FROM idx_grids_geom_node WHERE nodeno = 1"};
    *any = false;
    if (!md_layer_public(layer))
        return md_fail(ctx, MD_EINVAL, "layer %d has no spatial index", (int)layer);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, root_sql[layer], &st, ctx);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const unsigned char *d = sqlite3_column_blob(st, 0);
        int len = d ? sqlite3_column_bytes(st, 0) : 0;
        int ncell = len >= 4 ? (int)(be32(d) & 0xffff) : 0;
        for (int i = 0; i < ncell && 4 + (i + 1) * CELL_BYTES <= len; i++) {
            const unsigned char *c = d + 4 + i * CELL_BYTES;
            double minx = bef32(c + 8), maxx = bef32(c + 12), miny = bef32(c + 16),
                   maxy = bef32(c + 20);
            if (!*any)
                *box = (struct md_bbox){minx, miny, maxx, maxy};
            box->minx = minx < box->minx ? minx : box->minx;
            box->maxx = maxx > box->maxx ? maxx : box->maxx;
            box->miny = miny < box->miny ? miny : box->miny;
            box->maxy = maxy > box->maxy ? maxy : box->maxy;
            *any = true;
        }
    } else if (src != SQLITE_DONE) {
        rc = md_store_fail(s, src, "layer extent", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

static md_err check_layer(enum md_layer layer, struct md_ctx *ctx)
{
    if (!md_query_point_layer(layer))
        return md_fail(ctx, MD_EINVAL, "layer %s is not a point layer",
                       md_layer_name(layer) ? md_layer_name(layer) : "?");
    return MD_OK;
}

static md_err nearest_run(struct search *qp, enum md_layer layer, int k, struct md_query_hit *out,
                          int *n, struct md_ctx *ctx);

md_err md_query_nearest(struct md_store *s, enum md_layer layer, double lon, double lat, int k,
                        double max_distance_m, const struct md_query_filter *f,
                        struct md_query_hit *out, int *n, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_query_nearest(s->pg, layer, lon, lat, k, max_distance_m, f, out, n, ctx);
    md_err rc = check_layer(layer, ctx);
    *n = 0;
    if (rc)
        return rc;
    if (k < 1 || k > MD_QUERY_MAX_K)
        return md_fail(ctx, MD_EINVAL, "k must be between 1 and %d", MD_QUERY_MAX_K);
    if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90))
        return md_fail(ctx, MD_EINVAL, "point %g,%g is outside -180..180, -90..90", lon, lat);
    struct search q = {.s = s,
                       .sql = &layer_sql[layer == MD_LAYER_REPORTS],
                       .f = f,
                       .lon = lon,
                       .lat = lat,
                       .max_m = max_distance_m,
                       .depth = -1};
    return nearest_run(&q, layer, k, out, n, ctx);
}

/* How much to widen a search of width w beyond `base` that found `got`
 * of `want`: a disk's count grows with w², a thin ring's (w << base) with w. */
static double ring_growth(double base, double w, double want, double got)
{
    if (got <= 0)
        return 4.0;
    double ratio = want / got * 1.25;
    double grow = w < base ? ratio : sqrt(ratio);
    return fmin(w < base ? 16.0 : 4.0, fmax(1.5, grow));
}

/* The k best points after q->after (if any), by an expanding circle (or,
 * with a cursor, an expanding ring beyond the cursor's distance). */
static md_err nearest_run(struct search *qp, enum md_layer layer, int k, struct md_query_hit *out,
                          int *n, struct md_ctx *ctx)
{
    struct search q = *qp;
    md_err rc = MD_OK;
    *n = 0;
    md_geod_near_init(&q.near, q.lon, q.lat);
    bool filtered = q.filtered = has_filter(q.f);
    double *hint = &radius_hint[layer == MD_LAYER_REPORTS][filtered];
    /* The search reaches r = base + w: base is the cursor's distance (the
     * points before it are done), w the width that should hold k points. */
    double base = q.after ? fmax(0.0, q.after->distance_m) : 0.0;
    double w = fmax(10.0, *hint > 0 ? *hint * sqrt((double)k) * 1.5 : 300.0 * sqrt((double)k));
    bool began = false;
    rc = read_begin(q.s, &began, ctx);
    if (!rc)
        rc = tree_open(&q, layer, ctx);
    if (!rc && !filtered) {
        /* Without filters the local density says where the k-th lies. */
        double dr = 0;
        rc = density_radius(&q, k, &dr, ctx);
        if (!rc && dr > 0)
            w = fmax(10.0, dr);
    }
    if (base > w / 2) /* a ring as big as the disk of radius w */
        w = fmax(1.0, w * w / (2.0 * base));
    double r = base + w;
    for (int round = 0; !rc; round++) {
        bool last = r >= WHOLE_EARTH_M || (q.max_m > 0 && r >= q.max_m) || round >= 60;
        if (q.max_m > 0 && r > q.max_m)
            r = q.max_m;
        if (r > WHOLE_EARTH_M)
            r = WHOLE_EARTH_M;
        if (q.rows_read >= FALLBACK_ROWS) {
            rc = nearest_by_scan(&q, k, out, n, ctx);
            break;
        }
        rc = read_circle(&q, r, ctx);
        if (rc)
            break;
        if (q.n < (size_t)k && !last) {
            /* Too few entries in the box: grow by the expected area ratio. */
            w *= ring_growth(base, w, (double)k, (double)q.n);
            r = base + w;
            continue;
        }
        rc = best_of_candidates(&q, k, out, n, ctx);
        if (rc || last || (*n == k && out[k - 1].distance_m <= r))
            break;
        if (*n == k) {
            /* The k-th found is beyond r: the circle through it surely holds
             * the k nearest. */
            r = fmax(out[k - 1].distance_m * (1.0 + 1e-9) + 1e-3, r * 1.01);
            w = r - base;
        } else {
            /* Too few passed the filters (or max_distance). */
            w *= ring_growth(base, w, (double)k, (double)q.passed);
            r = base + w;
        }
    }
    if (!rc && *n > 0 && !q.after)
        *hint = out[*n - 1].distance_m / sqrt((double)*n);
    read_end(q.s, began);
    free(q.c);
    if (rc)
        *n = 0;
    return rc;
}

/* ---- within */

struct matches {
    struct md_query_hit *v;
    size_t n, cap;
};

static md_err matches_add(struct matches *m, const struct md_query_hit *h, struct md_ctx *ctx)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        if (m->n >= MD_QUERY_MAX_MATCHES)
            return md_fail(ctx, MD_ETOOBIG,
                           "more than %d points match: narrow the area or add filters",
                           MD_QUERY_MAX_MATCHES);
        struct md_query_hit *v = realloc(m->v, cap * sizeof(*v));
        if (!v)
            return md_fail(ctx, MD_ENOMEM, "within matches");
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = *h;
    return MD_OK;
}

static bool region_contains(const struct md_region *r, struct md_query_hit *h)
{
    switch (r->kind) {
    case MD_REGION_CIRCLE:
        h->distance_m = md_geod_distance(r->lon, r->lat, h->lon, h->lat);
        return h->distance_m <= r->radius_m;
    case MD_REGION_BOXES:
        for (int i = 0; i < r->nboxes; i++) {
            const struct md_bbox *b = &r->boxes[i];
            if (h->lon >= b->minx && h->lon <= b->maxx && h->lat >= b->miny && h->lat <= b->maxy)
                return true;
        }
        return false;
    case MD_REGION_POLYGON: {
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(r->geos, h->lon, h->lat);
        char in = pt ? GEOSPreparedIntersects_r(r->geos, r->polygon, pt) : 0;
        GEOSGeom_destroy_r(r->geos, pt);
        return in == 1;
    }
    default:
        return true;
    }
}

/* Matches of one search box. */
static md_err collect_box(struct md_store *s, const struct layer_sql *sql, const struct md_bbox *b,
                          const struct md_region *r, const struct md_query_filter *f,
                          struct matches *m, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql->boxed, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_double(st, 1, b->minx);
    sqlite3_bind_double(st, 2, b->miny);
    sqlite3_bind_double(st, 3, b->maxx);
    sqlite3_bind_double(st, 4, b->maxy);
    bind_filters(st, f);
    int src = SQLITE_DONE;
    unsigned rows = 0;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_query_hit h = {sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1),
                                 sqlite3_column_double(st, 2), 0};
        /* The work budget (md_ctx_budget): a polygon test can cost far
         * more than the step, so check often. */
        if ((++rows & 63) == 0 && (rc = md_ctx_budget(ctx)))
            break;
        if (region_contains(r, &h))
            rc = matches_add(m, &h, ctx);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "within", ctx);
    sqlite3_reset(st);
    return rc;
}

/* The k-th smallest (0-based, k < n) of v[0..n), reordering v (Wirth). */
static double kth_smallest(double *v, size_t n, size_t k)
{
    ptrdiff_t l = 0, m = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (l < m) {
        double x = v[kk];
        ptrdiff_t i = l, j = m;
        do {
            while (v[i] < x)
                i++;
            while (x < v[j])
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < kk)
            l = i;
        if (kk < i)
            m = j;
    }
    return v[kk];
}

static md_err cand_exact(struct search *q, struct cand *c, bool *found, struct md_ctx *ctx)
{
    struct md_query_hit h;
    md_err rc = lookup_row(q, c->id, c->cell, &h, found, ctx);
    if (!rc && *found) {
        c->d = h.distance_m;
        c->lon = h.lon;
        c->lat = h.lat;
    }
    return rc;
}

static int cand_cmp_distance(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    if (a->d != b->d)
        return a->d < b->d ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* A circle without filters, sorted by distance, from the cached R*Tree:
 * entries whose distance bounds decide inside/outside need no row; rows are
 * read only near the rim and for the page (the offset+limit nearest: those
 * whose lower bound is at most the (offset+limit)-th smallest upper bound,
 * as in nearest). Same matches, order and distances as collect_box. */
static md_err within_circle(struct md_store *s, enum md_layer layer, const struct md_region *r,
                            int64_t offset, int limit, struct md_query_hit *out, int *n,
                            int64_t *matched, struct md_ctx *ctx)
{
    struct search q = {.s = s,
                       .sql = &layer_sql[layer == MD_LAYER_REPORTS],
                       .lon = r->lon,
                       .lat = r->lat,
                       .depth = -1};
    double radius = r->radius_m;
    double *his = NULL;
    md_geod_near_init(&q.near, r->lon, r->lat);
    md_err rc = tree_open(&q, layer, ctx);
    if (!rc)
        rc = read_circle(&q, radius, ctx);
    size_t m = 0; /* inside: compacted to q.c[0..m) */
    for (size_t i = 0; !rc && i < q.n; i++) {
        struct cand c = q.c[i];
        if (c.lo > radius)
            continue;
        if (c.hi > radius) { /* near the rim: decide exactly */
            bool found = false;
            rc = cand_exact(&q, &c, &found, ctx);
            if (rc || !found || !(c.d <= radius))
                continue;
            c.lo = c.hi = c.d;
        }
        q.c[m++] = c;
    }
    if (rc)
        goto out;
    *matched = (int64_t)m;
    size_t k = offset + limit < (int64_t)m ? (size_t)(offset + limit) : m;
    if (k == 0 || offset >= (int64_t)m)
        goto out;
    double cut = INFINITY;
    if (k < m) {
        his = malloc(m * sizeof(*his));
        if (!his) {
            rc = md_fail(ctx, MD_ENOMEM, "within");
            goto out;
        }
        for (size_t i = 0; i < m; i++)
            his[i] = q.c[i].hi;
        cut = kth_smallest(his, m, k - 1);
    }
    size_t e = 0; /* candidates for the first k: compacted to q.c[0..e) */
    for (size_t i = 0; !rc && i < m; i++) {
        struct cand c = q.c[i];
        if (c.lo > cut)
            continue;
        if (c.d < 0) {
            bool found = false;
            rc = cand_exact(&q, &c, &found, ctx);
            if (!rc && !found)
                rc = md_fail(ctx, MD_EDB, "R*Tree entry %lld has no row", (long long)c.id);
        }
        q.c[e++] = c;
    }
    if (rc)
        goto out;
    qsort(q.c, e, sizeof(*q.c), cand_cmp_distance);
    for (size_t i = (size_t)offset; i < e && i < k; i++)
        out[(*n)++] = (struct md_query_hit){q.c[i].id, q.c[i].lon, q.c[i].lat, q.c[i].d};
out:
    free(his);
    free(q.c);
    return rc;
}

/* No region: count and page in SQL (by id). */
static md_err within_all(struct md_store *s, const struct layer_sql *sql,
                         const struct md_query_filter *f, int64_t offset, int limit,
                         struct md_query_hit *out, int *n, int64_t *matched, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql->count, &st, ctx);
    if (rc)
        return rc;
    bind_filters(st, f);
    int src = sqlite3_step(st);
    *matched = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (src != SQLITE_ROW)
        return md_store_fail(s, src, "count", ctx);
    rc = md_store_stmt(s, sql->page, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, limit);
    sqlite3_bind_int64(st, 2, offset);
    bind_filters(st, f);
    while ((src = sqlite3_step(st)) == SQLITE_ROW && *n < limit)
        out[(*n)++] =
            (struct md_query_hit){sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1),
                                  sqlite3_column_double(st, 2), 0};
    if (src != SQLITE_DONE && src != SQLITE_ROW)
        rc = md_store_fail(s, src, "page", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_query_within(struct md_store *s, enum md_layer layer, const struct md_region *r,
                       const struct md_query_filter *f, enum md_query_order order, int64_t offset,
                       int limit, struct md_query_hit *out, int *n, int64_t *matched,
                       struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_query_within(s->pg, layer, r, f, order, offset, limit, out, n, matched, ctx);
    md_err rc = check_layer(layer, ctx);
    struct matches m = {0};
    *n = 0;
    *matched = 0;
    if (rc)
        return rc;
    if (limit < 0 || offset < 0)
        return md_fail(ctx, MD_EINVAL, "limit and offset must not be negative");
    const struct layer_sql *sql = &layer_sql[layer == MD_LAYER_REPORTS];
    bool began = false;
    rc = read_begin(s, &began, ctx);
    if (rc)
        return rc;
    if (r->kind == MD_REGION_ALL) {
        rc = within_all(s, sql, f, offset, limit, out, n, matched, ctx);
        goto out;
    }
    struct md_bbox boxes[2];
    int nboxes = 1;
    if (r->kind == MD_REGION_CIRCLE) {
        if (!(r->radius_m >= 0) || !isfinite(r->radius_m)) {
            rc = md_fail(ctx, MD_EINVAL, "radius must be a non-negative number of metres");
            goto out;
        }
        if (!has_filter(f) && order == MD_ORDER_DISTANCE && isfinite(r->lon) && isfinite(r->lat)) {
            rc = within_circle(s, layer, r, offset, limit, out, n, matched, ctx);
            goto out;
        }
        nboxes = md_geod_bboxes_around(r->lon, r->lat, r->radius_m, boxes);
    } else {
        nboxes = r->kind == MD_REGION_BOXES ? r->nboxes : 1;
        if (nboxes < 1 || nboxes > 2) {
            rc = md_fail(ctx, MD_EINVAL, "a region has one or two boxes");
            goto out;
        }
        memcpy(boxes, r->boxes, sizeof(boxes));
    }
    for (int i = 0; !rc && i < nboxes; i++)
        rc = collect_box(s, sql, &boxes[i], r, f, &m, ctx);
    if (rc)
        goto out;
    if (m.n > 1)
        qsort(m.v, m.n, sizeof(*m.v), order == MD_ORDER_DISTANCE ? hit_cmp_distance : hit_cmp_id);
    size_t kept = 0; /* once each: near an edge two boxes share, both boxes' R*Tree reads find it */
    for (size_t i = 0; i < m.n; i++)
        if (kept == 0 || m.v[i].id != m.v[kept - 1].id)
            m.v[kept++] = m.v[i];
    m.n = kept;
    *matched = (int64_t)m.n;
    for (size_t i = (size_t)offset; i < m.n && *n < limit; i++)
        out[(*n)++] = m.v[i];
out:
    read_end(s, began);
    free(m.v);
    if (rc)
        *n = 0;
    return rc;
}

/* ---- within, one keyset page */

/* Rows after id `after` in id order, tested against the region, until
 * `want` match: the cost is the rows read up to the last, not the depth. */
static md_err scan_ids_after(struct md_store *s, const struct layer_sql *sql,
                             const struct md_region *r, const struct md_query_filter *f,
                             int64_t after, int want, struct md_query_hit *out, int *n,
                             struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql->scan_after, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, after);
    bind_filters(st, f);
    int src = SQLITE_DONE;
    unsigned rows = 0;
    while (!rc && *n < want && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_query_hit h = {sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1),
                                 sqlite3_column_double(st, 2), 0};
        if ((++rows & 63) == 0 && (rc = md_ctx_budget(ctx)))
            break;
        if (region_contains(r, &h))
            out[(*n)++] = h;
    }
    if (!rc && src != SQLITE_DONE && src != SQLITE_ROW)
        rc = md_store_fail(s, src, "within", ctx);
    sqlite3_reset(st);
    return rc;
}

/* Ids of the R*Tree entries under node `nodeno` in box b after id `after`,
 * added to q->c; *seen counts every entry in the box, and the walk stops
 * once it passes TREE_IDS_MAX. */
static md_err collect_ids(struct search *q, int64_t nodeno, int height, const struct md_bbox *b,
                          int64_t after, size_t *seen, int level, struct md_ctx *ctx)
{
    if (level > 40)
        return md_fail(ctx, MD_EDB, "R*Tree deeper than 40 levels");
    struct rt_node *n = NULL;
    bool owned = false;
    md_err rc = node_get(q, nodeno, &n, &owned, ctx);
    for (int i = 0; !rc && i < n->ncell && *seen <= TREE_IDS_MAX; i++) {
        struct rt_cell *c = &n->cell[i];
        if (c->x1 < b->minx || c->x0 > b->maxx || c->y1 < b->miny || c->y0 > b->maxy)
            continue;
        if (height > 0)
            rc = collect_ids(q, c->id, height - 1, b, after, seen, level + 1, ctx);
        else if (++*seen, c->id > after)
            rc = cand_add(q, c->id, 0, 0, owned ? NULL : c, ctx);
    }
    if (owned)
        free(n);
    return rc;
}

static int cand_cmp_id(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* A region's keyset page by id from the cached R*Tree: the entries in its
 * boxes after the cursor, sorted, looked up (filters, exact place) in id
 * order until `want` match. *over when the boxes hold more than
 * TREE_IDS_MAX entries (nothing is returned then). */
static md_err tree_ids_after(struct search *q, const struct md_bbox *boxes, int nboxes,
                             const struct md_region *r, int64_t after, int want,
                             struct md_query_hit *out, int *n, bool *over, struct md_ctx *ctx)
{
    size_t seen = 0;
    md_err rc = tree_depth(q, ctx);
    for (int i = 0; !rc && i < nboxes; i++)
        rc = collect_ids(q, 1, q->depth, &boxes[i], after, &seen, 0, ctx);
    *over = seen > TREE_IDS_MAX;
    if (rc || *over)
        return rc;
    if (q->n > 1)
        qsort(q->c, q->n, sizeof(*q->c), cand_cmp_id);
    for (size_t i = 0; !rc && i < q->n && *n < want; i++) {
        if (i > 0 && q->c[i].id == q->c[i - 1].id)
            continue; /* in both boxes */
        struct md_query_hit h;
        bool found = false;
        if ((i & 63) == 63 && (rc = md_ctx_budget(ctx)))
            break;
        rc = lookup_row(q, q->c[i].id, q->c[i].cell, &h, &found, ctx);
        h.distance_m = 0; /* not from q's (0, 0): only a circle has one (region_contains) */
        if (!rc && found && region_contains(r, &h))
            out[(*n)++] = h;
    }
    return rc;
}

md_err md_query_within_after(struct md_store *s, enum md_layer layer, const struct md_region *r,
                             const struct md_query_filter *f, enum md_query_order order,
                             const struct md_query_after *after, int limit,
                             struct md_query_hit *out, int *n, bool *more, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_query_within_after(s->pg, layer, r, f, order, after, limit, out, n, more,
                                         ctx);
    md_err rc = check_layer(layer, ctx);
    *n = 0;
    *more = false;
    if (rc)
        return rc;
    if (limit < 1 || limit >= MD_QUERY_MAX_MATCHES)
        return md_fail(ctx, MD_EINVAL, "limit must be between 1 and %d", MD_QUERY_MAX_MATCHES - 1);
    const struct layer_sql *sql = &layer_sql[layer == MD_LAYER_REPORTS];
    bool began = false;
    rc = read_begin(s, &began, ctx);
    if (rc)
        return rc;
    int want = limit + 1; /* one more tells whether a next page exists */
    if (r->kind == MD_REGION_CIRCLE && order == MD_ORDER_DISTANCE) {
        if (!(r->radius_m >= 0) || !isfinite(r->radius_m) ||
            !(r->lon >= -180 && r->lon <= 180 && r->lat >= -90 && r->lat <= 90)) {
            rc = md_fail(ctx, MD_EINVAL, "a circle needs a point and a radius in metres");
            goto out;
        }
        /* The nearest after the cursor, at most radius away (max 0 means none). */
        struct search q = {.s = s,
                           .sql = sql,
                           .f = f,
                           .lon = r->lon,
                           .lat = r->lat,
                           .max_m = fmax(r->radius_m, 1e-9),
                           .depth = -1,
                           .after = after};
        rc = nearest_run(&q, layer, want, out, n, ctx);
    } else {
        int64_t after_id = after ? after->id : 0;
        bool over = r->kind == MD_REGION_ALL; /* no region: by id from the cursor */
        if (!over) {
            struct md_bbox boxes[2];
            int nboxes = r->kind == MD_REGION_BOXES ? r->nboxes : 1;
            if (r->kind == MD_REGION_CIRCLE)
                nboxes = md_geod_bboxes_around(r->lon, r->lat, r->radius_m, boxes);
            else
                memcpy(boxes, r->boxes, sizeof(boxes));
            if (nboxes < 1 || nboxes > 2) {
                rc = md_fail(ctx, MD_EINVAL, "a region has one or two boxes");
                goto out;
            }
            struct search q = {.s = s, .sql = sql, .f = f, .depth = -1, .filtered = has_filter(f)};
            rc = tree_open(&q, layer, ctx);
            if (!rc)
                rc = tree_ids_after(&q, boxes, nboxes, r, after_id, want, out, n, &over, ctx);
            free(q.c);
        }
        if (!rc && over) {
            *n = 0;
            rc = scan_ids_after(s, sql, r, f, after_id, want, out, n, ctx);
        }
    }
    if (!rc && *n > limit) {
        *more = true;
        *n = limit;
    }
out:
    read_end(s, began);
    if (rc)
        *n = 0;
    return rc;
}
