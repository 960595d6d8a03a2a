/* citizen_api.c - a citizen and an existing report (store/domain/citizen.h).
 *
 *   POST /api/v1/reports/{id}/supporters   {device} -> 201 {report_id, supporters}
 *                                           "me too": once per device token (409 again),
 *                                           open reports only (409 when closed)
 *   POST /api/v1/reports/{id}/comments     {token, text} -> 201 {report}
 *   POST /api/v1/reports/{id}/withdraw     {token, note?} -> 200 {report} (status rejected)
 *   POST /api/v1/reports/{id}/rating       {token, score: 1-5, comment?} -> 201 {report},
 *                                           once, when closed
 *
 * The last three are the reporter's: `token` is the follow-up token the
 * create answer gave (403 for any other). The token travels in the body,
 * never in a URL that logs and proxies keep.
 *
 * Supports share the per-address rate limit of report creates, so one
 * client cannot inflate a count faster than it could file reports.
 */
#include "citizen.h"
#include "json_body.h"
#include "md_time.h"
#include "params.h"
#include "reports_int.h"

#include <stdio.h>
#include <string.h>

static md_err support(struct md_call *c, int64_t id)
{
    static const char *const allowed[] = {"device", NULL};
    struct md_reports_state *st = c->api->reports;
    json_t *body = NULL;
    char hash[MD_SHA256_HEX_LEN];
    int64_t supporters = 0;
    md_err rc = md__rate_limit(c);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the support", allowed);
    if (!rc)
        rc = md__body_device_hash(c, body, hash);
    if (!rc)
        rc = md_report_support(c->w->store, id, hash, md_time_now(), st ? st->offset_min : 480,
                               &supporters, c->ctx);
    json_decref(body);
    if (rc)
        return rc;
    if (st)
        md__events_hub_notify(st->hub);
    return md__send_json(
        c, 201,
        json_pack("{sI sI}", "report_id", (json_int_t)id, "supporters", (json_int_t)supporters));
}

#define TEXT_MAX 1000

static int offset_min(struct md_call *c)
{
    return c->api->reports ? c->api->reports->offset_min : 480;
}

/* The body with only `allowed` fields and the follow-up token checked. */
static md_err reporter_body(struct md_call *c, int64_t id, const char *where,
                            const char *const *allowed, json_t **body)
{
    const char *token = NULL;
    md_err rc = md__rate_limit(c);
    if (!rc)
        rc = md__body_object(c, body);
    if (!rc)
        rc = md__body_only(c, *body, where, allowed);
    if (!rc)
        rc = md__body_str(c, *body, "token", true, 64, &token);
    if (!rc)
        rc = md_report_token_check(c->w->store, id, token, c->ctx);
    return rc;
}

static md_err answer(struct md_call *c, md_err rc, int status, json_t *report)
{
    if (rc) {
        json_decref(report);
        return rc;
    }
    md__consistency_header(c);
    if (c->api->reports)
        md__events_hub_notify(c->api->reports->hub);
    return md__send_json(c, status, json_pack("{s:o}", "report", report));
}

static md_err comment(struct md_call *c, int64_t id)
{
    static const char *const allowed[] = {"token", "text", NULL};
    json_t *body = NULL, *report = NULL;
    const char *text = NULL;
    md_err rc = reporter_body(c, id, "the comment", allowed, &body);
    if (!rc)
        rc = md__body_str(c, body, "text", true, TEXT_MAX, &text);
    if (!rc)
        rc = md_report_comment(c->w->store, id, json_string_value(json_object_get(body, "token")),
                               text, md_time_now(), offset_min(c), &report, c->ctx);
    json_decref(body);
    return answer(c, rc, 201, report);
}

static md_err withdraw(struct md_call *c, int64_t id)
{
    static const char *const allowed[] = {"token", "note", NULL};
    json_t *body = NULL, *report = NULL;
    const char *note = NULL;
    md_err rc = reporter_body(c, id, "the withdrawal", allowed, &body);
    if (!rc)
        rc = md__body_str(c, body, "note", false, TEXT_MAX, &note);
    if (!rc) {
        struct md_principal reporter;
        md_principal_public(&reporter);
        snprintf(reporter.actor, sizeof(reporter.actor), "reporter");
        struct md_step step = {.action = "withdraw",
                               .note = note ? note : "withdrawn by the reporter"};
        rc = md_report_transition(c->w->store, &c->api->reports->cal, id, &step, &reporter,
                                  md_time_now(), offset_min(c), &report, c->ctx);
    }
    json_decref(body);
    return answer(c, rc, 200, report);
}

static md_err rate(struct md_call *c, int64_t id)
{
    static const char *const allowed[] = {"token", "score", "comment", NULL};
    json_t *body = NULL, *report = NULL;
    const char *text = NULL;
    int64_t score = 0;
    md_err rc = reporter_body(c, id, "the rating", allowed, &body);
    if (!rc)
        rc = md__body_int(c, body, "score", true, 1, 5, &score, NULL);
    if (!rc)
        rc = md__body_str(c, body, "comment", false, TEXT_MAX, &text);
    if (!rc)
        rc = md_report_rate(c->w->store, id, json_string_value(json_object_get(body, "token")),
                            (int)score, text, md_time_now(), offset_min(c), &report, c->ctx);
    json_decref(body);
    return answer(c, rc, 201, report);
}

md_err md__citizen_post(struct md_call *c, int64_t id, const char *what)
{
    if (strcmp(what, "supporters") == 0)
        return support(c, id);
    if (!c->api->reports)
        return md_fail(c->ctx, MD_EBUSY, "this server has no reports state");
    if (strcmp(what, "comments") == 0)
        return comment(c, id);
    if (strcmp(what, "withdraw") == 0)
        return withdraw(c, id);
    if (strcmp(what, "rating") == 0)
        return rate(c, id);
    if (strcmp(what, "photos") == 0)
        return md__photos_upload(c, id);
    return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
}
