/* pg_changefeed.c - one thread per node following the PostgreSQL change log
 * (pg_changefeed.h).
 *
 * The thread's life:
 *
 *   connect --ok--> LISTEN --> read log after watermark <---------------+
 *      ^  |                             |                               |
 *      |  fail                          v                               |
 *      |  v                        drain NOTIFYs -- some pending -------+
 *   backoff (50 ms                      |  none     (came in during     |
 *   doubling to 2 s)                    v            the read)          |
 *      ^                           wait (socket, stop pipe, poll_ms) ---+
 *      |                                            NOTIFY or timeout
 *      +---- connection error (at any step)
 *
 * Every read starts at watermark + 1 and pages in seq order; the watermark
 * moves only after the callback returned, so a change is delivered once and
 * none is skipped across reconnects. A first row beyond watermark + 1 means
 * the log was pruned past us: the callback is told to drop everything.
 */
#include "pg_changefeed.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { PAGE_ROWS = 1000, BACKOFF_MIN_MS = 50, BACKOFF_MAX_MS = 2000 };

static const char read_sql[] = "SELECT seq, layer, coalesce(feature_id, 0), minx, miny, maxx, maxy"
                               " FROM change_log WHERE seq > $1 ORDER BY seq LIMIT 1000";
static const char newest_sql[] = "SELECT seq FROM change_counter WHERE id = 1";

struct md_pg_changefeed {
    char *conninfo;
    int poll_ms;
    md_pg_change_fn fn;
    void *arg;
    int stop_pipe[2];
    pthread_t thread;
    _Atomic int64_t watermark;
    _Atomic int connected;
    _Atomic uint64_t changes, notifications, polls, reconnects, gaps;
};

/* Wait up to ms for the connection's socket (fd >= 0) or the stop pipe.
 * Returns 1 socket readable, 0 timeout, -1 stop requested. */
