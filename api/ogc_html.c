/* ogc_html.c - the HTML rendering of /ogc for browsers (ogc_int.h), as
 * pygeoapi offers it: landing page, conformance, the API definition (its
 * operations and their parameters), collections, one
 * collection, items (a table of the features and their properties, with
 * prev/next paging) and one item.
 *
 * Each page is rendered from the JSON answer the resource has just built,
 * so HTML and JSON never disagree. Invariants: the page is HTML5 that an
 * HTML parser reads without error (every element closed, no raw markup in
 * text); every text and attribute that comes from the data or the request
 * is escaped (md_buf_xml_str); navigation links under /ogc lead to the HTML
 * pages (f=html) and each page links to its JSON form (f=json).
 */
#include "ogc_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- negotiation */

/* The q of one Accept element's parameters ("; q=0.5"); 1 without q, 0 when
 * malformed (a bad weight refuses its element). */
static double accept_q(const char *params, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if ((params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=' &&
            (i == 0 || params[i - 1] == ';' || params[i - 1] == ' ')) {
            char tmp[16];
            size_t len = 0;
            for (size_t j = i + 2; j < n && params[j] != ';' && len + 1 < sizeof(tmp); j++)
                tmp[len++] = params[j];
            tmp[len] = '\0';
            char *end = NULL;
            double q = strtod(tmp, &end);
            while (end && *end == ' ')
                end++;
            return (end == tmp || (end && *end) || q < 0 || q > 1) ? 0 : q;
        }
    }
    return 1;
}

bool md__ogc_wants_html(struct md_call *c)
{
    const char *f = md__param(c, "f");
    if (f)
        return strcmp(f, "html") == 0;
    const char *accept = md_request_header(c->req, "Accept");
    double q_html = 0, q_json = 0;
    for (const char *p = accept; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        size_t type_len = 0;
        while (type_len < n && p[type_len] != ';' && p[type_len] != ' ')
            type_len++;
        double q = accept_q(p + type_len, n - type_len);
        char type[64];
        if (type_len < sizeof(type)) {
            memcpy(type, p, type_len);
            type[type_len] = '\0';
            if (strcasecmp(type, "text/html") == 0 ||
                strcasecmp(type, "application/xhtml+xml") == 0)
                q_html = q > q_html ? q : q_html;
            else if (strcasecmp(type, "*/*") == 0 || strcasecmp(type, "application/*") == 0 ||
                     strstr(type, "json"))
                q_json = q > q_json ? q : q_json;
        }
        p = end ? end + 1 : p + n;
    }
    return q_html > 0 && q_html > q_json; /* a tie keeps JSON, the API's default */
}

md_err md__ogc_put_html_link(struct md_buf *b, const char *href)
{
    size_t n = strlen(href);
    char *url = malloc(n + 8);
    if (!url)
        return MD_ENOMEM;
    snprintf(url, n + 8, "%s%cf=html", href, strchr(href, '?') ? '&' : '?');
    md_err rc = md__ogc_put_link(b, false, "alternate", "text/html", "This document as HTML", url);
    free(url);
    return rc;
}

/* ---- the page writer: a sticky error, so the renderers read as a sequence */

struct page {
    struct md_buf b;
    md_err rc;
    struct md_call *c;
    const char *base;      /* <public base>/ogc */
    const char *url;       /* this request's URL without f (md__ogc_page_url) */
    const char *json_type; /* the media type of the JSON form */
};

static void put(struct page *p, const char *s)
{
    if (!p->rc)
        p->rc = md_buf_puts(&p->b, s);
}

static void esc(struct page *p, const char *s)
{
    if (!p->rc && s)
        p->rc = md_buf_xml_str(&p->b, s);
}

static void putf(struct page *p, const char *fmt, ...) MD_PRINTF(2, 3);
static void putf(struct page *p, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        p->rc = p->rc ? p->rc : MD_EINTERNAL;
    else
        put(p, tmp);
}

/* `href` with f=<format> added (JSON hrefs of /ogc carry no f). */
static void href_f(struct page *p, const char *href, const char *format)
{
    esc(p, href);
    put(p, strchr(href, '?') ? "&amp;f=" : "?f=");
    put(p, format);
}

