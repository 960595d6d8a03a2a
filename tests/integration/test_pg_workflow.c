/* test_pg_workflow.c - API tokens and the case workflow on PostgreSQL give
 * the same answers as on SpatiaLite (issue 13's differential test, as
 * test_pg_http.c).
 *
 * `mapd sample` builds the same city in a SpatiaLite file and in a
 * throwaway PostgreSQL; on each, `mapd unit add` adds the same two units
 * and `mapd token add` the same tokens in the same order (a centre, an
 * officer of each unit, a centre token revoked with `mapd token revoke`, a
 * key with a daily quota, one without the report:transition scope),
 * so they have the same ids on both and the history names the same actors
 * ("token:N"); only the token texts differ (32 random bytes each). One
 * `mapd serve` on each, then the same requests: reports created, then
 * the same sequence of transitions - refused ones included (401 without or
 * with a revoked token, 403 for the wrong role, unit or scope, 429 past the
 * quota, 409 from the wrong
 * status, 422 merging into nothing) - and the answers compared: errors
 * byte for byte, reports and histories without what the clock decides
 * (created/updated/expected/closed times, history times, the follow-up
 * token). Every expected status is asserted too, so two servers refusing
 * alike (501 on both) cannot pass. At the store level, md_token_list
 * gives the same list from both (hashes and times aside) and
 * md_token_verify the same principals. Last, two nodes on the one
 * PostgreSQL race to accept the same case, twenty times: one 200, one 409.
 */
#include "harness.h"
#include "pg_harness.h"
#include "store.h"
#include "tokens.h"

#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static struct md_pg_cluster pg;
static struct md_harness lite, post;
static char db_file[300], db_uri[128];

#define SAMPLE_OPTS "--facilities 300 --reports 400 --seed 21 --anchor 2026-11-01 --quiet"

enum { CENTRE, OFFICER1, OFFICER2, REVOKED, QUOTA, SCOPED, NTOKENS };
static char tok[2][NTOKENS][80]; /* [0] SpatiaLite's, [1] PostgreSQL's */

/* Run `mapd token add ARGS --db DB`; the token it prints into out. */
static int token_add(const char *bin, const char *db, const char *args, char out[80])
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' token add --db '%s' %s 2>/dev/null", bin, db, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    out[0] = '\0';
    char *got = fgets(out, 80, p);
    int st = pclose(p);
    if (!got || st != 0 || strncmp(out, "mdt_", 4) != 0)
        return -1;
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

static int prepare(const char *bin, const char *db, char t[NTOKENS][80])
{
    if (md_sh("'%s' unit add --db '%s' --code U1 --name 'Sanitation East' >/dev/null", bin, db) ||
        md_sh("'%s' unit add --db '%s' --code U2 --name 'Roads West' >/dev/null", bin, db) ||
        token_add(bin, db, "--role centre --label centre", t[CENTRE]) ||
        token_add(bin, db, "--role officer --unit U1 --name Li", t[OFFICER1]) ||
        token_add(bin, db, "--role officer --unit U2 --name Wang", t[OFFICER2]) ||
        token_add(bin, db, "--role centre --label gone", t[REVOKED]))
        return -1;
    if (md_sh("'%s' token revoke --db '%s' 4 >/dev/null 2>&1", bin, db))
        return -1;
    return token_add(bin, db, "--role centre --quota 2", t[QUOTA]) ||
           token_add(bin, db, "--role centre --scopes report:create", t[SCOPED]);
}

