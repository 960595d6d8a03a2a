/* store.c - connection, pragmas, statement cache and transactions.
 *
 * A connection loads SpatiaLite through libspatialite's per-connection cache
 * (spatialite_init_ex), runs in WAL mode with synchronous=FULL so a COMMIT is
 * on disk when it returns, and waits up to busy_timeout for other writers.
 * Statements are cached by the address of their SQL text: callers pass
 * string constants, so a pointer compare is an exact key.
 *
 * A `postgresql://` or `postgres://` path opens a PostgreSQL store
 * (pg/pg_store.h): open, close, path, read snapshots, write transactions
 * and their savepoints (md__store_exec), txn state, layer info and the
 * change seq dispatch on the backend tag here; every
 * SQLite-only path is refused by the guard in md_store_stmt, exec_sql and
 * md_store_fail (store_int.h).
 */
#include "store_int.h"
#include "pg_store.h"
#include "pg_feed.h"
#include "pg_city.h"

#include <spatialite.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const layer_names[MD_LAYER__COUNT] = {"facilities", "reports", "districts",
                                                         "grids", "basemap"};

const char *md_layer_name(enum md_layer layer)
{
    if ((int)layer < 0 || layer >= MD_LAYER__COUNT)
        return NULL;
    return layer_names[layer];
}

static md_err parse_layer(const char *name, int count, enum md_layer *out)
{
    for (int i = 0; i < count; i++) {
        if (name && strcmp(name, layer_names[i]) == 0) {
            *out = (enum md_layer)i;
            return MD_OK;
        }
    }
    return MD_ENOTFOUND;
}

md_err md_layer_parse(const char *name, enum md_layer *out)
{
    return parse_layer(name, MD_LAYER_BASEMAP, out);
}

md_err md_layer_parse_tile(const char *name, enum md_layer *out)
{
    return parse_layer(name, MD_LAYER__COUNT, out);
}

md_err md__store_not_on_pg(const char *what, struct md_ctx *ctx)
{
    return md_fail(ctx, MD_ENOTIMPL, "%s: not yet on PostgreSQL", what);
}

static bool on_pg(const struct md_store *s)
{
    return s && s->backend == MD_BACKEND_PG;
}

md_err md_store_fail(struct md_store *s, int sqlite_rc, const char *what, struct md_ctx *ctx)
{
    if (on_pg(s)) /* a SQLite call on the placeholder connection */
        return md__store_not_on_pg(what, ctx);
    md_err err;
    switch (sqlite_rc & 0xff) {
    case SQLITE_FULL: err = MD_ENOSPACE; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: err = MD_EBUSY; break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PERM: err = MD_EIO; break;
    case SQLITE_NOMEM: err = MD_ENOMEM; break;
    default: err = MD_EDB;
    }
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(sqlite_rc);
    return md_fail(ctx, err, "%s: %s", what, msg);
}

static md_err exec_sql(struct md_store *s, const char *sql, struct md_ctx *ctx)
{
    if (on_pg(s))
        return md_fail(ctx, MD_ENOTIMPL, "%.40s: not yet on PostgreSQL", sql);
    char *errmsg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &errmsg);
    if (rc != SQLITE_OK) {
        md_err err = md_store_fail(s, rc, "sql", ctx);
        sqlite3_free(errmsg);
        return err;
    }
    return MD_OK;
}

md_err md__store_exec(struct md_store *s, const char *sql, struct md_ctx *ctx)
{
    if (on_pg(s))
        return md__pg_savepoint_exec(s->pg, sql, ctx);
    return exec_sql(s, sql, ctx);
}

static md_err check_file(const char *path, int flags, struct md_ctx *ctx)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (flags & MD_STORE_CREATE)
            return MD_OK;
        return md_fail(ctx, MD_EIO, "database %s does not exist (run `mapd init` or `mapd sample`)",
                       path);
    }
    if (!S_ISREG(st.st_mode))
        return md_fail(ctx, MD_EIO, "database %s is not a regular file", path);
    if (!(flags & MD_STORE_READONLY) && access(path, W_OK) != 0)
        return md_fail(ctx, MD_EIO, "database %s is read-only; mapd needs to write it", path);
    return MD_OK;
}

/* Reads map the file (shared by every connection through the OS page cache)
 * instead of copying pages into each connection's cache: a radius query
 * touches a few thousand rows spread over as many pages, and pread() of
 * each was most of its time. Writes still go through the WAL. */
#define MMAP_BYTES "4294967296"

