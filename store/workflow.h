/* workflow.h - the case workflow of SPEC §4 as data (the 数字城管 closed loop).
 *
 * Pure functions over a table of actions: which states an action leaves
 * from, where it goes, and which roles may take it. store/reports.c applies
 * a step to the database; nothing else decides whether a step is allowed.
 */
#ifndef MD_WORKFLOW_H
#define MD_WORKFLOW_H

#include "md_err.h"
#include "tokens.h"
#include <stdbool.h>

#define MD_STATUS_MAX 16

/* Every status a report can be in (the CHECK list of reports.status). */
extern const char *const md_report_statuses[];
extern const size_t md_report_status_count;

struct md_action {
    const char *name;        /* "accept", ... */
    const char *const *from; /* NULL-terminated list of statuses */
    const char *to;          /* NULL = back to parked_from (resume) */
    unsigned roles;          /* bit (1 << enum md_role) per allowed role */
    const char *label_zh;    /* 立案, 派遣, ... */
};

/* The action named `name`, or NULL. */
const struct md_action *md_workflow_action(const char *name);
/* The action table, for listing (NULL-terminated by name). */
const struct md_action *md_workflow_actions(size_t *n);
/* True for every status except closed and rejected (Open311 "open"). */
bool md_status_is_open(const char *status);
/* True for a known status name. */
bool md_status_valid(const char *status);
/* The one definition of overdue, used by tiles, the API, stats and the
 * overdue timer: the case is with a unit (dispatched or in_progress: the
 * deadline clock runs from dispatch; handled waits on the centre, parked is
 * suspended) and its deadline has passed. has_expected false: no deadline.
 * The SQL form, for filters over the table: MD_SQL_OVERDUE(now). */
bool md_workflow_overdue(const char *status, bool has_expected, int64_t expected_at, int64_t now);
#define MD_SQL_OVERDUE(now)                                                                        \
    "(r.status IN ('dispatched', 'in_progress') AND r.expected_at < " now ")"

/* Decide one step. On success *to is the new status (parked_from for
 * resume). Fails with MD_EINVAL for an unknown action, MD_EFORBID when the
 * role may not take it, MD_ECONFLICT when the report's status does not
 * allow it - each with a message naming action, role and status. */
md_err md_workflow_step(const char *action, enum md_role role, const char *status,
                        const char *parked_from, const char **to, struct md_ctx *ctx) MD_WUR;

#endif
