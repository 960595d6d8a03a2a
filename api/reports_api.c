/* reports_api.c - the JSON API for reports under /api/v1/ (SPEC §6, §7).
 *
 *   POST /api/v1/reports                      create (citizens, apps, officers; also
 *                                             900004, a facility missing from the map)
 *   GET  /api/v1/reports                      list with filters
 *   GET  /api/v1/reports/{id}                 one report (public fields)
 *   GET  /api/v1/reports/{id}/history         its transitions, oldest first
 *   GET  /api/v1/reports/{id}/duplicates      open reports nearby, same category
 *   POST /api/v1/reports/{id}/transitions     a workflow step (token required)
 *   POST /api/v1/reports/{id}/supporters      "me too" (citizen_api.c)
 *   POST /api/v1/facilities/{id}/corrections  a map correction
 *   GET  /api/v1/events                       Server-Sent Events
 *   GET  /api/v1/categories                   the service codes
 *   GET  /api/v1/facility-categories          facility categories: names, map colours
 *
 * A create is checked here (the body's fields, the intake policy) and
 * handed to md__report_submit (report_intake.c), which Open311 shares.
 */
#include "json_body.h"
#include "md_text.h"
#include "md_time.h"
#include "overdue.h"
#include "params.h"
#include "queries.h"
#include "reports_int.h"
#include "pg_changefeed.h"
#include "units.h"
#include "workflow.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ADDRESS_MAX 500
#define NOTE_MAX 1000
#define MEDIA_MAX 10

/* The query parameters each route reads (md__params_only). */
static const char *const crs_params[] = {"crs", NULL};
static const char *const list_params[] = {
    "crs",  "status", "category", "district",       "kind",  "from",   "to",
    "updated_after", "updated_before", "bbox", "limit", "offset", "overdue", "sort", "after", NULL};
static const char *const events_params[] = {"last_event_id", "report", "district", "category",
                                            "status", NULL};

/* ---- JSON body fields ------------------------------------------------ */

static bool is_multipart(struct md_call *c)
{
    const char *ct = md_request_header(c->req, "Content-Type");
    while (ct && (*ct == ' ' || *ct == '\t'))
        ct++;
    return ct && strncasecmp(ct, "multipart/form-data", 19) == 0;
}

/* A multipart/form-data POST is one a browser sends from any site without
 * a preflight (why JSON bodies refuse forms, docs/hardening.md). So a
 * multipart create is taken from a web page only from this site: an Origin,
 * when given, must name the Host the request went to, --public-url, or an
 * origin of --cors-origin. Apps and curl send no Origin. */
static md_err form_origin(struct md_call *c)
{
    const char *origin = md_request_header(c->req, "Origin");
    const char *host = md_request_header(c->req, "Host");
    const char *pub = c->api->cfg->public_url;
    const char *cors = c->api->cfg->cors_origin;
    bool any = false;
    if (!origin)
        return MD_OK;
    const char *sep = strstr(origin, "://");
    size_t n = strlen(origin);
    if ((sep && host && strcasecmp(sep + 3, host) == 0) ||
        (pub && strncasecmp(pub, origin, n) == 0 && (!pub[n] || pub[n] == '/')) ||
        (cors && md__origin_listed(cors, origin, &any)))
        return MD_OK;
    return md_fail(c->ctx, MD_EFORBID,
                   "a multipart report from a web page is taken only from this site's pages"
                   " (Origin %.80s; see --cors-origin)",
                   origin);
}

/* The report's JSON object: the body, or the part "report" of a
 * multipart/form-data body (*m, caller frees; its photo parts are read by
 * md__report_submit). */
static md_err parse_body(struct md_call *c, json_t **out)
{
    return md__body_object(c, out);
}

static md_err report_body(struct md_call *c, struct md_multipart **m, json_t **out)
{
    if (!is_multipart(c))
        return md__body_object(c, out);
    md_err rc = form_origin(c);
    if (!rc)
        rc = md__multipart_body(c, m);
    if (rc)
        return rc;
    const struct md_part *r = md_multipart_get(*m, "report");
    if (!r)
        return md_fail(c->ctx, MD_EINVAL,
                       "a multipart report needs a part \"report\" holding the report's JSON");
    if (r->filename[0] ||
        (r->content_type[0] && strncasecmp(r->content_type, "application/json", 16) != 0))
        return md_fail(c->ctx, MD_EINVAL,
                       "the part \"report\" must be JSON text (Content-Type application/json or"
                       " none), not a file");
    return md__json_object(c, (const char *)r->data, r->len, "the part \"report\"", out);
}

