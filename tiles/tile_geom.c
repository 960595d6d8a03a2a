/* tile_geom.c - the geometry -> tile pipeline (see tile_geom.h).
 *
 *   lon/lat geometry
 *     | reject      envelope misses the buffered tile -> nothing
 *     |             (a single point is projected, tested, rounded right here)
 *     | project     GEOSGeom_transformXY_r, md_tile_project per vertex
 *     | clip        GEOSClipByRect_r to [-buffer, extent+buffer]^2 (skipped
 *     |             when the envelope is inside), lower-dimension leftovers
 *     |             dropped
 *     | snap        vertices rounded to the integer grid, consecutive repeats
 *     |             removed; polygon rings also Douglas-Peucker simplified
 *     |             here; collapsed lines and rings dropped (shells with
 *     |             their holes)
 *     | validate    polygons: GEOSisValid_r. If invalid, snap again without
 *     |             simplifying and use GEOSTopologyPreserveSimplify_r
 *     | simplify    lines: GEOSSimplify_r
 *     | repair      polygons still invalid: GEOSMakeValid_r (structure
 *     |             method), then GEOSGeom_setPrecision_r grid 1, whose
 *     |             snap-rounding overlay gives valid integer output
 *     | keep dim    drop collapsed and lower-dimension parts
 *   tile-space geometry or NULL
 *
 * Why this order, and why not always GEOS's own snap and simplifier. Clipping
 * comes first: at high zooms most of a large polygon lies outside the tile,
 * and the clip edges are in the buffer, out of sight. GEOSGeom_setPrecision_r
 * in its topological mode is a full overlay (~85 us for a 40-vertex polygon)
 * and GEOSTopologyPreserveSimplify_r costs ~40 us on the same polygon, while
 * rounding, Douglas-Peucker on the rounded rings and one GEOSisValid_r take
 * a few us. So the cheap path runs first, and the GEOS operations that
 * guarantee topology run only when the cheap result is not valid: the output
 * is always valid and simplified without changing topology, as the spec asks.
 * (GEOSSimplify_r is not used for polygons: it silently "repairs" with
 * buffer(0), which can drop parts.) Both simplifiers only remove vertices,
 * so the output stays on the grid.
 *
 * Every intermediate geometry has one owner, the `cur` pointer of
 * md_tile_geom_prepare; replace() hands ownership along.
 */
#include "tile_geom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* md_tile_project with the tile's constants worked out once per geometry:
 * tx = wx * scale - x0, ty = wy * scale - y0 in world coordinates. */
struct project_params {
    double scale, x0, y0;
};

static void project_init(struct project_params *p, struct md_tile_id t, uint32_t extent)
{
    p->scale = (double)(UINT32_C(1) << t.z) * extent;
    p->x0 = (double)t.x * extent;
    p->y0 = (double)t.y * extent;
}

static int project_xy(double *x, double *y, void *userdata)
{
    const struct project_params *p = userdata;
    double lon = *x, lat = *y;
    if (!isfinite(lon) || !isfinite(lat))
        return 0;
    lat = lat > MD_MERC_MAX_LAT ? MD_MERC_MAX_LAT : lat < -MD_MERC_MAX_LAT ? -MD_MERC_MAX_LAT : lat;
    double wx = lon / 360.0 + 0.5;
    double wy = 0.5 - log(tan(M_PI / 4.0 + lat * (M_PI / 360.0))) / (2.0 * M_PI);
    *x = wx * p->scale - p->x0;
    *y = wy * p->scale - p->y0;
    return 1;
}

/* Make `next` the current geometry, destroying the previous one. Returns
 * false (keeping the current one) when `next` is NULL, a GEOS failure. */
static bool replace(GEOSContextHandle_t h, GEOSGeometry **cur, GEOSGeometry *next)
{
    if (!next)
        return false;
    if (*cur && *cur != next)
        GEOSGeom_destroy_r(h, *cur);
    *cur = next;
    return true;
}

/* ---- keeping one dimension ---- */

/* Dimension of a geometry kind: 0 point, 1 line, 2 polygon, -1 collection. */
static int kind_dim(int type_id)
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

/* Whether a single (non-collection) part of dimension `dim` is worth keeping.
 * Area is only meaningful for valid polygons (a bow-tie's can be 0), so it is
 * checked only when `valid`. */
