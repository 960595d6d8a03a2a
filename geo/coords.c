/* coords.c - WGS84 <-> GCJ-02 <-> BD-09 (see coords.h).
 *
 * Neither GCJ-02 nor BD-09 is a geodetic datum. GCJ-02 is the offset that
 * China's surveying administration requires of published maps; its
 * algorithm is secret, and what every open implementation (eviltransform,
 * coordtransform, gcoord) uses is a reverse-engineered closed form that
 * matches the official converter to well under a metre. BD-09 is Baidu's
 * own closed-form offset on top of GCJ-02. So the forward directions are
 * formulas, and the inverses solve forward(x) = y by fixed-point iteration
 * x <- x - (forward(x) - y); the offsets change by a few hundred metres per
 * degree, so each step shrinks the error about 400 times and four or five
 * steps reach the 1e-10° (~10 µm) tolerance.
 *
 * Invariants: no state; every function is total and NaN-propagating.
 */
#include "coords.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <strings.h>

/* GCJ-02's reference ellipsoid is Krasovsky 1940 (the one of the old
 * Beijing 1954 datum): semi-major axis a = 6378245.0 m and first
 * eccentricity squared ee = 0.00669342162296594323. The offset is computed
 * in metres-like units by the two polynomial-plus-sine series below and
 * turned into degrees with this ellipsoid's radii of curvature. (gcoord
 * writes ee as 0.006693421622965823, 1.2e-16 less; the results differ by
 * under 1e-12°.) */
#define GCJ_A 6378245.0
#define GCJ_EE 0.00669342162296594323

/* BD-09 works in degrees scaled by x_pi = π·3000/180. */
#define BD_X_PI (M_PI * 3000.0 / 180.0)

/* Stop iterating inverses when a step moves less than this (degrees). */
#define INVERSE_TOL 1e-10
/* The iterations converge in about five steps; the cap only guards
 * against oscillation at the edge of the China box. */
#define INVERSE_MAX_STEPS 30

bool md_out_of_china(double lon, double lat)
{
    /* Written as the negation of "inside" so that NaN is outside. */
    return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
}

/* The published series, in the form and evaluation order of the reference
 * implementations: x, y are lon - 105 and lat - 35. */
static double gcj_series_lat(double x, double y)
{
    double ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));
    ret += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    ret += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
    ret += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
    return ret;
}

static double gcj_series_lon(double x, double y)
{
    double ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));
    ret += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    ret += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
    ret += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
    return ret;
}

/* The GCJ-02 offset (degrees) at a WGS84 point, without the China box test. */
static void gcj_offset(double lon, double lat, double *dlon, double *dlat)
{
    double series_lon = gcj_series_lon(lon - 105.0, lat - 35.0);
    double series_lat = gcj_series_lat(lon - 105.0, lat - 35.0);
    double rad_lat = lat / 180.0 * M_PI;
    double magic = sin(rad_lat);
    magic = 1.0 - GCJ_EE * magic * magic;
    double sqrt_magic = sqrt(magic);
    /* a / sqrt(1 - ee sin²φ) is the prime-vertical radius N (so N cos φ is the
     * radius of the parallel); a (1 - ee) / (1 - ee sin²φ)^1.5 is the meridian
     * radius M. series·180/(R·π) turns a length into degrees. */
    *dlon = (series_lon * 180.0) / (GCJ_A / sqrt_magic * cos(rad_lat) * M_PI);
    *dlat = (series_lat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrt_magic) * M_PI);
}

void md_gcj02_from_wgs84(double lon, double lat, double *olon, double *olat)
{
    if (md_out_of_china(lon, lat)) {
        *olon = lon;
        *olat = lat;
        return;
    }
    double dlon, dlat;
    gcj_offset(lon, lat, &dlon, &dlat);
    *olon = lon + dlon;
    *olat = lat + dlat;
}

void md_wgs84_from_gcj02(double lon, double lat, double *olon, double *olat)
{
    if (md_out_of_china(lon, lat)) {
        *olon = lon;
        *olat = lat;
        return;
    }
    /* Iterate on the offset without the box test so that the map being
     * inverted is smooth even where the answer lies just outside the box. */
    double wlon = lon, wlat = lat;
    for (int step = 0; step < INVERSE_MAX_STEPS; step++) {
        double dlon, dlat;
        gcj_offset(wlon, wlat, &dlon, &dlat);
        double err_lon = wlon + dlon - lon, err_lat = wlat + dlat - lat;
        wlon -= err_lon;
        wlat -= err_lat;
        if (fabs(err_lon) < INVERSE_TOL && fabs(err_lat) < INVERSE_TOL)
            break;
    }
    *olon = wlon;
    *olat = wlat;
}

void md_bd09_from_gcj02(double lon, double lat, double *olon, double *olat)
{
    /* Baidu's formula, as published with coordtransform and gcoord: take the
     * GCJ-02 point in polar form about (0°, 0°), stretch the radius by
     * 2e-5·sin(lat·x_pi) and turn the angle by 3e-6·cos(lon·x_pi), then
     * shift by (+0.0065°, +0.006°). */
    double z = sqrt(lon * lon + lat * lat) + 0.00002 * sin(lat * BD_X_PI);
    double theta = atan2(lat, lon) + 0.000003 * cos(lon * BD_X_PI);
    *olon = z * cos(theta) + 0.0065;
    *olat = z * sin(theta) + 0.006;
}

