/* server.c - libmicrohttpd glue (see server.h).
 *
 * Request life cycle: first callback allocates struct req_state (pool +
 * body buffer) as *con_cls; upload callbacks append to the body (or mark it
 * too big); the final callback builds struct md_request, runs the API and
 * queues the response; the completed callback logs, records metrics and
 * frees the state. `inflight` counts requests between first and completed
 * callbacks so SIGTERM can wait for them.
 *
 * Waiting without a thread: a deferred response (a 201 after the group
 * commit) or an event stream with nothing to send suspends its connection
 * (MHD_suspend_connection, from the access handler or the content reader,
 * the two places MHD allows it) and is resumed from any thread through a
 * struct conn_waker. The waker's flags close the race between "nothing yet,
 * suspend" and "wake": a wake that comes before the suspend is remembered
 * and the suspend is skipped. On SIGTERM every stream is woken and ends, so
 * the drain does not wait for clients that never hang up.
 */
#include "server.h"
#include "md_time.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQUEST_POOL_MAX ((size_t)256 << 20)
#define MAX_WORKERS 256

struct conn_waker {
    pthread_mutex_t lock;
    struct MHD_Connection *conn;
    bool suspended, pending;
    struct conn_waker *prev, *next; /* in md_server.streams (streams only) */
};

struct md_server {
    struct MHD_Daemon *daemon;
    pthread_mutex_t streams_lock;
    struct conn_waker *streams; /* wakers of open streamed responses */
    atomic_bool closing;
    struct md_api *api;
    const struct md_config *cfg;
    struct md_server_opts opts;
    pthread_key_t worker_key;
    pthread_mutex_t workers_lock;
    struct md_worker *workers[MAX_WORKERS];
    size_t nworkers;
    atomic_int inflight;
    uint16_t port;
};

struct req_state {
    struct md_server *srv;
    struct md_pool *pool;
    struct md_buf body;
    bool too_big;
    bool answered;
    int64_t start_us;
    char *method, *path;
    int status;
    const char *route;
    size_t bytes;
    struct md_response *deferred; /* a response waiting for its poll */
    struct conn_waker *waker;
};

static struct conn_waker *waker_new(struct MHD_Connection *conn)
{
    struct conn_waker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    pthread_mutex_init(&w->lock, NULL);
    w->conn = conn;
    return w;
}

static void waker_free(struct conn_waker *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/* Any thread: resume the connection, or remember the wake if it is not
 * suspended yet. */
static void waker_wake(void *arg)
{
    struct conn_waker *w = arg;
    pthread_mutex_lock(&w->lock);
    if (w->suspended) {
        w->suspended = false;
        MHD_resume_connection(w->conn);
    } else {
        w->pending = true;
    }
    pthread_mutex_unlock(&w->lock);
}

/* The connection's thread, inside an MHD callback: suspend unless a wake
 * came in meanwhile. True when suspended. */
static bool waker_suspend(struct conn_waker *w)
{
    pthread_mutex_lock(&w->lock);
    bool suspend = !w->pending;
    w->pending = false;
    if (suspend) {
        w->suspended = true;
        MHD_suspend_connection(w->conn);
    }
    pthread_mutex_unlock(&w->lock);
    return suspend;
}

static void worker_free(struct md_worker *w)
{
    if (!w)
        return;
    md_store_close(w->store);
    md_geos_free(w->geos);
    if (w->proj)
        proj_context_destroy(w->proj);
    free(w);
}

/* The calling thread's worker, created on first use. NULL (with ctx) on failure. */
static struct md_worker *thread_worker(struct md_server *srv, struct md_ctx *ctx)
{
    struct md_worker *w = pthread_getspecific(srv->worker_key);
    if (w)
        return w;
    w = calloc(1, sizeof(*w));
    if (!w) {
        md_fail(ctx, MD_ENOMEM, "worker");
        return NULL;
    }
    if (md_store_open(srv->cfg->db_path, MD_STORE_READWRITE, &w->store, ctx) ||
        !(w->geos = md_geos_new()) || !(w->proj = proj_context_create())) {
        md_fail(ctx, MD_EINTERNAL, "cannot set up worker resources");
        worker_free(w);
        return NULL;
    }
    pthread_mutex_lock(&srv->workers_lock);
    if (srv->nworkers < MAX_WORKERS)
        srv->workers[srv->nworkers++] = w;
    pthread_mutex_unlock(&srv->workers_lock);
    pthread_setspecific(srv->worker_key, w);
    return w;
}

struct kv_collect {
    struct md_pool *pool;
    struct md_kv *items;
    size_t n, cap;
};

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct kv_collect *c = cls;
    (void)kind;
    if (c->n >= c->cap)
        return MHD_NO;
    c->items[c->n].key = key;
    c->items[c->n].value = value ? value : "";
    c->n++;
    return MHD_YES;
}

