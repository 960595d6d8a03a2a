/* test_limits.c - every limit of SPEC §9 against the real server: body size
 * (413), header size (431), URL length (414), connections in total (503) and
 * per client (429), report creates per client (429 + Retry-After), query
 * limit= caps (400), and the request deadline against slow clients (408,
 * while others are served). mapd's own answers are JSON; libmicrohttpd's
 * hard limits (far above mapd's) answer in its own HTML form, checked by
 * status only.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int raw_connect(const struct md_harness *h)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(h->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Send `req`, read until the server closes or `cap` bytes; returns the
 * bytes read (NUL-terminated in out). */
static size_t raw_request(const struct md_harness *h, const char *req, size_t req_len, char *out,
                          size_t cap)
{
    int fd = raw_connect(h);
    size_t off = 0;
    while (off < req_len) {
        ssize_t n = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer and close before reading it all */
        off += (size_t)n;
    }
    size_t got = 0;
    ssize_t n;
    while (got + 1 < cap && (n = recv(fd, out + got, cap - 1 - got, 0)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(fd);
    return got;
}

static int status_of(const char *raw)
{
    int st = 0;
    return sscanf(raw, "HTTP/1.%*d %d", &st) == 1 ? st : 0;
}

static void expect_json_error(const struct md_http_res *r, long status, const char *code)
{
    if (r->status != status)
        fprintf(stderr, "got %ld: %s\n", r->status, r->body);
    assert_int_equal(r->status, status);
    char ct[128] = "";
    assert_true(md_http_header(r, "Content-Type", ct, sizeof(ct)));
    assert_non_null(strstr(ct, "application/json"));
    char want[96];
    snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
    assert_non_null(strstr(r->body, want));
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_body_limit(void **state)
{
    (void)state;
    struct md_harness h;
    const char *args[] = {"--max-body-kb", "1", NULL};
    md_harness_start(&h, args);
    char *body = repeat('x', 4096);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    struct md_http_res r;
    assert_int_equal(md_http(&h, "POST", "/api/v1/reports", hdr, body, strlen(body), &r), 0);
    expect_json_error(&r, 413, "payload_too_large");
    assert_non_null(strstr(r.body, "1024 bytes"));
    md_http_res_free(&r);
    free(body);
    assert_int_equal(md_harness_stop(&h), 0);
}

static void test_header_and_url_limits(void **state)
{
    (void)state;
    struct md_harness h;
    const char *args[] = {"--max-header-kb", "4", "--max-url-kb", "1", NULL};
    md_harness_start(&h, args);
    struct md_http_res r;

    char *v = repeat('h', 6000), *hline = malloc(6100);
    snprintf(hline, 6100, "X-Big: %s", v);
    const char *hdr[] = {hline, NULL};
    assert_int_equal(md_http(&h, "GET", "/health", hdr, NULL, 0, &r), 0);
    expect_json_error(&r, 431, "header_too_large");
    md_http_res_free(&r);

    char *q = repeat('q', 2000), *path = malloc(2100);
    snprintf(path, 2100, "/health?x=%s", q);
    assert_int_equal(md_http(&h, "GET", path, NULL, NULL, 0, &r), 0);
    expect_json_error(&r, 414, "uri_too_long");
    md_http_res_free(&r);

    /* Just under both: served. */
    path[900] = '\0';
    hline[3000] = '\0';
    assert_int_equal(md_http(&h, "GET", path, hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    md_http_res_free(&r);

    /* Far beyond: libmicrohttpd's own answers (HTML, documented). */
    size_t big = 200 * 1024;
    char *raw = malloc(big + 256), out[4096];
    int n = snprintf(raw, 256, "GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: ");
    memset(raw + n, 'a', big);
    memcpy(raw + n + big, "\r\n\r\n", 5);
    raw_request(&h, raw, n + big + 4, out, sizeof(out));
    assert_int_equal(status_of(out), 431);
    n = snprintf(raw, 256, "GET /health?");
    memset(raw + n, 'a', big);
    memcpy(raw + n + big, " HTTP/1.1\r\nHost: x\r\n\r\n", 23);
    raw_request(&h, raw, n + big + 22, out, sizeof(out));
    assert_int_equal(status_of(out), 414);
    free(raw);
    free(v);
    free(hline);
    free(q);
    free(path);
    assert_int_equal(md_harness_stop(&h), 0);
}

static void test_connection_limits(void **state)
{
    (void)state;
    struct md_harness h;
    const char *args[] = {"--max-connections", "6", "--max-per-client", "0", NULL};
    md_harness_start(&h, args);
    int fds[6];
    for (int i = 0; i < 6; i++)
        fds[i] = raw_connect(&h);
    usleep(300 * 1000);
    struct md_http_res r;
    assert_int_equal(md_http(&h, "GET", "/health", NULL, NULL, 0, &r), 0);
    expect_json_error(&r, 503, "service_unavailable");
    char v[32];
    assert_true(md_http_header(&r, "Retry-After", v, sizeof(v)));
    md_http_res_free(&r);
    for (int i = 0; i < 6; i++)
        close(fds[i]);
    usleep(300 * 1000);
    assert_int_equal(md_http(&h, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    md_http_res_free(&r);
    assert_int_equal(md_harness_stop(&h), 0);

    const char *args2[] = {"--max-per-client", "4", NULL};
    md_harness_start(&h, args2);
    for (int i = 0; i < 4; i++)
        fds[i] = raw_connect(&h);
    usleep(300 * 1000);
    assert_int_equal(md_http(&h, "GET", "/health", NULL, NULL, 0, &r), 0);
    expect_json_error(&r, 429, "rate_limited");
    assert_non_null(strstr(r.body, "127.0.0.1"));
    md_http_res_free(&r);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    usleep(300 * 1000);
    assert_int_equal(md_http(&h, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    md_http_res_free(&r);
    assert_int_equal(md_harness_stop(&h), 0);
}

static void test_write_rate_and_query_limit(void **state)
{
    (void)state;
    struct md_harness h;
    const char *args[] = {"--rate-limit", "2", "--max-limit", "50", NULL};
    md_harness_start(&h, args);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    const char *body =
        "{\"category\":\"200101\",\"lon\":116.40,\"lat\":39.91,\"description\":\"limits\"}";
    struct md_http_res r;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(md_http(&h, "POST", "/api/v1/reports", hdr, body, strlen(body), &r), 0);
        assert_int_equal(r.status, 201);
        md_http_res_free(&r);
    }
    assert_int_equal(md_http(&h, "POST", "/api/v1/reports", hdr, body, strlen(body), &r), 0);
    expect_json_error(&r, 429, "rate_limited");
    char v[32];
    assert_true(md_http_header(&r, "Retry-After", v, sizeof(v)));
    assert_true(atoi(v) >= 1);
    md_http_res_free(&r);
    /* Reads are not rate limited. */
    assert_int_equal(md_http(&h, "GET", "/api/v1/reports?limit=50", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    md_http_res_free(&r);
    assert_int_equal(
        md_http(&h, "GET", "/api/v1/within?bbox=116.3,39.8,116.5,40&limit=51", NULL, NULL, 0, &r),
        0);
    expect_json_error(&r, 400, "invalid_argument");
    assert_non_null(strstr(r.body, "limit must be between 1 and 50"));
    md_http_res_free(&r);
    assert_int_equal(md_harness_stop(&h), 0);
}

struct slow_arg {
    const struct md_harness *h;
    const char *request; /* sent one byte a second */
    int status;          /* what came back (0 = closed without an answer) */
    int64_t cut_at_ms;   /* now_ms() when the server answered or closed */
    int64_t started_ms;
};

static void *slow_client(void *p)
{
    struct slow_arg *a = p;
    int fd = raw_connect(a->h);
    a->started_ms = now_ms();
    char out[2048] = "";
    for (size_t i = 0; a->request[i]; i++) {
        if (send(fd, a->request + i, 1, MSG_NOSIGNAL) != 1)
            break;
        /* One byte a second, but notice the cut-off as soon as it comes. */
        struct timeval tv = {1, 0};
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        if (select(fd + 1, &rd, NULL, NULL, &tv) > 0)
            break;
        if (now_ms() - a->started_ms > 30000)
            break;
    }
    ssize_t n = recv(fd, out, sizeof(out) - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    a->cut_at_ms = now_ms();
    a->status = status_of(out);
    close(fd);
    return NULL;
}

static void test_slow_clients(void **state)
{
    (void)state;
    struct md_harness h;
    const char *args[] = {"--request-timeout", "3", "--timeout", "60", NULL};
    md_harness_start(&h, args);
    struct slow_arg head = {&h,
                            "GET /health HTTP/1.1\r\nHost: slow\r\nX-Padding: "
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
                            0, 0, 0};
    struct slow_arg body = {&h,
                            "POST /api/v1/reports HTTP/1.1\r\nHost: s\r\nContent-Length: 40\r\n\r\n"
                            "{\"category\":\"200101\",\"lon\":116.4,\"lat\"",
                            0, 0, 0};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, slow_client, &head);
    pthread_create(&t2, NULL, slow_client, &body);
    /* Others are served meanwhile: count answers that came back while both
     * slow clients were still connected. */
    int64_t answered_at[64];
    int n = 0;
    int64_t t0 = now_ms();
    while (n < 64 && now_ms() - t0 < 2500) {
        struct md_http_res r;
        assert_int_equal(md_http(&h, "GET", "/health", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        answered_at[n++] = now_ms();
        md_http_res_free(&r);
        usleep(100 * 1000);
    }
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    int64_t first_cut = head.cut_at_ms < body.cut_at_ms ? head.cut_at_ms : body.cut_at_ms;
    int served = 0;
    for (int i = 0; i < n; i++)
        served += answered_at[i] < first_cut;
    fprintf(stderr,
            "slow head: %d after %lld ms; slow body: %d after %lld ms; %d requests"
            " served meanwhile\n",
            head.status, (long long)(head.cut_at_ms - head.started_ms), body.status,
            (long long)(body.cut_at_ms - body.started_ms), served);
    assert_int_equal(head.status, 408);
    assert_int_equal(body.status, 408);
    /* Cut off after the 3 s deadline (+ the reaper's tick), long before the
     * ~60 s the requests would take at one byte a second. */
    assert_true(head.cut_at_ms - head.started_ms < 10000);
    assert_true(body.cut_at_ms - body.started_ms < 10000);
    assert_true(served >= 3);
    assert_int_equal(md_harness_stop(&h), 0);
}

/* Exposure: CORS only when configured; the web page's security headers. */
static void test_cors_and_security_headers(void **state)
{
    (void)state;
    struct md_harness h;
    char v[512];
    struct md_http_res r;
    md_harness_start(&h, NULL);
    assert_int_equal(md_http(&h, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_false(md_http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    md_http_res_free(&r);
    assert_int_equal(md_http(&h, "GET", "/", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(md_http_header(&r, "Content-Security-Policy", v, sizeof(v)));
    assert_non_null(strstr(v, "default-src"));
    assert_true(md_http_header(&r, "X-Frame-Options", v, sizeof(v)));
    assert_true(md_http_header(&r, "X-Content-Type-Options", v, sizeof(v)));
    assert_string_equal(v, "nosniff");
    assert_true(md_http_header(&r, "Referrer-Policy", v, sizeof(v)));
    md_http_res_free(&r);
    assert_int_equal(md_harness_stop(&h), 0);

    const char *args[] = {"--cors-origin", "https://city.example", NULL};
    md_harness_start(&h, args);
    assert_int_equal(md_http(&h, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_true(md_http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "https://city.example");
    md_http_res_free(&r);
    /* A browser's preflight for a cross-origin JSON create. */
    const char *pre[] = {"Origin: https://city.example", "Access-Control-Request-Method: POST",
                         "Access-Control-Request-Headers: content-type", NULL};
    assert_int_equal(md_http(&h, "OPTIONS", "/api/v1/reports", pre, NULL, 0, &r), 0);
    assert_int_equal(r.status, 204);
    assert_true(md_http_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
    assert_non_null(strstr(v, "POST"));
    assert_true(md_http_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)));
    assert_non_null(strstr(v, "Content-Type"));
    assert_true(md_http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    md_http_res_free(&r);
    assert_int_equal(md_harness_stop(&h), 0);

    /* Several origins: each is echoed to itself (Vary: Origin), others get none;
     * browser code may read Location and ETag. */
    const char *several[] = {"--cors-origin", "https://city.example", "--cors-origin",
                             "https://partner.example,https://third.example", NULL};
    md_harness_start(&h, several);
    static const char *const origins[] = {"https://city.example", "https://partner.example",
                                          "https://third.example"};
    for (size_t i = 0; i < 3; i++) {
        char hdr[128];
        snprintf(hdr, sizeof(hdr), "Origin: %s", origins[i]);
        const char *hs[] = {hdr, NULL};
        assert_int_equal(md_http(&h, "GET", "/health", hs, NULL, 0, &r), 0);
        assert_true(md_http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
        assert_string_equal(v, origins[i]);
        assert_true(md_http_header(&r, "Vary", v, sizeof(v)));
        assert_non_null(strstr(v, "Origin"));
        assert_true(md_http_header(&r, "Access-Control-Expose-Headers", v, sizeof(v)));
        assert_non_null(strstr(v, "Location"));
        assert_non_null(strstr(v, "ETag"));
        md_http_res_free(&r);
    }
    const char *evil[] = {"Origin: https://evil.example", NULL};
    assert_int_equal(md_http(&h, "GET", "/health", evil, NULL, 0, &r), 0);
    assert_false(md_http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    md_http_res_free(&r);
    assert_int_equal(md_harness_stop(&h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_limit),        cmocka_unit_test(test_header_and_url_limits),
        cmocka_unit_test(test_connection_limits), cmocka_unit_test(test_write_rate_and_query_limit),
        cmocka_unit_test(test_slow_clients),      cmocka_unit_test(test_cors_and_security_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
