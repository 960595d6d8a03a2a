/* Unit tests for tiles/mvt_encode.c.
 *
 * Expected command integers are worked out by hand from the MVT 2.1 spec
 * (CommandInteger = id | count << 3, ParameterInteger = zigzag(delta)); the
 * examples are the spec's own (section 4.3.5). Tiles are read back through
 * md_mvt_decode, i.e. the protobuf-c code generated from vector_tile.proto.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mvt_encode.h"
#include "mvt_decode.h"

struct fixture {
    struct md_pool *pool;
    struct md_mvt *mvt;
    struct md_buf out;
    GEOSContextHandle_t geos;
};

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof(*f));
    f->pool = md_pool_new(64 << 20);
    f->mvt = md_mvt_new(f->pool);
    md_buf_init(&f->out, 1 << 20);
    f->geos = GEOS_init_r();
    *state = f;
    return f->pool && f->mvt && f->geos ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    GEOS_finish_r(f->geos);
    md_buf_free(&f->out);
    md_pool_free(f->pool);
    test_free(f);
    return 0;
}

static GEOSGeometry *wkt(struct fixture *f, const char *text)
{
    GEOSWKTReader *r = GEOSWKTReader_create_r(f->geos);
    GEOSGeometry *g = GEOSWKTReader_read_r(f->geos, r, text);
    GEOSWKTReader_destroy_r(f->geos, r);
    assert_non_null(g);
    return g;
}

/* Add a geometry from WKT to the current feature. */
static md_err add_wkt(struct fixture *f, const char *text)
{
    GEOSGeometry *g = wkt(f, text);
    md_err rc = md_mvt_geom_geos(f->mvt, f->geos, g);
    GEOSGeom_destroy_r(f->geos, g);
    return rc;
}

static VectorTile__Tile *serialize_decode(struct fixture *f)
{
    f->out.len = 0;
    assert_int_equal(md_mvt_serialize(f->mvt, &f->out), MD_OK);
    VectorTile__Tile *tile = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_err rc = md_mvt_decode(f->out.data, f->out.len, f->pool, &tile, &ctx);
    if (rc)
        fail_msg("decode: %s", md_ctx_message(&ctx));
    return tile;
}

static void assert_geometry(const VectorTile__Tile__Feature *feat, const uint32_t *want, size_t n)
{
    assert_int_equal(feat->n_geometry, n);
    for (size_t i = 0; i < n; i++)
        if (feat->geometry[i] != want[i])
            fail_msg("geometry[%zu] = %u, want %u", i, feat->geometry[i], want[i]);
}

/* The spec's first example: a point at (25,17) -> [9, 50, 34], checked down
 * to the last byte of the tile. */
static void point_wire_bytes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(md_mvt_layer(f->mvt, "p", 4096), MD_OK);
    assert_int_equal(md_mvt_feature(f->mvt, 1, MD_MVT_POINT), MD_OK);
    assert_int_equal(md_mvt_point(f->mvt, 25, 17), MD_OK);
    assert_int_equal(md_mvt_feature_end(f->mvt), MD_OK);
    assert_int_equal(md_mvt_serialize(f->mvt, &f->out), MD_OK);
    const uint8_t want[] = {
        0x1a, 19,                 /* Tile.layers, 19 bytes */
        0x0a, 1,    'p',          /* Layer.name */
        0x12, 9,                  /* Layer.features, 9 bytes */
        0x08, 1,                  /* Feature.id = 1 */
        0x18, 1,                  /* Feature.type = POINT */
        0x22, 3,    9,    50, 34, /* Feature.geometry [9, 50, 34] */
        0x28, 0x80, 0x20,         /* Layer.extent = 4096 */
        0x78, 2,                  /* Layer.version = 2 */
    };
    assert_int_equal(f->out.len, sizeof(want));
    assert_memory_equal(f->out.data, want, sizeof(want));
    assert_int_equal(md_mvt_feature_count(f->mvt), 1);
}

