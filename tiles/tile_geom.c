/* tile_geom.c - the geometry -> tile pipeline (see tile_geom.h).
 *
 *   lon/lat geometry
 *     | reject      envelope misses the buffered tile -> nothing
 *     | project     GEOSGeom_transformXY_r, md_tile_project per vertex
 *     | clip        GEOSClipByRect_r to [-buffer, extent+buffer]^2
 *     |             (skipped when the envelope is inside the square)
 *     | keep dim    drop lower-dimension leftovers of the clip
 *     | simplify    GEOSSimplify_r (lines), GEOSTopologyPreserveSimplify_r
 *     |             (polygons); points are left alone
 *     | snap        GEOSGeom_setPrecision_r grid 1: integer vertices; for
 *     |             polygons a snap-rounding overlay that returns a valid
 *     |             result and removes collapsed rings
 *     | repair      GEOSMakeValid_r (structure method) when the snap fails or
 *     |             its result is not valid, then snap again
 *     | keep dim    drop collapsed and lower-dimension parts
 *   tile-space geometry or NULL
 *
 * Clipping comes before simplification: at high zooms most of a large
 * polygon lies outside the tile, and simplifying it whole would waste the
 * time; the clip edges lie in the buffer, where simplification cannot be seen.
 * Every intermediate geometry has one owner, the `cur` pointer of
 * md_tile_geom_prepare; replace() hands ownership along.
 */
#include "tile_geom.h"

#include <math.h>
#include <stdlib.h>

struct project_params {
    struct md_tile_id tile;
    uint32_t extent;
};

static int project_xy(double *x, double *y, void *userdata)
{
    const struct project_params *p = userdata;
    if (!isfinite(*x) || !isfinite(*y))
        return 0;
    md_tile_project(p->tile, p->extent, *x, *y, x, y);
    return 1;
}

/* Make `next` the current geometry, destroying the previous one unless it is
 * the caller's input. Returns false when `next` is NULL (a GEOS failure). */
static bool replace(GEOSContextHandle_t h, const GEOSGeometry *input, GEOSGeometry **cur,
                    GEOSGeometry *next)
{
    if (!next)
        return false;
    if (*cur && *cur != input && *cur != next)
        GEOSGeom_destroy_r(h, *cur);
    *cur = next;
    return true;
}

/* Dimension of a part: 0 point, 1 line, 2 polygon, -1 other. */
static int part_dim(int type_id)
{
    switch (type_id) {
    case GEOS_POINT:
    case GEOS_MULTIPOINT:
        return 0;
    case GEOS_LINESTRING:
    case GEOS_LINEARRING:
    case GEOS_MULTILINESTRING:
        return 1;
    case GEOS_POLYGON:
    case GEOS_MULTIPOLYGON:
        return 2;
    default:
        return -1;
    }
}

/* Whether a single (non-collection) part of dimension `dim` is worth keeping. */
static bool part_kept(GEOSContextHandle_t h, const GEOSGeometry *g, int dim)
{
    if (part_dim(GEOSGeomTypeId_r(h, g)) != dim || GEOSisEmpty_r(h, g) != 0)
        return false;
    double measure = 1;
    if (dim == 2 && !GEOSArea_r(h, g, &measure))
        return false;
    if (dim == 1 && !GEOSLength_r(h, g, &measure))
        return false;
    return measure > 0;
}

/* Count the kept single parts of g (walking collections); with `parts` set,
 * also clone them into it. */
static size_t collect(GEOSContextHandle_t h, const GEOSGeometry *g, int dim, GEOSGeometry **parts,
                      size_t n)
{
    int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_POINT || type == GEOS_LINESTRING || type == GEOS_LINEARRING ||
        type == GEOS_POLYGON) {
        if (!part_kept(h, g, dim))
            return n;
        if (parts) {
            /* A LinearRing left by a clip is written as a LineString. */
            if (type == GEOS_LINEARRING) {
                const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(h, g);
                GEOSCoordSequence *copy = seq ? GEOSCoordSeq_clone_r(h, seq) : NULL;
                parts[n] = copy ? GEOSGeom_createLineString_r(h, copy) : NULL;
            } else {
                parts[n] = GEOSGeom_clone_r(h, g);
            }
        }
        return n + 1;
    }
    int count = GEOSGetNumGeometries_r(h, g);
    for (int i = 0; i < count; i++)
        n = collect(h, GEOSGetGeometryN_r(h, g, i), dim, parts, n);
    return n;
}