static bool part_kept(GEOSContextHandle_t h, const GEOSGeometry *g, int dim, bool valid)
{
    if (kind_dim(GEOSGeomTypeId_r(h, g)) != dim || GEOSisEmpty_r(h, g) != 0)
        return false;
    double measure = 1;
    if (dim == 2 && valid && !GEOSArea_r(h, g, &measure))
        return false;
    if (dim == 1 && !GEOSLength_r(h, g, &measure))
        return false;
    return measure > 0;
}

/* Count the kept single parts of g (walking collections); with `parts` set,
 * also clone them into it (a LinearRing becomes a LineString). */
static size_t collect(GEOSContextHandle_t h, const GEOSGeometry *g, int dim, bool valid,
                      GEOSGeometry **parts, size_t n)
{
    int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_POINT || type == GEOS_LINESTRING || type == GEOS_LINEARRING ||
        type == GEOS_POLYGON) {
        if (!part_kept(h, g, dim, valid))
            return n;
        if (parts) {
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
        n = collect(h, GEOSGetGeometryN_r(h, g, i), dim, valid, parts, n);
    return n;
}

/* A Point/LineString/Polygon for one part, the Multi kind for several (takes
 * the parts, even on failure), NULL for none. *ok = false on GEOS failure. */
static GEOSGeometry *assemble(GEOSContextHandle_t h, GEOSGeometry **parts, size_t n, int dim,
                              bool *ok)
{
    *ok = true;
    if (n == 0)
        return NULL;
    if (n == 1)
        return parts[0];
    int multi = dim == 2 ? GEOS_MULTIPOLYGON : dim == 1 ? GEOS_MULTILINESTRING : GEOS_MULTIPOINT;
    GEOSGeometry *g = GEOSGeom_createCollection_r(h, multi, parts, (unsigned int)n);
    *ok = g != NULL;
    return g;
}

/* Replace *cur by its non-empty parts of dimension `dim` that have length
 * (lines) or, when `valid`, area (polygons); *cur becomes NULL when none is
 * left. false on GEOS failure. */
static bool keep_dim(GEOSContextHandle_t h, GEOSGeometry **cur, int dim, bool valid)
{
    int type = GEOSGeomTypeId_r(h, *cur);
    size_t kept = collect(h, *cur, dim, valid, NULL, 0);
    if (kept == (size_t)GEOSGetNumGeometries_r(h, *cur) && kind_dim(type) == dim &&
        type != GEOS_LINEARRING)
        return true; /* homogeneous and nothing collapsed */
    GEOSGeometry **parts = kept ? calloc(kept, sizeof(*parts)) : NULL;
    if (kept && !parts)
        return false;
    bool ok = true;
    if (kept) {
        collect(h, *cur, dim, valid, parts, 0);
        for (size_t i = 0; i < kept; i++)
            ok = ok && parts[i];
    }
    GEOSGeometry *next = NULL;
    if (ok) {
        next = assemble(h, parts, kept, dim, &ok);
    } else {
        for (size_t i = 0; i < kept; i++)
            if (parts[i])
                GEOSGeom_destroy_r(h, parts[i]);
    }
    free(parts);
    if (!ok)
        return false;
    GEOSGeom_destroy_r(h, *cur);
    *cur = next;
    return true;
}

/* ---- snapping to the grid ---- */

/* Scratch for one part's rounded coordinates (x,y pairs), plus what the
 * snap measured for the simplification trigger. */
struct snap {
    bool simplify; /* run Douglas-Peucker on rings */
    double *xy;
    size_t cap;
    size_t *stack; /* Douglas-Peucker work list, 2 * cap / 2 entries */
    unsigned char *keep;
};

/* Round line or ring g into s->xy, dropping consecutive repeats; *n = points.
 * false on GEOS or allocation failure. */
static bool snap_part(GEOSContextHandle_t h, const GEOSGeometry *g, struct snap *s, size_t *n)
{
    const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(h, g);
    unsigned int size = 0;
    *n = 0;
    if (!seq || !GEOSCoordSeq_getSize_r(h, seq, &size))
        return false;
    if ((size_t)size * 2 > s->cap) {
        double *xy = realloc(s->xy, (size_t)size * 2 * sizeof(double));
        if (xy)
            s->xy = xy;
        size_t *stack = realloc(s->stack, (size_t)size * 2 * sizeof(size_t));
        if (stack)
            s->stack = stack;
        unsigned char *keep = realloc(s->keep, size);
        if (keep)
            s->keep = keep;
        if (!xy || !stack || !keep)
            return false;
        s->cap = (size_t)size * 2;
    }
    if (size && !GEOSCoordSeq_copyToBuffer_r(h, seq, s->xy, 0, 0))
        return false;
    size_t kept = 0;
    for (unsigned int i = 0; i < size; i++) {
        double x = nearbyint(s->xy[2 * i]), y = nearbyint(s->xy[2 * i + 1]);
        if (kept && s->xy[2 * kept - 2] == x && s->xy[2 * kept - 1] == y)
            continue;
        s->xy[2 * kept] = x;
        s->xy[2 * kept + 1] = y;
        kept++;
    }
    *n = kept;
    return true;
}

/* Whether a snapped ring (n points, closed) has collapsed: too few points,
 * or all on one line. A self-crossing ring can have zero signed area without
 * having collapsed; that is for the repair step. */
static bool ring_collapsed(const double *xy, size_t n)
{
    if (n < 4)
        return true;
    double dx = xy[2] - xy[0], dy = xy[3] - xy[1]; /* nonzero: repeats are gone */
    for (size_t i = 2; i + 1 < n; i++)
        if (dx * (xy[2 * i + 1] - xy[1]) != dy * (xy[2 * i] - xy[0]))
            return false;
    return true;
}

/* Squared distance from point k to segment i-j of xy (to point i if i == j). */
static double seg_dist2(const double *xy, size_t i, size_t j, size_t k)
{
    double ax = xy[2 * i], ay = xy[2 * i + 1], dx = xy[2 * j] - ax, dy = xy[2 * j + 1] - ay;
    double px = xy[2 * k] - ax, py = xy[2 * k + 1] - ay, len2 = dx * dx + dy * dy;
    double u = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    px -= u * dx;
    py -= u * dy;
    return px * px + py * py;
}

/* Douglas-Peucker over the n points of s->xy (a closed ring keeps its first
 * and last point, as GEOS's simplifier does), compacting in place. */
static size_t douglas_peucker(struct snap *s, size_t n, double tolerance)
{
    double tol2 = tolerance * tolerance;
    size_t top = 0;
    memset(s->keep, 0, n);
    s->keep[0] = s->keep[n - 1] = 1;
    s->stack[top++] = 0;
    s->stack[top++] = n - 1;
    while (top) {
        size_t j = s->stack[--top], i = s->stack[--top], far = 0;
        double max2 = -1;
        for (size_t k = i + 1; k < j; k++) {
            double d2 = seg_dist2(s->xy, i, j, k);
            if (d2 > max2) {
                max2 = d2;
                far = k;
            }
        }
        if (max2 <= tol2) /* also when i + 1 == j */
            continue;
        s->keep[far] = 1;
        s->stack[top++] = i;
        s->stack[top++] = far;
        s->stack[top++] = far;
        s->stack[top++] = j;
    }
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        if (!s->keep[k])
            continue;
        s->xy[2 * kept] = s->xy[2 * k];
        s->xy[2 * kept + 1] = s->xy[2 * k + 1];
        kept++;
    }
    return kept;
}