static void points_and_lines(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(md_mvt_layer(f->mvt, "shapes", 4096), MD_OK);
    /* MultiPoint (5,7),(3,2) through md_mvt_point. */
    assert_int_equal(md_mvt_feature(f->mvt, 10, MD_MVT_POINT), MD_OK);
    assert_int_equal(md_mvt_point(f->mvt, 5, 7), MD_OK);
    assert_int_equal(md_mvt_point(f->mvt, 3, 2), MD_OK);
    /* The same multipoint through GEOS. */
    assert_int_equal(md_mvt_feature(f->mvt, 11, MD_MVT_POINT), MD_OK);
    assert_int_equal(add_wkt(f, "MULTIPOINT ((5 7), (3 2))"), MD_OK);
    /* LineString (2,2),(2,10),(10,10); a repeated vertex is dropped. */
    assert_int_equal(md_mvt_feature(f->mvt, 12, MD_MVT_LINESTRING), MD_OK);
    assert_int_equal(add_wkt(f, "LINESTRING (2 2, 2 10, 2 10, 10 10)"), MD_OK);
    /* MultiLineString: the cursor carries over from the first line. */
    assert_int_equal(md_mvt_feature(f->mvt, 13, MD_MVT_LINESTRING), MD_OK);
    assert_int_equal(add_wkt(f, "MULTILINESTRING ((2 2, 2 10, 10 10), (1 1, 3 5))"), MD_OK);
    /* Coordinates are rounded to the grid; a line that rounds to a point is
     * skipped, and a feature left without geometry is dropped. */
    assert_int_equal(md_mvt_feature(f->mvt, 14, MD_MVT_LINESTRING), MD_OK);
    assert_int_equal(add_wkt(f, "LINESTRING (4.2 4.4, 3.8 3.6)"), MD_OK);
    assert_int_equal(md_mvt_feature_end(f->mvt), MD_OK);
    assert_int_equal(md_mvt_feature_count(f->mvt), 4);

    VectorTile__Tile *tile = serialize_decode(f);
    assert_int_equal(tile->n_layers, 1);
    VectorTile__Tile__Layer *l = tile->layers[0];
    assert_string_equal(l->name, "shapes");
    assert_int_equal(l->version, 2);
    assert_int_equal(l->extent, 4096);
    assert_int_equal(l->n_features, 4);
    const uint32_t multipoint[] = {17, 10, 14, 3, 9};
    const uint32_t line[] = {9, 4, 4, 18, 0, 16, 16, 0};
    const uint32_t multiline[] = {9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8};
    assert_int_equal(l->features[0]->id, 10);
    assert_int_equal(l->features[0]->type, VECTOR_TILE__TILE__GEOM_TYPE__POINT);
    assert_geometry(l->features[0], multipoint, 5);
    assert_int_equal(l->features[1]->id, 11);
    assert_geometry(l->features[1], multipoint, 5);
    assert_int_equal(l->features[2]->type, VECTOR_TILE__TILE__GEOM_TYPE__LINESTRING);
    assert_geometry(l->features[2], line, 8);
    assert_int_equal(l->features[3]->id, 13);
    assert_geometry(l->features[3], multiline, 14);
}

/* The spec's polygon examples; rings given with the wrong winding are
 * turned around (keeping their first vertex). */
