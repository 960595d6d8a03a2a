/* pg_report_list.h - the report list on PostgreSQL (private to store/):
 * the twin of reports.c's md_report_list_page, with its contract
 * (reports.h); the SQLite function dispatches here at its top.
 */
#ifndef MD_PG_REPORT_LIST_H
#define MD_PG_REPORT_LIST_H

#include "reports.h"

struct md_pg;

md_err md__pg_report_list_page(struct md_pg *pg, const struct md_report_filter *f, int64_t now,
                               int offset_min, json_t **out, struct md_report_key *last,
                               struct md_ctx *ctx) MD_WUR;

#endif
