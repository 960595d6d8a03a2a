/* webhook_sender.c - delivering report events to webhooks (webhook_sender.h).
 *
 * One thread with its own read-write connection. Every POLL_MS (or sooner
 * when a retry falls due) it does two steps:
 *
 *   1. match: the events after the cursor (store/domain/webhooks.h) are
 *      matched against every active webhook's filter with the live
 *      stream's rule (event_filter.h), and the matches are queued as
 *      pending deliveries in the same transaction that moves the cursor -
 *      so each event is matched once, across restarts too;
 *   2. deliver: the pending deliveries that are due are POSTed one after
 *      another with libcurl (connect timeout 5 s, whole transfer 10 s, no
 *      redirects, http/https only); 2xx is delivered, anything else is
 *      retried with exponential backoff (md__webhook_backoff_ms) until
 *      max_attempts, then failed.
 *
 * The body is the event's public payload (what GET /api/v1/events sends:
 * store/ builds it from public fields only, never the reporter's contact)
 * as {id, event, report, ...the payload's other members}; headers name the
 * event, the delivery and the time, and X-Mapd-Signature signs time and
 * body with the webhook's secret (webhook_sign.h).
 *
 * Stopping: `stop` is read by the wait and by libcurl's progress callback,
 * so a transfer under way ends at once; its attempt is not recorded and the
 * delivery stays pending for the next start.
 */
#include "webhook_sender.h"
#include "event_filter.h"
#include "md_time.h"
#include "reports.h"
#include "webhook_sign.h"
#include "webhooks.h" /* store/domain: the tables */

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 250
#define MIN_WAIT_MS 5
#define EVENTS_PER_ROUND 500
#define DUE_PER_ROUND 32
#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS 10000L
#define ERROR_MAX 256

#ifndef MAPD_VERSION
#define MAPD_VERSION "dev"
#endif

struct hook {
    int64_t id, after_event;
    struct md_event_filter filter;
};

struct md_webhook_sender {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_bool stop;
    struct md_store *store;
    unsigned base_ms;
    int max_attempts;
    /* step 1's working set, rebuilt each round */
    struct hook *hooks;
    size_t nhooks, caphooks;
    struct md_webhook_match *matches;
    size_t nmatches, capmatches;
    int64_t last_event;
};

/* A due delivery copied out of the store (the POST runs with no statement open). */
struct job {
    int64_t delivery_id, event_id;
    int attempts;
    char *type, *url, *secret, *payload;
};

struct jobs {
    struct job items[DUE_PER_ROUND];
    size_t n;
};

