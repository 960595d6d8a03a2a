/* md_text.h - strict parsing of untrusted text: numbers, UTF-8, identifiers.
 * Every parser rejects trailing garbage, NaN/Inf and out-of-range values. */
#ifndef MD_TEXT_H
#define MD_TEXT_H

#include "md_err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse a finite decimal number; `what` names the field in the error detail. */
md_err md_parse_double(const char *s, const char *what, double *out, struct md_ctx *ctx) MD_WUR;
/* Parse a base-10 integer in [min, max]. */
md_err md_parse_int64(const char *s, const char *what, int64_t min, int64_t max, int64_t *out,
                      struct md_ctx *ctx) MD_WUR;
/* True when bytes[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool md_utf8_valid(const char *bytes, size_t n);
/* Number of code points in a valid UTF-8 string. */
size_t md_utf8_len(const char *s);
/* Characters no stored string may hold, because some output cannot carry
 * them (XML 1.0 has no way to write them at all; CSV and log lines would
 * break): C0 controls other than tab, LF and CR (NUL included), U+FFFE and
 * U+FFFF. The code-point position (0-based) of the first one in the valid
 * UTF-8 s[0..n), with the code point in *cp, or -1 when there is none. */
long md_text_bad_char(const char *s, size_t n, unsigned *cp);
/* Validate lon/lat ranges; `what` prefixes the error detail. */
md_err md_check_lonlat(double lon, double lat, struct md_ctx *ctx) MD_WUR;

#endif
