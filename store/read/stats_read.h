/* stats_read.h - the read path of planner statistics (api/stats.c):
 * one scan of the reports that pass a scope (attribute filters, time range,
 * lon/lat box), each row handed to a callback with the typed columns that
 * /api/v1/stats and /api/v1/hotspots aggregate. One statement, so one
 * snapshot of the database; nothing is allocated per row.
 */
#ifndef MD_STATS_READ_H
#define MD_STATS_READ_H

#include "md_err.h"
#include "md_types.h"
#include "query.h"
#include <stdbool.h>
#include <stdint.h>

struct md_store;

/* Which reports: `filter` as everywhere (category and status comma lists,
 * group, district, kind, created_at from/to inclusive; NULL / false = no
 * condition), and when has_box the lon/lat box `box` (edges included).
 * Strings borrowed for the call. */
struct md_stats_scope {
    struct md_query_filter filter;
    bool has_box;
    struct md_bbox box;
};

/* The text columns of a row, as indexes of md_stats_row.text. */
enum md_stats_text {
    MD_STATS_CATEGORY, /* reports.service_code */
    MD_STATS_GROUP,    /* categories.group_code of the service code */
    MD_STATS_DISTRICT, /* reports.district_code */
    MD_STATS_STATUS,
    MD_STATS_KIND,
    MD_STATS_CHANNEL,
    MD_STATS_NTEXT
};

/* Bits of the `columns` argument: which columns a scan reads (the others
 * are left NULL / 0 / false in every row, and cost nothing). */
#define MD_STATS_COL_TEXT(t) (1u << (t))                /* text[t] */
#define MD_STATS_COL_TIMES (1u << MD_STATS_NTEXT)       /* created_at, closed_at, expected_at */
#define MD_STATS_COL_POINT (1u << (MD_STATS_NTEXT + 1)) /* lon, lat */

/* One report as statistics need it, holding the columns asked for.
 * text[t] is borrowed until the callback returns; "" for a NULL column. */
struct md_stats_row {
    const char *text[MD_STATS_NTEXT];
    int64_t created_at; /* seconds since the epoch */
    bool has_closed_at, has_expected_at;
    int64_t closed_at, expected_at; /* 0 when absent */
    double lon, lat;                /* WGS84 */
};
typedef md_err (*md_stats_row_fn)(const struct md_stats_row *row, void *userdata);

/* Call fn for each report in `scope`, in the table's order, with a row
 * (borrowed until fn returns) holding the columns named by the bits of
 * `columns` (MD_STATS_COL_*). A non-zero return from fn stops the scan and
 * is returned as is. A database error (preparing or stepping) is returned
 * as an md_err with the database's message in ctx (md_store_fail:
 * "stats: ..."), never taken for the end of the rows. */
md_err md_store_stats_reports(struct md_store *s, const struct md_stats_scope *scope,
                              unsigned columns, md_stats_row_fn fn, void *userdata,
                              struct md_ctx *ctx) MD_WUR;

#endif
