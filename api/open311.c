/* open311.c - Open311 GeoReport v2 under /open311/v2/ (SPEC §6).
 *
 * Every resource ends in .json or .xml. Responses are built as JSON values
 * and, for .xml, written out element by element: objects become elements
 * named by their keys, arrays become a plural element holding singular ones
 * (service_requests/request, services/service, attributes/attribute, ...),
 * exactly the element names of the GeoReport v2 documentation. Errors use
 * Open311's form: [{"code": 400, "description": "..."}] or
 * <errors><error><code/><description/></error></errors>, with status 400,
 * 403 (api_key missing or invalid) or 404; 5xx keep their status.
 * Dates are W3C date-times with the city's offset.
 *
 * Language (open311_lang.c): `locale` (query or form field) wins over
 * Accept-Language; zh or en names, descriptions and error texts, and
 * Content-Language says which. Neither given: the answer as it always was.
 * POST without lat/long locates address_string in the database's names
 * (store/read/address.c) or refuses it saying what was tried.
 */
#include "address.h"
#include "md_text.h"
#include "open311_lang.h"
#include "md_time.h"
#include "params.h"
#include "queries.h"
#include "reports_int.h"
#include "workflow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_URL "http://wiki.open311.org/GeoReport_v2"
#define DEFAULT_DAYS 90
#define MAX_PAGE_SIZE 1000
#define MAX_IDS 100

struct plural {
    const char *plural, *singular;
};
static const struct plural plurals[] = {
    {"service_requests", "request"}, {"services", "service"}, {"errors", "error"},
    {"attributes", "attribute"},     {"values", "value"},     {"notes", "note"},
    {"endpoints", "endpoint"},       {"formats", "format"},
};

static const char *singular(const char *name)
{
    for (size_t i = 0; i < sizeof(plurals) / sizeof(plurals[0]); i++)
        if (strcmp(plurals[i].plural, name) == 0)
            return plurals[i].singular;
    return "item";
}