static md_err only_fields(struct md_call *c, json_t *obj, const char *where,
                          const char *const *allowed)
{
    return md__body_only(c, obj, where, allowed);
}

static md_err field_str(struct md_call *c, json_t *obj, const char *key, bool required,
                        size_t max_chars, const char **out)
{
    return md__body_str(c, obj, key, required, max_chars, out);
}

static md_err field_lonlat(struct md_call *c, json_t *obj, enum md_crs crs, double *lon,
                           double *lat)
{
    json_t *x = json_object_get(obj, "lon"), *y = json_object_get(obj, "lat");
    if (!x)
        return md_fail(c->ctx, MD_EINVAL, "lon is required");
    if (!y)
        return md_fail(c->ctx, MD_EINVAL, "lat is required");
    if (!json_is_number(x))
        return md_fail(c->ctx, MD_EINVAL, "lon must be a number");
    if (!json_is_number(y))
        return md_fail(c->ctx, MD_EINVAL, "lat must be a number");
    *lon = json_number_value(x);
    *lat = json_number_value(y);
    if (!isfinite(*lon) || *lon < -180 || *lon > 180)
        return md_fail(c->ctx, MD_EINVAL, "lon %g is outside -180..180", *lon);
    if (!isfinite(*lat) || *lat < -90 || *lat > 90)
        return md_fail(c->ctx, MD_EINVAL, "lat %g is outside -90..90", *lat);
    md_crs_to_wgs84(crs, *lon, *lat, lon, lat);
    return MD_OK;
}

static bool phone_chars(const char *s)
{
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !strchr("+-() ", *s))
            return false;
    return true;
}

static md_err field_contact(struct md_call *c, json_t *obj, struct md_contact *out)
{
    static const char *const allowed[] = {"name", "phone", "email", "device_id", NULL};
    json_t *ct = json_object_get(obj, "contact");
    memset(out, 0, sizeof(*out));
    if (!ct || json_is_null(ct))
        return MD_OK;
    if (!json_is_object(ct))
        return md_fail(c->ctx, MD_EINVAL, "contact must be an object");
    md_err rc = only_fields(c, ct, "contact", allowed);
    if (!rc)
        rc = field_str(c, ct, "name", false, 100, &out->name);
    if (!rc)
        rc = field_str(c, ct, "phone", false, 32, &out->phone);
    if (!rc)
        rc = field_str(c, ct, "email", false, 254, &out->email);
    if (!rc)
        rc = field_str(c, ct, "device_id", false, 128, &out->device_id);
    if (!rc && out->phone && !phone_chars(out->phone))
        rc = md_fail(c->ctx, MD_EINVAL, "contact.phone may hold digits, spaces and + - ( ) only");
    if (!rc && out->email && (!strchr(out->email, '@') || strchr(out->email, ' ')))
        rc = md_fail(c->ctx, MD_EINVAL, "contact.email is not an e-mail address");
    return rc;
}

/* media_urls: array of http(s) URLs -> compact JSON text (caller frees). */
static md_err field_media(struct md_call *c, json_t *obj, char **out)
{
    json_t *m = json_object_get(obj, "media_urls");
    *out = NULL;
    if (!m || json_is_null(m))
        return MD_OK;
    if (!json_is_array(m))
        return md_fail(c->ctx, MD_EINVAL, "media_urls must be an array of URLs");
    if (json_array_size(m) > MEDIA_MAX)
        return md_fail(c->ctx, MD_EINVAL, "media_urls holds more than %d URLs", MEDIA_MAX);
    size_t i;
    json_t *u;
    json_array_foreach(m, i, u)
    {
        char what[48];
        snprintf(what, sizeof(what), "media_urls[%zu]", i);
        if (!json_is_string(u))
            return md_fail(c->ctx, MD_EINVAL, "%s must be a string", what);
        md_err rc = md__check_media_url(c, what, json_string_value(u));
        if (rc)
            return rc;
    }
    *out = json_dumps(m, MD_JSON_FLAGS);
    return *out ? MD_OK : md_fail(c->ctx, MD_ENOMEM, "media_urls");
}

/* ---- handlers -------------------------------------------------------- */

static md_err missing_facility_change(struct md_call *c, json_t *given, char **out);

