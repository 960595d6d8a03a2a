/* The workflow table: every allowed step for its roles, everything else refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "workflow.h"

struct allowed {
    const char *action, *from, *to;
    unsigned roles; /* bit per enum md_role */
};

#define C ((1u << MD_ROLE_CENTRE) | (1u << MD_ROLE_ADMIN))
#define O ((1u << MD_ROLE_OFFICER) | (1u << MD_ROLE_ADMIN))
#define P (1u << MD_ROLE_PUBLIC) /* the reporter, with the follow-up token */

/* SPEC §4 written out independently of workflow.c's table. */
static const struct allowed spec[] = {
    {"accept", "reported", "filed", C},         {"reject", "reported", "rejected", C},
    {"dispatch", "filed", "dispatched", C},     {"start", "dispatched", "in_progress", O},
    {"report_back", "in_progress", "handled", O}, {"rework", "handled", "dispatched", C},
    {"verify", "handled", "closed", C},         {"park", "reported", "parked", C},
    {"park", "filed", "parked", C},             {"park", "dispatched", "parked", C},
    {"park", "in_progress", "parked", C},       {"park", "handled", "parked", C},
    {"resume", "parked", "dispatched", C},      {"merge", "reported", "closed", C},
    {"merge", "filed", "closed", C},            {"merge", "dispatched", "closed", C},
    {"merge", "in_progress", "closed", C},      {"merge", "handled", "closed", C},
    {"withdraw", "reported", "rejected", P},    {"withdraw", "filed", "rejected", P},
    {"withdraw", "dispatched", "rejected", P},  {"withdraw", "in_progress", "rejected", P},
    {"withdraw", "parked", "rejected", P},
};

static const struct allowed *find(const char *action, const char *from)
{
    for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++)
        if (strcmp(spec[i].action, action) == 0 && strcmp(spec[i].from, from) == 0)
            return &spec[i];
    return NULL;
}

static void every_action_status_role(void **state)
{
    (void)state;
    size_t nact;
    const struct md_action *acts = md_workflow_actions(&nact);
    assert_int_equal(nact, 11);
    for (size_t a = 0; a < nact; a++) {
        for (size_t s = 0; s < md_report_status_count; s++) {
            const char *from = md_report_statuses[s];
            const struct allowed *want = find(acts[a].name, from);
            for (int r = 0; r < MD_ROLE__COUNT; r++) {
                struct md_ctx ctx;
                md_ctx_init(&ctx);
                const char *to = NULL;
                md_err rc = md_workflow_step(acts[a].name, (enum md_role)r, from, "dispatched",
                                             &to, &ctx);
                unsigned roles = 0; /* who may take this action from some state */
                for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++)
                    if (strcmp(spec[i].action, acts[a].name) == 0)
                        roles |= spec[i].roles;
                if (!((roles >> r) & 1)) {
                    assert_int_equal(rc, MD_EFORBID); /* role first: 403 */
                    assert_non_null(strstr(ctx.msg, md_role_name((enum md_role)r)));
                } else if (want) {
                    assert_int_equal(rc, MD_OK);
                    assert_string_equal(to, want->to);
                } else {
                    assert_int_equal(rc, MD_ECONFLICT); /* right role, wrong state: 409 */
                    assert_non_null(strstr(ctx.msg, from));
                }
            }
        }
    }
}

static void resume_returns_to_parked_from(void **state)
{
    (void)state;
    struct md_ctx ctx;
    const char *to;
    md_ctx_init(&ctx);
    assert_int_equal(md_workflow_step("resume", MD_ROLE_CENTRE, "parked", "in_progress", &to, &ctx), MD_OK);
    assert_string_equal(to, "in_progress");
    md_ctx_init(&ctx);
    assert_int_equal(md_workflow_step("resume", MD_ROLE_CENTRE, "parked", NULL, &to, &ctx), MD_ECONFLICT);
    md_ctx_init(&ctx);
    assert_int_equal(md_workflow_step("resume", MD_ROLE_CENTRE, "parked", "closed", &to, &ctx), MD_ECONFLICT);
}

