/* test_pg_failover.c - kill -9 the primary under write load, promote the
 * synchronous standby: the node serves again by itself and no
 * acknowledged report is lost (issue 13).
 *
 * A throwaway primary with a small sample city, a streaming standby that
 * the primary names in synchronous_standby_names, and one `mapd serve`
 * over the multi-host URI host1,host2 with target_session_attrs=read-write
 * and --durability replicated (a 201 only once the standby has the report
 * on disk). A client files reports one after another, each under an
 * Idempotency-Key, retrying a failed or refused POST under the same key
 * (as a phone would after a timeout). After 200 acknowledgements the
 * primary's postmaster and backends are killed (SIGKILL) and the standby
 * promoted; the client keeps going until 100 more are acknowledged.
 * Checked on the promoted server: every acknowledged report is there, no
 * key filed two reports; the node answered 201 again within the bound,
 * serves tiles, and says how long it took.
 */
#include "harness.h"
#include "pg_harness.h"

#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define MAX_ACKS 4096

static struct md_pg_cluster primary, standby;
static struct md_harness node;

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int setup(void **state)
{
    (void)state;
    const char *bin = getenv("MAPD_BIN");
    char p[128], uri[512];
    if (!bin || md_pg_cluster_start(&primary, "") != 0)
        return -1;
    snprintf(p, sizeof(p), "postgresql://postgres@127.0.0.1:%u/postgres", primary.port);
    if (md_sh("'%s' sample --db '%s' --facilities 500 --reports 1000 --seed 4 --quiet", bin, p))
        return -1;
    if (md_pg_standby_start(&standby, &primary) != 0)
        return -1;
    PGconn *c = md_pg_connect(primary.conninfo);
    char sql[160];
    snprintf(sql, sizeof(sql), "ALTER SYSTEM SET synchronous_standby_names = 'standby_%u'",
             standby.port);
    md_pg_exec_ok(c, sql);
    md_pg_exec_ok(c, "SELECT pg_reload_conf()");
    int sync = 0;
    for (int i = 0; i < 500 && !sync; i++) {
        sync = (int)md_pg_scalar(c, "SELECT count(*) FROM pg_stat_replication"
                                    " WHERE sync_state = 'sync'");
        if (!sync)
            usleep(20000);
    }
    PQfinish(c);
    if (!sync)
        return -1;
    snprintf(uri, sizeof(uri),
             "postgresql://postgres@127.0.0.1:%u,127.0.0.1:%u/postgres"
             "?target_session_attrs=read-write&connect_timeout=2",
             primary.port, standby.port);
    const char *args[] = {"--durability", "replicated", "--rate-limit", "0", "--quiet", NULL};
    md_harness_start_on(&node, uri, args);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = md_harness_stop(&node);
    md_pg_cluster_stop(&standby);
    md_pg_cluster_stop(&primary);
    return rc;
}

struct load {
    atomic_bool stop;
    atomic_int acked;
    int64_t ids[MAX_ACKS];
    int64_t at_ms[MAX_ACKS];   /* when each 201 came */
    int64_t sent_ms[MAX_ACKS]; /* when the POST it answered was sent */
    int refused;             /* POSTs answered otherwise (retried) */
};

static void *writer(void *arg)
{
    struct load *L = arg;
    for (int i = 0; i < MAX_ACKS && !atomic_load(&L->stop); i++) {
        char key[64], body[192];
        snprintf(key, sizeof(key), "Idempotency-Key: failover-%d", i);
        snprintf(body, sizeof(body),
                 "{\"category\":\"200102\",\"lon\":%.7f,\"lat\":%.7f,"
                 "\"description\":\"failover-%d\"}",
                 116.38 + (double)(i % 50) * 0.001, 39.90 + (double)(i / 50) * 0.001, i);
        const char *headers[] = {key, NULL};
        for (;;) { /* until this key is acknowledged */
            struct md_http_res r = {0};
            int64_t sent = mono_ms();
            int t = md_http(&node, "POST", "/api/v1/reports", headers, body, strlen(body), &r);
            if (t == 0 && r.status == 201) {
                json_t *j = json_loads(r.body, 0, NULL);
                int n = atomic_load(&L->acked);
                L->ids[n] = (int64_t)json_integer_value(json_object_get(j, "id"));
                L->at_ms[n] = mono_ms();
                L->sent_ms[n] = sent;
                json_decref(j);
                md_http_res_free(&r);
                atomic_store(&L->acked, n + 1);
                break;
            }
            L->refused++;
            if (t == 0)
                md_http_res_free(&r);
            usleep(50000);
        }
    }
    return NULL;
}

static void wait_acks(struct load *L, int n, int seconds)
{
    for (int i = 0; i < seconds * 100 && atomic_load(&L->acked) < n; i++)
        usleep(10000);
}

static void failover_under_write_load(void **state)
{
    (void)state;
    static struct load L;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer, &L), 0);
    wait_acks(&L, 200, 60);
    assert_true(atomic_load(&L.acked) >= 200);

    int64_t crash_ms = mono_ms();
    int before = atomic_load(&L.acked);
    md_pg_crash(&primary);
    assert_int_equal(md_pg_promote(&standby), 0);
    int64_t promoted_ms = mono_ms();
    wait_acks(&L, before + 100, 90);
    atomic_store(&L.stop, true);
    pthread_join(th, NULL);
    int acked = atomic_load(&L.acked);
    assert_true(acked >= before + 100);
    /* Serving again: the first 201 to a POST sent after the kill. */
    int64_t first_after = 0;
    for (int i = 0; i < acked && !first_after; i++)
        if (L.sent_ms[i] > crash_ms)
            first_after = L.at_ms[i];

    /* Every 201 is on the promoted server; no key filed twice. */
    PGconn *c = md_pg_connect(standby.conninfo);
    int present = 0;
    for (int i = 0; i < acked; i++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE id = %lld",
                 (long long)L.ids[i]);
        present += (int)md_pg_scalar(c, sql);
    }
    long long dupes = md_pg_scalar(c, "SELECT count(*) - count(DISTINCT description) FROM reports"
                                      " WHERE description LIKE 'failover-%'");
    PQfinish(c);
    fprintf(stderr,
            "pg_failover: %d reports acknowledged (%d before the kill), %d present after"
            " promotion, %lld filed twice; %d POSTs refused and retried; promotion took %lld ms;"
            " the first 201 to a POST sent after the kill came %lld ms after it\n",
            acked, before, present, dupes, L.refused, (long long)(promoted_ms - crash_ms),
            (long long)(first_after - crash_ms));
    assert_int_equal(present, acked);
    assert_int_equal(dupes, 0);
    assert_true(first_after - crash_ms < 30000);

    /* And it serves tiles again. */
    struct md_http_res r;
    assert_int_equal(md_http(&node, "GET", "/tiles/reports/16/53961/24817.mvt", NULL, NULL, 0, &r),
                     0);
    assert_true(r.status == 200 || r.status == 204);
    md_http_res_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failover_under_write_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