/* Keep only the parts of dimension `dim` that have area (2) or length (1).
 * Takes ownership of g (unless it is `input`); *out = the result, which may
 * be g itself, or NULL when nothing is kept. Returns false on GEOS failure. */
static bool keep_dim(GEOSContextHandle_t h, const GEOSGeometry *input, GEOSGeometry *g, int dim,
                     GEOSGeometry **out)
{
    GEOSGeometry **parts = NULL;
    bool ok = false;
    *out = NULL;

    int type = GEOSGeomTypeId_r(h, g);
    size_t kept = collect(h, g, dim, NULL, 0);
    size_t total = (size_t)GEOSGetNumGeometries_r(h, g);
    if (kept == total && part_dim(type) == dim && type != GEOS_LINEARRING) {
        *out = g; /* already homogeneous and nothing collapsed */
        return true;
    }
    if (kept > 0) {
        parts = calloc(kept, sizeof(*parts));
        if (!parts)
            goto out;
        collect(h, g, dim, parts, 0);
        for (size_t i = 0; i < kept; i++)
            if (!parts[i])
                goto out;
        if (kept == 1) {
            *out = parts[0];
        } else {
            int multi = dim == 2   ? GEOS_MULTIPOLYGON
                        : dim == 1 ? GEOS_MULTILINESTRING
                                   : GEOS_MULTIPOINT;
            /* GEOS owns the parts from here on, even when it fails. */
            *out = GEOSGeom_createCollection_r(h, multi, parts, (unsigned int)kept);
            free(parts);
            parts = NULL;
            if (!*out)
                goto out;
        }
        free(parts);
        parts = NULL;
    }
    ok = true;
out:
    if (parts) {
        for (size_t i = 0; i < kept; i++)
            if (parts[i])
                GEOSGeom_destroy_r(h, parts[i]);
        free(parts);
    }
    if (g != input && g != *out)
        GEOSGeom_destroy_r(h, g);
    return ok;
}

static GEOSGeometry *make_valid(GEOSContextHandle_t h, const GEOSGeometry *g)
{
    GEOSMakeValidParams *params = GEOSMakeValidParams_create_r(h);
    if (!params)
        return NULL;
    GEOSMakeValidParams_setMethod_r(h, params, GEOS_MAKE_VALID_STRUCTURE);
    GEOSMakeValidParams_setKeepCollapsed_r(h, params, 0);
    GEOSGeometry *valid = GEOSMakeValidWithParams_r(h, g, params);
    GEOSMakeValidParams_destroy_r(h, params);
    return valid;
}

/* Snap *cur to the integer grid; for polygons make sure the result is valid,
 * repairing and snapping again when needed. false on GEOS failure. */
static bool snap_and_repair(GEOSContextHandle_t h, const GEOSGeometry *input, GEOSGeometry **cur,
                            int dim)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        GEOSGeometry *snapped = GEOSGeom_setPrecision_r(h, *cur, 1.0, 0);
        if (snapped) {
            replace(h, input, cur, snapped);
            if (dim < 2 || GEOSisValid_r(h, *cur) == 1)
                return true;
        }
        /* The snap failed on invalid input, or left an invalid result. */
        if (!replace(h, input, cur, make_valid(h, *cur)))
            return false;
        GEOSGeometry *kept;
        bool ok = keep_dim(h, input, *cur, dim, &kept);
        *cur = kept;
        if (!ok)
            return false;
        if (!kept)
            return true;
    }
    return false;
}