static void polygon_winding(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(md_mvt_layer(f->mvt, "areas", 4096), MD_OK);
    /* (3,6),(8,12),(20,34): positive surveyor's area in y-down space. */
    assert_int_equal(md_mvt_feature(f->mvt, 1, MD_MVT_POLYGON), MD_OK);
    assert_int_equal(add_wkt(f, "POLYGON ((3 6, 8 12, 20 34, 3 6))"), MD_OK);
    /* The same triangle wound the other way round. */
    assert_int_equal(md_mvt_feature(f->mvt, 2, MD_MVT_POLYGON), MD_OK);
    assert_int_equal(add_wkt(f, "POLYGON ((3 6, 20 34, 8 12, 3 6))"), MD_OK);
    /* The spec's multipolygon, every ring given with the opposite winding. */
    assert_int_equal(md_mvt_feature(f->mvt, 3, MD_MVT_POLYGON), MD_OK);
    assert_int_equal(add_wkt(f, "MULTIPOLYGON (((0 0, 0 10, 10 10, 10 0, 0 0)),"
                                "((11 11, 11 20, 20 20, 20 11, 11 11),"
                                "(13 13, 17 13, 17 17, 13 17, 13 13)))"),
                     MD_OK);
    /* A zero-area ring (all on a line) is not written; neither is its feature. */
    assert_int_equal(md_mvt_feature(f->mvt, 4, MD_MVT_POLYGON), MD_OK);
    assert_int_equal(add_wkt(f, "POLYGON ((0 0, 5 5, 10 10, 0 0))"), MD_OK);

    VectorTile__Tile *tile = serialize_decode(f);
    VectorTile__Tile__Layer *l = tile->layers[0];
    assert_int_equal(l->n_features, 3);
    const uint32_t triangle[] = {9, 6, 12, 18, 10, 12, 24, 44, 15};
    assert_geometry(l->features[0], triangle, 9);
    assert_geometry(l->features[1], triangle, 9);
    const uint32_t multipolygon[] = {9, 0,  0,  26, 20, 0, 0, 20, 19, 0, 15, 9, 22, 2, 26, 18, 0,
                                     0, 18, 17, 0,  15, 9, 4, 13, 26, 0, 8,  8, 0,  0, 7,  15};
    assert_geometry(l->features[2], multipolygon, sizeof(multipolygon) / sizeof(uint32_t));
}

