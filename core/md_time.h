/* md_time.h - timestamps: mapd stores UTC epoch seconds and prints W3C/ISO 8601.
 *
 * Output carries an explicit zone offset (the city's, +08:00 by default) as
 * Open311 asks; input accepts any ISO 8601 date-time with Z or ±hh:mm, or a
 * plain date (midnight in the given offset).
 */
#ifndef MD_TIME_H
#define MD_TIME_H

#include "md_err.h"
#include <stddef.h>
#include <stdint.h>

#define MD_TIME_STR_MAX 64

/* Current UTC time, seconds. */
int64_t md_time_now(void);
/* Monotonic clock in microseconds (for latency measurement). */
int64_t md_time_mono_us(void);
/* Format `t` as "YYYY-MM-DDTHH:MM:SS+08:00" at `offset_min` minutes east of UTC.
 * out must hold MD_TIME_STR_MAX bytes. */
void md_time_format(int64_t t, int offset_min, char out[MD_TIME_STR_MAX]);
/* Parse an ISO 8601 date or date-time. Offsetless values are taken at
 * `default_offset_min`. Returns MD_EINVAL with detail in ctx. */
md_err md_time_parse(const char *s, int default_offset_min, int64_t *out, struct md_ctx *ctx) MD_WUR;
/* Days since 1970-01-01 for a civil date (proleptic Gregorian). */
int64_t md_days_from_civil(int64_t y, unsigned m, unsigned d);
/* Civil date from days since 1970-01-01. */
void md_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

#endif
