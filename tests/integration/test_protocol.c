/* test_protocol.c - issue 11, the protocol and input class, against the real
 * server: an encoded NUL in the URL (400), conflicting Content-Length
 * headers (400), JSON endpoints that take application/json only (415),
 * control bytes in log fields escaped, a port in use is a start-up error,
 * links from the bound address unless --trust-host; and stored strings:
 * characters no output can carry refused at input (400 naming the field and
 * position), while the allowed whitespace keeps XML, JSON and CSV outputs
 * parseable by independent parsers (xmllint, python's json and csv).
 */
#include "harness.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static struct md_harness H;

static int setup(void **state)
{
    (void)state;
    md_harness_start(&H, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return md_harness_stop(&H);
}

/* Send `req` on a new connection, read the answer until close (or 5 s). */
static size_t raw_request(uint16_t port, const char *req, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t len = strlen(req), off = 0;
    while (off < len) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
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

static void expect_error(const struct md_http_res *r, long status, const char *code,
                         const char *text)
{
    if (r->status != status || !strstr(r->body, code) || (text && !strstr(r->body, text)))
        fprintf(stderr, "got %ld: %s\n", r->status, r->body);
    assert_int_equal(r->status, status);
    assert_non_null(strstr(r->body, code));
    if (text)
        assert_non_null(strstr(r->body, text));
}

static void encoded_nul_in_url_is_refused(void **state)
{
    (void)state;
    const char *paths[] = {"/health%00/x", "/health%00", "/health?x=%00", NULL};
    for (const char *const *p = paths; *p; p++) {
        struct md_http_res r;
        assert_int_equal(md_http(&H, "GET", *p, NULL, NULL, 0, &r), 0);
        expect_error(&r, 400, "invalid_argument", "NUL");
        md_http_res_free(&r);
    }
    struct md_http_res r; /* the same path without it is served */
    assert_int_equal(md_http(&H, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    md_http_res_free(&r);
}

/* Allow names exactly the methods that answer the path (prefix routes
 * list their tails, md_route.tails), and Open311's 405s are in Open311's
 * error form (JSON array or <errors> XML). */
static void allow_lists_exactly_what_the_path_answers(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"DELETE", "/api/v1/reports/1", "GET, HEAD"},
        {"GET", "/api/v1/reports/1/transitions", "POST"},
        {"PUT", "/api/v1/reports/1/supporters", "POST"},
        {"DELETE", "/api/v1/reports/1/history", "GET, HEAD"},
        {"GET", "/api/v1/facilities/1", "PATCH"},
        {"GET", "/api/v1/facilities/1/corrections", "POST"},
        {"POST", "/api/v1/facilities/1/history", "GET, HEAD"},
        {"POST", "/open311/v2/services.json", "GET, HEAD"},
        {"DELETE", "/open311/v2/requests.json", "GET, POST, HEAD"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct md_http_res r;
        char allow[128] = "";
        assert_int_equal(md_http(&H, cases[i].method, cases[i].path, NULL, NULL, 0, &r), 0);
        assert_true(md_http_header(&r, "Allow", allow, sizeof(allow)));
        if (r.status != 405 || strcmp(allow, cases[i].allow) != 0)
            fprintf(stderr, "%s %s: %ld Allow: %s\n", cases[i].method, cases[i].path, r.status,
                    allow);
        assert_int_equal(r.status, 405);
        assert_string_equal(allow, cases[i].allow);
        if (strncmp(cases[i].path, "/open311/", 9) == 0)
            assert_non_null(strstr(r.body, "[{\"code\":405,\"description\":"));
        md_http_res_free(&r);
    }
    struct md_http_res r; /* a path no method answers is 404, not 405 */
    assert_int_equal(md_http(&H, "GET", "/api/v1/reports/1/nothing", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    md_http_res_free(&r);
    assert_int_equal(md_http(&H, "PUT", "/open311/v2/requests.xml", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.body, "<errors><error><code>405</code>"));
    md_http_res_free(&r);
}

static void conflicting_content_lengths_are_refused(void **state)
{
    (void)state;
    char out[8192];
    raw_request(H.port,
                "POST /api/v1/reports HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
                out, sizeof(out));
    assert_int_equal(status_of(out), 400);
    assert_non_null(strstr(out, "Content-Length"));
    raw_request(H.port,
                "POST /api/v1/reports HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                "Content-Length: 2, 40\r\n\r\n{}",
                out, sizeof(out));
    assert_int_equal(status_of(out), 400);
    /* The same length twice is one length (RFC 9112 6.3): on to the handler. */
    raw_request(H.port,
                "POST /api/v1/reports HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                "Content-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                out, sizeof(out));
    assert_int_equal(status_of(out), 400);
    assert_null(strstr(out, "conflicting"));
    assert_non_null(strstr(out, "required")); /* the report's own complaint */
}

static const char polygon[] = "{\"type\":\"Polygon\",\"coordinates\":[[[116.3,39.8],[116.5,39.8],"
                              "[116.5,40],[116.3,39.8]]]}";

static const char report_body[] =
    "{\"category\":\"200102\",\"lon\":116.4,\"lat\":39.91,\"description\":\"protocol test\"}";

static void json_endpoints_take_json_only(void **state)
{
    (void)state;
    const char *types[] = {"Content-Type: text/plain", "Content-Type: text/plain;charset=UTF-8",
                           "Content-Type: application/x-www-form-urlencoded",
                           "Content-Type: multipart/form-data; boundary=x",
                           "Content-Type: application/jsonx", NULL};
    for (const char *const *t = types; *t; t++) {
        const char *hdr[] = {*t, NULL};
        struct md_http_res r;
        assert_int_equal(md_http(&H, "POST", "/api/v1/reports", hdr, report_body,
                                 strlen(report_body), &r), 0);
        if (strstr(*t, "multipart")) /* a report with photos: parsed as such, and malformed */
            expect_error(&r, 400, "invalid_argument", "no opening boundary");
        else
            expect_error(&r, 415, "unsupported_media_type", "application/json");
        md_http_res_free(&r);
        assert_int_equal(md_http(&H, "POST", "/api/v1/within", hdr, polygon, strlen(polygon), &r),
                         0);
        expect_error(&r, 415, "unsupported_media_type", NULL);
        md_http_res_free(&r);
    }
    /* No Content-Type at all (curl would send its form type: say none). */
    const char *none[] = {"Content-Type:", NULL};
    struct md_http_res r;
    assert_int_equal(md_http(&H, "POST", "/api/v1/reports", none, report_body,
                             strlen(report_body), &r), 0);
    expect_error(&r, 415, "unsupported_media_type", NULL);
    md_http_res_free(&r);
    const char *ok[] = {"Content-Type: Application/JSON; charset=utf-8", NULL};
    assert_int_equal(md_http(&H, "POST", "/api/v1/reports", ok, report_body,
                             strlen(report_body), &r), 0);
    assert_int_equal(r.status, 201);
    md_http_res_free(&r);
    const char *geo[] = {"Content-Type: application/geo+json", NULL};
    assert_int_equal(md_http(&H, "POST", "/api/v1/within", geo, polygon, strlen(polygon), &r), 0);
    if (r.status != 200)
        fprintf(stderr, "%s\n", r.body);
    assert_int_equal(r.status, 200);
    md_http_res_free(&r);
    /* Open311's form POST still needs its api_key (and stays a form). */
    const char *form = "service_code=200102&lat=39.91&long=116.4&description=x";
    assert_int_equal(md_http(&H, "POST", "/open311/v2/requests.json", NULL, form, strlen(form), &r),
                     0);
    assert_int_equal(r.status, 403); /* Open311's status for a missing key */
    assert_non_null(strstr(r.body, "api_key"));
    md_http_res_free(&r);
}

/* A server we start ourselves (the harness passes --quiet): its pid, port
 * and stderr file. */
struct own_server {
    pid_t pid;
    uint16_t port;
    char err[400], out[400];
};

static void own_server_start(struct own_server *s, const char *db, const char *extra)
{
    snprintf(s->out, sizeof(s->out), "%s/own.out", H.dir);
    snprintf(s->err, sizeof(s->err), "%s/own.err", H.dir);
    unlink(s->out);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        char cmd[2048];
        snprintf(cmd, sizeof(cmd), "exec '%s' serve --db '%s' --port 0 --threads 2 %s >'%s' 2>'%s'",
                 getenv("MAPD_BIN"), db, extra, s->out, s->err);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 600 && !s->port; i++) {
        usleep(50000);
        FILE *f = fopen(s->out, "r");
        char line[512];
        if (f && fgets(line, sizeof(line), f)) {
            const char *p = strstr(line, "http://");
            const char *colon = p ? strrchr(p, ':') : NULL;
            if (colon)
                s->port = (uint16_t)atoi(colon + 1);
        }
        if (f)
            fclose(f);
    }
    assert_true(s->port > 0);
}

static int own_server_stop(struct own_server *s)
{
    int st = 0;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void log_fields_escape_control_bytes(void **state)
{
    (void)state;
    struct own_server s = {0};
    own_server_start(&s, H.db, "");
    struct md_harness other = H;
    other.port = s.port;
    snprintf(other.base, sizeof(other.base), "http://127.0.0.1:%u", (unsigned)s.port);
    struct md_http_res r;
    assert_int_equal(md_http(&other, "GET", "/x%0d%0aGET%20/forged%20200%201us%1b[2J%7f\\", NULL,
                             NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    md_http_res_free(&r);
    assert_int_equal(own_server_stop(&s), 0);
    char *log = slurp(s.err);
    /* One line, the bytes written as \xNN; nothing starts a forged line. */
    assert_null(strstr(log, "\nGET /forged"));
    assert_null(strchr(log, '\x1b'));
    assert_null(strchr(log, '\r'));
    assert_null(strchr(log, '\x7f'));
    assert_non_null(strstr(log, "GET /x\\x0d\\x0aGET /forged 200 1us\\x1b[2J\\x7f\\\\ 404 "));
    free(log);
}

static void port_in_use_is_a_start_up_error(void **state)
{
    (void)state;
    char cmd[1400], err[400];
    snprintf(err, sizeof(err), "%s/second.err", H.dir);
    /* `timeout` keeps a server that (wrongly) starts from hanging the test;
     * it would exit 124, not 1. */
    snprintf(cmd, sizeof(cmd), "timeout 20 '%s' serve --db '%s' --port %u --quiet 2>'%s' >/dev/null",
             getenv("MAPD_BIN"), H.db, (unsigned)H.port, err);
    assert_int_equal(md_sh("%s", cmd), 1);
    char *text = slurp(err);
    assert_non_null(strstr(text, "already in use"));
    assert_non_null(strstr(text, "--port"));
    free(text);
    /* --reuse-port cannot join a server that did not ask for sharing either. */
    snprintf(cmd, sizeof(cmd),
             "timeout 20 '%s' serve --db '%s' --port %u --quiet --reuse-port 2>'%s' >/dev/null",
             getenv("MAPD_BIN"), H.db, (unsigned)H.port, err);
    assert_int_equal(md_sh("%s", cmd), 1);
    /* The first server still answers every request (no split). */
    for (int i = 0; i < 20; i++) {
        struct md_http_res r;
        assert_int_equal(md_http(&H, "GET", "/health", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        md_http_res_free(&r);
    }
}

static void links_come_from_the_bound_address(void **state)
{
    (void)state;
    const char *evil[] = {"Host: evil.example", NULL};
    const char *paths[] = {"/tiles/reports.json", "/styles/mapd.json", "/ogc", NULL};
    for (const char *const *p = paths; *p; p++) {
        struct md_http_res r;
        assert_int_equal(md_http(&H, "GET", *p, evil, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_null(strstr(r.body, "evil.example"));
        assert_non_null(strstr(r.body, H.base));
        md_http_res_free(&r);
    }
    /* --trust-host: the operator says a proxy in front sets Host. */
    struct own_server s = {0};
    own_server_start(&s, H.db, "--quiet --trust-host");
    struct md_harness other = H;
    other.port = s.port;
    snprintf(other.base, sizeof(other.base), "http://127.0.0.1:%u", (unsigned)s.port);
    struct md_http_res r;
    assert_int_equal(md_http(&other, "GET", "/tiles/reports.json", evil, NULL, 0, &r), 0);
    assert_non_null(strstr(r.body, "http://evil.example/"));
    md_http_res_free(&r);
    assert_int_equal(own_server_stop(&s), 0);
}

/* ---- stored strings -------------------------------------------------- */

static void control_characters_are_refused_at_input(void **state)
{
    (void)state;
    struct md_http_res r;
    const char *bodies[][2] = {
        {"{\"category\":\"200102\",\"lon\":116.4,\"lat\":39.91,\"description\":\"ab\\u0007c\"}",
         "description holds the control character U+0007 at position 2"},
        {"{\"category\":\"200102\",\"lon\":116.4,\"lat\":39.91,\"address\":\"\\u001b[2J\"}",
         "address holds the control character U+001B at position 0"},
        {"{\"category\":\"200102\",\"lon\":116.4,\"lat\":39.91,\"description\":\"\xe4\xb8\xad\xef\xbf\xbf\"}",
         "description holds the control character U+FFFF at position 1"},
        {"{\"category\":\"200102\",\"lon\":116.4,\"lat\":39.91,\"attributes\":{\"k\":[\"ok\",\"x\\u0001\"]}}",
         "attributes.k[1] holds the control character U+0001 at position 1"},
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_int_equal(md_http(&H, "POST", "/api/v1/reports", NULL, bodies[i][0],
                                 strlen(bodies[i][0]), &r), 0);
        expect_error(&r, 400, "invalid_argument", bodies[i][1]);
        md_http_res_free(&r);
    }
    /* Open311 forms too, answered in Open311's form. */
    char cmd[1200], tok[200] = "";
    snprintf(cmd, sizeof(cmd), "'%s' token add --db '%s' --role app --label t > '%s/tok'",
             getenv("MAPD_BIN"), H.db, H.dir);
    assert_int_equal(md_sh("%s", cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/tok", H.dir);
    char *t = slurp(cmd);
    sscanf(t, "%199s", tok);
    free(t);
    char form[600];
    snprintf(form, sizeof(form),
             "api_key=%s&service_code=200102&lat=39.91&long=116.4&description=a%%0Bb", tok);
    assert_int_equal(md_http(&H, "POST", "/open311/v2/requests.json", NULL, form, strlen(form), &r),
                     0);
    if (r.status != 400)
        fprintf(stderr, "%ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "description holds the control character U+000B at position 1"));
    md_http_res_free(&r);
}

static void allowed_text_keeps_every_output_parseable(void **state)
{
    (void)state;
    /* Tab, LF, CR, markup and quote characters, CJK, an emoji: all allowed. */
    const char *body = "{\"category\":\"200102\",\"lon\":116.4101,\"lat\":39.9101,"
                       "\"description\":\"a\\tb\\nc\\r\\nd <e> & \\\"f\\\", 'g' \xe4\xb8\xad "
                       "\xf0\x9f\x9a\xae ]]>\"}";
    struct md_http_res r;
    assert_int_equal(md_http(&H, "POST", "/api/v1/reports", NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    md_http_res_free(&r);
    char cmd[2000];
    /* Open311 XML (xmllint), JSON lists (python json), CSV export (python csv). */
    snprintf(cmd, sizeof(cmd),
             "curl -sf '%s/open311/v2/requests.xml?service_code=200102' | xmllint --noout - &&"
             " curl -sf '%s/open311/v2/requests.xml?service_code=200102' | grep -q '\\]\\]&gt;' &&"
             " curl -sf '%s/api/v1/reports?category=200102&limit=50' | python3 -c 'import json,sys;"
             " d=json.load(sys.stdin); assert any(\"\\r\\nd <e>\" in (x.get(\"description\") or \"\")"
             " for x in d[\"reports\"]), d' &&"
             " curl -sf '%s/api/v1/export/reports.csv' | python3 -c 'import csv,sys;"
             " rows=list(csv.DictReader(sys.stdin)); n=len(rows[0]);"
             " assert all(len(x)==n for x in rows);"
             " assert any(\"a\\tb\\nc\\r\\nd <e>\" in (x.get(\"description\") or \"\") for x in rows)'",
             H.base, H.base, H.base, H.base);
    assert_int_equal(md_sh("%s", cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encoded_nul_in_url_is_refused),
        cmocka_unit_test(conflicting_content_lengths_are_refused),
        cmocka_unit_test(allow_lists_exactly_what_the_path_answers),
        cmocka_unit_test(json_endpoints_take_json_only),
        cmocka_unit_test(log_fields_escape_control_bytes),
        cmocka_unit_test(port_in_use_is_a_start_up_error),
        cmocka_unit_test(links_come_from_the_bound_address),
        cmocka_unit_test(control_characters_are_refused_at_input),
        cmocka_unit_test(allowed_text_keeps_every_output_parseable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
