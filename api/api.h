/* api.h - mapd's HTTP API, independent of the HTTP library (library mapd_api).
 *
 * mapd/ turns each libmicrohttpd request into a struct md_request, calls
 * md_api_handle() on a worker thread with that thread's struct md_worker, and
 * sends back the struct md_response. Everything here is testable and
 * fuzzable without sockets.
 *
 * Ownership: a request and everything it points at is borrowed for the call;
 * the response owns its body buffer (md_response_free) and takes header
 * values from the request pool.
 */
#ifndef MD_API_H
#define MD_API_H

#include "md_buf.h"
#include "md_err.h"
#include "md_pool.h"
#include "store.h"
#include "geos_ctx.h"
#include <proj.h>
#include <stdbool.h>
#include <stdint.h>

struct md_kv {
    const char *key;
    const char *value;
};

/* Server configuration, filled by mapd from its command line. */
/* The body limit of a multipart/form-data request (photo uploads: up to
 * MD_PHOTOS_PER_REPORT photos of at most 8 MiB each, checked per photo). */
#define MD_UPLOAD_BODY_MAX ((size_t)24 << 20)

struct md_config {
    const char *db_path;
    /* A streaming replica of db_path's PostgreSQL (NULL = none): tiles are
     * read from it unless the request's Mapd-Consistency change number is
     * newer than it has replayed after replica_wait_ms (0 = 200), then from
     * db_path (api/tiles_api.c, docs/scaling.md). */
    const char *read_db_path;
    unsigned replica_wait_ms;
    const char *export_dir;     /* export files (api/export_cache.c); NULL = <db_path>.exports */
    const char *web_dir;        /* static web map files; NULL = none */
    const char *styles_dir;     /* MapLibre styles */
    const char *font_path;      /* font for /fonts glyphs; NULL = built-in default */
    const char *public_url;     /* base URL for links; NULL = the address connected to */
    const char *basemap_tiles;  /* an external raster XYZ base map (URL template) the styles
                                   compose beneath mapd's layers; NULL = none */
    const char *basemap_attribution; /* its attribution (may be NULL) */
    const char *basemap_style;  /* an external vector base map: the text of a MapLibre style
                                   (md_basemap_style_load) the styles compose beneath mapd's
                                   layers; NULL = none */
    bool trust_host;            /* without public_url: links from the Host header */
    size_t max_body_bytes;      /* request bodies (413 above); multipart/form-data
                                   uploads (photos) may have MD_UPLOAD_BODY_MAX */
    size_t tile_cache_bytes;    /* 0 disables the tile cache */
    size_t feature_cache_bytes; /* rendered query features; 0 disables */
    int max_query_limit;        /* cap on limit= parameters */
    int timezone_offset_min;    /* city time zone for dates shown */
    int rate_limit_per_min;     /* report creates per client address per minute; 0 = off */
    const char *cors_origin;    /* Access-Control-Allow-Origin; NULL = none */
    int work_day_start_min;     /* working hours for deadlines, local minutes; */
    int work_day_end_min;       /*   both 0 = 09:00-17:00 */
    int events_max_subscribers; /* open event streams; 0 = 256 */
    int events_heartbeat_s;     /* SSE comment interval; 0 = 15 */
    /* Expensive requests (polygon and wide-area within, stats, hot spots,
     * exports; api/router.c): each runs under a work budget of
     * query_budget_ms (422 query_too_expensive past it; 0 = none), and at
     * most expensive_slots run at once (503 + Retry-After beyond), so the
     * other workers keep serving tiles, /health and nearest. 0 = 1. */
    unsigned query_budget_ms;
    unsigned expensive_slots;
    /* Building an export file (once per data version, api/export_cache.c)
     * runs under its own, longer budget: 422 query_too_expensive past it,
     * naming --export-budget-ms; 0 = none. */
    unsigned export_budget_ms;
    /* Webhook deliveries (api/webhook_sender.c): a failed attempt k is
     * retried after webhook_retry_base_ms * 2^(k-1), capped at an hour;
     * 0 = 1000. After webhook_max_attempts attempts (0 = 16) a delivery
     * is failed. */
    unsigned webhook_retry_base_ms;
    unsigned webhook_max_attempts;
};

