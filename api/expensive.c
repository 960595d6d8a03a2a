/* expensive.c - expensive requests run on their own threads (expensive.h).
 *
 * libmicrohttpd binds each connection to one of its worker threads; a
 * worker busy for seconds in a polygon query stalls every connection it
 * holds, /health included. So an expensive request (api/router.c says
 * which) never runs on an HTTP worker: the router hands it to this pool and
 * answers with a deferred response; the connection is suspended (no thread
 * held) until the job is done and wakes it. The pool has `slots` threads
 * and no queue: when all are busy the request gets 503 + Retry-After at
 * once, so expensive work can never take more than `slots` threads, and
 * the HTTP workers stay free for tiles, /health and nearest.
 *
 * A job is shared by its pool thread and its request (refs = 2); the
 * request's free waits until the job is done, since the job reads the
 * request's memory (its pool and body), which is freed right after. The
 * job is queued only when mapd/ sets the deferred's waker, after the router
 * is done with the request (CORS headers come from its pool): from then on
 * only the job uses the request's pool until it is done.
 */
#include "expensive.h"
#include "negotiate.h"
#include "md_time.h"

#include <proj.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct job {
    struct md_expensive_pool *pool;
    bool queued; /* handed to the pool (else the slot is only reserved) */
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int refs;
    bool done;
    md_wake_cb wake;
    void *wake_arg;
    struct md_api *api;
    md_handler_fn fn;
    struct md_request req; /* a copy; what it points at is the request's */
    const char *tail;
    struct md_response res; /* filled on the pool thread */
    struct job *next;
};

struct md_expensive_pool {
    const struct md_config *cfg;
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct job *queue;
    unsigned idle, nthreads;
    bool stop;
    pthread_t *threads;
};

static void job_unref(struct job *j)
{
    pthread_mutex_lock(&j->lock);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (!last)
        return;
    md_response_free(&j->res);
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->done_cv);
    free(j);
}

/* ---- the request's side (deferred callbacks, on its HTTP thread) */

static void job_set_waker(void *userdata, md_wake_cb wake, void *arg)
{
    struct job *j = userdata;
    struct md_expensive_pool *p = j->pool;
    pthread_mutex_lock(&j->lock);
    j->wake = wake;
    j->wake_arg = arg;
    j->queued = true;
    pthread_mutex_unlock(&j->lock);
    pthread_mutex_lock(&p->lock);
    struct job **tailp = &p->queue;
    while (*tailp)
        tailp = &(*tailp)->next;
    *tailp = j;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

/* Move the job's answer into res, keeping the headers res already has
 * (CORS, added by the router). */
static bool job_poll(void *userdata, struct md_response *res)
{
    struct job *j = userdata;
    pthread_mutex_lock(&j->lock);
    bool done = j->done;
    pthread_mutex_unlock(&j->lock);
    if (!done)
        return false;
    struct md_response *from = &j->res;
    res->status = from->status;
    res->content_type = from->content_type;
    struct md_buf body = res->body;
    res->body = from->body;
    from->body = body;
    for (size_t i = 0; i < from->nheaders && res->nheaders < MD_RESPONSE_MAX_HEADERS; i++)
        res->headers[res->nheaders++] = from->headers[i];
    res->stream = from->stream;
    from->stream = (struct md_stream){0};
    res->has_file = from->has_file;
    res->file_fd = from->file_fd;
    res->file_offset = from->file_offset;
    res->file_length = from->file_length;
    from->has_file = false;
    return true;
}

static void job_free(void *userdata)
{
    struct job *j = userdata;
    pthread_mutex_lock(&j->lock);
    bool queued = j->queued;
    while (queued && !j->done)
        pthread_cond_wait(&j->done_cv, &j->lock);
    pthread_mutex_unlock(&j->lock);
    if (!queued) { /* never handed over: give the slot back, drop the pool's ref too */
        pthread_mutex_lock(&j->pool->lock);
        j->pool->idle++;
        pthread_mutex_unlock(&j->pool->lock);
        job_unref(j);
    }
    job_unref(j);
}

/* ---- the pool's side */

static void job_run(struct job *j, struct md_worker *w, const struct md_config *cfg)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    ctx.pool = j->req.pool;
    md_ctx_set_budget(&ctx, cfg->query_budget_ms, NULL);
    struct md_call call = {
        .api = j->api, .w = w, .req = &j->req, .res = &j->res, .ctx = &ctx, .tail = j->tail};
    md_err rc = w ? j->fn(&call) : md_fail(&ctx, MD_EBUSY, "no database connection for the query");
    if (rc) {
        if (!ctx.err)
            md_fail(&ctx, rc, NULL);
        if (j->res.status < 400)
            md_response_error(&j->res, &ctx);
    }
    /* The answer is made here, not in the router: compress it here too. */
    md_negotiate_response(&j->req, &j->res, false);
    /* The slot is free once the answer is made: a client that sends its
     * next request the moment it has this answer must find it free (a job
     * queued meanwhile waits the microseconds this thread needs to loop). */
    pthread_mutex_lock(&j->pool->lock);
    j->pool->idle++;
    pthread_mutex_unlock(&j->pool->lock);
    /* Wake under the job's lock: once the request sees `done` it may end and
     * free its waker (job_free waits for this lock), so a wake after the
     * unlock would write into freed memory. (ingest.c wakes under its lock
     * the same way.) */
    pthread_mutex_lock(&j->lock);
    j->done = true;
    if (j->wake)
        j->wake(j->wake_arg);
    pthread_cond_broadcast(&j->done_cv);
    pthread_mutex_unlock(&j->lock);
}

