/* query.c - nearest and within queries over the point layers (query.h).
 *
 * Nearest is a best-first search (Hjaltason & Samet) over the R*Tree that
 * SpatiaLite keeps for each geometry column. SQLite stores that tree in the
 * table idx_<layer>_geom_node(nodeno, data); node 1 is the root. A node's
 * blob is big-endian: u16 depth of the tree (meaningful in the root only),
 * u16 cell count, then cells of i64 id (child node number in inner nodes,
 * row id in leaves) and four f32 xmin, xmax, ymin, ymax, rounded outwards
 * by SQLite so that a box always contains its entry.
 *
 * A min-heap holds nodes and leaf entries keyed by a lower bound of their
 * geodesic distance (md_geod_min_distance_to_bbox), and rows whose exact
 * distance is known. Popping an exact row with nothing smaller left means
 * it is the next nearest. Leaf entries are looked up (exact lon/lat,
 * filters) only when they reach the top, so a query touches a few nodes and
 * about k rows. Ties at equal distance go to the smaller id: at equal keys
 * bounds pop before exact rows, and exact rows pop by id.
 *
 * A filter that few rows pass could make the search wade through many
 * failing rows; after FALLBACK_ROWS looked-up rows it switches to reading
 * the filtered rows (through their indexes) and keeping the k best, which
 * gives the same answer.
 */
#include "query.h"
#include "geodesic.h"
#include "store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FALLBACK_ROWS 20000
#define HEAP_MAX ((size_t)1 << 24)

bool md_query_point_layer(enum md_layer layer)
{
    return layer == MD_LAYER_FACILITIES || layer == MD_LAYER_REPORTS;
}

/* ---- SQL, per point layer. Filters bind NULL when absent:
 * ?10 category, ?11 group, ?12 status, ?13 district, ?14 kind, ?15 from, ?16 to. */

#define FAC_FILTERS                                                                             \
    " AND (?10 IS NULL OR t.category = ?10) AND ?11 IS NULL AND (?12 IS NULL OR t.status = ?12)" \
    " AND (?13 IS NULL OR t.district_code = ?13) AND ?14 IS NULL"                               \
    " AND (?15 IS NULL OR t.updated_at >= ?15) AND (?16 IS NULL OR t.updated_at <= ?16)"
#define REP_FILTERS                                                                              \
    " AND (?10 IS NULL OR t.service_code = ?10)"                                                 \
    " AND (?11 IS NULL OR t.service_code IN (SELECT code FROM categories WHERE group_code = ?11))" \
    " AND (?12 IS NULL OR t.status = ?12) AND (?13 IS NULL OR t.district_code = ?13)"            \
    " AND (?14 IS NULL OR t.kind = ?14)"                                                         \
    " AND (?15 IS NULL OR t.created_at >= ?15) AND (?16 IS NULL OR t.created_at <= ?16)"

struct layer_sql {
    const char *node;   /* ?1 node number -> blob */
    const char *row;    /* ?1 id -> lon, lat when the row passes the filters */
    const char *scan;   /* all rows passing the filters: id, lon, lat */
    const char *boxed;  /* rows in box ?1..?4 (minx, miny, maxx, maxy) passing filters */
    const char *count;  /* count of rows passing the filters */
    const char *page;   /* rows passing the filters by id: ?1 limit, ?2 offset */
};

