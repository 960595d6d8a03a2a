/* fuzz_api_reports.c - libFuzzer target: JSON bodies of the reports API: creates, transitions (with Authorization tokens), facility corrections, report reads by id and token.
 * Input: the request text of fuzz_api.h; requests outside this family are
 * skipped. Seeds and regressions: tests/fuzz/api_reports/.
 */
#include "fuzz_api.h"

#include <stddef.h>

static const char *const methods[] = {"GET", "POST", NULL};
static const char *const prefixes[] = {"/api/v1/reports", "/api/v1/facilities/", "/api/v1/events", NULL};
static const struct md_fuzz_family family = {"reports", methods, prefixes};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return md_fuzz_api_run(&family, data, size);
}
