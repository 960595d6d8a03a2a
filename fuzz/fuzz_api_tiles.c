/* fuzz_api_tiles.c - libFuzzer target: tile paths and layer lists (/tiles/{layers}/{z}/{x}/{y}.mvt, the catalog, TileJSON), styles, glyph ranges and static web files (path handling).
 * Input: the request text of fuzz_api.h; requests outside this family are
 * skipped. Seeds and regressions: tests/fuzz/api_tiles/.
 */
#include "fuzz_api.h"

#include <stddef.h>

static const char *const methods[] = {"GET", "HEAD", NULL};
static const char *const prefixes[] = {"/tiles", "/styles/", "/fonts/", "/web/", NULL};
static const struct md_fuzz_family family = {"tiles", methods, prefixes};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return md_fuzz_api_run(&family, data, size);
}
