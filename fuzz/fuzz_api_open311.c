/* fuzz_api_open311.c - libFuzzer target: Open311 GeoReport v2: form-encoded and multipart/form-data
 * POST bodies (requests, api_key, the photo `media`), and the GET query strings of
 * requests/services/tokens in .json and .xml. Input: the request text of fuzz_api.h; requests
 * outside this family are skipped. Seeds and regressions: tests/fuzz/api_open311/.
 */
#include "fuzz_api.h"

#include <stddef.h>

static const char *const methods[] = {"GET", "POST", NULL};
static const char *const prefixes[] = {"/open311/v2/", NULL};
static const struct md_fuzz_family family = {"open311", methods, prefixes};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return md_fuzz_api_run(&family, data, size);
}
