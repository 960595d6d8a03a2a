/* cluster_index: exact counts per tile (checked against the points by
 * brute force with md_tile_project), the same cluster in a tile and in its
 * neighbour's buffer, merges that really merge, incremental sync (inserts,
 * moves, deletes, by SQL as any writer would) equal to a fresh build, a
 * bulk load rebuilding, and supercluster's abbreviations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_index.h"
#include "tile_crs.h"
#include "unit_store.h"
#include "store_int.h"

#define MAXP 4000

struct pt {
    int64_t id;
    double lon, lat;
    bool live;
};

static struct pt pts[MAXP];
static int npts;
static uint64_t rng = 88172645463325252ull;

static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static const char *const codes[] = {"200102", "200105", "100301", "300201", "110101"};

static void insert(struct md_store *s, double lon, double lat)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO reports(kind, service_code, district_code, status, channel, created_at,"
             " updated_at, lon, lat, geom) VALUES ('problem', '%s', '110101', 'reported',"
             " 'app', 0, 0, %.9f, %.9f, MakePoint(%.9f, %.9f, 4326))",
             codes[npts % 5], lon, lat, lon, lat);
    unit_exec(s, sql);
    pts[npts++] = (struct pt){sqlite3_last_insert_rowid(md_store_db(s)), lon, lat, true};
}

/* Clumps around central Beijing plus a thin spread, so there is both dense
 * merging and lone points. */
static void populate(struct md_store *s, int n)
{
    unit_exec(s, "BEGIN");
    for (int i = 0; i < n; i++) {
        double cx = 116.40, cy = 39.91, spread = 0.3;
        if (i % 3 == 0) {
            cx = 116.30 + 0.05 * (i % 7);
            cy = 39.85 + 0.04 * (i % 5);
            spread = 0.01;
        }
        insert(s, cx + (rnd() - 0.5) * spread, cy + (rnd() - 0.5) * spread);
    }
    unit_exec(s, "COMMIT");
}

static void sync_index(struct md_cluster_index *ci, struct md_store *s)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t seq = 0;
    assert_int_equal(md_store_read_begin(s, &ctx), MD_OK);
    assert_int_equal(md_store_change_seq(s, &seq, &ctx), MD_OK);
    if (md_cluster_index_sync(ci, s, MD_LAYER_REPORTS, seq, &ctx))
        fail_msg("sync: %s", md_ctx_message(&ctx));
    md_store_read_end(s);
}

#define MAXC 2048
struct got {
    struct md_cluster c[MAXC];
    size_t n;
};

static md_err collect(const struct md_cluster *c, void *userdata)
{
    struct got *g = userdata;
    assert_true(g->n < MAXC);
    g->c[g->n] = *c;
    int64_t sum = 0;
    for (size_t i = 0; i < c->ncats; i++) {
        sum += c->cats[i].n;
        if (i)
            assert_true(strcmp(c->cats[i - 1].code, c->cats[i].code) < 0);
    }
    assert_int_equal(sum, c->n);
    g->c[g->n].cats = NULL; /* pool memory: not kept */
    g->n++;
    return MD_OK;
}

static void tile(struct md_cluster_index *ci, struct md_tile_id t, struct got *g)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_pool *pool = md_pool_new(8 << 20);
    g->n = 0;
    if (md_cluster_index_tile(ci, MD_LAYER_REPORTS, t, pool, collect, g, &ctx))
        fail_msg("tile %u/%u/%u: %s", t.z, t.x, t.y, md_ctx_message(&ctx));
    md_pool_free(pool);
}

static bool inside(const struct md_cluster *c)
{
    return c->x >= 0 && c->y >= 0 && c->x < MD_TILE_EXTENT && c->y < MD_TILE_EXTENT;
}

/* The CRS the index under test draws in (set by the GCJ-02 test). */
static enum md_crs index_crs = MD_CRS_WGS84;

/* Points of t by brute force: those md_tile_project puts in its extent,
 * at their position in index_crs. */
static int64_t points_in(struct md_tile_id t)
{
    int64_t n = 0;
    for (int i = 0; i < npts; i++) {
        double x, y, lon, lat;
        md_tile_crs_point(index_crs, pts[i].lon, pts[i].lat, &lon, &lat);
        md_tile_project(t, MD_TILE_EXTENT, lon, lat, &x, &y);
        n += pts[i].live && x >= 0 && y >= 0 && x < MD_TILE_EXTENT && y < MD_TILE_EXTENT;
    }
    return n;
}

