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
#include "reports.h"

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
    {"accept", from_reported, "filed", CENTRE, "立案", MD_FX_CORRECTION},
    {"reject", from_reported, "rejected", CENTRE, "不予立案", 0},
    {"dispatch", from_filed, "dispatched", CENTRE, "派遣", MD_FX_DEADLINE | MD_FX_ASSIGN},
    {"start", from_dispatched, "in_progress", OFFICER, "处置", 0},
    {"report_back", from_in_progress, "handled", OFFICER, "反馈", 0},
    {"rework", from_handled, "dispatched", CENTRE, "返工", MD_FX_ASSIGN},
    {"verify", from_handled, "closed", CENTRE, "核查结案", 0},
    {"park", from_open, "parked", CENTRE, "挂账", MD_FX_PARK},
    {"resume", from_parked, NULL, CENTRE, "恢复", MD_FX_RESUME_CLOCK},
    {"merge", from_open, "closed", CENTRE, "合并", MD_FX_MERGE},
    {"withdraw", from_unhandled, "rejected", REPORTER, "撤销", 0},
};
#define NACTIONS (sizeof(actions) / sizeof(actions[0]))

const struct md_action *md_workflow_action(const char *name)
{
    for (size_t i = 0; name && i < NACTIONS; i++)
        if (strcmp(actions[i].name, name) == 0)
            return &actions[i];
    return NULL;
}

unsigned md_workflow_effects(const char *name)
{
    const struct md_action *a = md_workflow_action(name);
    return a ? a->effects : 0;
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

/* ---- intake */

static bool is_staff(enum md_role r)
{
    return r == MD_ROLE_OFFICER || r == MD_ROLE_CENTRE || r == MD_ROLE_ADMIN;
}

/* Channels a report may be filed through by the JSON API; staff_only: by
 * officers, the centre and admins only. (open311 is Open311's own.) */
static const struct {
    const char *name;
    bool staff_only;
} channels[] = {{"app", false}, {"web", false}, {"hotline", true}, {"patrol", true}};

static md_err intake_kind(enum md_role role, bool missing_facility, const char *kind,
                          const char **out, struct md_ctx *ctx)
{
    if (missing_facility) { /* a facility missing from the map: filed by place */
        if (kind && strcmp(kind, "correction") != 0)
            return md_fail(ctx, MD_EINVAL, "category %s is a map correction: kind must be"
                                           " correction",
                           MD_MISSING_FACILITY_CODE);
        *out = "correction";
        return MD_OK;
    }
    if (!kind)
        kind = role == MD_ROLE_OFFICER ? "incident" : "problem";
    if (strcmp(kind, "problem") == 0)
        *out = "problem";
    else if (strcmp(kind, "incident") == 0)
        *out = "incident";
    else
        return md_fail(ctx, MD_EINVAL, "kind must be problem or incident");
    if (strcmp(*out, "incident") == 0 && !is_staff(role))
        return md_fail(ctx, MD_EFORBID, "only officers file incidents (the %s role may not)",
                       md_role_name(role));
    return MD_OK;
}

md_err md_intake_decide(enum md_role role, enum md_intake_route route, bool missing_facility,
                        const char *kind, const char *channel, struct md_intake *out,
                        struct md_ctx *ctx)
{
    if (route == MD_INTAKE_OPEN311) {
        /* A problem always (a correction sent there is refused by its category). */
        *out = (struct md_intake){"problem", "open311"};
        return MD_OK;
    }
    if (route == MD_INTAKE_CORRECTION) {
        *out = (struct md_intake){"correction", "app"};
        return MD_OK;
    }
    md_err rc = intake_kind(role, missing_facility, kind, &out->kind, ctx);
    if (rc)
        return rc;
    out->channel = channel                            ? channel
                   : strcmp(out->kind, "incident") == 0 ? "patrol"
                   : role == MD_ROLE_CENTRE             ? "hotline"
                                                        : "app";
    for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
        if (strcmp(channels[i].name, out->channel) != 0)
            continue;
        if (channels[i].staff_only && !is_staff(role))
            return md_fail(ctx, MD_EFORBID, "channel %s is for staff tokens", out->channel);
        return MD_OK;
    }
    return md_fail(ctx, MD_EINVAL, "channel must be app, web, hotline or patrol");
}
