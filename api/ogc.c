/* ogc.c - OGC API - Features - Part 1: Core, with the GeoJSON encoding,
 * under /ogc (OGC 17-069r4).
 *
 * Resources: landing page /ogc, API definition /ogc/api (OpenAPI 3.0),
 * /ogc/conformance, /ogc/collections, /ogc/collections/{id} and its
 * /items and /items/{featureId}, for the collections facilities, reports,
 * districts and grids. Requirements kept here (names from the standard):
 *   - query-param-unknown / -invalid: any parameter the definition does not
 *     list, or a bad value, answers 400;
 *   - root-success, fc-md-links, fc-links: self/alternate/items/next/prev
 *     links with types; next only when more items follow;
 *   - fc-limit-*: limit 1..10000, default 10; a larger limit is served as
 *     10000 (the permission of /per/core/limit-response);
 *   - fc-bbox-*: four or six numbers in CRS84, lower left first; a feature is
 *     returned when its geometry intersects the box; minlon > maxlon means the
 *     box crosses the antimeridian;
 *   - fc-time-*: datetime is an instant (a whole day for a date) or an
 *     interval with ".." or "" for an open end; reports carry created_at,
 *     the others updated_at;
 *   - fc-numberMatched / numberReturned, timeStamp;
 *   - geojson: items and features as application/geo+json;
 *   - html: the same resources as HTML5 for browsers (f=html or an Accept
 *     that prefers text/html; ogc_html.c renders the JSON answer); every
 *     answer carries Vary: Accept;
 *   - Part 2 crs: crs = the CRS84 URI (lon/lat) or the EPSG:4326 URI
 *     (lat/lon: the written geometry's positions are swapped), bbox-crs
 *     likewise; Content-Crs on items and item.
 * Paging is by offset (stable: items are ordered by id / code).
 */
#include "feature_read.h"
#include "md_cql2.h"
#include "md_time.h"
#include "ogc_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OGC_DEFAULT_LIMIT 10
#define OGC_MAX_LIMIT 10000
#define CRS84 MD_OGC_CRS84
#define OPENAPI_TYPE MD_OGC_OPENAPI_TYPE

static md_err handle_ogc(struct md_call *c);

const struct md_route md__ogc_routes[] = {
    {"GET", "/ogc", false, handle_ogc, "ogc", NULL},
    {"GET", "/ogc/", true, handle_ogc, "ogc", NULL},
};
const size_t md__ogc_routes_count = sizeof(md__ogc_routes) / sizeof(md__ogc_routes[0]);

#define collections md__ogc_collections
#define collection md__ogc_collection
#define NCOLLECTIONS md__ogc_ncollections

/* bbox: 4 or 6 numbers; minlon > maxlon crosses the antimeridian (two boxes). */
static md_err param_ogc_bbox(struct md_call *c, bool latlon, struct md_bbox boxes[2], int *nboxes)
{
    const char *v = md__param(c, "bbox");
    *nboxes = 0;
    if (!v)
        return MD_OK;
    double n[6];
    int count = 0;
    const char *p = v;
    while (count < 6) {
        char *end = NULL;
        n[count] = strtod(p, &end);
        if (end == p || !isfinite(n[count]))
            break;
        count++;
        p = end;
        if (*p != ',')
            break;
        p++;
    }
    if (*p || (count != 4 && count != 6))
        return md_fail(c->ctx, MD_EINVAL, "bbox must be 4 or 6 comma-separated numbers");
    if (latlon) { /* bbox-crs EPSG:4326: lat before lon */
        double t = n[0];
        n[0] = n[1];
        n[1] = t;
        t = n[count / 2];
        n[count / 2] = n[count / 2 + 1];
        n[count / 2 + 1] = t;
    }
    double x0 = n[0], y0 = n[1], x1 = n[count / 2], y1 = n[count / 2 + 1];
    if (x0 < -180 || x0 > 180 || x1 < -180 || x1 > 180 || y0 < -90 || y1 > 90)
        return md_fail(c->ctx, MD_EINVAL, "bbox is outside -180,-90,180,90");
    if (y0 > y1)
        return md_fail(c->ctx, MD_EINVAL, "bbox has its lower latitude above its upper latitude");
    if (count == 6 && n[2] > n[5])
        return md_fail(c->ctx, MD_EINVAL, "bbox has its lower height above its upper height");
    if (x0 <= x1) {
        boxes[0] = (struct md_bbox){x0, y0, x1, y1};
        *nboxes = 1;
    } else {
        boxes[0] = (struct md_bbox){x0, y0, 180, y1};
        boxes[1] = (struct md_bbox){-180, y0, x1, y1};
        *nboxes = 2;
    }
    return MD_OK;
}