/* Per-worker-thread resources, owned by mapd (one per thread, never shared). */
struct md_worker {
    struct md_store *store;
    struct md_store *replica; /* config read_db_path's store; NULL = none */
    struct md_geos *geos;
    PJ_CONTEXT *proj;
};

struct md_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* URL path, percent-decoded, no query string */
    const struct md_kv *query;
    size_t nquery;
    const struct md_kv *headers;
    size_t nheaders;
    const char *body; /* may contain NULs; body[body_len] == '\0' */
    size_t body_len;
    const char *client_addr; /* "127.0.0.1" */
    const char *local_addr;  /* "127.0.0.1:8080": where the client connected; NULL = unknown */
    struct md_pool *pool;    /* per-request arena, freed after the response is sent */
};

struct md_response;

/* Called from any thread to say "there is something for this connection
 * now"; mapd resumes the connection and polls again. */
typedef void (*md_wake_cb)(void *arg);

/* A streamed body: mapd calls `next` whenever the client can take more
 * bytes; it appends to `out` and returns MD_OK (possibly with nothing added),
 * or MD_ENOTFOUND at the end of the stream. A stream that may have nothing
 * for a while sets `set_waker`: mapd calls it once before the first `next`
 * with a wake callback, suspends the connection whenever `next` adds
 * nothing, and resumes it when the stream calls wake(arg). Without a waker
 * mapd polls again shortly. `free` runs once when the connection is done;
 * after it returns the stream must not call wake. */
struct md_stream {
    md_err (*next)(void *userdata, struct md_buf *out);
    void (*free)(void *userdata);
    void (*set_waker)(void *userdata, md_wake_cb wake, void *arg); /* may be NULL */
    void *userdata;
};

/* A response decided later (e.g. a 201 after the group commit): mapd calls
 * set_waker once, then `poll` on the connection's thread; poll returns true
 * when it has filled `res` (status, body, headers), false to be polled
 * again after the next wake (the connection is suspended meanwhile).
 * `free` runs once when the request is done, answered or not. */
struct md_deferred {
    bool (*poll)(void *userdata, struct md_response *res);
    void (*set_waker)(void *userdata, md_wake_cb wake, void *arg);
    void (*free)(void *userdata);
    void *userdata;
};

#define MD_RESPONSE_MAX_HEADERS 16

struct md_response {
    int status;
    const char *content_type; /* static or pool string */
    struct md_buf body;
    struct md_kv headers[MD_RESPONSE_MAX_HEADERS];
    size_t nheaders;
    const char *route;   /* route name for logs and metrics */
    struct md_stream stream; /* next != NULL: body is streamed */
    struct md_deferred deferred; /* poll != NULL: answer comes later */
    /* has_file: the body is file_length bytes of file_fd from file_offset
     * (the response owns the descriptor; mapd hands it to libmicrohttpd,
     * md_response_free closes it otherwise). Content-Length follows. */
    bool has_file;
    int file_fd;
    uint64_t file_offset, file_length;
};

struct md_api;

/* New API over the config (borrowed; must outlive the api). Caller frees. */
md_err md_api_new(const struct md_config *cfg, struct md_api **out, struct md_ctx *ctx) MD_WUR;
void md_api_free(struct md_api *api);
/* Handle one request. Always fills `res` (errors become JSON error bodies);
 * never fails. `w` is the calling thread's worker. */
void md_api_handle(struct md_api *api, struct md_worker *w, const struct md_request *req,
                   struct md_response *res);
void md_response_init(struct md_response *res);
void md_response_free(struct md_response *res);
/* Record a finished request's route, status and latency in the metrics. */
void md_api_observe(struct md_api *api, const char *route, int status, int64_t micros);

/* Helpers for handlers (and mapd's own early errors, e.g. 413). */
const char *md_request_query(const struct md_request *req, const char *key);
const char *md_request_header(const struct md_request *req, const char *name);
md_err md_response_header(struct md_response *res, struct md_pool *pool, const char *name,
                          const char *value) MD_WUR;
/* Render ctx's error as {"error":{"code","message"}} with its HTTP status. */
void md_response_error(struct md_response *res, const struct md_ctx *ctx);

#endif
