/* tile_crs.c - WGS84 and GCJ-02 tilesets (see tile_crs.h).
 *
 * The GCJ-02 offset off(w) = gcj02(w) - w is a smooth function inside
 * China's box (geo/coords.c) and 0 outside. Over the whole box (measured on
 * a 700 x 700 grid with the published formulas):
 *   d lon in [-0.000194°, 0.010706°], d lat in [-0.004031°, 0.002975°],
 * and neither partial derivative of either component exceeds 0.0062 °/°.
 * OFF_LO/OFF_HI are those ranges widened by 0.001°, OFF_SLOPE the slope
 * rounded up to 0.01.
 *
 * Range of off over a box B: the box's part inside China sampled on a
 * GRID x GRID lattice; any point of a lattice cell (sx by sy degrees) is
 * within sx/2 + sy/2 of a node, so its offset differs from the node's by at
 * most OFF_SLOPE (sx + sy) / 2 - the sampled range is widened by twice
 * that, then clamped to [OFF_LO, OFF_HI]; 0 joins it when B reaches
 * outside the box.
 *
 *   image of a WGS84 box W:     W + [lo, hi] with [lo, hi] the range over W.
 *   preimage of a GCJ-02 box R: a point w drawn in R has w + off(w) in R,
 *     so w lies in R - [OFF_LO, OFF_HI] =: R'; with [lo, hi] the range over
 *     R', w lies in R - [lo, hi].
 * At z16 a tile is ~0.005° wide and the offset moves by ~3e-5° over it, so
 * the boxes are the tile moved by the offset and padded by a few metres.
 */
#include "tile_crs.h"

#include <math.h>

#define CHINA_MIN_LON 72.004
#define CHINA_MAX_LON 137.8347
#define CHINA_MIN_LAT 0.8293
#define CHINA_MAX_LAT 55.8271
#define GRID 9
#define OFF_SLOPE 0.01

static const double OFF_LO[2] = {-0.0012, -0.0051};
static const double OFF_HI[2] = {0.0118, 0.0040};

bool md_tile_crs_served(enum md_crs crs)
{
    return crs == MD_CRS_WGS84 || crs == MD_CRS_GCJ02;
}

void md_tile_crs_point(enum md_crs crs, double lon, double lat, double *olon, double *olat)
{
    if (crs == MD_CRS_GCJ02) {
        md_gcj02_from_wgs84(lon, lat, olon, olat);
    } else {
        *olon = lon;
        *olat = lat;
    }
}

static bool bbox_valid(const struct md_bbox *b)
{
    return b->minx <= b->maxx && b->miny <= b->maxy; /* false for NaN too */
}

/* [lo, hi] (per axis: 0 lon, 1 lat) holding off(w) for every w in b. */
static void offset_range(const struct md_bbox *b, double lo[2], double hi[2])
{
    lo[0] = lo[1] = INFINITY;
    hi[0] = hi[1] = -INFINITY;
    if (b->minx < CHINA_MIN_LON || b->maxx > CHINA_MAX_LON || b->miny < CHINA_MIN_LAT ||
        b->maxy > CHINA_MAX_LAT) {
        lo[0] = lo[1] = hi[0] = hi[1] = 0; /* the identity outside the box */
    }
    double x0 = fmax(b->minx, CHINA_MIN_LON), x1 = fmin(b->maxx, CHINA_MAX_LON);
    double y0 = fmax(b->miny, CHINA_MIN_LAT), y1 = fmin(b->maxy, CHINA_MAX_LAT);
    if (!(x0 <= x1 && y0 <= y1))
        return;
    double sx = (x1 - x0) / (GRID - 1), sy = (y1 - y0) / (GRID - 1);
    for (int i = 0; i < GRID; i++) {
        for (int j = 0; j < GRID; j++) {
            double lon = i == GRID - 1 ? x1 : x0 + sx * i;
            double lat = j == GRID - 1 ? y1 : y0 + sy * j;
            double glon, glat;
            md_gcj02_from_wgs84(lon, lat, &glon, &glat);
            double off[2] = {glon - lon, glat - lat};
            for (int k = 0; k < 2; k++) {
                lo[k] = fmin(lo[k], off[k]);
                hi[k] = fmax(hi[k], off[k]);
            }
        }
    }
    double slack = OFF_SLOPE * (sx + sy);
    for (int k = 0; k < 2; k++) {
        lo[k] = fmax(lo[k] - slack, OFF_LO[k]);
        hi[k] = fmin(hi[k] + slack, OFF_HI[k]);
    }
}

void md_tile_crs_query_bbox(struct md_tile_id t, enum md_crs crs, uint32_t extent, uint32_t buffer,
                            struct md_bbox *out)
{
    struct md_bbox r;
    md_tile_query_bbox(t, extent, buffer, &r);
    if (crs != MD_CRS_GCJ02) {
        *out = r;
        return;
    }
    struct md_bbox reach = {r.minx - OFF_HI[0], r.miny - OFF_HI[1], r.maxx - OFF_LO[0],
                            r.maxy - OFF_LO[1]};
    double lo[2], hi[2];
    offset_range(&reach, lo, hi);
    *out = (struct md_bbox){r.minx - hi[0], r.miny - hi[1], r.maxx - lo[0], r.maxy - lo[1]};
}

void md_tile_crs_bbox_from_wgs84(enum md_crs crs, const struct md_bbox *wgs, struct md_bbox *out)
{
    if (crs != MD_CRS_GCJ02 || !bbox_valid(wgs)) {
        *out = *wgs;
        return;
    }
    double lo[2], hi[2];
    offset_range(wgs, lo, hi);
    *out = (struct md_bbox){wgs->minx + lo[0], wgs->miny + lo[1], wgs->maxx + hi[0],
                            wgs->maxy + hi[1]};
}

static int shift_xy(double *x, double *y, void *userdata)
{
    (void)userdata;
    md_gcj02_from_wgs84(*x, *y, x, y);
    return 1;
}

md_err md_tile_crs_geom(GEOSContextHandle_t h, const GEOSGeometry *lonlat_geom, enum md_crs crs,
                        GEOSGeometry **out, struct md_ctx *ctx)
{
    *out = NULL;
    if (crs != MD_CRS_GCJ02)
        return MD_OK;
    *out = GEOSGeom_transformXY_r(h, lonlat_geom, shift_xy, NULL);
    return *out ? MD_OK : md_fail(ctx, MD_EGEOS, "GEOS could not shift a geometry to GCJ-02");
}
