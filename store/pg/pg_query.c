/* pg_query.c - nearest and within queries on PostGIS (pg_query.h).
 *
 * PostgreSQL only chooses candidates; every answer is decided in C, as on
 * SQLite: exact lon/lat from the table (float8, read in binary), the
 * distance from md_geod_distance() in the same argument order, the same
 * region tests (boxes with edges, a GEOS prepared polygon, a geodesic
 * circle) and the same sort by distance then id, so distances, ties and
 * order equal SQLite's to the last bit.
 *
 * Candidates come through the GiST index on geom:
 *   - boxes: `geom && ST_MakeEnvelope(...)` over the region's boxes (a
 *     circle's from md_geod_bboxes_around, which holds every point within
 *     its radius; PostGIS rounds index boxes outwards, so no point on an
 *     edge is lost), read in id order in batches after an id cursor, so
 *     memory stays bounded and a keyset page stops once it is full;
 *   - nearest: a KNN scan (`geom <-> point`, planar degrees) gives k rows
 *     that pass the filters; the largest geodesic distance D among them
 *     bounds the k-th nearest, so the box around the circle of radius D
 *     (or max distance, if smaller) holds the whole answer: its rows are
 *     read and the k best kept. Fewer than k rows from KNN are every row
 *     that passes.
 * Filters are the SQLite statements' conditions, parameter for parameter
 * (comma lists through strpos as MD_SQL_IN_LIST's instr; a group or kind
 * on facilities matches nothing). Every call reads one snapshot
 * (REPEATABLE READ) unless the caller holds one.
 *
 * Differences kept on purpose: a keyset page by distance reads the rows of
 * the whole circle (SQLite's R*Tree walk skips those before the cursor), and
 * MD_ETOOBIG counts matches where SQLite counts index entries of the box.
 */
#include "pg_query.h"

#include "geodesic.h"
#include "pg_store.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows per batch of a box read. */
#define BATCH_MAX 65536
/* Box coordinates are clamped to this before binding: the tables' CHECKs
 * keep every point within -180..180, -90..90, and PostGIS needs finite
 * envelopes. */
#define COORD_CLAMP 1000.0
/* A circle this big (> pi b) holds the whole ellipsoid (query.c's). */
#define WHOLE_EARTH_M 2.1e7

/* ---- SQL. $1..$7 are the filters (NULL: no condition): category, group,
 * status, district, kind, from, to; the statement's own parameters follow. */

/* clang-format off */
#define IN_LIST(p, col) "strpos(',' || " p "::text || ',', ',' || " col " || ',') > 0"
#define FAC_FILTERS                                                                                \
    " AND ($1::text IS NULL OR " IN_LIST("$1", "t.category") ") AND $2::text IS NULL"            \
    " AND ($3::text IS NULL OR " IN_LIST("$3", "t.status") ")"                                    \
    " AND ($4::text IS NULL OR t.district_code = $4::text) AND $5::text IS NULL"                  \
    " AND ($6::bigint IS NULL OR t.updated_at >= $6::bigint)"                                     \
    " AND ($7::bigint IS NULL OR t.updated_at <= $7::bigint)"
#define REP_FILTERS                                                                                \
    " AND ($1::text IS NULL OR " IN_LIST("$1", "t.service_code") ")"                              \
    " AND ($2::text IS NULL OR t.service_code IN"                                                  \
    " (SELECT code FROM categories WHERE group_code = $2::text))"                                  \
    " AND ($3::text IS NULL OR " IN_LIST("$3", "t.status") ")"                                    \
    " AND ($4::text IS NULL OR t.district_code = $4::text)"                                       \
    " AND ($5::text IS NULL OR t.kind = $5::text)"                                                \
    " AND ($6::bigint IS NULL OR t.created_at >= $6::bigint)"                                     \
    " AND ($7::bigint IS NULL OR t.created_at <= $7::bigint)"
#define NFILTERS 7
/* clang-format on */

#define ENV(a, b, c, d)                                                                            \
    "ST_MakeEnvelope($" a "::float8, $" b "::float8, $" c "::float8, $" d "::float8, 4326)"

enum stmt { ST_KNN, ST_BOX1, ST_BOX2, ST_COUNT, ST_PAGE, ST_AFTER, ST_N };

