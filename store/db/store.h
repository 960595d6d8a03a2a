/* store.h - mapd's database: the public API of library mapd_store.
 *
 * One struct md_store = one connection (SQLite with SpatiaLite loaded, WAL
 * mode, synchronous=FULL, and a cache of prepared statements). A connection
 * is used by one thread at a time (each server worker owns one). No
 * header of store/ names the database library: callers see operations,
 * typed rows (row.h) and callbacks; the SQL and the driver calls live in
 * the .c files of store/ behind store_int.h.
 *
 * Layers: facilities, reports, districts, grids. Every change to a layer's
 * table bumps layers.version and appends its bounding box to change_log
 * (triggers in schema.c), so any writer - this process, `mapd import`, or the
 * SQLite shell with SpatiaLite loaded - keeps tiles and caches correct.
 */
#ifndef MD_STORE_H
#define MD_STORE_H

#include "md_err.h"
#include "md_types.h"
#include <stdbool.h>
#include <stdint.h>

#define MD_SCHEMA_VERSION 1

/* enum md_layer (the city's layers, then the base map) is in md_types.h. */

/* "facilities", ... ; NULL for out-of-range. */
const char *md_layer_name(enum md_layer layer);
/* Look up a city layer (facilities, reports, districts, grids) by exact
 * name; MD_ENOTFOUND when unknown or "basemap" (see md_layer_parse_tile). */
md_err md_layer_parse(const char *name, enum md_layer *out);
/* The same, also naming "basemap" (tile layer lists). */
md_err md_layer_parse_tile(const char *name, enum md_layer *out);

enum md_store_flags {
    MD_STORE_READWRITE = 0,
    MD_STORE_READONLY = 1, /* open read-only (queries, backup source) */
    MD_STORE_CREATE = 2,   /* create the file if missing */
    MD_STORE_BULK = 4,     /* building a new file: journal in memory, no fsync, big cache;
                              not durable until the caller switches to WAL and syncs */
};

struct md_store;

/* Open `path` with SpatiaLite loaded. Fails with MD_EIO/MD_EDB and detail in
 * ctx when the file is missing (without CREATE), unreadable, read-only while
 * a write open was asked, or not a mapd database (unless CREATE on a new file).
 * Caller frees with md_store_close(). */
md_err md_store_open(const char *path, int flags, struct md_store **out, struct md_ctx *ctx) MD_WUR;
/* Finalizes cached statements and closes; accepts NULL. */
void md_store_close(struct md_store *s);
const char *md_store_path(const struct md_store *s);
/* Does `path` name a PostgreSQL database (postgresql:// or postgres://)
 * rather than a SpatiaLite file? */
bool md_store_path_is_pg(const char *path);
/* A PostgreSQL server setting (current_setting(name)) into out, at most
 * n - 1 bytes. MD_ENOTIMPL on a SQLite store. */
md_err md_store_server_setting(struct md_store *s, const char *name, char *out, size_t n,
                               struct md_ctx *ctx) MD_WUR;

/* Create the schema in an empty database and load categories from the JSON
 * file `categories_path` (see sample-data/categories.json). Idempotent on a
 * database that already has the current schema version. */
md_err md_store_init(struct md_store *s, const char *categories_path, struct md_ctx *ctx) MD_WUR;
/* Schema version recorded in the database (0 when uninitialised). */
md_err md_store_schema_version(struct md_store *s, int *out, struct md_ctx *ctx) MD_WUR;

/* Run a constant query (cached like md_store_stmt) and store the first
 * column of its first row in *out; 0 when it returns no row. */
md_err md_store_scalar(struct md_store *s, const char *sql, int64_t *out, struct md_ctx *ctx) MD_WUR;
/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback never fails). */
md_err md_store_begin(struct md_store *s, struct md_ctx *ctx) MD_WUR;
md_err md_store_commit(struct md_store *s, struct md_ctx *ctx) MD_WUR;
void md_store_rollback(struct md_store *s);

/* A read snapshot: BEGIN (deferred) ... COMMIT. Everything read in between
 * sees one consistent state of the database. read_end never fails. */
md_err md_store_read_begin(struct md_store *s, struct md_ctx *ctx) MD_WUR;
void md_store_read_end(struct md_store *s);
/* What the connection is inside: no transaction, a read (a snapshot, or a
 * BEGIN that has not read yet), or a write. */
