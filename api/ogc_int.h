/* ogc_int.h - private to api/ogc*.c: the collections of OGC API - Features
 * and the helpers the resources share. ogc.c serves the landing page,
 * collections and items; ogc_meta.c the API definition, conformance,
 * queryables and schemas. */
#ifndef MD_OGC_INT_H
#define MD_OGC_INT_H

#include "queries.h"

#define MD_OGC_CRS84 "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#define MD_OGC_EPSG4326 "http://www.opengis.net/def/crs/EPSG/0/4326"
#define MD_OGC_OPENAPI_TYPE "application/vnd.oai.openapi+json;version=3.0"
#define MD_OGC_SCHEMA_TYPE "application/schema+json"

struct md__ogc_collection {
    enum md_layer layer;
    const char *title, *description;
    const char *geometry; /* GeoJSON geometry type of its features */
};

extern const struct md__ogc_collection md__ogc_collections[];
extern const size_t md__ogc_ncollections;

/* The collection's declared temporal property (datetime= applies to it). */
const char *md__ogc_temporal(enum md_layer layer);

/* Appends {"rel","type","title"?,"href"} (with a leading comma unless first). */
md_err md__ogc_put_link(struct md_buf *b, bool first, const char *rel, const char *type,
                        const char *title, const char *href) MD_WUR;

/* 400 for any query parameter not in `allowed` (NULL-terminated) or `more`
 * (NULL-terminated, may be NULL), or in the layer's queryables when `fields`
 * is set; and f= must be json, html (or geojson). */
md_err md__ogc_check_params(struct md_call *c, const char *const *allowed, const char *const *more,
                            const struct md_field *fields, int nfields) MD_WUR;

/* The resources that have an HTML rendering (ogc_html.c). */
enum md__ogc_page {
    MD_OGC_LANDING,
    MD_OGC_CONFORMANCE,
    MD_OGC_API,
    MD_OGC_COLLECTIONS,
    MD_OGC_COLLECTION,
    MD_OGC_ITEMS,
    MD_OGC_ITEM
};

/* True when the answer is to be HTML: f=html, or no f and an Accept header
 * that weighs text/html (or application/xhtml+xml) above every JSON type
 * and wildcard (a browser's header, not an API client's application/json or
 * star-slash-star). */
bool md__ogc_wants_html(struct md_call *c);

/* The request's URL (public base, path, query) without offset/cursor/f,
 * plus `extra` ("k=v", may be NULL; with it offset and cursor are dropped). */
md_err md__ogc_page_url(struct md_call *c, struct md_buf *b, const char *extra) MD_WUR;

/* Appends an "alternate" text/html link to `href` (adding f=html). */
md_err md__ogc_put_html_link(struct md_buf *b, const char *href) MD_WUR;

/* Replaces c->res->body, the JSON answer of `page` just built, by its HTML5
 * rendering (every text escaped; links lead to the HTML pages, and one to
 * this answer as JSON, f=json). `col` names the collection of COLLECTION,
 * ITEMS and ITEM (NULL otherwise). */
md_err md__ogc_html(struct md_call *c, enum md__ogc_page page,
                    const struct md__ogc_collection *col) MD_WUR;

md_err md__ogc_api_definition(struct md_call *c) MD_WUR;
md_err md__ogc_conformance(struct md_call *c) MD_WUR;
/* Part 3 queryables (JSON Schema) of one collection. */
md_err md__ogc_queryables(struct md_call *c, const struct md__ogc_collection *col) MD_WUR;
/* Part 5 schema of the features' properties (`feature`: a JSON Schema of the
 * whole GeoJSON Feature instead, the describedBy link GDAL reads). */
md_err md__ogc_schema(struct md_call *c, const struct md__ogc_collection *col, bool feature) MD_WUR;

#endif