static void property_dedup(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(md_mvt_layer(f->mvt, "poi", 4096), MD_OK);
    for (uint64_t id = 1; id <= 3; id++) {
        assert_int_equal(md_mvt_feature(f->mvt, id, MD_MVT_POINT), MD_OK);
        assert_int_equal(md_mvt_point(f->mvt, (int32_t)id, 1), MD_OK);
        assert_int_equal(md_mvt_prop_str(f->mvt, "kind", id == 2 ? "school" : "park"), MD_OK);
        assert_int_equal(md_mvt_prop_int(f->mvt, "rank", 7), MD_OK);
        assert_int_equal(md_mvt_prop_str(f->mvt, "label", "7"), MD_OK);
    }
    /* Same key, values of different types: four distinct values. */
    assert_int_equal(md_mvt_feature(f->mvt, 4, MD_MVT_POINT), MD_OK);
    assert_int_equal(md_mvt_point(f->mvt, 9, 9), MD_OK);
    assert_int_equal(md_mvt_prop_int(f->mvt, "n", -3), MD_OK);
    assert_int_equal(md_mvt_prop_double(f->mvt, "d", 7.0), MD_OK);
    assert_int_equal(md_mvt_prop_float(f->mvt, "f", 2.5f), MD_OK);
    assert_int_equal(md_mvt_prop_bool(f->mvt, "b", true), MD_OK);
    assert_int_equal(md_mvt_prop_uint(f->mvt, "u", UINT64_MAX), MD_OK);
    assert_int_equal(md_mvt_prop_int(f->mvt, "big", INT64_MIN), MD_OK);
    /* A dropped feature (no geometry) takes back the keys/values it added. */
    assert_int_equal(md_mvt_feature(f->mvt, 5, MD_MVT_POINT), MD_OK);
    assert_int_equal(md_mvt_prop_str(f->mvt, "only_in_dropped", "ghost"), MD_OK);
    assert_int_equal(md_mvt_prop_str(f->mvt, "kind", "ghost"), MD_OK);
    assert_int_equal(md_mvt_feature_end(f->mvt), MD_OK);
    /* ... and the dictionaries still work after the rollback. */
    assert_int_equal(md_mvt_feature(f->mvt, 6, MD_MVT_POINT), MD_OK);
    assert_int_equal(md_mvt_point(f->mvt, 0, 0), MD_OK);
    assert_int_equal(md_mvt_prop_str(f->mvt, "kind", "ghost"), MD_OK);
    assert_int_equal(md_mvt_prop_str(f->mvt, "label", "7"), MD_OK);

    VectorTile__Tile *tile = serialize_decode(f);
    VectorTile__Tile__Layer *l = tile->layers[0];
    assert_int_equal(l->n_features, 5);
    /* keys: kind rank label n d f b u big; values: park 7 "7" school -3 7.0
     * 2.5f true UINT64_MAX INT64_MIN ghost */
    assert_int_equal(l->n_keys, 9);
    assert_string_equal(l->keys[0], "kind");
    assert_string_equal(l->keys[1], "rank");
    assert_string_equal(l->keys[2], "label");
    assert_int_equal(l->n_values, 11);
    assert_string_equal(l->values[0]->string_value, "park");
    assert_true(l->values[1]->has_uint_value);
    assert_int_equal(l->values[1]->uint_value, 7);
    assert_string_equal(l->values[2]->string_value, "7");
    assert_string_equal(l->values[3]->string_value, "school");
    assert_true(l->values[4]->has_sint_value);
    assert_int_equal(l->values[4]->sint_value, -3);
    assert_true(l->values[5]->has_double_value);
    assert_true(l->values[5]->double_value == 7.0);
    assert_true(l->values[6]->has_float_value);
    assert_true(l->values[6]->float_value == 2.5f);
    assert_true(l->values[7]->has_bool_value && l->values[7]->bool_value);
    assert_true(l->values[8]->has_uint_value);
    assert_true(l->values[8]->uint_value == UINT64_MAX);
    assert_true(l->values[9]->has_sint_value);
    assert_true(l->values[9]->sint_value == INT64_MIN);
    assert_string_equal(l->values[10]->string_value, "ghost");

    const uint32_t tags1[] = {0, 0, 1, 1, 2, 2};
    const uint32_t tags2[] = {0, 3, 1, 1, 2, 2};
    assert_int_equal(l->features[0]->n_tags, 6);
    assert_memory_equal(l->features[0]->tags, tags1, sizeof(tags1));
    assert_memory_equal(l->features[1]->tags, tags2, sizeof(tags2));
    assert_memory_equal(l->features[2]->tags, tags1, sizeof(tags1));
    const uint32_t tags4[] = {0, 10, 2, 2};
    assert_int_equal(l->features[4]->id, 6);
    assert_memory_equal(l->features[4]->tags, tags4, sizeof(tags4));
}

/* Keys that share a prefix with the key last seen at the same property
 * position are still told apart (the builder caches keys by position). */
static void key_prefixes(void **state)
{
    struct fixture *f = *state;
    const char *keys[] = {"kind", "kin", "kindness", "kind", "", "k"};
    assert_int_equal(md_mvt_layer(f->mvt, "k", 4096), MD_OK);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        assert_int_equal(md_mvt_feature(f->mvt, i, MD_MVT_POINT), MD_OK);
        assert_int_equal(md_mvt_point(f->mvt, 1, 1), MD_OK);
        assert_int_equal(md_mvt_prop_bool(f->mvt, keys[i], true), keys[i][0] ? MD_OK : MD_EINVAL);
    }
    VectorTile__Tile *tile = serialize_decode(f);
    const VectorTile__Tile__Layer *l = tile->layers[0];
    assert_int_equal(l->n_keys, 4);
    assert_string_equal(l->keys[0], "kind");
    assert_string_equal(l->keys[1], "kin");
    assert_string_equal(l->keys[2], "kindness");
    assert_string_equal(l->keys[3], "k");
    const uint32_t want[] = {0, 1, 2, 0, 99, 3};
    for (size_t i = 0; i < 6; i++) {
        if (i == 4) {
            assert_int_equal(l->features[i]->n_tags, 0);
            continue;
        }
        assert_int_equal(l->features[i]->n_tags, 2);
        assert_int_equal(l->features[i]->tags[0], want[i]);
    }
}

