/* test_idempotency.c - Idempotency-Key on the POSTs that file a report
 * (JSON API, Open311, corrections), against the real server over a copy
 * of the sample database: the same key and request twice is one report
 * and the same answer with Idempotent-Replayed; the key with another body
 * is 422; a malformed key is 400 naming the header and files nothing; a
 * key survives kill -9 of the server after its 201; two threads sending
 * one key at once file exactly one report; keys are per caller and expire
 * after 24 h; a database made before the table gets it when served.
 */
#include "harness.h"

#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static struct md_harness H;
static char app_token[128];
static const char *const serve_args[] = {"--rate-limit", "0", NULL};

static int setup(void **state)
{
    (void)state;
    md_harness_start(&H, serve_args);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' token add --db '%s' --role app --label idem",
             getenv("MAPD_BIN"), H.db);
    return md_sh_first_line(cmd, app_token, sizeof(app_token)) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return md_harness_stop(&H) == 0 ? 0 : -1;
}

/* POST body to path with `Idempotency-Key: key` (NULL: no header) and
 * an optional bearer token. */
static void post(const char *path, const char *ctype, const char *key, const char *tok,
                 const char *body, struct md_http_res *r)
{
    char kh[600], ch[100], auth[200];
    snprintf(ch, sizeof(ch), "Content-Type: %s", ctype);
    /* curl drops "Name:" without a value; "Name;" sends it empty */
    if (key && !*key)
        snprintf(kh, sizeof(kh), "Idempotency-Key;");
    else
        snprintf(kh, sizeof(kh), "Idempotency-Key: %s", key ? key : "");
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok ? tok : "");
    const char *hdrs[4] = {ch, NULL, NULL, NULL};
    size_t n = 1;
    if (key)
        hdrs[n++] = kh;
    if (tok)
        hdrs[n++] = auth;
    assert_int_equal(md_http(&H, "POST", path, hdrs, body, strlen(body), r), 0);
}

static void post_report(const char *key, const char *tok, const char *body, struct md_http_res *r)
{
    post("/api/v1/reports", "application/json", key, tok, body, r);
}

