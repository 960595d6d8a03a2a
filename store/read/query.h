/* query.h - location queries over the point layers (facilities, reports).
 *
 * Nearest: the k points closest to a place, by geodesic distance on WGS84,
 * found by an expanding circle over the layer's SQLite R*Tree (its node
 * table idx_<layer>_geom_node, decoded once per connection and layer
 * version): never a scan of the table. Within: the
 * points inside a circle (geodesic radius), one or two lon/lat boxes, or a
 * polygon, found through the same R*Tree and tested exactly. Both take the
 * same attribute filters.
 *
 * Results are ids with distances (metres); callers fetch the properties they
 * show. Every query runs in one read transaction (one snapshot of the file)
 * unless the caller already holds one.
 */
#ifndef MD_QUERY_H
#define MD_QUERY_H

#include "geos_ctx.h"
#include "store.h"
#include <stdbool.h>
#include <stdint.h>

/* Upper limits that protect the server from one query. */
#define MD_QUERY_MAX_K 1000
#define MD_QUERY_MAX_MATCHES 2000000 /* points a within-query may match before paging */

/* Attribute filters; NULL / false = no condition. Borrowed for the call.
 * category: facilities.category or reports.service_code; group: the
 * report category's 大类 (categories.group_code; reports only); kind:
 * reports only; time: reports.created_at or facilities.updated_at, inclusive. */
/* SQL text: true when `col` is one of the items of the comma list bound to
 * parameter `p` ("200102,200103"): category and status filters take comma
 * lists in every endpoint, the same grammar everywhere. */
#define MD_SQL_IN_LIST(p, col) "instr(',' || " p " || ',', ',' || " col " || ',') > 0"

/* category and status may be comma lists (MD_SQL_IN_LIST). */
struct md_query_filter {
    const char *category;
    const char *group;
    const char *status;
    const char *district;
    const char *kind;
    bool has_from, has_to;
    int64_t from, to;
};

struct md_query_hit {
    int64_t id;
    double lon, lat;   /* WGS84, from the table */
    double distance_m; /* geodesic metres from the query point; 0 when there is none */
};

/* True when `layer` is a point layer these queries accept. */
bool md_query_point_layer(enum md_layer layer);

/* The `k` (1..MD_QUERY_MAX_K) nearest points of a point layer to
 * (lon, lat) that pass `f` (may be NULL), at most `max_distance_m` away
 * (<= 0: unlimited), sorted by distance then id. `out` holds k entries
 * (caller's); *n gets the number found. Errors: MD_EINVAL (bad layer or
 * arguments), MD_EDB. Contract with tests: equal to sorting every row by
 * md_geod_distance() and id. */
md_err md_query_nearest(struct md_store *s, enum md_layer layer, double lon, double lat, int k,
                        double max_distance_m, const struct md_query_filter *f,
                        struct md_query_hit *out, int *n, struct md_ctx *ctx) MD_WUR;

enum md_region_kind { MD_REGION_ALL = 0, MD_REGION_CIRCLE, MD_REGION_BOXES, MD_REGION_POLYGON };

/* Where a within-query looks. BOXES: nboxes (1 or 2, e.g. split at the
 * antimeridian) lon/lat boxes, edges included. POLYGON: a prepared
 * (multi)polygon in WGS84 (borrowed, with its GEOS handle and its envelope
 * in boxes[0]); points on the boundary count as inside. */
struct md_region {
    enum md_region_kind kind;
    double lon, lat, radius_m;
    struct md_bbox boxes[2];
    int nboxes;
    GEOSContextHandle_t geos;
    const GEOSPreparedGeometry *polygon;
};

/* Sort order of within results. */
enum md_query_order { MD_ORDER_ID = 0, MD_ORDER_DISTANCE };

/* Points of a point layer inside `r` passing `f`, sorted by `order` (by
 * distance from (r->lon, r->lat) then id, or by id), from `offset`, at
 * most `limit` into `out` (caller's, `limit` entries). *matched gets the
 * number of matches before paging. MD_ETOOBIG past MD_QUERY_MAX_MATCHES. */
md_err md_query_within(struct md_store *s, enum md_layer layer, const struct md_region *r,
                       const struct md_query_filter *f, enum md_query_order order, int64_t offset,
                       int limit, struct md_query_hit *out, int *n, int64_t *matched,
                       struct md_ctx *ctx) MD_WUR;

/* A keyset cursor of within pages: the last point of the previous page
 * (its distance, for pages by distance, and id). */
struct md_query_after {
    double distance_m;
    int64_t id;
};

/* One page of md_query_within's matches, in the same order, after `after`
 * (NULL: from the first), without counting them: its cost does not grow
 * with the page's depth. `out` holds limit + 1 entries (caller's); *n gets
 * at most `limit`; *more tells whether another match follows them. */
md_err md_query_within_after(struct md_store *s, enum md_layer layer, const struct md_region *r,
                             const struct md_query_filter *f, enum md_query_order order,
                             const struct md_query_after *after, int limit,
                             struct md_query_hit *out, int *n, bool *more,
                             struct md_ctx *ctx) MD_WUR;

#endif
