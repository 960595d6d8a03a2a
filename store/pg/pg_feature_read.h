/* pg_feature_read.h - whole features by key on PostgreSQL (private to
 * store/): the twin of md_store_feature_get (feature_read.h), the same
 * public columns in the same order and types, rows as md_row over the
 * binary result. */
#ifndef MD_PG_FEATURE_READ_H
#define MD_PG_FEATURE_READ_H

#include "pg_store.h"
#include "feature_read.h"
#include "row.h"

/* Layer `layer`'s feature with text key `code` (districts, grids) or id
 * `id` (when code is NULL). */
md_err md__pg_feature_get(struct md_pg *pg, enum md_layer layer, const char *code, int64_t id,
                          md_row_fn fn, void *userdata, bool *found, struct md_ctx *ctx) MD_WUR;

/* md_store_code_known (feature_read.h); `list` is checked by the caller. */
md_err md__pg_code_known(struct md_pg *pg, enum md_code_list list, const char *code, bool *found,
                         struct md_ctx *ctx) MD_WUR;

#endif
