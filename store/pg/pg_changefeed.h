/* pg_changefeed.h - a node following the PostgreSQL change log (issue 13).
 *
 * Each mapd node over one PostgreSQL database keeps its tile and feature
 * caches exact by applying every change of `change_log` in order (see
 * pg_changelog_sql.h: numbers are gapless in commit order). A change feed
 * is one thread with its own connection that
 *   - LISTENs on mapd_changes, so a commit on any node wakes it at once;
 *   - reads the log after its watermark on every wake-up and on a poll
 *     interval (the log is the source of truth: a notification lost while
 *     disconnected only delays it until the next read);
 *   - reconnects by itself with backoff when the connection dies (a killed
 *     backend, a restarted server, a failover: give a multi-host conninfo
 *     with target_session_attrs=read-write and it finds the new primary),
 *     then resyncs from the log;
 *   - hands the changes, in order and each exactly once, to a callback.
 */
#ifndef MD_PG_CHANGEFEED_H
#define MD_PG_CHANGEFEED_H

#include <stddef.h>
#include <stdint.h>

#include "md_err.h"

struct md_pg_change {
    int64_t seq;
    int layer;
    int64_t feature_id; /* 0 when the change has none (a bulk load) */
    double minx, miny, maxx, maxy;
};

/* Called on the feed's thread with the next changes in seq order (n >= 1),
 * each exactly once; or with (NULL, 0) when the log no longer holds the
 * change after the watermark (pruned): the caller must drop everything it
 * caches. `changes` is borrowed for the call. */
typedef void (*md_pg_change_fn)(void *arg, const struct md_pg_change *changes, size_t n);

struct md_pg_changefeed_stats {
    uint64_t changes;       /* delivered */
    uint64_t notifications; /* NOTIFYs received */
    uint64_t polls;         /* reads on the poll interval */
    uint64_t reconnects;    /* connections made after the first */
    uint64_t gaps;          /* (NULL, 0) deliveries */
};

struct md_pg_changefeed;

/* Start following the log of the database at `conninfo` (a libpq connection
 * string, copied) after change `after_seq` (< 0: after the newest change at
 * the first connection). `poll_ms` (>= 10) bounds how long a lost
 * notification can delay a change. Returns once the thread runs; the first
 * connection is made on it (errors there are retried, not returned).
 * *out: caller stops it with md_pg_changefeed_stop. */
md_err md_pg_changefeed_start(const char *conninfo, int64_t after_seq, int poll_ms,
                              md_pg_change_fn fn, void *arg, struct md_pg_changefeed **out,
                              struct md_ctx *ctx) MD_WUR;
/* The seq of the last change delivered (-1 before the first connection). */
int64_t md_pg_changefeed_watermark(struct md_pg_changefeed *f);
/* Whether the feed has a working connection now. */
int md_pg_changefeed_connected(struct md_pg_changefeed *f);
void md_pg_changefeed_stats(struct md_pg_changefeed *f, struct md_pg_changefeed_stats *out);
/* Stop the thread, close the connection, free. NULL is fine. */
void md_pg_changefeed_stop(struct md_pg_changefeed *f);

#endif