static void *pool_main(void *arg)
{
    struct md_expensive_pool *p = arg;
    struct md_worker w = {0};
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    bool ok = md_store_open(p->cfg->db_path, MD_STORE_READWRITE, &w.store, &ctx) == MD_OK &&
              (w.geos = md_geos_new()) && (w.proj = proj_context_create());
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->queue && !p->stop)
            pthread_cond_wait(&p->work, &p->lock);
        if (!p->queue)
            break;
        struct job *j = p->queue;
        p->queue = j->next;
        pthread_mutex_unlock(&p->lock);
        job_run(j, ok ? &w : NULL, p->cfg);
        job_unref(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    md_store_close(w.store);
    md_geos_free(w.geos);
    if (w.proj)
        proj_context_destroy(w.proj);
    return NULL;
}

md_err md__expensive_new(const struct md_config *cfg, unsigned slots,
                         struct md_expensive_pool **out, struct md_ctx *ctx)
{
    struct md_expensive_pool *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (slots == 0)
        slots = 1;
    if (!p || !(p->threads = calloc(slots, sizeof(*p->threads)))) {
        free(p);
        return md_fail(ctx, MD_ENOMEM, "expensive-query pool");
    }
    p->cfg = cfg;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    for (unsigned i = 0; i < slots; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            md__expensive_free(p);
            return md_fail(ctx, MD_EINTERNAL, "cannot start the expensive-query threads");
        }
        p->nthreads++;
        p->idle++;
    }
    *out = p;
    return MD_OK;
}

void md__expensive_free(struct md_expensive_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    free(p->threads);
    free(p);
}

md_err md__expensive_submit(struct md_expensive_pool *p, struct md_call *call, md_handler_fn fn)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return md_fail(call->ctx, MD_ENOMEM, "expensive query");
    pthread_mutex_lock(&p->lock);
    bool free_slot = p->idle > 0 && !p->stop;
    if (free_slot)
        p->idle--;
    pthread_mutex_unlock(&p->lock);
    if (!free_slot) {
        free(j);
        MD_IGNORE(md_response_header(call->res, NULL, "Retry-After", "1"));
        return md_fail(call->ctx, MD_EBUSY,
                       "all %u slots for expensive queries (polygons, wide areas, stats, hot "
                       "spots, exports) are busy (--expensive-slots); retry shortly",
                       p->nthreads);
    }
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->done_cv, NULL);
    j->refs = 2;
    j->api = call->api;
    j->fn = fn;
    j->req = *call->req;
    j->tail = call->tail;
    md_response_init(&j->res);
    j->res.route = call->res->route;
    j->pool = p;
    call->res->deferred = (struct md_deferred){
        .poll = job_poll, .set_waker = job_set_waker, .free = job_free, .userdata = j};
    return MD_OK;
}
