/* Tiles from PostGIS (store/pg/pg_tile_read.c) against tiles from
 * SpatiaLite, on a throwaway cluster and a small sample city (`mapd
 * sample`) copied over with md_pg_copy_from_store:
 *   - opening: a postgresql:// URI opens a PostgreSQL store only when the
 *     database has mapd's schema; the functions not on PostgreSQL yet
 *     refuse it with MD_EINVAL "not yet on PostgreSQL";
 *   - same_polygons: the district and grid rows of the whole city are the
 *     same ids, codes and WKB bytes from both backends;
 *   - same_tiles: raw-point tiles (facilities from z13, reports from z14)
 *     at the centre and at the edges of the data, polygon and label tiles
 *     at z6..z14 including the corners of the districts' extent, and an
 *     empty tile: byte-identical MVT and the same stats from both, and the
 *     tiles are not trivial;
 *   - pg_write_shows: one report written in PostgreSQL by plain SQL changes
 *     the PostgreSQL tile (one feature more) and only that one, so the
 *     comparison cannot pass by reading one backend twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_index.h"
#include "geos_ctx.h"
#include "harness.h"
#include "md_buf.h"
#include "md_pool.h"
#include "pg_copy.h"
#include "pg_harness.h"
#include "pg_schema.h"
#include "store_int.h"
#include "tile_read.h"
#include "tile_render.h"

#define NOW INT64_C(1793462400)

static struct md_pg_cluster pg;
static char dir[64] = "/tmp/mapd-pgtiles-XXXXXX";
static char db_path[128], uri[256], bare_uri[256];
static struct md_store *lite, *post;
static struct md_geos *geos;
static struct md_cluster_index *lite_clusters, *post_clusters;
static struct md_bbox extent; /* the districts' */

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
    snprintf(bare_uri, sizeof(bare_uri), "postgresql://postgres@127.0.0.1:%u/postgres", pg.port);
    PGconn *c = PQconnectdb(pg.conninfo);
    int bad = PQstatus(c) != CONNECTION_OK;
    if (!bad) {
        PGresult *r = PQexec(c, "CREATE DATABASE city");
        bad = PQresultStatus(r) != PGRES_COMMAND_OK;
        PQclear(r);
    }
    PQfinish(c);
    if (!bad && (!bin || md_sh("'%s' sample --db '%s' --facilities 1500 --reports 3000 --seed 5"
                               " --quiet", bin, db_path) != 0))
        bad = 1;
    geos = md_geos_new();
    lite_clusters = md_cluster_index_new();
    post_clusters = md_cluster_index_new();
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
    md_cluster_index_free(lite_clusters);
    md_cluster_index_free(post_clusters);
    md_geos_free(geos);
    md_pg_cluster_stop(&pg);
    md_sh("rm -rf '%s'", dir);
    return 0;
}

