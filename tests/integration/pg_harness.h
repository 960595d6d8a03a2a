/* pg_harness.h - throwaway PostgreSQL clusters for the PostgreSQL tests
 * (scripts/pg_cluster.sh under /tmp, as the postgres user when root) and
 * small libpq helpers that fail the running cmocka test on error. */
#ifndef MD_PG_HARNESS_H
#define MD_PG_HARNESS_H

#include "harness.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

struct md_pg_cluster {
    char dir[64]; /* mkdtemp'd, removed by stop */
    uint16_t port;
    char conninfo[256]; /* libpq connection string */
};

/* A new primary (extra: "-c name=value ..." server options, or ""). Returns 0 or -1. */
int md_pg_cluster_start(struct md_pg_cluster *c, const char *extra);
/* A streaming replica of `primary` (application_name standby_PORT). Returns 0 or -1. */
int md_pg_standby_start(struct md_pg_cluster *c, const struct md_pg_cluster *primary);
/* pg_ctl promote (waits). Returns the script's exit status. */
int md_pg_promote(const struct md_pg_cluster *c);
/* kill -9 of the postmaster and its backends (a crash; the directory stays). */
void md_pg_crash(const struct md_pg_cluster *c);
/* Stop (immediate) and remove. */
void md_pg_cluster_stop(struct md_pg_cluster *c);

PGconn *md_pg_connect(const char *conninfo);
void md_pg_exec_ok(PGconn *c, const char *sql);
long long md_pg_scalar(PGconn *c, const char *sql);

/* The same city served by two servers (SQLite `lite`, PostgreSQL `post`):
 * each server's own base URL in a body becomes "BASE" (links name the
 * server that answered); md_pg_same_get GETs path from both and fails the
 * test unless status, Content-Type and body are the same. Returns the
 * body's length. */
void md_pg_unbase(struct md_http_res *r, const char *base);
size_t md_pg_same_get(const struct md_harness *lite, const struct md_harness *post,
                      const char *path, const char *const *headers);

#endif