static int setup(void **state)
{
    (void)state;
    const char *bin = getenv("MAPD_BIN");
    char uri[128], file[300], dir[] = "/tmp/mapd-pgflow-XXXXXX";
    if (!bin || !mkdtemp(dir) || md_pg_cluster_start(&pg, "") != 0)
        return -1;
    snprintf(uri, sizeof(uri), "postgresql://postgres@127.0.0.1:%u/postgres", pg.port);
    snprintf(file, sizeof(file), "%s/city.sqlite", dir);
    snprintf(db_file, sizeof(db_file), "%s", file);
    snprintf(db_uri, sizeof(db_uri), "%s", uri);
    if (md_sh("'%s' sample --db '%s' " SAMPLE_OPTS, bin, file) ||
        md_sh("'%s' sample --db '%s' " SAMPLE_OPTS, bin, uri) || prepare(bin, file, tok[0]) ||
        prepare(bin, uri, tok[1]))
        return -1;
    const char *args[] = {"--rate-limit", "0", "--quiet", NULL};
    md_harness_start_on(&lite, file, args);
    md_harness_start_on(&post, uri, args);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int a = md_harness_stop(&lite), b = md_harness_stop(&post);
    md_pg_cluster_stop(&pg);
    return a || b;
}

/* Drop what the clock and chance decide, recursively. */
static void untime(json_t *j)
{
    static const char *const drop[] = {"created_at", "updated_at", "expected_at",
                                       "closed_at",  "at",         "token"};
    if (json_is_object(j)) {
        for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
            if (json_object_get(j, drop[i]))
                json_object_set_new(j, drop[i],
                                    json_is_null(json_object_get(j, drop[i])) ? json_null()
                                                                              : json_true());
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) untime(v);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) untime(v);
    }
}

/* The body for comparing: JSON untimed with sorted keys, else as is. */
static char *core(const struct md_http_res *r)
{
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    if (!j)
        return strndup(r->body, r->len);
    untime(j);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    return s;
}

/* The same request to both (with each one's token `who`, or none when
 * who < 0); both answer `status` and the same core. The SpatiaLite body
 * into *body when asked (caller frees). status -1: any, the same on both. */
static void same(const char *method, const char *path, int who, const char *json, long status,
                 char **body)
{
    struct md_http_res a, b;
    char ha[128], hb[128];
    snprintf(ha, sizeof(ha), "Authorization: Bearer %s", who >= 0 ? tok[0][who] : "");
    snprintf(hb, sizeof(hb), "Authorization: Bearer %s", who >= 0 ? tok[1][who] : "");
    const char *h0[] = {ha, "Content-Type: application/json", NULL};
    const char *h1[] = {hb, "Content-Type: application/json", NULL};
    const char *hn[] = {"Content-Type: application/json", NULL};
    size_t n = json ? strlen(json) : 0;
    assert_int_equal(md_http(&lite, method, path, who >= 0 ? h0 : hn, json, n, &a), 0);
    assert_int_equal(md_http(&post, method, path, who >= 0 ? h1 : hn, json, n, &b), 0);
    char *ca = core(&a), *cb = core(&b);
    if (a.status != b.status || strcmp(ca, cb) != 0 || (status >= 0 && a.status != status)) {
        size_t at = 0; /* where they part */
        while (ca[at] && ca[at] == cb[at])
            at++;
        at = at > 100 ? at - 100 : 0;
        fail_msg("%s %s %s: expected %ld\n  sqlite %ld ...%.400s\n  postgresql %ld ...%.400s",
                 method, path, json ? json : "", status, a.status, ca + at, b.status, cb + at);
    }
    if (body)
        *body = strndup(a.body, a.len);
    free(ca);
    free(cb);
    md_http_res_free(&a);
    md_http_res_free(&b);
}

/* GET path from both: the answers differ (the comparison can fail). */
static void differs(const char *path)
{
    struct md_http_res a, b;
    assert_int_equal(md_http(&lite, "GET", path, NULL, NULL, 0, &a), 0);
    assert_int_equal(md_http(&post, "GET", path, NULL, NULL, 0, &b), 0);
    char *ca = core(&a), *cb = core(&b);
    assert_int_equal(a.status, 200);
    assert_string_not_equal(ca, cb);
    free(ca);
    free(cb);
    md_http_res_free(&a);
    md_http_res_free(&b);
}

