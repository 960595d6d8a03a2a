/* pg_query.h - the location queries of query.h on PostGIS (private to
 * store/: read/query.c calls these for a PostgreSQL store). Same
 * arguments, checks, error messages, answers and order contract as
 * query.h: the hits equal SQLite's to the last bit. */
#ifndef MD_PG_QUERY_H
#define MD_PG_QUERY_H

#include "query.h"

struct md_pg;

md_err md__pg_query_nearest(struct md_pg *pg, enum md_layer layer, double lon, double lat, int k,
                            double max_distance_m, const struct md_query_filter *f,
                            struct md_query_hit *out, int *n, struct md_ctx *ctx) MD_WUR;
md_err md__pg_query_within(struct md_pg *pg, enum md_layer layer, const struct md_region *r,
                           const struct md_query_filter *f, enum md_query_order order,
                           int64_t offset, int limit, struct md_query_hit *out, int *n,
                           int64_t *matched, struct md_ctx *ctx) MD_WUR;
md_err md__pg_query_within_after(struct md_pg *pg, enum md_layer layer, const struct md_region *r,
                                 const struct md_query_filter *f, enum md_query_order order,
                                 const struct md_query_after *after, int limit,
                                 struct md_query_hit *out, int *n, bool *more,
                                 struct md_ctx *ctx) MD_WUR;

#endif