struct stmt_sql {
    const char *name, *sql;
    int nparams;
};

/* clang-format off */
#define LAYER_SQL(tag, table, filters)                                                             \
    {                                                                                              \
        {"md_q_" tag "_knn",                                                                       \
         "SELECT t.id, t.lon, t.lat FROM " table " t WHERE true" filters                           \
         " ORDER BY t.geom <-> ST_SetSRID(ST_MakePoint($8::float8, $9::float8), 4326)"             \
         " LIMIT $10::integer", 10},                                                               \
        {"md_q_" tag "_box1",                                                                      \
         "SELECT t.id, t.lon, t.lat FROM " table " t"                                              \
         " WHERE t.geom && " ENV("8", "9", "10", "11")                                             \
         " AND t.id > $12::bigint" filters " ORDER BY t.id LIMIT $13::integer", 13},               \
        {"md_q_" tag "_box2",                                                                      \
         "SELECT t.id, t.lon, t.lat FROM " table " t"                                              \
         " WHERE (t.geom && " ENV("8", "9", "10", "11")                                            \
         " OR t.geom && " ENV("12", "13", "14", "15") ")"                                          \
         " AND t.id > $16::bigint" filters " ORDER BY t.id LIMIT $17::integer", 17},               \
        {"md_q_" tag "_count", "SELECT count(*) FROM " table " t WHERE true" filters, 7},          \
        {"md_q_" tag "_page",                                                                      \
         "SELECT t.id, t.lon, t.lat FROM " table " t WHERE true" filters                           \
         " ORDER BY t.id LIMIT $8::bigint OFFSET $9::bigint", 9},                                  \
        {"md_q_" tag "_after",                                                                     \
         "SELECT t.id, t.lon, t.lat FROM " table " t WHERE t.id > $8::bigint" filters              \
         " ORDER BY t.id LIMIT $9::integer", 9},                                                   \
    }
/* clang-format on */

static const struct stmt_sql layer_sql[2][ST_N] = {
    LAYER_SQL("fac", "facilities", FAC_FILTERS),
    LAYER_SQL("rep", "reports", REP_FILTERS),
};

/* The parameters of one statement: the filters, then its own. */
struct params {
    char from[24], to[24];
    char num[10][MD_PG_DOUBLE_CHARS];
    const char *v[NFILTERS + 10];
};

static void params_init(struct params *p, const struct md_query_filter *f)
{
    static const struct md_query_filter none;
    if (!f)
        f = &none;
    memset(p->v, 0, sizeof(p->v));
    p->v[0] = f->category;
    p->v[1] = f->group;
    p->v[2] = f->status;
    p->v[3] = f->district;
    p->v[4] = f->kind;
    if (f->has_from) {
        snprintf(p->from, sizeof(p->from), "%" PRId64, f->from);
        p->v[5] = p->from;
    }
    if (f->has_to) {
        snprintf(p->to, sizeof(p->to), "%" PRId64, f->to);
        p->v[6] = p->to;
    }
}

/* Statement parameter $(NFILTERS + 1 + i) := a double / an integer. */
static void param_double(struct params *p, int i, double v)
{
    md__pg_double_param(v, p->num[i]);
    p->v[NFILTERS + i] = p->num[i];
}

static void param_int(struct params *p, int i, int64_t v)
{
    snprintf(p->num[i], sizeof(p->num[i]), "%" PRId64, v);
    p->v[NFILTERS + i] = p->num[i];
}

static md_err run(struct md_pg *pg, int li, enum stmt which, const struct params *p, PGresult **out,
                  struct md_ctx *ctx)
{
    const struct stmt_sql *s = &layer_sql[li][which];
    return md__pg_query(pg, s->name, s->sql, s->nparams, p->v, out, ctx);
}

static struct md_query_hit row_hit(const PGresult *r, int i)
{
    return (struct md_query_hit){md__pg_int(r, i, 0), md__pg_double(r, i, 1),
                                 md__pg_double(r, i, 2), 0};
}

/* ---- what query.c decides, decided the same way */

