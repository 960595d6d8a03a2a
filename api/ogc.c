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
 *   - geojson: items and features as application/geo+json.
 * Paging is by offset (stable: items are ordered by id / code).
 */
#include "queries.h"
#include "md_time.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OGC_DEFAULT_LIMIT 10
#define OGC_MAX_LIMIT 10000
#define CONF_CORE "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
#define CONF_GEOJSON "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
#define CONF_OAS30 "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30"
#define CRS84 "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#define OPENAPI_TYPE "application/vnd.oai.openapi+json;version=3.0"

static md_err handle_ogc(struct md_call *c);

const struct md_route md__ogc_routes[] = {
    {"GET", "/ogc", false, handle_ogc, "ogc"},
    {"GET", "/ogc/", true, handle_ogc, "ogc"},
};
const size_t md__ogc_routes_count = sizeof(md__ogc_routes) / sizeof(md__ogc_routes[0]);

struct collection {
    enum md_layer layer;
    const char *title, *description;
    const char *filters[5]; /* queryable properties (equality) */
};

static const struct collection collections[] = {
    {MD_LAYER_FACILITIES, "Facilities",
     "Convenience stores, markets, vegetable stalls, breakfast points, toilets, kiosks, parking.",
     {"category", "status", "district_code", NULL}},
    {MD_LAYER_REPORTS, "Reports",
     "Problems reported by citizens, patrol incidents and map corrections (public fields).",
     {"service_code", "kind", "status", "district_code", NULL}},
    {MD_LAYER_DISTRICTS, "Districts", "Administrative districts (GB/T 2260 codes).",
     {"code", "name", NULL}},
    {MD_LAYER_GRIDS, "Grid cells", "Unit grid cells (单元网格) with 15-digit codes.",
     {"code", "district_code", NULL}},
};
#define NCOLLECTIONS (sizeof(collections) / sizeof(collections[0]))


static md_err put_url_encoded(struct md_buf *b, const char *s)
{
    md_err rc = MD_OK;
    for (; !rc && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || strchr("-._~,:", ch))
            rc = md_buf_putc(b, (char)ch);
        else
            rc = md_buf_printf(b, "%%%02X", ch);
    }
    return rc;
}

/* The request's URL with `offset` replaced (negative: unchanged) and f=json. */
static md_err put_request_url(struct md_call *c, struct md_buf *b, int64_t offset, int64_t limit)
{
    md_err rc = md_buf_printf(b, "%s%s?", md__base_url(c), c->req->path);
    bool any = false;
    for (size_t i = 0; !rc && i < c->req->nquery; i++) {
        const char *k = c->req->query[i].key;
        if ((offset >= 0 && (strcmp(k, "offset") == 0 || strcmp(k, "limit") == 0)) ||
            strcmp(k, "f") == 0)
            continue;
        rc = md_buf_puts(b, any ? "&" : "");
        if (!rc)
            rc = put_url_encoded(b, k);
        if (!rc)
            rc = md_buf_putc(b, '=');
        if (!rc)
            rc = put_url_encoded(b, c->req->query[i].value ? c->req->query[i].value : "");
        any = true;
    }
    if (!rc && offset >= 0)
        rc = md_buf_printf(b, "%soffset=%lld&limit=%lld", any ? "&" : "", (long long)offset,
                           (long long)limit);
    else if (!rc && !any)
        b->data[--b->len] = '\0'; /* drop the lone '?' */
    return rc;
}

static md_err put_link(struct md_buf *b, bool first, const char *rel, const char *type,
                       const char *title, const char *href)
{
    md_err rc = md_buf_printf(b, "%s{\"rel\":\"%s\",\"type\":\"%s\",", first ? "" : ",", rel, type);
    if (!rc && title) {
        rc = md_buf_puts(b, "\"title\":");
        if (!rc)
            rc = md_buf_json_str(b, title);
        if (!rc)
            rc = md_buf_putc(b, ',');
    }
    if (!rc)
        rc = md_buf_puts(b, "\"href\":");
    if (!rc)
        rc = md_buf_json_str(b, href);
    return rc ? rc : md_buf_putc(b, '}');
}

/* ---- parameters: every resource lists what it accepts (query-param-unknown). */