static void opening(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    /* No mapd schema there yet. */
    assert_int_equal(md_store_open(bare_uri, MD_STORE_READONLY, &s, &ctx), MD_EIO);
    assert_null(s);
    assert_non_null(strstr(md_ctx_message(&ctx), "no mapd schema"));
    md_ctx_init(&ctx);
    assert_int_equal(md_store_open("postgresql://postgres@127.0.0.1:1/x", 0, &s, &ctx), MD_EDB);

    if (md_pg_schema_create(uri, &ctx) != MD_OK)
        fail_msg("schema: %s", md_ctx_message(&ctx));
    if (md_store_open(db_path, MD_STORE_READONLY, &lite, &ctx) != MD_OK)
        fail_msg("sqlite: %s", md_ctx_message(&ctx));
    if (md_pg_copy_from_store(uri, lite, &ctx) != MD_OK)
        fail_msg("copy: %s", md_ctx_message(&ctx));
    if (md_store_open(uri, MD_STORE_READONLY, &post, &ctx) != MD_OK)
        fail_msg("postgresql: %s", md_ctx_message(&ctx));
    assert_int_equal(post->backend, MD_BACKEND_PG);
    assert_string_equal(md_store_path(post), uri);
    /* A second copy collides with the first's ids and writes nothing. */
    md_ctx_init(&ctx);
    assert_int_equal(md_pg_copy_from_store(uri, lite, &ctx), MD_EDB);
    assert_non_null(strstr(md_ctx_message(&ctx), "duplicate key"));

    /* What dispatches: snapshots, their state, layer info, the change seq. */
    assert_int_equal(md_store_txn_state(post), MD_TXN_NONE);
    assert_int_equal(md_store_read_begin(post, &ctx), MD_OK);
    assert_int_equal(md_store_txn_state(post), MD_TXN_READ);
    struct md_layer_info li, pi;
    for (int l = MD_LAYER_FACILITIES; l <= MD_LAYER_GRIDS; l++) {
        assert_int_equal(md_store_layer_info(lite, (enum md_layer)l, &li, &ctx), MD_OK);
        assert_int_equal(md_store_layer_info(post, (enum md_layer)l, &pi, &ctx), MD_OK);
        assert_true(li.row_count > 0);
        assert_int_equal(pi.row_count, li.row_count);
        assert_int_equal(pi.cluster_below_zoom, li.cluster_below_zoom);
        assert_int_equal(pi.min_zoom, li.min_zoom);
        assert_int_equal(pi.max_zoom, li.max_zoom);
    }
    int64_t seq = 0;
    assert_int_equal(md_store_change_seq(post, &seq, &ctx), MD_OK);
    assert_true(seq > 0); /* the triggers logged the copy */
    md_store_read_end(post);
    assert_int_equal(md_store_txn_state(post), MD_TXN_NONE);

    /* Everything else refuses, cleanly. */
    md_ctx_init(&ctx);
    int64_t v = 0;
    assert_int_equal(md_store_scalar(post, "SELECT 1", &v, &ctx), MD_EINVAL);
    assert_non_null(strstr(md_ctx_message(&ctx), "not yet on PostgreSQL"));
    md_ctx_init(&ctx);
    int version = 0;
    assert_int_equal(md_store_schema_version(post, &version, &ctx), MD_EINVAL);
    assert_non_null(strstr(md_ctx_message(&ctx), "not yet on PostgreSQL"));
    md_ctx_init(&ctx);
    assert_int_equal(md_store_open(uri, MD_STORE_CREATE, &s, &ctx), MD_EINVAL);
    assert_non_null(strstr(md_ctx_message(&ctx), "not yet on PostgreSQL"));

    /* The districts' extent, for the edge tiles. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(md_store_db(lite),
                                        "SELECT min(MbrMinX(geom)), min(MbrMinY(geom)),"
                                        " max(MbrMaxX(geom)), max(MbrMaxY(geom)) FROM districts",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    extent = (struct md_bbox){sqlite3_column_double(st, 0), sqlite3_column_double(st, 1),
                              sqlite3_column_double(st, 2), sqlite3_column_double(st, 3)};
    sqlite3_finalize(st);
    assert_true(extent.minx > 115 && extent.maxx < 118);
}

struct poly {
    int64_t id;
    char code[32];
    size_t wkb_len;
    unsigned char *wkb;
};
struct polys {
    struct poly row[1 << 16];
    size_t n;
};

static md_err on_polygon(const struct md_tile_polygon *p, void *userdata)
{
    struct polys *ps = userdata;
    assert_true(ps->n < sizeof(ps->row) / sizeof(ps->row[0]));
    struct poly *r = &ps->row[ps->n++];
    r->id = p->id;
    snprintf(r->code, sizeof(r->code), "%s", p->code);
    r->wkb_len = p->wkb_len;
    r->wkb = malloc(p->wkb_len);
    memcpy(r->wkb, p->wkb, p->wkb_len);
    return MD_OK;
}

static void same_polygons(void **state)
{
    (void)state;
    assert_non_null(post);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_bbox all = {-180, -90, 180, 90};
    static struct polys a, b;
    for (int l = MD_LAYER_DISTRICTS; l <= MD_LAYER_GRIDS; l++) {
        a.n = b.n = 0;
        assert_int_equal(md_store_tile_polygons(lite, (enum md_layer)l, &all, on_polygon, &a, &ctx),
                         MD_OK);
        assert_int_equal(md_store_tile_polygons(post, (enum md_layer)l, &all, on_polygon, &b, &ctx),
                         MD_OK);
        assert_true(a.n > 0);
        assert_int_equal(a.n, b.n);
        for (size_t i = 0; i < a.n; i++) {
            assert_true(i == 0 || a.row[i].id > a.row[i - 1].id); /* id order */
            assert_int_equal(a.row[i].id, b.row[i].id);
            assert_string_equal(a.row[i].code, b.row[i].code);
            assert_int_equal(a.row[i].wkb_len, b.row[i].wkb_len);
            assert_memory_equal(a.row[i].wkb, b.row[i].wkb, a.row[i].wkb_len);
            free(a.row[i].wkb);
            free(b.row[i].wkb);
        }
    }
}

