/* pg_workflow.h - the case workflow on PostgreSQL (private to store/): the
 * twin of reports.c's md_report_transition (read_state, apply_step, merge
 * checks, deadlines from the calendar, parked clocks, accepted corrections
 * with their facility history), of md__facility_history and of the facility
 * reads a correction's intake makes. Same contracts
 * (reports.h, store_int.h); the SQLite functions dispatch here at their top.
 */
#ifndef MD_PG_WORKFLOW_H
#define MD_PG_WORKFLOW_H

#include "calendar.h"
#include "reports.h"
#include "tokens.h"

struct md_pg;

/* reports.c's apply_step on a PostgreSQL store `s`: one workflow step of
 * report `id`, inside the caller's write transaction. */
md_err md__pg_apply_step(struct md_store *s, const struct md_calendar *cal, int64_t id,
                         const struct md_step *step, const struct md_principal *who, int64_t now,
                         int offset_min, json_t **report_out, struct md_ctx *ctx) MD_WUR;
md_err md__pg_facility_history(struct md_pg *pg, int64_t facility_id, int64_t report_id,
                               json_t *before, json_t *after, const struct md_principal *who,
                               int64_t now, struct md_ctx *ctx) MD_WUR;

/* reports.c's md_facility_point and md_facility_category_check (what a
 * correction's intake reads). */
md_err md__pg_facility_point(struct md_pg *pg, int64_t id, double *lon, double *lat,
                             struct md_ctx *ctx) MD_WUR;
md_err md__pg_facility_category_check(struct md_pg *pg, const char *code,
                                      struct md_ctx *ctx) MD_WUR;

#endif