static md_err xml_value(struct md_buf *b, const char *name, json_t *v)
{
    md_err rc = md_buf_printf(b, "<%s>", name);
    if (json_is_object(v)) {
        const char *key;
        json_t *item;
        json_object_foreach(v, key, item)
        {
            if (!rc)
                rc = xml_value(b, key, item);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!rc)
                rc = xml_value(b, singular(name), item);
        }
    } else if (json_is_string(v)) {
        rc = rc ? rc : md_buf_xml_str(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        rc = rc ? rc : md_buf_printf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        rc = rc ? rc : md_buf_printf(b, "%.10g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        rc = rc ? rc : md_buf_puts(b, json_is_true(v) ? "true" : "false");
    }
    return rc ? rc : md_buf_printf(b, "</%s>", name);
}

/* Send `j` (stolen) as JSON or as XML under root element `root`. */
static md_err send(struct md_call *c, int status, bool xml, const char *root, json_t *j)
{
    if (!j)
        return md_fail(c->ctx, MD_ENOMEM, "building the response");
    if (!xml) {
        md_err rc = md__send_json(c, status, j);
        c->res->content_type = "application/json; charset=utf-8";
        return rc;
    }
    struct md_buf *b = &c->res->body;
    md_buf_reset(b);
    md_err rc = md_buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    if (!rc)
        rc = xml_value(b, root, j);
    if (!rc)
        rc = md_buf_putc(b, '\n');
    json_decref(j);
    c->res->status = status;
    c->res->content_type = "text/xml; charset=utf-8";
    return rc ? md_fail(c->ctx, rc, "response too large") : MD_OK;
}

/* Set (or replace) the answer's Content-Language; tag is static. */
static void set_content_language(struct md_response *res, const char *tag)
{
    for (size_t i = 0; i < res->nheaders; i++)
        if (strcasecmp(res->headers[i].key, "Content-Language") == 0) {
            res->headers[i].value = tag;
            return;
        }
    MD_IGNORE(md_response_header(res, NULL, "Content-Language", tag));
}

/* The error answer's body and status (English or translated message). */
static void error_body(struct md_response *res, int status, const char *message, bool xml);

/* The family's error form for the router (405) and deferred answers: the
 * English message, since the request's language is not known there. */
void md__open311_error(struct md_response *res, int status, const char *message, bool xml)
{
    error_body(res, status, message, xml);
    set_content_language(res, "en");
}

static void error_body(struct md_response *res, int status, const char *message, bool xml)
{
    json_t *j = json_pack("[{s:i s:s}]", "code", status, "description", message);
    struct md_buf *b = &res->body;
    md_buf_reset(b);
    res->status = status;
    if (xml) {
        res->content_type = "text/xml; charset=utf-8";
        if (md_buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n") ||
            xml_value(b, "errors", j) || md_buf_putc(b, '\n'))
            md_buf_reset(b);
    } else {
        char *text = j ? json_dumps(j, MD_JSON_FLAGS) : NULL;
        res->content_type = "application/json; charset=utf-8";
        if (!text || md_buf_puts(b, text))
            md_buf_reset(b);
        free(text);
    }
    json_decref(j);
}

/* Open311 knows 400, 403 and 404 for client errors. */
static int o311_status(md_err err)
{
    int st = md_err_http_status(err);
    if (err == MD_EUNAUTH || err == MD_EFORBID)
        return 403;
    if (st == 404 || st >= 500 || err == MD_ERATE || err == MD_ETOOBIG)
        return st;
    return 400;
}


static md_err discovery(struct md_call *c, bool xml, enum md_o311_lang lang)
{
    char url[600], changeset[MD_TIME_STR_MAX];
    snprintf(url, sizeof(url), "%s/open311/v2", md__base_url(c));
    md_time_format(c->api->started_at, c->api->cfg->timezone_offset_min, changeset);
    json_t *j = json_pack(
        "{s:s s:s s:s s:[{s:s s:s s:s s:s s:[s s]}]}", "changeset", changeset, "contact",
        lang == MD_O311_ZH   ? "城市管理监督指挥中心"
        : lang == MD_O311_EN ? "City-management command centre"
                             : "城市管理监督指挥中心 (city-management command centre)",
        "key_service",
        lang == MD_O311_ZH ? "API 密钥由城市发放：mapd token add --role app"
                           : "API keys are issued by the city: mapd token add --role app",
        "endpoints",
        "specification", SPEC_URL, "url", url, "changeset", changeset, "type", "production",
        "formats", "application/json", "text/xml");
    return send(c, 200, xml, "discovery", j);
}

/* A category's field in the answer's language: key_zh / key_en. */
static json_t *in_lang(json_t *cat, const char *zh_key, const char *en_key,
                       enum md_o311_lang lang)
{
    return json_object_get(cat, lang == MD_O311_EN ? en_key : zh_key);
}

static md_err services(struct md_call *c, bool xml, enum md_o311_lang lang)
{
    json_t *cats = NULL;
    md_err rc = md_categories_json(c->w->store, &cats, c->ctx);
    if (rc)
        return rc;
    json_t *out = json_array();
    size_t i;
    json_t *cat;
    json_array_foreach(cats, i, cat)
    {
        json_t *attrs = json_object_get(cat, "attributes");
        char keywords[256];
        snprintf(keywords, sizeof(keywords), "%s,%s,%s",
                 json_string_value(
                     lang == MD_O311_ZH ? json_object_get(cat, "name_zh")
                                        : json_object_get(cat, "name_en")),
                 json_string_value(in_lang(cat, "group_zh", "group_en", lang)),
                 json_string_value(json_object_get(cat, "kind")));
        /* Without a language: Chinese name, English description (as always). */
        json_t *description = lang == MD_O311_DEFAULT
                                  ? json_object_get(cat, "name_en")
                                  : in_lang(cat, "name_zh", "name_en", lang);
        json_array_append_new(
            out, json_pack("{s:O s:O s:O s:b s:s s:s s:O}", "service_code",
                           json_object_get(cat, "code"), "service_name",
                           in_lang(cat, "name_zh", "name_en", lang), "description", description,
                           "metadata", json_array_size(attrs) > 0, "type", "realtime", "keywords",
                           keywords, "group", in_lang(cat, "group_zh", "group_en", lang)));
    }
    json_decref(cats);
    return send(c, 200, xml, "services", out);
}

static json_t *str_or_empty(json_t *v)
{
    return json_is_string(v) ? json_incref(v) : json_string("");
}

/* A bilingual text's half in lang (the text itself without a language). */
static json_t *half_or_empty(json_t *v, enum md_o311_lang lang)
{
    char text[1024];
    if (!json_is_string(v))
        return json_string("");
    md_o311_half(json_string_value(v), lang, text, sizeof(text));
    return json_string(text);
}

static md_err service_definition(struct md_call *c, const char *code, bool xml,
                                 enum md_o311_lang lang)
{
    struct md_category cat;
    md_err rc = md_category_get(c->w->store, code, &cat, c->ctx);
    if (rc)
        return rc;
    json_t *attrs = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(cat.attributes, i, a)
    {
        json_t *o = json_pack("{s:b s:o s:o s:b s:s s:I s:o}", "variable", 1, "code",
                              str_or_empty(json_object_get(a, "code")), "datatype",
                              str_or_empty(json_object_get(a, "datatype")), "required",
                              json_is_true(json_object_get(a, "required")),
                              "datatype_description", "", "order",
                              (json_int_t)(json_integer_value(json_object_get(a, "order"))
                                               ? json_integer_value(json_object_get(a, "order"))
                                               : (json_int_t)i + 1),
                              "description", half_or_empty(json_object_get(a, "description"), lang));
        json_t *values = json_object_get(a, "values");
        if (o && json_is_array(values)) {
            json_t *vs = json_array();
            size_t k;
            json_t *v;
            json_array_foreach(values, k, v) json_array_append_new(
                vs, json_pack("{s:o s:o}", "key", str_or_empty(json_object_get(v, "key")), "name",
                              half_or_empty(json_object_get(v, "name"), lang)));
            json_object_set_new(o, "values", vs);
        }
        if (o)
            json_array_append_new(attrs, o);
    }
    json_t *j = json_pack("{s:s s:o}", "service_code", cat.code, "attributes", attrs);
    md_category_clear(&cat);
    return send(c, 200, xml, "service_definition", j);
}

/* A report (public JSON from store/) as an Open311 request. */
static json_t *as_request(struct md_call *c, json_t *r, enum md_crs crs, bool notes,
                          enum md_o311_lang lang)
{
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(r, "id")));
    double lon = json_number_value(json_object_get(r, "lon"));
    double lat = json_number_value(json_object_get(r, "lat"));
    md_crs_from_wgs84(crs, lon, lat, &lon, &lat);
    const char *status = json_string_value(json_object_get(r, "status"));
    json_t *media = json_array_get(json_object_get(r, "media_urls"), 0);
    json_t *photo = json_array_get(json_object_get(r, "photos"), 0); /* public ones only */
    char photo_url[600];
    if (!media && photo) {
        snprintf(photo_url, sizeof(photo_url), "%s%s", md__base_url(c),
                 json_string_value(json_object_get(photo, "url")));
        media = json_string(photo_url);
    } else {
        json_incref(media);
    }
    json_t *expected = json_object_get(r, "expected_at");
    json_t *o = json_pack(
        "{s:s s:s s:o s:o s:o s:o s:o s:s s:o s:o s:O s:o s:s s:s s:f s:f s:o}",
        "service_request_id", id, "status", md_status_is_open(status) ? "open" : "closed",
        "status_notes", str_or_empty(json_object_get(r, "status_note")), "service_name",
        str_or_empty(json_object_get(r, lang == MD_O311_EN ? "category_name_en" : "category_name")),
        "service_code", str_or_empty(json_object_get(r, "category")), "description",
        str_or_empty(json_object_get(r, "description")), "agency_responsible",
        str_or_empty(json_object_get(r, "unit_type")), "service_notice", "", "requested_datetime",
        str_or_empty(json_object_get(r, "created_at")), "updated_datetime",
        str_or_empty(json_object_get(r, "updated_at")), "expected_datetime",
        json_is_string(expected) ? expected : json_null(), "address",
        str_or_empty(json_object_get(r, "address")), "address_id", "", "zipcode", "", "lat", lat,
        "long", lon, "media_url", media ? media : json_string(""));
    if (o && notes) {
        json_t *hist = NULL, *out = json_array();
        struct md_ctx sub;
        md_ctx_init(&sub);
        if (md_report_history(c->w->store, json_integer_value(json_object_get(r, "id")),
                              c->api->cfg->timezone_offset_min, &hist, &sub) == MD_OK) {
            size_t i;
            json_t *h;
            json_array_foreach(hist, i, h) json_array_append_new(
                out, json_pack("{s:O s:O s:o s:O s:O}", "datetime", json_object_get(h, "at"),
                               "type", json_object_get(h, "action"), "status",
                               str_or_empty(json_object_get(h, "to")), "summary",
                               json_object_get(h, "note"), "actor_role",
                               json_object_get(h, "role")));
        }
        json_decref(hist);
        json_object_set_new(o, "notes", out);
    }
    return o;
}