/* After a checkpoint that resets the WAL, SQLite truncates the file to this
 * (without it a WAL that a burst of writes grew to a gigabyte stays that
 * size on disk, across restarts). 64 MiB is about four autocheckpoints. */
#define WAL_KEEP_BYTES "67108864"

static md_err apply_pragmas(struct md_store *s, int flags, struct md_ctx *ctx)
{
    sqlite3_busy_timeout(s->db, 10000);
    if (flags & MD_STORE_READONLY)
        return exec_sql(s, "PRAGMA query_only = 1; PRAGMA cache_size = -16000;"
                           " PRAGMA mmap_size = " MMAP_BYTES ";", ctx);
    if (flags & MD_STORE_BULK)
        return exec_sql(s,
                        "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;"
                        " PRAGMA cache_size = -524288; PRAGMA temp_store = MEMORY;",
                        ctx);
    return exec_sql(s,
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                    " PRAGMA foreign_keys = OFF; PRAGMA cache_size = -16000;"
                    " PRAGMA mmap_size = " MMAP_BYTES ";"
                    " PRAGMA wal_autocheckpoint = 4000;"
                    " PRAGMA journal_size_limit = " WAL_KEEP_BYTES ";",
                    ctx);
}

/* A PostgreSQL store: the libpq connection, and an empty in-memory SQLite
 * connection as `db` that the guards keep every statement off. */
static md_err open_pg(const char *uri, int flags, struct md_store **out, struct md_ctx *ctx)
{
    if (flags & (MD_STORE_CREATE | MD_STORE_BULK))
        return md__store_not_on_pg("creating or bulk-loading a database", ctx);
    struct md_store *s = calloc(1, sizeof(*s));
    if (!s)
        return md_fail(ctx, MD_ENOMEM, "out of memory opening a postgresql store");
    s->backend = MD_BACKEND_PG;
    s->path = strdup(uri);
    md_err rc = s->path ? MD_OK : md_fail(ctx, MD_ENOMEM, "out of memory");
    if (!rc && sqlite3_open_v2(":memory:", &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                               NULL) != SQLITE_OK)
        rc = md_fail(ctx, MD_ENOMEM, "placeholder connection");
    if (!rc)
        rc = md__pg_open(uri, &s->pg, ctx);
    if (rc) {
        md_store_close(s);
        return rc;
    }
    *out = s;
    return MD_OK;
}