static struct md_tile_id tile_at(unsigned z, double lon, double lat)
{
    const double pi = 3.14159265358979323846;
    double n = (double)(1u << z), r = lat * pi / 180;
    double x = floor((lon + 180) / 360 * n), y = floor((1 - asinh(tan(r)) / pi) / 2 * n);
    return (struct md_tile_id){.z = z, .x = (uint32_t)x, .y = (uint32_t)y};
}

/* Render t with `layers` from store s into out; returns the stats. */
static struct md_tile_stats render(struct md_store *s, struct md_cluster_index *ci,
                                   struct md_tile_id t, const char *layers, struct md_buf *out)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_tile_layers ls;
    assert_int_equal(md_tile_layers_parse(layers, strlen(layers), &ls, &ctx), MD_OK);
    struct md_pool *pool = md_pool_new((size_t)256 << 20);
    struct md_tile_stats stats;
    md_buf_init(out, (size_t)64 << 20);
    if (md_tile_render(s, geos, ci, pool, t, &ls, NOW, out, &stats, &ctx) != MD_OK)
        fail_msg("%s %u/%u/%u on %s: %s", layers, t.z, t.x, t.y,
                 s->backend == MD_BACKEND_PG ? "postgresql" : "sqlite", md_ctx_message(&ctx));
    md_pool_free(pool);
    return stats;
}

/* Both backends' tile; byte-identical. Returns the features. */
static size_t compare(struct md_tile_id t, const char *layers)
{
    struct md_buf a, b;
    struct md_tile_stats sa = render(lite, lite_clusters, t, layers, &a);
    struct md_tile_stats sb = render(post, post_clusters, t, layers, &b);
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        fail_msg("%s %u/%u/%u: sqlite %zu bytes (%zu features), postgresql %zu bytes (%zu)",
                 layers, t.z, t.x, t.y, a.len, sa.features, b.len, sb.features);
    assert_int_equal(sa.features, sb.features);
    assert_int_equal(sa.thinned, sb.thinned);
    assert_int_equal(sa.clusters, 0);
    md_buf_free(&a);
    md_buf_free(&b);
    return sa.features;
}

struct lonlat {
    double lon, lat;
};

/* The point of `layer` at the end of `order` (e.g. "lon" / "lat DESC"). */
static struct lonlat edge_point(const char *table, const char *order)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT lon, lat FROM %s ORDER BY %s LIMIT 1", table, order);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(md_store_db(lite), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    struct lonlat p = {sqlite3_column_double(st, 0), sqlite3_column_double(st, 1)};
    sqlite3_finalize(st);
    return p;
}