static md_err check_params(struct md_call *c, const char *const *allowed, const char *const *more)
{
    for (size_t i = 0; i < c->req->nquery; i++) {
        const char *k = c->req->query[i].key;
        bool ok = false;
        for (const char *const *a = allowed; !ok && *a; a++)
            ok = strcmp(k, *a) == 0;
        for (const char *const *a = more; !ok && a && *a; a++)
            ok = strcmp(k, *a) == 0;
        if (!ok)
            return md_fail(c->ctx, MD_EINVAL, "unknown query parameter '%.40s'", k);
    }
    const char *f = md__param(c, "f");
    if (f && strcmp(f, "json") != 0 && strcmp(f, "geojson") != 0)
        return md_fail(c->ctx, MD_EINVAL, "f must be json (or geojson for features)");
    return MD_OK;
}

/* bbox: 4 or 6 numbers; minlon > maxlon crosses the antimeridian (two boxes). */
static md_err param_ogc_bbox(struct md_call *c, struct md_bbox boxes[2], int *nboxes)
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
    md_err rc = check_params(c, allowed, NULL);
    if (rc)
        return rc;
    rc = md_buf_puts(b, "{\"title\":\"mapd - city management map\",\"description\":\"Facilities,"
                        " reports, districts and grid cells as OGC API - Features.\",\"links\":[");
    snprintf(href, sizeof(href), "%s/ogc", base);
    if (!rc)
        rc = put_link(b, true, "self", "application/json", "This document", href);
    snprintf(href, sizeof(href), "%s/ogc/api", base);
    if (!rc)
        rc = put_link(b, false, "service-desc", OPENAPI_TYPE, "The API definition", href);
    snprintf(href, sizeof(href), "%s/ogc/conformance", base);
    if (!rc)
        rc = put_link(b, false, "conformance", "application/json", "Conformance classes", href);
    snprintf(href, sizeof(href), "%s/ogc/collections", base);
    if (!rc)
        rc = put_link(b, false, "data", "application/json", "Collections", href);
    if (!rc)
        rc = md_buf_puts(b, "]}\n");
    return rc ? md_fail(c->ctx, rc, "landing page") : send_body(c, "application/json");
}

static md_err conformance(struct md_call *c)
{
    static const char *const allowed[] = {"f", NULL};
    md_err rc = check_params(c, allowed, NULL);
    if (!rc)
        rc = md__json_body(c, "{\"conformsTo\":[\"" CONF_CORE "\",\"" CONF_GEOJSON "\",\""
                              CONF_OAS30 "\"]}\n");
    return rc;
}