md_err md_tile_geom_prepare(GEOSContextHandle_t h, const GEOSGeometry *lonlat_geom,
                            struct md_tile_id t, uint32_t extent, uint32_t buffer,
                            GEOSGeometry **out, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    GEOSGeometry *cur = NULL; /* the pipeline's current geometry, when not the input */
    const char *step = NULL;

    if (out)
        *out = NULL;
    if (!h || !lonlat_geom || !out)
        return md_fail(ctx, MD_EINVAL, "md_tile_geom_prepare: NULL argument");
    if (!md_tile_valid(t))
        return md_fail(ctx, MD_EINVAL, "tile %u/%u/%u does not exist", t.z, t.x, t.y);
    if (extent == 0)
        return md_fail(ctx, MD_EINVAL, "tile extent must be > 0");
    if (GEOSisEmpty_r(h, lonlat_geom) != 0)
        return MD_OK;
    int dim = GEOSGeom_getDimensions_r(h, lonlat_geom);
    if (dim < 0 || dim > 2) {
        step = "dimension";
        goto geos_fail;
    }

    /* Reject: Mercator is monotonic in lon and lat, so the projected envelope
     * is the envelope's projection. */
    double lon0, lat0, lon1, lat1, x0, y0, x1, y1;
    if (!GEOSGeom_getXMin_r(h, lonlat_geom, &lon0) || !GEOSGeom_getYMin_r(h, lonlat_geom, &lat0) ||
        !GEOSGeom_getXMax_r(h, lonlat_geom, &lon1) || !GEOSGeom_getYMax_r(h, lonlat_geom, &lat1)) {
        step = "envelope";
        goto geos_fail;
    }
    if (!isfinite(lon0) || !isfinite(lat0) || !isfinite(lon1) || !isfinite(lat1)) {
        rc = md_fail(ctx, MD_EINVAL, "geometry has a non-finite coordinate");
        goto out;
    }
    md_tile_project(t, extent, lon0, lat1, &x0, &y0);
    md_tile_project(t, extent, lon1, lat0, &x1, &y1);
    double lo = -(double)buffer, hi = (double)extent + buffer;
    if (x1 < lo || x0 > hi || y1 < lo || y0 > hi)
        goto out;

    struct project_params params = {t, extent};
    step = "projection";
    if (!replace(h, lonlat_geom, &cur, GEOSGeom_transformXY_r(h, lonlat_geom, project_xy, &params)))
        goto geos_fail;

    if (x0 < lo || x1 > hi || y0 < lo || y1 > hi) {
        step = "clip";
        if (!replace(h, lonlat_geom, &cur, GEOSClipByRect_r(h, cur, lo, lo, hi, hi)))
            goto geos_fail;
        GEOSGeometry *kept;
        bool ok = keep_dim(h, lonlat_geom, cur, dim, &kept);
        cur = kept;
        if (!ok)
            goto geos_fail;
        if (!cur)
            goto out;
    }

    step = "simplify";
    if (dim == 1 &&
        !replace(h, lonlat_geom, &cur, GEOSSimplify_r(h, cur, MD_TILE_SIMPLIFY_TOLERANCE)))
        goto geos_fail;
    if (dim == 2 && !replace(h, lonlat_geom, &cur,
                             GEOSTopologyPreserveSimplify_r(h, cur, MD_TILE_SIMPLIFY_TOLERANCE)))
        goto geos_fail;

    step = "snap to grid";
    if (!snap_and_repair(h, lonlat_geom, &cur, dim))
        goto geos_fail;
    if (cur) {
        GEOSGeometry *kept;
        step = "collapse filter";
        bool ok = keep_dim(h, lonlat_geom, cur, dim, &kept);
        cur = kept;
        if (!ok)
            goto geos_fail;
    }
    if (cur == lonlat_geom) /* cannot happen: projection always copies */
        cur = NULL;
    *out = cur;
    cur = NULL;
    goto out;

geos_fail:
    if (cur == lonlat_geom) /* keep_dim leaves the input alone */
        cur = NULL;
    rc = md_fail(ctx, MD_EGEOS, "tile %u/%u/%u: GEOS %s failed", t.z, t.x, t.y, step);
out:
    if (cur && cur != lonlat_geom)
        GEOSGeom_destroy_r(h, cur);
    return rc;
}
