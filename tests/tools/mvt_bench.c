/* mvt_bench - throughput of the tile path: md_tile_geom_prepare +
 * md_mvt_* + md_mvt_serialize, for point, line and polygon layers.
 *
 *   mvt_bench [features_per_tile [tiles]]
 *
 * Prints features per second for each layer kind, for comparison with
 * PostGIS ST_AsMVTGeom + ST_AsMVT on the same shapes. Synthetic data from a
 * fixed-seed generator, all inside tile 14/13492/6208 (Beijing) and its
 * neighbours, so clipping is exercised too.
 */
#include <geos_c.h>
#include <math.h>
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

int main(int argc, char **argv)
{
    int per_tile = argc > 1 ? atoi(argv[1]) : 5000;
    int tiles = argc > 2 ? atoi(argv[2]) : 20;
    GEOSContextHandle_t h = GEOS_init_r();
    struct md_tile_id t = {14, 13492, 6208};
    struct md_bbox b;
    md_tile_bounds_lonlat(t, &b);
    const char *names[] = {"points", "lines", "polygons"};
    static const enum md_mvt_geom_type types[] = {MD_MVT_POINT, MD_MVT_LINESTRING, MD_MVT_POLYGON};

    for (int kind = 0; kind < 3; kind++) {
        GEOSGeometry **geoms = calloc((size_t)per_tile, sizeof(*geoms));
        for (int i = 0; i < per_tile; i++)
            geoms[i] = shape(h, &b, kind);
        double prep_time = 0, enc_time = 0;
        size_t kept = 0, bytes = 0;
        for (int n = 0; n < tiles; n++) {
            struct md_pool *pool = md_pool_new(256u << 20);
            struct md_mvt *mvt = md_mvt_new(pool);
            struct md_buf out;
            md_buf_init(&out, 64u << 20);
            struct md_ctx ctx;
            md_ctx_init(&ctx);
            if (md_mvt_layer(mvt, names[kind], MD_TILE_EXTENT))
                return 1;
            for (int i = 0; i < per_tile; i++) {
                double t0 = now();
                GEOSGeometry *g = NULL;
                if (md_tile_geom_prepare(h, geoms[i], t, MD_TILE_EXTENT, MD_TILE_BUFFER, &g,
                                         &ctx)) {
                    fprintf(stderr, "prepare: %s\n", md_ctx_message(&ctx));
                    return 1;
                }
                double t1 = now();
                prep_time += t1 - t0;
                if (!g)
                    continue;
                md_err rc = md_mvt_feature(mvt, (uint64_t)i, types[kind]);
                if (!rc)
                    rc = md_mvt_geom_geos(mvt, h, g);
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
                GEOSGeom_destroy_r(h, g);
                if (rc) {
                    fprintf(stderr, "encode: %s\n", md_mvt_message(mvt));
                    return 1;
                }
                enc_time += now() - t1;
            }
            double t2 = now();
            if (md_mvt_serialize(mvt, &out))
                return 1;
            enc_time += now() - t2;
            kept += md_mvt_feature_count(mvt);
            bytes += out.len;
            md_buf_free(&out);
            md_pool_free(pool);
        }
        double total = (double)per_tile * tiles;
        printf("%-8s %7d features/tile, %4.1f%% kept, %8.0f B/tile: prepare %9.0f feat/s, "
               "encode %9.0f feat/s, both %9.0f feat/s\n",
               names[kind], per_tile, 100.0 * kept / total, (double)bytes / tiles,
               total / prep_time, kept / enc_time, total / (prep_time + enc_time));
        for (int i = 0; i < per_tile; i++)
            GEOSGeom_destroy_r(h, geoms[i]);
        free(geoms);
    }
    GEOS_finish_r(h);
    return 0;
}
