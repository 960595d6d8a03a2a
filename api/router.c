/* router.c - request dispatch and the route tables (the JSON error form is
 * http_msg.c's).
 *
 * Routes are matched on the path (exactly, or as a prefix for families like
 * /tiles/); a path that matches only under other methods answers 405 with
 * an Allow header; no match answers 404. HEAD is served as GET (mapd/ drops
 * the body). Handlers return md_err with detail in call->ctx; this module
 * turns that into {"error": {"code", "message"}} with the status from the
 * error table - except where a handler already wrote its own error form
 * (Open311), which it signals by setting res->status >= 400 itself.
 */
#include "api_int.h"
#include "expensive.h"
#include "md_time.h"
#include "negotiate.h"
#include "reports_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct route_table {
    const struct md_route *routes;
    const size_t *count;
    md_error_form_fn error_form; /* the family's own error form (Open311's); NULL: JSON */
};

/* Every API family's routes; a family adds one line here. The first match
 * wins: consultations come before the tile and style families, whose
 * prefixes (/tiles/, /styles/) would take their layer's paths. */
static const struct route_table tables[] = {
    {md__consult_routes, &md__consult_routes_count, NULL},
    {md__core_routes, &md__core_routes_count, NULL},
    {md__queries_routes, &md__queries_routes_count, NULL},
    {md__ogc_routes, &md__ogc_routes_count, NULL},
    {md__stats_routes, &md__stats_routes_count, NULL},
    {md__export_routes, &md__export_routes_count, NULL},
    {md__sprite_routes, &md__sprite_routes_count, NULL}, /* before /styles/ */
    {md__tile_routes, &md__tile_routes_count, NULL},
    {md__web_routes, &md__web_routes_count, NULL},
    {md__reports_routes, &md__reports_routes_count, NULL},
    {md__open311_routes, &md__open311_routes_count, md__open311_error},
    {md__staff_routes, &md__staff_routes_count, NULL},
    {md__admin_routes, &md__admin_routes_count, NULL},
    {md__photos_routes, &md__photos_routes_count, NULL},
    {md__webhooks_routes, &md__webhooks_routes_count, NULL},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* Iterate over all routes of all tables. */
#define FOR_EACH_ROUTE(r)                                                                          \
    for (size_t t_ = 0; t_ < NTABLES; t_++)                                                        \
        for (const struct md_route *r = tables[t_].routes;                                         \
             r < tables[t_].routes + *tables[t_].count; r++)

/* True when `tail` matches the pattern pat[0..n) (see md_route.tails). */
static bool tail_pattern(const char *pat, size_t n, const char *tail)
{
    size_t i = 0;
    while (i < n) {
        if (pat[i] == '*') {
            size_t seg = strcspn(tail, "/");
            if (!seg)
                return false;
            tail += seg;
            i++;
        } else if (pat[i++] != *tail++) {
            return false;
        }
    }
    return *tail == '\0';
}

static bool tail_listed(const char *tails, const char *tail)
{
    if (!tails)
        return true;
    while (*tails) {
        size_t n = strcspn(tails, " ");
        if (tail_pattern(tails, n, tail))
            return true;
        tails += n;
        tails += strspn(tails, " ");
    }
    return false;
}

static bool path_matches(const struct md_route *r, const char *path, const char **tail)
{
    size_t n = strlen(r->path);
    if (r->prefix) {
        if (strncmp(path, r->path, n) != 0 || !tail_listed(r->tails, path + n))
            return false;
        *tail = path + n;
        return true;
    }
    if (strcmp(path, r->path) != 0)
        return false;
    *tail = path + n;
    return true;
}

/* The methods routed for `path` ("GET, POST, HEAD"), empty when none. */
static void allowed_methods(const char *path, char *allow, size_t size)
{
    size_t used = 0;
    allow[0] = '\0';
    FOR_EACH_ROUTE(r)
    {
        const char *tail;
        if (path_matches(r, path, &tail) && !strstr(allow, r->method)) {
            int n = snprintf(allow + used, size - used, "%s%s", used ? ", " : "", r->method);
            if (n > 0 && (size_t)n < size - used)
                used += (size_t)n;
        }
    }
    if (strstr(allow, "GET") && !strstr(allow, "HEAD") && used + 7 < size)
        memcpy(allow + used, ", HEAD", 7);
}

/* A CORS preflight (OPTIONS with --cors-origin set): 204 with what the
 * route allows, so browsers on the allowed origin may POST JSON and send
 * Authorization. Without --cors-origin OPTIONS stays a 405. */
static md_err preflight(struct md_call *call, const char *allow)
{
    call->res->status = 204;
    md_err rc =
        md_response_header(call->res, call->req->pool, "Access-Control-Allow-Methods", allow);
    if (!rc)
        rc = md_response_header(call->res, NULL, "Access-Control-Allow-Headers",
                                "Content-Type, Authorization, Last-Event-ID, Idempotency-Key, Mapd-Consistency");
    if (!rc)
        rc = md_response_header(call->res, NULL, "Access-Control-Max-Age", "600");
    return rc ? md_fail(call->ctx, rc, "preflight headers") : MD_OK;
}

/* The error form of the family whose routes take `path` (NULL: JSON). */
static md_error_form_fn error_form_of(const char *path)
{
    for (size_t t = 0; t < NTABLES; t++)
        for (const struct md_route *r = tables[t].routes; r < tables[t].routes + *tables[t].count;
             r++) {
            const char *tail;
            if (path_matches(r, path, &tail))
                return tables[t].error_form;
        }
    return NULL;
}

static md_err method_not_allowed(struct md_call *call, const char *path)
{
    char allow[128];
    allowed_methods(path, allow, sizeof(allow));
    if (strcmp(call->req->method, "OPTIONS") == 0 && call->api->cfg->cors_origin)
        return preflight(call, allow);
    MD_IGNORE(md_response_header(call->res, call->req->pool, "Allow", allow));
    md_err rc = md_fail(call->ctx, MD_EMETHOD, "%s is not allowed on %s (allowed: %s)",
                        call->req->method, path, allow);
    md_error_form_fn form = error_form_of(path);
    if (form) { /* in the family's own error form */
        size_t n = strlen(path);
        form(call->res, 405, md_ctx_message(call->ctx), n > 4 && strcmp(path + n - 4, ".xml") == 0);
    }
    return rc;
}

/* Wide-area within queries are expensive; a radius or box of a few
 * kilometres (what the map and the apps ask) is not. */
#define CHEAP_RADIUS_M 2000.0
#define CHEAP_BOX_DEG 0.1

/* True when the request is one of the expensive kind (see md_config). */
static bool is_expensive(const struct md_call *call, const char *route)
{
    if (strcmp(route, "stats") == 0 || strcmp(route, "hotspots") == 0 ||
        strcmp(route, "export") == 0)
        return true;
    if (strcmp(route, "within") != 0)
        return false;
    if (strcmp(call->req->method, "POST") == 0 || md_request_query(call->req, "district"))
        return true;
    const char *radius = md_request_query(call->req, "radius");
    if (radius && !(strtod(radius, NULL) <= CHEAP_RADIUS_M))
        return true;
    const char *bbox = md_request_query(call->req, "bbox");
    double x0, y0, x1, y1;
    if (bbox && sscanf(bbox, "%lf,%lf,%lf,%lf", &x0, &y0, &x1, &y1) == 4 &&
        !(x1 - x0 <= CHEAP_BOX_DEG && y1 - y0 <= CHEAP_BOX_DEG))
        return true;
    return false;
}

/* Run an expensive handler on the bounded pool (api/expensive.c), off the
 * HTTP workers and under the work budget; without a pool (no database),
 * here under the budget. */
static md_err run_expensive(struct md_call *call, md_handler_fn fn)
{
    struct md_api *api = call->api;
    if (api->expensive)
        return md__expensive_submit(api->expensive, call, fn);
    md_ctx_set_budget(call->ctx, api->cfg->query_budget_ms, NULL);
    return fn(call);
}

static md_err dispatch(struct md_call *call)
{
    const struct md_request *req = call->req;
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    bool other_method = false;
    /* (An encoded NUL never gets this far: mapd/server.c refuses %00 in the
     * raw URL, since the decoded path is a C string.) */
    if (!req->path || req->path[0] != '/' || strstr(req->path, "/../"))
        return md_fail(call->ctx, MD_EINVAL, "malformed request path");
    FOR_EACH_ROUTE(r)
    {
        const char *tail;
        if (!path_matches(r, req->path, &tail))
            continue;
        if (strcmp(r->method, method) != 0) {
            other_method = true;
            continue;
        }
        call->res->route = r->name;
        call->tail = tail;
        return is_expensive(call, r->name) ? run_expensive(call, r->fn) : r->fn(call);
    }
    if (other_method)
        return method_not_allowed(call, req->path);
    return md_fail(call->ctx, MD_ENOTFOUND, "no such resource: %s", req->path);
}

/* CORS (--cors-origin, one origin or several, comma-separated): the request's
 * Origin is echoed when listed (with Vary: Origin, since the answer then
 * differs by origin), "*" when the list says so; the headers browser code
 * may read are exposed (Location of a created report, ETag, ...). */
static void cors_headers(const char *list, const struct md_request *req, struct md_response *res)
{
    bool any = false;
    const char *origin = md_request_header(req, "Origin");
    if (!list)
        return;
    bool single = !strchr(list, ',') && strcmp(list, "*") != 0;
    if (single) { /* one configured origin: sent whatever the request says (as before) */
        MD_IGNORE(md_response_header(res, NULL, "Access-Control-Allow-Origin", list));
    } else if (md__origin_listed(list, origin, &any)) {
        if (any) {
            MD_IGNORE(md_response_header(res, NULL, "Access-Control-Allow-Origin", "*"));
        } else {
            MD_IGNORE(md_response_header(res, req->pool, "Access-Control-Allow-Origin", origin));
            MD_IGNORE(md_response_header(res, NULL, "Vary", "Origin"));
        }
    } else {
        return;
    }
    MD_IGNORE(md_response_header(res, NULL, "Access-Control-Expose-Headers",
                                 "Location, ETag, Last-Modified, Content-Length, Content-Range,"
                                 " Content-Crs, Retry-After, Link, Mapd-Consistency, Mapd-Read-From,"
                                 " Idempotent-Replayed"));
}

/* Answers that get an ETag of their bytes and 304 (api/negotiate.c): the
 * descriptions a map client fetches on every load - TileJSON (under the
 * "tiles" route, told from tiles by its type), styles, the tile catalog and
 * OGC's landing page, conformance and collection metadata (not items). */
static bool validated(const struct md_request *req, const struct md_response *res)
{
    static const char *const routes[] = {"styles", "tiles_catalog", "consultations_tilejson",
                                         "consultations_style"};
    const char *route = res->route ? res->route : "";
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(route, routes[i]) == 0)
            return true;
    }
    if (strcmp(route, "tiles") == 0)
        return res->content_type && strcmp(res->content_type, "application/json") == 0;
    return strcmp(route, "ogc") == 0 && !strstr(req->path, "/items");
}

