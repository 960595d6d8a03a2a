/* Location queries on PostGIS (store/pg/pg_query.c) against SpatiaLite's
 * (store/read/query.c), on a throwaway cluster and a sample city (`mapd
 * sample`, plus a twin of every 7th point at the same place, so distances
 * tie and the id decides) copied over with md_pg_copy_from_store:
 *   - same_answers: for each point layer, each kind of filter (none,
 *     category and a comma list of them, report group, status and a list,
 *     district, kind, time from / to / both, a combination, group and kind
 *     on facilities), a few hundred random points, k, max distances, radii
 *     and boxes (one, two split at a longitude or overlapping), a district
 *     polygon and a triangle with a vertex on a point, and no region, in
 *     both orders:
 *     the hit arrays (ids, lon/lat and distances bit for bit), matched
 *     counts, an offset page and the keyset pages (each page, and stitched
 *     together they equal the full list) are the same from both backends;
 *     answers are sorted as the contract says, nearest equals a brute-force
 *     sort by md_geod_distance and id, and the answers are not trivial;
 *   - bad_arguments: the same md_err and message from both;
 *   - pg_write_shows: a report inserted into PostgreSQL only is in
 *     PostgreSQL's answers and not in SQLite's (the comparison cannot pass
 *     by reading one backend twice).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geodesic.h"
#include "geos_ctx.h"
#include "harness.h"
#include "pg_copy.h"
#include "pg_harness.h"
#include "pg_schema.h"
#include "query.h"
#include "store_int.h"

#define CAP 65536 /* hits of a full answer */

static struct md_pg_cluster pg;
static char dir[64] = "/tmp/mapd-pgquery-XXXXXX";
static char db_path[128], uri[256];
static struct md_store *lite, *post;
static struct md_geos *geos;
static struct md_query_hit *ha, *hb, *pa, *pb; /* full answers, keyset stitches */

struct lonlat {
    double lon, lat;
};

/* The points of both layers from SQLite: random centres and brute force. */
struct layer_rows {
    int64_t *id;
    struct lonlat *p;
    int n;
    struct md_bbox extent;
};
static struct layer_rows rows[2];

/* The filter kinds, per layer, from the data. */
#define NFILTERS 14
static struct md_query_filter filters[2][NFILTERS];
static int nfilters[2];
static char text[2][8][160];

/* Polygons: a district's, a triangle. */
struct polygon {
    GEOSGeometry *g;
    const GEOSPreparedGeometry *prep;
    struct md_bbox env;
};
static struct polygon polys[2];

static size_t total_hits, nonempty, queries;