/* The snapped line or ring in s->xy (n points), or NULL when it collapsed
 * (*ok stays true) or GEOS failed (*ok = false). */
static GEOSGeometry *snapped_linear(GEOSContextHandle_t h, const GEOSGeometry *g, struct snap *s,
                                    bool ring, bool *ok)
{
    size_t n;
    if (!snap_part(h, g, s, &n)) {
        *ok = false;
        return NULL;
    }
    if (ring && s->simplify && n > 4)
        n = douglas_peucker(s, n, MD_TILE_SIMPLIFY_TOLERANCE);
    if (ring ? ring_collapsed(s->xy, n) : n < 2)
        return NULL;
    GEOSCoordSequence *seq = GEOSCoordSeq_copyFromBuffer_r(h, s->xy, (unsigned int)n, 0, 0);
    GEOSGeometry *out = NULL;
    if (seq)
        out = ring ? GEOSGeom_createLinearRing_r(h, seq) : GEOSGeom_createLineString_r(h, seq);
    *ok = out != NULL;
    return out;
}

static GEOSGeometry *snapped_polygon(GEOSContextHandle_t h, const GEOSGeometry *g, struct snap *s,
                                     bool *ok)
{
    const GEOSGeometry *shell_in = GEOSGetExteriorRing_r(h, g);
    int nholes = GEOSGetNumInteriorRings_r(h, g);
    *ok = shell_in && nholes >= 0;
    GEOSGeometry *shell = *ok ? snapped_linear(h, shell_in, s, true, ok) : NULL;
    if (!shell)
        return NULL;
    GEOSGeometry **holes = nholes ? calloc((size_t)nholes, sizeof(*holes)) : NULL;
    size_t kept = 0;
    *ok = !nholes || holes;
    for (int i = 0; *ok && i < nholes; i++) {
        const GEOSGeometry *hole = GEOSGetInteriorRingN_r(h, g, i);
        GEOSGeometry *ring = hole ? snapped_linear(h, hole, s, true, ok) : NULL;
        *ok = *ok && hole;
        if (ring)
            holes[kept++] = ring;
    }
    GEOSGeometry *out = NULL;
    if (*ok) {
        /* GEOS owns the rings from here on, even if it fails. */
        out = GEOSGeom_createPolygon_r(h, shell, holes, (unsigned int)kept);
        *ok = out != NULL;
    } else {
        GEOSGeom_destroy_r(h, shell);
        for (size_t i = 0; i < kept; i++)
            GEOSGeom_destroy_r(h, holes[i]);
    }
    free(holes);
    return out;
}