static md_err create_report(struct md_call *c)
{
    md_err params_rc = md__params_only(c, crs_params);
    if (params_rc)
        return params_rc;
    static const char *const allowed[] = {
        "category", "lon",        "lat",  "description", "address",         "media_urls",
        "contact",  "attributes", "kind", "channel",     "proposed_change", NULL};
    struct md_principal who;
    struct md_report_input in = {0};
    struct md_multipart *m = NULL;
    json_t *body = NULL;
    char *media = NULL, *change = NULL;
    enum md_crs crs;
    const char *kind = NULL, *channel = NULL;
    md_err rc = md__auth_bearer(c, &who);
    if (!rc)
        rc = md_principal_scope(&who, MD_SCOPE_REPORT_CREATE, c->ctx);
    if (!rc)
        rc = md__param_crs(c, &crs);
    if (!rc)
        rc = report_body(c, &m, &body);
    if (!rc)
        rc = only_fields(c, body, "the report", allowed);
    if (!rc)
        rc = field_str(c, body, "category", true, 6, &in.service_code);
    if (!rc && (strlen(in.service_code) != 6 || strspn(in.service_code, "0123456789") != 6))
        rc = md_fail(c->ctx, MD_EINVAL, "category must be a 6-digit service code");
    if (!rc)
        rc = field_lonlat(c, body, crs, &in.lon, &in.lat);
    if (!rc)
        rc = field_str(c, body, "description", false, MD_DESCRIPTION_MAX, &in.description);
    if (!rc)
        rc = field_str(c, body, "address", false, ADDRESS_MAX, &in.address);
    if (!rc)
        rc = field_media(c, body, &media);
    if (!rc)
        rc = field_contact(c, body, &in.contact);
    if (!rc)
        rc = field_str(c, body, "kind", false, 16, &kind);
    if (!rc)
        rc = field_str(c, body, "channel", false, 16, &channel);
    if (rc)
        goto out;
    bool missing = strcmp(in.service_code, MD_MISSING_FACILITY_CODE) == 0;
    if (!missing && json_object_get(body, "proposed_change")) {
        rc = md_fail(c->ctx, MD_EINVAL,
                     "proposed_change is only for map corrections (category %s"
                     " here, or POST /api/v1/facilities/{id}/corrections)",
                     MD_MISSING_FACILITY_CODE);
        goto out;
    }
    struct md_intake intake;
    rc = md_intake_decide(who.role, MD_INTAKE_API, missing, kind, channel, &intake, c->ctx);
    if (!rc && missing) /* a facility missing from the map: filed by place, with the facility */
        rc = missing_facility_change(c, json_object_get(body, "proposed_change"), &change);
    if (rc)
        goto out;
    in.kind = intake.kind;
    in.channel = intake.channel;
    in.proposed_change = change;
    in.media_urls = media;
    in.client_addr = c->req->client_addr;
    in.actor_role = who.role;
    in.actor_id = who.actor;
    rc = md__report_submit(c, &in, json_object_get(body, "attributes"),
                           m ? &(struct md_photo_parts){m, "photo", 1} : NULL, MD_CREATED_JSON,
                           NULL);
out:
    free(m);
    free(media);
    free(change);
    json_decref(body);
    return rc;
}

static md_err parse_id(struct md_call *c, const char *text, size_t n, const char *what,
                       int64_t *out)
{
    char buf[24];
    if (n == 0 || n >= sizeof(buf))
        return md_fail(c->ctx, MD_ENOTFOUND, "no such %s: %.40s", what, text);
    memcpy(buf, text, n);
    buf[n] = '\0';
    struct md_ctx sub;
    md_ctx_init(&sub);
    if (md_parse_int64(buf, what, 1, INT64_MAX, out, &sub) || buf[0] == '+' || buf[0] == '-')
        return md_fail(c->ctx, MD_ENOTFOUND, "no such %s: %.40s", what, buf);
    return MD_OK;
}

/* The keyset cursor of a list page ("next"): "<created_at>.<id>" newest
 * first, "s<supporters>.<created_at>.<id>" most supported first. */
static void cursor_format(const struct md_report_key *k, bool by_supporters, char *out, size_t n)
{
    if (by_supporters)
        snprintf(out, n, "s%lld.%lld.%lld", (long long)k->supporters, (long long)k->created_at,
                 (long long)k->id);
    else
        snprintf(out, n, "%lld.%lld", (long long)k->created_at, (long long)k->id);
}

