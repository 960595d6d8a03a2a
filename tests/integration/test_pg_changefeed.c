/* The change feed (store/pg/pg_changefeed.h) on real clusters:
 *   - notify_wakes_in_order: with a poll interval of a minute, only NOTIFY
 *     can wake the feed; 30 changes in 6 transactions arrive, in order, once;
 *   - killed_listen_connection_resyncs: the feed's backend is terminated and
 *     changes are committed while it is gone (their notifications are lost):
 *     it reconnects and reads them from the log, none twice, none skipped;
 *   - follows_failover: a synchronous standby; the primary is killed -9 and
 *     the standby promoted; the feed (multi-host conninfo,
 *     target_session_attrs=read-write) finds the new primary by itself, every
 *     change acknowledged before the crash is there, and it goes on following.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pg_changefeed.h"
#include "pg_changelog_sql.h"
#include "pg_harness.h"

static struct md_pg_cluster primary, standby;

struct sink {
    pthread_mutex_t mu;
    int64_t last; /* seq of the last change received, -1 before any */
    int received;
    int out_of_order;
    int gaps;
};

/* The running test's feed and what it received: static, so that a feed left
 * running by a failed assertion never writes into a dead stack frame, and
 * stop_feed (each test's teardown) stops it whatever path the test took. */
static struct md_pg_changefeed *feed;
static struct sink sink;

static void on_changes(void *arg, const struct md_pg_change *c, size_t n)
{
    struct sink *s = arg;
    pthread_mutex_lock(&s->mu);
    if (!c)
        s->gaps++;
    for (size_t i = 0; i < n; i++) {
        if (s->last >= 0 && c[i].seq != s->last + 1)
            s->out_of_order++;
        if (c[i].layer != 1)
            s->out_of_order++;
        s->last = c[i].seq;
        s->received++;
    }
    pthread_mutex_unlock(&s->mu);
}