void md_gcj02_from_bd09(double lon, double lat, double *olon, double *olat)
{
    /* Start from the published inverse (the same steps undone in reverse
     * order, with the perturbations evaluated at the BD-09 point; off by up
     * to ~2e-6°, 20 cm), then remove the rest by iterating the forward
     * formula. */
    double x = lon - 0.0065, y = lat - 0.006;
    double z = sqrt(x * x + y * y) - 0.00002 * sin(y * BD_X_PI);
    double theta = atan2(y, x) - 0.000003 * cos(x * BD_X_PI);
    double glon = z * cos(theta), glat = z * sin(theta);
    for (int step = 0; step < INVERSE_MAX_STEPS; step++) {
        double blon, blat;
        md_bd09_from_gcj02(glon, glat, &blon, &blat);
        double err_lon = blon - lon, err_lat = blat - lat;
        glon -= err_lon;
        glat -= err_lat;
        if (fabs(err_lon) < INVERSE_TOL && fabs(err_lat) < INVERSE_TOL)
            break;
    }
    *olon = glon;
    *olat = glat;
}

void md_wgs84_from_bd09(double lon, double lat, double *olon, double *olat)
{
    double glon, glat;
    md_gcj02_from_bd09(lon, lat, &glon, &glat);
    md_wgs84_from_gcj02(glon, glat, olon, olat);
}

void md_bd09_from_wgs84(double lon, double lat, double *olon, double *olat)
{
    double glon, glat;
    md_gcj02_from_wgs84(lon, lat, &glon, &glat);
    md_bd09_from_gcj02(glon, glat, olon, olat);
}

void md_crs_to_wgs84(enum md_crs from, double lon, double lat, double *olon, double *olat)
{
    switch (from) {
    case MD_CRS_GCJ02:
        md_wgs84_from_gcj02(lon, lat, olon, olat);
        return;
    case MD_CRS_BD09:
        md_wgs84_from_bd09(lon, lat, olon, olat);
        return;
    case MD_CRS_WGS84:
    default:
        *olon = lon;
        *olat = lat;
        return;
    }
}

void md_crs_from_wgs84(enum md_crs to, double lon, double lat, double *olon, double *olat)
{
    switch (to) {
    case MD_CRS_GCJ02:
        md_gcj02_from_wgs84(lon, lat, olon, olat);
        return;
    case MD_CRS_BD09:
        md_bd09_from_wgs84(lon, lat, olon, olat);
        return;
    case MD_CRS_WGS84:
    default:
        *olon = lon;
        *olat = lat;
        return;
    }
}

void md_crs_convert(enum md_crs from, enum md_crs to, double lon, double lat, double *olon,
                    double *olat)
{
    /* GCJ-02 <-> BD-09 directly: going through WGS84 would add the GCJ-02
     * inverse's (tiny) error for nothing. */
    if (from == MD_CRS_GCJ02 && to == MD_CRS_BD09) {
        md_bd09_from_gcj02(lon, lat, olon, olat);
        return;
    }
    if (from == MD_CRS_BD09 && to == MD_CRS_GCJ02) {
        md_gcj02_from_bd09(lon, lat, olon, olat);
        return;
    }
    double wlon, wlat;
    md_crs_to_wgs84(from, lon, lat, &wlon, &wlat);
    md_crs_from_wgs84(to, wlon, wlat, olon, olat);
}

/* True when `s` can be echoed in an error message (and so in a JSON body):
 * short, printable ASCII. */
static bool echoable(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (n >= 40 || !isprint((unsigned char)s[n]) || (unsigned char)s[n] > 0x7e)
            return false;
    }
    return true;
}

md_err md_crs_parse(const char *name, enum md_crs *out, struct md_ctx *ctx)
{
    static const struct {
        const char *name;
        enum md_crs crs;
    } names[] = {
        {"wgs84", MD_CRS_WGS84},     {"gcj02", MD_CRS_GCJ02}, {"bd09", MD_CRS_BD09},
        {"epsg:4326", MD_CRS_WGS84}, {"4326", MD_CRS_WGS84},
    };
    if (!name || !*name) {
        *out = MD_CRS_WGS84;
        return MD_OK;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].crs;
            return MD_OK;
        }
    }
    if (echoable(name))
        return md_fail(ctx, MD_EINVAL,
                       "unknown crs '%s': use wgs84, gcj02 or bd09 "
                       "(epsg:4326 and 4326 also mean wgs84)",
                       name);
    return md_fail(ctx, MD_EINVAL,
                   "unknown crs: use wgs84, gcj02 or bd09 (epsg:4326 and 4326 also mean wgs84)");
}

const char *md_crs_name(enum md_crs crs)
{
    switch (crs) {
    case MD_CRS_WGS84:
        return "wgs84";
    case MD_CRS_GCJ02:
        return "gcj02";
    case MD_CRS_BD09:
        return "bd09";
    }
    return "unknown";
}