static int wait_for(struct md_pg_changefeed *f, int fd, int ms)
{
    struct pollfd p[2] = {{.fd = f->stop_pipe[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (n < 0 && errno == EINTR)
        return 0;
    if (n < 0 || (p[0].revents & POLLIN))
        return -1;
    return n > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

static PGconn *connect_db(const struct md_pg_changefeed *f)
{
    /* Before dbname (the expanded conninfo): defaults the conninfo may override. */
    const char *keys[] = {"connect_timeout", "dbname", "fallback_application_name", NULL};
    const char *vals[] = {"5", f->conninfo, "mapd-changefeed", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    PGresult *r = NULL;
    if (PQstatus(c) != CONNECTION_OK)
        goto fail;
    r = PQexec(c, "LISTEN mapd_changes");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        goto fail;
    PQclear(r);
    r = PQprepare(c, "feed_read", read_sql, 1, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        goto fail;
    PQclear(r);
    return c;
fail:
    PQclear(r);
    PQfinish(c);
    return NULL;
}

static int64_t newest_seq(PGconn *c)
{
    PGresult *r = PQexec(c, newest_sql);
    int64_t v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static void parse_row(const PGresult *r, int i, struct md_pg_change *c)
{
    c->seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    c->layer = (int)strtol(PQgetvalue(r, i, 1), NULL, 10);
    c->feature_id = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    c->minx = strtod(PQgetvalue(r, i, 3), NULL);
    c->miny = strtod(PQgetvalue(r, i, 4), NULL);
    c->maxx = strtod(PQgetvalue(r, i, 5), NULL);
    c->maxy = strtod(PQgetvalue(r, i, 6), NULL);
}

/* Deliver every change after the watermark. Returns 0, or -1 when the
 * connection failed (the caller reconnects). */
static int read_log(struct md_pg_changefeed *f, PGconn *c, struct md_pg_change *buf)
{
    for (;;) {
        char after[32];
        int64_t w = atomic_load(&f->watermark);
        snprintf(after, sizeof(after), "%" PRId64, w);
        const char *params[] = {after};
        PGresult *r = PQexecPrepared(c, "feed_read", 1, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            PQclear(r);
            return -1;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n; i++)
            parse_row(r, i, &buf[i]);
        PQclear(r);
        if (n == 0)
            return 0;
        if (buf[0].seq != w + 1) {
            atomic_fetch_add(&f->gaps, 1);
            f->fn(f->arg, NULL, 0);
        }
        f->fn(f->arg, buf, (size_t)n);
        atomic_fetch_add(&f->changes, (uint64_t)n);
        atomic_store(&f->watermark, buf[n - 1].seq);
        if (n < PAGE_ROWS)
            return 0;
    }
}

/* Read what the socket holds and count the notifications libpq has
 * collected, including those it took in while a query ran (they wait in
 * PQnotifies() and would never make the socket readable again). Returns how
 * many there were, or -1 when the connection failed. */
static int drain_notifies(struct md_pg_changefeed *f, PGconn *c)
{
    if (!PQconsumeInput(c))
        return -1;
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(c)) != NULL) {
        atomic_fetch_add(&f->notifications, 1);
        PQfreemem(note);
        n++;
    }
    return n;
}

/* Follow on one live connection until it fails (returns 0) or stop (-1).
 * After each read of the log the notifications are drained: one that came
 * in during the read may announce a commit the read did not see, so the log
 * is read again at once; only with none pending does the feed wait on the
 * socket, where any later notification wakes it. */
static int follow(struct md_pg_changefeed *f, PGconn *c, struct md_pg_change *buf)
{
    for (;;) {
        if (read_log(f, c, buf) != 0)
            return 0;
        int pending = drain_notifies(f, c);
        if (pending < 0)
            return 0;
        if (pending > 0)
            continue;
        int w = wait_for(f, PQsocket(c), f->poll_ms);
        if (w < 0)
            return -1;
        if (w == 0)
            atomic_fetch_add(&f->polls, 1);
        else if (drain_notifies(f, c) < 0)
            return 0;
    }
}

static void *feed_main(void *p)
{
    struct md_pg_changefeed *f = p;
    struct md_pg_change *buf = malloc(PAGE_ROWS * sizeof(*buf));
    int backoff = BACKOFF_MIN_MS;
    bool first = true;
    while (buf) {
        PGconn *c = connect_db(f);
        if (!c) {
            if (wait_for(f, -1, backoff) < 0)
                break;
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        if (!first)
            atomic_fetch_add(&f->reconnects, 1);
        if (atomic_load(&f->watermark) < 0) /* after the newest change at the first connection */
            atomic_store(&f->watermark, newest_seq(c));
        first = false;
        backoff = BACKOFF_MIN_MS;
        atomic_store(&f->connected, 1);
        int stop = follow(f, c, buf);
        atomic_store(&f->connected, 0);
        PQfinish(c);
        if (stop < 0)
            break;
    }
    free(buf);
    return NULL;
}

md_err md_pg_changefeed_start(const char *conninfo, int64_t after_seq, int poll_ms,
                              md_pg_change_fn fn, void *arg, struct md_pg_changefeed **out,
                              struct md_ctx *ctx)
{
    *out = NULL;
    if (poll_ms < 10)
        return md_fail(ctx, MD_EINVAL, "change feed poll interval %d ms is under 10 ms", poll_ms);
    struct md_pg_changefeed *f = calloc(1, sizeof(*f));
    if (!f)
        return md_fail(ctx, MD_ENOMEM, "change feed");
    f->stop_pipe[0] = f->stop_pipe[1] = -1;
    f->conninfo = strdup(conninfo);
    f->poll_ms = poll_ms;
    f->fn = fn;
    f->arg = arg;
    atomic_init(&f->watermark, after_seq < 0 ? -1 : after_seq);
    md_err rc = MD_OK;
    if (!f->conninfo) {
        rc = md_fail(ctx, MD_ENOMEM, "change feed");
        goto out;
    }
    if (pipe(f->stop_pipe) != 0) {
        rc = md_fail(ctx, MD_EIO, "change feed pipe: %s", strerror(errno));
        goto out;
    }
    if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
        rc = md_fail(ctx, MD_EINTERNAL, "change feed thread");
        goto out;
    }
    *out = f;
    return MD_OK;
out:
    if (f->stop_pipe[0] >= 0) {
        close(f->stop_pipe[0]);
        close(f->stop_pipe[1]);
    }
    free(f->conninfo);
    free(f);
    return rc;
}

int64_t md_pg_changefeed_watermark(struct md_pg_changefeed *f)
{
    return atomic_load(&f->watermark);
}

int md_pg_changefeed_connected(struct md_pg_changefeed *f)
{
    return atomic_load(&f->connected);
}

void md_pg_changefeed_stats(struct md_pg_changefeed *f, struct md_pg_changefeed_stats *out)
{
    *out = (struct md_pg_changefeed_stats){
        .changes = atomic_load(&f->changes),
        .notifications = atomic_load(&f->notifications),
        .polls = atomic_load(&f->polls),
        .reconnects = atomic_load(&f->reconnects),
        .gaps = atomic_load(&f->gaps),
    };
}

void md_pg_changefeed_stop(struct md_pg_changefeed *f)
{
    if (!f)
        return;
    ssize_t w = write(f->stop_pipe[1], "x", 1);
    (void)w;
    pthread_join(f->thread, NULL);
    close(f->stop_pipe[0]);
    close(f->stop_pipe[1]);
    free(f->conninfo);
    free(f);
}
