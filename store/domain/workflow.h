/* workflow.h - the case workflow of SPEC §4 as data (the 数字城管 closed loop).
 *
 * Pure functions over a table of actions: which states an action leaves
 * from, where it goes, and which roles may take it. store/domain/reports.c applies
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

/* What a step does besides moving the status: store/domain/reports.c and
 * store/domain/units.c apply these flags; no code tests an action's name. */
enum md_action_effect {
    MD_FX_DEADLINE = 1 << 0,     /* start the deadline clock (the category's limit) */
    MD_FX_RESUME_CLOCK = 1 << 1, /* push the deadline by the working time parked */
    MD_FX_PARK = 1 << 2,         /* remember the status left (parked_from) */
    MD_FX_CORRECTION = 1 << 3,   /* a map correction's change is applied to the facility */
    MD_FX_MERGE = 1 << 4,        /* into = the report this one duplicates */
    MD_FX_ASSIGN = 1 << 5,       /* may name a unit and an officer (the case's assignment) */
};

struct md_action {
    const char *name;        /* "accept", ... */
    const char *const *from; /* NULL-terminated list of statuses */
    const char *to;          /* NULL = back to parked_from (resume) */
    unsigned roles;          /* bit (1 << enum md_role) per allowed role */
    const char *label_zh;    /* 立案, 派遣, ... */
    unsigned effects;        /* enum md_action_effect bits */
};
/* The effects of action `name` (0 for an unknown one). */
unsigned md_workflow_effects(const char *name);

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

/* The intake policy: which role may file which kind of report through
 * which channel, and the defaults - for the JSON API, Open311 and the
 * corrections endpoint alike. */
enum md_intake_route {
    MD_INTAKE_API,        /* POST /api/v1/reports: kind and channel may be asked for */
    MD_INTAKE_OPEN311,    /* Open311 requests: a problem, channel open311 */
    MD_INTAKE_CORRECTION, /* POST /api/v1/facilities/{id}/corrections: a correction, by app */
};
struct md_intake {
    const char *kind;    /* problem, incident or correction (static) */
    const char *channel; /* app, web, hotline, patrol or open311 (static or the asked one) */
};
/* Decide kind and channel for a report filed by `role` through `route`;
 * kind and channel are what the request asked for (NULL: the default),
 * missing_facility whether its category is MD_MISSING_FACILITY_CODE (filed
 * as a correction through the JSON API; Open311 files problems only). MD_EINVAL for an unknown kind or channel, MD_EFORBID
 * when the role may not use it; messages name what was wrong. */
md_err md_intake_decide(enum md_role role, enum md_intake_route route, bool missing_facility,
                        const char *kind, const char *channel, struct md_intake *out,
                        struct md_ctx *ctx) MD_WUR;

#endif