static md_err o311_param_bool(struct md_call *c, const char *name, bool *out)
{
    const char *v = md__param(c, name);
    *out = false;
    if (!v || !*v || strcmp(v, "false") == 0)
        return MD_OK;
    if (strcmp(v, "true") == 0) {
        *out = true;
        return MD_OK;
    }
    return md_fail(c->ctx, MD_EINVAL, "%s must be true or false", name);
}

static md_err check_code_list(struct md_call *c, const char *name, const char *list)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n > 20 || strspn(p, "0123456789") < n)
            return md_fail(c->ctx, MD_EINVAL, "%s must be a comma-separated list of numbers", name);
        p += n + (p[n] == ',');
    }
    return MD_OK;
}

static md_err get_requests(struct md_call *c, bool xml, enum md_o311_lang lang)
{
    int offset = c->api->cfg->timezone_offset_min;
    int64_t now = md_time_now();
    struct md_report_filter f = {0};
    enum md_crs crs;
    bool notes = false, present = false, has_start = false, has_end = false, has_upd = false;
    const char *ids = NULL, *status = NULL;
    int64_t page = 1, page_size = MAX_PAGE_SIZE;
    double radius = 0;
    md_err rc = md__param_crs(c, &crs);
    if (!rc)
        rc = o311_param_bool(c, "extensions", &notes);
    if (!rc)
        rc = md__param_str(c, "service_request_id", false, 2200, &ids);
    if (!rc && ids)
        rc = check_code_list(c, "service_request_id", ids);
    if (!rc)
        rc = md__param_str(c, "service_code", false, 700, &f.service_codes);
    if (!rc && f.service_codes)
        rc = check_code_list(c, "service_code", f.service_codes);
    if (!rc && f.service_codes) { /* unknown codes: 400, as everywhere */
        struct md_query_filter known = {.category = f.service_codes};
        rc = md__check_filter(c, MD_LAYER_REPORTS, &known);
    }
    if (!rc)
        rc = md__param_time(c, "start_date", &f.created_from, &has_start);
    if (!rc)
        rc = md__param_time_end(c, "end_date", &f.created_to, &has_end);
    if (!rc)
        rc = md__param_time(c, "updated_after", &f.updated_from, &has_upd);
    if (!rc)
        rc = md__param_time_end(c, "updated_before", &f.updated_to, &present);
    has_upd = has_upd || present;
    if (!rc)
        rc = md__param_str(c, "status", false, 20, &status);
    if (!rc)
        rc = md__param_int(c, "page", false, 1, 1000000, &page);
    if (!rc)
        rc = md__param_int(c, "page_size", false, 1, MAX_PAGE_SIZE, &page_size);
    if (!rc && (md__param(c, "lat") || md__param(c, "long"))) {
        rc = md__param_lonlat(c, "long", "lat", &f.near_lon, &f.near_lat);
        f.has_near = true;
        radius = 1000;
        if (!rc)
            rc = md__param_double(c, "radius", false, &radius);
        if (!rc && !(radius > 0 && radius <= 50000))
            rc = md_fail(c->ctx, MD_EINVAL, "radius must be between 0 and 50000 metres");
        f.radius_m = radius;
        md_crs_to_wgs84(crs, f.near_lon, f.near_lat, &f.near_lon, &f.near_lat);
    }
    if (rc)
        return rc;
    if (status) {
        bool open = false, closed = false;
        for (const char *p = status; *p;) {
            size_t n = strcspn(p, ",");
            if (n == 4 && strncmp(p, "open", 4) == 0)
                open = true;
            else if (n == 6 && strncmp(p, "closed", 6) == 0)
                closed = true;
            else
                return md_fail(c->ctx, MD_EINVAL, "status must be open, closed or both");
            p += n + (p[n] == ',');
        }
        f.open_state = open && closed ? 0 : open ? 1 : 2;
    }
    /* The spec's default window: the last 90 days when no date is given. */
    if (!has_start && !has_end && !has_upd)
        f.created_from = now - (int64_t)DEFAULT_DAYS * 86400;
    if (has_start && !has_end && f.created_from + (int64_t)DEFAULT_DAYS * 86400 < now)
        f.created_to = f.created_from + (int64_t)DEFAULT_DAYS * 86400;
    if (has_end && !has_start)
        f.created_from = f.created_to - (int64_t)DEFAULT_DAYS * 86400;
    f.limit = (int)page_size;
    f.offset = (int)((page - 1) * page_size);
    json_t *reports = NULL;
    if (ids) { /* other filters are ignored when ids are given (the spec says so) */
        reports = json_array();
        int count = 0;
        for (const char *p = ids; *p && count < MAX_IDS; count++) {
            size_t n = strcspn(p, ",");
            json_t *r = NULL;
            struct md_ctx sub;
            md_ctx_init(&sub);
            if (md_report_get(c->w->store, strtoll(p, NULL, 10), now, offset, &r, &sub) == MD_OK)
                json_array_append_new(reports, r);
            else if (sub.err != MD_ENOTFOUND) {
                json_decref(reports);
                return md_fail(c->ctx, sub.err, "%s", md_ctx_message(&sub));
            }
            p += n + (p[n] == ',');
        }
    } else {
        rc = md_report_list(c->w->store, &f, now, offset, &reports, c->ctx);
        if (rc)
            return rc;
    }
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(reports, i, r) json_array_append_new(out, as_request(c, r, crs, notes, lang));
    json_decref(reports);
    return send(c, 200, xml, "service_requests", out);
}