/* A JSON value as text: strings as they are, null as nothing, others as JSON. */
static void value_text(struct page *p, json_t *v, size_t max)
{
    if (json_is_string(v)) {
        esc(p, json_string_value(v));
        return;
    }
    if (!v || json_is_null(v))
        return;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
    if (!text) {
        p->rc = p->rc ? p->rc : MD_ENOMEM;
        return;
    }
    if (max > 3 && strlen(text) > max)
        memcpy(text + max - 3, "...", 4);
    esc(p, text);
    free(text);
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void head(struct page *p, const char *title)
{
    put(p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    esc(p, title);
    put(p, " - mapd OGC API - Features</title>\n<link rel=\"alternate\" type=\"");
    esc(p, p->json_type);
    put(p, "\" href=\"");
    href_f(p, p->url, "json");
    put(p, "\">\n<style>"
           "body{font-family:system-ui,sans-serif;margin:1em 2em;line-height:1.4}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
           "text-align:left;vertical-align:top}nav a{margin-right:1em}"
           "</style>\n</head>\n<body>\n<header><nav><a href=\"");
    href_f(p, p->base, "html");
    put(p, "\">mapd OGC API</a><a href=\"");
    esc(p, p->base);
    put(p, "/collections?f=html\">Collections</a></nav></header>\n<main>\n<h1>");
    esc(p, title);
    put(p, "</h1>\n");
}

/* The closing part: this page (self) and its JSON form (alternate), then
 * the end of the document. */
static void foot(struct page *p)
{
    put(p, "<p><a rel=\"self\" type=\"text/html\" href=\"");
    href_f(p, p->url, "html");
    put(p, "\">This page</a>, also as <a rel=\"alternate\" type=\"");
    esc(p, p->json_type);
    put(p, "\" href=\"");
    href_f(p, p->url, "json");
    put(p, "\">JSON</a></p>\n</main>\n</body>\n</html>\n");
}

/* One link of a JSON answer: to the HTML page when the target is one of
 * /ogc's JSON resources with an HTML form, else as it is. */
static void link_item(struct page *p, json_t *l)
{
    const char *rel = str(l, "rel"), *type = str(l, "type"), *href = str(l, "href");
    const char *title = str(l, "title");
    if (!rel || !href || !type)
        return;
    bool html =
        (strcmp(type, "application/json") == 0 || strcmp(type, "application/geo+json") == 0) &&
        strncmp(href, p->base, strlen(p->base)) == 0 && !strstr(href, "/ogc/api");
    put(p, "<li><a rel=\"");
    esc(p, rel);
    put(p, "\" href=\"");
    if (html)
        href_f(p, href, "html");
    else
        esc(p, href);
    put(p, "\">");
    esc(p, title ? title : rel);
    put(p, "</a> (");
    esc(p, rel);
    put(p, ", ");
    esc(p, type);
    if (html) {
        put(p, ", <a href=\"");
        href_f(p, href, "json");
        put(p, "\">JSON</a>");
    }
    put(p, ")</li>\n");
}

/* The links of a JSON answer, but for those to this very page. */
static void links_list(struct page *p, json_t *links)
{
    size_t i;
    json_t *l;
    put(p, "<h2>Links</h2>\n<ul class=\"links\">\n");
    json_array_foreach(links, i, l)
    {
        const char *rel = str(l, "rel");
        if (rel && strcmp(rel, "self") != 0 && strcmp(rel, "alternate") != 0)
            link_item(p, l);
    }
    put(p, "</ul>\n");
}

/* ---- the pages */

static void landing(struct page *p, json_t *doc)
{
    head(p, str(doc, "title"));
    put(p, "<p>");
    esc(p, str(doc, "description"));
    put(p, "</p>\n");
    links_list(p, json_object_get(doc, "links"));
}

static void conformance(struct page *p, json_t *doc)
{
    size_t i;
    json_t *v;
    head(p, "Conformance");
    put(p, "<p>The conformance classes this API implements:</p>\n<ul>\n");
    json_array_foreach(json_object_get(doc, "conformsTo"), i, v)
    {
        put(p, "<li><a href=\"");
        esc(p, json_string_value(v));
        put(p, "\">");
        esc(p, json_string_value(v));
        put(p, "</a></li>\n");
    }
    put(p, "</ul>\n");
}

/* The API definition: its operations, each with its parameters. */
static void api_definition(struct page *p, json_t *doc)
{
    json_t *params = json_object_get(json_object_get(doc, "components"), "parameters");
    const char *path;
    json_t *item;
    head(p, str(json_object_get(doc, "info"), "title"));
    put(p, "<p>OpenAPI ");
    esc(p, str(doc, "openapi"));
    put(p, "; the paths are relative to <code>");
    esc(p, p->base);
    put(p, "</code>.</p>\n<table>\n<thead><tr><th>Path</th><th>Operation</th><th>Summary</th>"
           "<th>Parameters</th></tr></thead>\n<tbody>\n");
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_t *op = json_object_get(item, "get");
        size_t i;
        json_t *param;
        put(p, "<tr><td>GET ");
        esc(p, path);
        put(p, "</td><td>");
        esc(p, str(op, "operationId"));
        put(p, "</td><td>");
        esc(p, str(op, "summary"));
        put(p, "</td><td>");
        json_array_foreach(json_object_get(op, "parameters"), i, param)
        {
            const char *ref = str(param, "$ref");
            const char *slash = ref ? strrchr(ref, '/') : NULL;
            json_t *def = slash ? json_object_get(params, slash + 1) : param;
            put(p, i ? ", " : "");
            esc(p, str(def, "name"));
        }
        put(p, "</td></tr>\n");
    }
    put(p, "</tbody>\n</table>\n");
}

static void collection_href(struct page *p, const char *id, const char *tail)
{
    esc(p, p->base);
    put(p, "/collections/");
    esc(p, id);
    put(p, tail);
}

static void collections(struct page *p, json_t *doc)
{
    size_t i;
    json_t *col;
    head(p, "Collections");
    put(p, "<table>\n<thead><tr><th>Collection</th><th>id</th><th>Description</th>"
           "<th>Items</th></tr></thead>\n<tbody>\n");
    json_array_foreach(json_object_get(doc, "collections"), i, col)
    {
        const char *id = str(col, "id");
        put(p, "<tr><td><a href=\"");
        collection_href(p, id, "?f=html");
        put(p, "\">");
        esc(p, str(col, "title"));
        put(p, "</a></td><td>");
        esc(p, id);
        put(p, "</td><td>");
        esc(p, str(col, "description"));
        put(p, "</td><td><a href=\"");
        collection_href(p, id, "/items?f=html");
        put(p, "\">items</a></td></tr>\n");
    }
    put(p, "</tbody>\n</table>\n");
    links_list(p, json_object_get(doc, "links"));
}

static void dl_row(struct page *p, const char *term, json_t *v)
{
    put(p, "<dt>");
    esc(p, term);
    put(p, "</dt><dd>");
    value_text(p, v, 2000);
    put(p, "</dd>\n");
}

static void one_collection(struct page *p, json_t *doc)
{
    json_t *extent = json_object_get(doc, "extent");
    head(p, str(doc, "title"));
    put(p, "<p>");
    esc(p, str(doc, "description"));
    put(p, "</p>\n<p><a href=\"");
    collection_href(p, str(doc, "id"), "/items?f=html");
    put(p, "\">Browse the items</a></p>\n<dl>\n");
    dl_row(p, "id", json_object_get(doc, "id"));
    dl_row(p, "itemType", json_object_get(doc, "itemType"));
    dl_row(p, "crs", json_object_get(doc, "crs"));
    dl_row(p, "storageCrs", json_object_get(doc, "storageCrs"));
    dl_row(p, "spatial extent (bbox)", json_object_get(json_object_get(extent, "spatial"), "bbox"));
    dl_row(p, "temporal extent", json_object_get(json_object_get(extent, "temporal"), "interval"));
    dl_row(p, "temporalProperty", json_object_get(doc, "temporalProperty"));
    put(p, "</dl>\n");
    links_list(p, json_object_get(doc, "links"));
}

/* A geometry cell: its type, and a point's coordinates. */
static void geometry_text(struct page *p, json_t *g)
{
    esc(p, str(g, "type"));
    if (str(g, "type") && strcmp(str(g, "type"), "Point") == 0) {
        put(p, " ");
        value_text(p, json_object_get(g, "coordinates"), 200);
    }
}

#define MAX_COLUMNS 40

static void paging(struct page *p, json_t *links)
{
    size_t i;
    json_t *l;
    put(p, "<nav class=\"paging\">");
    json_array_foreach(links, i, l)
    {
        const char *rel = str(l, "rel"), *href = str(l, "href");
        if (!rel || !href || (strcmp(rel, "prev") != 0 && strcmp(rel, "next") != 0))
            continue;
        put(p, "<a rel=\"");
        esc(p, rel);
        put(p, "\" href=\"");
        href_f(p, href, "html");
        put(p, strcmp(rel, "prev") == 0 ? "\">Previous page</a>" : "\">Next page</a>");
    }
    put(p, "</nav>\n");
}

static void items(struct page *p, json_t *doc, const struct md__ogc_collection *col)
{
    const char *name = md_layer_name(col->layer);
    json_t *features = json_object_get(doc, "features");
    const char *keys[MAX_COLUMNS];
    size_t nkeys = 0, i;
    json_t *f;
    json_array_foreach(features, i, f) /* the columns: every property, first seen first */
    {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(f, "properties"), k, v)
        {
            size_t j = 0;
            while (j < nkeys && strcmp(keys[j], k) != 0)
                j++;
            if (j == nkeys && nkeys < MAX_COLUMNS)
                keys[nkeys++] = k;
        }
    }
    head(p, col->title);
    put(p, "<p>");
    if (json_is_integer(json_object_get(doc, "numberMatched")))
        putf(p, "%lld features match; ",
             (long long)json_integer_value(json_object_get(doc, "numberMatched")));
    putf(p, "%lld on this page",
         (long long)json_integer_value(json_object_get(doc, "numberReturned")));
    put(p, " (as of ");
    esc(p, str(doc, "timeStamp"));
    put(p, ").</p>\n");
    paging(p, json_object_get(doc, "links"));
    put(p, "<table>\n<thead><tr><th>id</th><th>geometry</th>");
    for (size_t k = 0; k < nkeys; k++) {
        put(p, "<th>");
        esc(p, keys[k]);
        put(p, "</th>");
    }
    put(p, "</tr></thead>\n<tbody>\n");
    json_array_foreach(features, i, f)
    {
        json_t *props = json_object_get(f, "properties");
        put(p, "<tr><td><a href=\"");
        collection_href(p, name, "/items/");
        value_text(p, json_object_get(f, "id"), 200);
        put(p, "?f=html\">");
        value_text(p, json_object_get(f, "id"), 200);
        put(p, "</a></td><td>");
        geometry_text(p, json_object_get(f, "geometry"));
        put(p, "</td>");
        for (size_t k = 0; k < nkeys; k++) {
            put(p, "<td>");
            value_text(p, json_object_get(props, keys[k]), 500);
            put(p, "</td>");
        }
        put(p, "</tr>\n");
    }
    put(p, "</tbody>\n</table>\n");
    paging(p, json_object_get(doc, "links"));
    links_list(p, json_object_get(doc, "links"));
}

