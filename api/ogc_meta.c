/* ogc_meta.c - the descriptive resources of /ogc (ogc_int.h): the OpenAPI
 * 3.0 definition, the conformance classes, Part 3 queryables and Part 5
 * schemas, each generated from the one list of public columns
 * (md_layer_filter_fields, store/read/layer_fields.h), so a property is typed the same in every
 * document and in the items.
 *
 * The OpenAPI paths are relative to the API root (servers[0].url is
 * <base>/ogc), as clients resolve them (GDAL looks up
 * /collections/{collectionId}/items, then /collections/<id>/items for the
 * parameters a collection accepts: each queryable is listed there as an
 * equality parameter, and filter-lang lists cql2-text and GDAL's cql-text).
 */
#include "layer_fields.h"
#include "ogc_int.h"

#include <ctype.h>
#include <jansson.h>
#include <string.h>

/* ---- the collections and what every resource shares */

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

md_err md__ogc_page_url(struct md_call *c, struct md_buf *b, const char *extra)
{
    md_err rc = md_buf_printf(b, "%s%s", md__base_url(c), c->req->path);
    bool any = false;
    for (size_t i = 0; !rc && i < c->req->nquery; i++) {
        const char *k = c->req->query[i].key;
        if ((extra && (strcmp(k, "offset") == 0 || strcmp(k, "cursor") == 0)) ||
            strcmp(k, "f") == 0)
            continue;
        rc = md_buf_putc(b, any ? '&' : '?');
        if (!rc)
            rc = put_url_encoded(b, k);
        if (!rc)
            rc = md_buf_putc(b, '=');
        if (!rc)
            rc = put_url_encoded(b, c->req->query[i].value ? c->req->query[i].value : "");
        any = true;
    }
    if (!rc && extra)
        rc = md_buf_printf(b, "%c%s", any ? '&' : '?', extra);
    return rc;
}

const struct md__ogc_collection md__ogc_collections[] = {
    {MD_LAYER_FACILITIES, "Facilities",
     "Convenience stores, markets, vegetable stalls, breakfast points, toilets, kiosks, parking.",
     "Point"},
    {MD_LAYER_REPORTS, "Reports",
     "Problems reported by citizens, patrol incidents and map corrections (public fields).",
     "Point"},
    {MD_LAYER_DISTRICTS, "Districts", "Administrative districts (GB/T 2260 codes).",
     "MultiPolygon"},
    {MD_LAYER_GRIDS, "Grid cells", "Unit grid cells (单元网格) with 15-digit codes.",
     "MultiPolygon"},
};
const size_t md__ogc_ncollections = sizeof(md__ogc_collections) / sizeof(md__ogc_collections[0]);

const char *md__ogc_temporal(enum md_layer layer)
{
    const struct md_layer_columns *d = md_layer_public(layer);
    return d ? d->time_column : NULL;
}

