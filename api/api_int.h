/* api_int.h - private to api/: the shared API state and the handler type. */
#ifndef MD_API_INT_H
#define MD_API_INT_H

#include "api.h"
#include "metrics.h"
#include "feature_cache.h"
#include "tile_cache.h"
#include "cluster_index.h"
#include <pthread.h>

struct md_api {
    const struct md_config *cfg;
    struct md_metrics *metrics;
    int64_t started_at;
    struct md_tile_cache *tile_cache; /* NULL when disabled */
    struct md_feature_cache *features; /* NULL when disabled */
    struct md_cluster_index *clusters; /* the point layers' clusters, shared by the workers */
    struct md_cluster_index *clusters_gcj02; /* the same for GCJ-02 tiles (built on first use) */
    struct md_reports_state *reports; /* reports_api.c: ingest, events hub, rate limit */
    struct md_expensive_pool *expensive; /* expensive requests' threads (expensive.c) */
};

/* Everything a handler gets; res->body starts empty, res->status 200. */
struct md_call {
    struct md_api *api;
    struct md_worker *w;
    const struct md_request *req;
    struct md_response *res;
    struct md_ctx *ctx;
    const char *tail; /* path after the route's prefix */
};

typedef md_err (*md_handler_fn)(struct md_call *call);

/* A route: exact path, or a prefix (prefix = true) whose rest is call->tail. */
/* Writes an error answer in a protocol's own form (Open311's
 * [{code, description}] or <errors>); xml picks the XML form. */
typedef void (*md_error_form_fn)(struct md_response *res, int status, const char *message,
                                 bool xml);

struct md_route {
    const char *method;
    const char *path;
    bool prefix;
    md_handler_fn fn;
    const char *name; /* for logs and metrics */
    /* A prefix route's tails, space-separated, '*' one non-empty segment
     * without '/' (e.g. an id, or an id, a slash and "history"); NULL =
     * any tail. The router matches them, so Allow and 405 name exactly the
     * methods a path answers. */
    const char *tails;
};

/* Route tables, one per API family (defined in each family's module). */
extern const struct md_route md__core_routes[];
extern const size_t md__core_routes_count;
extern const struct md_route md__queries_routes[];
extern const size_t md__queries_routes_count;
extern const struct md_route md__ogc_routes[];
extern const size_t md__ogc_routes_count;
extern const struct md_route md__stats_routes[];
extern const size_t md__stats_routes_count;
extern const struct md_route md__export_routes[];
extern const size_t md__export_routes_count;
extern const struct md_route md__sprite_routes[];
extern const size_t md__sprite_routes_count;
extern const struct md_route md__tile_routes[];
extern const size_t md__tile_routes_count;
extern const struct md_route md__web_routes[];
extern const size_t md__web_routes_count;
extern const struct md_route md__reports_routes[];
extern const size_t md__reports_routes_count;
extern const struct md_route md__open311_routes[];
extern const size_t md__open311_routes_count;
/* Open311's error form (an md_error_form_fn, open311.c). */
void md__open311_error(struct md_response *res, int status, const char *message, bool xml);
extern const struct md_route md__admin_routes[];
extern const size_t md__admin_routes_count;
extern const struct md_route md__photos_routes[];
extern const size_t md__photos_routes_count;
extern const struct md_route md__consult_routes[];
extern const size_t md__consult_routes_count;
extern const struct md_route md__webhooks_routes[];
extern const size_t md__webhooks_routes_count;
extern const struct md_route md__staff_routes[];
extern const size_t md__staff_routes_count;

/* Start/stop the reports family's shared state (group-commit writer, event
 * hub, rate limiter, calendar); without cfg->db_path it stays empty and
 * report writes answer 503. */
md_err md__reports_init(struct md_api *api, struct md_ctx *ctx) MD_WUR;
void md__reports_free(struct md_api *api);

/* Set a JSON body (takes a NUL-terminated string, copies it). */
md_err md__json_body(struct md_call *call, const char *json) MD_WUR;
/* True when `origin` (may be NULL) is one of the comma-separated `list`
 * (--cors-origin); "*" in the list matches any and sets *any (http_msg.c). */
bool md__origin_listed(const char *list, const char *origin, bool *any);

md_err md__handle_health(struct md_call *call) MD_WUR;
md_err md__handle_metrics(struct md_call *call) MD_WUR;

#endif