static md_err parse_instant(struct md_call *c, const char *s, size_t n, bool end, int64_t *out)
{
    char buf[64];
    if (n >= sizeof(buf))
        return md_fail(c->ctx, MD_EINVAL, "datetime is not an RFC 3339 date-time");
    memcpy(buf, s, n);
    buf[n] = '\0';
    struct md_ctx sub;
    md_ctx_init(&sub);
    if (md_time_parse(buf, c->api->cfg->timezone_offset_min, out, &sub))
        return md_fail(c->ctx, MD_EINVAL, "datetime: %s", md_ctx_message(&sub));
    if (n == 10 && end) /* a date ends at the end of that day */
        *out += 86399;
    return MD_OK;
}

static md_err param_datetime(struct md_call *c, struct md_query_filter *f)
{
    const char *v = md__param(c, "datetime");
    if (!v)
        return MD_OK;
    const char *slash = strchr(v, '/');
    md_err rc = MD_OK;
    if (!slash) {
        if (strcmp(v, "..") == 0 || !*v)
            return md_fail(c->ctx, MD_EINVAL, "datetime '..' needs an interval (start/end)");
        rc = parse_instant(c, v, strlen(v), false, &f->from);
        if (!rc)
            rc = parse_instant(c, v, strlen(v), true, &f->to);
        f->has_from = f->has_to = !rc;
        return rc;
    }
    size_t n1 = (size_t)(slash - v);
    const char *end = slash + 1;
    bool open1 = n1 == 0 || (n1 == 2 && strncmp(v, "..", 2) == 0);
    bool open2 = !*end || strcmp(end, "..") == 0;
    if (strchr(end, '/'))
        return md_fail(c->ctx, MD_EINVAL, "datetime has more than one '/'");
    if (!open1 && !(rc = parse_instant(c, v, n1, false, &f->from)))
        f->has_from = true;
    if (!rc && !open2 && !(rc = parse_instant(c, end, strlen(end), true, &f->to)))
        f->has_to = true;
    if (!rc && f->has_from && f->has_to && f->from > f->to)
        rc = md_fail(c->ctx, MD_EINVAL, "datetime interval ends before it starts");
    return rc;
}

/* ---- resources */

static md_err send_body(struct md_call *c, const char *type)
{
    c->res->content_type = type;
    return MD_OK;
}

static md_err landing(struct md_call *c)
{
    static const char *const allowed[] = {"f", NULL};
    struct md_buf *b = &c->res->body;
    const char *base = md__base_url(c);
    char href[512];
    md_err rc = md__ogc_check_params(c, allowed, NULL, NULL, 0);
    if (rc)
        return rc;
    rc = md_buf_puts(b, "{\"title\":\"mapd - city management map\",\"description\":\"Facilities,"
                        " reports, districts and grid cells as OGC API - Features.\",\"links\":[");
    snprintf(href, sizeof(href), "%s/ogc", base);
    if (!rc)
        rc = md__ogc_put_link(b, true, "self", "application/json", "This document", href);
    if (!rc)
        rc = md__ogc_put_html_link(b, href);
    snprintf(href, sizeof(href), "%s/ogc/api", base);
    if (!rc)
        rc = md__ogc_put_link(b, false, "service-desc", OPENAPI_TYPE, "The API definition", href);
    snprintf(href, sizeof(href), "%s/ogc/api?f=html", base);
    if (!rc)
        rc = md__ogc_put_link(b, false, "service-doc", "text/html", "The API definition as HTML",
                              href);
    snprintf(href, sizeof(href), "%s/ogc/conformance", base);
    if (!rc)
        rc = md__ogc_put_link(b, false, "conformance", "application/json", "Conformance classes",
                              href);
    snprintf(href, sizeof(href), "%s/ogc/collections", base);
    if (!rc)
        rc = md__ogc_put_link(b, false, "data", "application/json", "Collections", href);
    if (!rc)
        rc = md_buf_puts(b, "]}\n");
    return rc ? md_fail(c->ctx, rc, "landing page") : send_body(c, "application/json");
}

