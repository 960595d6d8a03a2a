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
 *
 * Limits (each configurable, see server.h): libmicrohttpd enforces the hard
 * ones itself and answers them in its own (HTML) form: 431 when the request
 * head outgrows the connection's memory, 414 for a URL that does, and a
 * silent close beyond the hard connection caps. Below those mapd answers in
 * JSON: 414 above max_url_bytes, 431 above max_header_bytes, 503 above
 * max_connections and 429 above max_connections_per_ip (the hard caps sit
 * a slack above these, so the JSON answers are what clients normally see).
 * Every connection is tracked (struct conn_info, from MHD's connection
 * notifications); a reaper thread answers 408 and shuts down the socket of
 * any connection whose request has not fully arrived within
 * request_timeout_seconds of its start - MHD's own timeout only catches
 * idle connections, not one that sends a byte a second.
 */
#include "server.h"
#include "md_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_POOL_MAX ((size_t)256 << 20)
#define MAX_WORKERS 256

struct conn_waker {
    pthread_mutex_t lock;
    struct MHD_Connection *conn;
    bool suspended, pending;
    struct conn_waker *prev, *next; /* in md_server.streams (streams only) */
};

/* One per open connection, in md_server.conns (socket context in MHD). */
struct conn_info {
    int fd;
    char addr[INET6_ADDRSTRLEN];
    int64_t since_us;   /* start of the request being received (or of the idle wait) */
    bool receiving;     /* false from dispatch until the request completes */
    bool kept_alive;    /* waiting for a further request on a kept-alive connection */
    bool over_total, over_client; /* past the soft limits when it was accepted */
    bool reaped;
    struct conn_info *prev, *next;
};