static md_err collect(struct MHD_Connection *conn, enum MHD_ValueKind kind, struct md_pool *pool,
                      const struct md_kv **out, size_t *n)
{
    struct kv_collect c = {.pool = pool};
    int total = MHD_get_connection_values(conn, kind, NULL, NULL);
    c.cap = total > 0 ? (size_t)total : 0;
    c.items = md_pool_calloc(pool, c.cap ? c.cap : 1, sizeof(*c.items));
    if (!c.items)
        return MD_ENOMEM;
    MHD_get_connection_values(conn, kind, collect_kv, &c);
    *out = c.items;
    *n = c.n;
    return MD_OK;
}

struct stream_state {
    struct md_stream stream;
    struct md_buf pending;
    size_t offset;
    struct md_server *srv;
    struct conn_waker *waker; /* NULL: the stream has no waker, poll */
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_state *s = cls;
    (void)pos;
    for (int tries = 0; s->offset >= s->pending.len; tries++) {
        if (atomic_load(&s->srv->closing))
            return MHD_CONTENT_READER_END_OF_STREAM;
        md_buf_reset(&s->pending);
        s->offset = 0;
        md_err rc = s->stream.next(s->stream.userdata, &s->pending);
        if (rc == MD_ENOTFOUND && s->pending.len == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (rc && rc != MD_ENOTFOUND)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->pending.len == 0 && (!s->waker || tries > 2 || waker_suspend(s->waker)))
            return 0; /* suspended until the stream wakes us (or polled again) */
    }
    size_t n = s->pending.len - s->offset;
    if (n > max)
        n = max;
    memcpy(buf, s->pending.data + s->offset, n);
    s->offset += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream_state *s = cls;
    if (s->stream.free) /* after this the stream never calls wake */
        s->stream.free(s->stream.userdata);
    if (s->waker) {
        pthread_mutex_lock(&s->srv->streams_lock);
        if (s->waker->prev)
            s->waker->prev->next = s->waker->next;
        else
            s->srv->streams = s->waker->next;
        if (s->waker->next)
            s->waker->next->prev = s->waker->prev;
        pthread_mutex_unlock(&s->srv->streams_lock);
        waker_free(s->waker);
    }
    md_buf_free(&s->pending);
    free(s);
}

static struct MHD_Response *make_response(struct md_server *srv, struct MHD_Connection *conn,
                                          struct md_response *res)
{
    struct MHD_Response *r;
    if (res->stream.next) {
        struct stream_state *s = calloc(1, sizeof(*s));
        if (!s)
            return NULL;
        s->stream = res->stream;
        s->srv = srv;
        res->stream.next = NULL;
        res->stream.free = NULL;
        md_buf_init(&s->pending, (size_t)16 << 20);
        if (s->stream.set_waker && (s->waker = waker_new(conn))) {
            pthread_mutex_lock(&srv->streams_lock);
            s->waker->next = srv->streams;
            if (srv->streams)
                srv->streams->prev = s->waker;
            srv->streams = s->waker;
            pthread_mutex_unlock(&srv->streams_lock);
            s->stream.set_waker(s->stream.userdata, waker_wake, s->waker);
        }
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s,
                                              stream_free);
        if (!r)
            stream_free(s);
    } else {
        size_t len;
        char *body = md_buf_steal(&res->body, &len);
        r = MHD_create_response_from_buffer(len, body ? body : (char *)"",
                                            body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!r)
            free(body);
    }
    if (!r)
        return NULL;
    if (res->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    for (size_t i = 0; i < res->nheaders; i++)
        MHD_add_response_header(r, res->headers[i].key, res->headers[i].value);
    return r;
}