static int received(struct sink *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->received;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Wait (up to 30 s: the machine may be loaded) for `want` changes. */
static void wait_received(struct sink *s, int want)
{
    for (int i = 0; i < 3000 && received(s) < want; i++)
        usleep(10000);
    assert_int_equal(received(s), want);
}

static void wait_connected(struct md_pg_changefeed *f)
{
    for (int i = 0; i < 3000 && !md_pg_changefeed_connected(f); i++)
        usleep(10000);
    assert_true(md_pg_changefeed_connected(f));
}

static void insert_points(const char *conninfo, int txns, int per_txn)
{
    PGconn *c = md_pg_connect(conninfo);
    for (int t = 0; t < txns; t++) {
        md_pg_exec_ok(c, "BEGIN");
        for (int i = 0; i < per_txn; i++)
            md_pg_exec_ok(c, "INSERT INTO points(lon, lat) VALUES (116.4, 39.9)");
        md_pg_exec_ok(c, "COMMIT");
    }
    PQfinish(c);
}

static struct md_pg_changefeed *start_feed(const char *conninfo, int poll_ms, struct sink *s)
{
    *s = (struct sink){.last = -1};
    pthread_mutex_init(&s->mu, NULL);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_null(feed);
    assert_int_equal(md_pg_changefeed_start(conninfo, -1, poll_ms, on_changes, s, &feed, &ctx),
                     MD_OK);
    wait_connected(feed);
    return feed;
}

/* Each test's teardown, also after a failed assertion. */
static int stop_feed(void **state)
{
    (void)state;
    md_pg_changefeed_stop(feed);
    feed = NULL;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    if (md_pg_cluster_start(&primary, "") != 0) {
        md_pg_cluster_stop(&primary);
        return -1;
    }
    PGconn *c = PQconnectdb(primary.conninfo);
    PGresult *r = PQexec(c, pg_changelog_sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    r = PQexec(c, "CREATE TABLE points (id bigserial PRIMARY KEY, lon float8 NOT NULL,"
                  " lat float8 NOT NULL);"
                  "CREATE TRIGGER points_track AFTER INSERT OR UPDATE OR DELETE ON points"
                  " FOR EACH ROW EXECUTE FUNCTION md_track_point(1)");
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "schema: %s\n", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    if (!ok) /* the group's teardown does not run after a failed setup */
        md_pg_cluster_stop(&primary);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    stop_feed(state);
    md_pg_cluster_stop(&standby);
    md_pg_cluster_stop(&primary);
    return 0;
}

static void bad_poll_interval_refused(void **state)
{
    (void)state;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_pg_changefeed *f = NULL;
    assert_int_equal(md_pg_changefeed_start(primary.conninfo, 0, 5, on_changes, NULL, &f, &ctx),
                     MD_EINVAL);
    assert_null(f);
    assert_non_null(strstr(md_ctx_message(&ctx), "under 10 ms"));
}

static void notify_wakes_in_order(void **state)
{
    (void)state;
    struct sink *s = &sink;
    struct md_pg_changefeed *f = start_feed(primary.conninfo, 60000, s);
    insert_points(primary.conninfo, 6, 5);
    wait_received(s, 30);
    struct md_pg_changefeed_stats st;
    md_pg_changefeed_stats(f, &st);
    assert_true(st.notifications >= 1);
    assert_int_equal(st.polls, 0); /* woken by NOTIFY alone */
    assert_int_equal(s->out_of_order, 0);
    assert_int_equal(s->gaps, 0);
    PGconn *c = md_pg_connect(primary.conninfo);
    assert_int_equal(md_pg_changefeed_watermark(f),
                     md_pg_scalar(c, "SELECT seq FROM change_counter"));
    PQfinish(c);
}

static void killed_listen_connection_resyncs(void **state)
{
    (void)state;
    struct sink *s = &sink;
    struct md_pg_changefeed *f = start_feed(primary.conninfo, 60000, s);
    PGconn *c = md_pg_connect(primary.conninfo);
    assert_int_equal(md_pg_scalar(c, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                     " WHERE application_name = 'mapd-changefeed'"),
                     1);
    PQfinish(c);
    insert_points(primary.conninfo, 4, 5); /* while the feed is gone or coming back */
    wait_received(s, 20);
    struct md_pg_changefeed_stats st;
    md_pg_changefeed_stats(f, &st);
    assert_true(st.reconnects >= 1);
    assert_int_equal(s->out_of_order, 0);
    assert_int_equal(s->gaps, 0);
}

static void follows_failover(void **state)
{
    (void)state;
    assert_int_equal(md_pg_standby_start(&standby, &primary), 0);
    char sql[160], both[512];
    snprintf(sql, sizeof(sql), "ALTER SYSTEM SET synchronous_standby_names = 'standby_%u'",
             standby.port);
    PGconn *c = md_pg_connect(primary.conninfo);
    md_pg_exec_ok(c, sql);
    md_pg_exec_ok(c, "SELECT pg_reload_conf()");
    /* Synchronous from here: wait until the primary says so. */
    for (int i = 0; i < 3000 && md_pg_scalar(c, "SELECT count(*) FROM pg_stat_replication"
                                                " WHERE sync_state = 'sync'") != 1;
         i++)
        usleep(10000);
    assert_int_equal(md_pg_scalar(c, "SELECT count(*) FROM pg_stat_replication"
                                     " WHERE sync_state = 'sync'"),
                     1);
    long long before = md_pg_scalar(c, "SELECT count(*) FROM points");
    PQfinish(c);
    snprintf(both, sizeof(both),
             "host=127.0.0.1,127.0.0.1 port=%u,%u user=postgres dbname=postgres"
             " target_session_attrs=read-write",
             primary.port, standby.port);
    struct sink *s = &sink;
    struct md_pg_changefeed *f = start_feed(both, 200, s);
    insert_points(both, 5, 2);
    wait_received(s, 10);

    md_pg_crash(&primary);
    assert_int_equal(md_pg_promote(&standby), 0);
    c = md_pg_connect(standby.conninfo);
    /* Every change acknowledged by the old primary is on the new one. */
    assert_int_equal(md_pg_scalar(c, "SELECT count(*) FROM points"), before + 10);
    PQfinish(c);
    insert_points(both, 5, 2); /* a writer finds the new primary the same way */
    wait_received(s, 20);
    struct md_pg_changefeed_stats st;
    md_pg_changefeed_stats(f, &st);
    assert_true(st.reconnects >= 1);
    assert_int_equal(s->out_of_order, 0);
    assert_int_equal(s->gaps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_poll_interval_refused),
        cmocka_unit_test_teardown(notify_wakes_in_order, stop_feed),
        cmocka_unit_test_teardown(killed_listen_connection_resyncs, stop_feed),
        cmocka_unit_test_teardown(follows_failover, stop_feed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
