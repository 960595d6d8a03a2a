/* events.c - Server-Sent Events of report changes (see events.h).
 *
 * Frame: "id: N\nevent: TYPE\ndata: JSON\n\n". The ring keeps the last
 * RING_SIZE frames; `floor` is the id below the ring's oldest frame, so a
 * subscriber whose last id is below the floor has missed frames: its stream
 * ends and the client, reconnecting with Last-Event-ID, gets them from the
 * database. Heartbeats are SSE comments (": ping") every heartbeat_s.
 * A stream may filter (report, district, category, status; event_filter.h,
 * the webhooks' rule too): each event's report fields are read once when it
 * enters the ring or a backlog, and a stream skips what does not match (its
 * last id still advances).
 * Locking: hub->lock guards the ring, the subscriber list and every
 * subscriber's fields; wake callbacks are called with it held.
 */
#include "events.h"
#include "event_filter.h"
#include "queries.h"
#include "md_text.h"
#include "params.h"
#include "md_time.h"
#include "reports.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_SIZE 1024
#define BACKLOG_MAX 1000     /* rows sent from the database on (re)connect */
#define SEND_MAX (256 << 10) /* bytes per next() */

struct frame {
    int64_t id;
    char *text;
    size_t len;
    struct md_event_about about;
};

struct sub {
    struct md_events_hub *hub;
    struct sub *prev, *next;
    int64_t last_id;
    uint64_t beats_seen;
    md_wake_cb wake;
    void *wake_arg;
    struct md_buf backlog; /* frames read from the database at connect */
    struct md_event_filter filter;
};

struct md_events_hub {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool started, stopping, notified;
    struct md_store *store; /* the hub thread's own connection */
    struct frame ring[RING_SIZE];
    size_t head, count; /* oldest at head */
    int64_t floor;      /* every event with id > floor is in the ring or not yet read */
    int64_t last_read;
    uint64_t beats;
    struct sub *subs;
    int nsubs, max_subs, heartbeat_s;
};

static md_err frame_text(struct md_buf *b, int64_t id, const char *type, const char *payload)
{
    /* payload is compact JSON from store/: no newlines, so one data: line. */
    return md_buf_printf(b, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)id, type, payload);
}

static md_err ring_add(int64_t id, const char *type, const char *payload, void *userdata)
{
    struct md_events_hub *hub = userdata;
    struct md_buf b;
    md_buf_init(&b, (size_t)1 << 20);
    md_err rc = frame_text(&b, id, type, payload);
    if (rc) {
        md_buf_free(&b);
        return rc;
    }
    pthread_mutex_lock(&hub->lock);
    if (hub->count == RING_SIZE) { /* drop the oldest */
        struct frame *old = &hub->ring[hub->head];
        hub->floor = old->id;
        free(old->text);
        hub->head = (hub->head + 1) % RING_SIZE;
        hub->count--;
    }
    struct frame *f = &hub->ring[(hub->head + hub->count) % RING_SIZE];
    f->id = id;
    f->len = b.len;
    f->text = md_buf_steal(&b, NULL);
    md__event_about(payload, &f->about);
    hub->count++;
    hub->last_read = id;
    pthread_mutex_unlock(&hub->lock);
    return MD_OK;
}

static void wake_all(struct md_events_hub *hub)
{
    for (struct sub *s = hub->subs; s; s = s->next)
        if (s->wake)
            s->wake(s->wake_arg);
}

static void *hub_main(void *arg)
{
    struct md_events_hub *hub = arg;
    int64_t last_beat = md_time_mono_us();
    pthread_mutex_lock(&hub->lock);
    while (!hub->stopping) {
        if (!hub->notified) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&hub->cond, &hub->lock, &until);
        }
        if (hub->stopping)
            break;
        hub->notified = false;
        int64_t after = hub->last_read;
        pthread_mutex_unlock(&hub->lock);
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        MD_IGNORE(md_events_since(hub->store, after, RING_SIZE, ring_add, hub, &ctx));
        int64_t now = md_time_mono_us();
        bool beat = now - last_beat >= (int64_t)hub->heartbeat_s * 1000000;
        pthread_mutex_lock(&hub->lock);
        if (beat) {
            hub->beats++;
            last_beat = now;
        }
        if (beat || hub->last_read != after)
            wake_all(hub);
    }
    wake_all(hub); /* streams see `stopping` and end */
    pthread_mutex_unlock(&hub->lock);
    return NULL;
}