static md_err put_collection(struct md_call *c, struct md_buf *b, const struct collection *col)
{
    const char *name = md_layer_name(col->layer);
    const char *base = md__base_url(c);
    char href[512];
    struct md_bbox box = {-180, -90, 180, 90};
    bool has_box, has_time;
    int64_t t0 = 0, t1 = 0;
    md_err rc = md_store_layer_bounds(c->w->store, col->layer, &box, &has_box, c->ctx);
    if (!rc)
        rc = md_store_layer_time_range(c->w->store, col->layer, &t0, &t1, &has_time, c->ctx);
    if (!rc)
        rc = md_buf_printf(b, "{\"id\":\"%s\",\"title\":", name);
    if (!rc)
        rc = md_buf_json_str(b, col->title);
    if (!rc)
        rc = md_buf_puts(b, ",\"description\":");
    if (!rc)
        rc = md_buf_json_str(b, col->description);
    if (!rc)
        rc = md_buf_printf(b,
                           ",\"itemType\":\"feature\",\"crs\":[\"" CRS84 "\",\"" MD_OGC_EPSG4326
                           "\"],\"storageCrs\":\"" CRS84 "\",\"temporalProperty\":\"%s\","
                           "\"links\":[",
                           md__ogc_temporal(col->layer));
    snprintf(href, sizeof(href), "%s/ogc/collections/%s", base, name);
    if (!rc)
        rc = md__ogc_put_link(b, true, "self", "application/json", col->title, href);
    if (!rc)
        rc = md__ogc_put_html_link(b, href);
    snprintf(href, sizeof(href), "%s/ogc/collections/%s/items", base, name);
    if (!rc)
        rc = md__ogc_put_link(b, false, "items", "application/geo+json", col->title, href);
    snprintf(href, sizeof(href), "%s/ogc/collections/%s/queryables", base, name);
    if (!rc)
        rc = md__ogc_put_link(b, false, "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                              MD_OGC_SCHEMA_TYPE, "Queryables", href);
    snprintf(href, sizeof(href), "%s/ogc/collections/%s/schema", base, name);
    if (!rc)
        rc = md__ogc_put_link(b, false, "http://www.opengis.net/def/rel/ogc/1.0/schema",
                              MD_OGC_SCHEMA_TYPE, "Schema of the properties", href);
    snprintf(href, sizeof(href), "%s/ogc/collections/%s/feature-schema", base, name);
    if (!rc)
        rc = md__ogc_put_link(b, false, "describedBy", MD_OGC_SCHEMA_TYPE,
                              "JSON Schema of a feature", href);
    if (!rc)
        rc = md_buf_puts(b, "],\"extent\":{\"spatial\":{\"bbox\":[[");
    if (!rc)
        rc = md_buf_printf(b, "%.7f,%.7f,%.7f,%.7f]],\"crs\":\"" CRS84 "\"}", box.minx, box.miny,
                           box.maxx, box.maxy);
    if (!rc && has_time) {
        char a[MD_TIME_STR_MAX], z[MD_TIME_STR_MAX];
        md_time_format(t0, 0, a);
        md_time_format(t1, 0, z);
        rc = md_buf_printf(b,
                           ",\"temporal\":{\"interval\":[[\"%s\",\"%s\"]],"
                           "\"trs\":\"http://www.opengis.net/def/uom/ISO-8601/0/Gregorian\"}",
                           a, z);
    }
    return rc ? rc : md_buf_puts(b, "}}");
}

static md_err collections_list(struct md_call *c)
{
    static const char *const allowed[] = {"f", NULL};
    struct md_buf *b = &c->res->body;
    char href[512];
    md_err rc = md__ogc_check_params(c, allowed, NULL, NULL, 0);
    if (rc)
        return rc;
    rc = md_buf_puts(b, "{\"links\":[");
    snprintf(href, sizeof(href), "%s/ogc/collections", md__base_url(c));
    if (!rc)
        rc = md__ogc_put_link(b, true, "self", "application/json", "Collections", href);
    if (!rc)
        rc = md__ogc_put_html_link(b, href);
    if (!rc)
        rc = md_buf_puts(b, "],\"collections\":[");
    for (size_t i = 0; !rc && i < NCOLLECTIONS; i++) {
        if (i)
            rc = md_buf_putc(b, ',');
        if (!rc)
            rc = put_collection(c, b, &collections[i]);
    }
    if (!rc)
        rc = md_buf_puts(b, "]}\n");
    if (rc)
        return c->ctx->err ? rc : md_fail(c->ctx, rc, "collections");
    return send_body(c, "application/json");
}

static md_err one_collection(struct md_call *c, const struct collection *col)
{
    static const char *const allowed[] = {"f", NULL};
    md_err rc = md__ogc_check_params(c, allowed, NULL, NULL, 0);
    if (!rc)
        rc = put_collection(c, &c->res->body, col);
    if (!rc)
        rc = md_buf_puts(&c->res->body, "\n");
    if (rc)
        return c->ctx->err ? rc : md_fail(c->ctx, rc, "collection");
    return send_body(c, "application/json");
}

/* ---- items */

/* ---- items: one page from md_store_features (store/read/feature_query.h) */

/* The opaque cursor of a next link: hex of "<key>\x1f<sort>", each value as
 * 'i' + integer, 'r' + %.17g, 's' + text or 'n' (NULL). */
static md_err put_cursor_value(struct md_buf *b, const struct md_key_value *v)
{
    if (v->is_null)
        return md_buf_putc(b, 'n');
    if (v->is_text)
        return md_buf_printf(b, "s%s", v->s);
    return md_buf_printf(b, "i%lld", (long long)v->i);
}

static md_err cursor_encode(const struct md_feature_cursor *cur, struct md_buf *out)
{
    struct md_buf raw;
    md_buf_init(&raw, 4096);
    md_err rc = put_cursor_value(&raw, &cur->key);
    if (!rc && cur->has_sort) {
        rc = md_buf_putc(&raw, '\x1f');
        if (!rc && !cur->sort.is_null && !cur->sort.is_text && cur->sort.r != (double)cur->sort.i)
            rc = md_buf_printf(&raw, "r%.17g", cur->sort.r);
        else if (!rc)
            rc = put_cursor_value(&raw, &cur->sort);
    }
    for (size_t i = 0; !rc && i < raw.len; i++)
        rc = md_buf_printf(out, "%02x", (unsigned char)raw.data[i]);
    md_buf_free(&raw);
    return rc;
}

static bool cursor_value_parse(struct md_pool *pool, const char *s, struct md_key_value *v)
{
    memset(v, 0, sizeof(*v));
    char *end = NULL;
    switch (*s) {
    case 'n':
        v->is_null = true;
        return s[1] == '\0';
    case 's':
        v->is_text = true;
        v->s = md_pool_strdup(pool, s + 1);
        return v->s != NULL;
    case 'i':
        v->i = strtoll(s + 1, &end, 10);
        v->r = (double)v->i;
        return end != s + 1 && !*end;
    case 'r':
        v->r = strtod(s + 1, &end);
        return end != s + 1 && !*end && isfinite(v->r);
    default:
        return false;
    }
}

static md_err cursor_decode(struct md_call *c, const char *hex, bool has_sort,
                            struct md_feature_cursor *cur)
{
    size_t n = strlen(hex);
    char *raw = n % 2 == 0 && n <= 2048 ? md_pool_alloc(c->req->pool, n / 2 + 1) : NULL;
    for (size_t i = 0; raw && i < n / 2; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1 || v == 0)
            raw = NULL;
        else
            raw[i] = (char)v;
    }
    if (raw)
        raw[n / 2] = '\0';
    char *sep = raw ? strchr(raw, '\x1f') : NULL;
    if (sep)
        *sep = '\0';
    memset(cur, 0, sizeof(*cur));
    cur->has_sort = has_sort;
    bool ok = raw && (sep != NULL) == has_sort &&
              cursor_value_parse(c->req->pool, raw, &cur->key) && !cur->key.is_null &&
              (!sep || cursor_value_parse(c->req->pool, sep + 1, &cur->sort));
    if (!ok)
        return md_fail(c->ctx, MD_EINVAL,
                       "cursor is not one of this server's next links"
                       " (for this sortby)");
    return MD_OK;
}