static enum MHD_Result send_response(struct md_server *srv, struct MHD_Connection *conn,
                                     struct req_state *st, struct md_response *res)
{
    struct MHD_Response *r = make_response(srv, conn, res);
    st->answered = true;
    st->status = res->status;
    st->route = res->route ? res->route : "other";
    /* Counted before the client can see the answer, so a following /metrics
     * request always includes it. */
    md_api_observe(st->srv->api, st->route, st->status, md_time_mono_us() - st->start_us);
    if (!r)
        return MHD_NO;
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_error(struct md_server *srv, struct MHD_Connection *conn,
                                  struct req_state *st, md_err err, const char *message)
{
    struct md_response res;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_fail(&ctx, err, "%s", message);
    md_response_init(&res);
    md_response_error(&res, &ctx);
    res.route = "other";
    enum MHD_Result ok = send_response(srv, conn, st, &res);
    md_response_free(&res);
    return ok;
}

/* Poll a deferred response: answer it when ready, else suspend until woken
 * (MHD calls on_request again after the resume). */
static enum MHD_Result poll_deferred(struct md_server *srv, struct MHD_Connection *conn,
                                     struct req_state *st)
{
    struct md_response *res = st->deferred;
    for (;;) {
        if (res->deferred.poll(res->deferred.userdata, res))
            return send_response(srv, conn, st, res);
        if (waker_suspend(st->waker))
            return MHD_YES;
    }
}

static enum MHD_Result dispatch(struct md_server *srv, struct MHD_Connection *conn,
                                struct req_state *st)
{
    struct md_request req = {.method = st->method, .path = st->path, .pool = st->pool};
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    char addr[INET6_ADDRSTRLEN] = "unknown";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof(addr));
    }
    req.client_addr = md_pool_strdup(st->pool, addr);
    if (collect(conn, MHD_GET_ARGUMENT_KIND, st->pool, &req.query, &req.nquery) ||
        collect(conn, MHD_HEADER_KIND, st->pool, &req.headers, &req.nheaders) || !req.client_addr)
        return send_error(srv, conn, st, MD_ENOMEM, "out of request memory");
    req.body = st->body.data ? st->body.data : "";
    req.body_len = st->body.len;
    struct md_worker *w = thread_worker(srv, &ctx);
    if (!w)
        return send_error(srv, conn, st, MD_EBUSY, md_ctx_message(&ctx));
    struct md_response res;
    md_response_init(&res);
    md_api_handle(srv->api, w, &req, &res);
    if (res.deferred.poll) {
        st->deferred = malloc(sizeof(*st->deferred));
        st->waker = st->deferred ? waker_new(conn) : NULL;
        if (!st->waker) {
            free(st->deferred);
            st->deferred = NULL;
            md_response_free(&res);
            return send_error(srv, conn, st, MD_ENOMEM, "out of memory");
        }
        *st->deferred = res; /* the heap copy owns body and deferred now */
        st->deferred->deferred.set_waker(st->deferred->deferred.userdata, waker_wake, st->waker);
        return poll_deferred(srv, conn, st);
    }
    enum MHD_Result ok = send_response(srv, conn, st, &res);
    md_response_free(&res);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct md_server *srv = cls;
    struct req_state *st = *con_cls;
    (void)version;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        st->srv = srv;
        st->pool = md_pool_new(REQUEST_POOL_MAX);
        st->start_us = md_time_mono_us();
        md_buf_init(&st->body, srv->cfg->max_body_bytes);
        st->method = st->pool ? md_pool_strdup(st->pool, method) : NULL;
        st->path = st->pool ? md_pool_strdup(st->pool, url) : NULL;
        *con_cls = st;
        atomic_fetch_add(&srv->inflight, 1);
        if (!st->method || !st->path)
            return MHD_NO;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > srv->cfg->max_body_bytes) {
            char msg[128];
            snprintf(msg, sizeof(msg), "request body of %s bytes exceeds the limit of %zu bytes",
                     cl, srv->cfg->max_body_bytes);
            return send_error(srv, conn, st, MD_ETOOBIG, msg);
        }
        return MHD_YES;
    }
    if (st->deferred && !st->answered) /* resumed: is the answer ready? */
        return poll_deferred(srv, conn, st);
    if (st->answered) { /* e.g. 413 already queued: discard the rest of the body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_big && md_buf_append(&st->body, upload_data, *upload_data_size))
            st->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->too_big) {
        char msg[128];
        snprintf(msg, sizeof(msg), "request body exceeds the limit of %zu bytes",
                 srv->cfg->max_body_bytes);
        return send_error(srv, conn, st, MD_ETOOBIG, msg);
    }
    return dispatch(srv, conn, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct md_server *srv = cls;
    struct req_state *st = *con_cls;
    (void)conn;
    if (!st)
        return;
    int64_t us = md_time_mono_us() - st->start_us;
    int status = st->answered ? st->status : 499;
    if (!srv->opts.quiet)
        fprintf(stderr, "%s %s %d %lldus%s\n", st->method ? st->method : "-",
                st->path ? st->path : "-", status, (long long)us,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
    if (st->deferred) { /* frees the deferred state first: no wake after this */
        md_response_free(st->deferred);
        free(st->deferred);
    }
    waker_free(st->waker);
    md_buf_free(&st->body);
    md_pool_free(st->pool);
    free(st);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct md_server *srv = cls;
    if (srv->opts.quiet)
        return;
    fprintf(stderr, "http: ");
    vfprintf(stderr, fmt, ap);
}