static md_err api_definition(struct md_call *c)
{
    static const char *const allowed[] = {"f", NULL};
    static const char doc[] =
        "{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"mapd OGC API - Features\",\"version\":\"1.0\"},"
        "\"paths\":{"
        "\"/ogc\":{\"get\":{\"summary\":\"Landing page\",\"operationId\":\"getLandingPage\","
        "\"responses\":{\"200\":{\"description\":\"Links to the API\"}}}},"
        "\"/ogc/conformance\":{\"get\":{\"operationId\":\"getConformance\","
        "\"responses\":{\"200\":{\"description\":\"Conformance classes\"}}}},"
        "\"/ogc/collections\":{\"get\":{\"operationId\":\"getCollections\","
        "\"responses\":{\"200\":{\"description\":\"Feature collections\"}}}},"
        "\"/ogc/collections/{collectionId}\":{\"get\":{\"operationId\":\"describeCollection\","
        "\"parameters\":[{\"$ref\":\"#/components/parameters/collectionId\"}],"
        "\"responses\":{\"200\":{\"description\":\"A collection\"},\"404\":{\"description\":\"No such collection\"}}}},"
        "\"/ogc/collections/{collectionId}/items\":{\"get\":{\"operationId\":\"getFeatures\","
        "\"parameters\":[{\"$ref\":\"#/components/parameters/collectionId\"},"
        "{\"$ref\":\"#/components/parameters/limit\"},{\"$ref\":\"#/components/parameters/offset\"},"
        "{\"$ref\":\"#/components/parameters/bbox\"},{\"$ref\":\"#/components/parameters/datetime\"},"
        "{\"$ref\":\"#/components/parameters/crs\"},"
        "{\"name\":\"category\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
        "{\"name\":\"status\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
        "{\"name\":\"district_code\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
        "{\"name\":\"service_code\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
        "{\"name\":\"kind\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
        "{\"name\":\"code\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
        "{\"name\":\"name\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}}],"
        "\"responses\":{\"200\":{\"description\":\"Features\",\"content\":{\"application/geo+json\":{}}},"
        "\"400\":{\"description\":\"Bad parameter\"}}}},"
        "\"/ogc/collections/{collectionId}/items/{featureId}\":{\"get\":{\"operationId\":\"getFeature\","
        "\"parameters\":[{\"$ref\":\"#/components/parameters/collectionId\"},"
        "{\"name\":\"featureId\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}},"
        "{\"$ref\":\"#/components/parameters/crs\"}],"
        "\"responses\":{\"200\":{\"description\":\"A feature\",\"content\":{\"application/geo+json\":{}}},"
        "\"404\":{\"description\":\"No such feature\"}}}}},"
        "\"components\":{\"parameters\":{"
        "\"collectionId\":{\"name\":\"collectionId\",\"in\":\"path\",\"required\":true,"
        "\"schema\":{\"type\":\"string\",\"enum\":[\"facilities\",\"reports\",\"districts\",\"grids\"]}},"
        "\"limit\":{\"name\":\"limit\",\"in\":\"query\",\"style\":\"form\",\"explode\":false,"
        "\"schema\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000,\"default\":10}},"
        "\"offset\":{\"name\":\"offset\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":0,\"default\":0}},"
        "\"bbox\":{\"name\":\"bbox\",\"in\":\"query\",\"style\":\"form\",\"explode\":false,"
        "\"schema\":{\"type\":\"array\",\"minItems\":4,\"maxItems\":6,\"items\":{\"type\":\"number\"}}},"
        "\"datetime\":{\"name\":\"datetime\",\"in\":\"query\",\"style\":\"form\",\"explode\":false,"
        "\"schema\":{\"type\":\"string\"}},"
        "\"crs\":{\"name\":\"crs\",\"in\":\"query\",\"description\":\"wgs84 (default), gcj02 or bd09\","
        "\"schema\":{\"type\":\"string\",\"enum\":[\"wgs84\",\"gcj02\",\"bd09\"]}}}}}\n";
    md_err rc = check_params(c, allowed, NULL);
    if (!rc)
        rc = md__json_body(c, doc);
    return rc ? rc : send_body(c, OPENAPI_TYPE);
}

/* The R*Tree root's cells bound every entry: a cheap spatial extent. */
static md_err layer_extent(struct md_call *c, enum md_layer layer, struct md_bbox *box, bool *any)
{
    static const char *const node_sql[MD_LAYER__COUNT] = {
        "SELECT data FROM idx_facilities_geom_node WHERE nodeno = 1",
        "SELECT data FROM idx_reports_geom_node WHERE nodeno = 1",
        "SELECT data FROM idx_districts_geom_node WHERE nodeno = 1",
        "SELECT data FROM idx_grids_geom_node WHERE nodeno = 1"};
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(c->w->store, node_sql[layer], &st, c->ctx);
    *any = false;
    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *d = sqlite3_column_blob(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        int ncell = len >= 4 ? d[2] << 8 | d[3] : 0;
        for (int i = 0; i < ncell && 4 + (i + 1) * 24 <= len; i++) {
            double v[4];
            for (int k = 0; k < 4; k++) {
                const unsigned char *p = d + 4 + i * 24 + 8 + k * 4;
                uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
                float f;
                memcpy(&f, &u, sizeof(f));
                v[k] = f;
            }
            if (!*any)
                *box = (struct md_bbox){v[0], v[2], v[1], v[3]};
            box->minx = v[0] < box->minx ? v[0] : box->minx;
            box->maxx = v[1] > box->maxx ? v[1] : box->maxx;
            box->miny = v[2] < box->miny ? v[2] : box->miny;
            box->maxy = v[3] > box->maxy ? v[3] : box->maxy;
            *any = true;
        }
    }
    sqlite3_reset(st);
    return MD_OK;
}