/* ---- helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static double urand(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rnd() >> 11) / 9007199254740992.0);
}

static void sqlite_text(const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(md_store_db(lite), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    assert_non_null(t);
    snprintf(out, n, "%s", (const char *)t);
    sqlite3_finalize(st);
}

static int64_t sqlite_int(const char *sql)
{
    char t[64];
    sqlite_text(sql, t, sizeof(t));
    return strtoll(t, NULL, 10);
}

static void load_rows(int li, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT id, lon, lat FROM %s ORDER BY id", table);
    struct layer_rows *lr = &rows[li];
    lr->id = malloc(CAP * sizeof(*lr->id));
    lr->p = malloc(CAP * sizeof(*lr->p));
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(md_store_db(lite), sql, -1, &st, NULL), SQLITE_OK);
    lr->extent = (struct md_bbox){180, 90, -180, -90};
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_true(lr->n < CAP);
        lr->id[lr->n] = sqlite3_column_int64(st, 0);
        struct lonlat p = {sqlite3_column_double(st, 1), sqlite3_column_double(st, 2)};
        lr->p[lr->n++] = p;
        lr->extent.minx = fmin(lr->extent.minx, p.lon);
        lr->extent.maxx = fmax(lr->extent.maxx, p.lon);
        lr->extent.miny = fmin(lr->extent.miny, p.lat);
        lr->extent.maxy = fmax(lr->extent.maxy, p.lat);
    }
    sqlite3_finalize(st);
    assert_true(lr->n > 1000);
}

/* Filters of layer li; text slots for their strings. */
static void filters_build(void)
{
    static int64_t t_mid[2], t_lo[2];
    /* facilities */
    sqlite_text("SELECT category FROM facilities GROUP BY category ORDER BY count(*) DESC, category"
                " LIMIT 1",
                text[0][0], 160);
    char second[64];
    sqlite_text("SELECT category FROM facilities GROUP BY category ORDER BY count(*) DESC,"
                " category LIMIT 1 OFFSET 2",
                second, sizeof(second));
    snprintf(text[0][1], 160, "%.60s,%.60s", second, text[0][0]);
    sqlite_text("SELECT district_code FROM facilities WHERE district_code IS NOT NULL"
                " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
                text[0][2], 160);
    t_mid[0] = sqlite_int("SELECT updated_at FROM facilities ORDER BY updated_at, id"
                          " LIMIT 1 OFFSET (SELECT count(*) / 2 FROM facilities)");
    t_lo[0] = sqlite_int("SELECT updated_at FROM facilities ORDER BY updated_at, id"
                         " LIMIT 1 OFFSET (SELECT count(*) / 4 FROM facilities)");
    /* reports */
    sqlite_text("SELECT service_code FROM reports GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
                text[1][0], 160);
    sqlite_text("SELECT service_code FROM reports GROUP BY 1 ORDER BY count(*) DESC, 1"
                " LIMIT 1 OFFSET 3",
                second, sizeof(second));
    snprintf(text[1][1], 160, "%.60s,%.60s", text[1][0], second);
    sqlite_text("SELECT district_code FROM reports GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
                text[1][2], 160);
    sqlite_text("SELECT c.group_code FROM reports r JOIN categories c ON c.code = r.service_code"
                " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1 OFFSET 1",
                text[1][3], 160);
    sqlite_text("SELECT status FROM reports GROUP BY 1 ORDER BY count(*) DESC LIMIT 1 OFFSET 1",
                text[1][4], 160);
    t_mid[1] = sqlite_int("SELECT created_at FROM reports ORDER BY created_at, id"
                          " LIMIT 1 OFFSET (SELECT count(*) / 2 FROM reports)");
    t_lo[1] = sqlite_int("SELECT created_at FROM reports ORDER BY created_at, id"
                         " LIMIT 1 OFFSET (SELECT count(*) / 4 FROM reports)");
    snprintf(text[1][5], 160, "reported,%.60s", text[1][4]);

    struct md_query_filter *f = filters[0];
    int n = 0;
    f[n++] = (struct md_query_filter){0};
    f[n++] = (struct md_query_filter){.category = text[0][0]};
    f[n++] = (struct md_query_filter){.category = text[0][1]};
    f[n++] = (struct md_query_filter){.status = "open"};
    f[n++] = (struct md_query_filter){.status = "closed,unverified"};
    f[n++] = (struct md_query_filter){.district = text[0][2]};
    f[n++] = (struct md_query_filter){.has_from = true, .from = t_mid[0]};
    f[n++] = (struct md_query_filter){.has_to = true, .to = t_mid[0]};
    f[n++] =
        (struct md_query_filter){.has_from = true, .from = t_lo[0], .has_to = true, .to = t_mid[0]};
    f[n++] =
        (struct md_query_filter){.category = text[0][1], .status = "open", .district = text[0][2]};
    f[n++] = (struct md_query_filter){.group = "100"};     /* never on facilities */
    f[n++] = (struct md_query_filter){.kind = "problem"};  /* never on facilities */
    f[n++] = (struct md_query_filter){.category = "nope"}; /* no such category */
    nfilters[0] = n;

    f = filters[1];
    n = 0;
    f[n++] = (struct md_query_filter){0};
    f[n++] = (struct md_query_filter){.category = text[1][0]};
    f[n++] = (struct md_query_filter){.category = text[1][1]};
    f[n++] = (struct md_query_filter){.group = text[1][3]};
    f[n++] = (struct md_query_filter){.status = text[1][4]};
    f[n++] = (struct md_query_filter){.status = text[1][5]};
    f[n++] = (struct md_query_filter){.district = text[1][2]};
    f[n++] = (struct md_query_filter){.kind = "problem"};
    f[n++] = (struct md_query_filter){.kind = "incident"};
    f[n++] = (struct md_query_filter){.has_from = true, .from = t_mid[1]};
    f[n++] = (struct md_query_filter){.has_to = true, .to = t_mid[1]};
    f[n++] =
        (struct md_query_filter){.has_from = true, .from = t_lo[1], .has_to = true, .to = t_mid[1]};
    f[n++] = (struct md_query_filter){
        .group = text[1][3], .status = text[1][5], .district = text[1][2], .kind = "problem"};
    nfilters[1] = n;
}

static void polygon_env(struct polygon *p)
{
    GEOSContextHandle_t h = md_geos_handle(geos);
    GEOSGeom_getXMin_r(h, p->g, &p->env.minx);
    GEOSGeom_getYMin_r(h, p->g, &p->env.miny);
    GEOSGeom_getXMax_r(h, p->g, &p->env.maxx);
    GEOSGeom_getYMax_r(h, p->g, &p->env.maxy);
    p->prep = GEOSPrepare_r(h, p->g);
    assert_non_null(p->prep);
}