md_err md__ogc_put_link(struct md_buf *b, bool first, const char *rel, const char *type,
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

md_err md__ogc_check_params(struct md_call *c, const char *const *allowed, const char *const *more,
                            const struct md_field *fields, int nfields)
{
    for (size_t i = 0; i < c->req->nquery; i++) {
        const char *k = c->req->query[i].key;
        bool ok = false;
        for (const char *const *a = allowed; !ok && *a; a++)
            ok = strcmp(k, *a) == 0;
        for (const char *const *a = more; !ok && a && *a; a++)
            ok = strcmp(k, *a) == 0;
        for (int f = 0; !ok && f < nfields; f++)
            ok = strcmp(k, fields[f].name) == 0;
        if (!ok)
            return md_fail(c->ctx, MD_EINVAL, "unknown query parameter '%.40s'", k);
    }
    const char *f = md__param(c, "f");
    if (f && strcmp(f, "json") != 0 && strcmp(f, "geojson") != 0 && strcmp(f, "html") != 0)
        return md_fail(c->ctx, MD_EINVAL, "f must be json or html (or geojson for features)");
    return MD_OK;
}

static const char *const conformance_classes[] = {
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/core-roles-features",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    NULL};

static md_err send_json(struct md_call *c, json_t *doc, const char *type)
{
    md_err rc = MD_OK;
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (!text)
        rc = md_fail(c->ctx, MD_ENOMEM, "document");
    if (!rc)
        rc = md__json_body(c, text);
    if (!rc)
        rc = md_buf_putc(&c->res->body, '\n');
    if (!rc)
        c->res->content_type = type;
    free(text);
    json_decref(doc);
    return rc;
}

md_err md__ogc_conformance(struct md_call *c)
{
    static const char *const allowed[] = {"f", NULL};
    md_err rc = md__ogc_check_params(c, allowed, NULL, NULL, 0);
    if (rc)
        return rc;
    json_t *list = json_array();
    for (int i = 0; conformance_classes[i]; i++)
        json_array_append_new(list, json_string(conformance_classes[i]));
    return send_json(c, json_pack("{s:o}", "conformsTo", list), "application/json");
}

/* JSON Schema of one public field. */
static json_t *field_schema(enum md_layer layer, const struct md_field *f)
{
    static const char *const types[] = {"integer", "number", "string", "string"};
    json_t *o = json_pack("{s:s,s:s}", "title", f->name, "type", types[f->type]);
    if (f->type == MD_FIELD_TIME)
        json_object_set_new(o, "format", json_string("date-time"));
    if (f->type == MD_FIELD_TIME && strcmp(f->name, md__ogc_temporal(layer)) == 0)
        json_object_set_new(o, "x-ogc-role", json_string("primary-instant"));
    if (strcmp(f->name, "id") == 0 || (strcmp(f->name, "code") == 0))
        json_object_set_new(o, "x-ogc-role", json_string("id"));
    return o;
}

static json_t *geometry_schema(const struct md__ogc_collection *col)
{
    return json_pack("{s:s,s:s,s:s}", "title", "geometry", "format",
                     strcmp(col->geometry, "Point") == 0 ? "geometry-point"
                                                         : "geometry-multipolygon",
                     "x-ogc-role", "primary-geometry");
}

static json_t *properties_schema(const struct md__ogc_collection *col, bool all)
{
    struct md_field fields[MD_LAYER_MAX_FIELDS];
    int n = md_layer_filter_fields(col->layer, fields, MD_LAYER_MAX_FIELDS);
    json_t *props = json_object();
    json_object_set_new(props, "geometry", geometry_schema(col));
    for (int i = 0; i < n; i++)
        json_object_set_new(props, fields[i].name, field_schema(col->layer, &fields[i]));
    if (all && col->layer == MD_LAYER_REPORTS) { /* the JSON columns */
        json_object_set_new(props, "media_urls",
                            json_pack("{s:s,s:s,s:{s:s}}", "title", "media_urls", "type", "array",
                                      "items", "type", "string"));
        json_object_set_new(props, "proposed_change",
                            json_pack("{s:s,s:s}", "title", "proposed_change", "type", "object"));
    }
    return props;
}

static char *collection_url(struct md_call *c, const struct md__ogc_collection *col,
                            const char *tail)
{
    char *url = md_pool_alloc(c->req->pool, 600);
    if (url)
        snprintf(url, 600, "%s/ogc/collections/%s%s", md__base_url(c), md_layer_name(col->layer),
                 tail);
    return url;
}

md_err md__ogc_queryables(struct md_call *c, const struct md__ogc_collection *col)
{
    static const char *const allowed[] = {"f", NULL};
    md_err rc = md__ogc_check_params(c, allowed, NULL, NULL, 0);
    if (rc)
        return rc;
    json_t *doc = json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:b}", "$schema", "https://json-schema.org/draft/2020-12/schema",
        "$id", collection_url(c, col, "/queryables"), "type", "object", "title", col->title,
        "properties", properties_schema(col, false), "additionalProperties", 0);
    return send_json(c, doc, MD_OGC_SCHEMA_TYPE);
}

md_err md__ogc_schema(struct md_call *c, const struct md__ogc_collection *col, bool feature)
{
    static const char *const allowed[] = {"f", NULL};
    md_err rc = md__ogc_check_params(c, allowed, NULL, NULL, 0);
    if (rc)
        return rc;
    json_t *props = properties_schema(col, true);
    json_t *doc;
    if (!feature) {
        doc = json_pack("{s:s,s:s,s:s,s:s,s:o}", "$schema",
                        "https://json-schema.org/draft/2020-12/schema", "$id",
                        collection_url(c, col, "/schema"), "type", "object", "title", col->title,
                        "properties", props);
    } else {
        json_object_del(props, "geometry");
        json_t *id =
            json_pack("{s:s}", "type", col->layer <= MD_LAYER_REPORTS ? "integer" : "string");
        doc = json_pack("{s:s,s:s,s:s,s:{s:{s:s},s:o,s:{s:s},s:{s:s,s:o}}}", "$schema",
                        "https://json-schema.org/draft/2020-12/schema", "$id",
                        collection_url(c, col, "/feature-schema"), "type", "object", "properties",
                        "type", "type", "string", "id", id, "geometry", "type", "object",
                        "properties", "type", "object", "properties", props);
    }
    return send_json(c, doc, MD_OGC_SCHEMA_TYPE);
}

