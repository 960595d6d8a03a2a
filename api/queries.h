/* queries.h - private to api/: parameters and replies shared by the query,
 * statistics, OGC API and export handlers.
 *
 * Each parser validates against the database where the value names data
 * (categories, groups, districts) and fails with MD_EINVAL and a message
 * naming the parameter.
 */
#ifndef MD_QUERIES_H
#define MD_QUERIES_H

#include "layer_out.h"
#include "params.h"
#include "query.h"

/* layer=<name> (default `dflt`); point_only rejects districts/grids. */
md_err md__param_layer(struct md_call *c, const char *name, enum md_layer dflt, bool point_only,
                       enum md_layer *out) MD_WUR;
/* category, group, status, district, kind, from, to for `layer`. Strings
 * point into the request (borrowed). `prefix` is prepended to the names
 * (OGC uses the bare column names). */
md_err md__param_filter(struct md_call *c, enum md_layer layer, struct md_query_filter *f) MD_WUR;
/* Each item of a comma list of statuses (NULL: none) is a status of the
 * layer (reports: the workflow's; facilities: open, closed, unverified). */
md_err md__check_statuses(struct md_call *c, enum md_layer layer, const char *list) MD_WUR;
/* Check a filter's values exist in the database (category, group, district). */
md_err md__check_filter(struct md_call *c, enum md_layer layer, const struct md_query_filter *f) MD_WUR;
/* The request body as a GeoJSON Polygon/MultiPolygon (geometry, Feature, or
 * a FeatureCollection of one feature) in `crs`, converted to WGS84, checked
 * valid with GEOS. Caller destroys *out with GEOSGeom_destroy_r. */
md_err md__body_polygon(struct md_call *c, enum md_crs crs, GEOSGeometry **out) MD_WUR;
/* Write hits as a FeatureCollection (properties from the table) with
 * numberMatched/numberReturned; distances when with_distance. `extra` is
 * raw JSON members (",\"k\":v...") or NULL. Sets application/geo+json. */
md_err md__send_hits(struct md_call *c, enum md_layer layer, const struct md_query_hit *hits,
                     int n, int64_t matched, bool with_distance, enum md_crs crs,
                     const char *extra) MD_WUR;

#endif