static md_err get_request(struct md_call *c, const char *id_text, bool xml,
                          enum md_o311_lang lang)
{
    int64_t id;
    enum md_crs crs;
    bool notes;
    struct md_ctx sub;
    md_ctx_init(&sub);
    if (md_parse_int64(id_text, "id", 1, INT64_MAX, &id, &sub) || id_text[0] == '+')
        return md_fail(c->ctx, MD_ENOTFOUND, "no service request %.40s", id_text);
    md_err rc = md__param_crs(c, &crs);
    if (!rc)
        rc = o311_param_bool(c, "extensions", &notes);
    json_t *r = NULL;
    if (!rc)
        rc = md_report_get(c->w->store, id, md_time_now(), c->api->cfg->timezone_offset_min, &r,
                           c->ctx);
    if (rc)
        return rc;
    json_t *out = json_pack("[o]", as_request(c, r, crs, notes, lang));
    json_decref(r);
    return send(c, 200, xml, "service_requests", out);
}

static md_err get_token(struct md_call *c, const char *token, bool xml)
{
    int64_t id;
    if (strlen(token) > 64 || strspn(token, "0123456789abcdef") != strlen(token))
        return md_fail(c->ctx, MD_ENOTFOUND, "no service request has this token");
    md_err rc = md_report_by_token(c->w->store, token, &id, c->ctx);
    if (rc)
        return rc;
    char ids[32];
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    return send(c, 200, xml, "service_requests",
                json_pack("[{s:s s:s}]", "service_request_id", ids, "token", token));
}

