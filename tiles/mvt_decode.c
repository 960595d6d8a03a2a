/* mvt_decode.c - unpack and validate an MVT (see mvt_decode.h).
 *
 * protobuf-c allocates through a ProtobufCAllocator backed by the caller's
 * pool, so a decoded tile is freed with the pool and a hostile tile can use
 * no more memory than the pool's cap. Validation walks each geometry once
 * without allocating; counts are checked against the parameters actually
 * present before they are trusted.
 */
#include "mvt_decode.h"

#include "mvt_encode.h"

#include <string.h>

/* ClosePath with count 1, the only valid ClosePath command integer. */
#define CLOSE_PATH_1 ((uint32_t)MD_MVT_CMD_CLOSE_PATH | 1u << MD_MVT_CMD_BITS)

/* Value of a zigzag-encoded ParameterInteger (spec 4.3.2). */
static int32_t unzigzag(uint32_t v)
{
    return (int32_t)((v >> 1) ^ (~(v & 1) + 1));
}

static void *pb_alloc(void *pool, size_t size)
{
    return md_pool_alloc(pool, size);
}

static void pb_free(void *pool, void *ptr)
{
    (void)pool;
    (void)ptr; /* the pool frees everything at once */
}

/* Walk a geometry command stream (spec 4.3) and check it is well-formed
 * for `type`; for polygons also that the first ring is exterior and no ring
 * has zero area. Returns NULL or a static description of the problem. */
static const char *check_geometry(const uint32_t *cmds, size_t n, int type)
{
    size_t i = 0, parts = 0;
    int64_t x = 0, y = 0;
    while (i < n) {
        uint32_t id = cmds[i] & 0x7, count = cmds[i] >> MD_MVT_CMD_BITS;
        i++;
        if (id != MD_MVT_CMD_MOVE_TO)
            return "a part does not start with MoveTo";
        if (type == VECTOR_TILE__TILE__GEOM_TYPE__POINT) {
            if (parts || count == 0)
                return "a point geometry must be one MoveTo with count > 0";
        } else if (count != 1) {
            return "MoveTo count must be 1 in a line or polygon";
        }
        if (count > (n - i) / 2)
            return "command count exceeds the parameters present";
        int64_t x0 = x + unzigzag(cmds[i]);
        int64_t y0 = y + unzigzag(cmds[i + 1]);
        for (uint32_t k = 0; k < count; k++, i += 2) {
            x += unzigzag(cmds[i]);
            y += unzigzag(cmds[i + 1]);
        }
        parts++;
        if (type == VECTOR_TILE__TILE__GEOM_TYPE__POINT)
            continue;
        if (i >= n || (cmds[i] & 0x7) != MD_MVT_CMD_LINE_TO)
            return "MoveTo is not followed by LineTo";
        count = cmds[i] >> MD_MVT_CMD_BITS;
        i++;
        uint32_t min = type == VECTOR_TILE__TILE__GEOM_TYPE__POLYGON ? 2 : 1;
        if (count < min)
            return "LineTo count too small";
        if (count > (n - i) / 2)
            return "command count exceeds the parameters present";
        /* Surveyor's formula over the ring, starting with the MoveTo vertex. */
        double area2 = 0;
        int64_t px = x0, py = y0;
        for (uint32_t k = 0; k < count; k++, i += 2) {
            x += unzigzag(cmds[i]);
            y += unzigzag(cmds[i + 1]);
            area2 += (double)px * (double)y - (double)x * (double)py;
            px = x;
            py = y;
        }
        if (type != VECTOR_TILE__TILE__GEOM_TYPE__POLYGON)
            continue;
        area2 += (double)px * (double)y0 - (double)x0 * (double)py;
        if (i >= n || cmds[i] != CLOSE_PATH_1)
            return "a ring does not end with ClosePath(1)";
        i++;
        if (area2 == 0)
            return "a ring has zero area";
        if (parts == 1 && area2 < 0)
            return "the first ring is not exterior (positive area)";
    }
    return NULL;
}

static md_err check_layer(const VectorTile__Tile__Layer *l, struct md_ctx *ctx)
{
    if (!l->name || !l->name[0])
        return md_fail(ctx, MD_EPARSE, "a layer has no name");
    if (l->version < 1 || l->version > MD_MVT_VERSION)
        return md_fail(ctx, MD_EPARSE, "layer \"%s\": unknown version %u", l->name, l->version);
    if (l->has_extent && l->extent == 0)
        return md_fail(ctx, MD_EPARSE, "layer \"%s\": extent is 0", l->name);
    for (size_t v = 0; v < l->n_values; v++) {
        const VectorTile__Tile__Value *val = l->values[v];
        int fields = (val->string_value != NULL) + val->has_float_value + val->has_double_value +
                     val->has_int_value + val->has_uint_value + val->has_sint_value +
                     val->has_bool_value;
        if (fields != 1)
            return md_fail(ctx, MD_EPARSE, "layer \"%s\": value %zu has %d fields", l->name, v,
                           fields);
    }
    for (size_t f = 0; f < l->n_features; f++) {
        const VectorTile__Tile__Feature *feat = l->features[f];
        if (feat->n_tags % 2)
            return md_fail(ctx, MD_EPARSE, "layer \"%s\" feature %zu: odd number of tags", l->name,
                           f);
        for (size_t i = 0; i < feat->n_tags; i += 2)
            if (feat->tags[i] >= l->n_keys || feat->tags[i + 1] >= l->n_values)
                return md_fail(ctx, MD_EPARSE, "layer \"%s\" feature %zu: tag out of range",
                               l->name, f);
        if (!feat->has_type || feat->type == VECTOR_TILE__TILE__GEOM_TYPE__UNKNOWN)
            continue;
        if (feat->n_geometry == 0)
            return md_fail(ctx, MD_EPARSE, "layer \"%s\" feature %zu: no geometry", l->name, f);
        const char *why = check_geometry(feat->geometry, feat->n_geometry, (int)feat->type);
        if (why)
            return md_fail(ctx, MD_EPARSE, "layer \"%s\" feature %zu: %s", l->name, f, why);
    }
    return MD_OK;
}

md_err md_mvt_decode(const void *bytes, size_t n, struct md_pool *pool, VectorTile__Tile **out,
                     struct md_ctx *ctx)
{
    if (out)
        *out = NULL;
    if ((!bytes && n) || !pool || !out)
        return md_fail(ctx, MD_EINVAL, "md_mvt_decode: NULL argument");
    ProtobufCAllocator alloc = {.alloc = pb_alloc, .free = pb_free, .allocator_data = pool};
    VectorTile__Tile *tile = vector_tile__tile__unpack(&alloc, n, bytes);
    if (!tile)
        return md_fail(ctx, MD_EPARSE, "not a vector tile (protobuf unpack failed)");
    for (size_t i = 0; i < tile->n_layers; i++) {
        md_err rc = check_layer(tile->layers[i], ctx);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(tile->layers[i]->name, tile->layers[j]->name) == 0)
                return md_fail(ctx, MD_EPARSE, "layer \"%s\" appears twice", tile->layers[i]->name);
    }
    *out = tile;
    return MD_OK;
}