static void same_tiles(void **state)
{
    (void)state;
    assert_non_null(post);
    const double clon = 116.40, clat = 39.91;
    size_t points = 0, polygons = 0;
    /* Raw points at the centre: facilities from z13, reports from z14. */
    points += compare(tile_at(13, clon, clat), "facilities");
    for (unsigned z = 14; z <= 17; z++)
        points += compare(tile_at(z, clon, clat), "facilities,reports");
    for (int dx = -1; dx <= 1; dx++) {
        struct md_tile_id t = tile_at(15, clon, clat);
        t.x += (uint32_t)dx;
        assert_true(compare(t, "reports,facilities") > 0);
    }
    /* Raw points at the edges of the data. */
    static const char *const tables[] = {"facilities", "reports"};
    static const char *const orders[] = {"lon", "lon DESC", "lat", "lat DESC"};
    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < 4; j++) {
            struct lonlat p = edge_point(tables[i], orders[j]);
            size_t n = compare(tile_at(14, p.lon, p.lat), "facilities,reports");
            assert_true(n > 0);
            points += n;
            points += compare(tile_at(16, p.lon, p.lat), tables[i]);
        }
    }
    assert_true(points > 100);
    /* Polygons and labels: the centre at several zooms, the corners of the
     * districts' extent. */
    for (unsigned z = 6; z <= 14; z += 2)
        polygons += compare(tile_at(z, clon, clat), z >= 10 ? "districts,grids" : "districts");
    polygons += compare(tile_at(9, clon, clat), "districts");
    const double xs[] = {extent.minx + 1e-3, extent.maxx - 1e-3};
    const double ys[] = {extent.miny + 1e-3, extent.maxy - 1e-3};
    for (int i = 0; i < 2; i++) {
        const double mid_lat = (extent.miny + extent.maxy) / 2, mid_lon = (extent.minx + extent.maxx) / 2;
        polygons += compare(tile_at(10, xs[i], mid_lat), "districts,grids");
        polygons += compare(tile_at(12, mid_lon, ys[i]), "districts,grids");
        for (int j = 0; j < 2; j++)
            polygons += compare(tile_at(8, xs[i], ys[j]), "districts");
    }
    assert_true(polygons > 50);
    /* Everything at once, then nothing at all (the Gulf of Guinea). */
    assert_true(compare(tile_at(14, clon, clat), "facilities,reports,districts,grids") > 0);
    assert_int_equal(compare(tile_at(14, 0.5, 0.5), "facilities,reports,districts,grids"), 0);
}

static void pg_write_shows(void **state)
{
    (void)state;
    assert_non_null(post);
    const double lon = 116.4012345, lat = 39.9098765;
    struct md_tile_id t = tile_at(17, lon, lat);
    size_t before = compare(t, "reports");

    PGconn *c = md_pg_connect(uri);
    md_pg_exec_ok(c, "INSERT INTO reports(id, kind, service_code, district_code, status, channel,"
                     " created_at, updated_at, lon, lat)"
                     " SELECT 999999999, 'problem', min(code), '110101', 'reported', 'web',"
                     " 1793400000, 1793400000, 116.4012345, 39.9098765 FROM categories"
                     " WHERE kind = 'problem'");
    PQfinish(c);

    struct md_buf a, b;
    struct md_tile_stats sa = render(lite, lite_clusters, t, "reports", &a);
    struct md_tile_stats sb = render(post, post_clusters, t, "reports", &b);
    assert_int_equal(sa.features, before);
    assert_int_equal(sb.features, before + 1);
    assert_true(a.len != b.len || memcmp(a.data, b.data, a.len) != 0);
    md_buf_free(&a);
    md_buf_free(&b);
    /* Every other tile is still the same. */
    struct md_tile_id far = tile_at(17, 116.30, 39.95);
    compare(far, "reports,facilities");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opening),
        cmocka_unit_test(same_polygons),
        cmocka_unit_test(same_tiles),
        cmocka_unit_test(pg_write_shows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
