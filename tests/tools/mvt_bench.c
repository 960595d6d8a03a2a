/* mvt_bench - throughput of the tile path: md_tile_geom_prepare +
 * md_mvt_* + md_mvt_serialize, for point, line and polygon layers.
 *
 *   mvt_bench [features_per_tile [tiles [dump_dir]]]
 *
 * Prints features per second for each layer kind. With dump_dir, also writes
 * the features as dump_dir/{points,lines,polygons}.tsv (id, category,
 * capacity, name, rating, WKT in lon/lat) for loading into PostGIS and timing
 * ST_AsMVTGeom + ST_AsMVT on the same shapes (see tests/tools/mvt_bench.sql). Synthetic data from a
 * fixed-seed generator, all inside tile 14/13492/6208 (Beijing) and its
 * neighbours, so clipping is exercised too.
 */
#include <geos_c.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "md_pool.h"
#include "mvt_encode.h"
#include "tile_geom.h"

static const char *const CATEGORIES[] = {"school", "hospital", "park", "toilet", "police"};

static uint32_t rng_state = 2463534242u;

static double rnd(void) /* xorshift32 in [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state / 4294967296.0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A lon/lat shape around a random spot of the tile's 3x3 neighbourhood:
 * kind 0 point, 1 a 30-vertex wiggly line, 2 a 40-vertex polygon with a hole. */
static GEOSGeometry *shape(GEOSContextHandle_t h, const struct md_bbox *b, int kind)
{
    double w = b->maxx - b->minx, hgt = b->maxy - b->miny;
    double cx = b->minx - 0.1 * w + 1.2 * w * rnd(), cy = b->miny - 0.1 * hgt + 1.2 * hgt * rnd();
    if (kind == 0)
        return GEOSGeom_createPointFromXY_r(h, cx, cy);
    double r = w * (0.005 + 0.05 * rnd());
    if (kind == 1) {
        GEOSCoordSequence *seq = GEOSCoordSeq_create_r(h, 30, 2);
        for (unsigned i = 0; i < 30; i++)
            GEOSCoordSeq_setXY_r(h, seq, i, cx + r * i / 10.0, cy + r * sin(i * 0.7) * 0.3);
        return GEOSGeom_createLineString_r(h, seq);
    }
    GEOSGeometry *rings[2];
    for (int k = 0; k < 2; k++) {
        double rr = k ? r * 0.3 : r;
        GEOSCoordSequence *seq = GEOSCoordSeq_create_r(h, 41, 2);
        for (unsigned i = 0; i < 40; i++) {
            double a = 2 * M_PI * i / 40 * (k ? -1 : 1), wob = 1 + 0.1 * sin(7 * a);
            GEOSCoordSeq_setXY_r(h, seq, i, cx + rr * wob * cos(a), cy + rr * wob * sin(a));
        }
        double x, y;
        GEOSCoordSeq_getXY_r(h, seq, 0, &x, &y);
        GEOSCoordSeq_setXY_r(h, seq, 40, x, y);
        rings[k] = GEOSGeom_createLinearRing_r(h, seq);
    }
    return GEOSGeom_createPolygon_r(h, rings[0], &rings[1], 1);
}

/* The layer's features as TSV, the properties as the benchmark writes them. */
static int dump(GEOSContextHandle_t h, const char *dir, const char *name, GEOSGeometry **geoms,
                int n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.tsv", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    GEOSWKTWriter *w = GEOSWKTWriter_create_r(h);
    GEOSWKTWriter_setTrim_r(h, w, 1);
    for (int i = 0; i < n; i++) {
        char *text = GEOSWKTWriter_write_r(h, w, geoms[i]);
        fprintf(f, "%d\t%s\t%d\t%s\t%.1f\t%s\n", i, CATEGORIES[i % 5], i % 300,
                i % 2 ? "north gate" : "south gate", (i % 50) / 10.0, text);
        GEOSFree_r(h, text);
    }
    GEOSWKTWriter_destroy_r(h, w);
    return fclose(f) ? 1 : 0;
}

/* Encode the prepared geometries (NULL = dropped) as one tile; with
 * `direct`, points go through md_mvt_point as the tile renderer does. */
