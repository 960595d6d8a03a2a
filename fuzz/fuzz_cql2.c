/* fuzz_cql2.c - libFuzzer target for the CQL2 text parser (md_cql2_parse,
 * the OGC filter= parameter): parse + free the pool. Checks that every error
 * message is valid UTF-8 (it ends up in a JSON body) and that a parsed tree
 * is well formed (children present, values where the kind needs them).
 *
 * Build (clang): clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE
 *   -Icore fuzz/fuzz_cql2.c core/md_cql2.c core/md_err.c core/md_buf.c
 *   core/md_pool.c core/md_time.c core/md_text.c -ljansson -lm
 */
#include "md_cql2.h"
#include "md_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(const struct md_cql_node *n)
{
    if (!n)
        __builtin_trap();
    switch (n->kind) {
    case MD_CQL_AND:
    case MD_CQL_OR:
        check_tree(n->a);
        check_tree(n->b);
        return;
    case MD_CQL_NOT:
        check_tree(n->a);
        return;
    case MD_CQL_BOOL:
        return;
    case MD_CQL_SPATIAL:
        if (!n->prop || !n->geom.wkt || !n->geom.ncoords || n->geom.minx > n->geom.maxx)
            __builtin_trap();
        return;
    case MD_CQL_CMP:
    case MD_CQL_LIKE:
    case MD_CQL_IN:
    case MD_CQL_BETWEEN:
        if (!n->prop || !n->values || !n->nvalues)
            __builtin_trap();
        return;
    default:
        if (!n->prop)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct md_pool *pool = md_pool_new(16 << 20);
    struct md_ctx ctx;
    struct md_cql_node *root = NULL;
    md_ctx_init(&ctx);
    if (!pool)
        return 0;
    if (md_cql2_parse((const char *)data, size, 480, pool, &root, &ctx) == MD_OK)
        check_tree(root);
    else if (!md_utf8_valid(ctx.msg, strlen(ctx.msg)))
        __builtin_trap();
    md_pool_free(pool);
    return 0;
}