static int64_t create(const char *desc, double lon, double lat)
{
    char json[256], *body = NULL;
    snprintf(json, sizeof(json),
             "{\"category\":\"200102\",\"lon\":%.7f,\"lat\":%.7f,\"description\":\"%s\"}", lon, lat,
             desc);
    same("POST", "/api/v1/reports", -1, json, 201, &body);
    json_t *j = json_loads(body, 0, NULL);
    json_t *r = json_object_get(j, "report") ? json_object_get(j, "report") : j;
    int64_t id = json_integer_value(json_object_get(r, "id"));
    json_decref(j);
    free(body);
    assert_true(id > 0);
    return id;
}

static void step(int64_t id, int who, const char *json, long status)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/transitions", (long long)id);
    same("POST", path, who, json, status, NULL);
}

static void check_status(int64_t id, const char *want)
{
    char path[64], *body = NULL;
    snprintf(path, sizeof(path), "/api/v1/reports/%lld", (long long)id);
    same("GET", path, -1, NULL, 200, &body);
    json_t *j = json_loads(body, 0, NULL);
    json_t *r = json_object_get(j, "report") ? json_object_get(j, "report") : j;
    assert_string_equal(json_string_value(json_object_get(r, "status")), want);
    json_decref(j);
    free(body);
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/history", (long long)id);
    same("GET", path, -1, NULL, 200, NULL);
}