/* Copy attribute[CODE]=value fields into an object. */
static json_t *form_attributes(const struct md_kv *kv, size_t n)
{
    json_t *attrs = json_object();
    for (size_t i = 0; attrs && i < n; i++) {
        const char *k = kv[i].key;
        size_t len = strlen(k);
        if (strncmp(k, "attribute[", 10) != 0 || len < 12 || k[len - 1] != ']')
            continue;
        char code[64];
        snprintf(code, sizeof(code), "%.*s", (int)(len - 11), k + 10);
        json_object_set_new(attrs, code, json_string(kv[i].value));
    }
    return attrs;
}

static md_err form_field(struct md_call *c, const struct md_kv *kv, size_t n, const char *name,
                         size_t max_chars, const char **out)
{
    const char *v = md__form_get(kv, n, name);
    *out = NULL;
    if (!v || !*v)
        return MD_OK;
    if (md_utf8_len(v) > max_chars)
        return md_fail(c->ctx, MD_EINVAL, "%s is longer than %zu characters", name, max_chars);
    *out = v;
    return MD_OK;
}

/* address_string without lat/long: the point of what the database names
 * so (store/read/address.h), else 400 saying what was tried. */
static md_err locate_address(struct md_call *c, const char *text, struct md_report_input *in)
{
    struct md_address_hit hit;
    char shown[128];
    size_t n = strlen(text), cut = n < sizeof(shown) - 1 ? n : sizeof(shown) - 1;
    while (cut < n && cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--; /* quote at most 127 bytes, whole characters */
    snprintf(shown, sizeof(shown), "%.*s", (int)cut, text);
    if (md_utf8_len(text) > 500)
        return md_fail(c->ctx, MD_EINVAL, "address_string is longer than 500 characters");
    md_err rc = md_address_lookup(c->w->store, text, &hit, c->ctx);
    if (rc)
        return rc;
    if (hit.match == MD_ADDRESS_NONE && hit.ambiguous > 1)
        return md_fail(c->ctx, MD_EINVAL,
                       "no facility, district or street named '%s': %d facilities have this"
                       " name or address; give lat and long",
                       shown, hit.ambiguous);
    if (hit.match == MD_ADDRESS_NONE && hit.street_districts > 1)
        return md_fail(c->ctx, MD_EINVAL,
                       "no facility, district or street named '%s': a street of this name lies"
                       " in %d districts; give lat and long",
                       shown, hit.street_districts);
    if (hit.match == MD_ADDRESS_NONE)
        return md_fail(c->ctx, MD_EINVAL,
                       "no facility, district or street named '%s'; give lat and long", shown);
    in->lon = hit.lon;
    in->lat = hit.lat;
    return MD_OK;
}

/* The fields of a POST: url-encoded, or multipart/form-data with the
 * photo upload `media` (GeoReport v2's media), *m then its parts (caller
 * frees). */
static md_err request_fields(struct md_call *c, const char *ctype, struct md_multipart **m,
                             struct md_kv **kv, size_t *n)
{
    while (ctype && (*ctype == ' ' || *ctype == '\t'))
        ctype++;
    if (ctype && strncasecmp(ctype, "multipart/form-data", 19) == 0) {
        md_err rc = md__multipart_body(c, m);
        return rc ? rc : md__form_from_parts(c, *m, kv, n);
    }
    if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)
        return md_fail(c->ctx, MD_EINVAL,
                       "POST requests takes application/x-www-form-urlencoded fields (or"
                       " multipart/form-data with a file `media`)");
    return md__form_parse(c, c->req->body, c->req->body_len, 200, kv, n);
}