static md_err check_layer(enum md_layer layer, struct md_ctx *ctx)
{
    if (!md_query_point_layer(layer))
        return md_fail(ctx, MD_EINVAL, "layer %s is not a point layer",
                       md_layer_name(layer) ? md_layer_name(layer) : "?");
    return MD_OK;
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

static md_err snapshot_begin(struct md_pg *pg, bool *began, struct md_ctx *ctx)
{
    *began = md__pg_txn_state(pg) == MD_TXN_NONE;
    return *began ? md__pg_read_begin(pg, ctx) : MD_OK;
}

static void snapshot_end(struct md_pg *pg, bool began)
{
    if (began)
        md__pg_read_end(pg);
}

/* ---- candidates: the rows in one or two boxes, in id order */

/* Called per row; sets *stop to end the read early. */
typedef md_err (*row_fn)(void *userdata, struct md_query_hit *h, bool *stop, struct md_ctx *ctx);

static double clamp(double v)
{
    return v < -COORD_CLAMP ? -COORD_CLAMP : v > COORD_CLAMP ? COORD_CLAMP : v;
}

/* The rows passing p's filters whose points lie in boxes[0..nboxes) (each
 * row once) with id > after_id, in id order, to fn; read `batch` rows at a
 * time (growing to BATCH_MAX). A box with a NaN or inverted side holds
 * nothing (SQLite binds NaN as NULL). budget: check ctx's work budget
 * every 64 rows, as SQLite's within does. */
static md_err each_in_boxes(struct md_pg *pg, int li, const struct md_bbox *boxes, int nboxes,
                            struct params *p, int64_t after_id, int batch, bool budget, row_fn fn,
                            void *userdata, struct md_ctx *ctx)
{
    struct md_bbox b[2];
    int nb = 0;
    for (int i = 0; i < nboxes && i < 2; i++) {
        if (boxes[i].minx <= boxes[i].maxx && boxes[i].miny <= boxes[i].maxy)
            b[nb++] = boxes[i];
    }
    if (nb == 0)
        return MD_OK;
    for (int i = 0; i < nb; i++) {
        param_double(p, 4 * i + 0, clamp(b[i].minx));
        param_double(p, 4 * i + 1, clamp(b[i].miny));
        param_double(p, 4 * i + 2, clamp(b[i].maxx));
        param_double(p, 4 * i + 3, clamp(b[i].maxy));
    }
    md_err rc = MD_OK;
    bool stop = false;
    unsigned rows = 0;
    if (batch < 1)
        batch = 1;
    while (!rc && !stop) {
        param_int(p, 4 * nb, after_id);
        param_int(p, 4 * nb + 1, batch);
        PGresult *r = NULL;
        rc = run(pg, li, nb == 1 ? ST_BOX1 : ST_BOX2, p, &r, ctx);
        int got = r ? PQntuples(r) : 0;
        for (int i = 0; !rc && !stop && i < got; i++) {
            struct md_query_hit h = row_hit(r, i);
            after_id = h.id;
            if (budget && (++rows & 63) == 0 && (rc = md_ctx_budget(ctx)))
                break;
            rc = fn(userdata, &h, &stop, ctx);
        }
        PQclear(r);
        if (got < batch)
            break;
        batch = batch > BATCH_MAX / 4 ? BATCH_MAX : batch * 4;
    }
    return rc;
}

/* ---- nearest: the k best by distance then id */

struct best {
    double lon, lat, max_m;             /* max_m <= 0 (or NaN): unlimited */
    const struct md_query_after *after; /* only points after it; NULL: all */
    size_t k;
    struct matches m; /* kept: sorted and cut to k whenever it reaches 2k + 4096 */
};

static void best_cut(struct best *b)
{
    if (b->m.n > 1)
        qsort(b->m.v, b->m.n, sizeof(*b->m.v), hit_cmp_distance);
    if (b->m.n > b->k)
        b->m.n = b->k;
}

static md_err best_add(void *userdata, struct md_query_hit *h, bool *stop, struct md_ctx *ctx)
{
    struct best *b = userdata;
    (void)stop;
    h->distance_m = md_geod_distance(b->lon, b->lat, h->lon, h->lat);
    if (b->max_m > 0 && h->distance_m > b->max_m)
        return MD_OK;
    const struct md_query_after *a = b->after;
    if (a && !(h->distance_m > a->distance_m || (h->distance_m == a->distance_m && h->id > a->id)))
        return MD_OK;
    if (b->m.n >= 2 * b->k + 4096)
        best_cut(b);
    return matches_add(&b->m, h, ctx);
}

/* The k best after b->after into out, *n of them. */
static md_err nearest_run(struct md_pg *pg, int li, struct params *p, struct best *b,
                          struct md_query_hit *out, int *n, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    *n = 0;
    double radius = b->max_m > 0 ? b->max_m : WHOLE_EARTH_M;
    if (!b->after) {
        /* k rows by KNN: every row when fewer, else a bound of the k-th. */
        PGresult *r = NULL;
        param_double(p, 0, b->lon);
        param_double(p, 1, b->lat);
        param_int(p, 2, (int64_t)b->k);
        rc = run(pg, li, ST_KNN, p, &r, ctx);
        int got = r ? PQntuples(r) : 0;
        double far = 0;
        for (int i = 0; !rc && i < got; i++) {
            struct md_query_hit h = row_hit(r, i);
            if ((size_t)got < b->k) {
                rc = best_add(b, &h, NULL, ctx);
            } else {
                double d = md_geod_distance(b->lon, b->lat, h.lon, h.lat);
                far = d > far ? d : far;
            }
        }
        PQclear(r);
        if (rc || (size_t)got < b->k)
            goto out;
        radius = fmin(radius, far);
    }
    /* Widened a little: only more candidates, each decided exactly. */
    struct md_bbox boxes[2];
    int nboxes = md_geod_bboxes_around(b->lon, b->lat, radius * (1.0 + 1e-9) + 1e-6, boxes);
    rc = each_in_boxes(pg, li, boxes, nboxes, p, INT64_MIN, BATCH_MAX, false, best_add, b, ctx);
out:
    if (!rc) {
        best_cut(b);
        for (size_t i = 0; i < b->m.n; i++)
            out[(*n)++] = b->m.v[i];
    }
    free(b->m.v);
    b->m.v = NULL;
    return rc;
}

md_err md__pg_query_nearest(struct md_pg *pg, enum md_layer layer, double lon, double lat, int k,
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
    bool began = false;
    rc = snapshot_begin(pg, &began, ctx);
    if (rc)
        return rc;
    struct params p;
    params_init(&p, f);
    struct best b = {.lon = lon, .lat = lat, .max_m = max_distance_m, .k = (size_t)k};
    rc = nearest_run(pg, layer == MD_LAYER_REPORTS, &p, &b, out, n, ctx);
    snapshot_end(pg, began);
    if (rc)
        *n = 0;
    return rc;
}

/* ---- within */

struct collect {
    const struct md_region *r;
    struct matches m;
    struct md_query_hit *out; /* a keyset page: out[0..want), else NULL: into m */
    int n, want;
};

static md_err collect_row(void *userdata, struct md_query_hit *h, bool *stop, struct md_ctx *ctx)
{
    struct collect *c = userdata;
    if (!region_contains(c->r, h))
        return MD_OK;
    if (!c->out)
        return matches_add(&c->m, h, ctx);
    c->out[c->n++] = *h;
    *stop = c->n >= c->want;
    return MD_OK;
}

/* No region: count and page in SQL (by id). */
static md_err within_all(struct md_pg *pg, int li, struct params *p, int64_t offset, int limit,
                         struct md_query_hit *out, int *n, int64_t *matched, struct md_ctx *ctx)
{
    PGresult *r = NULL;
    md_err rc = run(pg, li, ST_COUNT, p, &r, ctx);
    if (!rc)
        *matched = PQntuples(r) == 1 ? md__pg_int(r, 0, 0) : 0;
    PQclear(r);
    r = NULL;
    if (rc)
        return rc;
    param_int(p, 0, limit);
    param_int(p, 1, offset);
    rc = run(pg, li, ST_PAGE, p, &r, ctx);
    for (int i = 0, got = r ? PQntuples(r) : 0; !rc && i < got && *n < limit; i++)
        out[(*n)++] = row_hit(r, i);
    PQclear(r);
    return rc;
}

md_err md__pg_query_within(struct md_pg *pg, enum md_layer layer, const struct md_region *r,
                           const struct md_query_filter *f, enum md_query_order order,
                           int64_t offset, int limit, struct md_query_hit *out, int *n,
                           int64_t *matched, struct md_ctx *ctx)
{
    md_err rc = check_layer(layer, ctx);
    struct collect c = {.r = r};
    *n = 0;
    *matched = 0;
    if (rc)
        return rc;
    if (limit < 0 || offset < 0)
        return md_fail(ctx, MD_EINVAL, "limit and offset must not be negative");
    int li = layer == MD_LAYER_REPORTS;
    struct params p;
    params_init(&p, f);
    bool began = false;
    rc = snapshot_begin(pg, &began, ctx);
    if (rc)
        return rc;
    if (r->kind == MD_REGION_ALL) {
        rc = within_all(pg, li, &p, offset, limit, out, n, matched, ctx);
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
    rc = each_in_boxes(pg, li, boxes, nboxes, &p, INT64_MIN, BATCH_MAX, true, collect_row, &c, ctx);
    if (rc)
        goto out;
    if (c.m.n > 1)
        qsort(c.m.v, c.m.n, sizeof(*c.m.v),
              order == MD_ORDER_DISTANCE ? hit_cmp_distance : hit_cmp_id);
    *matched = (int64_t)c.m.n;
    for (size_t i = (size_t)offset; i < c.m.n && *n < limit; i++)
        out[(*n)++] = c.m.v[i];
out:
    snapshot_end(pg, began);
    free(c.m.v);
    if (rc)
        *n = 0;
    return rc;
}

md_err md__pg_query_within_after(struct md_pg *pg, enum md_layer layer, const struct md_region *r,
                                 const struct md_query_filter *f, enum md_query_order order,
                                 const struct md_query_after *after, int limit,
                                 struct md_query_hit *out, int *n, bool *more, struct md_ctx *ctx)
{
    md_err rc = check_layer(layer, ctx);
    *n = 0;
    *more = false;
    if (rc)
        return rc;
    if (limit < 1 || limit >= MD_QUERY_MAX_MATCHES)
        return md_fail(ctx, MD_EINVAL, "limit must be between 1 and %d", MD_QUERY_MAX_MATCHES - 1);
    int li = layer == MD_LAYER_REPORTS;
    struct params p;
    params_init(&p, f);
    bool began = false;
    rc = snapshot_begin(pg, &began, ctx);
    if (rc)
        return rc;
    int want = limit + 1; /* one more tells whether a next page exists */
    if (r->kind == MD_REGION_CIRCLE && order == MD_ORDER_DISTANCE) {
        if (!(r->radius_m >= 0) || !isfinite(r->radius_m) ||
            !(r->lon >= -180 && r->lon <= 180 && r->lat >= -90 && r->lat <= 90)) {
            rc = md_fail(ctx, MD_EINVAL, "a circle needs a point and a radius in metres");
            goto out;
        }
        /* The nearest after the cursor, at most radius away (as SQLite: a
         * radius of 0 keeps points within 1e-9 m). */
        struct best b = {.lon = r->lon,
                         .lat = r->lat,
                         .max_m = fmax(r->radius_m, 1e-9),
                         .after = after,
                         .k = (size_t)want};
        rc = nearest_run(pg, li, &p, &b, out, n, ctx);
    } else {
        int64_t after_id = after ? after->id : 0;
        if (r->kind == MD_REGION_ALL) {
            PGresult *res = NULL;
            param_int(&p, 0, after_id);
            param_int(&p, 1, want);
            rc = run(pg, li, ST_AFTER, &p, &res, ctx);
            for (int i = 0, got = res ? PQntuples(res) : 0; !rc && i < got && *n < want; i++)
                out[(*n)++] = row_hit(res, i);
            PQclear(res);
        } else {
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
            struct collect c = {.r = r, .out = out, .want = want};
            int batch = want < 32 ? 64 : want > BATCH_MAX / 2 ? BATCH_MAX : want * 2;
            rc = each_in_boxes(pg, li, boxes, nboxes, &p, after_id, batch, true, collect_row, &c,
                               ctx);
            *n = c.n;
        }
    }
    if (!rc && *n > limit) {
        *more = true;
        *n = limit;
    }
out:
    snapshot_end(pg, began);
    if (rc)
        *n = 0;
    return rc;
}