/* One equality node "<field> = <value>" for a queryable given as a parameter. */
static md_err equality_node(struct md_call *c, const struct md_field *f, const char *value,
                            struct md_cql_node **out)
{
    struct md_cql_node *n = md_pool_calloc(c->req->pool, 1, sizeof(*n));
    struct md_cql_value *v = md_pool_calloc(c->req->pool, 1, sizeof(*v));
    if (!n || !v)
        return md_fail(c->ctx, MD_ENOMEM, "items");
    n->kind = MD_CQL_CMP;
    n->prop = f->name;
    n->op = MD_CQL_EQ;
    n->values = v;
    n->nvalues = 1;
    v->type = MD_CQL_STRING;
    v->string = value;
    if (f->type == MD_FIELD_INT || f->type == MD_FIELD_REAL) {
        char *end = NULL;
        v->type = MD_CQL_NUMBER;
        v->number = strtod(value, &end);
        if (!*value || *end || !isfinite(v->number))
            return md_fail(c->ctx, MD_EINVAL, "%s must be a number", f->name);
    }
    *out = n;
    return MD_OK;
}

static md_err and_node(struct md_call *c, struct md_cql_node **root, struct md_cql_node *n)
{
    if (!*root) {
        *root = n;
        return MD_OK;
    }
    struct md_cql_node *a = md_pool_calloc(c->req->pool, 1, sizeof(*a));
    if (!a)
        return md_fail(c->ctx, MD_ENOMEM, "items");
    a->kind = MD_CQL_AND;
    a->a = *root;
    a->b = n;
    *root = a;
    return MD_OK;
}

