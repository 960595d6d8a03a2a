/* coords.h - WGS84, GCJ-02 and BD-09 longitude/latitude conversions.
 *
 * mapd stores WGS84 (EPSG:4326). Chinese map SDKs hand out two obfuscated
 * variants: GCJ-02 ("Mars" coordinates, Amap, Tencent, Google China) and
 * BD-09 (Baidu, a further offset of GCJ-02). Requests may say crs=gcj02 or
 * crs=bd09; points are converted to WGS84 on the way in and back on the way
 * out with these functions.
 *
 * All conversions are pure functions of their input (no state, thread-safe),
 * take and return degrees as (lon, lat), and never fail: NaN in gives NaN
 * out. Validate ranges with md_check_lonlat() before converting.
 *
 * Outside China (md_out_of_china()) GCJ-02 equals WGS84, as in every
 * published implementation. The BD-09 step (GCJ-02 <-> BD-09) is applied
 * everywhere, as coordtransform and gcoord do, so md_bd09_from_wgs84() of a
 * point in London is WGS84 plus Baidu's ~0.0065° shift.
 */
#ifndef MD_COORDS_H
#define MD_COORDS_H

#include "md_err.h"
#include <stdbool.h>

enum md_crs { MD_CRS_WGS84 = 0, MD_CRS_GCJ02, MD_CRS_BD09 };

/* Parse a request's crs= value: "wgs84", "gcj02" or "bd09", case-insensitive;
 * "epsg:4326" and "4326" also mean WGS84; NULL or "" means WGS84.
 * Anything else: MD_EINVAL, ctx gets
 * "unknown crs 'NAME': use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean wgs84)"
 * (NAME is left out when it is longer than 40 bytes or not printable ASCII).
 * *out is written only on success. */
md_err md_crs_parse(const char *name, enum md_crs *out, struct md_ctx *ctx) MD_WUR;
/* Canonical lower-case name ("wgs84", "gcj02", "bd09"); "unknown" for other values.
 * Static storage. */
const char *md_crs_name(enum md_crs crs);

/* The rough box published with the GCJ-02 formulas: true unless
 * 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271 (NaN counts as outside). */
bool md_out_of_china(double lon, double lat);

/* GCJ-02 from WGS84; identity outside China. */
void md_gcj02_from_wgs84(double lon, double lat, double *olon, double *olat);
/* WGS84 from GCJ-02 by iterating the forward formula to < 1e-10° (~1 cm needs 1e-7°);
 * identity when the GCJ-02 point is outside China. */
void md_wgs84_from_gcj02(double lon, double lat, double *olon, double *olat);
/* BD-09 from GCJ-02 (Baidu's published formula, applied everywhere). */
void md_bd09_from_gcj02(double lon, double lat, double *olon, double *olat);
/* GCJ-02 from BD-09: the published approximate inverse, refined by iteration to < 1e-10°. */
void md_gcj02_from_bd09(double lon, double lat, double *olon, double *olat);
/* Compositions through GCJ-02. */
void md_wgs84_from_bd09(double lon, double lat, double *olon, double *olat);
void md_bd09_from_wgs84(double lon, double lat, double *olon, double *olat);

/* Convert a point given in `from` to WGS84, or WGS84 to `to`. Unknown enum
 * values are treated as WGS84 (identity). */
void md_crs_to_wgs84(enum md_crs from, double lon, double lat, double *olon, double *olat);
void md_crs_from_wgs84(enum md_crs to, double lon, double lat, double *olon, double *olat);
/* Any of the three to any other (through WGS84 only when needed). */
void md_crs_convert(enum md_crs from, enum md_crs to, double lon, double lat, double *olon,
                    double *olat);

#endif
