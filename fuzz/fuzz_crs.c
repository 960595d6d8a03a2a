/* fuzz_crs.c - libFuzzer target for the CRS parsers: md_crs_parse() (the
 * crs= request parameter) and md_reproj_new() (an import's source CRS, which
 * reaches PROJ's parsers), each parse + free. Also checks that every error
 * message is valid UTF-8, since it ends up in a JSON body.
 *
 * Build (clang): clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE
 *   -Igeo -Icore -Ibuild/<dir>/geo fuzz/fuzz_crs.c geo/coords.c geo/reproject.c
 *   core/md_err.c core/md_text.c -lproj -lm
 */
#include "coords.h"
#include "md_text.h"
#include "reproject.h"

#include <proj.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Definitions longer than this only slow the fuzzer down in PROJ's WKT parser. */
#define FUZZ_MAX_INPUT 2048

static void check_message(const struct md_ctx *ctx)
{
    if (!md_utf8_valid(ctx->msg, strlen(ctx->msg)))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    struct md_ctx ctx;
    md_ctx_init(&ctx);
    enum md_crs crs;
    if (md_crs_parse(text, &crs, &ctx) != MD_OK)
        check_message(&ctx);

    md_ctx_init(&ctx);
    struct md_reproj *r = NULL;
    /* One PROJ context for the process (as a server worker has): its
     * proj.db connection and caches are reused between inputs. */
    static PJ_CONTEXT *pj;
    if (!pj)
        pj = proj_context_create();
    if (md_reproj_new(pj, text, &r, &ctx) == MD_OK) {
        double lon, lat;
        if (md_reproj_point(r, 20449420.3, 4419806.1, &lon, &lat, &ctx) != MD_OK)
            check_message(&ctx);
        md_reproj_free(r);
    } else {
        check_message(&ctx);
    }
    free(text);
    return 0;
}
