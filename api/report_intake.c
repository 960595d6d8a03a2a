/* report_intake.c - how a report comes in, shared by the JSON API
 * (reports_api.c), Open311 (open311.c) and the citizen, photo, staff and
 * consultation routes, and owned by none of them: the caller from its
 * token, the per-address rate limit, media URLs and Open311 attributes
 * checked, and md__report_submit - category, location, duplicate hint,
 * the group-commit queue and the deferred 201 in the caller's form.
 *
 * Creates are validated completely on the request thread, then queued on
 * the group-commit writer; the 201 is rendered by the deferred poll once
 * the writer's COMMIT has returned. Nothing is written for a request that
 * fails.
 *
 * Idempotency-Key (docs/reports.md): before any other work a keyed create
 * replays the stored answer of its key (Idempotent-Replayed: true), is
 * refused (422 another request under the key, 409 the key in flight) or
 * claims the key in this process; the writer then renders the 201 and
 * records it with the report in one savepoint (md_ingest_submit_keyed).
 */
#include "idem_key.h"
#include "locate.h"
#include "md_text.h"
#include "md_time.h"
#include "params.h"
#include "reports_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEDIA_URL_MAX 1000
#define ATTR_TEXT_MAX 500

/* ---- the caller, media, attributes (reports_int.h) ------------------- */

md_err md__auth_token(struct md_call *c, const char *token, struct md_principal *out)
{
    int64_t retry = 0;
    md_err rc = md_token_verify(c->w->store, token, out, c->ctx);
    if (!rc)
        rc = md_token_use(c->w->store, out, md_time_now(), &retry, c->ctx);
    if (rc == MD_ERATE) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", (long long)retry);
        MD_IGNORE(md_response_header(c->res, c->req->pool, "Retry-After", v));
    }
    return rc;
}

md_err md__auth_bearer(struct md_call *c, struct md_principal *out)
{
    md_principal_public(out);
    const char *h = md_request_header(c->req, "Authorization");
    if (!h || !*h)
        return MD_OK;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return md_fail(c->ctx, MD_EUNAUTH, "Authorization must be 'Bearer <token>'");
    h += 7;
    while (*h == ' ')
        h++;
    return md__auth_token(c, h, out);
}

md_err md__check_media_url(struct md_call *c, const char *what, const char *url)
{
    size_t n = strlen(url);
    if (n > MEDIA_URL_MAX)
        return md_fail(c->ctx, MD_EINVAL, "%s is longer than %d bytes", what, MEDIA_URL_MAX);
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return md_fail(c->ctx, MD_EINVAL, "%s must be an http:// or https:// URL", what);
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '<' || *p == '>')
            return md_fail(c->ctx, MD_EINVAL, "%s contains a character not allowed in a URL", what);
    return MD_OK;
}

static bool in_values(json_t *values, const char *key)
{
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        const char *k = json_string_value(json_object_get(v, "key"));
        if (k && key && strcmp(k, key) == 0)
            return true;
    }
    return false;
}

