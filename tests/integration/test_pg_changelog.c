/* The PostgreSQL change log cannot skip (store/pg/pg_changelog_sql.h), on a
 * real throwaway cluster (scripts/pg_cluster.sh, as the postgres user).
 *
 * A cache follows the log by a watermark: "every change up to N is applied;
 * give me seq > N". The tests:
 *   - naive_sequence_skips: the hazard itself, with a plain bigserial: a
 *     transaction holding seq 1 commits after seq 2 was read, and a follower
 *     at watermark 2 never sees change 1 (this is why the counter row exists;
 *     the check shows the follower below would catch it);
 *   - counter_orders_commits: the same schedule on the real log: the second
 *     writer waits for the first to commit, the follower sees 1 then 2;
 *   - sleepy_writers_never_skip: 8 writers, each transaction sleeping before
 *     and after its change, some rolling back, while a follower polls the
 *     log and a listener collects NOTIFYs: every poll continues the
 *     watermark by exactly +1 per row, every committed change is seen once,
 *     notifications arrive in seq order without holes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pg_harness.h"
#include "pg_changelog_sql.h"

static struct md_pg_cluster pg;

/* The seqs after `after` in the log table, in order; returns how many. */
static int read_after(PGconn *c, const char *table, long long after, long long *out, int cap)
{
    char sql[128], arg[32];
    snprintf(sql, sizeof(sql), "SELECT seq FROM %s WHERE seq > $1 ORDER BY seq", table);
    snprintf(arg, sizeof(arg), "%lld", after);
    const char *params[] = {arg};
    PGresult *r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    int n = PQntuples(r);
    if (n > cap)
        fail_msg("%d rows after %lld, more than %d", n, after, cap);
    for (int i = 0; i < n; i++)
        out[i] = atoll(PQgetvalue(r, i, 0));
    PQclear(r);
    return n;
}

static int setup(void **state)
{
    (void)state;
    if (md_pg_cluster_start(&pg, "") != 0)
        return -1;
    PGconn *c = md_pg_connect(pg.conninfo);
    md_pg_exec_ok(c, pg_changelog_sql);
    md_pg_exec_ok(c, "CREATE TABLE points (id bigserial PRIMARY KEY, lon float8 NOT NULL,"
                     " lat float8 NOT NULL);"
                     "CREATE TRIGGER points_track AFTER INSERT OR UPDATE OR DELETE ON points"
                     " FOR EACH ROW EXECUTE FUNCTION md_track_point(1);"
                     "CREATE TABLE naive_log (seq bigserial PRIMARY KEY, note text)");
    PQfinish(c);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    md_pg_cluster_stop(&pg);
    return 0;
}

static void naive_sequence_skips(void **state)
{
    (void)state;
    PGconn *a = md_pg_connect(pg.conninfo), *b = md_pg_connect(pg.conninfo),
           *f = md_pg_connect(pg.conninfo);
    long long seen[8];
    md_pg_exec_ok(a, "BEGIN");
    md_pg_exec_ok(a, "INSERT INTO naive_log(note) VALUES ('a')"); /* holds seq 1 */
    md_pg_exec_ok(b, "INSERT INTO naive_log(note) VALUES ('b')"); /* seq 2, committed */
    assert_int_equal(read_after(f, "naive_log", 0, seen, 8), 1);
    assert_int_equal(seen[0], 2);
    long long watermark = seen[0];
    md_pg_exec_ok(a, "COMMIT");
    /* Change 1 is committed now, below the watermark: the follower never sees it. */
    assert_int_equal(read_after(f, "naive_log", watermark, seen, 8), 0);
    assert_int_equal(md_pg_scalar(f, "SELECT count(*) FROM naive_log"), 2);
    PQfinish(a);
    PQfinish(b);
    PQfinish(f);
}

static bool busy_after(PGconn *c, int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
    if (!PQconsumeInput(c))
        fail_msg("%s", PQerrorMessage(c));
    return PQisBusy(c);
}

static void counter_orders_commits(void **state)
{
    (void)state;
    PGconn *a = md_pg_connect(pg.conninfo), *b = md_pg_connect(pg.conninfo),
           *f = md_pg_connect(pg.conninfo);
    long long base = md_pg_scalar(f, "SELECT seq FROM change_counter"), seen[8];
    md_pg_exec_ok(a, "BEGIN");
    md_pg_exec_ok(a, "INSERT INTO points(lon, lat) VALUES (116.1, 39.1)");
    assert_int_equal(PQsendQuery(b, "INSERT INTO points(lon, lat) VALUES (116.2, 39.2)"), 1);
    /* b waits on a's counter row lock; nothing is visible yet. */
    assert_true(busy_after(b, 300));
    assert_int_equal(read_after(f, "change_log", base, seen, 8), 0);
    md_pg_exec_ok(a, "COMMIT");
    PGresult *r;
    while ((r = PQgetResult(b)) != NULL) {
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    assert_int_equal(read_after(f, "change_log", base, seen, 8), 2);
    assert_int_equal(seen[0], base + 1);
    assert_int_equal(seen[1], base + 2);
    /* The first committer has the first number. */
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT round(minx * 10) FROM change_log WHERE seq = %lld",
             base + 1);
    assert_int_equal(md_pg_scalar(f, sql), 1161);
    PQfinish(a);
    PQfinish(b);
    PQfinish(f);
}