/* ---- the OpenAPI document */

static json_t *param_ref(const char *name)
{
    char ref[96];
    snprintf(ref, sizeof(ref), "#/components/parameters/%s", name);
    return json_pack("{s:s}", "$ref", ref);
}

/* GET `id` answering `type` (and text/html when `html`: ogc_html.c renders it). */
static json_t *get_op(const char *id, const char *summary, json_t *params, const char *type,
                      bool html)
{
    json_t *op =
        json_pack("{s:s,s:s,s:{s:{s:s,s:{s:{}}},s:{s:s},s:{s:s}}}", "operationId", id, "summary",
                  summary, "responses", "200", "description", "OK", "content", type, "400",
                  "description", "Bad request", "404", "description", "Not found");
    if (html)
        json_object_set_new(
            json_object_get(json_object_get(json_object_get(op, "responses"), "200"), "content"),
            "text/html", json_object());
    if (!params)
        params = json_array();
    json_array_append_new(params, param_ref("f"));
    json_object_set_new(op, "parameters", params);
    return json_pack("{s:o}", "get", op);
}

static json_t *items_params(const struct md__ogc_collection *col)
{
    static const char *const common[] = {"limit",  "bbox",   "bbox-crs",    "datetime",
                                         "crs",    "filter", "filter-lang", "filter-crs",
                                         "sortby", "cursor", "offset",      NULL};
    json_t *params = json_array();
    json_array_append_new(params, param_ref("collectionId"));
    for (int i = 0; common[i]; i++)
        json_array_append_new(params, param_ref(common[i]));
    if (!col)
        return params;
    struct md_field fields[MD_LAYER_MAX_FIELDS];
    int n = md_layer_filter_fields(col->layer, fields, MD_LAYER_MAX_FIELDS);
    for (int i = 0; i < n; i++) /* queryables-query-parameters: equality */
        json_array_append_new(params, json_pack("{s:s,s:s,s:s,s:o}", "name", fields[i].name, "in",
                                                "query", "description", "equal to (queryable)",
                                                "schema", field_schema(col->layer, &fields[i])));
    return params;
}

static json_t *components(void)
{
    json_t *names = json_array();
    for (size_t i = 0; i < md__ogc_ncollections; i++)
        json_array_append_new(names, json_string(md_layer_name(md__ogc_collections[i].layer)));
    return json_pack(
        "{s:{s:{s:s,s:s,s:b,s:{s:s,s:o}},s:{s:s,s:s,s:s,s:b,s:{s:s,s:i,s:i,s:i}},"
        "s:{s:s,s:s,s:s,s:b,s:{s:s,s:i,s:i,s:{s:s}}},s:{s:s,s:s,s:{s:s,s:[s,s]}},"
        "s:{s:s,s:s,s:s,s:{s:s}},s:{s:s,s:s,s:s,s:{s:s,s:[s,s,s,s,s]}},"
        "s:{s:s,s:s,s:s,s:{s:s}},s:{s:s,s:s,s:{s:s,s:[s,s],s:s}},"
        "s:{s:s,s:s,s:{s:s,s:[s,s]}},s:{s:s,s:s,s:s,s:{s:s}},"
        "s:{s:s,s:s,s:s,s:{s:s}},s:{s:s,s:s,s:s,s:{s:s,s:i}},"
        "s:{s:s,s:s,s:s,s:{s:s,s:[s,s,s]}}}}",
        "parameters", "collectionId", "name", "collectionId", "in", "path", "required", 1, "schema",
        "type", "string", "enum", names, "limit", "name", "limit", "in", "query", "style", "form",
        "explode", 0, "schema", "type", "integer", "minimum", 1, "maximum", 10000, "default", 10,
        "bbox", "name", "bbox", "in", "query", "style", "form", "explode", 0, "schema", "type",
        "array", "minItems", 4, "maxItems", 6, "items", "type", "number", "bbox-crs", "name",
        "bbox-crs", "in", "query", "schema", "type", "string", "enum", MD_OGC_CRS84,
        MD_OGC_EPSG4326, "datetime", "name", "datetime", "in", "query", "description",
        "instant or interval on the collection's temporal property", "schema", "type", "string",
        "crs", "name", "crs", "in", "query", "description",
        "output CRS: the CRS84 or EPSG:4326 URI, wgs84 (default), gcj02 or bd09", "schema", "type",
        "string", "enum", MD_OGC_CRS84, MD_OGC_EPSG4326, "wgs84", "gcj02", "bd09", "filter", "name",
        "filter", "in", "query", "description", "CQL2 text on the queryables", "schema", "type",
        "string", "filter-lang", "name", "filter-lang", "in", "query", "schema", "type", "string",
        "enum", "cql2-text", "cql-text", "default", "cql2-text", "filter-crs", "name", "filter-crs",
        "in", "query", "schema", "type", "string", "enum", MD_OGC_CRS84, MD_OGC_EPSG4326, "sortby",
        "name", "sortby", "in", "query", "description",
        "one queryable, '-' before it for descending", "schema", "type", "string", "cursor", "name",
        "cursor", "in", "query", "description",
        "opaque: where the next page starts (from a next link)", "schema", "type", "string",
        "offset", "name", "offset", "in", "query", "description",
        "rows to skip (prefer the next links)", "schema", "type", "integer", "minimum", 0, "f",
        "name", "f", "in", "query", "description",
        "the encoding: json (the default; geojson for features) or html (also chosen by an"
        " Accept header that prefers text/html); queryables and schemas are JSON only",
        "schema", "type", "string", "enum", "json", "geojson", "html");
}