/* One attribute value, normalised by datatype; NULL with ctx on error. */
static json_t *attribute_value(struct md_call *c, json_t *def, const char *code, json_t *v)
{
    const char *type = json_string_value(json_object_get(def, "datatype"));
    json_t *values = json_object_get(def, "values");
    const char *s = json_string_value(v);
    if (!type)
        type = "string";
    if (strcmp(type, "number") == 0) {
        double d;
        if (json_is_number(v))
            return json_real(json_number_value(v));
        struct md_ctx sub;
        md_ctx_init(&sub);
        if (s && md_parse_double(s, code, &d, &sub) == MD_OK)
            return json_real(d);
        md_fail(c->ctx, MD_EINVAL, "attribute %s must be a number", code);
        return NULL;
    }
    if (strcmp(type, "multivaluelist") == 0) {
        json_t *list = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item)
        {
            if (!json_is_string(item) || !in_values(values, json_string_value(item))) {
                json_decref(list);
                md_fail(c->ctx, MD_EINVAL, "attribute %s has a value that is not one of its keys",
                        code);
                return NULL;
            }
        }
        return list;
    }
    if (!s) {
        md_fail(c->ctx, MD_EINVAL, "attribute %s must be a string", code);
        return NULL;
    }
    if (!md_utf8_valid(s, strlen(s)) || md_utf8_len(s) > ATTR_TEXT_MAX) {
        md_fail(c->ctx, MD_EINVAL, "attribute %s must be valid UTF-8 of at most %d characters",
                code, ATTR_TEXT_MAX);
        return NULL;
    }
    if (strcmp(type, "singlevaluelist") == 0 && !in_values(values, s)) {
        md_fail(c->ctx, MD_EINVAL, "attribute %s must be one of its keys, got '%.40s'", code, s);
        return NULL;
    }
    if (strcmp(type, "datetime") == 0) {
        int64_t t;
        struct md_ctx sub;
        md_ctx_init(&sub);
        if (md_time_parse(s, 480, &t, &sub)) {
            md_fail(c->ctx, MD_EINVAL, "attribute %s must be an ISO 8601 date-time", code);
            return NULL;
        }
    }
    return json_string(s);
}

md_err md__check_attributes(struct md_call *c, const struct md_category *cat, json_t *given,
                            char **out_text)
{
    *out_text = NULL;
    if (given && !json_is_object(given))
        return md_fail(c->ctx, MD_EINVAL, "attributes must be an object of code: value");
    json_t *norm = json_object();
    md_err rc = MD_OK;
    const char *key;
    json_t *v;
    json_object_foreach(given, key, v)
    {
        json_t *def = NULL, *d;
        size_t i;
        json_array_foreach(cat->attributes, i, d)
        {
            const char *code = json_string_value(json_object_get(d, "code"));
            if (code && strcmp(code, key) == 0)
                def = d;
        }
        if (!def) {
            rc = md_fail(c->ctx, MD_EINVAL, "category %s has no attribute '%.40s'", cat->code, key);
            break;
        }
        json_t *value = attribute_value(c, def, key, v);
        if (!value) {
            rc = MD_EINVAL;
            break;
        }
        json_object_set_new(norm, key, value);
    }
    size_t i;
    json_t *d;
    json_array_foreach(cat->attributes, i, d)
    {
        const char *code = json_string_value(json_object_get(d, "code"));
        if (!rc && code && json_is_true(json_object_get(d, "required")) &&
            !json_object_get(norm, code))
            rc = md_fail(c->ctx, MD_EINVAL, "attribute %s is required for category %s", code,
                         cat->code);
    }
    if (!rc && !(*out_text = json_dumps(norm, MD_JSON_FLAGS)))
        rc = md_fail(c->ctx, MD_ENOMEM, "attributes");
    json_decref(norm);
    return rc;
}

md_err md__rate_limit(struct md_call *c)
{
    int retry = 1;
    struct md_reports_state *st = c->api->reports;
    if (!st || md_ratelimit_take(st->rl, c->req->client_addr, md_time_mono_us(), &retry))
        return MD_OK;
    char v[16];
    snprintf(v, sizeof(v), "%d", retry);
    MD_IGNORE(md_response_header(c->res, c->req->pool, "Retry-After", v));
    return md_fail(c->ctx, MD_ERATE, "too many requests from %s; retry in %d s",
                   c->req->client_addr, retry);
}

void md__report_to_crs(json_t *report, enum md_crs crs)
{
    if (crs == MD_CRS_WGS84)
        return;
    double lon = json_number_value(json_object_get(report, "lon"));
    double lat = json_number_value(json_object_get(report, "lat"));
    md_crs_from_wgs84(crs, lon, lat, &lon, &lat);
    json_object_set_new(report, "lon", json_real(lon));
    json_object_set_new(report, "lat", json_real(lat));
}

/* ---- create: validate, queue, answer after the commit --------------- */