static md_err parse_bind(const struct md_server_opts *o, struct sockaddr_storage *ss,
                         socklen_t *len, struct md_ctx *ctx)
{
    memset(ss, 0, sizeof(*ss));
    const char *bind = o->bind && *o->bind ? o->bind : "127.0.0.1";
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, bind, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(o->port);
        *len = sizeof(*v4);
        return MD_OK;
    }
    if (inet_pton(AF_INET6, bind, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(o->port);
        *len = sizeof(*v6);
        return MD_OK;
    }
    return md_fail(ctx, MD_EINVAL, "--bind '%s' is not an IPv4 or IPv6 address", bind);
}

md_err md_server_start(const struct md_server_opts *o, const struct md_config *cfg,
                       struct md_server **out, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    struct sockaddr_storage ss;
    socklen_t sslen;
    struct md_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return md_fail(ctx, MD_ENOMEM, "server");
    srv->cfg = cfg;
    srv->opts = *o;
    pthread_key_create(&srv->worker_key, NULL);
    pthread_mutex_init(&srv->workers_lock, NULL);
    pthread_mutex_init(&srv->streams_lock, NULL);
    rc = parse_bind(o, &ss, &sslen, ctx);
    if (!rc)
        rc = md_api_new(cfg, &srv->api, ctx);
    if (rc)
        goto fail;
    /* Open one connection up front: a bad database fails start-up, not requests. */
    if (!thread_worker(srv, ctx)) {
        rc = ctx->err ? ctx->err : MD_EIO;
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(
        flags, o->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads ? o->threads : 4),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o->max_connections ? o->max_connections : 1024),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)o->max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout_seconds ? o->timeout_seconds : 30),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(o->max_header_bytes ? o->max_header_bytes : 64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        srv, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!srv->daemon) {
        rc = md_fail(ctx, MD_EIO, "cannot listen on %s:%u (address in use or not permitted?)",
                     o->bind ? o->bind : "127.0.0.1", (unsigned)o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : o->port;
    *out = srv;
    return MD_OK;
fail:
    md_server_stop(srv);
    return rc;
}

uint16_t md_server_port(const struct md_server *srv)
{
    return srv->port;
}

void md_server_stop(struct md_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon) {
        MHD_quiesce_daemon(srv->daemon);
        /* End open streams (event streams never end by themselves). */
        atomic_store(&srv->closing, true);
        pthread_mutex_lock(&srv->streams_lock);
        for (struct conn_waker *w = srv->streams; w; w = w->next)
            waker_wake(w);
        pthread_mutex_unlock(&srv->streams_lock);
        unsigned waited_ms = 0, limit_ms = (srv->opts.drain_seconds ? srv->opts.drain_seconds : 10) * 1000;
        while (atomic_load(&srv->inflight) > 0 && waited_ms < limit_ms) {
            usleep(10000);
            waited_ms += 10;
        }
        MHD_stop_daemon(srv->daemon);
    }
    for (size_t i = 0; i < srv->nworkers; i++)
        worker_free(srv->workers[i]);
    pthread_key_delete(srv->worker_key);
    pthread_mutex_destroy(&srv->workers_lock);
    pthread_mutex_destroy(&srv->streams_lock);
    md_api_free(srv->api);
    free(srv);
}
