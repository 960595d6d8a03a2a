/* soak.c - bounded mixed load for bench/soak/run.sh.
 *
 *   soak URL SECONDS CONNECTIONS THREADS IDS_FILE
 *
 * CONNECTIONS keep-alive connections (libcurl multi, spread over THREADS
 * threads) each send one request after another for SECONDS: 70% vector
 * tiles (z10..z16 over the city, single and combined layers, half gzip),
 * 20% queries (nearest, within bbox/radius, districts/at, report lists),
 * 10% report creates. Every 60 s (SOAK_INTERVAL) a line:
 *   interval <t_s> <requests> <rps> <p50_ms> <p99_ms> <errors> <429s>
 * At the end, per class: count, statuses, p50/p99/p99.9/max; the ids of
 * every 201 go to IDS_FILE and are all read back (GET /api/v1/reports/{id});
 * "missing N" must be 0. Exit 1 on any answer other than 2xx/304/429 or a
 * missing report. SOAK_NO_VERIFY=1 only writes IDS_FILE (bench/faults kills
 * the server under the load).
 */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum klass { TILE, QUERY, CREATE, NCLASS };
static const char *const class_name[NCLASS] = {"tiles", "queries", "creates"};

#define NBUCKET 1200 /* log buckets of 1.5% from 1 us */
#define MAX_IDS 4000000

static atomic_uint_fast64_t hist_total[NCLASS][NBUCKET], hist_interval[NBUCKET];
static atomic_uint_fast64_t status_count[NCLASS][600], transport_errors[NCLASS];
static atomic_uint_fast64_t interval_errors, interval_429;
static atomic_bool stop;
static const char *base;
static long *ids;
static atomic_long nids;

static int bucket_of(int64_t us)
{
    if (us < 1)
        us = 1;
    int b = (int)(log((double)us) / log(1.015));
    return b >= NBUCKET ? NBUCKET - 1 : b;
}

static double bucket_ms(int b)
{
    return pow(1.015, b + 1) / 1000.0;
}

static double quantile(atomic_uint_fast64_t *h, double q, uint64_t *count)
{
    uint64_t n = 0, seen = 0;
    for (int b = 0; b < NBUCKET; b++)
        n += atomic_load(&h[b]);
    if (count)
        *count = n;
    if (!n)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)n);
    for (int b = 0; b < NBUCKET; b++) {
        seen += atomic_load(&h[b]);
        if (seen >= want)
            return bucket_ms(b);
    }
    return bucket_ms(NBUCKET - 1);
}

struct conn {
    CURL *easy;
    enum klass k;
    char url[512];
    char body[512];
    char resp[4096];
    size_t resp_len;
    unsigned seed;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct conn *c = ud;
    size_t len = size * n, room = sizeof(c->resp) - 1 - c->resp_len;
    memcpy(c->resp + c->resp_len, p, len < room ? len : room);
    c->resp_len += len < room ? len : room;
    c->resp[c->resp_len] = '\0';
    return len;
}

static double rnd(unsigned *s, double lo, double hi)
{
    return lo + (hi - lo) * (rand_r(s) / (double)RAND_MAX);
}

static void tile_xy(double lon, double lat, int z, int *x, int *y)
{
    double n = ldexp(1.0, z), r = lat * M_PI / 180;
    *x = (int)floor((lon + 180) / 360 * n);
    *y = (int)floor((1 - log(tan(r) + 1 / cos(r)) / M_PI) / 2 * n);
}