/* filter + filter-lang, then every queryable given as a parameter, ANDed. */
static md_err items_filter(struct md_call *c, const struct md_field *fields, int nfields,
                           struct md_cql_node **root)
{
    const char *lang = md__param(c, "filter-lang");
    const char *text = md__param(c, "filter");
    const char *fcrs = md__param(c, "filter-crs");
    md_err rc = MD_OK;
    *root = NULL;
    if (lang && strcmp(lang, "cql2-text") != 0 && strcmp(lang, "cql-text") != 0)
        return md_fail(c->ctx, MD_EINVAL, "filter-lang must be cql2-text (or cql-text)");
    if (fcrs && strcmp(fcrs, CRS84) != 0)
        return md_fail(c->ctx, MD_EINVAL, "filter-crs must be " CRS84);
    if (text)
        rc = md_cql2_parse(text, strlen(text), c->api->cfg->timezone_offset_min, c->req->pool, root,
                           c->ctx);
    for (int i = 0; !rc && i < nfields; i++) {
        const char *v = md__param(c, fields[i].name);
        struct md_cql_node *n = NULL;
        if (v && !(rc = equality_node(c, &fields[i], v, &n)))
            rc = and_node(c, root, n);
    }
    return rc;
}

static md_err param_sortby(struct md_call *c, struct md_feature_query *q)
{
    const char *v = md__param(c, "sortby");
    if (!v)
        return MD_OK;
    if (*v == '-' || *v == '+') {
        q->sort_desc = *v == '-';
        v++;
    }
    if (strchr(v, ','))
        return md_fail(c->ctx, MD_EINVAL, "sortby takes one property");
    for (int i = 0; i < q->nfields; i++)
        if (strcmp(q->fields[i].name, v) == 0) {
            q->sort_field = q->fields[i].name;
            return MD_OK;
        }
    return md_fail(c->ctx, MD_EINVAL, "sortby: '%.40s' is not a queryable of this collection", v);
}

/* bbox-crs: CRS84 (lon/lat, the default) or EPSG:4326 (lat/lon: *latlon). */
static md_err param_bbox_crs(struct md_call *c, bool *latlon)
{
    const char *v = md__param(c, "bbox-crs");
    *latlon = v && strcmp(v, MD_OGC_EPSG4326) == 0;
    if (v && !*latlon && strcmp(v, CRS84) != 0)
        return md_fail(c->ctx, MD_EINVAL,
                       "bbox-crs '%.100s' is not supported: use " CRS84 " or " MD_OGC_EPSG4326, v);
    return MD_OK;
}

/* crs (Part 2): the CRS84 URI (lon/lat), the EPSG:4326 URI (the same datum
 * in that CRS's axis order, lat/lon: *latlon), or one of mapd's own names
 * wgs84/gcj02/bd09 (md_crs_parse, lon/lat). Any other URI is refused by name. */
static md_err param_ogc_crs(struct md_call *c, enum md_crs *crs, bool *latlon)
{
    const char *v = md__param(c, "crs");
    *crs = MD_CRS_WGS84;
    *latlon = v && strcmp(v, MD_OGC_EPSG4326) == 0;
    if (v && (*latlon || strcmp(v, CRS84) == 0))
        return MD_OK;
    if (v && (strncmp(v, "http:", 5) == 0 || strncmp(v, "https:", 6) == 0 ||
              strncmp(v, "urn:", 4) == 0 || *v == '['))
        return md_fail(c->ctx, MD_EINVAL,
                       "crs '%.100s' is not supported: use " CRS84 " or " MD_OGC_EPSG4326, v);
    return md__param_crs(c, crs);
}

/* The Content-Crs header (Part 2, /req/crs/ogc-crs-header): the URI in angle
 * brackets. gcj02 and bd09 have no URI; their answers say CRS84, the datum
 * they are offsets of. */
static md_err content_crs(struct md_call *c, bool latlon)
{
    return md_response_header(c->res, c->req->pool, "Content-Crs",
                              latlon ? "<" MD_OGC_EPSG4326 ">" : "<" CRS84 ">");
}

/* Swaps the two first numbers of the position at `s` ("x,y" -> "y,x", any
 * third number stays). The text keeps its length. */
static void swap_position(char *s, const char *end)
{
    char *comma = s;
    while (comma < end && *comma != ',' && *comma != ']')
        comma++;
    if (comma >= end || *comma != ',')
        return;
    char *stop = comma + 1;
    while (stop < end && *stop != ',' && *stop != ']')
        stop++;
    size_t n1 = (size_t)(comma - s), n2 = (size_t)(stop - comma - 1);
    char tmp[96];
    if (n1 + n2 + 1 > sizeof(tmp))
        return;
    memcpy(tmp, comma + 1, n2);
    tmp[n2] = ',';
    memcpy(tmp + n2 + 1, s, n1);
    memcpy(s, tmp, n1 + n2 + 1);
}

