/* fuzz_mvt_decode.c - libFuzzer target for md_mvt_decode() (protobuf-c unpack
 * + MVT 2.1 validation), parse + free, followed by a round trip: every tile
 * that decodes is rebuilt with md_mvt_* (its point features, their ids and
 * properties) and the rebuilt tile must decode again. Catches decoder memory
 * errors and encoder output that the decoder rejects.
 *
 * Build (clang), after a normal build has run protoc-c into build/<dir>:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icore -Itiles
 *     -Ibuild/<dir>/tiles/proto fuzz/fuzz_mvt_decode.c tiles/mvt_decode.c
 *     tiles/mvt_encode.c build/<dir>/tiles/proto/vector_tile.pb-c.c core/md_err.c
 *     core/md_pool.c core/md_buf.c -lprotobuf-c -lgeos_c -o fuzz_mvt_decode
 *   ./fuzz_mvt_decode -max_len=65536 corpus/ \
 *     tests/node/node_modules/@mapbox/mvt-fixtures/fixtures/NNN/
 * or with -DMAPD_FUZZ=ON and fuzz/fuzz_mvt.cmake included by fuzz/CMakeLists.txt.
 */
#include "md_buf.h"
#include "md_pool.h"
#include "mvt_decode.h"
#include "mvt_encode.h"

#include <stdint.h>
#include <stdlib.h>

#define FUZZ_POOL_MAX (32u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Add the feature's points (a validated POINT geometry) to the builder. */
static void add_points(struct md_mvt *t, const VectorTile__Tile__Feature *f)
{
    int64_t x = 0, y = 0;
    for (size_t i = 0; i < f->n_geometry;) {
        uint32_t count = f->geometry[i++] >> MD_MVT_CMD_BITS;
        for (uint32_t k = 0; k < count && i + 1 < f->n_geometry; k++, i += 2) {
            x += (int32_t)((f->geometry[i] >> 1) ^ (~(f->geometry[i] & 1) + 1));
            y += (int32_t)((f->geometry[i + 1] >> 1) ^ (~(f->geometry[i + 1] & 1) + 1));
            if (x >= INT32_MIN && x <= INT32_MAX && y >= INT32_MIN && y <= INT32_MAX)
                MD_IGNORE(md_mvt_point(t, (int32_t)x, (int32_t)y));
        }
    }
}

static void add_props(struct md_mvt *t, const VectorTile__Tile__Layer *l,
                      const VectorTile__Tile__Feature *f)
{
    for (size_t i = 0; i + 1 < f->n_tags; i += 2) {
        const char *key = l->keys[f->tags[i]];
        const VectorTile__Tile__Value *v = l->values[f->tags[i + 1]];
        if (v->string_value)
            MD_IGNORE(md_mvt_prop_str(t, key, v->string_value));
        else if (v->has_float_value)
            MD_IGNORE(md_mvt_prop_float(t, key, v->float_value));
        else if (v->has_double_value)
            MD_IGNORE(md_mvt_prop_double(t, key, v->double_value));
        else if (v->has_int_value)
            MD_IGNORE(md_mvt_prop_int(t, key, v->int_value));
        else if (v->has_uint_value)
            MD_IGNORE(md_mvt_prop_uint(t, key, v->uint_value));
        else if (v->has_sint_value)
            MD_IGNORE(md_mvt_prop_int(t, key, v->sint_value));
        else if (v->has_bool_value)
            MD_IGNORE(md_mvt_prop_bool(t, key, v->bool_value));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct md_pool *pool = md_pool_new(FUZZ_POOL_MAX);
    struct md_buf out;
    md_buf_init(&out, FUZZ_POOL_MAX);
    VectorTile__Tile *tile = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (!pool || md_mvt_decode(data, size, pool, &tile, &ctx))
        goto out;

    struct md_mvt *t = md_mvt_new(pool);
    if (!t)
        goto out;
    for (size_t li = 0; li < tile->n_layers; li++) {
        const VectorTile__Tile__Layer *l = tile->layers[li];
        if (md_mvt_layer(t, l->name, l->has_extent ? l->extent : 4096))
            continue;
        for (size_t fi = 0; fi < l->n_features; fi++) {
            const VectorTile__Tile__Feature *f = l->features[fi];
            if (!f->has_type || f->type != VECTOR_TILE__TILE__GEOM_TYPE__POINT ||
                md_mvt_feature(t, f->id, MD_MVT_POINT))
                continue;
            add_points(t, f);
            add_props(t, l, f);
            if (md_mvt_feature_end(t) == MD_ENOMEM)
                goto out;
        }
    }
    if (md_mvt_serialize(t, &out))
        goto out;
    VectorTile__Tile *again = NULL;
    md_ctx_init(&ctx);
    if (md_mvt_decode(out.data, out.len, pool, &again, &ctx))
        __builtin_trap(); /* the encoder wrote something the decoder rejects */
out:
    md_buf_free(&out);
    md_pool_free(pool);
    return 0;
}