static void next_request(struct conn *c)
{
    static const char *const layers[] = {"facilities", "reports", "facilities,reports",
                                         "districts,grids", "facilities,reports,districts"};
    int r = rand_r(&c->seed) % 100;
    /* Dense core most of the time, the whole city sometimes. */
    bool core = rand_r(&c->seed) % 4 != 0;
    double lon = core ? rnd(&c->seed, 116.33, 116.47) : rnd(&c->seed, 116.0, 116.8);
    double lat = core ? rnd(&c->seed, 39.86, 39.96) : rnd(&c->seed, 39.6, 40.3);
    c->resp_len = 0;
    c->resp[0] = '\0';
    curl_easy_setopt(c->easy, CURLOPT_POST, 0L);
    curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, NULL);
    if (r < 70) {
        int z = 10 + rand_r(&c->seed) % 7, x, y;
        tile_xy(lon, lat, z, &x, &y);
        c->k = TILE;
        snprintf(c->url, sizeof(c->url), "%s/tiles/%s/%d/%d/%d.mvt", base,
                 layers[rand_r(&c->seed) % 5], z, x, y);
        if (rand_r(&c->seed) % 2)
            curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, "gzip");
    } else if (r < 90) {
        c->k = QUERY;
        switch (rand_r(&c->seed) % 5) {
        case 0:
            snprintf(c->url, sizeof(c->url), "%s/api/v1/nearest?lon=%.5f&lat=%.5f&k=10", base, lon, lat);
            break;
        case 1:
            snprintf(c->url, sizeof(c->url), "%s/api/v1/within?lon=%.5f&lat=%.5f&radius=500&limit=100",
                     base, lon, lat);
            break;
        case 2:
            snprintf(c->url, sizeof(c->url),
                     "%s/api/v1/within?bbox=%.4f,%.4f,%.4f,%.4f&layer=reports&limit=100", base, lon,
                     lat, lon + 0.01, lat + 0.01);
            break;
        case 3:
            /* inside the city: outside is a correct 404, not load */
            snprintf(c->url, sizeof(c->url), "%s/api/v1/districts/at?lon=%.5f&lat=%.5f", base,
                     rnd(&c->seed, 116.33, 116.47), rnd(&c->seed, 39.86, 39.96));
            break;
        default:
            snprintf(c->url, sizeof(c->url), "%s/api/v1/reports?status=reported&limit=20", base);
        }
    } else {
        c->k = CREATE;
        snprintf(c->url, sizeof(c->url), "%s/api/v1/reports", base);
        snprintf(c->body, sizeof(c->body),
                 "{\"category\":\"200101\",\"lon\":%.6f,\"lat\":%.6f,"
                 "\"description\":\"soak %u\",\"channel\":\"app\"}",
                 rnd(&c->seed, 116.36, 116.44), rnd(&c->seed, 39.88, 39.94), c->seed);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
    }
    curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
}

static void record(struct conn *c, CURLcode res)
{
    curl_off_t us = 0;
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &us);
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (res != CURLE_OK) {
        atomic_fetch_add(&transport_errors[c->k], 1);
        atomic_fetch_add(&interval_errors, 1);
        if (atomic_load(&transport_errors[c->k]) <= 5)
            fprintf(stderr, "soak: %s: %s\n", c->url, curl_easy_strerror(res));
        return;
    }
    int b = bucket_of((int64_t)us);
    atomic_fetch_add(&hist_total[c->k][b], 1);
    atomic_fetch_add(&hist_interval[b], 1);
    if (status > 0 && status < 600)
        atomic_fetch_add(&status_count[c->k][status], 1);
    if (status == 429)
        atomic_fetch_add(&interval_429, 1);
    else if (status >= 400 || status < 200) {
        atomic_fetch_add(&interval_errors, 1);
        fprintf(stderr, "soak: %s -> %ld %.200s\n", c->url, status, c->resp);
    }
    if (c->k == CREATE && status == 201) {
        const char *p = strstr(c->resp, "\"id\":");
        long k = atomic_fetch_add(&nids, 1);
        if (p && k < MAX_IDS)
            ids[k] = atol(p + 5);
    }
}

struct worker_arg {
    int nconn;
    unsigned seed;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    CURLM *m = curl_multi_init();
    struct conn *cs = calloc((size_t)a->nconn, sizeof(*cs));
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)a->nconn);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Expect:");
    for (int i = 0; i < a->nconn; i++) {
        struct conn *c = &cs[i];
        c->seed = a->seed * 7919u + (unsigned)i;
        c->easy = curl_easy_init();
        curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
        next_request(c);
        curl_multi_add_handle(m, c->easy);
    }
    int running = 1;
    while (running || !atomic_load(&stop)) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct conn *c;
            CURL *e = msg->easy_handle;
            CURLcode res = msg->data.result;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&c);
            record(c, res);
            curl_multi_remove_handle(m, e);
            if (!atomic_load(&stop)) {
                next_request(c);
                curl_multi_add_handle(m, e);
                running = 1;
            }
        }
        if (atomic_load(&stop) && !running)
            break;
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < a->nconn; i++)
        curl_easy_cleanup(cs[i].easy);
    curl_multi_cleanup(m);
    curl_slist_free_all(hdr);
    free(cs);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read back every acknowledged report. Returns the number missing. */