/* Rewrites the geometry of the one feature written at b->data + from into
 * lat/lon order (EPSG:4326's axis order). md__row_geojson writes the
 * geometry before the properties, and a key "coordinates" inside a string
 * would have its quotes escaped, so the first "coordinates": before
 * "properties": is the geometry's. Every innermost array is a position. */
static void swap_axes(struct md_buf *b, size_t from)
{
    static const char key[] = "\"coordinates\":", props[] = ",\"properties\":";
    char *p = b->data + from, *end = b->data + b->len;
    char *found = NULL;
    for (; p + sizeof(props) - 1 <= end; p++) {
        if (memcmp(p, props, sizeof(props) - 1) == 0)
            break;
        if (memcmp(p, key, sizeof(key) - 1) == 0) {
            found = p + sizeof(key) - 1;
            break;
        }
    }
    int depth = 0;
    for (p = found; p && p < end; p++) {
        if (*p == '[') {
            depth++;
            if (p + 1 < end && p[1] != '[' && p[1] != ']')
                swap_position(p + 1, end);
        } else if (*p == ']' && --depth <= 0) {
            break;
        }
    }
}

/* md_row_fn: a row as a GeoJSON feature, comma-separated from the last. */
struct feature_out {
    enum md_layer layer;
    const struct md_feature_opts *o;
    struct md_buf *b;
    int written;
    bool latlon; /* crs EPSG:4326: positions in lat/lon order */
};

static md_err feature_row(const struct md_row *row, void *userdata)
{
    struct feature_out *f = userdata;
    md_err rc = f->written++ ? md_buf_putc(f->b, ',') : MD_OK;
    size_t from = f->b->len;
    if (!rc)
        rc = md__row_geojson(row, f->layer, f->o, NULL, f->b);
    if (!rc && f->latlon)
        swap_axes(f->b, from);
    return rc;
}

static md_err render_page(struct md_call *c, const struct md__ogc_collection *col,
                          const struct md_feature_page *page, enum md_crs crs, bool latlon,
                          struct md_buf *features)
{
    struct md_feature_opts o = {.crs = crs, .tz_offset_min = c->api->cfg->timezone_offset_min};
    struct feature_out out = {col->layer, &o, features, 0, latlon};
    md_err rc = MD_OK;
    bool found;
    for (int i = 0; !rc && i < page->n; i++)
        rc = md_store_feature_get(c->w->store, col->layer, &page->keys[i], feature_row, &out,
                                  &found, c->ctx);
    return rc;
}

static md_err items_links(struct md_call *c, const struct md__ogc_collection *col,
                          const struct md_feature_page *page, int64_t offset, int64_t limit,
                          struct md_buf *b)
{
    struct md_buf url, cur;
    md_buf_init(&url, 64 * 1024);
    md_buf_init(&cur, 8192);
    md_err rc = md__ogc_page_url(c, &url, NULL);
    if (!rc)
        rc = md__ogc_put_link(b, true, "self", "application/geo+json", "This page", url.data);
    if (!rc)
        rc = md__ogc_put_html_link(b, url.data);
    if (!rc && page->more) {
        md_buf_reset(&url);
        rc = md_buf_puts(&cur, "cursor=");
        if (!rc)
            rc = cursor_encode(&page->last, &cur);
        if (!rc)
            rc = md__ogc_page_url(c, &url, cur.data);
        if (!rc)
            rc = md__ogc_put_link(b, false, "next", "application/geo+json", "Next page", url.data);
    }
    if (!rc && offset > 0 && !md__param(c, "cursor")) {
        md_buf_reset(&url);
        md_buf_reset(&cur);
        rc = md_buf_printf(&cur, "offset=%lld", (long long)(offset > limit ? offset - limit : 0));
        if (!rc)
            rc = md__ogc_page_url(c, &url, cur.data);
        if (!rc)
            rc = md__ogc_put_link(b, false, "prev", "application/geo+json", "Previous page",
                                  url.data);
    }
    if (!rc) {
        md_buf_reset(&url);
        rc = md_buf_printf(&url, "%s/ogc/collections/%s", md__base_url(c),
                           md_layer_name(col->layer));
        if (!rc)
            rc = md__ogc_put_link(b, false, "collection", "application/json", col->title, url.data);
    }
    md_buf_free(&url);
    md_buf_free(&cur);
    return rc;
}

