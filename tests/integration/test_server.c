/* The foundation server over real HTTP: health, metrics, errors, limits, SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct md_harness H;

static int setup(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-body-kb", "64", NULL};
    md_harness_start(&H, args);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return md_harness_stop(&H) == 0 ? 0 : -1;
}

static json_t *get_json(const char *path, long want_status)
{
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, want_status);
    json_error_t err;
    json_t *j = json_loads(r.body, 0, &err);
    if (!j)
        fail_msg("not JSON: %s", r.body);
    md_http_res_free(&r);
    return j;
}

static void assert_error_body(const char *body, const char *code, const char *message_part)
{
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    const char *msg = json_string_value(json_object_get(e, "message"));
    assert_non_null(msg);
    if (!strstr(msg, message_part))
        fail_msg("message '%s' lacks '%s'", msg, message_part);
    json_decref(j);
}

static void health_reports_schema_and_rows(void **state)
{
    (void)state;
    json_t *j = get_json("/health", 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), 1);
    json_t *layers = json_object_get(j, "layers");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(layers, "facilities"), "rows")), 5000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(layers, "reports"), "rows")), 20000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(layers, "districts"), "rows")), 16);
    assert_true(json_integer_value(json_object_get(json_object_get(layers, "grids"), "rows")) > 20000);
    json_decref(j);
}

static void metrics_count_requests_per_route(void **state)
{
    (void)state;
    struct md_http_res r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(md_http(&H, "GET", "/health", NULL, NULL, 0, &r), 0);
        md_http_res_free(&r);
    }
    assert_int_equal(md_http(&H, "GET", "/nope", NULL, NULL, 0, &r), 0);
    md_http_res_free(&r);
    assert_int_equal(md_http(&H, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    char ct[128];
    assert_true(md_http_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_non_null(strstr(ct, "text/plain"));
    const char *line = strstr(r.body, "mapd_http_requests_total{route=\"health\",status=\"200\"} ");
    assert_non_null(line);
    assert_true(atoi(line + strlen("mapd_http_requests_total{route=\"health\",status=\"200\"} ")) >= 3);
    assert_non_null(strstr(r.body, "mapd_http_requests_total{route=\"other\",status=\"404\"}"));
    assert_non_null(strstr(r.body, "mapd_http_request_duration_seconds_bucket{route=\"health\",le=\"+Inf\"}"));
    assert_non_null(strstr(r.body, "mapd_reports{status=\"closed\"}"));
    md_http_res_free(&r);
}

static void unknown_route_is_json_404(void **state)
{
    (void)state;
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", "/no/such/thing", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    assert_error_body(r.body, "not_found", "/no/such/thing");
    md_http_res_free(&r);
}

static void wrong_method_is_405_with_allow(void **state)
{
    (void)state;
    struct md_http_res r;
    assert_int_equal(md_http(&H, "DELETE", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    char allow[64];
    assert_true(md_http_header(&r, "Allow", allow, sizeof(allow)));
    assert_non_null(strstr(allow, "GET"));
    assert_error_body(r.body, "method_not_allowed", "DELETE is not allowed on /health");
    md_http_res_free(&r);
}

static void oversized_body_is_413(void **state)
{
    (void)state;
    size_t n = 200 * 1024;
    char *big = malloc(n);
    memset(big, 'x', n);
    struct md_http_res r;
    assert_int_equal(md_http(&H, "POST", "/health", NULL, big, n, &r), 0);
    assert_int_equal(r.status, 413);
    assert_error_body(r.body, "payload_too_large", "exceeds the limit of 65536 bytes");
    md_http_res_free(&r);
    free(big);
    /* The server is still there. */
    json_decref(get_json("/health", 200));
}

static void malformed_requests_keep_server_alive(void **state)
{
    (void)state;
    /* Raw garbage on the socket, then a normal request. */
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "printf 'GARBAGE \\x01\\x02 HTTP/9.9\\r\\n\\r\\n' | timeout 5 curl -s -o /dev/null "
             "telnet://127.0.0.1:%u >/dev/null 2>&1; true",
             (unsigned)H.port);
    assert_int_equal(md_sh("%s", cmd), 0);
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", "/health/../../etc/passwd", NULL, NULL, 0, &r), 0);
    assert_true(r.status == 400 || r.status == 404);
    md_http_res_free(&r);
    json_decref(get_json("/health", 200));
}

static void head_is_served_like_get(void **state)
{
    (void)state;
    struct md_http_res r;
    assert_int_equal(md_http(&H, "HEAD", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    md_http_res_free(&r);
}

static void sigterm_exits_cleanly_while_busy(void **state)
{
    (void)state;
    struct md_harness h2;
    md_harness_start(&h2, NULL);
    /* Keep requests in flight while the signal arrives. */
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "for i in $(seq 1 40); do curl -s -o /dev/null %s/metrics & done; sleep 0.05",
             h2.base);
    assert_int_equal(md_sh("%s", cmd), 0);
    char log[400];
    snprintf(log, sizeof(log), "%s/stderr.log", h2.dir);
    char dir[256];
    snprintf(dir, sizeof(dir), "%s", h2.dir);
    kill(h2.pid, SIGTERM);
    int st = -1;
    for (int i = 0; i < 2000; i++) {
        int ws;
        if (waitpid(h2.pid, &ws, WNOHANG) == h2.pid) {
            st = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128;
            break;
        }
        usleep(10000);
    }
    assert_int_equal(st, 0);
    assert_int_equal(md_sh("grep -q 'stopped cleanly' %s", log), 0);
    md_sh("wait; rm -rf '%s'", dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_reports_schema_and_rows),
        cmocka_unit_test(metrics_count_requests_per_route),
        cmocka_unit_test(unknown_route_is_json_404),
        cmocka_unit_test(wrong_method_is_405_with_allow),
        cmocka_unit_test(oversized_body_is_413),
        cmocka_unit_test(malformed_requests_keep_server_alive),
        cmocka_unit_test(head_is_served_like_get),
        cmocka_unit_test(sigterm_exits_cleanly_while_busy),
    };
    /* teardown asserts that SIGTERM gives a clean exit 0. */
    return cmocka_run_group_tests(tests, setup, teardown);
}
