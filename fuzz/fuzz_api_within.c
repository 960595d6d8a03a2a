/* fuzz_api_within.c - libFuzzer target: GeoJSON polygon bodies of POST /api/v1/within (and its query string).
 * Input: the request text of fuzz_api.h; requests outside this family are
 * skipped. Seeds and regressions: tests/fuzz/api_within/.
 */
#include "fuzz_api.h"

#include <stddef.h>

static const char *const methods[] = {"POST", NULL};
static const char *const prefixes[] = {"/api/v1/within", NULL};
static const struct md_fuzz_family family = {"within", methods, prefixes};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return md_fuzz_api_run(&family, data, size);
}