struct md_server {
    struct MHD_Daemon *daemon;
    int listen_fd; /* the probe's, then MHD's after quiesce (closed in md_server_stop) */
    pthread_mutex_t conns_lock;
    struct conn_info *conns;
    unsigned nconns;
    pthread_t reaper;
    bool reaper_started;
    atomic_bool reaper_stop;
    atomic_llong reaped_total;
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
    size_t body_limit; /* max_body_bytes, or MD_UPLOAD_BODY_MAX for multipart uploads */
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
    md_store_close(w->replica);
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
        (srv->cfg->read_db_path &&
         md_store_open(srv->cfg->read_db_path, MD_STORE_READONLY, &w->replica, ctx)) ||
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
    } else if (res->has_file) { /* libmicrohttpd owns the descriptor from here on */
        r = MHD_create_response_from_fd_at_offset64(res->file_length, res->file_fd,
                                                    res->file_offset);
        if (!r)
            close(res->file_fd);
        res->has_file = false;
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

/* An error after which the connection cannot be trusted to frame a next
 * request (conflicting lengths): answered with Connection: close. */
static enum MHD_Result send_error_close(struct md_server *srv, struct MHD_Connection *conn,
                                        struct req_state *st, md_err err, const char *message)
{
    struct md_response res;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_fail(&ctx, err, "%s", message);
    md_response_init(&res);
    md_response_error(&res, &ctx);
    res.route = "other";
    MD_IGNORE(md_response_header(&res, NULL, "Connection", "close"));
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

/* Write `s` with every control byte (C0, DEL) and backslash escaped as \xNN
 * or \\, so no request text can break or forge a log line (or send
 * terminal escapes to whoever reads the log). */
static void log_field(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else if (*p == '\\')
            fputs("\\\\", f);
        else
            fputc(*p, f);
    }
}

/* "127.0.0.1:8080" / "[::1]:8080": the address the client connected to. */
static void local_address(struct MHD_Connection *conn, char *out, size_t size)
{
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "127.0.0.1";
    unsigned port = 0;
    out[0] = '\0';
    if (!fd || getsockname(fd->connect_fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(out, size, "%s:%u", host, port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(out, size, "[%s]:%u", host, port);
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
    char local[INET6_ADDRSTRLEN + 16];
    local_address(conn, local, sizeof(local));
    req.local_addr = local[0] ? md_pool_strdup(st->pool, local) : NULL;
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

static struct conn_info *conn_info_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void conn_set_receiving(struct md_server *srv, struct MHD_Connection *conn, bool receiving)
{
    struct conn_info *ci = conn_info_of(conn);
    if (!ci)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    ci->receiving = receiving;
    ci->kept_alive = receiving; /* set again once a request has completed */
    ci->since_us = md_time_mono_us();
    pthread_mutex_unlock(&srv->conns_lock);
}

/* A request's head has arrived on the connection: a kept-alive connection
 * now gets the full deadline for the rest (the body). */
static void conn_head_arrived(struct md_server *srv, struct MHD_Connection *conn)
{
    struct conn_info *ci = conn_info_of(conn);
    if (!ci)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    if (ci->kept_alive) {
        ci->kept_alive = false;
        ci->since_us = md_time_mono_us();
    }
    pthread_mutex_unlock(&srv->conns_lock);
}

static enum MHD_Result add_len(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    size_t *n = cls;
    (void)kind;
    *n += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* The soft limits, checked when a request's head has arrived: a JSON answer
 * (with Connection: close) or MHD_YES to go on. */
static enum MHD_Result check_limits(struct md_server *srv, struct MHD_Connection *conn,
                                    struct req_state *st, const char *url, bool *answered)
{
    char msg[160];
    struct conn_info *ci = conn_info_of(conn);
    size_t url_len = strlen(url), head_len = 0;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_len, &url_len);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, add_len, &head_len);
    md_err err = MD_OK;
    *answered = true;
    if (ci && ci->over_total) {
        snprintf(msg, sizeof(msg), "the server has its maximum of %u connections open; retry shortly",
                 srv->opts.max_connections);
        err = MD_EBUSY;
    } else if (ci && ci->over_client) {
        snprintf(msg, sizeof(msg), "%s has more than %u connections open", ci->addr,
                 srv->opts.max_connections_per_ip);
        err = MD_ERATE;
    } else if (srv->opts.max_url_bytes && url_len > srv->opts.max_url_bytes) {
        snprintf(msg, sizeof(msg), "the URL of about %zu bytes exceeds the limit of %zu bytes",
                 url_len, srv->opts.max_url_bytes);
        err = MD_EURITOOLONG;
    } else if (srv->opts.max_header_bytes && head_len > srv->opts.max_header_bytes) {
        snprintf(msg, sizeof(msg), "request headers of about %zu bytes exceed the limit of %zu bytes",
                 head_len, srv->opts.max_header_bytes);
        err = MD_EHDRTOOBIG;
    }
    if (!err) {
        *answered = false;
        return MHD_YES;
    }
    struct md_response res;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_fail(&ctx, err, "%s", msg);
    md_response_init(&res);
    md_response_error(&res, &ctx);
    res.route = "other";
    MD_IGNORE(md_response_header(&res, NULL, "Connection", "close"));
    if (err == MD_EBUSY || err == MD_ERATE)
        MD_IGNORE(md_response_header(&res, NULL, "Retry-After", "1"));
    enum MHD_Result ok = send_response(srv, conn, st, &res);
    md_response_free(&res);
    return ok;
}

/* libmicrohttpd percent-decodes the URL in place and hands on a C string, so
 * "/health%00/x" would arrive as "/health". The raw URI is seen here first;
 * the answer becomes the request's first *con_cls: this marker when the URI
 * holds an encoded NUL (no allocation: MHD may drop the request before the
 * access handler, and then nothing would free it). */
static const char url_has_nul = 1;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    return uri && strstr(uri, "%00") ? (void *)&url_has_nul : NULL;
}

struct content_lengths {
    unsigned count;
    bool differ;
    const char *first;
};

static enum MHD_Result count_content_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                            const char *value)
{
    struct content_lengths *cl = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
        return MHD_YES;
    value = value ? value : "";
    if (cl->count++ == 0)
        cl->first = value;
    else if (strcmp(cl->first, value) != 0)
        cl->differ = true;
    /* one header with a list ("5, 7") is as ambiguous as two */
    if (strchr(value, ','))
        cl->differ = true;
    return MHD_YES;
}

/* The request head's framing and URL checks (RFC 9112 6.3: a message with
 * differing Content-Length values is unrecoverable). A message or NULL. */
static const char *head_error(struct MHD_Connection *conn, bool url_nul)
{
    struct content_lengths cl = {0};
    if (url_nul)
        return "the URL contains an encoded NUL (%00)";
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_content_length, &cl);
    if (cl.differ)
        return "the request has conflicting Content-Length headers";
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct md_server *srv = cls;
    bool url_nul = *con_cls == &url_has_nul;
    struct req_state *st = url_nul ? NULL : *con_cls;
    (void)version;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        st->srv = srv;
        st->pool = md_pool_new(REQUEST_POOL_MAX);
        st->start_us = md_time_mono_us();
        const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_CONTENT_TYPE);
        st->body_limit = srv->cfg->max_body_bytes;
        if (ctype && strncasecmp(ctype, "multipart/form-data", 19) == 0 &&
            st->body_limit < MD_UPLOAD_BODY_MAX)
            st->body_limit = MD_UPLOAD_BODY_MAX;
        md_buf_init(&st->body, st->body_limit);
        st->method = st->pool ? md_pool_strdup(st->pool, method) : NULL;
        st->path = st->pool ? md_pool_strdup(st->pool, url) : NULL;
        *con_cls = st;
        atomic_fetch_add(&srv->inflight, 1);
        if (!st->method || !st->path)
            return MHD_NO;
        conn_head_arrived(srv, conn);
        bool limited;
        enum MHD_Result lim = check_limits(srv, conn, st, url, &limited);
        if (limited)
            return lim;
        const char *bad_head = head_error(conn, url_nul);
        if (bad_head)
            return send_error_close(srv, conn, st, MD_EINVAL, bad_head);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > st->body_limit) {
            char msg[128];
            snprintf(msg, sizeof(msg), "request body of %s bytes exceeds the limit of %zu bytes",
                     cl, st->body_limit);
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
                 st->body_limit);
        return send_error(srv, conn, st, MD_ETOOBIG, msg);
    }
    conn_set_receiving(srv, conn, false); /* the whole request is here */
    return dispatch(srv, conn, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct md_server *srv = cls;
    struct req_state *st = *con_cls;
    if (!st)
        return;
    conn_set_receiving(srv, conn, true); /* keep-alive: the next request's clock starts */
    int64_t us = md_time_mono_us() - st->start_us;
    int status = st->answered ? st->status : 499;
    if (!srv->opts.quiet) {
        flockfile(stderr);
        log_field(stderr, st->method);
        fputc(' ', stderr);
        log_field(stderr, st->path);
        fprintf(stderr, " %d %lldus%s\n", status, (long long)us,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
        funlockfile(stderr);
    }
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

/* Connection opened/closed: keep md_server.conns and the soft-limit flags. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct md_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_info *ci = calloc(1, sizeof(*ci));
        if (!ci)
            return;
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ca = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        ci->fd = fd ? fd->connect_fd : -1;
        snprintf(ci->addr, sizeof(ci->addr), "unknown");
        if (ca && ca->client_addr && ca->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ca->client_addr)->sin_addr, ci->addr,
                      sizeof(ci->addr));
        else if (ca && ca->client_addr && ca->client_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ca->client_addr)->sin6_addr,
                      ci->addr, sizeof(ci->addr));
        ci->since_us = md_time_mono_us();
        ci->receiving = true;
        pthread_mutex_lock(&srv->conns_lock);
        unsigned same = 1;
        for (struct conn_info *o = srv->conns; o; o = o->next)
            same += strcmp(o->addr, ci->addr) == 0;
        srv->nconns++;
        ci->over_total = srv->opts.max_connections && srv->nconns > srv->opts.max_connections;
        ci->over_client = srv->opts.max_connections_per_ip && same > srv->opts.max_connections_per_ip;
        ci->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = ci;
        srv->conns = ci;
        pthread_mutex_unlock(&srv->conns_lock);
        *socket_context = ci;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        /* MHD closes the socket after this: the reaper never sees a reused fd. */
        struct conn_info *ci = *socket_context;
        pthread_mutex_lock(&srv->conns_lock);
        if (ci->prev)
            ci->prev->next = ci->next;
        else
            srv->conns = ci->next;
        if (ci->next)
            ci->next->prev = ci->prev;
        srv->nconns--;
        pthread_mutex_unlock(&srv->conns_lock);
        free(ci);
        *socket_context = NULL;
    }
}

