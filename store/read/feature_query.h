/* feature_query.h - pages of one layer's features for OGC API - Features
 * (api/ogc.c): a CQL2 filter tree (md_cql2.h), bounding boxes, a time
 * interval on the collection's temporal property, an order (sortby), and
 * keyset paging. Answers are keys (ids, or codes for districts and grids):
 * the caller renders each feature.
 *
 * Filters name properties only through `fields`, the caller's allow-list of
 * public columns with their types; every literal is a bound parameter, so
 * no text of a filter reaches the SQL. Cost: a page reads about as many
 * rows as it takes to find `limit` matches (the order's index or the table
 * in id order), or at most MD_FEATURES_SMALL_BOX candidates of the R*Tree
 * for a small box; never a sort of every match unless sortby names a
 * column without an index. numberMatched is counted only within a bounded
 * amount of work (MD_FEATURES_COUNT_STEPS virtual-machine steps).
 */
#ifndef MD_FEATURE_QUERY_H
#define MD_FEATURE_QUERY_H

#include "md_cql2.h"
#include "md_err.h"
#include "md_pool.h"
#include "md_types.h"

#include <stdbool.h>
#include <stdint.h>

struct md_store;

#define MD_FEATURES_SMALL_BOX 4096     /* R*Tree entries below which a box is read first */
#define MD_FEATURES_COUNT_STEPS 100000 /* work allowed for numberMatched */

enum md_field_type { MD_FIELD_INT, MD_FIELD_REAL, MD_FIELD_TEXT, MD_FIELD_TIME };

/* A public column a filter or sortby may name (times are epoch seconds). */
struct md_field {
    const char *name;
    enum md_field_type type;
};

/* A value of a key or sort column; is_null for SQL NULL. */
struct md_key_value {
    bool is_null;
    bool is_text;
    int64_t i;
    double r;
    const char *s;
};

/* Where the previous page ended: its last feature's sort value and key. */
struct md_feature_cursor {
    bool has_sort;
    struct md_key_value sort, key;
};

struct md_feature_query {
    enum md_layer layer;
    const struct md_field *fields; /* allow-list (borrowed) */
    int nfields;
    const struct md_cql_node *filter; /* NULL: none (borrowed) */
    const char *time_field;           /* datetime= applies here; must be in fields */
    bool has_from, has_to;
    int64_t from, to; /* inclusive */
    struct md_bbox boxes[2];
    int nboxes;
    const char *sort_field; /* NULL: by key */
    bool sort_desc;
    const struct md_feature_cursor *after; /* NULL: the first page */
    int64_t offset;                        /* rows to skip (without `after`) */
    int limit;                             /* 1..10000 */
    int tz_offset_min;                     /* for date strings compared with times */
};

/* One page. keys: n entries (pool); more: another page follows; last: the
 * cursor of the next page (valid when more). matched: counted when
 * has_matched. */
struct md_feature_page {
    struct md_key_value *keys;
    int n;
    bool more;
    struct md_feature_cursor last;
    bool has_matched;
    int64_t matched;
};

/* Reads one page in a single read transaction. Errors: MD_EINVAL for a
 * filter that names an unknown property or compares it with a value of the
 * wrong type (message with the position); MD_EDB. Strings of *out live in
 * `pool`. */
md_err md_store_features(struct md_store *s, const struct md_feature_query *q, struct md_pool *pool,
                         struct md_feature_page *out, struct md_ctx *ctx) MD_WUR;

#endif
