/* fuzz_api.h - drive md_api_handle() (router, params, handlers) with a
 * synthetic struct md_request built from fuzzer bytes, against a private
 * copy of a small real database.
 *
 * Input format (plain text, so seeds are readable and editable):
 *
 *     METHOD /path?query        (or just "/path?query" for GET)
 *     Header-Name: value        (zero or more)
 *                               (empty line)
 *     body bytes ...            (rest of the input, may contain NULs)
 *
 * The path is percent-decoded and the query split and decoded ('+' and %XX)
 * the way libmicrohttpd does before mapd sees them. Each target is one
 * route family: requests outside its methods/prefixes are skipped, so the
 * fuzzer spends its time where the family's parsers are.
 *
 * Oracles besides the sanitizers: the status is 200..599 and not 500 (an
 * internal error on client input is a bug), and every JSON/GeoJSON body
 * parses as JSON.
 *
 * Database: MAPD_FUZZ_DB (env) names a template copied into a temp dir
 * once per process (the CTest replay uses the integration fixture);
 * without it a small sample city is generated there.
 */
#ifndef MD_FUZZ_API_H
#define MD_FUZZ_API_H

#include <stddef.h>
#include <stdint.h>

struct md_fuzz_family {
    const char *name;
    const char *const *methods;  /* NULL-terminated */
    const char *const *prefixes; /* NULL-terminated path prefixes */
};

/* Known tokens in the fuzz database ("mdt_" + 64 times the digit):
 * 0 centre, 1 officer, 2 admin, 3 app. */
int md_fuzz_api_run(const struct md_fuzz_family *family, const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
