/* webhooks_api.c - apps and the 12345 hotline system subscribe to report
 * events (store/domain/webhooks.h; deliveries: webhook_sender.c).
 *
 *   POST   /api/v1/webhooks                  {url, secret?, report?, district?, category?,
 *                                            status?} -> 201 with the secret (only here)
 *   GET    /api/v1/webhooks                  the caller's webhooks (admin: all)
 *   GET    /api/v1/webhooks/{id}             one
 *   DELETE /api/v1/webhooks/{id}             delete it and its delivery log
 *   GET    /api/v1/webhooks/{id}/deliveries  the delivery log, newest first (limit=)
 *
 * Who: a token of role app, centre or admin with the scope webhook:manage;
 * a webhook belongs to the token that made it (admins see and delete
 * every one). The filter has the semantics and the checks of GET
 * /api/v1/events: category and status are comma lists of known codes.
 */
#include "json_body.h"
#include "md_time.h"
#include "params.h"
#include "queries.h"
#include "reports_int.h"
#include "webhooks.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MIN 16
#define SECRET_BYTES 32
#define LOG_LIMIT_DEFAULT 100
#define LOG_LIMIT_MAX 1000

static int offset(struct md_call *c)
{
    return c->api->reports ? c->api->reports->offset_min : 480;
}

/* The caller; *owner is the token whose webhooks it sees (0 = all: admin). */
static md_err manager(struct md_call *c, struct md_principal *who, int64_t *owner)
{
    md_err rc = md__auth_bearer(c, who);
    if (!rc && who->role == MD_ROLE_PUBLIC)
        rc = md_fail(c->ctx, MD_EUNAUTH,
                     "webhooks need an app, centre or admin token (Authorization: Bearer)");
    if (!rc && who->role != MD_ROLE_APP && who->role != MD_ROLE_CENTRE &&
        who->role != MD_ROLE_ADMIN)
        rc = md_fail(c->ctx, MD_EFORBID, "only apps, the centre and admins manage webhooks");
    if (!rc)
        rc = md_principal_scope(who, MD_SCOPE_WEBHOOK, c->ctx);
    if (!rc)
        *owner = who->role == MD_ROLE_ADMIN ? 0 : who->token_id;
    return rc;
}

/* http:// or https:// with a host, printable, at most MD_WEBHOOK_URL_MAX
 * bytes - parsed by libcurl's URL parser, the one that will send to it. */
static md_err check_url(struct md_call *c, const char *url)
{
    md_err rc = md__check_media_url(c, "url", url);
    if (rc)
        return rc;
    if (strlen(url) > MD_WEBHOOK_URL_MAX)
        return md_fail(c->ctx, MD_EINVAL, "url is longer than %d bytes", MD_WEBHOOK_URL_MAX);
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    if (!u)
        return md_fail(c->ctx, MD_ENOMEM, "url");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0] ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        rc = md_fail(c->ctx, MD_EINVAL, "url is not an http:// or https:// URL with a host");
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static md_err check_secret(struct md_call *c, const char *secret)
{
    size_t n = strlen(secret);
    if (n < SECRET_MIN || n > MD_WEBHOOK_SECRET_MAX)
        return md_fail(c->ctx, MD_EINVAL, "secret must be %d to %d characters", SECRET_MIN,
                       MD_WEBHOOK_SECRET_MAX);
    for (const unsigned char *p = (const unsigned char *)secret; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return md_fail(c->ctx, MD_EINVAL, "secret must be printable ASCII without spaces");
    return MD_OK;
}

/* "whsec_" + 64 hex digits of getrandom() bytes. */
static md_err new_secret(struct md_call *c, char out[80])
{
    unsigned char raw[SECRET_BYTES];
    md_err rc = md_random_bytes(raw, sizeof(raw), c->ctx);
    if (rc)
        return rc;
    memcpy(out, "whsec_", 6);
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 6 + 2 * i, 3, "%02x", raw[i]);
    return MD_OK;
}

/* The filter members of the body, checked as GET /api/v1/events checks its
 * parameters (known district and categories, statuses of the workflow). */
static md_err parse_filter(struct md_call *c, json_t *body, struct md_webhook_input *in)
{
    bool has_report = false;
    md_err rc = md__body_int(c, body, "report", false, 1, INT64_MAX, &in->report_id, &has_report);
    if (!rc)
        rc = md__body_str(c, body, "district", false, 15, &in->district);
    if (!rc)
        rc = md__body_str(c, body, "category", false, 255, &in->categories);
    if (!rc)
        rc = md__body_str(c, body, "status", false, 159, &in->statuses);
    if (!rc)
        rc = md__check_statuses(c, MD_LAYER_REPORTS, in->statuses);
    struct md_query_filter known = {.category = in->categories, .district = in->district};
    if (!rc)
        rc = md__check_filter(c, MD_LAYER_REPORTS, &known);
    if (!rc && has_report) {
        json_t *r = NULL;
        rc = md_report_get(c->w->store, in->report_id, md_time_now(), offset(c), &r, c->ctx);
        json_decref(r);
        if (rc == MD_ENOTFOUND) {
            md_ctx_clear(c->ctx);
            rc = md_fail(c->ctx, MD_EINVAL, "report %lld does not exist", (long long)in->report_id);
        }
    }
    return rc;
}

