/* fuzz_api_queries.c - libFuzzer target: query strings of the read-only JSON/OGC endpoints (md__param_* via the handlers): nearest, within (GET), districts/at, stats, hotspots, OGC API - Features, exports, report lists, health, metrics.
 * Input: the request text of fuzz_api.h; requests outside this family are
 * skipped. Seeds and regressions: tests/fuzz/api_queries/.
 */
#include "fuzz_api.h"

#include <stddef.h>

static const char *const methods[] = {"GET", "HEAD", NULL};
static const char *const prefixes[] = {"/api/v1/nearest", "/api/v1/within", "/api/v1/districts", "/api/v1/stats", "/api/v1/hotspots", "/ogc", "/api/v1/export/", "/api/v1/reports", "/api/v1/categories", "/health", "/metrics", NULL};
static const struct md_fuzz_family family = {"queries", methods, prefixes};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return md_fuzz_api_run(&family, data, size);
}