static void unknown_action_and_citizens(void **state)
{
    (void)state;
    struct md_ctx ctx;
    const char *to;
    md_ctx_init(&ctx);
    assert_int_equal(md_workflow_step("delete", MD_ROLE_ADMIN, "reported", NULL, &to, &ctx), MD_EINVAL);
    assert_non_null(strstr(ctx.msg, "delete"));
    md_ctx_init(&ctx);
    assert_int_equal(md_workflow_step("accept", MD_ROLE_PUBLIC, "reported", NULL, &to, &ctx), MD_EFORBID);
    assert_string_equal(ctx.msg, "the public role may not accept a report");
    md_ctx_init(&ctx);
    assert_int_equal(md_workflow_step("verify", MD_ROLE_CENTRE, "closed", NULL, &to, &ctx), MD_ECONFLICT);
    assert_string_equal(ctx.msg, "cannot verify a report that is closed");
    assert_true(md_status_is_open("parked"));
    assert_false(md_status_is_open("rejected"));
}

/* Side effects come from the table: each flag on exactly the actions that have it. */
static void effects_are_in_the_table(void **state)
{
    (void)state;
    assert_int_equal(md_workflow_effects("dispatch"), MD_FX_DEADLINE | MD_FX_ASSIGN);
    assert_int_equal(md_workflow_effects("rework"), MD_FX_ASSIGN);
    assert_int_equal(md_workflow_effects("park"), MD_FX_PARK);
    assert_int_equal(md_workflow_effects("resume"), MD_FX_RESUME_CLOCK);
    assert_int_equal(md_workflow_effects("merge"), MD_FX_MERGE);
    assert_int_equal(md_workflow_effects("accept"), MD_FX_CORRECTION);
    assert_int_equal(md_workflow_effects("verify"), 0);
    assert_int_equal(md_workflow_effects("no-such"), 0);
}

static void expect_intake(enum md_role role, enum md_intake_route route, bool missing,
                          const char *kind, const char *channel, md_err want_rc,
                          const char *want_kind, const char *want_channel, const char *message)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_intake in = {0};
    assert_int_equal(md_intake_decide(role, route, missing, kind, channel, &in, &ctx), want_rc);
    if (want_rc) {
        assert_string_equal(md_ctx_message(&ctx), message);
        return;
    }
    assert_string_equal(in.kind, want_kind);
    assert_string_equal(in.channel, want_channel);
}

/* Who may file what through which channel, and the defaults. */
static void intake_policy(void **state)
{
    (void)state;
    expect_intake(MD_ROLE_PUBLIC, MD_INTAKE_API, false, NULL, NULL, MD_OK, "problem", "app", NULL);
    expect_intake(MD_ROLE_OFFICER, MD_INTAKE_API, false, NULL, NULL, MD_OK, "incident", "patrol",
                  NULL);
    expect_intake(MD_ROLE_CENTRE, MD_INTAKE_API, false, NULL, NULL, MD_OK, "problem", "hotline",
                  NULL);
    expect_intake(MD_ROLE_PUBLIC, MD_INTAKE_API, false, "problem", "web", MD_OK, "problem", "web",
                  NULL);
    expect_intake(MD_ROLE_PUBLIC, MD_INTAKE_API, false, "incident", NULL, MD_EFORBID, NULL, NULL,
                  "only officers file incidents (the public role may not)");
    expect_intake(MD_ROLE_PUBLIC, MD_INTAKE_API, false, NULL, "patrol", MD_EFORBID, NULL, NULL,
                  "channel patrol is for staff tokens");
    expect_intake(MD_ROLE_CENTRE, MD_INTAKE_API, false, NULL, "fax", MD_EINVAL, NULL, NULL,
                  "channel must be app, web, hotline or patrol");
    expect_intake(MD_ROLE_PUBLIC, MD_INTAKE_API, false, "correction", NULL, MD_EINVAL, NULL, NULL,
                  "kind must be problem or incident");
    expect_intake(MD_ROLE_PUBLIC, MD_INTAKE_API, true, NULL, NULL, MD_OK, "correction", "app",
                  NULL);
    expect_intake(MD_ROLE_PUBLIC, MD_INTAKE_API, true, "problem", NULL, MD_EINVAL, NULL, NULL,
                  "category 900004 is a map correction: kind must be correction");
    /* Open311 and the corrections endpoint: no choice. */
    expect_intake(MD_ROLE_OFFICER, MD_INTAKE_OPEN311, false, NULL, NULL, MD_OK, "problem",
                  "open311", NULL);
    expect_intake(MD_ROLE_PUBLIC, MD_INTAKE_CORRECTION, false, NULL, NULL, MD_OK, "correction",
                  "app", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(every_action_status_role),
                                       cmocka_unit_test(resume_returns_to_parked_from),
                                       cmocka_unit_test(unknown_action_and_citizens),
                                       cmocka_unit_test(effects_are_in_the_table),
                                       cmocka_unit_test(intake_policy)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