static md_err create(struct md_call *c)
{
    static const char *const allowed[] = {"url",      "secret", "report", "district",
                                          "category", "status", NULL};
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    struct md_principal who;
    struct md_webhook_input in = {0};
    json_t *body = NULL, *out = NULL;
    char secret[80];
    int64_t owner = 0, id = 0;
    md_err rc = manager(c, &who, &owner);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the webhook", allowed);
    if (!rc)
        rc = md__body_str(c, body, "url", true, MD_WEBHOOK_URL_MAX, &in.url);
    if (!rc)
        rc = check_url(c, in.url);
    if (!rc)
        rc = md__body_str(c, body, "secret", false, MD_WEBHOOK_SECRET_MAX, &in.secret);
    if (!rc && in.secret)
        rc = check_secret(c, in.secret);
    if (!rc && !in.secret && !(rc = new_secret(c, secret)))
        in.secret = secret;
    if (!rc)
        rc = parse_filter(c, body, &in);
    if (!rc) {
        in.owner_token_id = who.token_id;
        rc = md_webhook_create(c->w->store, &in, md_time_now(), &id, c->ctx);
    }
    if (!rc)
        rc = md_webhook_get(c->w->store, id, 0, offset(c), &out, c->ctx);
    if (!rc) /* the only time the secret is shown */
        json_object_set_new(out, "secret", json_string(in.secret));
    json_decref(body);
    if (rc)
        return rc;
    char loc[64];
    snprintf(loc, sizeof(loc), "/api/v1/webhooks/%lld", (long long)id);
    MD_IGNORE(md_response_header(c->res, c->req->pool, "Location", loc));
    return md__send_json(c, 201, out);
}

static md_err list(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    struct md_principal who;
    int64_t owner = 0;
    json_t *arr = NULL;
    md_err rc = manager(c, &who, &owner);
    if (!rc)
        rc = md_webhook_list(c->w->store, owner, offset(c), &arr, c->ctx);
    return rc ? rc : md__send_json(c, 200, json_pack("{s:o}", "webhooks", arr));
}

/* {id} or {id}/deliveries of the path tail; 404 for anything else. */
static md_err parse_tail(struct md_call *c, int64_t *id, bool *deliveries)
{
    const char *t = c->tail;
    size_t n = strcspn(t, "/");
    char buf[24];
    *deliveries = strcmp(t + n, "/deliveries") == 0;
    if (n == 0 || n >= sizeof(buf) || strspn(t, "0123456789") < n || (t[n] && !*deliveries))
        return md_fail(c->ctx, MD_ENOTFOUND, "no webhook %.*s", (int)(n > 20 ? 20 : n), t);
    memcpy(buf, t, n);
    buf[n] = '\0';
    *id = strtoll(buf, NULL, 10);
    return *id > 0 ? MD_OK : md_fail(c->ctx, MD_ENOTFOUND, "no webhook %s", buf);
}

static md_err get(struct md_call *c)
{
    static const char *const log_params[] = {"limit", NULL};
    struct md_principal who;
    int64_t owner = 0, id = 0, limit = LOG_LIMIT_DEFAULT;
    bool deliveries = false;
    json_t *out = NULL;
    md_err rc = parse_tail(c, &id, &deliveries);
    if (!rc)
        rc = md__params_only(c, deliveries ? log_params : NULL);
    if (!rc && deliveries)
        rc = md__param_int(c, "limit", false, 1, LOG_LIMIT_MAX, &limit);
    if (!rc)
        rc = manager(c, &who, &owner);
    if (rc)
        return rc;
    if (!deliveries) {
        rc = md_webhook_get(c->w->store, id, owner, offset(c), &out, c->ctx);
        return rc ? rc : md__send_json(c, 200, out);
    }
    rc = md_webhook_deliveries(c->w->store, id, owner, (int)limit, offset(c), &out, c->ctx);
    return rc ? rc
              : md__send_json(c, 200,
                              json_pack("{sI s:o}", "webhook", (json_int_t)id, "deliveries", out));
}

static md_err delete_hook(struct md_call *c)
{
    struct md_principal who;
    int64_t owner = 0, id = 0;
    bool deliveries = false;
    md_err rc = parse_tail(c, &id, &deliveries); /* the router routes only {id} here */
    if (!rc)
        rc = md__params_only(c, NULL);
    if (!rc)
        rc = manager(c, &who, &owner);
    if (!rc)
        rc = md_webhook_delete(c->w->store, id, owner, c->ctx);
    if (rc)
        return rc;
    return md__send_no_content(c);
}

const struct md_route md__webhooks_routes[] = {
    {"POST", "/api/v1/webhooks", false, create, "webhooks_create", NULL},
    {"GET", "/api/v1/webhooks", false, list, "webhooks_list", NULL},
    {"GET", "/api/v1/webhooks/", true, get, "webhooks_get", "* */deliveries"},
    {"DELETE", "/api/v1/webhooks/", true, delete_hook, "webhooks_delete", "*"},
};
const size_t md__webhooks_routes_count =
    sizeof(md__webhooks_routes) / sizeof(md__webhooks_routes[0]);