static const struct layer_sql layer_sql[2] = {
    {
        "SELECT data FROM idx_facilities_geom_node WHERE nodeno = ?1",
        "SELECT t.lon, t.lat FROM facilities t WHERE t.id = ?1" FAC_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM facilities t WHERE 1" FAC_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM idx_facilities_geom r CROSS JOIN facilities t"
        " ON t.id = r.pkid WHERE r.xmax >= ?1 AND r.xmin <= ?3 AND r.ymax >= ?2"
        " AND r.ymin <= ?4" FAC_FILTERS,
        "SELECT count(*) FROM facilities t WHERE 1" FAC_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM facilities t WHERE 1" FAC_FILTERS
        " ORDER BY t.id LIMIT ?1 OFFSET ?2",
    },
    {
        "SELECT data FROM idx_reports_geom_node WHERE nodeno = ?1",
        "SELECT t.lon, t.lat FROM reports t WHERE t.id = ?1" REP_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM reports t WHERE 1" REP_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM idx_reports_geom r CROSS JOIN reports t"
        " ON t.id = r.pkid WHERE r.xmax >= ?1 AND r.xmin <= ?3 AND r.ymax >= ?2"
        " AND r.ymin <= ?4" REP_FILTERS,
        "SELECT count(*) FROM reports t WHERE 1" REP_FILTERS,
        "SELECT t.id, t.lon, t.lat FROM reports t WHERE 1" REP_FILTERS
        " ORDER BY t.id LIMIT ?1 OFFSET ?2",
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

/* ---- read transaction: one snapshot for the whole query. */

static md_err read_begin(struct md_store *s, bool *began, struct md_ctx *ctx)
{
    static const char sql[] = "BEGIN";
    *began = false;
    if (!sqlite3_get_autocommit(s->db))
        return MD_OK;
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "begin read", ctx);
    *began = true;
    return MD_OK;
}

static void read_end(struct md_store *s, bool began)
{
    static const char sql[] = "COMMIT";
    sqlite3_stmt *st = NULL;
    struct md_ctx ignore;
    md_ctx_init(&ignore);
    if (!began)
        return;
    if (md_store_stmt(s, sql, &st, &ignore) == MD_OK) {
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    if (!sqlite3_get_autocommit(s->db))
        md_store_rollback(s);
}

/* ---- the heap of the best-first search. */

enum item_kind { ITEM_NODE = 0, ITEM_ENTRY = 1, ITEM_ROW = 2 };

struct item {
    double key;
    int64_t ref; /* node number, or row id */
    int kind;
    int height; /* nodes: 0 = leaf */
    double lon, lat; /* ITEM_ROW */
};

struct heap {
    struct item *v;
    size_t n, cap;
};

static bool item_before(const struct item *a, const struct item *b)
{
    if (a->key != b->key)
        return a->key < b->key;
    if (a->kind != b->kind)
        return a->kind < b->kind;
    return a->ref < b->ref;
}

static md_err heap_push(struct heap *h, const struct item *it, struct md_ctx *ctx)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        if (cap > HEAP_MAX)
            return md_fail(ctx, MD_ETOOBIG, "nearest search exceeded %zu queued entries", HEAP_MAX);
        struct item *v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return md_fail(ctx, MD_ENOMEM, "nearest search heap");
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!item_before(it, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = *it;
    return MD_OK;
}

static struct item heap_pop(struct heap *h)
{
    struct item top = h->v[0];
    struct item last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && item_before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!item_before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

/* ---- R*Tree nodes. */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static double bef32(const unsigned char *p)
{
    uint32_t u = be32(p);
    float f;
    memcpy(&f, &u, sizeof(f));
    return (double)f;
}

#define CELL_BYTES 24 /* i64 id + 4 x f32 */

struct search {
    struct md_store *s;
    const struct layer_sql *sql;
    const struct md_query_filter *f;
    double lon, lat, max_m;
    struct heap heap;
    int depth;
    int64_t rows_read;
};

/* Push the cells of node `nodeno` at `height` onto the heap. */
static md_err expand_node(struct search *q, int64_t nodeno, int height, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(q->s, q->sql->node, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, nodeno);
    int src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        sqlite3_reset(st);
        return src == SQLITE_DONE ? md_fail(ctx, MD_EDB, "R*Tree node %lld is missing",
                                            (long long)nodeno)
                                  : md_store_fail(q->s, src, "R*Tree node", ctx);
    }
    const unsigned char *d = sqlite3_column_blob(st, 0);
    int len = sqlite3_column_bytes(st, 0);
    if (!d || len < 4) {
        sqlite3_reset(st);
        return md_fail(ctx, MD_EDB, "R*Tree node %lld is malformed", (long long)nodeno);
    }
    if (nodeno == 1)
        q->depth = (int)(be32(d) >> 16);
    if (height < 0)
        height = q->depth;
    int ncell = (int)(be32(d) & 0xffff);
    if (4 + ncell * CELL_BYTES > len) {
        sqlite3_reset(st);
        return md_fail(ctx, MD_EDB, "R*Tree node %lld is malformed", (long long)nodeno);
    }
    for (int i = 0; !rc && i < ncell; i++) {
        const unsigned char *c = d + 4 + i * CELL_BYTES;
        struct md_bbox b = {bef32(c + 8), bef32(c + 16), bef32(c + 12), bef32(c + 20)};
        struct item it = {
            .key = md_geod_min_distance_to_bbox(q->lon, q->lat, &b),
            .ref = be64(c),
            .kind = height > 0 ? ITEM_NODE : ITEM_ENTRY,
            .height = height - 1,
        };
        if (q->max_m > 0 && it.key > q->max_m)
            continue;
        rc = heap_push(&q->heap, &it, ctx);
    }
    sqlite3_reset(st);
    return rc;
}

/* Look up entry `id`: push it back as an exact row when it passes the filters. */
static md_err resolve_entry(struct search *q, int64_t id, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(q->s, q->sql->row, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    bind_filters(st, q->f);
    q->rows_read++;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        struct item it = {.ref = id, .kind = ITEM_ROW, .lon = sqlite3_column_double(st, 0),
                          .lat = sqlite3_column_double(st, 1)};
        it.key = md_geod_distance(q->lon, q->lat, it.lon, it.lat);
        if (!(q->max_m > 0 && it.key > q->max_m))
            rc = heap_push(&q->heap, &it, ctx);
    } else if (src != SQLITE_DONE) {
        rc = md_store_fail(q->s, src, "nearest row", ctx);
    }
    sqlite3_reset(st);
    return rc;
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
        if (q->max_m > 0 && h.distance_m > q->max_m)
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

static md_err check_layer(enum md_layer layer, struct md_ctx *ctx)
{
    if (!md_query_point_layer(layer))
        return md_fail(ctx, MD_EINVAL, "layer %s is not a point layer",
                       md_layer_name(layer) ? md_layer_name(layer) : "?");
    return MD_OK;
}

md_err md_query_nearest(struct md_store *s, enum md_layer layer, double lon, double lat, int k,
                        double max_distance_m, const struct md_query_filter *f,
                        struct md_query_hit *out, int *n, struct md_ctx *ctx)
{
    md_err rc = check_layer(layer, ctx);
    *n = 0;
    if (rc)
        return rc;
    if (k < 1 || k > MD_QUERY_MAX_K)
        return md_fail(ctx, MD_EINVAL, "k must be between 1 and %d", MD_QUERY_MAX_K);
    if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90))
        return md_fail(ctx, MD_EINVAL, "point %g,%g is outside -180..180, -90..90", lon, lat);
    struct search q = {.s = s, .sql = &layer_sql[layer == MD_LAYER_REPORTS], .f = f,
                       .lon = lon, .lat = lat, .max_m = max_distance_m};
    bool began = false;
    rc = read_begin(s, &began, ctx);
    if (!rc)
        rc = expand_node(&q, 1, -1, ctx);
    while (!rc && *n < k && q.heap.n > 0) {
        struct item it = heap_pop(&q.heap);
        if (it.kind == ITEM_ROW)
            out[(*n)++] = (struct md_query_hit){it.ref, it.lon, it.lat, it.key};
        else if (it.kind == ITEM_NODE)
            rc = expand_node(&q, it.ref, it.height, ctx);
        else if (q.rows_read >= FALLBACK_ROWS) {
            rc = nearest_by_scan(&q, k, out, n, ctx);
            break;
        } else
            rc = resolve_entry(&q, it.ref, ctx);
    }
    read_end(s, began);
    free(q.heap.v);
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
    default: return true;
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
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_query_hit h = {sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1),
                                 sqlite3_column_double(st, 2), 0};
        if (region_contains(r, &h))
            rc = matches_add(m, &h, ctx);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "within", ctx);
    sqlite3_reset(st);
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
        out[(*n)++] = (struct md_query_hit){sqlite3_column_int64(st, 0),
                                            sqlite3_column_double(st, 1),
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
