/* pg_stats_read.h - the scan behind planner statistics on PostgreSQL
 * (private to store/): the twin of stats_read.c's md_store_stats_reports,
 * with its contract (stats_read.h); the SQLite function dispatches here at
 * its top.
 */
#ifndef MD_PG_STATS_READ_H
#define MD_PG_STATS_READ_H

#include "stats_read.h"

struct md_pg;

md_err md__pg_stats_reports(struct md_pg *pg, const struct md_stats_scope *scope, unsigned columns,
                            md_stats_row_fn fn, void *userdata, struct md_ctx *ctx) MD_WUR;

#endif