enum md_txn_state { MD_TXN_NONE, MD_TXN_READ, MD_TXN_WRITE };
enum md_txn_state md_store_txn_state(struct md_store *s);

/* Per-layer data version (bumped by every change) and row count. */
struct md_layer_info {
    int64_t version;
    int64_t row_count;
    int cluster_below_zoom; /* points clustered for z < this (0 = never) */
    int min_zoom, max_zoom;
    int cache_seconds; /* Cache-Control max-age for tiles */
};
md_err md_store_layer_info(struct md_store *s, enum md_layer layer, struct md_layer_info *out,
                           struct md_ctx *ctx) MD_WUR;
/* The fixed part of md_store_layer_info (cluster_below_zoom, min_zoom,
 * max_zoom, cache_seconds: set by the schema, never changed by a write),
 * read once per connection: no database round trip after the first call.
 * version and row_count are 0 (ask md_store_layer_info). */
md_err md_store_layer_settings(struct md_store *s, enum md_layer layer,
                               struct md_layer_info *out, struct md_ctx *ctx) MD_WUR;

/* Newest change_log sequence number (0 when empty). */
md_err md_store_change_seq(struct md_store *s, int64_t *out, struct md_ctx *ctx) MD_WUR;
struct md_change {
    int64_t seq;
    enum md_layer layer;
    struct md_bbox bbox; /* lon/lat of the changed feature (old or new state) */
    int64_t feature_id;  /* the row changed; -1: a bulk load (any row in bbox) */
};
typedef md_err (*md_change_fn)(const struct md_change *change, void *userdata);
/* Call fn for each change with after < seq <= upto, in order (upto: the
 * newest change the caller's snapshot saw, from md_store_change_seq). */
md_err md_store_changes_between(struct md_store *s, int64_t after, int64_t upto, md_change_fn fn,
                                void *userdata, struct md_ctx *ctx) MD_WUR;

/* One point of a point layer (facilities, reports) as clusters need it:
 * position and category (facilities.category, reports.service_code). */
struct md_point {
    int64_t id;
    double lon, lat;
    const char *category; /* borrowed until fn returns */
    int64_t supporters;   /* summed into clusters (reports' "me too"; 0 for facilities) */
};
typedef md_err (*md_point_fn)(const struct md_point *p, void *userdata);
/* Call fn for every point of `layer` (a point layer), in id order, inside
 * the caller's read snapshot if one is open. MD_EINVAL for other layers. */
md_err md_store_points_each(struct md_store *s, enum md_layer layer, md_point_fn fn,
                            void *userdata, struct md_ctx *ctx) MD_WUR;
/* Call fn once with point `id` of `layer` when it exists (not at all when
 * it does not). */
md_err md_store_point_get(struct md_store *s, enum md_layer layer, int64_t id, md_point_fn fn,
                          void *userdata, struct md_ctx *ctx) MD_WUR;

/* Counts of reports per status (from the trigger-maintained table). */
struct md_status_count {
    char status[16];
    int64_t count;
};
md_err md_store_report_status_counts(struct md_store *s, struct md_status_count *out, int max,
                                     int *n, struct md_ctx *ctx) MD_WUR;

#endif

/* Bulk loading of one layer (sample, import): begins an IMMEDIATE transaction
 * and drops the layer's change-tracking triggers inside it, so other
 * connections never see the table without them. md_store_bulk_end() rebuilds
 * what the triggers maintain (cluster cells, row count, status counts), bumps
 * the version once, logs one change over `changed` (lon/lat bbox of the rows
 * written; NULL = nothing changed), restores the triggers and commits.
 * md_store_bulk_abort() rolls everything back. */
md_err md_store_bulk_begin(struct md_store *s, enum md_layer layer, struct md_ctx *ctx) MD_WUR;
md_err md_store_bulk_end(struct md_store *s, enum md_layer layer, const struct md_bbox *changed,
                         struct md_ctx *ctx) MD_WUR;
void md_store_bulk_abort(struct md_store *s);

/* (Re)load categories and facility categories from a JSON file (see
 * sample-data/categories.json); must be called inside a transaction or
 * as part of md_store_init(). */
md_err md_store_load_categories(struct md_store *s, const char *path, struct md_ctx *ctx) MD_WUR;
