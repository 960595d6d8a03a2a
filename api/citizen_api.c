/* citizen_api.c - a citizen and an existing report (store/citizen.h).
 *
 *   POST /api/v1/reports/{id}/supporters   {device} -> 201 {report_id, supporters}
 *                                           "me too": once per device token (409 again),
 *                                           open reports only (409 when closed)
 *
 * Supports share the per-address rate limit of report creates, so one
 * client cannot inflate a count faster than it could file reports.
 */
#include "citizen.h"
#include "json_body.h"
#include "md_time.h"
#include "params.h"
#include "reports_int.h"

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

md_err md__citizen_post(struct md_call *c, int64_t id, const char *what)
{
    if (strcmp(what, "supporters") == 0)
        return support(c, id);
    return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
}