static md_err cursor_parse(struct md_call *c, const char *text, bool by_supporters,
                           struct md_report_key *k)
{
    int64_t v[3] = {0, 0, 0};
    int want = by_supporters ? 3 : 2, got = 0;
    const char *p = text + (by_supporters && *text == 's');
    if (by_supporters != (*text == 's'))
        return md_fail(c->ctx, MD_EINVAL, "after: this cursor is from the other sort order");
    while (got < want) {
        char part[24];
        size_t len = strcspn(p, ".");
        if (len == 0 || len >= sizeof(part))
            break;
        memcpy(part, p, len);
        part[len] = '\0';
        if (md_parse_int64(part, "after", 0, INT64_MAX, &v[got], c->ctx)) {
            md_ctx_clear(c->ctx);
            break;
        }
        got++;
        p += len;
        if (*p != '.')
            break;
        p++;
    }
    if (got != want || *p)
        return md_fail(c->ctx, MD_EINVAL,
                       "after must be the `next` cursor of a previous page of this list");
    *k = by_supporters ? (struct md_report_key){v[0], v[1], v[2]}
                       : (struct md_report_key){0, v[0], v[1]};
    return MD_OK;
}

static md_err list_reports(struct md_call *c)
{
    md_err params_rc = md__params_only(c, list_params);
    if (params_rc)
        return params_rc;
    struct md_reports_state *st = c->api->reports;
    struct md_report_filter f = {0};
    enum md_crs crs;
    int64_t limit = 100, offset = 0;
    bool present;
    const char *overdue = NULL, *sort = NULL, *after = NULL;
    struct md_report_key after_key, last = {0, 0, 0};
    md_err rc = md__param_crs(c, &crs);
    if (!rc)
        rc = md__param_str(c, "status", false, 200, &f.statuses);
    if (!rc)
        rc = md__param_str(c, "category", false, 700, &f.service_codes);
    if (!rc)
        rc = md__param_str(c, "district", false, 16, &f.district);
    if (!rc)
        rc = md__param_str(c, "kind", false, 16, &f.kind);
    if (!rc)
        rc = md__param_time(c, "from", &f.created_from, &present);
    if (!rc)
        rc = md__param_time_end(c, "to", &f.created_to, &present);
    if (!rc)
        rc = md__param_time(c, "updated_after", &f.updated_from, &present);
    if (!rc)
        rc = md__param_time_end(c, "updated_before", &f.updated_to, &present);
    if (!rc)
        rc = md__param_bbox(c, "bbox", &f.bbox, &f.has_bbox);
    if (!rc)
        rc = md__param_int(c, "limit", false, 1, c->api->cfg->max_query_limit, &limit);
    if (!rc)
        rc = md__param_int(c, "offset", false, 0, 100000000, &offset);
    if (!rc)
        rc = md__param_str(c, "overdue", false, 5, &overdue);
    if (!rc)
        rc = md__param_str(c, "sort", false, 16, &sort);
    if (!rc)
        rc = md__param_str(c, "after", false, 80, &after);
    if (rc)
        return rc;
    if (sort && strcmp(sort, "newest") != 0 && strcmp(sort, "supporters") != 0)
        return md_fail(c->ctx, MD_EINVAL, "sort must be newest or supporters");
    f.by_supporters = sort && strcmp(sort, "supporters") == 0;
    if (after && md__param(c, "offset"))
        return md_fail(c->ctx, MD_EINVAL, "after and offset exclude each other: page with one");
    if (after && (rc = cursor_parse(c, after, f.by_supporters, &after_key)))
        return rc;
    f.after = after ? &after_key : NULL;
    if (overdue && strcmp(overdue, "true") != 0 && strcmp(overdue, "false") != 0)
        return md_fail(c->ctx, MD_EINVAL, "overdue must be true or false");
    f.overdue = overdue && strcmp(overdue, "true") == 0;
    if ((rc = md__check_statuses(c, MD_LAYER_REPORTS, f.statuses)))
        return rc;
    if (f.kind && strcmp(f.kind, "problem") && strcmp(f.kind, "incident") &&
        strcmp(f.kind, "correction"))
        return md_fail(c->ctx, MD_EINVAL, "kind must be problem, incident or correction");
    /* Unknown codes are a 400, as in every other endpoint (not an empty list). */
    struct md_query_filter known = {.category = f.service_codes, .district = f.district};
    if ((rc = md__check_filter(c, MD_LAYER_REPORTS, &known)))
        return rc;
    f.limit = (int)limit;
    f.offset = (int)offset;
    if (f.has_bbox && crs != MD_CRS_WGS84) {
        md_crs_to_wgs84(crs, f.bbox.minx, f.bbox.miny, &f.bbox.minx, &f.bbox.miny);
        md_crs_to_wgs84(crs, f.bbox.maxx, f.bbox.maxy, &f.bbox.maxx, &f.bbox.maxy);
    }
    json_t *arr = NULL;
    rc = md_report_list_page(c->w->store, &f, md_time_now(), st->offset_min, &arr, &last, c->ctx);
    if (rc)
        return rc;
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r) md__report_to_crs(r, crs);
    bool more = (int)json_array_size(arr) == (int)limit;
    json_t *j = json_pack("{s:o s:I s:I s:b}", "reports", arr, "limit", (json_int_t)limit, "offset",
                          (json_int_t)offset, "more", (int)more);
    if (j && more) { /* the keyset cursor of the next page: its cost does not grow with depth */
        char next[80];
        cursor_format(&last, f.by_supporters, next, sizeof(next));
        json_object_set_new(j, "next", json_string(next));
    }
    return md__send_json(c, 200, j);
}