int64_t md__webhook_backoff_ms(unsigned base_ms, int attempt)
{
    int64_t d = base_ms ? base_ms : 1000;
    for (int i = 1; i < attempt && d < MD_WEBHOOK_BACKOFF_CAP_MS; i++)
        d *= 2;
    return d < MD_WEBHOOK_BACKOFF_CAP_MS ? d : MD_WEBHOOK_BACKOFF_CAP_MS;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- step 1: match new events ---- */

static md_err hook_add(const struct md_webhook_filter *w, void *userdata)
{
    struct md_webhook_sender *t = userdata;
    if (t->nhooks == t->caphooks) {
        size_t cap = t->caphooks ? t->caphooks * 2 : 16;
        struct hook *h = realloc(t->hooks, cap * sizeof(*h));
        if (!h)
            return MD_ENOMEM;
        t->hooks = h;
        t->caphooks = cap;
    }
    struct hook *h = &t->hooks[t->nhooks++];
    memset(h, 0, sizeof(*h));
    h->id = w->id;
    h->after_event = w->after_event;
    h->filter.report = w->report_id;
    snprintf(h->filter.district, sizeof(h->filter.district), "%s", w->district);
    snprintf(h->filter.categories, sizeof(h->filter.categories), "%s", w->categories);
    snprintf(h->filter.statuses, sizeof(h->filter.statuses), "%s", w->statuses);
    return MD_OK;
}

static md_err event_match(int64_t id, const char *type, const char *payload, void *userdata)
{
    struct md_webhook_sender *t = userdata;
    struct md_event_about about;
    md__event_about(payload, &about);
    t->last_event = id;
    for (size_t i = 0; i < t->nhooks; i++) {
        const struct hook *h = &t->hooks[i];
        if (id <= h->after_event || !md__event_matches(&h->filter, &about))
            continue;
        if (t->nmatches == t->capmatches) {
            size_t cap = t->capmatches ? t->capmatches * 2 : 64;
            struct md_webhook_match *m = realloc(t->matches, cap * sizeof(*m));
            if (!m)
                return MD_ENOMEM;
            t->matches = m;
            t->capmatches = cap;
        }
        char *type_copy = strdup(type);
        if (!type_copy)
            return MD_ENOMEM;
        t->matches[t->nmatches++] =
            (struct md_webhook_match){.webhook_id = h->id, .event_id = id, .event_type = type_copy};
    }
    return MD_OK;
}

static void matches_clear(struct md_webhook_sender *t)
{
    for (size_t i = 0; i < t->nmatches; i++)
        free((char *)t->matches[i].event_type);
    t->nmatches = 0;
}

static md_err match_new(struct md_webhook_sender *t, struct md_ctx *ctx)
{
    int64_t cursor = 0;
    t->nhooks = 0;
    md_err rc = md_webhook_cursor(t->store, &cursor, ctx);
    t->last_event = cursor;
    if (!rc)
        rc = md_webhook_filters(t->store, hook_add, t, ctx);
    if (!rc)
        rc = md_events_since(t->store, cursor, EVENTS_PER_ROUND, event_match, t, ctx);
    if (rc && !ctx->err)
        md_fail(ctx, rc, "matching events to webhooks");
    if (!rc && t->last_event > cursor)
        rc = md_webhook_enqueue(t->store, t->matches, t->nmatches, t->last_event, now_ms(), ctx);
    matches_clear(t);
    return rc;
}

/* ---- step 2: deliver what is due ---- */

static void job_free(struct job *j)
{
    free(j->type);
    free(j->url);
    free(j->secret);
    free(j->payload);
}

static md_err job_add(const struct md_webhook_due *d, void *userdata)
{
    struct jobs *js = userdata;
    struct job *j = &js->items[js->n];
    *j = (struct job){.delivery_id = d->delivery_id,
                      .event_id = d->event_id,
                      .attempts = d->attempts,
                      .type = strdup(d->event_type),
                      .url = strdup(d->url),
                      .secret = strdup(d->secret),
                      .payload = strdup(d->payload)};
    if (!j->type || !j->url || !j->secret || !j->payload) {
        job_free(j);
        return MD_ENOMEM;
    }
    js->n++;
    return MD_OK;
}

/* The delivery body (caller frees): {id, event, report, ...} from the
 * event's payload, whose "type" becomes "event". */
static char *body_of(const struct job *j)
{
    json_t *payload = json_loads(j->payload, 0, NULL);
    json_t *body = json_pack("{sI ss}", "id", (json_int_t)j->event_id, "event", j->type);
    const char *key;
    json_t *v;
    char *text = NULL;
    if (!json_is_object(payload) || !body)
        goto out;
    json_object_foreach(payload, key, v)
    {
        if (strcmp(key, "type") != 0 && strcmp(key, "id") != 0 && strcmp(key, "event") != 0)
            json_object_set(body, key, v);
    }
    text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(12));
out:
    json_decref(payload);
    json_decref(body);
    return text;
}

static size_t discard(char *ptr, size_t size, size_t n, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * n;
}

static int still_running(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    struct md_webhook_sender *t = arg;
    return atomic_load(&t->stop) ? 1 : 0;
}

/* POST one delivery: *http_status (0 = no answer) and error text (empty
 * when the transfer completed). MD_OK even when the receiver failed;
 * MD_EBUSY when stopped meanwhile, MD_ENOMEM/MD_EINTERNAL on local failures. */
static md_err post(struct md_webhook_sender *t, const struct job *j, const char *body,
                   long *http_status, char error[ERROR_MAX])
{
    char sig[MD_WEBHOOK_SIGNATURE_MAX], h_event[160], h_delivery[64], h_time[64], h_sig[96];
    struct curl_slist *headers = NULL, *more;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t ts = md_time_now();
    md_err rc = md__webhook_sign(j->secret, ts, body, strlen(body), sig, &ctx);
    *http_status = 0;
    error[0] = '\0';
    CURL *h = rc ? NULL : curl_easy_init();
    if (rc)
        return rc;
    if (!h)
        return MD_ENOMEM;
    snprintf(h_event, sizeof(h_event), "X-Mapd-Event: %s", j->type);
    snprintf(h_delivery, sizeof(h_delivery), "X-Mapd-Delivery: %lld", (long long)j->delivery_id);
    snprintf(h_time, sizeof(h_time), "X-Mapd-Timestamp: %lld", (long long)ts);
    snprintf(h_sig, sizeof(h_sig), "X-Mapd-Signature: %s", sig);
    const char *const lines[] = {
        "Content-Type: application/json", h_event, h_delivery, h_time, h_sig, "Expect:"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!(more = curl_slist_append(headers, lines[i]))) {
            rc = MD_ENOMEM;
            goto out;
        }
        headers = more;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, j->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mapd-webhooks/" MAPD_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, still_running);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_ABORTED_BY_CALLBACK && atomic_load(&t->stop)) {
        rc = MD_EBUSY;
    } else if (cc != CURLE_OK) {
        snprintf(error, ERROR_MAX, "%.200s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http_status);
        if (*http_status < 200 || *http_status > 299)
            snprintf(error, ERROR_MAX, "HTTP %ld", *http_status);
    }
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return rc;
}