static struct md_tile_id tile_of(uint32_t z, double lon, double lat)
{
    double n = (double)(1u << z), r = lat * M_PI / 180;
    return (struct md_tile_id){z, (uint32_t)floor((lon + 180) / 360 * n),
                               (uint32_t)floor((1 - log(tan(r) + 1 / cos(r)) / M_PI) / 2 * n)};
}

/* Every invariant over the tiles that hold points at zooms 6..13. */
static void check_tiles(struct md_cluster_index *ci)
{
    static struct got g, nb;
    for (uint32_t z = 6; z <= 13; z++) {
        struct md_tile_id a = tile_of(z, 116.20, 40.10), b = tile_of(z, 116.70, 39.70);
        int64_t total = 0, live = 0;
        for (int i = 0; i < npts; i++)
            live += pts[i].live;
        for (uint32_t x = a.x; x <= b.x; x++) {
            for (uint32_t y = a.y; y <= b.y; y++) {
                struct md_tile_id t = {z, x, y};
                tile(ci, t, &g);
                int64_t sum = 0;
                for (size_t i = 0; i < g.n; i++) {
                    for (size_t j = 0; j < i; j++)
                        assert_true(g.c[i].id != g.c[j].id);
                    if (inside(&g.c[i])) {
                        sum += g.c[i].n;
                        continue;
                    }
                    /* In the buffer: the neighbour that owns it has it, shifted. */
                    int dx = g.c[i].x < 0 ? -1 : g.c[i].x >= MD_TILE_EXTENT ? 1 : 0;
                    int dy = g.c[i].y < 0 ? -1 : g.c[i].y >= MD_TILE_EXTENT ? 1 : 0;
                    tile(ci, (struct md_tile_id){z, x + (uint32_t)dx, y + (uint32_t)dy}, &nb);
                    bool found = false;
                    for (size_t k = 0; k < nb.n; k++) {
                        if (nb.c[k].id != g.c[i].id)
                            continue;
                        found = true;
                        assert_int_equal(nb.c[k].n, g.c[i].n);
                        assert_int_equal(nb.c[k].x + dx * MD_TILE_EXTENT, g.c[i].x);
                        assert_int_equal(nb.c[k].y + dy * MD_TILE_EXTENT, g.c[i].y);
                        assert_true(inside(&nb.c[k]));
                    }
                    assert_true(found);
                }
                if (sum != points_in(t))
                    fail_msg("z%u %u/%u: clusters hold %lld, the tile has %lld points", z, x, y,
                             (long long)sum, (long long)points_in(t));
                total += sum;
            }
        }
        assert_int_equal(total, live);
    }
}

static void same_tiles(struct md_cluster_index *a, struct md_cluster_index *b)
{
    static struct got ga, gb;
    for (uint32_t z = 6; z <= 13; z++) {
        struct md_tile_id t = tile_of(z, 116.40, 39.91);
        tile(a, t, &ga);
        tile(b, t, &gb);
        assert_int_equal(ga.n, gb.n);
        for (size_t i = 0; i < ga.n; i++) {
            assert_true(ga.c[i].id == gb.c[i].id);
            assert_int_equal(ga.c[i].n, gb.c[i].n);
            assert_int_equal(ga.c[i].x, gb.c[i].x);
            assert_int_equal(ga.c[i].y, gb.c[i].y);
            assert_string_equal(ga.c[i].top_category, gb.c[i].top_category);
        }
    }
}