static int64_t db_count(const char *sql, const char *arg)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(H.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int64_t reports_described(const char *description)
{
    return db_count("SELECT count(*) FROM reports WHERE description = ?", description);
}

static void db_exec(const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(H.db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

static int64_t id_of(const struct md_http_res *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    int64_t id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void report_body(char *out, size_t n, const char *description)
{
    snprintf(out, n,
             "{\"category\":\"200102\",\"lon\":116.4012,\"lat\":39.9123,\"description\":\"%s\"}",
             description);
}

static void expect_error(const struct md_http_res *r, long status, const char *needle)
{
    json_t *j = json_loads(r->body, 0, NULL);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (r->status != status || !msg || !strstr(msg, needle))
        fprintf(stderr, "want %ld '%s', got %ld %s\n", status, needle, r->status, r->body);
    assert_int_equal(r->status, status);
    assert_non_null(msg);
    assert_non_null(strstr(msg, needle));
    json_decref(j);
}

static void same_key_twice_is_one_report(void **state)
{
    (void)state;
    char body[300], v[64], loc1[64], loc2[64];
    report_body(body, sizeof(body), "idem twice");
    struct md_http_res a, b;
    post_report("k-twice-1", NULL, body, &a);
    assert_int_equal(a.status, 201);
    assert_false(md_http_header(&a, "Idempotent-Replayed", v, sizeof(v)));
    post_report("k-twice-1", NULL, body, &b);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    assert_true(md_http_header(&b, "Idempotent-Replayed", v, sizeof(v)));
    assert_string_equal(v, "true");
    assert_true(md_http_header(&a, "Location", loc1, sizeof(loc1)));
    assert_true(md_http_header(&b, "Location", loc2, sizeof(loc2)));
    assert_string_equal(loc1, loc2);
    assert_int_equal(reports_described("idem twice"), 1);
    assert_int_equal(db_count("SELECT count(*) FROM idempotency_keys WHERE key = ?", "k-twice-1"),
                     1);
    /* The quoted form (sf-string) is the same key. */
    struct md_http_res q;
    post_report("\"k-twice-1\"", NULL, body, &q);
    assert_int_equal(q.status, 201);
    assert_string_equal(a.body, q.body);
    md_http_res_free(&q);
    md_http_res_free(&a);
    md_http_res_free(&b);
}

static void other_body_is_422(void **state)
{
    (void)state;
    char body[300];
    struct md_http_res a, b, c;
    report_body(body, sizeof(body), "idem first body");
    post_report("k-other-1", NULL, body, &a);
    assert_int_equal(a.status, 201);
    report_body(body, sizeof(body), "idem second body");
    post_report("k-other-1", NULL, body, &b);
    expect_error(&b, 422, "Idempotency-Key");
    assert_int_equal(reports_described("idem second body"), 0);
    /* Same body to another endpoint under the key: another scope, filed. */
    post("/api/v1/facilities/7/corrections", "application/json", "k-other-1", NULL,
         "{\"category\":\"900003\",\"description\":\"idem correction\","
         "\"proposed_change\":{\"name\":\"idem shop\"}}",
         &c);
    assert_int_equal(c.status, 201);
    md_http_res_free(&a);
    md_http_res_free(&b);
    md_http_res_free(&c);
}

static void bad_key_is_400(void **state)
{
    (void)state;
    char body[300], longkey[300];
    report_body(body, sizeof(body), "idem bad key");
    memset(longkey, 'x', 256);
    longkey[256] = '\0';
    const char *bad[] = {"", longkey, "a b", "caf\xc3\xa9", "\"unterminated", "\"\"",
                         "\"a\\nb\"", "\"a\"b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct md_http_res r;
        post_report(bad[i], NULL, body, &r);
        expect_error(&r, 400, "Idempotency-Key");
        md_http_res_free(&r);
    }
    assert_int_equal(reports_described("idem bad key"), 0);
    /* 255 characters is the longest key. */
    longkey[255] = '\0';
    struct md_http_res ok;
    post_report(longkey, NULL, body, &ok);
    assert_int_equal(ok.status, 201);
    md_http_res_free(&ok);
}

/* The multipart create (report JSON + a photo): the replay carries the
 * same photos, and the photo is stored once. */
static void multipart_with_photo_replays(void **state)
{
    (void)state;
    char jpg[400];
    snprintf(jpg, sizeof(jpg), "%s/idem.jpg", H.dir);
    assert_int_equal(md_sh("vips black '%s' 64 48 --bands 3", jpg), 0);
    FILE *f = fopen(jpg, "rb");
    assert_non_null(f);
    static char img[1 << 16];
    size_t n = fread(img, 1, sizeof(img), f);
    fclose(f);
    assert_true(n > 0 && n < sizeof(img));
    static const char head[] =
        "--idemB\r\nContent-Disposition: form-data; name=\"report\"\r\n"
        "Content-Type: application/json\r\n\r\n"
        "{\"category\":\"200102\",\"lon\":116.4012,\"lat\":39.9123,"
        "\"description\":\"idem multipart\"}\r\n"
        "--idemB\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n";
    static const char tail[] = "\r\n--idemB--\r\n";
    size_t len = sizeof(head) - 1 + n + sizeof(tail) - 1;
    char *body = malloc(len + 1);
    assert_non_null(body);
    memcpy(body, head, sizeof(head) - 1);
    memcpy(body + sizeof(head) - 1, img, n);
    memcpy(body + sizeof(head) - 1 + n, tail, sizeof(tail));
    const char *hdrs[] = {"Content-Type: multipart/form-data; boundary=idemB",
                          "Idempotency-Key: k-multipart-1", NULL};
    struct md_http_res a, b;
    assert_int_equal(md_http(&H, "POST", "/api/v1/reports", hdrs, body, len, &a), 0);
    assert_int_equal(a.status, 201);
    assert_int_equal(md_http(&H, "POST", "/api/v1/reports", hdrs, body, len, &b), 0);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    assert_non_null(strstr(b.body, "\"photos\":[{"));
    assert_int_equal(reports_described("idem multipart"), 1);
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)id_of(&a));
    assert_int_equal(db_count("SELECT count(*) FROM report_photos WHERE report_id = ?", id), 1);
    free(body);
    md_http_res_free(&a);
    md_http_res_free(&b);
}

static void key_is_per_caller(void **state)
{
    (void)state;
    char body[300];
    report_body(body, sizeof(body), "idem per caller");
    struct md_http_res a, b, c;
    post_report("k-caller-1", NULL, body, &a);
    post_report("k-caller-1", app_token, body, &b);
    post_report("k-caller-1", app_token, body, &c);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    assert_int_equal(c.status, 201);
    assert_true(id_of(&a) != id_of(&b));
    assert_int_equal(id_of(&b), id_of(&c));
    assert_int_equal(reports_described("idem per caller"), 2);
    md_http_res_free(&a);
    md_http_res_free(&b);
    md_http_res_free(&c);
}

static void open311_replays(void **state)
{
    (void)state;
    char form[600];
    snprintf(form, sizeof(form),
             "api_key=%s&service_code=200102&lat=39.91&long=116.4&description=idem+open311",
             app_token);
    struct md_http_res a, b;
    post("/open311/v2/requests.xml", "application/x-www-form-urlencoded", "o311-k1", NULL, form,
         &a);
    assert_int_equal(a.status, 201);
    post("/open311/v2/requests.xml", "application/x-www-form-urlencoded", "o311-k1", NULL, form,
         &b);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    assert_non_null(strstr(b.body, "<service_request_id>"));
    char v[16];
    assert_true(md_http_header(&b, "Idempotent-Replayed", v, sizeof(v)));
    assert_int_equal(reports_described("idem open311"), 1);
    md_http_res_free(&b);
    /* Another body under the key: refused in Open311's own error form
     * (which knows 400, 403 and 404 only, so 400, not 422). */
    strcat(form, "+changed");
    post("/open311/v2/requests.json", "application/x-www-form-urlencoded", "o311-k1", NULL, form,
         &b);
    /* another path (.json) is another endpoint: filed */
    assert_int_equal(b.status, 201);
    md_http_res_free(&b);
    post("/open311/v2/requests.xml", "application/x-www-form-urlencoded", "o311-k1", NULL, form,
         &b);
    assert_int_equal(b.status, 400);
    assert_non_null(strstr(b.body, "<errors>"));
    assert_non_null(strstr(b.body, "already used for a different request"));
    md_http_res_free(&a);
    md_http_res_free(&b);
}

static void key_survives_kill(void **state)
{
    (void)state;
    char body[300];
    report_body(body, sizeof(body), "idem after kill");
    struct md_http_res a, b;
    post_report("k-kill-1", NULL, body, &a);
    assert_int_equal(a.status, 201);
    md_harness_kill(&H);
    md_harness_restart(&H, serve_args);
    post_report("k-kill-1", NULL, body, &b);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    char v[16];
    assert_true(md_http_header(&b, "Idempotent-Replayed", v, sizeof(v)));
    assert_int_equal(reports_described("idem after kill"), 1);
    md_http_res_free(&a);
    md_http_res_free(&b);
}

struct racer {
    const char *key;
    const char *body;
    pthread_barrier_t *go;
    struct md_http_res res;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    const char *hdrs[3];
    char kh[300];
    snprintf(kh, sizeof(kh), "Idempotency-Key: %s", r->key);
    hdrs[0] = "Content-Type: application/json";
    hdrs[1] = kh;
    hdrs[2] = NULL;
    pthread_barrier_wait(r->go);
    if (md_http(&H, "POST", "/api/v1/reports", hdrs, r->body, strlen(r->body), &r->res) != 0)
        r->res.status = -1;
    return NULL;
}

static void concurrent_duplicate_is_one_report(void **state)
{
    (void)state;
    enum { ROUNDS = 8, THREADS = 4 };
    for (int round = 0; round < ROUNDS; round++) {
        char key[32], desc[64], body[300];
        snprintf(key, sizeof(key), "k-race-%d", round);
        snprintf(desc, sizeof(desc), "idem race %d", round);
        report_body(body, sizeof(body), desc);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, THREADS);
        struct racer r[THREADS];
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++) {
            r[i] = (struct racer){.key = key, .body = body, .go = &go};
            assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        int64_t id = 0;
        int created = 0;
        for (int i = 0; i < THREADS; i++) {
            if (r[i].res.status == 201) {
                int64_t got = id_of(&r[i].res);
                assert_true(!id || id == got);
                id = got;
                created++;
            } else {
                expect_error(&r[i].res, 409, "Idempotency-Key");
            }
            md_http_res_free(&r[i].res);
        }
        assert_true(created >= 1);
        assert_int_equal(reports_described(desc), 1);
    }
}

static void key_expires(void **state)
{
    (void)state;
    char body[300];
    report_body(body, sizeof(body), "idem expires");
    struct md_http_res a, b;
    post_report("k-expire-1", NULL, body, &a);
    assert_int_equal(a.status, 201);
    db_exec("UPDATE idempotency_keys SET created_at = created_at - 86401 WHERE key = 'k-expire-1'");
    post_report("k-expire-1", NULL, body, &b);
    assert_int_equal(b.status, 201);
    char v[16];
    assert_false(md_http_header(&b, "Idempotent-Replayed", v, sizeof(v)));
    assert_true(id_of(&a) != id_of(&b));
    assert_int_equal(reports_described("idem expires"), 2);
    assert_int_equal(db_count("SELECT count(*) FROM idempotency_keys WHERE key = ?", "k-expire-1"),
                     1);
    md_http_res_free(&a);
    md_http_res_free(&b);
}

static void old_database_gets_the_table(void **state)
{
    (void)state;
    md_harness_kill(&H); /* (stop removes the directory) */
    db_exec("DROP TABLE idempotency_keys");
    md_harness_restart(&H, serve_args);
    char body[300];
    report_body(body, sizeof(body), "idem old database");
    struct md_http_res a, b;
    post_report("k-old-1", NULL, body, &a);
    assert_int_equal(a.status, 201);
    post_report("k-old-1", NULL, body, &b);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    assert_int_equal(reports_described("idem old database"), 1);
    md_http_res_free(&a);
    md_http_res_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_key_twice_is_one_report),
        cmocka_unit_test(other_body_is_422),
        cmocka_unit_test(bad_key_is_400),
        cmocka_unit_test(multipart_with_photo_replays),
        cmocka_unit_test(key_is_per_caller),
        cmocka_unit_test(open311_replays),
        cmocka_unit_test(key_survives_kill),
        cmocka_unit_test(concurrent_duplicate_is_one_report),
        cmocka_unit_test(key_expires),
        cmocka_unit_test(old_database_gets_the_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