static md_err time_extent(struct md_call *c, enum md_layer layer, int64_t *t0, int64_t *t1, bool *any)
{
    static const char *const sql[MD_LAYER__COUNT] = {
        "SELECT min(updated_at), max(updated_at) FROM facilities",
        "SELECT min(created_at), max(created_at) FROM reports",
        "SELECT min(updated_at), max(updated_at) FROM districts",
        "SELECT min(updated_at), max(updated_at) FROM grids"};
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(c->w->store, sql[layer], &st, c->ctx);
    *any = false;
    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *t0 = sqlite3_column_int64(st, 0);
        *t1 = sqlite3_column_int64(st, 1);
        *any = true;
    }
    sqlite3_reset(st);
    return MD_OK;
}

static md_err put_collection(struct md_call *c, struct md_buf *b, const struct collection *col)
{
    const char *name = md_layer_name(col->layer);
    const char *base = md__base_url(c);
    char href[512];
    struct md_bbox box = {-180, -90, 180, 90};
    bool has_box, has_time;
    int64_t t0 = 0, t1 = 0;
    md_err rc = layer_extent(c, col->layer, &box, &has_box);
    if (!rc)
        rc = time_extent(c, col->layer, &t0, &t1, &has_time);
    if (!rc)
        rc = md_buf_printf(b, "{\"id\":\"%s\",\"title\":", name);
    if (!rc)
        rc = md_buf_json_str(b, col->title);
    if (!rc)
        rc = md_buf_puts(b, ",\"description\":");
    if (!rc)
        rc = md_buf_json_str(b, col->description);
    if (!rc)
        rc = md_buf_puts(b, ",\"itemType\":\"feature\",\"crs\":[\"" CRS84 "\"],\"links\":[");
    snprintf(href, sizeof(href), "%s/ogc/collections/%s", base, name);
    if (!rc)
        rc = put_link(b, true, "self", "application/json", col->title, href);
    snprintf(href, sizeof(href), "%s/ogc/collections/%s/items", base, name);
    if (!rc)
        rc = put_link(b, false, "items", "application/geo+json", col->title, href);
    if (!rc)
        rc = md_buf_puts(b, "],\"extent\":{\"spatial\":{\"bbox\":[[");
    if (!rc)
        rc = md_buf_printf(b, "%.7f,%.7f,%.7f,%.7f]],\"crs\":\"" CRS84 "\"}", box.minx,
                           box.miny, box.maxx, box.maxy);
    if (!rc && has_time) {
        char a[MD_TIME_STR_MAX], z[MD_TIME_STR_MAX];
        md_time_format(t0, 0, a);
        md_time_format(t1, 0, z);
        rc = md_buf_printf(b, ",\"temporal\":{\"interval\":[[\"%s\",\"%s\"]],"
                              "\"trs\":\"http://www.opengis.net/def/uom/ISO-8601/0/Gregorian\"}",
                           a, z);
    }
    if (!rc)
        rc = md_buf_puts(b, "},\"queryables\":[");
    for (int i = 0; !rc && col->filters[i]; i++)
        rc = md_buf_printf(b, "%s\"%s\"", i ? "," : "", col->filters[i]);
    return rc ? rc : md_buf_puts(b, "]}");
}

static md_err collections_list(struct md_call *c)
{
    static const char *const allowed[] = {"f", NULL};
    struct md_buf *b = &c->res->body;
    char href[512];
    md_err rc = check_params(c, allowed, NULL);
    if (rc)
        return rc;
    rc = md_buf_puts(b, "{\"links\":[");
    snprintf(href, sizeof(href), "%s/ogc/collections", md__base_url(c));
    if (!rc)
        rc = put_link(b, true, "self", "application/json", "Collections", href);
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
    md_err rc = check_params(c, allowed, NULL);
    if (!rc)
        rc = put_collection(c, &c->res->body, col);
    if (!rc)
        rc = md_buf_puts(&c->res->body, "\n");
    if (rc)
        return c->ctx->err ? rc : md_fail(c->ctx, rc, "collection");
    return send_body(c, "application/json");
}

/* ---- items */

