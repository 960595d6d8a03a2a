/* mvt_encode.h - Mapbox Vector Tile 2.1 builder (and a validating decoder).
 *
 * A builder makes one tile: md_mvt_layer() starts a layer, md_mvt_feature()
 * a feature in it, geometry and properties are added, md_mvt_feature_end()
 * ends the feature, md_mvt_serialize() writes the tile. All memory comes
 * from the pool given to md_mvt_new() (borrowed; the caller frees the pool,
 * which frees the builder). Pool exhaustion surfaces as MD_ENOMEM.
 *
 * Calls in the wrong order or with bad arguments return MD_EINVAL with a
 * detail in the builder's error context (md_mvt_message(), and the caller's
 * md_ctx when one was attached with md_mvt_set_ctx()). After MD_ENOMEM the
 * tile may be incomplete; discard it. Not thread-safe; one builder per tile.
 * md_mvt_decode() (mvt_decode.h) reads tiles back.
 */
#ifndef MD_MVT_ENCODE_H
#define MD_MVT_ENCODE_H

#include "md_buf.h"
#include "md_err.h"
#include "md_pool.h"
#include <geos_c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum md_mvt_geom_type { MD_MVT_POINT = 1, MD_MVT_LINESTRING = 2, MD_MVT_POLYGON = 3 };

/* Protocol constants (spec 4.1, 4.3.1): the Layer version written, and the
 * geometry command ids; CommandInteger = id | count << MD_MVT_CMD_BITS. */
#define MD_MVT_VERSION 2
#define MD_MVT_CMD_BITS 3
enum { MD_MVT_CMD_MOVE_TO = 1, MD_MVT_CMD_LINE_TO = 2, MD_MVT_CMD_CLOSE_PATH = 7 };

struct md_mvt;

/* New empty tile builder in `pool` (borrowed, must outlive the builder).
 * NULL when pool is NULL or exhausted. */
struct md_mvt *md_mvt_new(struct md_pool *pool);

/* Also record failures in `ctx` (borrowed; may be NULL to detach). */
void md_mvt_set_ctx(struct md_mvt *t, struct md_ctx *ctx);
/* Detail of the latest failure, or "success"; owned by the builder. */
const char *md_mvt_message(const struct md_mvt *t);

/* Start a layer named `name` (copied) with the given extent (> 0). Ends the
 * open feature and layer; a layer that kept no feature is never written.
 * Errors: MD_EINVAL (NULL/empty name, extent 0, a name already written in
 * this tile), MD_ENOMEM. */
md_err md_mvt_layer(struct md_mvt *t, const char *name, uint32_t extent) MD_WUR;

/* Start a feature with row id `id` and geometry `type` in the current layer
 * (ends the open feature, as md_mvt_feature_end()). The id is always written.
 * Errors: MD_EINVAL (no layer, bad type). */
md_err md_mvt_feature(struct md_mvt *t, uint64_t id, enum md_mvt_geom_type type) MD_WUR;

/* Add a point (tile space) to the current POINT feature; several points make
 * a multipoint. Errors: MD_EINVAL (no feature, not a POINT feature),
 * MD_ENOMEM. */
md_err md_mvt_point(struct md_mvt *t, int32_t x, int32_t y) MD_WUR;

/* Append a tile-space GEOS geometry (borrowed; normally the output of
 * md_tile_geom_prepare: integer coordinates, valid) to the current feature.
 * Point/MultiPoint go to POINT features, (Multi)LineString to LINESTRING and
 * (Multi)Polygon to POLYGON features; GeometryCollections are walked.
 * Coordinates are rounded to integers, consecutive repeats dropped; line
 * parts of fewer than 2 distinct points, rings of fewer than 3 and rings of
 * zero area are skipped (with their holes, for a shell). Rings are written
 * with the spec's winding: exterior positive area by the surveyor's formula
 * in tile space (clockwise on screen, y down), interiors negative.
 * Errors: MD_EINVAL (no feature, geometry kind does not match the feature
 * type, non-finite coordinate, a move between vertices that does not fit in
 * 32 bits), MD_EGEOS, MD_ENOMEM. On error the feature's geometry is as it
 * was before the call. */
md_err md_mvt_geom_geos(struct md_mvt *t, GEOSContextHandle_t h, const GEOSGeometry *g) MD_WUR;

/* Properties of the current feature. Keys and values are copied and
 * deduplicated per layer. A key may appear once per feature.
 * Errors: MD_EINVAL (no feature, NULL/empty key, NULL string value,
 * repeated key), MD_ENOMEM. Strings must be UTF-8. */
md_err md_mvt_prop_str(struct md_mvt *t, const char *key, const char *val) MD_WUR;
/* The same for a string of n bytes whose length the caller knows (it need
 * not be NUL-terminated). */
md_err md_mvt_prop_strn(struct md_mvt *t, const char *key, const char *val, size_t n) MD_WUR;
/* Written as uint_value when v >= 0, sint_value (zigzag) when negative. */
md_err md_mvt_prop_int(struct md_mvt *t, const char *key, int64_t v) MD_WUR;
/* Written as uint_value (for counts and ids above INT64_MAX). */
md_err md_mvt_prop_uint(struct md_mvt *t, const char *key, uint64_t v) MD_WUR;
md_err md_mvt_prop_double(struct md_mvt *t, const char *key, double v) MD_WUR;
/* Written as float_value (4 bytes) for values that need no more precision. */
md_err md_mvt_prop_float(struct md_mvt *t, const char *key, float v) MD_WUR;
md_err md_mvt_prop_bool(struct md_mvt *t, const char *key, bool v) MD_WUR;

/* End the current feature. A feature without geometry is dropped, together
 * with the keys and values only it had added. No-op when no feature is open.
 * Errors: MD_ENOMEM. */
md_err md_mvt_feature_end(struct md_mvt *t) MD_WUR;

/* Features kept so far, all layers (the open feature not counted). */
size_t md_mvt_feature_count(const struct md_mvt *t);

/* End the open feature and layer and append the tile's protobuf bytes to
 * `out` (0 bytes when no feature was kept). Further layers may be added and
 * the tile serialized again. Errors: MD_ETOOBIG (out's cap; out keeps its old
 * length), MD_ENOMEM. */
md_err md_mvt_serialize(struct md_mvt *t, struct md_buf *out) MD_WUR;

#endif