static md_err post_fields(struct md_call *c, bool xml, enum md_o311_lang *lang,
                          const struct md_kv *kv, size_t n, const struct md_multipart *m);

static md_err post_request(struct md_call *c, bool xml, enum md_o311_lang *lang)
{
    const char *ctype = md_request_header(c->req, "Content-Type");
    struct md_kv *kv = NULL;
    size_t n = 0;
    struct md_multipart *m = NULL;
    md_err rc = request_fields(c, ctype, &m, &kv, &n);
    if (!rc)
        rc = post_fields(c, xml, lang, kv, n, m);
    free(m);
    return rc;
}

static md_err post_fields(struct md_call *c, bool xml, enum md_o311_lang *lang,
                          const struct md_kv *kv, size_t n, const struct md_multipart *m)
{
    struct md_principal who;
    struct md_report_input in = {0};
    enum md_crs crs;
    const char *first = NULL, *last = NULL, *lat_s = NULL, *lon_s = NULL, *media = NULL;
    char name[256], media_json[1100];
    md_err rc = MD_OK;
    const char *locale = md__form_get(kv, n, "locale"); /* the spec's place for it */
    if (locale && *locale && (rc = md_o311_locale(locale, lang, c->ctx)))
        return rc;
    const char *key = md__form_get(kv, n, "api_key");
    if (!key || !*key)
        return md_fail(c->ctx, MD_EUNAUTH, "api_key is required to submit a request");
    rc = md__auth_token(c, key, &who);
    if (rc && rc != MD_ERATE) {
        md_ctx_clear(c->ctx);
        return md_fail(c->ctx, MD_EUNAUTH, "api_key is not valid");
    }
    if (!rc)
        rc = md_principal_scope(&who, MD_SCOPE_REPORT_CREATE, c->ctx);
    if (rc)
        return rc;
    rc = md__param_crs(c, &crs);
    if (!rc)
        rc = form_field(c, kv, n, "service_code", 6, &in.service_code);
    if (!rc && !in.service_code)
        rc = md_fail(c->ctx, MD_EINVAL, "service_code is required");
    if (!rc && strspn(in.service_code, "0123456789") != 6)
        rc = md_fail(c->ctx, MD_EINVAL, "service_code must be a 6-digit code");
    lat_s = md__form_get(kv, n, "lat");
    lon_s = md__form_get(kv, n, "long");
    const char *address = md__form_get(kv, n, "address_string");
    bool has_lat = lat_s && *lat_s, has_lon = lon_s && *lon_s;
    if (!rc && !has_lat && !has_lon && address && *address) {
        rc = locate_address(c, address, &in); /* WGS84 already */
    } else if (!rc) {
        if (!has_lat || !has_lon)
            rc = md_fail(c->ctx, MD_EINVAL, "lat and long are required");
        if (!rc)
            rc = md_parse_double(lat_s, "lat", &in.lat, c->ctx);
        if (!rc)
            rc = md_parse_double(lon_s, "long", &in.lon, c->ctx);
        if (!rc && (in.lat < -90 || in.lat > 90))
            rc = md_fail(c->ctx, MD_EINVAL, "lat %g is outside -90..90", in.lat);
        if (!rc && (in.lon < -180 || in.lon > 180))
            rc = md_fail(c->ctx, MD_EINVAL, "long %g is outside -180..180", in.lon);
        if (!rc)
            md_crs_to_wgs84(crs, in.lon, in.lat, &in.lon, &in.lat);
    }
    if (!rc)
        rc = form_field(c, kv, n, "description", MD_DESCRIPTION_MAX, &in.description);
    if (!rc)
        rc = form_field(c, kv, n, "address_string", 500, &in.address);
    if (!rc)
        rc = form_field(c, kv, n, "email", 254, &in.contact.email);
    if (!rc)
        rc = form_field(c, kv, n, "phone", 32, &in.contact.phone);
    if (!rc)
        rc = form_field(c, kv, n, "device_id", 128, &in.contact.device_id);
    if (!rc)
        rc = form_field(c, kv, n, "first_name", 50, &first);
    if (!rc)
        rc = form_field(c, kv, n, "last_name", 50, &last);
    if (!rc)
        rc = form_field(c, kv, n, "media_url", 1000, &media);
    if (!rc && media)
        rc = md__check_media_url(c, "media_url", media);
    if (rc)
        return rc;
    if (first || last) {
        snprintf(name, sizeof(name), "%s%s%s", first ? first : "", first && last ? " " : "",
                 last ? last : "");
        in.contact.name = name;
    }
    if (media) {
        json_t *urls = json_pack("[s]", media);
        char *t = urls ? json_dumps(urls, MD_JSON_FLAGS) : NULL;
        snprintf(media_json, sizeof(media_json), "%s", t ? t : "[]");
        free(t);
        json_decref(urls);
        in.media_urls = media_json;
    }
    struct md_intake intake;
    rc = md_intake_decide(who.role, MD_INTAKE_OPEN311, false, NULL, NULL, &intake, c->ctx);
    if (rc)
        return rc;
    in.kind = intake.kind;
    in.channel = intake.channel;
    in.client_addr = c->req->client_addr;
    in.actor_role = who.role;
    in.actor_id = who.actor;
    json_t *attrs = form_attributes(kv, n);
    rc = md__report_submit(c, &in, attrs, m ? &(struct md_photo_parts){m, "media", 0} : NULL,
                           xml ? MD_CREATED_O311_XML : MD_CREATED_O311_JSON, md__open311_error);
    json_decref(attrs);
    return rc;
}