/* *out = g (homogeneous, of dimension dim) snapped, NULL when everything
 * collapsed. false on failure. */
static bool snap_to_grid(GEOSContextHandle_t h, const GEOSGeometry *g, int dim, struct snap *s,
                         GEOSGeometry **out)
{
    *out = NULL;
    int n = GEOSGetNumGeometries_r(h, g);
    if (n < 0)
        return false;
    GEOSGeometry **parts = calloc(n ? (size_t)n : 1, sizeof(*parts));
    if (!parts)
        return false;
    size_t kept = 0;
    bool ok = true;
    for (int i = 0; ok && i < n; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
        GEOSGeometry *snapped = NULL;
        double x, y;
        if (!part) {
            ok = false;
        } else if (dim == 0) {
            ok = GEOSGeomGetX_r(h, part, &x) && GEOSGeomGetY_r(h, part, &y);
            snapped = ok ? GEOSGeom_createPointFromXY_r(h, nearbyint(x), nearbyint(y)) : NULL;
            ok = snapped != NULL;
        } else if (dim == 1) {
            snapped = snapped_linear(h, part, s, false, &ok);
        } else {
            snapped = snapped_polygon(h, part, s, &ok);
        }
        if (snapped)
            parts[kept++] = snapped;
    }
    GEOSGeometry *next = NULL;
    if (ok) {
        next = assemble(h, parts, kept, dim, &ok);
    } else {
        for (size_t i = 0; i < kept; i++)
            GEOSGeom_destroy_r(h, parts[i]);
    }
    free(parts);
    *out = next;
    return ok;
}

/* ---- repair ---- */

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

/* Make the polygonal *cur valid with integer vertices. false on failure. */
static bool repair(GEOSContextHandle_t h, GEOSGeometry **cur)
{
    if (GEOSisValid_r(h, *cur) == 1)
        return true;
    /* make-valid may add vertices off the grid (where edges crossed); the
     * topological snap puts them back on it without breaking validity. */
    if (!replace(h, cur, make_valid(h, *cur)) || !keep_dim(h, cur, 2, true))
        return false;
    return !*cur || replace(h, cur, GEOSGeom_setPrecision_r(h, *cur, 1.0, 0));
}

