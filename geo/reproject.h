/* reproject.h - bring imported coordinates from any CRS to WGS84 lon/lat.
 *
 * Imports name their source CRS as text: anything PROJ knows ("EPSG:4490"
 * CGCS2000, "EPSG:4498" CGCS2000 / Gauss-Kruger zone 20, WKT, PROJJSON, a
 * PROJ string, an exact CRS name such as "Beijing 1954") or one of mapd's
 * own names ("wgs84", "gcj02", "bd09", "epsg:4326", "4326"), which are
 * handled without PROJ by coords.h.
 *
 * Axis order is always x = longitude/easting, y = latitude/northing, in and
 * out, whatever the CRS's official order (EPSG:4490 is lat/lon, EPSG:4498
 * northing/easting): the transformation is normalised for visualisation.
 */
#ifndef MD_REPROJECT_H
#define MD_REPROJECT_H

#include "md_err.h"
#include <proj.h>

/* Longest CRS definition accepted (WKT of a compound CRS is a few KiB). */
#define MD_REPROJ_MAX_CRS_LEN 65536

struct md_reproj;

/* Make a transformer from `src_crs` to WGS84 lon/lat. `pj_ctx` is the
 * caller's per-thread PROJ context (borrowed, only during this call; NULL
 * for PROJ's defaults): the transformer works in its own clone of it, so
 * that PROJ's log messages can be captured, and may then be used by one
 * thread at a time, any thread. Bare names must match a CRS name or alias
 * exactly (PROJ alone would guess: "foo" becomes Amersfoort).
 * Errors: MD_EINVAL for an empty, too long, unknown or non-CRS definition
 * or one PROJ cannot transform to WGS84, with PROJ's message in ctx;
 * MD_ENOMEM; MD_EPROJ for other PROJ failures. On success *out is set and
 * the caller frees it with md_reproj_free(). */
md_err md_reproj_new(PJ_CONTEXT *pj_ctx, const char *src_crs, struct md_reproj **out,
                     struct md_ctx *ctx) MD_WUR;

/* Transform one point (x = easting/longitude, y = northing/latitude in the
 * source CRS's units) to WGS84 *lon, *lat in degrees. MD_EINVAL when the
 * input is not finite, PROJ cannot transform it (e.g. outside the
 * projection's domain; PROJ's message goes into ctx) or the result is not a
 * valid lon/lat; outputs are written only on success. */
md_err md_reproj_point(struct md_reproj *r, double x, double y, double *lon, double *lat,
                       struct md_ctx *ctx) MD_WUR;

/* What the transformer does, for logs and import reports: PROJ's name for
 * the operation (e.g. "Inverse of 6-degree Gauss-Kruger zone 20 + Ballpark
 * geographic offset from ..."), or mapd's for its own conversions.
 * Borrowed, valid until md_reproj_free(). */
const char *md_reproj_describe(const struct md_reproj *r);

/* Accepts NULL. */
void md_reproj_free(struct md_reproj *r);

#endif