/* What the 201 of a create says besides what the writer decides (id,
 * token, time, photo ids). Self-contained: with an Idempotency-Key it is
 * handed to the writer, which renders the answer in the report's
 * transaction (md_ingest_submit_keyed). */
struct created_spec {
    enum md_created_form form;
    json_t *duplicates; /* owned; touched by one thread at a time */
    char category[8];
    char district[MD_DISTRICT_CODE_MAX];
    char grid[MD_GRID_CODE_MAX];
    double lon, lat; /* in the request's crs */
    int offset_min;
    bool with_photos; /* answer `photos` (JSON form) */
    int photo_w[MD_PHOTOS_PER_REPORT], photo_h[MD_PHOTOS_PER_REPORT];
};

struct pending_create {
    struct md_ingest_ticket *ticket;
    enum md_created_form form;
    md_error_form_fn error_form; /* NULL: mapd's JSON error */
    struct md_pool *pool;
    struct created_spec *spec;   /* NULL when the writer renders (a keyed create) */
    struct md_idem_inflight *inflight; /* non-NULL: release (scope, key) when done */
    char scope[MD_IDEM_SCOPE_MAX];
    char key[MD_IDEM_KEY_MAX];
};

static void spec_free(void *arg)
{
    struct created_spec *spec = arg;
    if (!spec)
        return;
    json_decref(spec->duplicates);
    free(spec);
}

static void pending_free(void *userdata)
{
    struct pending_create *p = userdata;
    md_ingest_ticket_free(p->ticket);
    if (p->inflight)
        md_idem_inflight_release(p->inflight, p->scope, p->key);
    spec_free(p->spec);
    free(p);
}

static void pending_set_waker(void *userdata, md_wake_cb wake, void *arg)
{
    struct pending_create *p = userdata;
    md_ingest_ticket_set_waker(p->ticket, wake, arg);
}

static void set_body(struct md_response *res, int status, const char *type, char *text)
{
    res->status = status;
    res->content_type = type;
    md_buf_reset(&res->body);
    if (!text || md_buf_puts(&res->body, text)) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        md_fail(&ctx, MD_ENOMEM, "building the response");
        md_response_error(res, &ctx);
    }
    free(text);
}

/* The 201 of report cr in the spec's form (any thread). */
static md_err render_created(const void *arg, const struct md_report_created *cr,
                             struct md_idem_answer *out)
{
    const struct created_spec *p = arg;
    char when[MD_TIME_STR_MAX], id[32];
    const char *type = "application/json";
    char *text = NULL;
    md_time_format(cr->created_at, p->offset_min, when);
    snprintf(id, sizeof(id), "%lld", (long long)cr->id);
    if (p->form == MD_CREATED_JSON) {
        json_t *j =
            json_pack("{sI s:s s:s s:s s:s s:o s:f s:f s:s s:O}", "id", (json_int_t)cr->id,
                      "token", cr->token, "status", "reported", "category", p->category,
                      "district", p->district, "grid",
                      p->grid[0] ? json_string(p->grid) : json_null(), "lon", p->lon, "lat",
                      p->lat, "created_at", when, "duplicates", p->duplicates);
        json_t *photos = j && p->with_photos ? json_array() : NULL;
        for (size_t i = 0; photos && i < cr->nphotos; i++)
            json_array_append_new(photos,
                                  md__photo_json(cr->photo_ids[i], p->photo_w[i], p->photo_h[i]));
        if (photos)
            json_object_set_new(j, "photos", photos);
        text = j ? json_dumps(j, MD_JSON_FLAGS) : NULL;
        json_decref(j);
    } else if (p->form == MD_CREATED_O311_JSON) {
        /* Stored at once: the id, never also the token (GeoReport v2: each
         * "should not be returned if" the other is). */
        json_t *j = json_pack("[{s:s s:s s:n}]", "service_request_id", id, "service_notice", "",
                              "account_id");
        type = "application/json; charset=utf-8";
        text = j ? json_dumps(j, MD_JSON_FLAGS) : NULL;
        json_decref(j);
    } else {
        struct md_buf b;
        md_buf_init(&b, 1 << 16);
        MD_IGNORE(md_buf_printf(&b,
                                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests>"
                                "<request><service_request_id>%s</service_request_id>"
                                "<service_notice></service_notice>"
                                "<account_id></account_id></request></service_requests>\n",
                                id));
        type = "text/xml; charset=utf-8";
        text = md_buf_steal(&b, NULL);
    }
    out->status = 201;
    snprintf(out->content_type, sizeof(out->content_type), "%s", type);
    out->body = text;
    return text ? MD_OK : MD_ENOMEM;
}