static void same_workflow(void **state)
{
    (void)state;
    int64_t a = create("workflow a", 116.3912345, 39.9067891);
    int64_t b = create("workflow b", 116.3915, 39.9069);
    int64_t c = create("workflow c", 116.41, 39.92);
    char *units = NULL;
    same("GET", "/api/v1/units", CENTRE, NULL, 200, &units);
    assert_non_null(strstr(units, "Wang"));
    free(units);
    /* refused before anything happens */
    step(a, -1, "{\"action\":\"accept\"}", 401);
    step(a, REVOKED, "{\"action\":\"accept\"}", 401);
    step(a, OFFICER1, "{\"action\":\"accept\"}", 403);
    step(a, CENTRE, "{\"action\":\"dispatch\",\"unit\":\"U1\"}", 409);
    step(a, CENTRE, "{\"action\":\"fly\"}", 400);
    step(999999, CENTRE, "{\"action\":\"accept\"}", 404);
    step(a, SCOPED, "{\"action\":\"accept\"}", 403); /* lacks report:transition */
    /* a key with a quota of 2 a day: counted on both, the third refused */
    step(a, QUOTA, "{\"action\":\"dispatch\"}", 409);
    step(a, QUOTA, "{\"action\":\"verify\"}", 409);
    step(a, QUOTA, "{\"action\":\"accept\"}", 429);
    /* accept, dispatch to an officer of U1 (a deadline from the calendar) */
    step(a, CENTRE, "{\"action\":\"accept\",\"note\":\"filed\"}", 200);
    step(a, CENTRE, "{\"action\":\"dispatch\",\"unit\":\"NOPE\"}", 400);
    step(a, CENTRE, "{\"action\":\"dispatch\",\"unit\":\"U2\",\"officer\":1}", 400);
    step(a, CENTRE, "{\"action\":\"dispatch\",\"unit\":\"U1\",\"officer\":1}", 200);
    char *cases = NULL;
    same("GET", "/api/v1/officer/cases", OFFICER1, NULL, 200, &cases);
    assert_non_null(strstr(cases, "\"workflow a\""));
    assert_non_null(strstr(cases, "\"officer_name\":\"Li\""));
    free(cases);
    same("GET", "/api/v1/officer/cases", OFFICER2, NULL, 200, &cases);
    assert_null(strstr(cases, "\"workflow a\""));
    free(cases);
    step(a, OFFICER2, "{\"action\":\"start\"}", 403); /* not their unit */
    step(a, OFFICER1, "{\"action\":\"start\"}", 200);
    step(a, CENTRE, "{\"action\":\"park\",\"note\":\"waiting\"}", 200);
    step(a, OFFICER1, "{\"action\":\"report_back\"}", 409);
    step(a, CENTRE, "{\"action\":\"resume\"}", 200);
    step(a, OFFICER1, "{\"action\":\"report_back\",\"note\":\"done\"}", 200);
    step(a, CENTRE, "{\"action\":\"rework\",\"unit\":\"U2\"}", 200);
    step(a, OFFICER1, "{\"action\":\"start\"}", 403); /* now U2's */
    same("GET", "/api/v1/officer/cases", OFFICER2, NULL, 200, NULL);
    step(a, OFFICER2, "{\"action\":\"start\"}", 200);
    step(a, OFFICER2, "{\"action\":\"report_back\"}", 200);
    step(a, CENTRE, "{\"action\":\"verify\"}", 200);
    step(a, CENTRE, "{\"action\":\"park\"}", 409);
    check_status(a, "closed");
    /* merge b into a; merges refused */
    step(b, CENTRE, "{\"action\":\"merge\",\"into\":999999}", 422);
    step(b, CENTRE, "{\"action\":\"merge\"}", 400);
    char json[96];
    snprintf(json, sizeof(json), "{\"action\":\"merge\",\"into\":%lld}", (long long)b);
    step(b, CENTRE, json, 409);
    snprintf(json, sizeof(json), "{\"action\":\"merge\",\"into\":%lld}", (long long)a);
    step(b, CENTRE, json, 200);
    step(b, CENTRE, json, 409);
    check_status(b, "closed");
    /* reject c, then nothing more moves it; merging into a rejected case */
    step(c, CENTRE, "{\"action\":\"reject\",\"note\":\"not ours\"}", 200);
    step(c, CENTRE, "{\"action\":\"accept\"}", 409);
    check_status(c, "rejected");
    int64_t d = create("workflow d", 116.42, 39.93);
    snprintf(json, sizeof(json), "{\"action\":\"merge\",\"into\":%lld}", (long long)c);
    step(d, CENTRE, json, 409);
    /* park before dispatch and resume: no deadline either side */
    step(d, CENTRE, "{\"action\":\"park\"}", 200);
    step(d, CENTRE, "{\"action\":\"resume\"}", 200);
    check_status(d, "reported");
    /* corrections: a facility moved, a missing one added, on accepting */
    char *body = NULL;
    same("POST", "/api/v1/facilities/5/corrections", -1,
         "{\"category\":\"900002\",\"proposed_change\":{\"lon\":116.4012345,"
         "\"lat\":39.9112345}}",
         201, &body);
    json_t *j = json_loads(body, 0, NULL);
    json_t *r = json_object_get(j, "report") ? json_object_get(j, "report") : j;
    int64_t e = json_integer_value(json_object_get(r, "id"));
    json_decref(j);
    free(body);
    same("POST", "/api/v1/reports", -1,
         "{\"category\":\"900004\",\"lon\":116.3987654,\"lat\":39.9087654,"
         "\"proposed_change\":{\"name\":\"New toilet\",\"category\":\"toilet\"}}",
         201, &body);
    j = json_loads(body, 0, NULL);
    r = json_object_get(j, "report") ? json_object_get(j, "report") : j;
    int64_t f = json_integer_value(json_object_get(r, "id"));
    json_decref(j);
    free(body);
    assert_true(e > 0 && f > 0);
    step(e, CENTRE, "{\"action\":\"accept\"}", 200);
    step(f, CENTRE, "{\"action\":\"accept\"}", 200);
    check_status(e, "filed");
    check_status(f, "filed");
    same("GET", "/api/v1/nearest?lon=116.4012345&lat=39.9112345&k=3&layer=facilities", -1, NULL,
         200, NULL);
    same("GET", "/api/v1/nearest?lon=116.3987654&lat=39.9087654&k=3&layer=facilities", -1, NULL,
         200, NULL);
    char uri[128];
    snprintf(uri, sizeof(uri), "postgresql://postgres@127.0.0.1:%u/postgres", pg.port);
    PGconn *conn = md_pg_connect(uri);
    assert_int_equal(md_pg_scalar(conn, "SELECT count(*) FROM facility_history"), 2);
    assert_int_equal(md_pg_scalar(conn, "SELECT count(*) FROM facilities WHERE id = 5"
                                        " AND lon = 116.4012345 AND lat = 39.9112345"
                                        " AND ST_X(geom) = 116.4012345"),
                     1);
    assert_int_equal(md_pg_scalar(conn, "SELECT count(*) FROM facilities f JOIN reports r"
                                        " ON r.facility_id = f.id WHERE f.name = 'New toilet'"
                                        " AND f.source = 'correction'"),
                     1);
    assert_int_equal(md_pg_scalar(conn, "SELECT n FROM token_usage WHERE token_id = 5"), 2);
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM report_assignments WHERE report_id = %lld"
             " AND unit_code = 'U2' AND officer_id IS NULL AND actor_id = 'token:1'",
             (long long)a);
    assert_int_equal(md_pg_scalar(conn, q), 1);
    /* a history written differently into PostgreSQL reads differently */
    char sql[128], path[64];
    snprintf(sql, sizeof(sql), "UPDATE report_history SET note = 'x' WHERE report_id = %lld",
             (long long)a);
    md_pg_exec_ok(conn, sql);
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/history", (long long)a);
    differs(path);
    PQfinish(conn);
    /* cases of the sample city, whatever state they are in */
    for (int64_t id = 1; id <= 12; id++) {
        step(id, CENTRE, "{\"action\":\"park\"}", -1);
        step(id, CENTRE, "{\"action\":\"resume\"}", -1);
        snprintf(path, sizeof(path), "/api/v1/reports/%lld/history", (long long)id);
        same("GET", path, -1, NULL, 200, NULL);
        snprintf(path, sizeof(path), "/api/v1/reports/%lld", (long long)id);
        same("GET", path, -1, NULL, 200, NULL);
    }
}

