/* params.h - private to api/: validated query parameters and JSON replies.
 *
 * Every parser puts a message naming the parameter into call->ctx and
 * returns MD_EINVAL, so a handler can simply `if ((rc = ...)) return rc;`.
 * Optional parameters leave *out untouched (and *present false) when absent.
 */
#ifndef MD_PARAMS_H
#define MD_PARAMS_H

#include "api_int.h"
#include "coords.h"
#include "md_types.h"
#include <jansson.h>

/* Raw value (percent-decoded) or NULL; rejects invalid UTF-8 via the parsers below. */
const char *md__param(struct md_call *c, const char *name);
md_err md__param_str(struct md_call *c, const char *name, bool required, size_t max_len,
                     const char **out) MD_WUR;
md_err md__param_double(struct md_call *c, const char *name, bool required, double *out) MD_WUR;
md_err md__param_int(struct md_call *c, const char *name, bool required, int64_t min, int64_t max,
                     int64_t *out) MD_WUR;
/* lon/lat pair, both required, range-checked. */
md_err md__param_lonlat(struct md_call *c, const char *lon_name, const char *lat_name, double *lon,
                        double *lat) MD_WUR;
/* "minlon,minlat,maxlon,maxlat"; min <= max; within lon/lat ranges. */
md_err md__param_bbox(struct md_call *c, const char *name, struct md_bbox *out, bool *present) MD_WUR;
/* ISO 8601 date or date-time (city offset when none is given). */
md_err md__param_time(struct md_call *c, const char *name, int64_t *out, bool *present) MD_WUR;
/* MD_EINVAL naming the first query parameter not in `allowed`
 * (NULL-terminated; NULL = none allowed): a typo (catgory=) must not
 * silently widen an answer to everything. Every /api/v1 handler, the
 * exports and the event stream call it first (OGC has its own). */
md_err md__params_only(struct md_call *c, const char *const *allowed) MD_WUR;
/* The end of a range, inclusive: as md__param_time, but a date without a
 * time means the last second of that day (to=2026-06-01 includes June 1st,
 * as OGC's datetime=2026-06-01 does). Every `to`, `end_date` and
 * `updated_before` goes through this one. */
md_err md__param_time_end(struct md_call *c, const char *name, int64_t *out, bool *present) MD_WUR;
/* crs=wgs84|gcj02|bd09 (default wgs84): the CRS of points in and out. */
md_err md__param_crs(struct md_call *c, enum md_crs *out) MD_WUR;
/* The fields of a multipart/form-data body (its parts without a filename)
 * as md__form_parse gives them: values copied into the request pool, keys
 * borrowed from m, the same checks (UTF-8, no NUL or control character). */
struct md_multipart;
md_err md__form_from_parts(struct md_call *c, const struct md_multipart *m, struct md_kv **out,
                           size_t *n) MD_WUR;

/* The crs of a tile, TileJSON or style request: wgs84 (also absent, "",
 * EPSG:3857, 3857, and what md_crs_parse reads as WGS84) or gcj02
 * (tiles/tile_crs.h). Anything else is MD_EINVAL, never ignored - a client
 * on a base map in another CRS would draw every point 300-600 m off; bd09's
 * message says what Baidu users do instead. */
md_err md__param_tile_crs(struct md_call *c, enum md_crs *out) MD_WUR;
/* Parse an application/x-www-form-urlencoded body into key/value pairs
 * allocated from the request pool ('+' is a space, %XX decoded). Fails with
 * MD_EINVAL naming the field for a bad escape, invalid UTF-8 or an embedded
 * NUL, and for more than `max_fields` fields. */
md_err md__form_parse(struct md_call *c, const char *body, size_t len, size_t max_fields,
                      struct md_kv **out, size_t *n) MD_WUR;
/* Value of `key` among parsed form fields, or NULL. */
const char *md__form_get(const struct md_kv *kv, size_t n, const char *key);
/* Base URL for links in answers, without a trailing slash: --public-url,
 * else http://<the address the client connected to> (http://<Host header>
 * with --trust-host, when it looks like a host[:port]), else
 * http://127.0.0.1:8080. Pool string (or the config's). */
const char *md__base_url(struct md_call *c);
/* json_dumps flags for every JSON answer: compact, and reals with 12
 * significant digits (coordinates to 1e-7 degree, metres to 0.1 mm) instead
 * of jansson's 17 (116.39700000000001). */
#define MD_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))
/* Serialize `j` (stolen) as the JSON body with `status`. */
md_err md__send_json(struct md_call *c, int status, json_t *j) MD_WUR;
/* 204 No Content: no body, no type (a DELETE done). */
md_err md__send_no_content(struct md_call *c);

#endif
