/* metrics.c - lock-free request metrics in Prometheus text format.
 * Histogram buckets are cumulative only when rendered; each observation
 * increments exactly one bucket slot. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[] = {200, 201, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 406,
                               408, 409, 413, 414, 415, 422, 429, 431, 500, 501, 503, 507};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
static const double bucket_le[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                   0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};
#define NBUCKET (sizeof(bucket_le) / sizeof(bucket_le[0]))
#define MAX_COUNTERS 32

struct route_stats {
    const char *name;
    atomic_llong by_status[NSTATUS + 1]; /* last slot: any other status */
    atomic_llong buckets[NBUCKET + 1];   /* last slot: +Inf */
    atomic_llong sum_us;
    atomic_llong count;
};

struct counter {
    _Atomic(const char *) name;
    atomic_llong value;
};

struct md_metrics {
    struct route_stats *routes;
    size_t nroutes; /* the last one is "other" */
    struct counter counters[MAX_COUNTERS];
};

struct md_metrics *md_metrics_new(const char *const *routes, size_t nroutes)
{
    struct md_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->routes = calloc(nroutes + 1, sizeof(*m->routes));
    if (!m->routes) {
        free(m);
        return NULL;
    }
    for (size_t i = 0; i < nroutes; i++)
        m->routes[i].name = routes[i];
    m->routes[nroutes].name = "other";
    m->nroutes = nroutes + 1;
    return m;
}

void md_metrics_free(struct md_metrics *m)
{
    if (!m)
        return;
    free(m->routes);
    free(m);
}

static struct route_stats *find_route(struct md_metrics *m, const char *route)
{
    for (size_t i = 0; route && i + 1 < m->nroutes; i++) {
        if (m->routes[i].name == route || strcmp(m->routes[i].name, route) == 0)
            return &m->routes[i];
    }
    return &m->routes[m->nroutes - 1];
}

void md_metrics_observe(struct md_metrics *m, const char *route, int status, int64_t micros)
{
    struct route_stats *r = find_route(m, route);
    size_t si = NSTATUS;
    for (size_t i = 0; i < NSTATUS; i++) {
        if (statuses[i] == status) {
            si = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&r->by_status[si], 1, memory_order_relaxed);
    double secs = (double)micros / 1e6;
    size_t b = NBUCKET;
    for (size_t i = 0; i < NBUCKET; i++) {
        if (secs <= bucket_le[i]) {
            b = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, micros, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

void md_metrics_count(struct md_metrics *m, const char *name, int64_t delta)
{
    for (size_t i = 0; i < MAX_COUNTERS; i++) {
        const char *cur = atomic_load(&m->counters[i].name);
        if (!cur) {
            const char *expected = NULL;
            if (!atomic_compare_exchange_strong(&m->counters[i].name, &expected, name))
                cur = expected;
            else
                cur = name;
        }
        if (cur == name || strcmp(cur, name) == 0) {
            atomic_fetch_add_explicit(&m->counters[i].value, delta, memory_order_relaxed);
            return;
        }
    }
}

static md_err render_route(const struct route_stats *r, struct md_buf *out)
{
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i <= NSTATUS; i++) {
        long long v = atomic_load(&r->by_status[i]);
        if (v == 0)
            continue;
        if (i < NSTATUS)
            rc = md_buf_printf(out, "mapd_http_requests_total{route=\"%s\",status=\"%d\"} %lld\n",
                               r->name, statuses[i], v);
        else
            rc = md_buf_printf(out, "mapd_http_requests_total{route=\"%s\",status=\"other\"} %lld\n",
                               r->name, v);
    }
    return rc;
}

static md_err render_histogram(const struct route_stats *r, struct md_buf *out)
{
    long long count = atomic_load(&r->count);
    if (count == 0)
        return MD_OK;
    long long cum = 0;
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < NBUCKET; i++) {
        cum += atomic_load(&r->buckets[i]);
        rc = md_buf_printf(out,
                           "mapd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lld\n",
                           r->name, bucket_le[i], cum);
    }
    cum += atomic_load(&r->buckets[NBUCKET]);
    if (!rc)
        rc = md_buf_printf(out,
                           "mapd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lld\n"
                           "mapd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                           "mapd_http_request_duration_seconds_count{route=\"%s\"} %lld\n",
                           r->name, cum, r->name, (double)atomic_load(&r->sum_us) / 1e6, r->name,
                           count);
    return rc;
}

md_err md_metrics_render(struct md_metrics *m, struct md_buf *out)
{
    md_err rc = md_buf_puts(out, "# HELP mapd_http_requests_total HTTP requests by route and status.\n"
                                 "# TYPE mapd_http_requests_total counter\n");
    for (size_t i = 0; !rc && i < m->nroutes; i++)
        rc = render_route(&m->routes[i], out);
    if (!rc)
        rc = md_buf_puts(out, "# HELP mapd_http_request_duration_seconds Request latency by route.\n"
                              "# TYPE mapd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; !rc && i < m->nroutes; i++)
        rc = render_histogram(&m->routes[i], out);
    for (size_t i = 0; !rc && i < MAX_COUNTERS; i++) {
        const char *name = atomic_load(&m->counters[i].name);
        if (!name)
            break;
        rc = md_buf_printf(out, "# TYPE mapd_%s counter\nmapd_%s %lld\n", name, name,
                           (long long)atomic_load(&m->counters[i].value));
    }
    return rc;
}