static long verify(const char *ids_path)
{
    FILE *f = fopen(ids_path, "w");
    CURL *e = curl_easy_init();
    char url[256];
    long missing = 0, n = atomic_load(&nids);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    struct conn sink = {0};
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    for (long i = 0; i < n && i < MAX_IDS; i++) {
        if (f)
            fprintf(f, "%ld\n", ids[i]);
        if (getenv("SOAK_NO_VERIFY"))
            continue;
        snprintf(url, sizeof(url), "%s/api/v1/reports/%ld", base, ids[i]);
        curl_easy_setopt(e, CURLOPT_URL, url);
        sink.resp_len = 0;
        long status = 0;
        if (curl_easy_perform(e) == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            if (missing++ < 5)
                fprintf(stderr, "soak: report %ld: %ld\n", ids[i], status);
        }
    }
    curl_easy_cleanup(e);
    if (f)
        fclose(f);
    return missing;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: soak URL SECONDS CONNECTIONS THREADS IDS_FILE\n");
        return 2;
    }
    base = argv[1];
    double seconds = atof(argv[2]);
    int nconn = atoi(argv[3]), nthreads = atoi(argv[4]);
    const char *interval_env = getenv("SOAK_INTERVAL");
    double interval = interval_env ? atof(interval_env) : 60;
    ids = calloc(MAX_IDS, sizeof(*ids));
    curl_global_init(CURL_GLOBAL_ALL);
    pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
    struct worker_arg *wa = calloc((size_t)nthreads, sizeof(*wa));
    double t0 = now_s(), last = t0;
    for (int i = 0; i < nthreads; i++) {
        wa[i].nconn = nconn / nthreads + (i < nconn % nthreads);
        wa[i].seed = (unsigned)i + 1;
        pthread_create(&t[i], NULL, worker, &wa[i]);
    }
    printf("# interval t_s requests rps p50_ms p99_ms errors rate_limited\n");
    fflush(stdout);
    while (now_s() - t0 < seconds) {
        usleep(200000);
        double now = now_s();
        if (now - last >= interval || now - t0 >= seconds) {
            uint64_t n;
            double p50 = quantile(hist_interval, 0.5, &n), p99 = quantile(hist_interval, 0.99, NULL);
            printf("interval %.0f %llu %.0f %.2f %.2f %llu %llu\n", now - t0, (unsigned long long)n,
                   n / (now - last), p50, p99,
                   (unsigned long long)atomic_exchange(&interval_errors, 0),
                   (unsigned long long)atomic_exchange(&interval_429, 0));
            fflush(stdout);
            for (int b = 0; b < NBUCKET; b++)
                atomic_store(&hist_interval[b], 0);
            last = now;
        }
    }
    atomic_store(&stop, true);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    double elapsed = now_s() - t0;
    int bad = 0;
    uint64_t all = 0;
    for (int k = 0; k < NCLASS; k++) {
        uint64_t n;
        double p50 = quantile(hist_total[k], 0.5, &n), p99 = quantile(hist_total[k], 0.99, NULL),
               p999 = quantile(hist_total[k], 0.999, NULL), pmax = quantile(hist_total[k], 1.0, NULL);
        all += n;
        printf("class %s requests %llu rps %.0f p50_ms %.2f p99_ms %.2f p999_ms %.2f max_ms %.1f"
               " transport_errors %llu statuses", class_name[k], (unsigned long long)n,
               n / elapsed, p50, p99, p999, pmax,
               (unsigned long long)atomic_load(&transport_errors[k]));
        bad += (int)atomic_load(&transport_errors[k]);
        for (int s = 100; s < 600; s++) {
            uint64_t c = atomic_load(&status_count[k][s]);
            if (c)
                printf(" %d:%llu", s, (unsigned long long)c);
            if (c && s != 429 && (s < 200 || s >= 400))
                bad += (int)c;
        }
        printf("\n");
    }
    printf("total requests %llu rps %.0f seconds %.0f connections %d\n", (unsigned long long)all,
           all / elapsed, elapsed, nconn);
    long missing = verify(argv[5]);
    printf("created %ld missing %ld\n", (long)atomic_load(&nids), missing);
    printf("result %s\n", bad == 0 && missing == 0 ? "ok" : "FAILED");
    curl_global_cleanup();
    free(ids);
    free(t);
    free(wa);
    return bad == 0 && missing == 0 ? 0 : 1;
}
