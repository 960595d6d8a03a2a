/* store_int.h - private to store/ (and white-box tests): the SQLite
 * connection struct, the statement cache and internal helpers. */
#ifndef MD_STORE_INT_H
#define MD_STORE_INT_H

#include "store.h"
#include <sqlite3.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct store_stmt {
    const char *sql; /* key: address of the caller's constant */
    sqlite3_stmt *stmt;
};

/* row.h's row: over SQLite the stepped statement it reads; over
 * PostgreSQL (pg non-NULL) row `pg_row` of a binary result, with room to
 * print a number column that is asked for as text. */
#define MD_ROW_MAX_COLS 32
struct md_row {
    sqlite3_stmt *st;
    const struct pg_result *pg;
    int pg_row;
    char (*scratch)[32]; /* MD_ROW_MAX_COLS entries, the caller's */
};

/* Which database a store speaks to. A PostgreSQL store (pg/pg_store.h)
 * implements the functions that dispatch on this tag (open, close, path,
 * read snapshots, write transactions and savepoints, txn state, layer
 * info, change seq, the tile reads, report creation and the reads around
 * it: pg/pg_reports.h, pg_locate.h, pg_idem.h); its
 * `db` is an empty in-memory SQLite connection that no statement may run
 * on: md_store_stmt and md__store_exec refuse a PostgreSQL store and
 * md_store_fail reports any other SQLite call on it, each as MD_ENOTIMPL (501)
 * "... not yet on PostgreSQL" - one guard instead of one per function, and
 * never a NULL connection to crash on. */
enum md_backend { MD_BACKEND_SQLITE = 0, MD_BACKEND_PG };

struct md_pg;

struct md_store {
    enum md_backend backend;
    struct md_pg *pg; /* MD_BACKEND_PG: the connection and its statements (owned) */
    sqlite3 *db;
    void *splite_cache;
    char *path;
    struct store_stmt *stmts;
    size_t nstmts, capstmts;
    char *bulk_restore; /* DDL to run at md_store_bulk_end (owned) */
    int64_t bulk_first_rowid; /* rows above this were inserted in bulk mode */
    struct md__rtree_cache *rtree_cache; /* query.c's decoded R*Tree nodes (owned) */
    /* md_store_layer_settings: the layers' fixed settings, read once. */
    struct md_layer_info settings[MD_LAYER__COUNT];
    bool settings_read;
};

/* The refusal of a function that has no PostgreSQL implementation yet:
 * MD_ENOTIMPL, "<what>: not yet on PostgreSQL". */
md_err md__store_not_on_pg(const char *what, struct md_ctx *ctx);

/* The raw connection, borrowed (for modules of this library and tests). */
sqlite3 *md_store_db(struct md_store *s);
/* A prepared statement for `sql`, prepared once per connection and cached by
 * the string's address (pass string literals / static constants). Returned
 * reset with bindings cleared; borrowed - do not finalize. */
md_err md_store_stmt(struct md_store *s, const char *sql, sqlite3_stmt **out, struct md_ctx *ctx) MD_WUR;
/* Record sqlite3_errmsg() in ctx, mapping SQLITE_FULL to MD_ENOSPACE,
 * BUSY/LOCKED to MD_EBUSY, READONLY/CANTOPEN/IOERR to MD_EIO, else MD_EDB. */
md_err md_store_fail(struct md_store *s, int sqlite_rc, const char *what, struct md_ctx *ctx);

/* Run trusted (compiled-in) SQL with sqlite3_exec; never for request text. */
md_err md__store_exec(struct md_store *s, const char *sql, struct md_ctx *ctx) MD_WUR;
/* Fill the empty R*Tree idx_<table>_geom with the rows above first_rowid,
 * packed bottom-up (rtree_load.c); *done = false (and nothing written) when
 * the tree is not empty: insert through the virtual table then. */
md_err md__rtree_bulk_load(struct md_store *s, const char *table, int64_t first_rowid, bool *done,
                           struct md_ctx *ctx) MD_WUR;
/* Free query.c's R*Tree node cache (NULL is fine). */
void md__rtree_cache_free(struct md__rtree_cache *c);
/* feature_read.c's public SELECT of a city layer with WHERE key = ?1 (for
 * the test that checks it against md_layer_public); NULL for other layers. */
const char *md__feature_select_by_key(enum md_layer layer);
/* reports.c's SELECT of a report's public JSON (for the test that checks
 * its columns against md_layer_public). */
const char *md__report_select_sql(void);
/* tile_read.c's statements, *n of them (for the same test). */
const char *const *md__tile_read_sql(size_t *n);
/* The webhook tables (schema_sql.h's block "webhooks"), IF NOT EXISTS. */
md_err md__store_webhooks_ddl(struct md_store *s, struct md_ctx *ctx) MD_WUR;
/* The Idempotency-Key table (schema_sql.h's block "idempotency"), IF NOT EXISTS. */
md_err md__store_idempotency_ddl(struct md_store *s, struct md_ctx *ctx) MD_WUR;
/* Create the change-tracking triggers of one layer. */
md_err md__store_create_triggers(struct md_store *s, enum md_layer layer, struct md_ctx *ctx) MD_WUR;

/* One facility_history row: {"before": before (may be NULL: a new
 * facility), "after": after} by `who` at `now`; report_id 0 = an admin's
 * direct edit (no report). Inside the caller's transaction. */
struct md_principal;
md_err md__facility_history(struct md_store *s, int64_t facility_id, int64_t report_id,
                            json_t *before, json_t *after, const struct md_principal *who,
                            int64_t now, struct md_ctx *ctx) MD_WUR;

/* reports.c's helpers for modules that change a report (citizen.c):
 * the public JSON of report `id` (caller decrefs); an events row
 * {"type", "report", extra...} taking ownership of report and extra (extra
 * may be NULL); one report_history row. Inside the caller's transaction. */
md_err md__report_public(struct md_store *s, int64_t id, int64_t now, int offset_min,
                         json_t **out, struct md_ctx *ctx) MD_WUR;
md_err md__report_emit(struct md_store *s, const char *type, int64_t id, json_t *report,
                       json_t *extra, int64_t now, struct md_ctx *ctx) MD_WUR;
/* updated_at of report `id` := now (a change beside the report row:
 * comments, supporters, photos), inside the caller's transaction. */
md_err md__report_touch(struct md_store *s, int64_t id, int64_t now, struct md_ctx *ctx) MD_WUR;
md_err md__report_history_add(struct md_store *s, int64_t id, const char *action,
                              const char *from, const char *to, const char *role,
                              const char *actor, const char *note, int64_t now,
                              struct md_ctx *ctx) MD_WUR;
/* photos.c: each photo {id, ...} of the array `photos` gets its "url" and
 * "thumb_url" (the report JSON's photos, on either backend). */
void md__photos_add_urls(json_t *photos);
/* photos.c: store photos[0..n) of report `id` (now in `status`), each with
 * a "photo" history row by role/actor, inside the caller's transaction; no
 * count check (the caller's). ids[i] gets each photo's id. */
struct md_photo_new;
md_err md__photos_insert(struct md_store *s, int64_t id, const char *status,
                         const struct md_photo_new *photos, size_t n, const char *role,
                         const char *actor, int64_t now, int64_t *ids, struct md_ctx *ctx) MD_WUR;

#endif