static void item(struct page *p, json_t *doc, const struct md__ogc_collection *col)
{
    char title[256];
    char *id = json_dumps(json_object_get(doc, "id"), JSON_ENCODE_ANY);
    const char *id_text = json_is_string(json_object_get(doc, "id")) ? str(doc, "id") : id;
    snprintf(title, sizeof(title), "%s %s", col->title, id_text ? id_text : "");
    head(p, title);
    free(id);
    put(p, "<table>\n<tbody>\n<tr><th>geometry</th><td>");
    geometry_text(p, json_object_get(doc, "geometry"));
    put(p, "</td></tr>\n");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(doc, "properties"), k, v)
    {
        put(p, "<tr><th>");
        esc(p, k);
        put(p, "</th><td>");
        value_text(p, v, 2000);
        put(p, "</td></tr>\n");
    }
    put(p, "</tbody>\n</table>\n<h2>Geometry</h2>\n<pre>");
    value_text(p, json_object_get(doc, "geometry"), 4000);
    put(p, "</pre>\n");
    links_list(p, json_object_get(doc, "links"));
}

/* The body of one page from its JSON answer `doc`. */
static void render(struct page *p, enum md__ogc_page kind, json_t *doc,
                   const struct md__ogc_collection *col)
{
    if (kind == MD_OGC_LANDING)
        landing(p, doc);
    else if (kind == MD_OGC_CONFORMANCE)
        conformance(p, doc);
    else if (kind == MD_OGC_API)
        api_definition(p, doc);
    else if (kind == MD_OGC_COLLECTIONS)
        collections(p, doc);
    else if (kind == MD_OGC_COLLECTION && col)
        one_collection(p, doc);
    else if (kind == MD_OGC_ITEMS && col)
        items(p, doc, col);
    else if (kind == MD_OGC_ITEM && col)
        item(p, doc, col);
    else
        p->rc = MD_EINTERNAL;
    foot(p);
}

md_err md__ogc_html(struct md_call *c, enum md__ogc_page kind, const struct md__ogc_collection *col)
{
    json_error_t jerr;
    json_t *doc = json_loadb(c->res->body.data, c->res->body.len, 0, &jerr);
    char base[560];
    snprintf(base, sizeof(base), "%s/ogc", md__base_url(c));
    struct md_buf url;
    md_buf_init(&url, 64 * 1024);
    struct page p = {.rc = md__ogc_page_url(c, &url, NULL),
                     .c = c,
                     .base = base,
                     .url = url.data ? url.data : "",
                     .json_type = c->res->content_type ? c->res->content_type : "application/json"};
    md_buf_init(&p.b, c->res->body.max);
    if (!p.rc && !doc)
        p.rc = MD_EINTERNAL;
    if (!p.rc)
        render(&p, kind, doc, col);
    json_decref(doc);
    md_buf_free(&url);
    if (p.rc) {
        md_buf_free(&p.b);
        return md_fail(c->ctx, p.rc, "HTML page too large: lower limit");
    }
    md_buf_free(&c->res->body);
    c->res->body = p.b;
    c->res->content_type = "text/html; charset=utf-8";
    return MD_OK;
}