enum { WRITERS = 8, TXNS_PER_WRITER = 20, MAX_CHANGES = WRITERS * TXNS_PER_WRITER };

struct writer {
    PGconn *conn;
    int sent, done;
    unsigned seed;
    bool rollback; /* the transaction in flight ends with ROLLBACK */
    int committed; /* changes committed by this writer */
};

static void send_txn(struct writer *w)
{
    char sql[256];
    double before = (rand_r(&w->seed) % 20) / 1000.0, after = (rand_r(&w->seed) % 20) / 1000.0;
    w->rollback = rand_r(&w->seed) % 7 == 0;
    snprintf(sql, sizeof(sql),
             "BEGIN; SELECT pg_sleep(%.3f); INSERT INTO points(lon, lat) VALUES (%.4f, %.4f);"
             " SELECT pg_sleep(%.3f); %s",
             before, 116.0 + (rand_r(&w->seed) % 1000) / 1000.0,
             39.5 + (rand_r(&w->seed) % 1000) / 1000.0, after, w->rollback ? "ROLLBACK" : "COMMIT");
    if (!PQsendQuery(w->conn, sql))
        fail_msg("send: %s", PQerrorMessage(w->conn));
    w->sent++;
}

/* Drain what the writer's connection has; start its next transaction when
 * the last one finished. Returns true while the writer has work left. */
static bool pump(struct writer *w)
{
    if (!PQconsumeInput(w->conn))
        fail_msg("%s", PQerrorMessage(w->conn));
    while (!PQisBusy(w->conn)) {
        PGresult *r = PQgetResult(w->conn);
        if (!r) {
            w->done++;
            if (!w->rollback)
                w->committed++;
            if (w->sent == TXNS_PER_WRITER)
                return false;
            send_txn(w);
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            fail_msg("writer: %s", PQresultErrorMessage(r));
        PQclear(r);
    }
    return true;
}

/* Notifications so far must continue `last` by +1 each. */
static void drain_notifies(PGconn *l, long long *last, int *count)
{
    if (!PQconsumeInput(l))
        fail_msg("%s", PQerrorMessage(l));
    PGnotify *n;
    while ((n = PQnotifies(l)) != NULL) {
        long long seq = atoll(n->extra);
        if (seq != *last + 1)
            fail_msg("notification %lld after %lld", seq, *last);
        *last = seq;
        (*count)++;
        PQfreemem(n);
    }
}

static void sleepy_writers_never_skip(void **state)
{
    (void)state;
    PGconn *f = md_pg_connect(pg.conninfo), *l = md_pg_connect(pg.conninfo);
    md_pg_exec_ok(l, "LISTEN mapd_changes");
    long long watermark = md_pg_scalar(f, "SELECT seq FROM change_counter");
    long long points_before = md_pg_scalar(f, "SELECT count(*) FROM points");
    long long last_notified = watermark, *seen = calloc(MAX_CHANGES + 1, sizeof(*seen));
    int notified = 0, polls = 0, seen_total = 0;
    struct writer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){.conn = md_pg_connect(pg.conninfo), .seed = 1234u + (unsigned)i};
        send_txn(&w[i]);
    }
    for (int active = WRITERS; active > 0;) {
        struct pollfd pfd[WRITERS];
        for (int i = 0; i < WRITERS; i++)
            pfd[i] = (struct pollfd){.fd = PQsocket(w[i].conn), .events = POLLIN};
        poll(pfd, WRITERS, 2);
        active = 0;
        for (int i = 0; i < WRITERS; i++)
            if (w[i].done < TXNS_PER_WRITER && pump(&w[i]))
                active++;
        /* The follower, as a cache does it. */
        int n = read_after(f, "change_log", watermark, seen, MAX_CHANGES + 1);
        for (int k = 0; k < n; k++) {
            if (seen[k] != watermark + 1)
                fail_msg("poll %d: change %lld after watermark %lld", polls, seen[k], watermark);
            watermark = seen[k];
        }
        seen_total += n;
        polls++;
        drain_notifies(l, &last_notified, &notified);
    }
    int committed = 0;
    for (int i = 0; i < WRITERS; i++) {
        committed += w[i].committed;
        PQfinish(w[i].conn);
    }
    int n = read_after(f, "change_log", watermark, seen, MAX_CHANGES + 1);
    for (int k = 0; k < n; k++, watermark++)
        assert_int_equal(seen[k], watermark + 1);
    seen_total += n;
    /* Every committed change seen exactly once, nothing else. */
    assert_true(committed > MAX_CHANGES / 2 && committed < MAX_CHANGES);
    assert_int_equal(seen_total, committed);
    assert_int_equal(watermark, md_pg_scalar(f, "SELECT seq FROM change_counter"));
    assert_int_equal(md_pg_scalar(f, "SELECT count(*) FROM points"), points_before + committed);
    assert_int_equal(md_pg_scalar(f, "SELECT row_count FROM layers WHERE id = 1"),
                     points_before + committed);
    for (int tries = 0; notified < committed && tries < 200; tries++) {
        struct pollfd p = {.fd = PQsocket(l), .events = POLLIN};
        poll(&p, 1, 10);
        drain_notifies(l, &last_notified, &notified);
    }
    assert_int_equal(notified, committed);
    assert_int_equal(last_notified, watermark);
    free(seen);
    PQfinish(f);
    PQfinish(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(naive_sequence_skips),
        cmocka_unit_test(counter_orders_commits),
        cmocka_unit_test(sleepy_writers_never_skip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
