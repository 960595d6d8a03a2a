/* geodesic.h - distances on the WGS84 ellipsoid (Karney's algorithms, from PROJ).
 *
 * Every distance mapd reports is a geodesic on WGS84, in metres. This file
 * has the same name as PROJ's <geodesic.h>, and geo/ is on the include path
 * of everything that links mapd_geo, so it shadows PROJ's header; it
 * therefore includes PROJ's header itself (by full path, through the
 * generated md_proj_geodesic.h) and `#include "geodesic.h"` gives both APIs.
 *
 * Longitudes and latitudes are degrees, WGS84. Thread-safe: the only shared
 * object is the WGS84 geodesic, initialised once and then only read.
 */
#ifndef MD_GEODESIC_H
#define MD_GEODESIC_H

#include "md_proj_geodesic.h"
#include "md_types.h"

/* WGS84 semi-major axis (m), flattening and semi-minor axis (m). */
#define MD_WGS84_A 6378137.0
#define MD_WGS84_F (1.0 / 298.257223563)
#define MD_WGS84_B (MD_WGS84_A * (1.0 - MD_WGS84_F))

/* The shared WGS84 geodesic for direct use of PROJ's geod_* functions;
 * borrowed, read-only, valid for the life of the process. */
const struct geod_geodesic *md_geod_wgs84(void);

/* Geodesic distance in metres between two points (shortest path, accurate
 * to ~15 nm). NaN when an argument is NaN or |lat| > 90. */
double md_geod_distance(double lon1, double lat1, double lon2, double lat2);

/* The point reached by going `distance_m` metres from (lon, lat) with
 * initial azimuth `azimuth_deg` (clockwise from north). *olon is in
 * [-180, 180]. */
void md_geod_direct(double lon, double lat, double azimuth_deg, double distance_m, double *olon,
                    double *olat);

/* A lon/lat bbox that surely contains every point within `radius_m`
 * (geodesic) of (lon, lat), for an R*Tree query before exact distance
 * filtering. At most 0.34% (at the equator; less towards the poles) plus
 * 1 µm larger than needed on each side. When the
 * circle reaches a pole the box spans all longitudes up to that pole; when
 * it crosses the antimeridian the box spans all longitudes (use
 * md_geod_bboxes_around() to get two tight boxes instead). Always
 * -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90. A negative or
 * NaN radius counts as 0; a NaN or infinite centre gives an all-NaN box. */
void md_geod_bbox_around(double lon, double lat, double radius_m, struct md_bbox *out);

/* Like md_geod_bbox_around() but splits a circle that crosses the
 * antimeridian into an eastern and a western box. Fills out[0] and, when it
 * returns 2, out[1]; returns the number of boxes (1 or 2). */
int md_geod_bboxes_around(double lon, double lat, double radius_m, struct md_bbox out[2]);

/* A lower bound (metres) of the geodesic distance from (lon, lat) to the
 * nearest point of the lon/lat box `b`, for pruning a best-first k-nearest
 * search: never more than the true minimum, and at most 0.34% below it.
 * 0 when the point is inside. A box with minx > maxx is taken to cross the
 * antimeridian (from minx east to maxx); latitudes are clamped to -90..90;
 * an empty or NaN box gives 0. */
double md_geod_min_distance_to_bbox(double lon, double lat, const struct md_bbox *b);

/* Cheap two-sided bounds of the geodesic distance from one fixed point to
 * many others (k-nearest and radius searches: exact distances only for the
 * candidates the bounds cannot decide). About 40 ns per point against
 * ~600 ns for md_geod_distance. Set up with md_geod_near_init() (lon, lat
 * finite, lat clamped to -90..90); the struct is the caller's, read-only
 * afterwards. */
struct md_geod_near {
    double lon, sin_psi, cos_psi;
};
void md_geod_near_init(struct md_geod_near *g, double lon, double lat);

/* *lo <= md_geod_distance(g's point, (lon, lat)) <= *hi, and *hi / *lo is
 * at most a/b (1.0034) plus rounding allowances. */
void md_geod_near_bounds(const struct md_geod_near *g, double lon, double lat, double *lo,
                         double *hi);

#endif