static md_err route(struct md_call *c, bool post, bool *xml, enum md_o311_lang *lang)
{
    const char *tail = c->tail;
    const char *dot = strrchr(tail, '.');
    const char *slash = strchr(tail, '/');
    *xml = false;
    if (!dot || (strcmp(dot, ".json") != 0 && strcmp(dot, ".xml") != 0))
        return md_fail(c->ctx, MD_ENOTFOUND, "Open311 resources end in .json or .xml: %s",
                       c->req->path);
    *xml = strcmp(dot, ".xml") == 0;
    char stem[256];
    size_t n = (size_t)(dot - tail);
    if (n >= sizeof(stem))
        return md_fail(c->ctx, MD_ENOTFOUND, "no such Open311 resource");
    memcpy(stem, tail, n);
    stem[n] = '\0';
    const char *arg = slash && slash < dot ? stem + (slash - tail) + 1 : NULL;
    if (arg)
        stem[slash - tail] = '\0';
    if (post) {
        if (strcmp(stem, "requests") == 0 && !arg)
            return post_request(c, *xml, lang);
        return md_fail(c->ctx, MD_EMETHOD, "only requests takes POST");
    }
    if (strcmp(stem, "discovery") == 0 && !arg)
        return discovery(c, *xml, *lang);
    if (strcmp(stem, "services") == 0)
        return arg ? service_definition(c, arg, *xml, *lang) : services(c, *xml, *lang);
    if (strcmp(stem, "requests") == 0)
        return arg ? get_request(c, arg, *xml, *lang) : get_requests(c, *xml, *lang);
    if (strcmp(stem, "tokens") == 0 && arg)
        return get_token(c, arg, *xml);
    return md_fail(c->ctx, MD_ENOTFOUND, "no such Open311 resource: %s", c->req->path);
}

