/* tile_math.c - XYZ tile grid on Web Mercator (see tile_math.h).
 *
 * Everything goes through "world" coordinates: the Mercator square mapped to
 * [0,1] x [0,1] with y down. At zoom z a tile is 1/2^z of that square, and a
 * tile-space coordinate is (world * 2^z - tile index) * extent. Doubles hold
 * world * 2^22 * 4096 (< 2^34) with sub-micro-unit precision.
 */
#include "tile_math.h"

#include <math.h>

#define DEG_TO_RAD (M_PI / 180.0)
#define RAD_TO_DEG (180.0 / M_PI)
#define EARTH_RADIUS 6378137.0
/* Over-reach added to covering ranges so that rounding never loses a tile. */
#define COVER_EPSILON 1e-9

bool md_tile_valid(struct md_tile_id t)
{
    if (t.z > MD_TILE_MAX_ZOOM)
        return false;
    uint32_t n = UINT32_C(1) << t.z;
    return t.x < n && t.y < n;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void md_merc_from_lonlat(double lon, double lat, double *x, double *y)
{
    lat = clamp(lat, -MD_MERC_MAX_LAT, MD_MERC_MAX_LAT);
    *x = lon * DEG_TO_RAD * EARTH_RADIUS;
    *y = log(tan(M_PI / 4.0 + lat * DEG_TO_RAD / 2.0)) * EARTH_RADIUS;
}

void md_lonlat_from_merc(double x, double y, double *lon, double *lat)
{
    *lon = x / EARTH_RADIUS * RAD_TO_DEG;
    *lat = (2.0 * atan(exp(y / EARTH_RADIUS)) - M_PI / 2.0) * RAD_TO_DEG;
}

void md_tile_bounds_merc(struct md_tile_id t, struct md_bbox *out)
{
    double size = 2.0 * MD_MERC_HALF / (double)(UINT32_C(1) << t.z);
    out->minx = -MD_MERC_HALF + t.x * size;
    out->maxx = -MD_MERC_HALF + (t.x + 1.0) * size;
    out->maxy = MD_MERC_HALF - t.y * size;
    out->miny = MD_MERC_HALF - (t.y + 1.0) * size;
}

void md_tile_bounds_lonlat(struct md_tile_id t, struct md_bbox *out)
{
    struct md_bbox m;
    md_tile_bounds_merc(t, &m);
    md_lonlat_from_merc(m.minx, m.miny, &out->minx, &out->miny);
    md_lonlat_from_merc(m.maxx, m.maxy, &out->maxx, &out->maxy);
}

/* lon/lat -> world coordinates in [0,1] (y down). */
static void world_from_lonlat(double lon, double lat, double *wx, double *wy)
{
    double mx, my;
    md_merc_from_lonlat(lon, lat, &mx, &my);
    *wx = (mx + MD_MERC_HALF) / (2.0 * MD_MERC_HALF);
    *wy = (MD_MERC_HALF - my) / (2.0 * MD_MERC_HALF);
}

void md_tile_project(struct md_tile_id t, uint32_t extent, double lon, double lat, double *tx,
                     double *ty)
{
    double wx, wy, n = (double)(UINT32_C(1) << t.z);
    world_from_lonlat(lon, lat, &wx, &wy);
    *tx = (wx * n - t.x) * extent;
    *ty = (wy * n - t.y) * extent;
}

void md_tile_query_bbox(struct md_tile_id t, uint32_t extent, uint32_t buffer, struct md_bbox *out)
{
    struct md_bbox m;
    md_tile_bounds_merc(t, &m);
    double grow = (m.maxx - m.minx) * buffer / (extent ? extent : MD_TILE_EXTENT);
    md_lonlat_from_merc(m.minx - grow, m.miny - grow, &out->minx, &out->miny);
    md_lonlat_from_merc(m.maxx + grow, m.maxy + grow, &out->maxx, &out->maxy);
    uint32_t last = (UINT32_C(1) << t.z) - 1;
    if (t.y == 0)
        out->maxy = 90.0;
    if (t.y == last)
        out->miny = -90.0;
}

/* Index range [lo, hi] of unit cells [i, i+1] grown by b that meet [a0, a1],
 * clamped to [0, n-1]. */
static void cover_axis(double a0, double a1, double b, uint32_t n, uint32_t *lo, uint32_t *hi)
{
    double first = ceil(a0 - 1.0 - b - COVER_EPSILON);
    double last = floor(a1 + b + COVER_EPSILON);
    *lo = (uint32_t)clamp(first, 0.0, n - 1.0);
    *hi = (uint32_t)clamp(last, 0.0, n - 1.0);
}

void md_tile_range_covering(uint32_t z, const struct md_bbox *lonlat, uint32_t extent,
                            uint32_t buffer, uint32_t *x0, uint32_t *y0, uint32_t *x1, uint32_t *y1)
{
    /* The negated comparisons also catch NaN. */
    if (z > MD_TILE_MAX_ZOOM || !lonlat || !(lonlat->minx <= lonlat->maxx) ||
        !(lonlat->miny <= lonlat->maxy)) {
        *x0 = *y0 = 1;
        *x1 = *y1 = 0;
        return;
    }
    uint32_t n = UINT32_C(1) << z;
    double wx0, wy0, wx1, wy1;
    /* y is down in world space: the rectangle's top (maxy) gives the lowest wy. */
    world_from_lonlat(clamp(lonlat->minx, -180.0, 180.0), lonlat->maxy, &wx0, &wy0);
    world_from_lonlat(clamp(lonlat->maxx, -180.0, 180.0), lonlat->miny, &wx1, &wy1);
    double b = (double)buffer / (extent ? extent : MD_TILE_EXTENT);
    cover_axis(wx0 * n, wx1 * n, b, n, x0, x1);
    cover_axis(wy0 * n, wy1 * n, b, n, y0, y1);
}
