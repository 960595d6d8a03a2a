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
/* crs=wgs84|gcj02|bd09 (default wgs84): the CRS of points in and out. */
md_err md__param_crs(struct md_call *c, enum md_crs *out) MD_WUR;
/* Serialize `j` (stolen) as the JSON body with `status`. */
md_err md__send_json(struct md_call *c, int status, json_t *j) MD_WUR;

#endif