static md_err get_report(struct md_call *c)
{
    md_err params_rc = md__params_only(c, crs_params);
    if (params_rc)
        return params_rc;
    struct md_reports_state *st = c->api->reports;
    const char *slash = strchr(c->tail, '/');
    size_t n = slash ? (size_t)(slash - c->tail) : strlen(c->tail);
    int64_t id;
    enum md_crs crs;
    md_err rc = parse_id(c, c->tail, n, "report", &id);
    if (!rc)
        rc = md__param_crs(c, &crs);
    if (rc)
        return rc;
    json_t *j = NULL;
    if (!slash) {
        rc = md_report_get(c->w->store, id, md_time_now(), st->offset_min, &j, c->ctx);
        if (!rc)
            md__report_to_crs(j, crs);
        return rc ? rc : md__send_json(c, 200, j);
    }
    if (strcmp(slash, "/history") == 0) {
        rc = md_report_history(c->w->store, id, st->offset_min, &j, c->ctx);
        return rc ? rc
                  : md__send_json(c, 200,
                                  json_pack("{sI s:o}", "report_id", (json_int_t)id, "history", j));
    }
    if (strcmp(slash, "/duplicates") == 0) {
        json_t *r = NULL;
        struct md_category cat;
        rc = md_report_get(c->w->store, id, md_time_now(), st->offset_min, &r, c->ctx);
        if (rc)
            return rc;
        rc = md_category_get(c->w->store, json_string_value(json_object_get(r, "category")), &cat,
                             c->ctx);
        if (!rc)
            rc = md_report_nearby_open(c->w->store, cat.code,
                                       json_number_value(json_object_get(r, "lon")),
                                       json_number_value(json_object_get(r, "lat")),
                                       cat.dup_radius_m, id, 50, st->offset_min, &j, c->ctx);
        double radius = cat.dup_radius_m;
        md_category_clear(&cat);
        json_decref(r);
        return rc ? rc
                  : md__send_json(c, 200,
                                  json_pack("{sI s:f s:o}", "report_id", (json_int_t)id, "radius_m",
                                            radius, "duplicates", j));
    }
    return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
}

static md_err transition(struct md_call *c)
{
    md_err params_rc = md__params_only(c, crs_params);
    if (params_rc)
        return params_rc;
    static const char *const allowed[] = {"action", "note", "into", "unit", "officer", NULL};
    struct md_reports_state *st = c->api->reports;
    const char *slash = strchr(c->tail, '/');
    int64_t id = 0, into = 0, officer = 0;
    struct md_principal who;
    json_t *body = NULL, *report = NULL;
    const char *action = NULL, *note = NULL, *unit = NULL;
    enum md_crs crs;
    if (!slash || strchr(slash + 1, '/'))
        return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
    md_err rc = parse_id(c, c->tail, (size_t)(slash - c->tail), "report", &id);
    if (!rc && strcmp(slash, "/transitions") != 0)
        return md__citizen_post(c, id, slash + 1);
    if (!rc)
        rc = md__param_crs(c, &crs);
    if (!rc)
        rc = md__auth_bearer(c, &who);
    if (!rc && who.role == MD_ROLE_PUBLIC)
        rc = md_fail(c->ctx, MD_EUNAUTH,
                     "moving a case needs an officer or centre token (Authorization: Bearer)");
    if (!rc)
        rc = md_principal_scope(&who, MD_SCOPE_REPORT_TRANSITION, c->ctx);
    if (!rc)
        rc = parse_body(c, &body);
    if (!rc)
        rc = only_fields(c, body, "the transition", allowed);
    if (!rc)
        rc = field_str(c, body, "action", true, 32, &action);
    if (!rc)
        rc = field_str(c, body, "note", false, NOTE_MAX, &note);
    if (!rc)
        rc = field_str(c, body, "unit", false, MD_UNIT_CODE_MAX - 1, &unit);
    json_t *jofficer = body ? json_object_get(body, "officer") : NULL;
    if (!rc && jofficer && !json_is_null(jofficer)) {
        if (!json_is_integer(jofficer) || json_integer_value(jofficer) <= 0)
            rc = md_fail(c->ctx, MD_EINVAL, "officer must be a positive officer id");
        else
            officer = json_integer_value(jofficer);
    }
    json_t *jinto = body ? json_object_get(body, "into") : NULL;
    if (!rc && jinto && !json_is_null(jinto)) {
        if (!json_is_integer(jinto) || json_integer_value(jinto) <= 0)
            rc = md_fail(c->ctx, MD_EINVAL, "into must be a positive report id");
        else
            into = json_integer_value(jinto);
    }
    if (!rc && into && !(md_workflow_effects(action) & MD_FX_MERGE))
        rc = md_fail(c->ctx, MD_EINVAL, "into is only for the merge action");
    if (!rc) {
        struct md_step step = {
            .action = action, .note = note, .into = into, .unit = unit, .officer_id = officer};
        rc = md_report_transition(c->w->store, &st->cal, id, &step, &who, md_time_now(),
                                  st->offset_min, &report, c->ctx);
    }
    json_decref(body);
    if (rc)
        return rc;
    md__consistency_header(c);
    md__events_hub_notify(st->hub);
    md__report_to_crs(report, crs);
    return md__send_json(c, 200, json_pack("{s:o}", "report", report));
}

