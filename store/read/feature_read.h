/* feature_read.h - reads of whole features for the API: one feature by
 * key, a streamed scan of a layer with filters (exports), a layer's
 * spatial and temporal extent, and the lookups that check a filter's
 * codes. Rows carry the layer's public columns in md_layer_public() order
 * (layer_fields.h); errors of the database always come back as errors,
 * never as a short answer.
 */
#ifndef MD_FEATURE_READ_H
#define MD_FEATURE_READ_H

#include "feature_query.h"
#include "layer_fields.h"
#include "md_err.h"
#include "md_types.h"
#include "query.h"
#include "row.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct md_store;

/* Call fn once with the public row of feature `key` of a city layer (an id,
 * or a text code for districts and grids); *found = false and no call when
 * there is none. MD_EINVAL when the key's kind does not match the layer. */
md_err md_store_feature_get(struct md_store *s, enum md_layer layer, const struct md_key_value *key,
                            md_row_fn fn, void *userdata, bool *found, struct md_ctx *ctx) MD_WUR;

/* A layer's rows in key order with filters (the fields of md_query_filter
 * the layer has; a NULL member is no condition), read in one snapshot.
 * has_box: points inside box (edges included); ignored for polygon layers. */
struct md_scan_query {
    enum md_layer layer;
    struct md_query_filter filter; /* borrowed for the life of the scan */
    bool has_box;
    struct md_bbox box;
};
struct md_store_scan;
/* Begin a read transaction on `s` (which the scan then holds: give it a
 * connection of its own), note the layer's data version in that snapshot,
 * and open the scan. Caller frees with md_store_scan_close(). */
md_err md_store_scan_open(struct md_store *s, const struct md_scan_query *q,
                          struct md_store_scan **out, struct md_ctx *ctx) MD_WUR;
/* The next row (borrowed until the next call), or *row = NULL at the end. */
md_err md_store_scan_next(struct md_store_scan *sc, const struct md_row **row,
                          struct md_ctx *ctx) MD_WUR;
/* layers.version of the scanned layer in the scan's snapshot. */
int64_t md_store_scan_version(const struct md_store_scan *sc);
/* Ends the read transaction; accepts NULL. */
void md_store_scan_close(struct md_store_scan *sc);

/* The spatial extent of a city layer from its spatial index's root (cheap;
 * may be a little larger than the data). *any = false when empty. */
md_err md_store_layer_bounds(struct md_store *s, enum md_layer layer, struct md_bbox *out,
                             bool *any, struct md_ctx *ctx) MD_WUR;
/* min and max of the layer's temporal property (time_column); *any = false
 * when the layer is empty. */
md_err md_store_layer_time_range(struct md_store *s, enum md_layer layer, int64_t *t0, int64_t *t1,
                                 bool *any, struct md_ctx *ctx) MD_WUR;
/* The bounding box of all districts (the city); *any = false when none. */
md_err md_store_city_bounds(struct md_store *s, struct md_bbox *out, bool *any,
                            struct md_ctx *ctx) MD_WUR;

/* Code lists a filter value must come from. */
enum md_code_list {
    MD_CODES_FACILITY_CATEGORY,
    MD_CODES_REPORT_CATEGORY,
    MD_CODES_CATEGORY_GROUP,
    MD_CODES_DISTRICT,
};
/* *found: `code` is in the list. */
md_err md_store_code_known(struct md_store *s, enum md_code_list list, const char *code,
                           bool *found, struct md_ctx *ctx) MD_WUR;
/* The names of district `code` (copied, truncated to the buffers); *found
 * = false when there is no such district. */
md_err md_store_district_names(struct md_store *s, const char *code, char *name, size_t name_size,
                               char *name_en, size_t name_en_size, bool *found,
                               struct md_ctx *ctx) MD_WUR;

#endif