md_err md_store_open(const char *path, int flags, struct md_store **out, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    struct md_store *s = NULL;
    *out = NULL;
    if (!path || !*path)
        return md_fail(ctx, MD_EINVAL, "database path is empty");
    if (md_pg_is_uri(path))
        return open_pg(path, flags, out, ctx);
    rc = check_file(path, flags, ctx);
    if (rc)
        return rc;
    s = calloc(1, sizeof(*s));
    if (!s)
        return md_fail(ctx, MD_ENOMEM, "out of memory opening %s", path);
    s->path = strdup(path);
    int oflags = SQLITE_OPEN_NOMUTEX;
    if (flags & MD_STORE_READONLY)
        oflags |= SQLITE_OPEN_READONLY;
    else
        oflags |= SQLITE_OPEN_READWRITE | ((flags & MD_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
    int src = sqlite3_open_v2(path, &s->db, oflags, NULL);
    if (src != SQLITE_OK) {
        rc = md_store_fail(s, src, path, ctx);
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    s->splite_cache = spatialite_alloc_connection();
    spatialite_init_ex(s->db, s->splite_cache, 0);
    rc = apply_pragmas(s, flags, ctx);
    if (rc)
        goto out;
    *out = s;
    s = NULL;
out:
    md_store_close(s);
    return rc;
}

void md_store_close(struct md_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nstmts; i++)
        sqlite3_finalize(s->stmts[i].stmt);
    free(s->stmts);
    free(s->bulk_restore);
    md__rtree_cache_free(s->rtree_cache);
    md__pg_close(s->pg);
    if (s->db)
        sqlite3_close_v2(s->db);
    if (s->splite_cache)
        spatialite_cleanup_ex(s->splite_cache);
    free(s->path);
    free(s);
}

sqlite3 *md_store_db(struct md_store *s)
{
    return s->db;
}

const char *md_store_path(const struct md_store *s)
{
    return s->path;
}

bool md_store_path_is_pg(const char *path)
{
    return md_pg_is_uri(path);
}

md_err md_store_server_setting(struct md_store *s, const char *name, char *out, size_t n,
                               struct md_ctx *ctx)
{
    if (!on_pg(s))
        return md_fail(ctx, MD_ENOTIMPL, "server settings are PostgreSQL's");
    return md__pg_setting(s->pg, name, out, n, ctx);
}

md_err md_store_stmt(struct md_store *s, const char *sql, sqlite3_stmt **out, struct md_ctx *ctx)
{
    *out = NULL;
    if (on_pg(s))
        return md_fail(ctx, MD_ENOTIMPL, "%.40s: not yet on PostgreSQL", sql);
    for (size_t i = 0; i < s->nstmts; i++) {
        if (s->stmts[i].sql == sql) {
            sqlite3_reset(s->stmts[i].stmt);
            sqlite3_clear_bindings(s->stmts[i].stmt);
            *out = s->stmts[i].stmt;
            return MD_OK;
        }
    }
    if (s->nstmts == s->capstmts) {
        size_t cap = s->capstmts ? s->capstmts * 2 : 32;
        struct store_stmt *n = realloc(s->stmts, cap * sizeof(*n));
        if (!n)
            return md_fail(ctx, MD_ENOMEM, "statement cache");
        s->stmts = n;
        s->capstmts = cap;
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK)
        return md_store_fail(s, rc, "prepare", ctx);
    s->stmts[s->nstmts].sql = sql;
    s->stmts[s->nstmts].stmt = stmt;
    s->nstmts++;
    *out = stmt;
    return MD_OK;
}

md_err md_store_begin(struct md_store *s, struct md_ctx *ctx)
{
    if (on_pg(s))
        return md__pg_write_begin(s->pg, ctx);
    return exec_sql(s, "BEGIN IMMEDIATE", ctx);
}

md_err md_store_commit(struct md_store *s, struct md_ctx *ctx)
{
    if (on_pg(s))
        return md__pg_commit(s->pg, ctx);
    md_err rc = exec_sql(s, "COMMIT", ctx);
    if (rc)
        md_store_rollback(s);
    return rc;
}

void md_store_rollback(struct md_store *s)
{
    if (on_pg(s)) {
        md__pg_rollback(s->pg);
        return;
    }
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static md_err step_once(struct md_store *s, const char *sql, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, sql, ctx);
}

md_err md_store_read_begin(struct md_store *s, struct md_ctx *ctx)
{
    static const char sql[] = "BEGIN";
    if (on_pg(s))
        return md__pg_read_begin(s->pg, ctx);
    return step_once(s, sql, ctx);
}

void md_store_read_end(struct md_store *s)
{
    static const char sql[] = "COMMIT";
    if (on_pg(s)) {
        md__pg_read_end(s->pg);
        return;
    }
    if (!sqlite3_get_autocommit(s->db) && step_once(s, sql, NULL))
        md_store_rollback(s);
}

enum md_txn_state md_store_txn_state(struct md_store *s)
{
    if (on_pg(s))
        return md__pg_txn_state(s->pg);
    if (sqlite3_get_autocommit(s->db))
        return MD_TXN_NONE;
    return sqlite3_txn_state(s->db, "main") == SQLITE_TXN_WRITE ? MD_TXN_WRITE : MD_TXN_READ;
}

md_err md_store_layer_settings(struct md_store *s, enum md_layer layer,
                               struct md_layer_info *out, struct md_ctx *ctx)
{
    if ((int)layer < 0 || layer >= MD_LAYER__COUNT)
        return md_fail(ctx, MD_EINVAL, "no layer %d", (int)layer);
    for (int l = 0; !s->settings_read && l < MD_LAYER__COUNT; l++) {
        md_err rc = md_store_layer_info(s, (enum md_layer)l, &s->settings[l], ctx);
        if (rc)
            return rc;
        s->settings[l].version = s->settings[l].row_count = 0;
        s->settings_read = l == MD_LAYER__COUNT - 1;
    }
    *out = s->settings[layer];
    return MD_OK;
}

md_err md_store_layer_info(struct md_store *s, enum md_layer layer, struct md_layer_info *out,
                           struct md_ctx *ctx)
{
    static const char sql[] = "SELECT version, row_count, cluster_below_zoom, min_zoom, max_zoom,"
                              " cache_seconds FROM layers WHERE id = ?";
    if (on_pg(s))
        return md__pg_layer_info(s->pg, layer, out, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, (int)layer);
    int src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE ? md_fail(ctx, MD_EDB, "layer %d missing from layers table",
                                          (int)layer)
                                : md_store_fail(s, src, "layer info", ctx);
        sqlite3_reset(st);
        return rc;
    }
    out->version = sqlite3_column_int64(st, 0);
    out->row_count = sqlite3_column_int64(st, 1);
    out->cluster_below_zoom = sqlite3_column_int(st, 2);
    out->min_zoom = sqlite3_column_int(st, 3);
    out->max_zoom = sqlite3_column_int(st, 4);
    out->cache_seconds = sqlite3_column_int(st, 5);
    sqlite3_reset(st);
    return MD_OK;
}

md_err md_store_scalar(struct md_store *s, const char *sql, int64_t *out, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (src == SQLITE_DONE)
        *out = 0;
    else
        rc = md_store_fail(s, src, "query", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_store_change_seq(struct md_store *s, int64_t *out, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT seq FROM change_log ORDER BY seq DESC LIMIT 1";
    if (on_pg(s))
        return md__pg_change_seq(s->pg, out, ctx);
    return md_store_scalar(s, sql, out, ctx);
}

md_err md_store_changes_between(struct md_store *s, int64_t after, int64_t upto, md_change_fn fn,
                                void *userdata, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_changes_between(s->pg, after, upto, fn, userdata, ctx);
    static const char sql[] = "SELECT seq, layer, minx, miny, maxx, maxy,"
                              " coalesce(feature_id, -1) FROM change_log"
                              " WHERE seq > ?1 AND seq <= ?2 ORDER BY seq";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, upto);
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_change c = {
            .seq = sqlite3_column_int64(st, 0),
            .layer = (enum md_layer)sqlite3_column_int(st, 1),
            .bbox = {sqlite3_column_double(st, 2), sqlite3_column_double(st, 3),
                     sqlite3_column_double(st, 4), sqlite3_column_double(st, 5)},
            .feature_id = sqlite3_column_int64(st, 6),
        };
        if (c.layer < MD_LAYER__COUNT)
            rc = fn(&c, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "change log", ctx);
    sqlite3_reset(st);
    return rc;
}

static const char *const points_sql[2] = {
    "SELECT id, lon, lat, category, 0 FROM facilities ORDER BY id",
    "SELECT id, lon, lat, service_code, supporters FROM reports ORDER BY id"};
static const char *const point_sql[2] = {
    "SELECT id, lon, lat, category, 0 FROM facilities WHERE id = ?1",
    "SELECT id, lon, lat, service_code, supporters FROM reports WHERE id = ?1"};

/* Step st (bound) and hand each row to fn. */
static md_err step_points(struct md_store *s, sqlite3_stmt *st, md_point_fn fn, void *userdata,
                          struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *cat = sqlite3_column_text(st, 3);
        struct md_point p = {.id = sqlite3_column_int64(st, 0),
                             .lon = sqlite3_column_double(st, 1),
                             .lat = sqlite3_column_double(st, 2),
                             .category = cat ? (const char *)cat : "",
                             .supporters = sqlite3_column_int64(st, 4)};
        rc = fn(&p, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "points", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_store_points_each(struct md_store *s, enum md_layer layer, md_point_fn fn,
                            void *userdata, struct md_ctx *ctx)
{
    if (layer != MD_LAYER_FACILITIES && layer != MD_LAYER_REPORTS)
        return md_fail(ctx, MD_EINVAL, "layer %d has no points", (int)layer);
    if (s->backend == MD_BACKEND_PG)
        return md__pg_points_each(s->pg, layer, fn, userdata, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, points_sql[layer], &st, ctx);
    return rc ? rc : step_points(s, st, fn, userdata, ctx);
}

md_err md_store_point_get(struct md_store *s, enum md_layer layer, int64_t id, md_point_fn fn,
                          void *userdata, struct md_ctx *ctx)
{
    if (layer != MD_LAYER_FACILITIES && layer != MD_LAYER_REPORTS)
        return md_fail(ctx, MD_EINVAL, "layer %d has no points", (int)layer);
    if (s->backend == MD_BACKEND_PG)
        return md__pg_point_get(s->pg, layer, id, fn, userdata, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, point_sql[layer], &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return step_points(s, st, fn, userdata, ctx);
}

md_err md_store_report_status_counts(struct md_store *s, struct md_status_count *out, int max,
                                     int *n, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_status_counts(s->pg, out, max, n, ctx);
    static const char sql[] = "SELECT status, n FROM report_status_counts ORDER BY status";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    *n = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
        snprintf(out[*n].status, sizeof(out[*n].status), "%s", sqlite3_column_text(st, 0));
        out[*n].count = sqlite3_column_int64(st, 1);
        (*n)++;
    }
    if (src != SQLITE_DONE && src != SQLITE_ROW)
        rc = md_store_fail(s, src, "status counts", ctx);
    sqlite3_reset(st);
    return rc;
}