/* The facility a "missing facility" report proposes, checked, as JSON text
 * (caller frees): name and category required; address, phone, hours. */
static md_err missing_facility_change(struct md_call *c, json_t *given, char **out)
{
    static const char *const allowed[] = {"name",  "category",      "address",
                                          "phone", "opening_hours", NULL};
    static const size_t max[] = {200, 40, ADDRESS_MAX, 40, 200};
    const char *v[5] = {0};
    *out = NULL;
    if (!json_is_object(given))
        return md_fail(c->ctx, MD_EINVAL,
                       "proposed_change (the missing facility: name, category,"
                       " and optionally address, phone, opening_hours) is"
                       " required for category %s",
                       MD_MISSING_FACILITY_CODE);
    md_err rc = only_fields(c, given, "proposed_change", allowed);
    for (int i = 0; !rc && i < 5; i++)
        rc = field_str(c, given, allowed[i], i < 2, max[i], &v[i]);
    if (!rc && md_facility_category_check(c->w->store, v[1], c->ctx)) {
        md_ctx_clear(c->ctx);
        rc = md_fail(c->ctx, MD_EINVAL,
                     "proposed_change.category '%.40s' is not a facility category"
                     " (see /api/v1/facility-categories)",
                     v[1]);
    }
    json_t *j = rc ? NULL : json_object();
    for (int i = 0; j && i < 5; i++)
        if (v[i])
            json_object_set_new(j, allowed[i], json_string(v[i]));
    if (j && !(*out = json_dumps(j, MD_JSON_FLAGS)))
        rc = md_fail(c->ctx, MD_ENOMEM, "proposed change");
    json_decref(j);
    return rc;
}

/* A correction's proposed change, checked for its category (caller decrefs). */
static md_err proposed_change(struct md_call *c, const char *code, json_t *given, enum md_crs crs,
                              json_t **out)
{
    if (given && !json_is_null(given) && !json_is_object(given))
        return md_fail(c->ctx, MD_EINVAL, "proposed_change must be an object");
    if (strcmp(code, "900001") == 0) {
        static const char *const allowed[] = {"status", NULL};
        const char *status = NULL;
        md_err rc = given ? only_fields(c, given, "proposed_change", allowed) : MD_OK;
        if (!rc && given)
            rc = field_str(c, given, "status", false, 16, &status);
        if (!rc && status && strcmp(status, "closed") != 0)
            rc = md_fail(c->ctx, MD_EINVAL, "proposed_change.status must be closed for 900001");
        *out = rc ? NULL : json_pack("{s:s}", "status", "closed");
        return rc;
    }
    if (!given || json_is_null(given))
        return md_fail(c->ctx, MD_EINVAL, "proposed_change is required for category %s", code);
    if (strcmp(code, "900002") == 0) {
        static const char *const allowed[] = {"lon", "lat", NULL};
        double lon, lat;
        md_err rc = only_fields(c, given, "proposed_change", allowed);
        if (!rc)
            rc = field_lonlat(c, given, crs, &lon, &lat);
        *out = rc ? NULL : json_pack("{s:f s:f}", "lon", lon, "lat", lat);
        return rc;
    }
    if (strcmp(code, "900003") == 0) {
        static const char *const allowed[] = {"name", "category", NULL};
        const char *name = NULL, *category = NULL;
        md_err rc = only_fields(c, given, "proposed_change", allowed);
        if (!rc)
            rc = field_str(c, given, "name", false, 200, &name);
        if (!rc)
            rc = field_str(c, given, "category", false, 40, &category);
        if (!rc && !name && !category)
            rc = md_fail(c->ctx, MD_EINVAL, "proposed_change needs a name or a category");
        if (!rc && category && md_facility_category_check(c->w->store, category, c->ctx)) {
            md_ctx_clear(c->ctx);
            rc = md_fail(c->ctx, MD_EINVAL,
                         "proposed_change.category '%.40s' is not a facility"
                         " category",
                         category);
        }
        if (!rc) {
            *out = json_object();
            if (name)
                json_object_set_new(*out, "name", json_string(name));
            if (category)
                json_object_set_new(*out, "category", json_string(category));
        }
        return rc;
    }
    return md_fail(c->ctx, MD_EUNPROC, "category %s does not correct an existing facility", code);
}