/* Cut off connections whose request is still arriving after the deadline:
 * a JSON 408 (best effort; MHD is not writing while it receives) and a
 * shutdown(), which MHD's thread sees as the client going away. */
static void *reaper_main(void *arg)
{
    struct md_server *srv = arg;
    int64_t limit_us = (int64_t)srv->opts.request_timeout_seconds * 1000000;
    char msg[512];
    int body = snprintf(msg + 256, 256,
                        "{\"error\":{\"code\":\"request_timeout\",\"message\":\"the request did not "
                        "arrive within %u s\"}}\n", srv->opts.request_timeout_seconds);
    int head = snprintf(msg, 256, "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                        "Connection: close\r\nContent-Length: %d\r\n\r\n", body);
    memmove(msg + head, msg + 256, (size_t)body + 1);
    while (!atomic_load(&srv->reaper_stop)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t now = md_time_mono_us();
        pthread_mutex_lock(&srv->conns_lock);
        for (struct conn_info *ci = srv->conns; ci; ci = ci->next) {
            if (!ci->receiving || ci->reaped || ci->fd < 0 || now - ci->since_us < limit_us)
                continue;
            ci->reaped = true;
            atomic_fetch_add(&srv->reaped_total, 1);
            /* An idle kept-alive connection is closed quietly (browsers
             * expect that); a request that is trickling in gets its 408. */
            if (!ci->kept_alive &&
                send(ci->fd, msg, (size_t)(head + body), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
                /* the client is not reading either: just cut it off */
            }
            shutdown(ci->fd, SHUT_RDWR);
            if (!srv->opts.quiet)
                fprintf(stderr, "http: cut off %s: request not complete after %u s\n", ci->addr,
                        srv->opts.request_timeout_seconds);
        }
        pthread_mutex_unlock(&srv->conns_lock);
    }
    return NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct md_server *srv = cls;
    char line[1024];
    if (srv->opts.quiet)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    bool nl = n && line[n - 1] == '\n';
    if (nl)
        line[n - 1] = '\0';
    flockfile(stderr);
    fputs("http: ", stderr);
    log_field(stderr, line);
    fputc('\n', stderr);
    funlockfile(stderr);
}

static md_err parse_bind(const struct md_server_opts *o, struct sockaddr_storage *ss,
                         socklen_t *len, struct md_ctx *ctx)
{
    memset(ss, 0, sizeof(*ss));
    *len = 0;
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

/* Bind and listen ourselves, so that a port in use is a clear start-up
 * error: SO_REUSEADDR only (a restart need not wait out TIME_WAIT; on Linux
 * it never lets two sockets listen on one port). SO_REUSEPORT, which would
 * let a second server take half the connections - and half the report
 * writes, into another database - only with --reuse-port. */
static md_err listen_socket(const struct md_server_opts *o, const struct sockaddr_storage *ss,
                            socklen_t len, int *out, uint16_t *port, struct md_ctx *ctx)
{
    const char *bind_addr = o->bind && *o->bind ? o->bind : "127.0.0.1";
    /* non-blocking: every pool thread polls it, the ones that lose the race
     * for a connection must not sit in accept() */
    int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return md_fail(ctx, MD_EIO, "cannot create a socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (o->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        int e = errno;
        close(fd);
        return md_fail(ctx, MD_EIO, "--reuse-port: %s", strerror(e));
    }
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, 512) != 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE)
            return md_fail(ctx, MD_EIO,
                           "cannot listen on %s:%u: the address is already in use (another "
                           "mapd serve, or another program, listens there; stop it or choose "
                           "another --port)",
                           bind_addr, (unsigned)o->port);
        return md_fail(ctx, MD_EIO, "cannot listen on %s:%u: %s", bind_addr, (unsigned)o->port,
                       strerror(e));
    }
    struct sockaddr_storage got;
    socklen_t glen = sizeof(got);
    *port = o->port;
    if (getsockname(fd, (struct sockaddr *)&got, &glen) == 0)
        *port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                : ((struct sockaddr_in *)&got)->sin_port);
    *out = fd;
    return MD_OK;
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
    srv->listen_fd = -1;
    pthread_key_create(&srv->worker_key, NULL);
    pthread_mutex_init(&srv->workers_lock, NULL);
    pthread_mutex_init(&srv->streams_lock, NULL);
    pthread_mutex_init(&srv->conns_lock, NULL);
    rc = parse_bind(o, &ss, &sslen, ctx);
    if (!rc && o->port) /* a probe: the clear message for a port in use; MHD binds its own */
        rc = listen_socket(o, &ss, sslen, &srv->listen_fd, &srv->port, ctx);
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
        srv->listen_fd = -1;
    }
    if (!rc)
        rc = md_api_new(cfg, &srv->api, ctx);
    if (rc)
        goto fail;
    /* Open one connection up front: a bad database fails start-up, not requests. */
    if (!thread_worker(srv, ctx)) {
        rc = ctx->err ? ctx->err : MD_EIO;
        goto fail;
    }
    /* MHD's hard limits sit above mapd's soft ones (JSON answers below them). */
    unsigned max_conns = o->max_connections ? o->max_connections : 1024;
    unsigned hard_conns = max_conns + (max_conns / 8 > 16 ? max_conns / 8 : 16);
    unsigned hard_per_ip = o->max_connections_per_ip
                               ? o->max_connections_per_ip + (o->max_connections_per_ip / 8 > 8
                                                                  ? o->max_connections_per_ip / 8 : 8)
                               : 0;
    size_t head_bytes = (o->max_header_bytes ? o->max_header_bytes : 32 * 1024) +
                        (o->max_url_bytes ? o->max_url_bytes : 8 * 1024);
    size_t conn_memory = 2 * head_bytes + 32 * 1024;
    /* TURBO: read, write and accept before asking epoll whether the socket
     * is ready (non-blocking sockets: at worst EAGAIN), saving a syscall per
     * step of a keep-alive request. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(
        /* The logger first: MHD warns (on stderr) when it is not. */
        flags, o->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads ? o->threads : 4),
        MHD_OPTION_CONNECTION_LIMIT, hard_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, hard_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout_seconds ? o->timeout_seconds : 30),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, conn_memory,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        /* No SO_REUSEPORT unless asked: a second server on the port must
         * fail, not take half of the connections (and report writes). */
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)(o->reuse_port ? 1 : 0), MHD_OPTION_END);
    if (!srv->daemon) {
        rc = md_fail(ctx, MD_EIO, "cannot listen on %s:%u (the address is in use or not permitted)",
                     o->bind ? o->bind : "127.0.0.1", (unsigned)o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : o->port;
    if (o->request_timeout_seconds) {
        if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
            rc = md_fail(ctx, MD_EINTERNAL, "cannot start the slow-client reaper thread");
            goto fail;
        }
        srv->reaper_started = true;
    }
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
        srv->listen_fd = MHD_quiesce_daemon(srv->daemon); /* ours to close now */
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
    }
    if (srv->reaper_started) { /* before MHD closes the sockets the reaper may touch */
        atomic_store(&srv->reaper_stop, true);
        pthread_join(srv->reaper, NULL);
    }
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    for (size_t i = 0; i < srv->nworkers; i++)
        worker_free(srv->workers[i]);
    pthread_key_delete(srv->worker_key);
    pthread_mutex_destroy(&srv->workers_lock);
    pthread_mutex_destroy(&srv->streams_lock);
    pthread_mutex_destroy(&srv->conns_lock);
    md_api_free(srv->api);
    free(srv);
}