static int encode(GEOSContextHandle_t h, GEOSGeometry **tile_geoms, int n, const char *name,
                  enum md_mvt_geom_type type, bool direct, size_t *kept, size_t *bytes)
{
    struct md_pool *pool = md_pool_new(256u << 20);
    struct md_mvt *mvt = md_mvt_new(pool);
    struct md_buf out;
    md_buf_init(&out, 64u << 20);
    md_err rc = md_mvt_layer(mvt, name, MD_TILE_EXTENT);
    for (int i = 0; !rc && i < n; i++) {
        if (!tile_geoms[i])
            continue;
        rc = md_mvt_feature(mvt, (uint64_t)i, type);
        if (!rc && direct) {
            double x = 0, y = 0;
            GEOSGeomGetX_r(h, tile_geoms[i], &x);
            GEOSGeomGetY_r(h, tile_geoms[i], &y);
            rc = md_mvt_point(mvt, (int32_t)x, (int32_t)y);
        } else if (!rc) {
            rc = md_mvt_geom_geos(mvt, h, tile_geoms[i]);
        }
        if (!rc)
            rc = md_mvt_prop_str(mvt, "category", CATEGORIES[i % 5]);
        if (!rc)
            rc = md_mvt_prop_int(mvt, "capacity", i % 300);
        if (!rc)
            rc = md_mvt_prop_str(mvt, "name", i % 2 ? "north gate" : "south gate");
        if (!rc)
            rc = md_mvt_prop_double(mvt, "rating", (i % 50) / 10.0);
        if (!rc)
            rc = md_mvt_feature_end(mvt);
    }
    if (!rc)
        rc = md_mvt_serialize(mvt, &out);
    if (rc)
        fprintf(stderr, "encode: %s\n", md_mvt_message(mvt));
    *kept += md_mvt_feature_count(mvt);
    *bytes += out.len;
    md_buf_free(&out);
    md_pool_free(pool);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    int per_tile = argc > 1 ? atoi(argv[1]) : 5000;
    int tiles = argc > 2 ? atoi(argv[2]) : 20;
    const char *dump_dir = argc > 3 ? argv[3] : NULL;
    GEOSContextHandle_t h = GEOS_init_r();
    struct md_tile_id t = {14, 13492, 6208};
    struct md_bbox b;
    md_tile_bounds_lonlat(t, &b);
    const char *names[] = {"points", "lines", "polygons"};
    static const enum md_mvt_geom_type types[] = {MD_MVT_POINT, MD_MVT_LINESTRING, MD_MVT_POLYGON};

    printf("%d features per tile, %d tiles; feature/s over all input features\n", per_tile, tiles);
    for (int kind = 0; kind < 3; kind++) {
        GEOSGeometry **geoms = calloc((size_t)per_tile, sizeof(*geoms));
        GEOSGeometry **tile_geoms = calloc((size_t)per_tile, sizeof(*geoms));
        for (int i = 0; i < per_tile; i++)
            geoms[i] = shape(h, &b, kind);
        if (dump_dir && dump(h, dump_dir, names[kind], geoms, per_tile))
            return 1;
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        double t0 = now();
        for (int n = 0; n < tiles; n++) {
            for (int i = 0; i < per_tile; i++) {
                if (tile_geoms[i])
                    GEOSGeom_destroy_r(h, tile_geoms[i]);
                tile_geoms[i] = NULL;
                if (md_tile_geom_prepare(h, geoms[i], t, MD_TILE_EXTENT, MD_TILE_BUFFER,
                                         &tile_geoms[i], &ctx)) {
                    fprintf(stderr, "prepare: %s\n", md_ctx_message(&ctx));
                    return 1;
                }
            }
        }
        double t1 = now();
        size_t kept = 0, bytes = 0;
        for (int n = 0; n < tiles; n++)
            if (encode(h, tile_geoms, per_tile, names[kind], types[kind], false, &kept, &bytes))
                return 1;
        double t2 = now();
        double total = (double)per_tile * tiles, prep = t1 - t0, enc = t2 - t1;
        printf("%-8s %4.1f%% kept, %7.0f B/tile: prepare %8.0f/s, encode %8.0f/s, both %8.0f/s\n",
               names[kind], 100.0 * kept / total, (double)bytes / tiles, total / prep, total / enc,
               total / (prep + enc));
        if (kind == 0) {
            kept = bytes = 0;
            double t3 = now();
            for (int n = 0; n < tiles; n++)
                if (encode(h, tile_geoms, per_tile, names[kind], types[kind], true, &kept, &bytes))
                    return 1;
            enc = now() - t3;
            printf("%-8s (md_mvt_point)               encode %8.0f/s, both %8.0f/s\n", names[kind],
                   total / enc, total / (prep + enc));
        }
        for (int i = 0; i < per_tile; i++) {
            GEOSGeom_destroy_r(h, geoms[i]);
            if (tile_geoms[i])
                GEOSGeom_destroy_r(h, tile_geoms[i]);
        }
        free(geoms);
        free(tile_geoms);
    }
    GEOS_finish_r(h);
    return 0;
}
