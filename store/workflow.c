/* workflow.c - the report state machine (SPEC §4).
 *
 *   reported ─accept─▶ filed ─dispatch─▶ dispatched ─start─▶ in_progress ─report_back─▶ handled
 *      │                                    ▲                                            │
 *    reject                                 └──────────────── rework ────────────────────┤
 *      ▼                                                                               verify
 *   rejected                                                                             ▼
 *                                                                                      closed
 *   any open state ─park─▶ parked ─resume─▶ the state it was parked from
 *   any open state ─merge─▶ closed (a duplicate, merged_into = the original)
 *   reported, filed, dispatched, in_progress, parked ─withdraw─▶ rejected
 *
 * Roles: the centre (and admin) accepts, rejects, dispatches, reworks,
 * verifies, parks, resumes and merges; officers (and admin) start and report
 * back. Citizens and apps create reports; the one move a citizen makes is
 * withdrawing their own report (role public, proven by the report's
 * follow-up token in citizen_api.c; the transitions endpoint lets no public
 * caller in). Invariant
 * kept by reports.c: every step is one history row, never rewritten.
 */
#include "workflow.h"

#include <string.h>

#define R(role) (1u << (role))
#define CENTRE (R(MD_ROLE_CENTRE) | R(MD_ROLE_ADMIN))
#define OFFICER (R(MD_ROLE_OFFICER) | R(MD_ROLE_ADMIN))
#define REPORTER R(MD_ROLE_PUBLIC)

const char *const md_report_statuses[] = {"reported", "filed",  "dispatched", "in_progress",
                                          "handled",  "closed", "rejected",   "parked"};
const size_t md_report_status_count = sizeof(md_report_statuses) / sizeof(md_report_statuses[0]);

static const char *const from_reported[] = {"reported", NULL};
static const char *const from_filed[] = {"filed", NULL};
static const char *const from_dispatched[] = {"dispatched", NULL};
static const char *const from_in_progress[] = {"in_progress", NULL};
static const char *const from_handled[] = {"handled", NULL};
static const char *const from_parked[] = {"parked", NULL};
static const char *const from_open[] = {"reported", "filed", "dispatched", "in_progress",
                                        "handled", NULL};
static const char *const from_unhandled[] = {"reported", "filed", "dispatched", "in_progress",
                                             "parked", NULL};

static const struct md_action actions[] = {
    {"accept", from_reported, "filed", CENTRE, "立案"},
    {"reject", from_reported, "rejected", CENTRE, "不予立案"},
    {"dispatch", from_filed, "dispatched", CENTRE, "派遣"},
    {"start", from_dispatched, "in_progress", OFFICER, "处置"},
    {"report_back", from_in_progress, "handled", OFFICER, "反馈"},
    {"rework", from_handled, "dispatched", CENTRE, "返工"},
    {"verify", from_handled, "closed", CENTRE, "核查结案"},
    {"park", from_open, "parked", CENTRE, "挂账"},
    {"resume", from_parked, NULL, CENTRE, "恢复"},
    {"merge", from_open, "closed", CENTRE, "合并"},
    {"withdraw", from_unhandled, "rejected", REPORTER, "撤销"},
};
#define NACTIONS (sizeof(actions) / sizeof(actions[0]))

const struct md_action *md_workflow_action(const char *name)
{
    for (size_t i = 0; name && i < NACTIONS; i++)
        if (strcmp(actions[i].name, name) == 0)
            return &actions[i];
    return NULL;
}

const struct md_action *md_workflow_actions(size_t *n)
{
    *n = NACTIONS;
    return actions;
}

bool md_status_is_open(const char *status)
{
    return status && strcmp(status, "closed") != 0 && strcmp(status, "rejected") != 0;
}

bool md_workflow_overdue(const char *status, bool has_expected, int64_t expected_at, int64_t now)
{
    return has_expected && expected_at < now && status &&
           (strcmp(status, "dispatched") == 0 || strcmp(status, "in_progress") == 0);
}

bool md_status_valid(const char *status)
{
    for (size_t i = 0; status && i < md_report_status_count; i++)
        if (strcmp(md_report_statuses[i], status) == 0)
            return true;
    return false;
}

static bool listed(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

md_err md_workflow_step(const char *action, enum md_role role, const char *status,
                        const char *parked_from, const char **to, struct md_ctx *ctx)
{
    const struct md_action *a = md_workflow_action(action);
    if (!a)
        return md_fail(ctx, MD_EINVAL,
                       "action must be one of accept, reject, dispatch, start, report_back,"
                       " rework, verify, park, resume, merge (withdraw: the reporter); got '%.40s'",
                       action ? action : "");
    if (!(a->roles & R(role)))
        return md_fail(ctx, MD_EFORBID, "the %s role may not %s a report", md_role_name(role),
                       a->name);
    if (!status || !listed(a->from, status))
        return md_fail(ctx, MD_ECONFLICT, "cannot %s a report that is %s", a->name,
                       status ? status : "unknown");
    if (a->to) {
        *to = a->to;
        return MD_OK;
    }
    if (!parked_from || !md_status_is_open(parked_from) || strcmp(parked_from, "parked") == 0)
        return md_fail(ctx, MD_ECONFLICT, "the report has no state to resume to");
    *to = parked_from;
    return MD_OK;
}
