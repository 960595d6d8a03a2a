/* mvt_decode.h - read a Mapbox Vector Tile back and check it against the
 * 2.1 spec, with the protobuf-c code generated from vector_tile.proto.
 * Used by tests, fuzzing and tools; the server only encodes. */
#ifndef MD_MVT_DECODE_H
#define MD_MVT_DECODE_H

#include "md_err.h"
#include "md_pool.h"
#include "vector_tile.pb-c.h"
#include <stddef.h>

/* Unpack `n` bytes of an MVT with memory from `pool` (borrowed; *out lives
 * as long as the pool, nothing to free) and check it: layer version 1 or 2,
 * non-empty unique layer names, extent > 0, tags in pairs and in range, each
 * value with exactly one field, and for POINT/LINESTRING/POLYGON features a
 * geometry command stream that is well-formed for the type (MoveTo/LineTo
 * counts backed by parameters, ClosePath(1) after each ring, first ring
 * exterior, no zero-area ring). UNKNOWN-type geometries are not checked.
 * Errors: MD_EPARSE (not a Tile message, or invalid; detail in ctx),
 * MD_EINVAL (NULL arguments). *out is NULL on error. */
md_err md_mvt_decode(const void *bytes, size_t n, struct md_pool *pool, VectorTile__Tile **out,
                     struct md_ctx *ctx) MD_WUR;

#endif