static void empty_layers_and_tiles(void **state)
{
    struct fixture *f = *state;
    /* No feature at all: zero bytes. */
    assert_int_equal(md_mvt_serialize(f->mvt, &f->out), MD_OK);
    assert_int_equal(f->out.len, 0);

    assert_int_equal(md_mvt_layer(f->mvt, "empty", 4096), MD_OK);
    assert_int_equal(md_mvt_layer(f->mvt, "dropped_only", 4096), MD_OK);
    assert_int_equal(md_mvt_feature(f->mvt, 1, MD_MVT_POLYGON), MD_OK);
    assert_int_equal(md_mvt_prop_str(f->mvt, "k", "v"), MD_OK);
    assert_int_equal(add_wkt(f, "POLYGON EMPTY"), MD_OK);
    assert_int_equal(md_mvt_layer(f->mvt, "real", 512), MD_OK);
    /* An empty layer's name may be used again. */
    assert_int_equal(md_mvt_layer(f->mvt, "empty", 256), MD_OK);
    assert_int_equal(md_mvt_feature(f->mvt, 0, MD_MVT_POINT), MD_OK);
    assert_int_equal(md_mvt_point(f->mvt, -1, 4100), MD_OK);
    /* Serialize ends the open feature and layer. */
    VectorTile__Tile *tile = serialize_decode(f);
    assert_int_equal(tile->n_layers, 1);
    assert_string_equal(tile->layers[0]->name, "empty");
    assert_int_equal(tile->layers[0]->extent, 256);
    assert_int_equal(tile->layers[0]->n_features, 1);
    assert_int_equal(tile->layers[0]->n_keys, 0);
    /* The id is written even when it is 0. */
    assert_true(tile->layers[0]->features[0]->has_id);
    assert_int_equal(tile->layers[0]->features[0]->id, 0);
    const uint32_t pt[] = {9, 1, 8200};
    assert_geometry(tile->layers[0]->features[0], pt, 3);

    /* A second layer after serializing; a written name cannot come back. */
    assert_int_equal(md_mvt_layer(f->mvt, "empty", 4096), MD_EINVAL);
    assert_string_equal(md_mvt_message(f->mvt), "layer \"empty\" is already in the tile");
    assert_int_equal(md_mvt_layer(f->mvt, "second", 4096), MD_OK);
    assert_int_equal(md_mvt_feature(f->mvt, 2, MD_MVT_LINESTRING), MD_OK);
    assert_int_equal(add_wkt(f, "LINESTRING (0 0, 1 1)"), MD_OK);
    tile = serialize_decode(f);
    assert_int_equal(tile->n_layers, 2);
    assert_string_equal(tile->layers[1]->name, "second");
    assert_int_equal(md_mvt_feature_count(f->mvt), 2);
}

