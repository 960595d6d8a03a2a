/* tile_crs.h - the coordinate system a tileset is drawn in: WGS84 or GCJ-02
 * Web Mercator.
 *
 * Every tileset is served twice: in WGS84 Web Mercator (EPSG:3857, the
 * default) and in GCJ-02 Web Mercator, for apps whose base map comes from
 * Amap or Tencent. A GCJ-02 tile z/x/y is the Web Mercator tile of GCJ-02
 * coordinates: a feature stored at WGS84 (lon, lat) is drawn at
 * md_gcj02_from_wgs84(lon, lat), every vertex of a line or polygon shifted
 * (geo/coords.h; identity outside China). BD-09 (Baidu) has its own tiling
 * and is not served.
 *
 * The store's spatial index is in WGS84, so a GCJ-02 tile reads the rows of
 * the WGS84 box its bounds come from (md_tile_crs_query_bbox), and the tile
 * cache invalidates GCJ-02 tiles from a change's WGS84 box moved to GCJ-02
 * (md_tile_crs_bbox_from_wgs84). Both boxes are bounds, never short: they
 * are built from the range of the GCJ-02 offset over the box (sampled on a
 * grid, widened by the offset's largest slope times the grid step, clamped
 * to the offset's range over all of China). All functions are pure.
 */
#ifndef MD_TILE_CRS_H
#define MD_TILE_CRS_H

#include "coords.h"
#include "md_err.h"
#include "tile_math.h"
#include <geos_c.h>

/* How many CRSs tiles are served in: MD_CRS_WGS84 and MD_CRS_GCJ02 (the
 * first values of enum md_crs); index arrays with it. */
#define MD_TILE_CRS_COUNT 2

/* Whether tiles are served in `crs` (WGS84 or GCJ-02). */
bool md_tile_crs_served(enum md_crs crs);

/* Where a WGS84 point is drawn in `crs`: (lon, lat) itself for WGS84, its
 * GCJ-02 position for GCJ-02. */
void md_tile_crs_point(enum md_crs crs, double lon, double lat, double *olon, double *olat);

/* The WGS84 box holding every point drawn in `crs` inside tile t grown by
 * `buffer` tile units (md_tile_query_bbox for WGS84). For the spatial-index
 * query of a GCJ-02 tile. */
void md_tile_crs_query_bbox(struct md_tile_id t, enum md_crs crs, uint32_t extent, uint32_t buffer,
                            struct md_bbox *out);

/* A box in `crs` holding where every point of the WGS84 box `wgs` is drawn
 * (a copy for WGS84). A box that is not valid (NaN, min > max) is copied. */
void md_tile_crs_bbox_from_wgs84(enum md_crs crs, const struct md_bbox *wgs, struct md_bbox *out);

/* `lonlat_geom` (borrowed, WGS84) with every vertex drawn in `crs`: for
 * GCJ-02 *out is a new geometry (caller destroys it with
 * GEOSGeom_destroy_r); for WGS84 *out is NULL (use the input). Errors:
 * MD_EGEOS (the copy failed), detail in ctx. */
md_err md_tile_crs_geom(GEOSContextHandle_t h, const GEOSGeometry *lonlat_geom, enum md_crs crs,
                        GEOSGeometry **out, struct md_ctx *ctx) MD_WUR;

#endif
