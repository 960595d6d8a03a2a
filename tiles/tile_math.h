/* tile_math.h - the XYZ tile grid on Web Mercator (EPSG:3857).
 *
 * Tiles follow the slippy-map scheme: zoom z has 2^z x 2^z tiles, x grows
 * east from -180°, y grows south from +85.0511°. Tile space is the integer
 * grid a vector tile is drawn in: (0,0) is the tile's top-left corner,
 * (extent,extent) its bottom-right; y points down.
 * All functions are pure and thread-safe.
 */
#ifndef MD_TILE_MATH_H
#define MD_TILE_MATH_H

#include "md_types.h"
#include <stdbool.h>
#include <stdint.h>

#define MD_TILE_EXTENT 4096
#define MD_TILE_BUFFER 64
#define MD_TILE_MAX_ZOOM 22

/* Half the width of the Web Mercator square, metres (pi * 6378137). */
#define MD_MERC_HALF 20037508.342789244
/* Latitude at which Web Mercator's square ends (atan(sinh(pi)) in degrees). */
#define MD_MERC_MAX_LAT 85.0511287798066

struct md_tile_id {
    uint32_t z, x, y;
};

/* True when z <= MD_TILE_MAX_ZOOM and x, y < 2^z. */
bool md_tile_valid(struct md_tile_id t);

/* lon/lat degrees -> EPSG:3857 metres. lat is clamped to ±MD_MERC_MAX_LAT,
 * lon is not wrapped (lon 180 -> x = MD_MERC_HALF). */
void md_merc_from_lonlat(double lon, double lat, double *x, double *y);
/* EPSG:3857 metres -> lon/lat degrees (inverse of md_merc_from_lonlat). */
void md_lonlat_from_merc(double x, double y, double *lon, double *lat);

/* The tile's square in metres. t must be valid (md_tile_valid). */
void md_tile_bounds_merc(struct md_tile_id t, struct md_bbox *out);
/* The tile's rectangle in lon/lat degrees. t must be valid. */
void md_tile_bounds_lonlat(struct md_tile_id t, struct md_bbox *out);

/* Tile-space coordinates of a lon/lat (y down; 0..extent inside the tile,
 * outside otherwise). lat is clamped as in md_merc_from_lonlat. */
void md_tile_project(struct md_tile_id t, uint32_t extent, double lon, double lat, double *tx,
                     double *ty);

/* lon/lat rectangle of the tile grown by `buffer` tile units on each side,
 * for spatial-index queries. The top row of tiles reaches lat 90 and the
 * bottom row lat -90, because md_tile_project clamps polar points onto
 * those tiles' edges. */
void md_tile_query_bbox(struct md_tile_id t, uint32_t extent, uint32_t buffer, struct md_bbox *out);

/* Inclusive x/y range of the tiles at zoom z whose extent grown by `buffer`
 * tile units intersects (boundary included) the lon/lat rectangle `lonlat`:
 * the tiles that can show a feature with that bbox, for cache invalidation.
 * The range errs on the side of one tile too many, never one too few.
 * lon is clamped to ±180 and lat to ±MD_MERC_MAX_LAT. When z > MD_TILE_MAX_ZOOM
 * or the rectangle is not valid (NaN, min > max), the range is empty:
 * *x0 = *y0 = 1, *x1 = *y1 = 0. */
void md_tile_range_covering(uint32_t z, const struct md_bbox *lonlat, uint32_t extent,
                            uint32_t buffer, uint32_t *x0, uint32_t *y0, uint32_t *x1,
                            uint32_t *y1);

#endif
