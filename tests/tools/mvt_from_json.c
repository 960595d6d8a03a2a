/* mvt_from_json - build a vector tile with md_mvt_* from a JSON description.
 *
 * Test helper for the node decoder checks (tests/node/mvt_fixtures.mjs):
 * reads on stdin
 *   {"layers": [{"name": "...", "extent": 4096, "features": [
 *       {"id": 1, "type": 1|2|3, "geometry": G,
 *        "properties": [{"key": "k", "type": T, "value": v}, ...]}]}]}
 * where G is, in tile coordinates, [[x,y], ...] for points,
 * [[[x,y], ...], ...] (lines) for linestrings and [[ring, ring...], ...]
 * (polygons: exterior then holes, rings closed) for polygons, and T is one of
 * string, float, double, int, uint, sint, bool. Writes the MVT on stdout,
 * after checking it with md_mvt_decode.
 * Exit status: 0 ok, 1 the builder refused (message on stderr), 2 bad input,
 * 3 the tile does not pass md_mvt_decode.
 */
#include <geos_c.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md_pool.h"
#include "mvt_decode.h"
#include "mvt_encode.h"

#define TILE_POOL_MAX (256u << 20)
#define TILE_BYTES_MAX (64u << 20)

static int bad_input(const char *what)
{
    fprintf(stderr, "mvt_from_json: %s\n", what);
    return 2;
}

static bool read_xy(const json_t *pt, double *x, double *y)
{
    if (!json_is_array(pt) || json_array_size(pt) != 2 || !json_is_number(json_array_get(pt, 0)) ||
        !json_is_number(json_array_get(pt, 1)))
        return false;
    *x = json_number_value(json_array_get(pt, 0));
    *y = json_number_value(json_array_get(pt, 1));
    return true;
}

static GEOSCoordSequence *read_seq(GEOSContextHandle_t h, const json_t *pts)
{
    size_t n = json_array_size(pts);
    GEOSCoordSequence *seq = n ? GEOSCoordSeq_create_r(h, (unsigned int)n, 2) : NULL;
    for (size_t i = 0; seq && i < n; i++) {
        double x, y;
        if (!read_xy(json_array_get(pts, i), &x, &y) ||
            !GEOSCoordSeq_setXY_r(h, seq, (unsigned int)i, x, y)) {
            GEOSCoordSeq_destroy_r(h, seq);
            seq = NULL;
        }
    }
    return seq;
}

static GEOSGeometry *read_polygon(GEOSContextHandle_t h, const json_t *rings)
{
    size_t n = json_array_size(rings);
    if (n == 0)
        return NULL;
    GEOSGeometry *shell = NULL, *holes[256];
    size_t nholes = 0;
    if (n - 1 > sizeof(holes) / sizeof(holes[0]))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        GEOSCoordSequence *seq = read_seq(h, json_array_get(rings, i));
        GEOSGeometry *ring = seq ? GEOSGeom_createLinearRing_r(h, seq) : NULL;
        if (!ring) {
            GEOSGeom_destroy_r(h, shell);
            for (size_t k = 0; k < nholes; k++)
                GEOSGeom_destroy_r(h, holes[k]);
            return NULL;
        }
        if (i == 0)
            shell = ring;
        else
            holes[nholes++] = ring;
    }
    return GEOSGeom_createPolygon_r(h, shell, holes, (unsigned int)nholes);
}

/* The feature's line or polygon geometry as one GEOS multi-geometry. */
static GEOSGeometry *read_geometry(GEOSContextHandle_t h, const json_t *parts, int type)
{
    size_t n = json_array_size(parts);
    GEOSGeometry **geoms = calloc(n ? n : 1, sizeof(*geoms));
    if (!geoms)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *part = json_array_get(parts, i);
        if (type == MD_MVT_LINESTRING) {
            GEOSCoordSequence *seq = read_seq(h, part);
            geoms[i] = seq ? GEOSGeom_createLineString_r(h, seq) : NULL;
        } else {
            geoms[i] = read_polygon(h, part);
        }
        if (!geoms[i]) {
            for (size_t k = 0; k < i; k++)
                GEOSGeom_destroy_r(h, geoms[k]);
            free(geoms);
            return NULL;
        }
    }
    GEOSGeometry *g = GEOSGeom_createCollection_r(
        h, type == MD_MVT_LINESTRING ? GEOS_MULTILINESTRING : GEOS_MULTIPOLYGON, geoms,
        (unsigned int)n);
    free(geoms);
    return g;
}