md_err md_tile_geom_prepare(GEOSContextHandle_t h, const GEOSGeometry *lonlat_geom,
                            struct md_tile_id t, uint32_t extent, uint32_t buffer,
                            GEOSGeometry **out, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    GEOSGeometry *cur = NULL; /* the pipeline's current geometry (owned) */
    struct snap snap = {0};
    bool valid = false; /* polygons: known valid */
    const char *step = "envelope";

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
    if (dim < 0 || dim > 2)
        goto geos_fail;

    /* Mercator is monotonic in lon and in lat: the envelope's projection is
     * the projected envelope. */
    double lon0, lat0, lon1, lat1, x0, y0, x1, y1;
    if (!GEOSGeom_getXMin_r(h, lonlat_geom, &lon0) || !GEOSGeom_getYMin_r(h, lonlat_geom, &lat0) ||
        !GEOSGeom_getXMax_r(h, lonlat_geom, &lon1) || !GEOSGeom_getYMax_r(h, lonlat_geom, &lat1))
        goto geos_fail;
    if (!isfinite(lon0) || !isfinite(lat0) || !isfinite(lon1) || !isfinite(lat1)) {
        rc = md_fail(ctx, MD_EINVAL, "geometry has a non-finite coordinate");
        goto out;
    }
    md_tile_project(t, extent, lon0, lat1, &x0, &y0);
    md_tile_project(t, extent, lon1, lat0, &x1, &y1);
    double lo = -(double)buffer, hi = (double)extent + buffer;
    if (x1 < lo || x0 > hi || y1 < lo || y0 > hi)
        goto out;

    /* A single point needs no intermediate geometry. Like GEOSClipByRect_r,
     * a point on the square's edge is outside. */
    if (GEOSGeomTypeId_r(h, lonlat_geom) == GEOS_POINT) {
        if (x0 <= lo || x0 >= hi || y0 <= lo || y0 >= hi)
            goto out;
        step = "point";
        *out = GEOSGeom_createPointFromXY_r(h, nearbyint(x0), nearbyint(y0));
        if (!*out)
            goto geos_fail;
        goto out;
    }

    struct project_params params;
    project_init(&params, t, extent);
    step = "projection";
    if (!replace(h, &cur, GEOSGeom_transformXY_r(h, lonlat_geom, project_xy, &params)))
        goto geos_fail;

    step = "clip";
    if ((x0 < lo || x1 > hi || y0 < lo || y1 > hi) &&
        !replace(h, &cur, GEOSClipByRect_r(h, cur, lo, lo, hi, hi)))
        goto geos_fail;
    if (!keep_dim(h, &cur, dim, false))
        goto geos_fail;
    if (!cur)
        goto out;

    /* Snap, with Douglas-Peucker on polygon rings. When that leaves the
     * polygon invalid (the simplification broke topology, or the input was
     * invalid) snap again without it and use GEOS's topology-preserving
     * simplifier instead. Lines are simplified by GEOS (no topology to keep). */
    step = "snap to grid";
    GEOSGeometry *snapped = NULL;
    snap.simplify = dim == 2;
    if (!snap_to_grid(h, cur, dim, &snap, &snapped))
        goto geos_fail;
    if (dim == 2 && snapped) {
        valid = GEOSisValid_r(h, snapped) == 1;
        if (!valid) {
            GEOSGeom_destroy_r(h, snapped);
            snap.simplify = false;
            if (!snap_to_grid(h, cur, dim, &snap, &snapped))
                goto geos_fail;
            if (snapped) /* on failure, go on unsimplified */
                replace(h, &snapped,
                        GEOSTopologyPreserveSimplify_r(h, snapped, MD_TILE_SIMPLIFY_TOLERANCE));
        }
    }
    GEOSGeom_destroy_r(h, cur);
    cur = snapped;
    if (!cur)
        goto out;
    if (dim == 1)
        replace(h, &cur, GEOSSimplify_r(h, cur, MD_TILE_SIMPLIFY_TOLERANCE));

    step = "repair";
    if (dim == 2 && !valid && !repair(h, &cur))
        goto geos_fail;
    step = "collapse filter";
    if (cur && !keep_dim(h, &cur, dim, true))
        goto geos_fail;
    *out = cur;
    cur = NULL;
    goto out;

geos_fail:
    rc = md_fail(ctx, MD_EGEOS, "tile %u/%u/%u: GEOS %s failed", t.z, t.x, t.y, step);
out:
    if (cur)
        GEOSGeom_destroy_r(h, cur);
    free(snap.xy);
    free(snap.stack);
    free(snap.keep);
    return rc;
}