#define POLY_SQL(t, filter1, filter2)                                                            \
    " FROM " t " t WHERE (?1 IS NULL OR (t.rowid IN (SELECT pkid FROM idx_" t "_geom"            \
    " WHERE xmax >= ?1 AND xmin <= ?3 AND ymax >= ?2 AND ymin <= ?4)"                            \
    " AND ST_Intersects(t.geom, BuildMbr(?1, ?2, ?3, ?4, 4326)) = 1)"                            \
    " OR (?5 IS NOT NULL AND t.rowid IN (SELECT pkid FROM idx_" t "_geom"                        \
    " WHERE xmax >= ?5 AND xmin <= ?7 AND ymax >= ?6 AND ymin <= ?8)"                            \
    " AND ST_Intersects(t.geom, BuildMbr(?5, ?6, ?7, ?8, 4326)) = 1))"                           \
    " AND (?9 IS NULL OR t." filter1 " = ?9) AND (?10 IS NULL OR t." filter2 " = ?10)"           \
    " AND (?11 IS NULL OR t.updated_at >= ?11) AND (?12 IS NULL OR t.updated_at <= ?12)"

static const char dis_count[] = "SELECT count(*)" POLY_SQL("districts", "code", "name");
static const char dis_page[] =
    "SELECT t.code, t.name, t.name_en, t.label_lon, t.label_lat, t.updated_at, AsBinary(t.geom)"
    POLY_SQL("districts", "code", "name") " ORDER BY t.code LIMIT ?13 OFFSET ?14";
static const char grd_count[] = "SELECT count(*)" POLY_SQL("grids", "code", "district_code");
static const char grd_page[] =
    "SELECT t.code, t.district_code, t.updated_at, AsBinary(t.geom)"
    POLY_SQL("grids", "code", "district_code") " ORDER BY t.code LIMIT ?13 OFFSET ?14";

static void bind_poly(sqlite3_stmt *st, const struct md_bbox *boxes, int nboxes, const char *f1,
                      const char *f2, const struct md_query_filter *f)
{
    for (int i = 0; i < nboxes; i++) {
        sqlite3_bind_double(st, 1 + 4 * i, boxes[i].minx);
        sqlite3_bind_double(st, 2 + 4 * i, boxes[i].miny);
        sqlite3_bind_double(st, 3 + 4 * i, boxes[i].maxx);
        sqlite3_bind_double(st, 4 + 4 * i, boxes[i].maxy);
    }
    if (f1)
        sqlite3_bind_text(st, 9, f1, -1, SQLITE_STATIC);
    if (f2)
        sqlite3_bind_text(st, 10, f2, -1, SQLITE_STATIC);
    if (f->has_from)
        sqlite3_bind_int64(st, 11, f->from);
    if (f->has_to)
        sqlite3_bind_int64(st, 12, f->to);
}

/* Districts and grids: count and one page, written into b. */
static md_err polygon_items(struct md_call *c, enum md_layer layer, const struct md_bbox *boxes,
                            int nboxes, const struct md_query_filter *f, int64_t offset,
                            int64_t limit, enum md_crs crs, struct md_buf *features,
                            int64_t *matched, int *returned)
{
    bool dis = layer == MD_LAYER_DISTRICTS;
    const char *f1 = md__param(c, "code");
    const char *f2 = md__param(c, dis ? "name" : "district_code");
    struct md_feature_opts o = {.crs = crs, .tz_offset_min = c->api->cfg->timezone_offset_min};
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(c->w->store, dis ? dis_count : grd_count, &st, c->ctx);
    if (rc)
        return rc;
    bind_poly(st, boxes, nboxes, f1, f2, f);
    int src = sqlite3_step(st);
    *matched = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (src != SQLITE_ROW)
        return md_store_fail(c->w->store, src, "count", c->ctx);
    rc = md_store_stmt(c->w->store, dis ? dis_page : grd_page, &st, c->ctx);
    if (rc)
        return rc;
    bind_poly(st, boxes, nboxes, f1, f2, f);
    sqlite3_bind_int64(st, 13, limit);
    sqlite3_bind_int64(st, 14, offset);
    *returned = 0;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        rc = *returned ? md_buf_putc(features, ',') : MD_OK;
        if (!rc)
            rc = md__row_geojson(st, layer, &o, NULL, features);
        (*returned)++;
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(c->w->store, src, "items", c->ctx);
    sqlite3_reset(st);
    return rc;
}