static md_err add_property(struct md_mvt *t, const json_t *prop, bool *bad)
{
    const char *key = json_string_value(json_object_get(prop, "key"));
    const char *type = json_string_value(json_object_get(prop, "type"));
    const json_t *v = json_object_get(prop, "value");
    *bad = !key || !type || !v;
    if (*bad)
        return MD_EINVAL;
    if (strcmp(type, "string") == 0 && json_is_string(v))
        return md_mvt_prop_str(t, key, json_string_value(v));
    if (strcmp(type, "bool") == 0 && json_is_boolean(v))
        return md_mvt_prop_bool(t, key, json_is_true(v));
    if (strcmp(type, "double") == 0 && json_is_number(v))
        return md_mvt_prop_double(t, key, json_number_value(v));
    if (strcmp(type, "float") == 0 && json_is_number(v))
        return md_mvt_prop_float(t, key, (float)json_number_value(v));
    if (strcmp(type, "uint") == 0 && json_is_integer(v) && json_integer_value(v) >= 0)
        return md_mvt_prop_uint(t, key, (uint64_t)json_integer_value(v));
    if ((strcmp(type, "int") == 0 || strcmp(type, "sint") == 0 || strcmp(type, "uint") == 0) &&
        json_is_integer(v))
        return md_mvt_prop_int(t, key, json_integer_value(v));
    *bad = true;
    return MD_EINVAL;
}

/* One feature; returns an exit status. */
static int add_feature(struct md_mvt *t, GEOSContextHandle_t h, const json_t *f)
{
    const json_t *geometry = json_object_get(f, "geometry");
    json_int_t type = json_integer_value(json_object_get(f, "type"));
    json_int_t id = json_integer_value(json_object_get(f, "id"));
    if (!json_is_array(geometry) || type < 1 || type > 3 || id < 0)
        return bad_input("feature needs id >= 0, type 1..3 and a geometry array");
    if (md_mvt_feature(t, (uint64_t)id, (enum md_mvt_geom_type)type))
        return 1;
    if (type == MD_MVT_POINT) {
        for (size_t i = 0; i < json_array_size(geometry); i++) {
            double x, y;
            if (!read_xy(json_array_get(geometry, i), &x, &y) || x != (int32_t)x || y != (int32_t)y)
                return bad_input("point coordinates must be int32 pairs");
            if (md_mvt_point(t, (int32_t)x, (int32_t)y))
                return 1;
        }
    } else {
        GEOSGeometry *g = read_geometry(h, geometry, (int)type);
        if (!g)
            return bad_input("malformed line or polygon coordinates");
        md_err rc = md_mvt_geom_geos(t, h, g);
        GEOSGeom_destroy_r(h, g);
        if (rc)
            return 1;
    }
    const json_t *props = json_object_get(f, "properties");
    for (size_t i = 0; i < json_array_size(props); i++) {
        bool bad;
        if (add_property(t, json_array_get(props, i), &bad))
            return bad ? bad_input("property needs key, type and a value of that type") : 1;
    }
    return md_mvt_feature_end(t) ? 1 : 0;
}

int main(void)
{
    int status = 0;
    json_error_t jerr;
    struct md_pool *pool = md_pool_new(TILE_POOL_MAX);
    struct md_mvt *t = pool ? md_mvt_new(pool) : NULL;
    GEOSContextHandle_t h = GEOS_init_r();
    json_t *doc = json_loadf(stdin, 0, &jerr);
    struct md_buf out;
    md_buf_init(&out, TILE_BYTES_MAX);

    if (!t || !h) {
        status = bad_input("out of memory");
        goto out;
    }
    if (!doc) {
        fprintf(stderr, "mvt_from_json: JSON line %d: %s\n", jerr.line, jerr.text);
        status = 2;
        goto out;
    }
    const json_t *layers = json_object_get(doc, "layers");
    for (size_t i = 0; !status && i < json_array_size(layers); i++) {
        const json_t *layer = json_array_get(layers, i);
        const json_t *extent = json_object_get(layer, "extent");
        if (md_mvt_layer(t, json_string_value(json_object_get(layer, "name")),
                         extent ? (uint32_t)json_integer_value(extent) : 4096)) {
            status = 1;
            break;
        }
        const json_t *features = json_object_get(layer, "features");
        for (size_t k = 0; !status && k < json_array_size(features); k++)
            status = add_feature(t, h, json_array_get(features, k));
    }
    if (!status && md_mvt_serialize(t, &out))
        status = 1;
    if (status == 1)
        fprintf(stderr, "mvt_from_json: %s\n", md_mvt_message(t));
    if (status)
        goto out;

    struct md_ctx ctx;
    VectorTile__Tile *tile;
    md_ctx_init(&ctx);
    if (md_mvt_decode(out.data, out.len, pool, &tile, &ctx)) {
        fprintf(stderr, "mvt_from_json: own tile rejected: %s\n", md_ctx_message(&ctx));
        status = 3;
        goto out;
    }
    if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len)
        status = bad_input("cannot write stdout");
out:
    md_buf_free(&out);
    json_decref(doc);
    if (h)
        GEOS_finish_r(h);
    md_pool_free(pool);
    return status;
}