static md_err post_correction(struct md_call *c)
{
    md_err params_rc = md__params_only(c, crs_params);
    if (params_rc)
        return params_rc;
    static const char *const allowed[] = {"category",   "description", "proposed_change",
                                          "media_urls", "contact",     NULL};
    const char *slash = strchr(c->tail, '/');
    int64_t fid = 0;
    struct md_principal who;
    struct md_report_input in = {0};
    json_t *body = NULL, *change = NULL;
    char *media = NULL, *change_text = NULL;
    enum md_crs crs;
    if (!slash || strcmp(slash, "/corrections") != 0)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
    md_err rc = parse_id(c, c->tail, (size_t)(slash - c->tail), "facility", &fid);
    if (!rc)
        rc = md__param_crs(c, &crs);
    if (!rc)
        rc = md__auth_bearer(c, &who);
    if (!rc)
        rc = md_facility_point(c->w->store, fid, &in.lon, &in.lat, c->ctx);
    if (!rc)
        rc = parse_body(c, &body);
    if (!rc)
        rc = only_fields(c, body, "the correction", allowed);
    if (!rc)
        rc = field_str(c, body, "category", true, 6, &in.service_code);
    if (!rc)
        rc = field_str(c, body, "description", false, MD_DESCRIPTION_MAX, &in.description);
    if (!rc)
        rc = field_media(c, body, &media);
    if (!rc)
        rc = field_contact(c, body, &in.contact);
    if (!rc && strncmp(in.service_code, "9", 1) != 0)
        rc = md_fail(c->ctx, MD_EUNPROC,
                     "category %.6s is not a correction of a facility (900001-900003)",
                     in.service_code);
    if (!rc)
        rc = proposed_change(c, in.service_code, json_object_get(body, "proposed_change"), crs,
                             &change);
    if (!rc && !(change_text = json_dumps(change, MD_JSON_FLAGS)))
        rc = md_fail(c->ctx, MD_ENOMEM, "proposed change");
    if (!rc) {
        struct md_intake intake;
        rc = md_intake_decide(who.role, MD_INTAKE_CORRECTION, false, NULL, NULL, &intake, c->ctx);
        in.kind = intake.kind;
        in.channel = intake.channel;
        in.facility_id = fid;
        in.proposed_change = change_text;
        in.media_urls = media;
        in.client_addr = c->req->client_addr;
        in.actor_role = who.role;
        in.actor_id = who.actor;
        if (!rc)
            rc = md__report_submit(c, &in, NULL, NULL, MD_CREATED_JSON, NULL);
    }
    free(media);
    free(change_text);
    json_decref(change);
    json_decref(body);
    return rc;
}

static md_err events(struct md_call *c)
{
    md_err params_rc = md__params_only(c, events_params);
    if (params_rc)
        return params_rc;
    struct md_reports_state *st = c->api->reports;
    return md__events_subscribe(st ? st->hub : NULL, c);
}

static md_err facility_categories(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    json_t *arr = NULL;
    md_err rc = md_facility_categories_json(c->w->store, &arr, c->ctx);
    return rc ? rc : md__send_json(c, 200, json_pack("{s:o}", "facility_categories", arr));
}

static md_err categories(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    json_t *arr = NULL;
    md_err rc = md_categories_json(c->w->store, &arr, c->ctx);
    return rc ? rc : md__send_json(c, 200, json_pack("{s:o}", "categories", arr));
}


