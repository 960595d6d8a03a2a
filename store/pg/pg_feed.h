/* pg_feed.h - what a node's caches follow, read from PostgreSQL (private to
 * store/): the change log between two numbers and the points of a point
 * layer (the cluster index's full load and per-change reads). The twins of
 * md_store_changes_between, md_store_points_each and md_store_point_get,
 * with their contracts (store.h). */
#ifndef MD_PG_FEED_H
#define MD_PG_FEED_H

#include "pg_store.h"

md_err md__pg_changes_between(struct md_pg *pg, int64_t after, int64_t upto, md_change_fn fn,
                              void *userdata, struct md_ctx *ctx) MD_WUR;
md_err md__pg_points_each(struct md_pg *pg, enum md_layer layer, md_point_fn fn, void *userdata,
                          struct md_ctx *ctx) MD_WUR;
md_err md__pg_point_get(struct md_pg *pg, enum md_layer layer, int64_t id, md_point_fn fn,
                        void *userdata, struct md_ctx *ctx) MD_WUR;

#endif