/* Facilities and reports through the spatial index (query.h). */
static md_err point_items(struct md_call *c, enum md_layer layer, const struct md_bbox *boxes,
                          int nboxes, struct md_query_filter *f, int64_t offset, int64_t limit,
                          enum md_crs crs, struct md_buf *features, int64_t *matched,
                          int *returned)
{
    struct md_region r = {.kind = nboxes ? MD_REGION_BOXES : MD_REGION_ALL, .nboxes = nboxes};
    memcpy(r.boxes, boxes, sizeof(r.boxes));
    if (layer == MD_LAYER_FACILITIES) {
        f->category = md__param(c, "category");
    } else {
        f->category = md__param(c, "service_code");
        f->kind = md__param(c, "kind");
    }
    f->status = md__param(c, "status");
    f->district = md__param(c, "district_code");
    struct md_query_hit *hits = md_pool_calloc(c->req->pool, (size_t)limit, sizeof(*hits));
    if (!hits)
        return md_fail(c->ctx, MD_ENOMEM, "items");
    int n = 0;
    md_err rc = md_query_within(c->w->store, layer, &r, f, MD_ORDER_ID, offset, (int)limit, hits,
                                &n, matched, c->ctx);
    struct md_feature_opts o = {.crs = crs, .tz_offset_min = c->api->cfg->timezone_offset_min};
    *returned = 0;
    for (int i = 0; !rc && i < n; i++) {
        sqlite3_stmt *st = NULL;
        rc = md_store_stmt(c->w->store, md__layer_select_by_id(layer), &st, c->ctx);
        if (rc)
            break;
        sqlite3_bind_int64(st, 1, hits[i].id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            rc = *returned ? md_buf_putc(features, ',') : MD_OK;
            if (!rc)
                rc = md__row_geojson(st, layer, &o, NULL, features);
            (*returned)++;
        }
        sqlite3_reset(st);
    }
    return rc;
}

static md_err items(struct md_call *c, const struct collection *col)
{
    static const char *const allowed[] = {"f", "limit", "offset", "bbox", "datetime", "crs", NULL};
    struct md_query_filter f = {0};
    struct md_bbox boxes[2];
    int nboxes = 0, returned = 0;
    int64_t limit = OGC_DEFAULT_LIMIT, offset = 0, matched = 0;
    enum md_crs crs;
    struct md_buf features;
    md_buf_init(&features, c->res->body.max);
    md_err rc = check_params(c, allowed, col->filters);
    if (!rc)
        rc = md__param_int(c, "limit", false, 1, INT32_MAX, &limit);
    if (!rc)
        rc = md__param_int(c, "offset", false, 0, INT32_MAX, &offset);
    if (!rc)
        rc = param_ogc_bbox(c, boxes, &nboxes);
    if (!rc)
        rc = param_datetime(c, &f);
    if (!rc)
        rc = md__param_crs(c, &crs);
    if (rc)
        goto out;
    if (limit > OGC_MAX_LIMIT)
        limit = OGC_MAX_LIMIT;
    for (int i = 0; i < nboxes && crs != MD_CRS_WGS84; i++) { /* a bbox given in crs */
        md_crs_to_wgs84(crs, boxes[i].minx, boxes[i].miny, &boxes[i].minx, &boxes[i].miny);
        md_crs_to_wgs84(crs, boxes[i].maxx, boxes[i].maxy, &boxes[i].maxx, &boxes[i].maxy);
    }
    if (md_query_point_layer(col->layer))
        rc = point_items(c, col->layer, boxes, nboxes, &f, offset, limit, crs, &features,
                         &matched, &returned);
    else
        rc = polygon_items(c, col->layer, boxes, nboxes, &f, offset, limit, crs, &features,
                           &matched, &returned);
    if (rc)
        goto out;
    struct md_buf *b = &c->res->body;
    char stamp[MD_TIME_STR_MAX];
    md_time_format(md_time_now(), 0, stamp);
    rc = md_buf_printf(b, "{\"type\":\"FeatureCollection\",\"timeStamp\":\"%s\","
                          "\"numberMatched\":%lld,\"numberReturned\":%d,\"links\":[",
                       stamp, (long long)matched, returned);
    struct md_buf url;
    md_buf_init(&url, 64 * 1024);
    if (!rc)
        rc = put_request_url(c, &url, -1, limit);
    if (!rc)
        rc = put_link(b, true, "self", "application/geo+json", "This page", url.data);
    if (!rc && offset + returned < matched) {
        md_buf_reset(&url);
        rc = put_request_url(c, &url, offset + limit, limit);
        if (!rc)
            rc = put_link(b, false, "next", "application/geo+json", "Next page", url.data);
    }
    if (!rc && offset > 0) {
        md_buf_reset(&url);
        rc = put_request_url(c, &url, offset > limit ? offset - limit : 0, limit);
        if (!rc)
            rc = put_link(b, false, "prev", "application/geo+json", "Previous page", url.data);
    }
    if (!rc) {
        md_buf_reset(&url);
        rc = md_buf_printf(&url, "%s/ogc/collections/%s", md__base_url(c), md_layer_name(col->layer));
        if (!rc)
            rc = put_link(b, false, "collection", "application/json", col->title, url.data);
    }
    md_buf_free(&url);
    if (!rc)
        rc = md_buf_puts(b, "],\"features\":[");
    if (!rc && features.len)
        rc = md_buf_append(b, features.data, features.len);
    if (!rc)
        rc = md_buf_puts(b, "]}\n");
    if (rc && !c->ctx->err)
        rc = md_fail(c->ctx, rc, "items response too large: lower limit");
    if (!rc)
        send_body(c, "application/geo+json");
out:
    md_buf_free(&features);
    return rc;
}