static void polygons_build(void)
{
    GEOSContextHandle_t h = md_geos_handle(geos);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(md_store_db(lite),
                           "SELECT AsBinary(geom) FROM districts WHERE code = (SELECT"
                           " district_code FROM reports GROUP BY 1 ORDER BY count(*) DESC"
                           " LIMIT 1 OFFSET 1)",
                           -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    GEOSWKBReader *rd = GEOSWKBReader_create_r(h);
    polys[0].g = GEOSWKBReader_read_r(h, rd, sqlite3_column_blob(st, 0),
                                      (size_t)sqlite3_column_bytes(st, 0));
    GEOSWKBReader_destroy_r(h, rd);
    sqlite3_finalize(st);
    assert_non_null(polys[0].g);
    polygon_env(&polys[0]);
    /* A triangle with one vertex on a report (the boundary counts). */
    struct lonlat v = rows[1].p[rows[1].n / 3];
    char wkt[256];
    snprintf(wkt, sizeof(wkt), "POLYGON((%.17g %.17g, %.17g %.17g, %.17g %.17g, %.17g %.17g))",
             v.lon, v.lat, v.lon + 0.03, v.lat + 0.004, v.lon + 0.01, v.lat - 0.02, v.lon, v.lat);
    GEOSWKTReader *wr = GEOSWKTReader_create_r(h);
    polys[1].g = GEOSWKTReader_read_r(h, wr, wkt);
    GEOSWKTReader_destroy_r(h, wr);
    assert_non_null(polys[1].g);
    polygon_env(&polys[1]);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir) || md_pg_cluster_start(&pg, "") != 0) {
        md_pg_cluster_stop(&pg);
        return -1;
    }
    const char *bin = getenv("MAPD_BIN");
    snprintf(db_path, sizeof(db_path), "%s/city.sqlite", dir);
    snprintf(uri, sizeof(uri), "postgresql://postgres@127.0.0.1:%u/city", pg.port);
    PGconn *c = PQconnectdb(pg.conninfo);
    int bad = PQstatus(c) != CONNECTION_OK;
    if (!bad) {
        PGresult *r = PQexec(c, "CREATE DATABASE city");
        bad = PQresultStatus(r) != PGRES_COMMAND_OK;
        PQclear(r);
    }
    PQfinish(c);
    if (!bad && (!bin || md_sh("'%s' sample --db '%s' --facilities 1200 --reports 2400 --seed 11"
                               " --quiet",
                               bin, db_path) != 0))
        bad = 1;
    geos = md_geos_new();
    ha = malloc(CAP * sizeof(*ha));
    hb = malloc(CAP * sizeof(*hb));
    pa = malloc(CAP * sizeof(*pa));
    pb = malloc(CAP * sizeof(*pb));
    if (bad) {
        md_pg_cluster_stop(&pg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    md_store_close(lite);
    md_store_close(post);
    GEOSContextHandle_t h = md_geos_handle(geos);
    for (int i = 0; i < 2; i++) {
        GEOSPreparedGeom_destroy_r(h, polys[i].prep);
        GEOSGeom_destroy_r(h, polys[i].g);
        free(rows[i].id);
        free(rows[i].p);
    }
    md_geos_free(geos);
    free(ha);
    free(hb);
    free(pa);
    free(pb);
    md_pg_cluster_stop(&pg);
    md_sh("rm -rf '%s'", dir);
    return 0;
}

/* Twins (every 7th point again, same place), then both stores. */
static void opening(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *w = NULL;
    if (md_store_open(db_path, MD_STORE_READWRITE, &w, &ctx) != MD_OK)
        fail_msg("sqlite: %s", md_ctx_message(&ctx));
    char *err = NULL;
    int src = sqlite3_exec(
        md_store_db(w),
        "BEGIN;"
        "INSERT INTO facilities(category, name, district_code, status, updated_at, lon, lat, geom)"
        " SELECT category, name || ' twin', district_code, status, updated_at, lon, lat,"
        " MakePoint(lon, lat, 4326) FROM facilities WHERE id % 7 = 0 ORDER BY id;"
        "INSERT INTO reports(kind, service_code, description, district_code, status, channel,"
        " created_at, updated_at, lon, lat, geom) SELECT kind, service_code, 'twin',"
        " district_code, status, channel, created_at, updated_at, lon, lat,"
        " MakePoint(lon, lat, 4326) FROM reports WHERE id % 7 = 0 ORDER BY id;"
        "COMMIT;",
        NULL, NULL, &err);
    if (src != SQLITE_OK)
        fail_msg("twins: %s", err ? err : "?");
    md_store_close(w);

    if (md_pg_schema_create(uri, &ctx) != MD_OK)
        fail_msg("schema: %s", md_ctx_message(&ctx));
    if (md_store_open(db_path, MD_STORE_READONLY, &lite, &ctx) != MD_OK)
        fail_msg("sqlite: %s", md_ctx_message(&ctx));
    if (md_pg_copy_from_store(uri, lite, &ctx) != MD_OK)
        fail_msg("copy: %s", md_ctx_message(&ctx));
    if (md_store_open(uri, MD_STORE_READONLY, &post, &ctx) != MD_OK)
        fail_msg("postgresql: %s", md_ctx_message(&ctx));
    assert_int_equal(post->backend, MD_BACKEND_PG);
    load_rows(0, "facilities");
    load_rows(1, "reports");
    filters_build();
    polygons_build();
    PGconn *c = md_pg_connect(uri);
    assert_int_equal(md_pg_scalar(c, "SELECT count(*) FROM reports"), rows[1].n);
    assert_int_equal(md_pg_scalar(c, "SELECT count(*) FROM facilities"), rows[0].n);
    PQfinish(c);
}

/* ---- comparing */

static bool same_hit(const struct md_query_hit *a, const struct md_query_hit *b)
{
    return a->id == b->id && memcmp(&a->lon, &b->lon, sizeof(a->lon)) == 0 &&
           memcmp(&a->lat, &b->lat, sizeof(a->lat)) == 0 &&
           memcmp(&a->distance_m, &b->distance_m, sizeof(a->distance_m)) == 0;
}

static void same_hits(const char *what, const struct md_query_hit *a, int na,
                      const struct md_query_hit *b, int nb)
{
    if (na != nb)
        fail_msg("%s: sqlite %d hits, postgresql %d", what, na, nb);
    for (int i = 0; i < na; i++) {
        if (!same_hit(&a[i], &b[i]))
            fail_msg("%s: hit %d: sqlite %lld (%.17g, %.17g) %.17g m, postgresql %lld (%.17g,"
                     " %.17g) %.17g m",
                     what, i, (long long)a[i].id, a[i].lon, a[i].lat, a[i].distance_m,
                     (long long)b[i].id, b[i].lon, b[i].lat, b[i].distance_m);
    }
    queries++;
    total_hits += (size_t)na;
    nonempty += na > 0;
}

static void sorted(const char *what, const struct md_query_hit *h, int n, bool by_distance)
{
    for (int i = 1; i < n; i++) {
        bool ok = by_distance ? (h[i - 1].distance_m < h[i].distance_m ||
                                 (h[i - 1].distance_m == h[i].distance_m && h[i - 1].id < h[i].id))
                              : h[i - 1].id < h[i].id;
        if (!ok)
            fail_msg("%s: hits %d and %d out of order", what, i - 1, i);
    }
}

static void nearest(int li, double lon, double lat, int k, double max_m,
                    const struct md_query_filter *f, const char *tag)
{
    char what[160];
    snprintf(what, sizeof(what), "%s nearest %s (%.9f, %.9f) k %d max %g", tag,
             li ? "reports" : "facilities", lon, lat, k, max_m);
    struct md_ctx ca, cb;
    md_ctx_init(&ca);
    md_ctx_init(&cb);
    int na = -1, nb = -1;
    enum md_layer layer = li ? MD_LAYER_REPORTS : MD_LAYER_FACILITIES;
    md_err ra = md_query_nearest(lite, layer, lon, lat, k, max_m, f, ha, &na, &ca);
    md_err rb = md_query_nearest(post, layer, lon, lat, k, max_m, f, hb, &nb, &cb);
    if (ra || rb)
        fail_msg("%s: sqlite %s, postgresql %s", what, md_ctx_message(&ca), md_ctx_message(&cb));
    same_hits(what, ha, na, hb, nb);
    sorted(what, ha, na, true);
    assert_true(na <= k);
}

/* Brute force: every row by md_geod_distance then id (no filter). */
static int brute_cmp(const void *pa_, const void *pb_)
{
    const struct md_query_hit *a = pa_, *b = pb_;
    if (a->distance_m != b->distance_m)
        return a->distance_m < b->distance_m ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static void nearest_brute(int li, double lon, double lat, int k, double max_m)
{
    const struct layer_rows *lr = &rows[li];
    int m = 0;
    for (int i = 0; i < lr->n; i++) {
        double d = md_geod_distance(lon, lat, lr->p[i].lon, lr->p[i].lat);
        if (max_m > 0 && d > max_m)
            continue;
        pa[m++] = (struct md_query_hit){lr->id[i], lr->p[i].lon, lr->p[i].lat, d};
    }
    qsort(pa, (size_t)m, sizeof(*pa), brute_cmp);
    if (m > k)
        m = k;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int n = -1;
    assert_int_equal(md_query_nearest(post, li ? MD_LAYER_REPORTS : MD_LAYER_FACILITIES, lon, lat,
                                      k, max_m, NULL, hb, &n, &ctx),
                     MD_OK);
    same_hits("brute force vs postgresql", pa, m, hb, n);
}

/* One region on one layer with one filter, in `order`: full answers, an
 * offset page and the keyset pages from both backends. */
static void within(int li, const struct md_region *r, const struct md_query_filter *f,
                   enum md_query_order order, const char *tag)
{
    char what[200];
    static const char *const kinds[] = {"all", "circle", "boxes", "polygon"};
    snprintf(what, sizeof(what), "%s within %s %s (%.9f, %.9f r %g) by %s", tag,
             li ? "reports" : "facilities", kinds[r->kind], r->lon, r->lat, r->radius_m,
             order == MD_ORDER_ID ? "id" : "distance");
    enum md_layer layer = li ? MD_LAYER_REPORTS : MD_LAYER_FACILITIES;
    struct md_ctx ca, cb;
    md_ctx_init(&ca);
    md_ctx_init(&cb);
    int na = -1, nb = -1;
    int64_t ma = -1, mb = -1;
    md_err ra = md_query_within(lite, layer, r, f, order, 0, CAP, ha, &na, &ma, &ca);
    md_err rb = md_query_within(post, layer, r, f, order, 0, CAP, hb, &nb, &mb, &cb);
    if (ra || rb)
        fail_msg("%s: sqlite %s, postgresql %s", what, md_ctx_message(&ca), md_ctx_message(&cb));
    assert_int_equal(ma, mb);
    assert_int_equal(ma, na);
    same_hits(what, ha, na, hb, nb);
    /* By distance only a circle has distances; everything else is by id. */
    sorted(what, ha, na, order == MD_ORDER_DISTANCE && r->kind == MD_REGION_CIRCLE);
    int full = na;

    /* An offset page. */
    int64_t offset = full / 3;
    int limit = 1 + (int)(rnd() % 9);
    ra = md_query_within(lite, layer, r, f, order, offset, limit, pa, &na, &ma, &ca);
    rb = md_query_within(post, layer, r, f, order, offset, limit, pb, &nb, &mb, &cb);
    assert_int_equal(ra, MD_OK);
    assert_int_equal(rb, MD_OK);
    assert_int_equal(ma, mb);
    same_hits(what, pa, na, pb, nb);
    assert_int_equal(na, full - offset < limit ? full - offset : limit);
    for (int i = 0; i < na; i++)
        assert_true(same_hit(&pa[i], &ha[offset + i]));

    /* Keyset pages, stitched. */
    limit = 1 + (int)(rnd() % 7) + full / 12;
    struct md_query_hit *page_a = malloc((size_t)(limit + 1) * sizeof(*page_a));
    struct md_query_hit *page_b = malloc((size_t)(limit + 1) * sizeof(*page_b));
    int got = 0, pages = 0;
    struct md_query_after after = {0, 0};
    bool more = true;
    while (more) {
        bool ma_more = false, mb_more = false;
        const struct md_query_after *cur = pages ? &after : NULL;
        ra =
            md_query_within_after(lite, layer, r, f, order, cur, limit, page_a, &na, &ma_more, &ca);
        rb =
            md_query_within_after(post, layer, r, f, order, cur, limit, page_b, &nb, &mb_more, &cb);
        if (ra || rb)
            fail_msg("%s page %d: sqlite %s, postgresql %s", what, pages, md_ctx_message(&ca),
                     md_ctx_message(&cb));
        assert_int_equal(ma_more, mb_more);
        same_hits(what, page_a, na, page_b, nb);
        assert_true(got + na <= full);
        memcpy(pa + got, page_a, (size_t)na * sizeof(*pa));
        got += na;
        more = ma_more;
        if (more) {
            assert_int_equal(na, limit);
            after = (struct md_query_after){page_a[na - 1].distance_m, page_a[na - 1].id};
        }
        pages++;
        assert_true(pages < 100);
    }
    free(page_a);
    free(page_b);
    if (got != full)
        fail_msg("%s: keyset pages of %d stitch %d hits, the full answer has %d", what, limit, got,
                 full);
    for (int i = 0; i < full; i++) {
        if (!same_hit(&pa[i], &ha[i]))
            fail_msg("%s: stitched hit %d is %lld, the full answer's %lld", what, i,
                     (long long)pa[i].id, (long long)ha[i].id);
    }
}

static struct lonlat random_point(int li)
{
    const struct layer_rows *lr = &rows[li];
    uint64_t u = rnd() % 10;
    if (u == 0) /* exactly on a point (and maybe its twin) */
        return lr->p[rnd() % (uint64_t)lr->n];
    if (u == 1) /* beyond the data */
        return (struct lonlat){urand(lr->extent.minx - 0.5, lr->extent.maxx + 0.5),
                               urand(lr->extent.miny - 0.5, lr->extent.maxy + 0.5)};
    return (struct lonlat){urand(lr->extent.minx, lr->extent.maxx),
                           urand(lr->extent.miny, lr->extent.maxy)};
}

static void same_answers(void **state)
{
    (void)state;
    assert_non_null(post);
    static const int ks[] = {1, 2, 3, 5, 10, 25, 100};
    static const double maxes[] = {0, 0, 0, 150, 800, 3000};
    static const double radii[] = {0, 40, 250, 700, 1500, 4000};
    char tag[32];
    for (int li = 0; li < 2; li++) {
        const struct layer_rows *lr = &rows[li];
        for (int fi = 0; fi < nfilters[li]; fi++) {
            const struct md_query_filter *f = &filters[li][fi];
            snprintf(tag, sizeof(tag), "filter %d", fi);
            for (int it = 0; it < 6; it++) {
                struct lonlat p = random_point(li);
                int k = ks[rnd() % (sizeof(ks) / sizeof(ks[0]))];
                double max_m = maxes[rnd() % (sizeof(maxes) / sizeof(maxes[0]))];
                nearest(li, p.lon, p.lat, k, max_m, f, tag);
                if (it == 0)
                    nearest(li, p.lon, p.lat, 1000, 0, f, tag);
                p = random_point(li);
                struct md_region r = {.kind = MD_REGION_CIRCLE,
                                      .lon = p.lon,
                                      .lat = p.lat,
                                      .radius_m = radii[rnd() % 6] * urand(0.5, 1.5)};
                within(li, &r, f, it & 1 ? MD_ORDER_ID : MD_ORDER_DISTANCE, tag);
                if (it < 2)
                    within(li, &r, f, it & 1 ? MD_ORDER_DISTANCE : MD_ORDER_ID, tag);
                /* A box, sometimes split in two at a longitude. */
                p = random_point(li);
                double w = urand(0.002, 0.05), h = urand(0.002, 0.04);
                struct md_region b = {.kind = MD_REGION_BOXES, .nboxes = 1};
                b.boxes[0] = (struct md_bbox){p.lon - w, p.lat - h, p.lon + w, p.lat + h};
                if (it & 1) {
                    b.nboxes = 2;
                    b.boxes[1] = b.boxes[0];
                    b.boxes[0].maxx = p.lon;
                    b.boxes[1].minx = nextafter(p.lon, 1000);
                    if (it == 3) /* overlapping: each point once */
                        b.boxes[1].minx = p.lon - w / 2;
                }
                within(li, &b, f, it & 2 ? MD_ORDER_ID : MD_ORDER_DISTANCE, tag);
            }
            /* The polygons and no region, in both orders. */
            for (int pi = 0; pi < 2; pi++) {
                struct md_region r = {.kind = MD_REGION_POLYGON,
                                      .boxes = {polys[pi].env},
                                      .nboxes = 1,
                                      .geos = md_geos_handle(geos),
                                      .polygon = polys[pi].prep};
                within(li, &r, f, fi & 1 ? MD_ORDER_ID : MD_ORDER_DISTANCE, tag);
            }
            struct md_region all = {.kind = MD_REGION_ALL};
            within(li, &all, f, fi & 1 ? MD_ORDER_DISTANCE : MD_ORDER_ID, tag);
        }
        /* The contract, independently: a brute-force sort of every row. */
        for (int it = 0; it < 15; it++) {
            struct lonlat p = random_point(li);
            nearest_brute(li, p.lon, p.lat, ks[it % 7], it % 3 ? 0 : 500);
        }
        int twin = 0;
        while (lr->id[twin] % 7 != 0)
            twin++;
        nearest_brute(li, lr->p[twin].lon, lr->p[twin].lat, 3, 0); /* a tie at 0 m */
    }
    /* A snapshot the caller holds is used as it is. */
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_store_read_begin(post, &ctx), MD_OK);
    nearest(1, rows[1].p[0].lon, rows[1].p[0].lat, 5, 0, NULL, "in a snapshot");
    assert_int_equal(md_store_txn_state(post), MD_TXN_READ);
    md_store_read_end(post);
    print_message("%zu comparisons, %zu non-empty, %zu hits\n", queries, nonempty, total_hits);
    assert_true(nonempty > queries / 3);
    assert_true(total_hits > 30000);
}

/* ---- errors */

struct outcome {
    md_err rc;
    char msg[MD_CTX_MSG_MAX];
    int n;
    int64_t matched;
};

enum call { NEAREST, WITHIN, AFTER };

static struct outcome call(struct md_store *s, enum call c, enum md_layer layer, double lon,
                           double lat, int k, double max_m, const struct md_region *r, int64_t off,
                           int limit)
{
    struct outcome o = {0};
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_query_hit hits[16];
    bool more = false;
    o.matched = -1;
    if (c == NEAREST)
        o.rc = md_query_nearest(s, layer, lon, lat, k, max_m, NULL, hits, &o.n, &ctx);
    else if (c == WITHIN)
        o.rc = md_query_within(s, layer, r, NULL, MD_ORDER_DISTANCE, off, limit, hits, &o.n,
                               &o.matched, &ctx);
    else
        o.rc = md_query_within_after(s, layer, r, NULL, MD_ORDER_DISTANCE, NULL, limit, hits, &o.n,
                                     &more, &ctx);
    snprintf(o.msg, sizeof(o.msg), "%s", o.rc ? md_ctx_message(&ctx) : "");
    return o;
}

static void same_outcome(const char *what, enum call c, enum md_layer layer, double lon, double lat,
                         int k, double max_m, const struct md_region *r, int64_t off, int limit,
                         md_err expect)
{
    struct outcome a = call(lite, c, layer, lon, lat, k, max_m, r, off, limit);
    struct outcome b = call(post, c, layer, lon, lat, k, max_m, r, off, limit);
    if (a.rc != expect || b.rc != expect || strcmp(a.msg, b.msg) != 0 || a.n != b.n ||
        a.matched != b.matched)
        fail_msg("%s: sqlite %d '%s' (%d hits), postgresql %d '%s' (%d hits), expected %d", what,
                 a.rc, a.msg, a.n, b.rc, b.msg, b.n, expect);
}

static void bad_arguments(void **state)
{
    (void)state;
    assert_non_null(post);
    const double lon = rows[1].p[0].lon, lat = rows[1].p[0].lat;
    const enum md_layer R = MD_LAYER_REPORTS, F = MD_LAYER_FACILITIES;
    struct md_region circle = {.kind = MD_REGION_CIRCLE, .lon = lon, .lat = lat, .radius_m = 300};
    same_outcome("nearest districts", NEAREST, MD_LAYER_DISTRICTS, lon, lat, 5, 0, NULL, 0, 0,
                 MD_EINVAL);
    same_outcome("nearest k 0", NEAREST, R, lon, lat, 0, 0, NULL, 0, 0, MD_EINVAL);
    same_outcome("nearest k 1001", NEAREST, F, lon, lat, MD_QUERY_MAX_K + 1, 0, NULL, 0, 0,
                 MD_EINVAL);
    same_outcome("nearest lon 181", NEAREST, R, 181, lat, 5, 0, NULL, 0, 0, MD_EINVAL);
    same_outcome("nearest lat NaN", NEAREST, R, lon, NAN, 5, 0, NULL, 0, 0, MD_EINVAL);
    same_outcome("nearest max NaN", NEAREST, R, lon, lat, 5, NAN, NULL, 0, 0, MD_OK);
    same_outcome("nearest max -1", NEAREST, F, lon, lat, 5, -1, NULL, 0, 0, MD_OK);
    same_outcome("nearest max tiny", NEAREST, F, lon + 0.3, lat, 5, 1e-3, NULL, 0, 0, MD_OK);
    same_outcome("nearest far away", NEAREST, R, -170, -60, 7, 0, NULL, 0, 0, MD_OK);
    same_outcome("nearest pole", NEAREST, F, 0, 90, 3, 0, NULL, 0, 0, MD_OK);
    same_outcome("within grids", WITHIN, MD_LAYER_GRIDS, 0, 0, 0, 0, &circle, 0, 10, MD_EINVAL);
    same_outcome("within limit -1", WITHIN, R, 0, 0, 0, 0, &circle, 0, -1, MD_EINVAL);
    same_outcome("within offset -1", WITHIN, R, 0, 0, 0, 0, &circle, -1, 10, MD_EINVAL);
    same_outcome("within limit 0", WITHIN, R, 0, 0, 0, 0, &circle, 0, 0, MD_OK);
    same_outcome("within far offset", WITHIN, R, 0, 0, 0, 0, &circle, 1000000, 10, MD_OK);
    same_outcome("after limit 0", AFTER, R, 0, 0, 0, 0, &circle, 0, 0, MD_EINVAL);
    same_outcome("after limit max", AFTER, R, 0, 0, 0, 0, &circle, 0, MD_QUERY_MAX_MATCHES,
                 MD_EINVAL);
    struct md_region r = circle;
    r.radius_m = -1;
    same_outcome("within radius -1", WITHIN, R, 0, 0, 0, 0, &r, 0, 10, MD_EINVAL);
    same_outcome("after radius -1", AFTER, R, 0, 0, 0, 0, &r, 0, 10, MD_EINVAL);
    r.radius_m = NAN;
    same_outcome("within radius NaN", WITHIN, F, 0, 0, 0, 0, &r, 0, 10, MD_EINVAL);
    r.radius_m = INFINITY;
    same_outcome("within radius inf", WITHIN, F, 0, 0, 0, 0, &r, 0, 10, MD_EINVAL);
    same_outcome("after radius inf", AFTER, F, 0, 0, 0, 0, &r, 0, 10, MD_EINVAL);
    r = circle;
    r.lon = NAN;
    same_outcome("within centre NaN", WITHIN, F, 0, 0, 0, 0, &r, 0, 10, MD_OK);
    same_outcome("after centre NaN", AFTER, F, 0, 0, 0, 0, &r, 0, 10, MD_EINVAL);
    r.lon = 200;
    same_outcome("after lon 200", AFTER, R, 0, 0, 0, 0, &r, 0, 10, MD_EINVAL);
    struct md_region b = {.kind = MD_REGION_BOXES, .nboxes = 0};
    same_outcome("within 0 boxes", WITHIN, R, 0, 0, 0, 0, &b, 0, 10, MD_EINVAL);
    same_outcome("after 0 boxes", AFTER, R, 0, 0, 0, 0, &b, 0, 10, MD_EINVAL);
    b.nboxes = 3;
    same_outcome("within 3 boxes", WITHIN, F, 0, 0, 0, 0, &b, 0, 10, MD_EINVAL);
    same_outcome("after 3 boxes", AFTER, F, 0, 0, 0, 0, &b, 0, 10, MD_EINVAL);
    b.nboxes = 1;
    b.boxes[0] = (struct md_bbox){117, 40, 116, 39}; /* inverted */
    same_outcome("within inverted box", WITHIN, R, 0, 0, 0, 0, &b, 0, 10, MD_OK);
    same_outcome("after inverted box", AFTER, R, 0, 0, 0, 0, &b, 0, 10, MD_OK);
    b.boxes[0] = (struct md_bbox){-INFINITY, -INFINITY, INFINITY, INFINITY};
    same_outcome("within infinite box", WITHIN, R, 0, 0, 0, 0, &b, 5, 10, MD_OK);
    same_outcome("after infinite box", AFTER, R, 0, 0, 0, 0, &b, 0, 10, MD_OK);
    b.boxes[0] = (struct md_bbox){NAN, 39, 117, 40};
    same_outcome("within NaN box", WITHIN, R, 0, 0, 0, 0, &b, 0, 10, MD_OK);
    same_outcome("after NaN box", AFTER, R, 0, 0, 0, 0, &b, 0, 10, MD_OK);
}

/* ---- a write on PostgreSQL only */

static void pg_write_shows(void **state)
{
    (void)state;
    assert_non_null(post);
    const struct lonlat p = rows[1].p[rows[1].n / 2];
    const double lon = p.lon + 1e-5, lat = p.lat;
    PGconn *c = md_pg_connect(uri);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO reports(id, kind, service_code, district_code, status, channel,"
             " created_at, updated_at, lon, lat) SELECT 999999999, 'problem', min(code), '110101',"
             " 'reported', 'web', 1793400000, 1793400000, %.17g, %.17g FROM categories"
             " WHERE kind = 'problem'",
             lon, lat);
    md_pg_exec_ok(c, sql);
    PQfinish(c);

    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int na = 0, nb = 0;
    assert_int_equal(md_query_nearest(lite, MD_LAYER_REPORTS, lon, lat, 1, 0, NULL, ha, &na, &ctx),
                     MD_OK);
    assert_int_equal(md_query_nearest(post, MD_LAYER_REPORTS, lon, lat, 1, 0, NULL, hb, &nb, &ctx),
                     MD_OK);
    assert_int_equal(na, 1);
    assert_int_equal(nb, 1);
    assert_int_equal(hb[0].id, 999999999);
    assert_true(hb[0].distance_m == 0);
    assert_true(ha[0].id != 999999999);

    struct md_region r = {.kind = MD_REGION_CIRCLE, .lon = lon, .lat = lat, .radius_m = 200};
    int64_t ma = 0, mb = 0;
    assert_int_equal(
        md_query_within(lite, MD_LAYER_REPORTS, &r, NULL, MD_ORDER_ID, 0, CAP, ha, &na, &ma, &ctx),
        MD_OK);
    assert_int_equal(
        md_query_within(post, MD_LAYER_REPORTS, &r, NULL, MD_ORDER_ID, 0, CAP, hb, &nb, &mb, &ctx),
        MD_OK);
    assert_int_equal(mb, ma + 1);
    assert_int_equal(nb, na + 1);
    assert_int_equal(hb[nb - 1].id, 999999999); /* the biggest id, last by id */
    same_hits("the rest", ha, na, hb, nb - 1);
    /* The other layer and the rest of the city are unchanged. */
    nearest(0, lon, lat, 20, 0, NULL, "after the write");
    nearest(1, lon + 0.2, lat + 0.1, 5, 0, NULL, "after the write");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opening),
        cmocka_unit_test(same_answers),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(pg_write_shows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