struct racer {
    const struct md_harness *h;
    const char *path, *auth;
    long status;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    const char *h[] = {r->auth, "Content-Type: application/json", NULL};
    const char *body = "{\"action\":\"accept\"}";
    struct md_http_res res;
    r->status = md_http(r->h, "POST", r->path, h, body, strlen(body), &res) ? -1 : res.status;
    if (r->status >= 0)
        md_http_res_free(&res);
    return NULL;
}

/* Two nodes on the one PostgreSQL database accept the same new case at
 * once: the case row is read FOR UPDATE, so one wins and the other, once
 * the first has committed, sees "filed" and answers 409 - never two
 * accepts in the history (READ COMMITTED alone would let both pass). */
static void concurrent_steps(void **state)
{
    (void)state;
    struct md_harness post2;
    const char *args[] = {"--rate-limit", "0", "--quiet", NULL};
    md_harness_start_on(&post2, db_uri, args);
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok[1][CENTRE]);
    char uri[160];
    snprintf(uri, sizeof(uri), "%s", db_uri);
    PGconn *conn = md_pg_connect(uri);
    for (int k = 0; k < 20; k++) {
        const char *body = "{\"category\":\"200102\",\"lon\":116.405,\"lat\":39.915}";
        struct md_http_res res;
        assert_int_equal(md_http(&post, "POST", "/api/v1/reports", NULL, body, strlen(body), &res),
                         0);
        assert_int_equal(res.status, 201);
        json_t *j = json_loads(res.body, 0, NULL);
        json_t *r = json_object_get(j, "report") ? json_object_get(j, "report") : j;
        long long id = (long long)json_integer_value(json_object_get(r, "id"));
        json_decref(j);
        md_http_res_free(&res);
        char path[64], q[128];
        snprintf(path, sizeof(path), "/api/v1/reports/%lld/transitions", id);
        struct racer a = {&post, path, auth, 0}, b = {&post2, path, auth, 0};
        pthread_t ta, tb;
        assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        assert_true((a.status == 200 && b.status == 409) || (a.status == 409 && b.status == 200));
        snprintf(q, sizeof(q), "SELECT count(*) FROM report_history WHERE report_id = %lld", id);
        assert_int_equal(md_pg_scalar(conn, q), 2);
    }
    PQfinish(conn);
    assert_int_equal(md_harness_stop(&post2), 0);
}