static md_err one_item(struct md_call *c, const struct collection *col, const char *fid)
{
    static const char *const allowed[] = {"f", "crs", NULL};
    enum md_crs crs;
    md_err rc = check_params(c, allowed, NULL);
    if (!rc)
        rc = md__param_crs(c, &crs);
    if (rc)
        return rc;
    const char *name = md_layer_name(col->layer);
    sqlite3_stmt *st = NULL;
    rc = md_store_stmt(c->w->store, md__layer_select_by_id(col->layer), &st, c->ctx);
    if (rc)
        return rc;
    if (md_query_point_layer(col->layer)) {
        char *end = NULL;
        long long id = strtoll(fid, &end, 10);
        if (!*fid || *end || !isdigit((unsigned char)*fid))
            return md_fail(c->ctx, MD_ENOTFOUND, "no feature '%.40s' in %s", fid, name);
        sqlite3_bind_int64(st, 1, id);
    } else {
        sqlite3_bind_text(st, 1, fid, -1, SQLITE_STATIC);
    }
    char self[512], coll[512];
    snprintf(self, sizeof(self), "%s/ogc/collections/%s/items", md__base_url(c), name);
    snprintf(coll, sizeof(coll), "%s/ogc/collections/%s", md__base_url(c), name);
    struct md_feature_opts o = {.crs = crs, .tz_offset_min = c->api->cfg->timezone_offset_min,
                                .self_base = self, .collection_url = coll};
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        rc = md__row_geojson(st, col->layer, &o, NULL, &c->res->body);
        if (!rc)
            rc = md_buf_putc(&c->res->body, '\n');
        if (rc)
            rc = md_fail(c->ctx, rc, "feature");
    } else {
        rc = src == SQLITE_DONE ? md_fail(c->ctx, MD_ENOTFOUND, "no feature '%.40s' in %s", fid, name)
                                : md_store_fail(c->w->store, src, "feature", c->ctx);
    }
    sqlite3_reset(st);
    return rc ? rc : send_body(c, "application/geo+json");
}

static md_err handle_ogc(struct md_call *c)
{
    const char *p = c->req->path + 4; /* after "/ogc" */
    if (!*p || strcmp(p, "/") == 0)
        return landing(c);
    if (strcmp(p, "/conformance") == 0)
        return conformance(c);
    if (strcmp(p, "/api") == 0)
        return api_definition(c);
    if (strcmp(p, "/collections") == 0)
        return collections_list(c);
    if (strncmp(p, "/collections/", 13) == 0) {
        const char *id = p + 13;
        for (size_t i = 0; i < NCOLLECTIONS; i++) {
            const char *name = md_layer_name(collections[i].layer);
            size_t n = strlen(name);
            if (strncmp(id, name, n) != 0)
                continue;
            const char *rest = id + n;
            if (!*rest)
                return one_collection(c, &collections[i]);
            if (strcmp(rest, "/items") == 0)
                return items(c, &collections[i]);
            if (strncmp(rest, "/items/", 7) == 0 && rest[7] && !strchr(rest + 7, '/'))
                return one_item(c, &collections[i], rest + 7);
        }
    }
    return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
}