/* The answer's language from the query's `locale`, else Accept-Language
 * (POST's form field `locale` overrides both, in post_request). */
static md_err request_lang(struct md_call *c, enum md_o311_lang *lang)
{
    const char *locale = md__param(c, "locale");
    const char *accept = md_request_header(c->req, "Accept-Language");
    *lang = MD_O311_DEFAULT;
    if (locale && *locale)
        return md_o311_locale(locale, lang, c->ctx);
    return accept ? md_o311_accept_language(accept, lang, c->ctx) : MD_OK;
}

static md_err handle(struct md_call *c, bool post)
{
    bool xml = false;
    enum md_o311_lang lang = MD_O311_DEFAULT;
    const char *dot = strrchr(c->tail, '.');
    md_err rc = request_lang(c, &lang);
    if (rc) /* the format is known from the path already */
        xml = dot && strcmp(dot, ".xml") == 0;
    else
        rc = route(c, post, &xml, &lang);
    const char *content_lang = rc ? "en" : md_o311_lang_tag(lang);
    if (rc && c->res->status < 400) {
        char zh[MD_CTX_MSG_MAX];
        bool translated = lang == MD_O311_ZH &&
                          md_o311_translate_zh(md_ctx_message(c->ctx), zh, sizeof(zh));
        error_body(c->res, o311_status(c->ctx->err ? c->ctx->err : rc),
                   translated ? zh : md_ctx_message(c->ctx), xml);
        content_lang = translated ? "zh" : "en";
    }
    set_content_language(c->res, content_lang);
    return rc;
}

static md_err handle_get(struct md_call *c)
{
    return handle(c, false);
}

static md_err handle_post(struct md_call *c)
{
    return handle(c, true);
}

const struct md_route md__open311_routes[] = {
    {"GET", "/open311/v2/", true, handle_get, "open311", NULL},
    {"POST", "/open311/v2/", true, handle_post, "open311_post", "requests.json requests.xml"},
};
const size_t md__open311_routes_count = sizeof(md__open311_routes) / sizeof(md__open311_routes[0]);