static void errors(void **state)
{
    struct fixture *f = *state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_mvt_set_ctx(f->mvt, &ctx);
    assert_int_equal(md_mvt_feature(f->mvt, 1, MD_MVT_POINT), MD_EINVAL);
    assert_string_equal(md_mvt_message(f->mvt), "feature 1: no layer started");
    assert_int_equal(ctx.err, MD_EINVAL);
    assert_string_equal(ctx.msg, "feature 1: no layer started");

    assert_int_equal(md_mvt_layer(f->mvt, NULL, 4096), MD_EINVAL);
    assert_int_equal(md_mvt_layer(f->mvt, "", 4096), MD_EINVAL);
    assert_int_equal(md_mvt_layer(f->mvt, "x", 0), MD_EINVAL);
    assert_int_equal(md_mvt_layer(NULL, "x", 4096), MD_EINVAL);
    assert_int_equal(md_mvt_layer(f->mvt, "x", 4096), MD_OK);
    assert_int_equal(md_mvt_prop_str(f->mvt, "k", "v"), MD_EINVAL);
    assert_int_equal(md_mvt_point(f->mvt, 1, 1), MD_EINVAL);
    assert_int_equal(md_mvt_feature(f->mvt, 1, (enum md_mvt_geom_type)0), MD_EINVAL);
    assert_int_equal(md_mvt_feature(f->mvt, 1, (enum md_mvt_geom_type)4), MD_EINVAL);

    assert_int_equal(md_mvt_feature(f->mvt, 7, MD_MVT_POLYGON), MD_OK);
    assert_int_equal(md_mvt_point(f->mvt, 1, 1), MD_EINVAL);
    md_ctx_init(&ctx);
    assert_int_equal(add_wkt(f, "LINESTRING (0 0, 1 1)"), MD_EINVAL);
    assert_string_equal(ctx.msg, "feature 7: LINESTRING geometry in a POLYGON feature");
    assert_int_equal(md_mvt_prop_str(f->mvt, "", "v"), MD_EINVAL);
    assert_int_equal(md_mvt_prop_str(f->mvt, NULL, "v"), MD_EINVAL);
    assert_int_equal(md_mvt_prop_str(f->mvt, "k", NULL), MD_EINVAL);
    assert_int_equal(md_mvt_prop_str(f->mvt, "k", "v"), MD_OK);
    md_ctx_init(&ctx);
    assert_int_equal(md_mvt_prop_int(f->mvt, "k", 1), MD_EINVAL);
    assert_string_equal(ctx.msg, "feature 7: property \"k\" given twice");
    assert_int_equal(md_mvt_geom_geos(f->mvt, f->geos, NULL), MD_EINVAL);

    /* A move that does not fit in 32 bits fails and leaves the feature as it
     * was: the first ring stays, the failed part is gone. */
    assert_int_equal(add_wkt(f, "POLYGON ((0 0, 10 0, 10 10, 0 0))"), MD_OK);
    md_ctx_init(&ctx);
    assert_int_equal(add_wkt(f, "MULTIPOLYGON (((0 0, 10 0, 10 10, 0 0)),"
                                "((3000000000 0, 3000000010 0, 3000000010 10, 3000000000 0)))"),
                     MD_EINVAL);
    assert_string_equal(ctx.msg, "feature 7: move of (2999999990,-10) does not fit in 32 bits");
    VectorTile__Tile *tile = serialize_decode(f);
    const uint32_t ring[] = {9, 0, 0, 18, 20, 0, 0, 20, 15};
    assert_geometry(tile->layers[0]->features[0], ring, 9);
    md_mvt_set_ctx(f->mvt, NULL);
}

static void pool_exhaustion(void **state)
{
    (void)state;
    struct md_pool *pool = md_pool_new(16384);
    struct md_mvt *t = md_mvt_new(pool);
    assert_non_null(t);
    md_err rc = md_mvt_layer(t, "big", 4096);
    char val[32];
    for (int i = 0; !rc && i < 100000; i++) {
        rc = md_mvt_feature(t, (uint64_t)i, MD_MVT_POINT);
        if (!rc)
            rc = md_mvt_point(t, i, i);
        snprintf(val, sizeof(val), "value %d", i);
        if (!rc)
            rc = md_mvt_prop_str(t, "name", val);
    }
    assert_int_equal(rc, MD_ENOMEM);
    assert_string_equal(md_mvt_message(t), "tile memory pool exhausted");
    md_pool_free(pool);
    assert_null(md_mvt_new(NULL));
}

