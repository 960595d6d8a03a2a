/* fuzz_api_staff.c - libFuzzer target: the JSON bodies and paths of issue 17
 * part B: units and officers, the officer's queue, consultations (votes,
 * comments, moderation, exports, the tile layer and its style) and admins'
 * edits of facilities and categories, with the fuzz database's tokens.
 * Input: the request text of fuzz_api.h; requests outside this family are
 * skipped. Seeds and regressions: tests/fuzz/api_staff/.
 */
#include "fuzz_api.h"

#include <stddef.h>

static const char *const methods[] = {"GET", "POST", "PATCH", "PUT", NULL};
static const char *const prefixes[] = {"/api/v1/units",
                                       "/api/v1/officer/",
                                       "/api/v1/consultations",
                                       "/tiles/consultations",
                                       "/styles/consultations",
                                       "/api/v1/facilities/",
                                       "/api/v1/facility-categories/",
                                       NULL};
static const struct md_fuzz_family family = {"staff", methods, prefixes};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return md_fuzz_api_run(&family, data, size);
}