md_err md__events_hub_new(const char *db_path, int max_subscribers, int heartbeat_s,
                          struct md_events_hub **out, struct md_ctx *ctx)
{
    struct md_events_hub *hub = calloc(1, sizeof(*hub));
    if (!hub)
        return md_fail(ctx, MD_ENOMEM, "event hub");
    pthread_mutex_init(&hub->lock, NULL);
    pthread_cond_init(&hub->cond, NULL);
    hub->max_subs = max_subscribers > 0 ? max_subscribers : 256;
    hub->heartbeat_s = heartbeat_s > 0 ? heartbeat_s : 15;
    md_err rc = md_store_open(db_path, MD_STORE_READONLY, &hub->store, ctx);
    if (!rc)
        rc = md_events_last_id(hub->store, &hub->last_read, ctx);
    hub->floor = hub->last_read;
    if (!rc && pthread_create(&hub->thread, NULL, hub_main, hub) != 0)
        rc = md_fail(ctx, MD_EINTERNAL, "cannot start the event hub thread");
    if (rc) {
        md__events_hub_free(hub);
        return rc;
    }
    hub->started = true;
    *out = hub;
    return MD_OK;
}

void md__events_hub_free(struct md_events_hub *hub)
{
    if (!hub)
        return;
    if (hub->started) {
        pthread_mutex_lock(&hub->lock);
        hub->stopping = true;
        pthread_cond_signal(&hub->cond);
        pthread_mutex_unlock(&hub->lock);
        pthread_join(hub->thread, NULL);
    }
    /* Streams still open hold the hub: detach them (they end on next()). */
    for (struct sub *s = hub->subs; s; s = s->next)
        s->hub = NULL;
    for (size_t i = 0; i < hub->count; i++)
        free(hub->ring[(hub->head + i) % RING_SIZE].text);
    md_store_close(hub->store);
    pthread_cond_destroy(&hub->cond);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

void md__events_hub_notify(void *arg)
{
    struct md_events_hub *hub = arg;
    if (!hub)
        return;
    pthread_mutex_lock(&hub->lock);
    hub->notified = true;
    pthread_cond_signal(&hub->cond);
    pthread_mutex_unlock(&hub->lock);
}

static md_err sub_next(void *userdata, struct md_buf *out)
{
    struct sub *s = userdata;
    md_err rc = MD_OK;
    if (s->backlog.len) {
        rc = md_buf_append(out, s->backlog.data, s->backlog.len);
        md_buf_free(&s->backlog);
        return rc;
    }
    struct md_events_hub *hub = s->hub;
    if (!hub)
        return MD_ENOTFOUND;
    pthread_mutex_lock(&hub->lock);
    if (hub->stopping || s->last_id < hub->floor) {
        /* Shutting down, or this client fell behind the ring: end the stream;
         * the client reconnects with Last-Event-ID and reads the gap. */
        pthread_mutex_unlock(&hub->lock);
        return MD_ENOTFOUND;
    }
    for (size_t i = 0; !rc && i < hub->count && out->len < SEND_MAX; i++) {
        const struct frame *f = &hub->ring[(hub->head + i) % RING_SIZE];
        if (f->id <= s->last_id)
            continue;
        if (md__event_matches(&s->filter, &f->about))
            rc = md_buf_append(out, f->text, f->len);
        if (!rc)
            s->last_id = f->id;
    }
    if (!rc && out->len == 0 && s->beats_seen != hub->beats)
        rc = md_buf_puts(out, ": ping\n\n");
    s->beats_seen = hub->beats;
    pthread_mutex_unlock(&hub->lock);
    return rc;
}

static void sub_set_waker(void *userdata, md_wake_cb wake, void *arg)
{
    struct sub *s = userdata;
    if (!s->hub)
        return;
    pthread_mutex_lock(&s->hub->lock);
    s->wake = wake;
    s->wake_arg = arg;
    pthread_mutex_unlock(&s->hub->lock);
}

static void sub_free(void *userdata)
{
    struct sub *s = userdata;
    struct md_events_hub *hub = s->hub;
    if (hub) {
        pthread_mutex_lock(&hub->lock);
        if (s->prev)
            s->prev->next = s->next;
        else
            hub->subs = s->next;
        if (s->next)
            s->next->prev = s->prev;
        hub->nsubs--;
        pthread_mutex_unlock(&hub->lock);
    }
    md_buf_free(&s->backlog);
    free(s);
}

static md_err backlog_add(int64_t id, const char *type, const char *payload, void *userdata)
{
    struct sub *s = userdata;
    struct md_event_about a;
    s->last_id = id;
    md__event_about(payload, &a);
    return md__event_matches(&s->filter, &a) ? frame_text(&s->backlog, id, type, payload) : MD_OK;
}

/* The stream's filter from its parameters, checked as every /api/v1 filter
 * is (queries.h): statuses of the workflow, known categories and district. */
static md_err parse_filter(struct md_call *call, struct md_event_filter *f)
{
    const char *report = NULL, *district = NULL, *category = NULL, *status = NULL;
    memset(f, 0, sizeof(*f));
    md_err rc = md__param_str(call, "report", false, 20, &report);
    if (!rc)
        rc = md__param_str(call, "district", false, sizeof(f->district) - 1, &district);
    if (!rc)
        rc = md__param_str(call, "category", false, sizeof(f->categories) - 1, &category);
    if (!rc)
        rc = md__param_str(call, "status", false, sizeof(f->statuses) - 1, &status);
    if (!rc && report && md_parse_int64(report, "report", 1, INT64_MAX, &f->report, call->ctx))
        rc = MD_EINVAL;
    if (!rc)
        rc = md__check_statuses(call, MD_LAYER_REPORTS, status);
    struct md_query_filter known = {.category = category, .district = district};
    if (!rc)
        rc = md__check_filter(call, MD_LAYER_REPORTS, &known);
    if (rc)
        return rc;
    snprintf(f->district, sizeof(f->district), "%s", district ? district : "");
    snprintf(f->categories, sizeof(f->categories), "%s", category ? category : "");
    snprintf(f->statuses, sizeof(f->statuses), "%s", status ? status : "");
    return MD_OK;
}

md_err md__events_subscribe(struct md_events_hub *hub, struct md_call *call)
{
    if (!hub)
        return md_fail(call->ctx, MD_EBUSY, "the event stream is not available");
    const char *last = md_request_header(call->req, "Last-Event-ID");
    if (!last || !*last)
        last = md_request_query(call->req, "last_event_id");
    int64_t after = -1;
    if (last && *last && md_parse_int64(last, "Last-Event-ID", 0, INT64_MAX, &after, call->ctx))
        return MD_EINVAL;
    struct sub *s = calloc(1, sizeof(*s));
    if (!s)
        return md_fail(call->ctx, MD_ENOMEM, "event stream");
    md_buf_init(&s->backlog, (size_t)16 << 20);
    md_err rc = parse_filter(call, &s->filter);
    if (!rc)
        rc = md_buf_puts(&s->backlog, "retry: 3000\n\n");
    if (!rc && after < 0)
        rc = md_events_last_id(call->w->store, &s->last_id, call->ctx);
    else if (!rc) {
        s->last_id = after;
        rc = md_events_since(call->w->store, after, BACKLOG_MAX, backlog_add, s, call->ctx);
    }
    if (rc) {
        sub_free(s);
        return rc == MD_ETOOBIG ? md_fail(call->ctx, rc, "event backlog too large") : rc;
    }
    pthread_mutex_lock(&hub->lock);
    if (hub->nsubs >= hub->max_subs || hub->stopping) {
        int n = hub->nsubs;
        pthread_mutex_unlock(&hub->lock);
        md_buf_free(&s->backlog);
        free(s);
        MD_IGNORE(md_response_header(call->res, NULL, "Retry-After", "10"));
        return md_fail(call->ctx, MD_EBUSY, "too many open event streams (%d); retry later", n);
    }
    s->hub = hub;
    s->next = hub->subs;
    if (hub->subs)
        hub->subs->prev = s;
    hub->subs = s;
    hub->nsubs++;
    s->beats_seen = hub->beats;
    pthread_mutex_unlock(&hub->lock);
    call->res->status = 200;
    call->res->content_type = "text/event-stream; charset=utf-8";
    MD_IGNORE(md_response_header(call->res, NULL, "Cache-Control", "no-cache"));
    MD_IGNORE(md_response_header(call->res, NULL, "X-Accel-Buffering", "no"));
    call->res->stream = (struct md_stream){
        .next = sub_next, .free = sub_free, .set_waker = sub_set_waker, .userdata = s};
    return MD_OK;
}