static void serialize_cap(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(md_mvt_layer(f->mvt, "l", 4096), MD_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(md_mvt_feature(f->mvt, (uint64_t)i, MD_MVT_POINT), MD_OK);
        assert_int_equal(md_mvt_point(f->mvt, i, i), MD_OK);
    }
    struct md_buf small;
    md_buf_init(&small, 100);
    assert_int_equal(md_buf_append(&small, "x", 1), MD_OK);
    assert_int_equal(md_mvt_serialize(f->mvt, &small), MD_ETOOBIG);
    assert_int_equal(small.len, 1);
    md_buf_free(&small);
}

/* The decoder rejects what the spec forbids. */
static void decode_validation(void **state)
{
    struct fixture *f = *state;
    struct md_ctx ctx;
    VectorTile__Tile *tile;
    md_ctx_init(&ctx);
    assert_int_equal(md_mvt_decode("\xff\xff\xff", 3, f->pool, &tile, &ctx), MD_EPARSE);
    assert_null(tile);
    assert_int_equal(md_mvt_decode(NULL, 0, f->pool, &tile, &ctx), MD_OK);
    assert_int_equal(tile->n_layers, 0);

    /* A polygon whose only ring is wound counter-clockwise on screen. */
    const uint8_t ccw[] = {0x1a, 25, 0x0a, 1,  'p', 0x12, 15, 0x08, 1,    0x18, 3,    0x22, 9, 9,
                           6,    12, 18,   34, 56,  23,   43, 15,   0x28, 0x80, 0x20, 0x78, 2};
    md_ctx_init(&ctx);
    assert_int_equal(md_mvt_decode(ccw, sizeof(ccw), f->pool, &tile, &ctx), MD_EPARSE);
    assert_string_equal(ctx.msg,
                        "layer \"p\" feature 0: the first ring is not exterior (positive area)");
    /* A point geometry that starts with ClosePath. */
    const uint8_t close_first[] = {0x1a, 19, 0x0a, 1,  'p', 0x12, 9,    0x08, 1,    0x18, 1,
                                   0x22, 3,  15,   50, 34,  0x28, 0x80, 0x20, 0x78, 2};
    md_ctx_init(&ctx);
    assert_int_equal(md_mvt_decode(close_first, sizeof(close_first), f->pool, &tile, &ctx),
                     MD_EPARSE);
    assert_string_equal(ctx.msg, "layer \"p\" feature 0: a part does not start with MoveTo");
    /* A MoveTo count far beyond the parameters present. */
    const uint8_t huge[] = {0x1a, 23,   0x0a, 1,    'p',  0x12, 13, 0x08, 1,    0x18, 1,    0x22, 7,
                            0xf9, 0xff, 0xff, 0xff, 0x0f, 50,   34, 0x28, 0x80, 0x20, 0x78, 2};
    md_ctx_init(&ctx);
    assert_int_equal(md_mvt_decode(huge, sizeof(huge), f->pool, &tile, &ctx), MD_EPARSE);
    assert_string_equal(ctx.msg,
                        "layer \"p\" feature 0: command count exceeds the parameters present");
    /* A tag pointing past the keys. */
    const uint8_t bad_tag[] = {0x1a, 23, 0x0a, 1, 'p', 0x12, 13, 0x08, 1,    0x12, 2,    0, 0,
                               0x18, 1,  0x22, 3, 9,   50,   34, 0x28, 0x80, 0x20, 0x78, 2};
    md_ctx_init(&ctx);
    assert_int_equal(md_mvt_decode(bad_tag, sizeof(bad_tag), f->pool, &tile, &ctx), MD_EPARSE);
    assert_string_equal(ctx.msg, "layer \"p\" feature 0: tag out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(point_wire_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(points_and_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(polygon_winding, setup, teardown),
        cmocka_unit_test_setup_teardown(property_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(key_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_layers_and_tiles, setup, teardown),
        cmocka_unit_test_setup_teardown(errors, setup, teardown),
        cmocka_unit_test(pool_exhaustion),
        cmocka_unit_test_setup_teardown(serialize_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(decode_validation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
