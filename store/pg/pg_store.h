/* pg_store.h - a store on PostgreSQL/PostGIS (issue 13): the connection
 * behind a struct md_store whose backend tag is MD_BACKEND_PG (private to
 * store/: db/store.c opens and dispatches to it, read/tile_read.c and the
 * pg/ modules run their statements through it).
 *
 * One libpq connection; statements are prepared once per connection under
 * a name and kept by that name; results come back in binary form (int2/4/8
 * and float8 exact, bytea without unescaping), read with md__pg_int,
 * md__pg_double and md__pg_text. Errors keep the server's message in ctx
 * and map its SQLSTATE: 53100 disk full -> MD_ENOSPACE, 53200 out of memory
 * -> MD_ENOMEM, serialization failure / deadlock / lock not available ->
 * MD_EBUSY, class 08 (connection) -> MD_EIO, anything else MD_EDB; a
 * connection that is gone -> MD_EBUSY (503: retry; a failover is under way).
 *
 * Reconnection: a BEGIN, or a statement outside a transaction, that finds
 * the connection gone resets it (PQreset, same conninfo: libpq's
 * multi-host URIs with target_session_attrs=read-write follow a promoted
 * standby). The statement that met the loss is not run again (it may have
 * run): its caller hears MD_EBUSY, and so does one inside a transaction.
 *
 * Implemented so far: open (the schema version is checked), close, read
 * snapshots (REPEATABLE READ READ ONLY), write transactions (READ
 * COMMITTED) with their savepoints, transaction state, layer info, the
 * newest change number, the tile reads (pg_tile_read.c) and report
 * creation with what it reads (pg_reports.c, pg_locate.c, pg_idem.c).
 */
#ifndef MD_PG_STORE_H
#define MD_PG_STORE_H

#include "md_err.h"
#include "store.h"
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct md_pg;

/* Does `path` name a PostgreSQL database (a libpq URI: postgresql:// or
 * postgres://)? */
bool md_pg_is_uri(const char *path);

/* Connect to `conninfo` and check that it holds mapd's schema version
 * MD_SCHEMA_VERSION. Errors: MD_EIO (no mapd schema), MD_EDB (cannot
 * connect, another schema version: the reason in ctx). */
md_err md__pg_open(const char *conninfo, struct md_pg **out, struct md_ctx *ctx) MD_WUR;
/* Close (NULL is fine); an open transaction is rolled back. */
void md__pg_close(struct md_pg *pg);

/* BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY / COMMIT (read_end never
 * fails: a failed COMMIT is followed by ROLLBACK). */
md_err md__pg_read_begin(struct md_pg *pg, struct md_ctx *ctx) MD_WUR;
void md__pg_read_end(struct md_pg *pg);
/* BEGIN a write transaction (READ COMMITTED READ WRITE); COMMIT it -
 * MD_OK only when the server answered COMMIT (synchronous_commit: the
 * changes are durable), else the reason in ctx and the transaction rolled
 * back; ROLLBACK (never fails; nothing open is fine). */
md_err md__pg_write_begin(struct md_pg *pg, struct md_ctx *ctx) MD_WUR;
md_err md__pg_commit(struct md_pg *pg, struct md_ctx *ctx) MD_WUR;
void md__pg_rollback(struct md_pg *pg);
/* md__store_exec on PostgreSQL: only "SAVEPOINT x", "ROLLBACK TO x" and
 * "RELEASE x" (lower-case names), alone or joined by "; "; anything else
 * is refused with MD_EINVAL "... not yet on PostgreSQL". */
md_err md__pg_savepoint_exec(struct md_pg *pg, const char *sql, struct md_ctx *ctx) MD_WUR;
/* MD_TXN_WRITE inside md__pg_write_begin's transaction, MD_TXN_READ inside
 * another, else MD_TXN_NONE. */
enum md_txn_state md__pg_txn_state(struct md_pg *pg);

md_err md__pg_layer_info(struct md_pg *pg, enum md_layer layer, struct md_layer_info *out,
                         struct md_ctx *ctx) MD_WUR;
md_err md__pg_change_seq(struct md_pg *pg, int64_t *out, struct md_ctx *ctx) MD_WUR;

/* Run statement `name` (prepared from `sql` with n text parameters on first
 * use on this connection) with `values` (NULL entries are SQL NULL); the
 * rows, in binary form, into *out (caller PQclears). */
md_err md__pg_query(struct md_pg *pg, const char *name, const char *sql, int n,
                    const char *const *values, PGresult **out, struct md_ctx *ctx) MD_WUR;
/* The same with per-parameter lengths and formats (1 = binary, e.g. a
 * bytea; NULL arrays: all text), as PQexecPrepared takes them. */
md_err md__pg_query_bin(struct md_pg *pg, const char *name, const char *sql, int n,
                        const char *const *values, const int *lengths, const int *formats,
                        PGresult **out, struct md_ctx *ctx) MD_WUR;
/* Column readers of a binary result: int2/int4/int8 (NULL reads 0),
 * float4/float8 (NULL reads 0), text ("" for NULL: never NULL). */
int64_t md__pg_int(const PGresult *r, int row, int col);
double md__pg_double(const PGresult *r, int row, int col);
const char *md__pg_text(const PGresult *r, int row, int col);
/* A double as a text parameter that reads back as the same double. */
#define MD_PG_DOUBLE_CHARS 32
void md__pg_double_param(double v, char out[MD_PG_DOUBLE_CHARS]);

/* current_setting(name) into out (at most n - 1 bytes). */
md_err md__pg_setting(struct md_pg *pg, const char *name, char *out, size_t n,
                      struct md_ctx *ctx) MD_WUR;
/* How many times the connection was made again (see above). */
int64_t md__pg_reconnects(const struct md_pg *pg);
/* The connection, borrowed (for modules that run a query in single-row mode). */
PGconn *md__pg_conn(struct md_pg *pg);

/* Record the failure of `what` (r's error, else the connection's) in ctx
 * with the SQLSTATE mapping above; r may be NULL. */
md_err md__pg_fail(PGconn *c, const PGresult *r, const char *what, struct md_ctx *ctx);

#endif