static void set_location(struct md_response *res, struct md_pool *pool, int64_t id)
{
    char location[64];
    snprintf(location, sizeof(location), "/api/v1/reports/%lld", (long long)id);
    MD_IGNORE(md_response_header(res, pool, "Location", location));
}

/* An answer recorded with an Idempotency-Key, sent (takes a->body). */
static void send_answer(struct md_response *res, struct md_pool *pool,
                        struct md_idem_answer *a)
{
    const char *type = md_pool_strdup(pool, a->content_type);
    set_body(res, a->status, type ? type : "application/json", a->body);
    a->body = NULL;
}

static bool pending_poll(void *userdata, struct md_response *res)
{
    struct pending_create *p = userdata;
    struct md_ctx ctx;
    struct md_report_created cr;
    struct md_idem_answer a = {0};
    md_err err = MD_OK;
    md_ctx_init(&ctx);
    if (!md_ingest_ticket_done(p->ticket, &err, &cr, &ctx))
        return false;
    if (!err && !md_ingest_ticket_answer(p->ticket, &a) &&
        (!p->spec || render_created(p->spec, &cr, &a)))
        err = md_fail(&ctx, MD_ENOMEM, "building the response");
    if (err) {
        free(a.body);
        if (!p->error_form)
            md_response_error(res, &ctx);
        else
            p->error_form(res, md_err_http_status(err), md_ctx_message(&ctx),
                          p->form == MD_CREATED_O311_XML);
        return true;
    }
    set_location(res, p->pool, cr.id);
    if (cr.change_seq > 0) { /* the writer's token (a replay has none) */
        char token[24];
        snprintf(token, sizeof(token), "%lld", (long long)cr.change_seq);
        MD_IGNORE(md_response_header(res, p->pool, "Mapd-Consistency", token));
    }
    send_answer(res, p->pool, &a);
    return true;
}

void md__consistency_header(struct md_call *c)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t seq = 0;
    char token[24];
    if (md_store_change_seq(c->w->store, &seq, &ctx) || seq <= 0)
        return;
    snprintf(token, sizeof(token), "%lld", (long long)seq);
    MD_IGNORE(md_response_header(c->res, c->req->pool, "Mapd-Consistency", token));
}

/* ---- Idempotency-Key ------------------------------------------------- */

/* The request's key (idem_key.h) scoped to this endpoint and caller.
 * *keyed false without the header. */
static md_err idem_key_of(struct md_call *c, const struct md_report_input *in,
                          struct md_idem_new *k, bool *keyed)
{
    *keyed = false;
    const char *h = md_request_header(c->req, "Idempotency-Key");
    if (!h)
        return MD_OK;
    md_err rc = md_idem_key_parse(h, k->key, c->ctx);
    if (rc)
        return rc;
    snprintf(k->scope, sizeof(k->scope), "%s %s %s", c->req->method, c->req->path,
             in->actor_id && *in->actor_id ? in->actor_id : "anonymous");
    md_idem_fingerprint(c->req, k->fingerprint);
    *keyed = true;
    return MD_OK;
}

/* The stored answer of k, replayed into c->res (MD_OK), 422 for another
 * request under the key, MD_ENOTFOUND when none is stored. */