/* A token list line without what the clock and chance decide (hash, created). */
static md_err list_line(const struct md_token_info *t, void *userdata)
{
    char *buf = userdata;
    size_t n = strlen(buf);
    snprintf(buf + n, 4096 - n, "%lld %s %s unit=%s officer=%s scopes=%s quota=%lld used=%lld %s\n",
             (long long)t->id, t->role, t->label, t->unit, t->officer, t->scopes,
             (long long)t->quota_per_day, (long long)t->used_today,
             t->revoked_at ? "revoked" : "live");
    return MD_OK;
}

/* Store level: the same token list from both; each verifies its own
 * tokens alike (role, actor, unit, officer, scopes, quota). */
static void store_tokens(void **state)
{
    (void)state;
    struct md_store *s[2] = {NULL, NULL};
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_store_open(db_file, MD_STORE_READONLY, &s[0], &ctx), MD_OK);
    assert_int_equal(md_store_open(db_uri, MD_STORE_READWRITE, &s[1], &ctx), MD_OK);
    char list[2][4096] = {"", ""};
    for (int b = 0; b < 2; b++)
        assert_int_equal(md_token_list(s[b], list_line, list[b], &ctx), MD_OK);
    assert_string_equal(list[0], list[1]);
    assert_non_null(strstr(list[1], "2 officer  unit=U1 officer=Li"));
    assert_non_null(strstr(list[1], "4 centre gone unit= officer= scopes= quota=0 used=0 revoked"));
    for (int t = 0; t < NTOKENS; t++) {
        struct md_principal p[2];
        md_err rc[2];
        for (int b = 0; b < 2; b++) {
            md_ctx_init(&ctx);
            rc[b] = md_token_verify(s[b], tok[b][t], &p[b], &ctx);
        }
        assert_int_equal(rc[0], rc[1]);
        assert_int_equal(rc[0], t == REVOKED ? MD_EUNAUTH : MD_OK);
        if (rc[0])
            continue;
        assert_int_equal(p[0].role, p[1].role);
        assert_int_equal(p[0].token_id, p[1].token_id);
        assert_string_equal(p[0].actor, p[1].actor);
        assert_int_equal(p[0].officer_id, p[1].officer_id);
        assert_string_equal(p[0].unit, p[1].unit);
        assert_int_equal(p[0].scopes, p[1].scopes);
        assert_int_equal(p[0].quota_per_day, p[1].quota_per_day);
    }
    /* the other backend's token is unknown here */
    struct md_principal p;
    md_ctx_init(&ctx);
    assert_int_equal(md_token_verify(s[1], tok[0][CENTRE], &p, &ctx), MD_EUNAUTH);
    /* a revoke through PostgreSQL shows in its list */
    md_ctx_init(&ctx);
    assert_int_equal(md_token_revoke(s[1], 6, &ctx), MD_OK);
    assert_int_equal(md_token_revoke(s[1], 6, &ctx), MD_ENOTFOUND);
    list[1][0] = '\0';
    md_ctx_init(&ctx);
    assert_int_equal(md_token_list(s[1], list_line, list[1], &ctx), MD_OK);
    assert_string_not_equal(list[0], list[1]);
    md_store_close(s[0]);
    md_store_close(s[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_workflow),
        cmocka_unit_test(store_tokens),
        cmocka_unit_test(concurrent_steps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