static void deliver(struct md_webhook_sender *t, const struct job *j)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    long http_status = 0;
    char error[ERROR_MAX];
    char *body = body_of(j);
    md_err rc = body ? post(t, j, body, &http_status, error) : MD_ENOMEM;
    free(body);
    if (rc == MD_EBUSY) /* stopping: the attempt did not happen */
        return;
    if (rc)
        snprintf(error, sizeof(error), "mapd could not send it: %s", md_strerror(rc));
    int attempt = j->attempts + 1;
    int64_t now = now_ms();
    const char *status = !error[0]                    ? "delivered"
                         : attempt >= t->max_attempts ? "failed"
                                                      : "pending";
    int64_t next =
        strcmp(status, "pending") == 0 ? now + md__webhook_backoff_ms(t->base_ms, attempt) : now;
    if (md_webhook_attempted(t->store, j->delivery_id, status, (int)http_status,
                             error[0] ? error : NULL, next, now / 1000, &ctx))
        fprintf(stderr, "mapd: webhooks: %s\n", md_ctx_message(&ctx));
}

static md_err deliver_due(struct md_webhook_sender *t, struct md_ctx *ctx)
{
    struct jobs js = {.n = 0};
    md_err rc = md_webhook_due_list(t->store, now_ms(), DUE_PER_ROUND, job_add, &js, ctx);
    for (size_t i = 0; i < js.n; i++) {
        if (!rc && !atomic_load(&t->stop))
            deliver(t, &js.items[i]);
        job_free(&js.items[i]);
    }
    return rc;
}

/* How long to sleep: until the next retry, at most POLL_MS. */
static int64_t wait_ms(struct md_webhook_sender *t)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t next = 0, now = now_ms();
    if (md_webhook_next_due(t->store, &next, &ctx) || next == 0 || next - now >= POLL_MS)
        return POLL_MS;
    return next - now > MIN_WAIT_MS ? next - now : MIN_WAIT_MS;
}

static void *sender_main(void *arg)
{
    struct md_webhook_sender *t = arg;
    while (!atomic_load(&t->stop)) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        if (match_new(t, &ctx) || deliver_due(t, &ctx))
            fprintf(stderr, "mapd: webhooks: %s (retried)\n", md_ctx_message(&ctx));
        int64_t ms = wait_ms(t);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(ms / 1000);
        until.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&t->lock);
        if (!atomic_load(&t->stop))
            pthread_cond_timedwait(&t->wake, &t->lock, &until);
        pthread_mutex_unlock(&t->lock);
    }
    return NULL;
}

static void sender_free(struct md_webhook_sender *t)
{
    matches_clear(t);
    free(t->matches);
    free(t->hooks);
    md_store_close(t->store);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    free(t);
    curl_global_cleanup();
}

md_err md__webhooks_start(const char *db_path, unsigned base_ms, unsigned max_attempts,
                          struct md_webhook_sender **out, struct md_ctx *ctx)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return md_fail(ctx, MD_EINTERNAL, "cannot initialise libcurl for webhooks");
    struct md_webhook_sender *t = calloc(1, sizeof(*t));
    if (!t) {
        curl_global_cleanup();
        return md_fail(ctx, MD_ENOMEM, "webhook sender");
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    t->base_ms = base_ms ? base_ms : 1000;
    t->max_attempts = max_attempts ? (int)max_attempts : MD_WEBHOOK_MAX_ATTEMPTS;
    int64_t cursor = 0;
    md_err rc = md_store_open(db_path, MD_STORE_READWRITE, &t->store, ctx);
    if (!rc)
        rc = md_webhook_schema_ensure(t->store, ctx);
    if (!rc) /* the first start on a database begins at its newest event */
        rc = md_webhook_cursor(t->store, &cursor, ctx);
    if (!rc && pthread_create(&t->thread, NULL, sender_main, t) != 0)
        rc = md_fail(ctx, MD_EINTERNAL, "cannot start the webhook thread");
    if (rc) {
        sender_free(t);
        return rc;
    }
    *out = t;
    return MD_OK;
}

void md__webhooks_stop(struct md_webhook_sender *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    atomic_store(&t->stop, true);
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    sender_free(t);
}