static md_err idem_replay(struct md_call *c, const struct md_idem_new *k)
{
    struct md_idem_row row;
    md_err rc = md_idem_get(c->w->store, k->scope, k->key, md_time_now(), &row, c->ctx);
    if (rc == MD_ENOTFOUND)
        md_ctx_clear(c->ctx);
    if (rc)
        return rc;
    if (strcmp(row.fingerprint, k->fingerprint) != 0) {
        rc = md_fail(c->ctx, MD_EUNPROC,
                     "Idempotency-Key '%.40s' was already used for a different request (method,"
                     " path, query, Content-Type or body differ); use a new key for a new report",
                     k->key);
    } else {
        set_location(c->res, c->req->pool, row.report_id);
        MD_IGNORE(md_response_header(c->res, c->req->pool, "Idempotent-Replayed", "true"));
        send_answer(c->res, c->req->pool, &row.answer);
    }
    md_idem_row_clear(&row);
    return rc;
}

/* Before any work: with a key, replay a stored answer (*done), refuse a
 * key in flight (409) or claim it (*claimed; the caller releases it). */
static md_err idem_begin(struct md_call *c, struct md_idem_new *k, bool *done, bool *claimed)
{
    struct md_idem_inflight *f = c->api->reports->inflight;
    *done = *claimed = false;
    md_err rc = idem_replay(c, k);
    if (rc != MD_ENOTFOUND) {
        *done = !rc;
        return rc;
    }
    bool got = md_idem_inflight_claim(f, k->scope, k->key);
    rc = idem_replay(c, k); /* the first may have committed meanwhile */
    if (rc != MD_ENOTFOUND) {
        if (got)
            md_idem_inflight_release(f, k->scope, k->key);
        *done = !rc;
        return rc;
    }
    if (!got)
        return md_fail(c->ctx, MD_ECONFLICT,
                       "a request with Idempotency-Key '%.40s' is still being processed; retry"
                       " once it has been answered",
                       k->key);
    *claimed = true;
    return MD_OK;
}