void md_api_handle(struct md_api *api, struct md_worker *w, const struct md_request *req,
                   struct md_response *res)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    ctx.pool = req->pool;
    struct md_call call = {.api = api, .w = w, .req = req, .res = res, .ctx = &ctx};
    res->route = "other";
    md_err rc = dispatch(&call);
    if (rc) {
        if (!ctx.err)
            md_fail(&ctx, rc, NULL);
        if (res->status < 400)
            md_response_error(res, &ctx);
    }
    md_negotiate_response(req, res, validated(req, res));
    cors_headers(api->cfg->cors_origin, req, res);
}

md_err md_api_new(const struct md_config *cfg, struct md_api **out, struct md_ctx *ctx)
{
    struct md_api *api = calloc(1, sizeof(*api));
    size_t total = 0;
    for (size_t t = 0; t < NTABLES; t++)
        total += *tables[t].count;
    const char **route_names = calloc(total ? total : 1, sizeof(*route_names));
    if (!api || !route_names) {
        free(api);
        free(route_names);
        return md_fail(ctx, MD_ENOMEM, "api");
    }
    size_t n = 0;
    FOR_EACH_ROUTE(r)
    {
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            seen = seen || strcmp(route_names[j], r->name) == 0;
        if (!seen)
            route_names[n++] = r->name;
    }
    api->cfg = cfg;
    api->metrics = md_metrics_new(route_names, n);
    free(route_names);
    if (!api->metrics) {
        free(api);
        return md_fail(ctx, MD_ENOMEM, "metrics");
    }
    api->started_at = md_time_now();
    if (cfg->tile_cache_bytes > 0 &&
        !(api->tile_cache = md_tile_cache_new(cfg->tile_cache_bytes))) {
        md_api_free(api);
        return md_fail(ctx, MD_ENOMEM, "tile cache");
    }
    if (cfg->feature_cache_bytes > 0 &&
        !(api->features = md_feature_cache_new(cfg->feature_cache_bytes))) {
        md_api_free(api);
        return md_fail(ctx, MD_ENOMEM, "feature cache");
    }
    if (!(api->clusters = md_cluster_index_new()) ||
        !(api->clusters_gcj02 = md_cluster_index_new_crs(MD_CRS_GCJ02))) {
        md_api_free(api);
        return md_fail(ctx, MD_ENOMEM, "cluster index");
    }
    md_err rc = md__reports_init(api, ctx);
    if (!rc && cfg->db_path)
        rc = md__expensive_new(cfg, cfg->expensive_slots, &api->expensive, ctx);
    if (rc) {
        md_api_free(api);
        return rc;
    }
    *out = api;
    return MD_OK;
}

void md_api_free(struct md_api *api)
{
    if (!api)
        return;
    md__expensive_free(api->expensive); /* its jobs are done: every request has ended */
    md__reports_free(api);
    md_metrics_free(api->metrics);
    md_tile_cache_free(api->tile_cache);
    md_feature_cache_free(api->features);
    md_cluster_index_free(api->clusters);
    md_cluster_index_free(api->clusters_gcj02);
    free(api);
}

void md_api_observe(struct md_api *api, const char *route, int status, int64_t micros)
{
    md_metrics_observe(api->metrics, route, status, micros);
}