md_err md__ogc_api_definition(struct md_call *c)
{
    static const char *const allowed[] = {"f", NULL};
    md_err rc = md__ogc_check_params(c, allowed, NULL, NULL, 0);
    if (rc)
        return rc;
    char server[560];
    snprintf(server, sizeof(server), "%s/ogc", md__base_url(c));
    json_t *paths = json_object();
    json_t *cid = json_pack("[o]", param_ref("collectionId"));
    json_object_set_new(paths, "/",
                        get_op("getLandingPage", "Landing page", NULL, "application/json", true));
    json_object_set_new(
        paths, "/conformance",
        get_op("getConformance", "Conformance classes", NULL, "application/json", true));
    json_object_set_new(paths, "/api",
                        get_op("getApi", "This document", NULL, MD_OGC_OPENAPI_TYPE, true));
    json_object_set_new(
        paths, "/collections",
        get_op("getCollections", "Feature collections", NULL, "application/json", true));
    json_object_set_new(paths, "/collections/{collectionId}",
                        get_op("describeCollection", "A collection", json_deep_copy(cid),
                               "application/json", true));
    json_object_set_new(paths, "/collections/{collectionId}/queryables",
                        get_op("getQueryables", "Queryable properties", json_deep_copy(cid),
                               MD_OGC_SCHEMA_TYPE, false));
    json_object_set_new(paths, "/collections/{collectionId}/schema",
                        get_op("getSchema", "Schema of the features", json_deep_copy(cid),
                               MD_OGC_SCHEMA_TYPE, false));
    json_object_set_new(
        paths, "/collections/{collectionId}/items",
        get_op("getFeatures", "Features", items_params(NULL), "application/geo+json", true));
    json_t *one =
        json_pack("[o,{s:s,s:s,s:b,s:{s:s}},o]", param_ref("collectionId"), "name", "featureId",
                  "in", "path", "required", 1, "schema", "type", "string", param_ref("crs"));
    json_object_set_new(paths, "/collections/{collectionId}/items/{featureId}",
                        get_op("getFeature", "A feature", one, "application/geo+json", true));
    for (size_t i = 0; i < md__ogc_ncollections; i++) {
        char path[96], id[64];
        const char *name = md_layer_name(md__ogc_collections[i].layer);
        snprintf(path, sizeof(path), "/collections/%s/items", name);
        snprintf(id, sizeof(id), "getFeatures_%s", name);
        json_t *params = items_params(&md__ogc_collections[i]);
        json_array_remove(params, 0); /* the path names the collection */
        json_object_set_new(
            paths, path,
            get_op(id, md__ogc_collections[i].title, params, "application/geo+json", true));
    }
    json_decref(cid);
    json_t *doc = json_pack("{s:s,s:{s:s,s:s},s:[{s:s}],s:o,s:o}", "openapi", "3.0.3", "info",
                            "title", "mapd OGC API - Features", "version", "1.1", "servers", "url",
                            server, "paths", paths, "components", components());
    return send_json(c, doc, MD_OGC_OPENAPI_TYPE);
}