md_err md__report_submit(struct md_call *c, struct md_report_input *in, json_t *attributes,
                         const struct md_photo_parts *photos, enum md_created_form form,
                         md_error_form_fn error_form)
{
    struct md_photo_set set = {0};
    struct md_reports_state *st = c->api->reports;
    struct md_category cat = {0};
    struct md_idem_new key = {0};
    bool keyed = false, claimed = false, replayed = false;
    char *attrs_text = NULL;
    json_t *dups = NULL;
    struct pending_create *p = NULL;
    struct created_spec *spec = NULL;
    md_err rc = MD_OK;
    int retry = 1;
    if (!st || !st->ingest)
        return md_fail(c->ctx, MD_EBUSY, "this server cannot accept reports (no database writer)");
    rc = idem_key_of(c, in, &key, &keyed);
    if (!rc && keyed)
        rc = idem_begin(c, &key, &replayed, &claimed);
    if (rc || replayed)
        return rc;
    if (!md_ratelimit_take(st->rl, c->req->client_addr, md_time_mono_us(), &retry)) {
        char v[16];
        snprintf(v, sizeof(v), "%d", retry);
        MD_IGNORE(md_response_header(c->res, c->req->pool, "Retry-After", v));
        rc = md_fail(c->ctx, MD_ERATE,
                     "too many reports from %s; at most %d a minute, retry in %d s",
                     c->req->client_addr, c->api->cfg->rate_limit_per_min, retry);
        goto out;
    }
    rc = md_category_get(c->w->store, in->service_code, &cat, c->ctx);
    if (rc == MD_ENOTFOUND) {
        md_ctx_clear(c->ctx);
        rc = md_fail(c->ctx, form == MD_CREATED_JSON ? MD_EUNPROC : MD_ENOTFOUND, /* Open311: 404 */
                     "category '%.20s' is not a known service code (see /api/v1/categories)",
                     in->service_code);
    }
    if (rc)
        goto out;
    bool want_correction = strcmp(in->kind, "correction") == 0;
    if (want_correction != (strcmp(cat.kind, "correction") == 0)) {
        rc = md_fail(c->ctx, MD_EUNPROC,
                     want_correction ? "category %s is not a map correction"
                                     : "category %s is a map correction: send it to"
                                       " POST /api/v1/facilities/{id}/corrections"
                                       " (900004, a missing facility, comes here)",
                     cat.code);
        goto out;
    }
    rc = md__check_attributes(c, &cat, attributes, &attrs_text);
    if (rc)
        goto out;
    in->attributes = attrs_text;
    rc = md_store_locate(c->w->store, in->lon, in->lat, in->district, in->grid, c->ctx);
    if (rc == MD_ENOTFOUND) {
        md_ctx_clear(c->ctx);
        rc = md_fail(c->ctx, MD_EUNPROC,
                     "the point %.6f,%.6f is outside every district this server covers", in->lon,
                     in->lat);
    }
    if (rc)
        goto out;
    rc = md_report_nearby_open(c->w->store, cat.code, in->lon, in->lat, cat.dup_radius_m, 0, 20,
                               st->offset_min, &dups, c->ctx);
    if (rc)
        goto out;
    p = calloc(1, sizeof(*p));
    spec = calloc(1, sizeof(*spec));
    if (!p || !spec) {
        rc = md_fail(c->ctx, MD_ENOMEM, "queueing the report");
        goto out;
    }
    if (photos) {
        rc = md__photos_process(c, photos, &set);
        if (rc)
            goto out;
        in->photos = set.rows;
        in->nphotos = set.n;
        spec->with_photos = form == MD_CREATED_JSON;
        for (size_t i = 0; i < set.n; i++) {
            spec->photo_w[i] = set.rows[i].width;
            spec->photo_h[i] = set.rows[i].height;
        }
    }
    spec->form = form;
    spec->offset_min = st->offset_min;
    snprintf(spec->category, sizeof(spec->category), "%s", cat.code);
    snprintf(spec->district, sizeof(spec->district), "%s", in->district);
    snprintf(spec->grid, sizeof(spec->grid), "%s", in->grid);
    /* The answer in the request's crs, as every answer (the input was
     * converted to WGS84 on the way in; the caller checked crs). */
    enum md_crs out_crs = MD_CRS_WGS84;
    if (md__param_crs(c, &out_crs))
        out_crs = MD_CRS_WGS84;
    md_crs_from_wgs84(out_crs, in->lon, in->lat, &spec->lon, &spec->lat);
    size_t di;
    json_t *dup;
    json_array_foreach(dups, di, dup) md__report_to_crs(dup, out_crs);
    spec->duplicates = dups;
    dups = NULL;
    if (keyed) { /* the writer renders and records the answer; it owns spec now */
        key.render = render_created;
        key.render_arg = spec;
        key.render_free = spec_free;
        spec = NULL;
        rc = md_ingest_submit_keyed(st->ingest, in, &key, &p->ticket, c->ctx);
    } else {
        rc = md_ingest_submit(st->ingest, in, &p->ticket, c->ctx); /* copies the photos */
        p->spec = spec;
        spec = NULL;
    }
    in->photos = NULL;
    in->nphotos = 0;
    if (rc)
        goto out;
    p->form = form;
    p->error_form = error_form;
    p->pool = c->req->pool;
    if (claimed) { /* released when the answer is gone (pending_free) */
        p->inflight = st->inflight;
        snprintf(p->scope, sizeof(p->scope), "%s", key.scope);
        snprintf(p->key, sizeof(p->key), "%s", key.key);
        claimed = false;
    }
    c->res->deferred = (struct md_deferred){
        .poll = pending_poll, .set_waker = pending_set_waker, .free = pending_free, .userdata = p};
    p = NULL;
out:
    if (claimed)
        md_idem_inflight_release(st->inflight, key.scope, key.key);
    if (p)
        pending_free(p);
    spec_free(spec);
    md__photo_set_clear(&set);
    json_decref(dups);
    free(attrs_text);
    md_category_clear(&cat);
    return rc;
}