const struct md_route md__reports_routes[] = {
    {"POST", "/api/v1/reports", false, create_report, "reports_create", NULL},
    {"GET", "/api/v1/reports", false, list_reports, "reports_list", NULL},
    {"GET", "/api/v1/reports/", true, get_report, "reports_get", "* */history */duplicates"},
    {"POST", "/api/v1/reports/", true, transition, "reports_transition", "*/transitions */supporters */comments */withdraw */rating */photos"},
    {"POST", "/api/v1/facilities/", true, post_correction, "facility_corrections", "*/corrections"},
    {"GET", "/api/v1/events", false, events, "events", NULL},
    {"GET", "/api/v1/categories", false, categories, "categories", NULL},
    {"GET", "/api/v1/facility-categories", false, facility_categories, "facility_categories", NULL},
};
const size_t md__reports_routes_count = sizeof(md__reports_routes) / sizeof(md__reports_routes[0]);

/* ---- shared state ---------------------------------------------------- */

/* The change feed's callback (its thread): any change may come with
 * events rows; the hub reads them. */
static void feed_wakes_hub(void *arg, const struct md_pg_change *changes, size_t n)
{
    (void)changes;
    (void)n;
    md__events_hub_notify(arg);
}

#define FEED_POLL_MS 1000

md_err md__reports_init(struct md_api *api, struct md_ctx *ctx)
{
    const struct md_config *cfg = api->cfg;
    struct md_reports_state *st = calloc(1, sizeof(*st));
    if (!st)
        return md_fail(ctx, MD_ENOMEM, "reports state");
    api->reports = st;
    md_calendar_default(&st->cal);
    st->offset_min = cfg->timezone_offset_min;
    st->rl = md_ratelimit_new(cfg->rate_limit_per_min);
    if (!st->rl)
        return md_fail(ctx, MD_ENOMEM, "rate limiter");
    st->inflight = md_idem_inflight_new();
    if (!st->inflight)
        return md_fail(ctx, MD_ENOMEM, "idempotency keys in flight");
    if (!cfg->db_path)
        return MD_OK;
    struct md_store *s = NULL;
    md_err rc = md_store_open(cfg->db_path, MD_STORE_READONLY, &s, ctx);
    if (!rc)
        rc = md_calendar_load(s, &st->cal, ctx);
    md_store_close(s);
    if (rc)
        return rc;
    st->cal.offset_min = cfg->timezone_offset_min;
    if (cfg->work_day_start_min || cfg->work_day_end_min) {
        if (cfg->work_day_start_min < 0 || cfg->work_day_end_min > 1440 ||
            cfg->work_day_start_min >= cfg->work_day_end_min)
            return md_fail(ctx, MD_EINVAL, "working hours must be a non-empty range within a day");
        st->cal.day_start_min = cfg->work_day_start_min;
        st->cal.day_end_min = cfg->work_day_end_min;
    }
    rc = md__events_hub_new(cfg->db_path, cfg->events_max_subscribers, cfg->events_heartbeat_s,
                            &st->hub, ctx);
    if (!rc && md_store_path_is_pg(cfg->db_path))
        rc = md_pg_changefeed_start(cfg->db_path, -1, FEED_POLL_MS, feed_wakes_hub, st->hub,
                                    &st->feed, ctx);
    if (!rc)
        rc = md_ingest_start(cfg->db_path, st->offset_min, 100000, md__events_hub_notify, st->hub,
                             &st->ingest, ctx);
    if (!rc)
        rc = md__overdue_start(cfg->db_path, &st->overdue, ctx);
    if (!rc && md_store_path_is_pg(cfg->db_path)) /* its API answers 501 there */
        fprintf(stderr, "mapd: webhooks are not yet on PostgreSQL: none are sent\n");
    else if (!rc)
        rc = md__webhooks_start(cfg->db_path, cfg->webhook_retry_base_ms,
                                cfg->webhook_max_attempts, &st->webhooks, ctx);
    return rc;
}

void md__reports_free(struct md_api *api)
{
    struct md_reports_state *st = api->reports;
    if (!st)
        return;
    md__webhooks_stop(st->webhooks);
    md__overdue_stop(st->overdue);
    md_ingest_stop(st->ingest);
    md_pg_changefeed_stop(st->feed); /* before the hub it wakes */
    md__events_hub_free(st->hub);
    md_ratelimit_free(st->rl);
    md_idem_inflight_free(st->inflight);
    md_calendar_free(&st->cal);
    free(st);
    api->reports = NULL;
}