static md_err items(struct md_call *c, const struct md__ogc_collection *col)
{
    static const char *const allowed[] = {
        "f",      "limit",       "offset",     "bbox",   "bbox-crs", "datetime", "crs",
        "filter", "filter-lang", "filter-crs", "sortby", "cursor",   NULL};
    struct md_field fields[MD_LAYER_MAX_FIELDS];
    int nfields = md_layer_filter_fields(col->layer, fields, MD_LAYER_MAX_FIELDS);
    struct md_query_filter f = {0};
    struct md_feature_query q = {.layer = col->layer,
                                 .fields = fields,
                                 .nfields = nfields,
                                 .time_field = md__ogc_temporal(col->layer),
                                 .tz_offset_min = c->api->cfg->timezone_offset_min};
    struct md_feature_cursor after;
    struct md_feature_page page;
    struct md_cql_node *filter = NULL;
    int64_t limit = OGC_DEFAULT_LIMIT, offset = 0;
    enum md_crs crs;
    struct md_buf features;
    md_buf_init(&features, c->res->body.max);
    md_err rc = md__ogc_check_params(c, allowed, NULL, fields, nfields);
    if (!rc)
        rc = md__param_int(c, "limit", false, 1, INT32_MAX, &limit);
    if (!rc)
        rc = md__param_int(c, "offset", false, 0, INT32_MAX, &offset);
    bool bbox_latlon = false, latlon = false;
    if (!rc)
        rc = param_bbox_crs(c, &bbox_latlon);
    if (!rc)
        rc = param_ogc_bbox(c, bbox_latlon, q.boxes, &q.nboxes);
    if (!rc)
        rc = param_datetime(c, &f);
    if (!rc)
        rc = param_ogc_crs(c, &crs, &latlon);
    if (!rc)
        rc = items_filter(c, fields, nfields, &filter);
    if (!rc)
        rc = param_sortby(c, &q);
    if (!rc && md__param(c, "cursor"))
        rc = cursor_decode(c, md__param(c, "cursor"), q.sort_field != NULL, &after);
    if (rc)
        goto out;
    if (limit > OGC_MAX_LIMIT)
        limit = OGC_MAX_LIMIT;
    for (int i = 0; i < q.nboxes && crs != MD_CRS_WGS84 && !md__param(c, "bbox-crs");
         i++) { /* without bbox-crs, a bbox in gcj02/bd09 when crs says so */
        md_crs_to_wgs84(crs, q.boxes[i].minx, q.boxes[i].miny, &q.boxes[i].minx, &q.boxes[i].miny);
        md_crs_to_wgs84(crs, q.boxes[i].maxx, q.boxes[i].maxy, &q.boxes[i].maxx, &q.boxes[i].maxy);
    }
    q.filter = filter;
    q.has_from = f.has_from;
    q.has_to = f.has_to;
    q.from = f.from;
    q.to = f.to;
    q.after = md__param(c, "cursor") ? &after : NULL;
    q.offset = q.after ? 0 : offset;
    q.limit = (int)limit;
    rc = md_store_features(c->w->store, &q, c->req->pool, &page, c->ctx);
    if (!rc)
        rc = render_page(c, col, &page, crs, latlon, &features);
    if (rc)
        goto out;
    struct md_buf *b = &c->res->body;
    char stamp[MD_TIME_STR_MAX];
    md_time_format(md_time_now(), 0, stamp);
    rc = md_buf_printf(b, "{\"type\":\"FeatureCollection\",\"timeStamp\":\"%s\",", stamp);
    if (!rc && page.has_matched)
        rc = md_buf_printf(b, "\"numberMatched\":%lld,", (long long)page.matched);
    if (!rc)
        rc = md_buf_printf(b, "\"numberReturned\":%d,\"links\":[", page.n);
    if (!rc)
        rc = items_links(c, col, &page, q.offset, limit, b);
    if (!rc)
        rc = md_buf_puts(b, "],\"features\":[");
    if (!rc && features.len)
        rc = md_buf_append(b, features.data, features.len);
    if (!rc)
        rc = md_buf_puts(b, "]}\n");
    if (rc && !c->ctx->err)
        rc = md_fail(c->ctx, rc, "items response too large: lower limit");
    if (!rc)
        rc = content_crs(c, latlon);
    if (!rc)
        send_body(c, "application/geo+json");
out:
    md_buf_free(&features);
    return rc;
}
/* /req/core/f-links: the feature (md__row_geojson with self_base: its links
 * array closes the object, "]}") also links to its HTML form. */
static md_err put_feature_alternate(struct md_call *c)
{
    struct md_buf *b = &c->res->body;
    if (b->len < 2 || memcmp(b->data + b->len - 2, "]}", 2) != 0)
        return MD_OK;
    char href[600];
    snprintf(href, sizeof(href), "%s%s", md__base_url(c), c->req->path);
    b->len -= 2;
    md_err rc = md__ogc_put_html_link(b, href);
    return rc ? rc : md_buf_puts(b, "]}");
}

