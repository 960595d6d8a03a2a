/* tile_geom.h - WGS84 geometry to tile-space geometry, ready for the encoder.
 *
 * The pipeline (md_tile_geom_prepare) is: project lon/lat into the tile's
 * integer space, clip to the tile plus buffer, simplify to the tile's
 * resolution, snap to the integer grid, repair what became invalid, and drop
 * what collapsed. Its output goes straight to md_mvt_geom_geos().
 */
#ifndef MD_TILE_GEOM_H
#define MD_TILE_GEOM_H

#include "md_err.h"
#include "tile_math.h"
#include <geos_c.h>

/* Tolerance of the simplification step, in tile units. */
#define MD_TILE_SIMPLIFY_TOLERANCE 1.0

/* Project `lonlat_geom` (borrowed; WGS84 degrees, x = lon) into tile `t`
 * with the given extent (> 0), clip it to [-buffer, extent + buffer]^2,
 * simplify it (Douglas-Peucker for lines, topology-preserving for polygons,
 * tolerance MD_TILE_SIMPLIFY_TOLERANCE), snap it to the integer grid
 * (GEOSGeom_setPrecision_r, grid 1), repair it (GEOSMakeValid_r) when needed,
 * and keep only the parts of the input's dimension that did not collapse
 * (polygons of zero area, lines of zero length). A GeometryCollection is
 * treated as its highest-dimension parts.
 * Output: *out is a new Point/MultiPoint, LineString/MultiLineString or
 * Polygon/MultiPolygon in tile space (y down) with integer coordinates,
 * valid, caller destroys it with GEOSGeom_destroy_r(h, ...); or NULL (and
 * MD_OK) when nothing of the geometry is left in the tile.
 * Errors: MD_EINVAL (NULL arguments, invalid tile, extent 0, non-finite
 * coordinates), MD_EGEOS (a GEOS step failed), with detail in ctx. */
md_err md_tile_geom_prepare(GEOSContextHandle_t h, const GEOSGeometry *lonlat_geom,
                            struct md_tile_id t, uint32_t extent, uint32_t buffer,
                            GEOSGeometry **out, struct md_ctx *ctx) MD_WUR;

#endif