static void counts_are_exact_and_tiles_agree(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("clusters");
    npts = 0;
    populate(s, 3000);
    struct md_cluster_index *ci = md_cluster_index_new();
    sync_index(ci, s);
    check_tiles(ci);

    /* Merging happens: a dense z10 tile has fewer clusters than occupied cells. */
    static struct got g;
    struct md_tile_id t = tile_of(10, 116.40, 39.91);
    tile(ci, t, &g);
    size_t cells = 0;
    static uint8_t seen[16][16];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < npts; i++) {
        double x, y;
        md_tile_project(t, MD_TILE_EXTENT, pts[i].lon, pts[i].lat, &x, &y);
        if (x >= 0 && y >= 0 && x < MD_TILE_EXTENT && y < MD_TILE_EXTENT &&
            !seen[(int)x / MD_CLUSTER_CELL_UNITS][(int)y / MD_CLUSTER_CELL_UNITS]++)
            cells++;
    }
    size_t in_tile = 0;
    for (size_t i = 0; i < g.n; i++)
        in_tile += inside(&g.c[i]);
    assert_true(cells > 20);
    assert_true(in_tile < cells);

    /* Another writer inserts, moves and deletes; the change log replays it. */
    populate(s, 200);
    char sql[256];
    for (int i = 0; i < 300; i += 3) {
        pts[i].lon += 0.02;
        pts[i].lat -= 0.015;
        snprintf(sql, sizeof(sql),
                 "UPDATE reports SET lon = %.9f, lat = %.9f, geom = MakePoint(%.9f, %.9f, 4326)"
                 " WHERE id = %lld",
                 pts[i].lon, pts[i].lat, pts[i].lon, pts[i].lat, (long long)pts[i].id);
        unit_exec(s, sql);
    }
    for (int i = 1; i < 400; i += 4) {
        snprintf(sql, sizeof(sql), "DELETE FROM reports WHERE id = %lld", (long long)pts[i].id);
        unit_exec(s, sql);
        pts[i].live = false;
    }
    unit_exec(s, "UPDATE reports SET service_code = '300201' WHERE id % 10 = 0");
    sync_index(ci, s);
    check_tiles(ci);
    struct md_cluster_index *fresh = md_cluster_index_new();
    sync_index(fresh, s);
    same_tiles(ci, fresh);
    md_cluster_index_free(fresh);
    md_cluster_index_free(ci);
    unit_store_drop(s);
}

/* A GCJ-02 index: the clusters of each GCJ-02 tile hold exactly the points
 * whose GCJ-02 position is in it, after a build and after a replay; a
 * replayed index equals a fresh one. */
static void gcj02_counts_are_exact(void **state)
{
    (void)state;
    assert_null(md_cluster_index_new_crs(MD_CRS_BD09));
    struct md_store *s = unit_store_fresh("clusters_gcj");
    npts = 0;
    populate(s, 2000);
    index_crs = MD_CRS_GCJ02;
    struct md_cluster_index *ci = md_cluster_index_new_crs(MD_CRS_GCJ02);
    struct md_cluster_index *wgs = md_cluster_index_new();
    sync_index(ci, s);
    sync_index(wgs, s);
    check_tiles(ci);
    /* Not the WGS84 clusters: at z13 the shift (~500 m) moves them. */
    static struct got g, w;
    tile(ci, tile_of(13, 116.40, 39.91), &g);
    tile(wgs, tile_of(13, 116.40, 39.91), &w);
    bool differ = g.n != w.n;
    for (size_t i = 0; !differ && i < g.n; i++)
        differ = g.c[i].x != w.c[i].x || g.c[i].n != w.c[i].n;
    assert_true(differ);
    char sql[256];
    for (int i = 0; i < 200; i += 2) {
        pts[i].lon -= 0.01;
        snprintf(
            sql, sizeof(sql),
            "UPDATE reports SET lon = %.9f, geom = MakePoint(%.9f, %.9f, 4326) WHERE id = %lld",
            pts[i].lon, pts[i].lon, pts[i].lat, (long long)pts[i].id);
        unit_exec(s, sql);
    }
    populate(s, 100);
    sync_index(ci, s);
    check_tiles(ci);
    struct md_cluster_index *fresh = md_cluster_index_new_crs(MD_CRS_GCJ02);
    sync_index(fresh, s);
    same_tiles(ci, fresh);
    index_crs = MD_CRS_WGS84;
    md_cluster_index_free(fresh);
    md_cluster_index_free(wgs);
    md_cluster_index_free(ci);
    unit_store_drop(s);
}

static void abbreviations_are_superclusters(void **state)
{
    (void)state;
    /* supercluster 9.1: count >= 10000 ? Math.round(count / 1000) + 'k'
     * : count >= 1000 ? Math.round(count / 100) / 10 + 'k' : count */
    static const struct {
        int64_t n;
        const char *want;
    } cases[] = {{1, "1"},          {999, "999"},   {1000, "1k"},     {1049, "1k"},
                 {1050, "1.1k"},    {1234, "1.2k"}, {1950, "2k"},     {9949, "9.9k"},
                 {9950, "10k"},     {9999, "10k"},  {10000, "10k"},   {10499, "10k"},
                 {10500, "11k"},    {15300, "15k"}, {999499, "999k"}, {999500, "1000k"},
                 {2100000, "2100k"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[32];
        md_cluster_abbreviate(cases[i].n, out);
        assert_string_equal(out, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_are_exact_and_tiles_agree),
        cmocka_unit_test(gcj02_counts_are_exact),
        cmocka_unit_test(abbreviations_are_superclusters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