static md_err one_item(struct md_call *c, const struct collection *col, const char *fid)
{
    static const char *const allowed[] = {"f", "crs", NULL};
    enum md_crs crs;
    bool latlon = false;
    md_err rc = md__ogc_check_params(c, allowed, NULL, NULL, 0);
    if (!rc)
        rc = param_ogc_crs(c, &crs, &latlon);
    if (rc)
        return rc;
    const char *name = md_layer_name(col->layer);
    struct md_key_value key = {.is_text = !md_query_point_layer(col->layer), .s = fid};
    if (!key.is_text) {
        char *end = NULL;
        key.i = strtoll(fid, &end, 10);
        if (!*fid || *end || !isdigit((unsigned char)*fid))
            return md_fail(c->ctx, MD_ENOTFOUND, "no feature '%.40s' in %s", fid, name);
    }
    char self[512], coll[512];
    snprintf(self, sizeof(self), "%s/ogc/collections/%s/items", md__base_url(c), name);
    snprintf(coll, sizeof(coll), "%s/ogc/collections/%s", md__base_url(c), name);
    struct md_feature_opts o = {.crs = crs,
                                .tz_offset_min = c->api->cfg->timezone_offset_min,
                                .self_base = self,
                                .collection_url = coll};
    struct feature_out out = {col->layer, &o, &c->res->body, 0, latlon};
    bool found = false;
    rc = md_store_feature_get(c->w->store, col->layer, &key, feature_row, &out, &found, c->ctx);
    if (!rc && !found)
        return md_fail(c->ctx, MD_ENOTFOUND, "no feature '%.40s' in %s", fid, name);
    if (!rc)
        rc = put_feature_alternate(c);
    if (!rc)
        rc = md_buf_putc(&c->res->body, '\n');
    if (!rc)
        rc = content_crs(c, latlon);
    if (rc && !c->ctx->err)
        rc = md_fail(c->ctx, rc, "feature");
    return rc ? rc : send_body(c, "application/geo+json");
}

/* The JSON answer of one resource; *page says which HTML rendering it has
 * (-1: none) and *col its collection. */
static md_err route_ogc(struct md_call *c, int *page, const struct collection **col)
{
    const char *p = c->req->path + 4; /* after "/ogc" */
    *page = -1;
    *col = NULL;
    if (!*p || strcmp(p, "/") == 0) {
        *page = MD_OGC_LANDING;
        return landing(c);
    }
    if (strcmp(p, "/conformance") == 0) {
        *page = MD_OGC_CONFORMANCE;
        return md__ogc_conformance(c);
    }
    if (strcmp(p, "/api") == 0) {
        *page = MD_OGC_API;
        return md__ogc_api_definition(c);
    }
    if (strcmp(p, "/collections") == 0) {
        *page = MD_OGC_COLLECTIONS;
        return collections_list(c);
    }
    if (strncmp(p, "/collections/", 13) == 0) {
        const char *id = p + 13;
        for (size_t i = 0; i < NCOLLECTIONS; i++) {
            const char *name = md_layer_name(collections[i].layer);
            size_t n = strlen(name);
            if (strncmp(id, name, n) != 0)
                continue;
            const char *rest = id + n;
            *col = &collections[i];
            if (!*rest) {
                *page = MD_OGC_COLLECTION;
                return one_collection(c, &collections[i]);
            }
            if (strcmp(rest, "/items") == 0) {
                *page = MD_OGC_ITEMS;
                return items(c, &collections[i]);
            }
            if (strcmp(rest, "/queryables") == 0)
                return md__ogc_queryables(c, &collections[i]);
            if (strcmp(rest, "/schema") == 0 || strcmp(rest, "/feature-schema") == 0)
                return md__ogc_schema(c, &collections[i], rest[1] == 'f');
            if (strncmp(rest, "/items/", 7) == 0 && rest[7] && !strchr(rest + 7, '/')) {
                *page = MD_OGC_ITEM;
                return one_item(c, &collections[i], rest + 7);
            }
        }
    }
    return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
}

/* Every answer depends on Accept (HTML for a browser, JSON otherwise). The
 * HTML is rendered from the JSON answer, so the two always agree. */
static md_err handle_ogc(struct md_call *c)
{
    int page;
    const struct collection *col;
    md_err rc = md_response_header(c->res, c->req->pool, "Vary", "Accept");
    if (!rc)
        rc = route_ogc(c, &page, &col);
    const char *f = md__param(c, "f");
    bool html = !rc && md__ogc_wants_html(c);
    if (html && page < 0 && f && strcmp(f, "html") == 0)
        return md_fail(c->ctx, MD_EINVAL, "f=html: this resource is JSON only (f=json)");
    if (html && page >= 0)
        rc = md__ogc_html(c, (enum md__ogc_page)page, col);
    return rc;
}
