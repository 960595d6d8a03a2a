/* pg_store.c - the PostgreSQL connection of a store (pg_store.h).
 *
 * The statement cache is a list of names: a name is prepared on this
 * connection the first time it is run (PQprepare) and run by name after
 * (PQexecPrepared). Parameters go as text (doubles printed with 17
 * significant digits, so the server reads the same double), results come
 * back binary, so numbers are the server's exact values and bytea is the
 * raw bytes.
 */
#include "pg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_schema.h"

struct md_pg {
    PGconn *c;
    char **names; /* prepared statements (owned) */
    size_t n, cap;
    bool in_txn;  /* a transaction of ours is open (read_begin or write_begin) */
    bool writing; /* ... and it is md__pg_write_begin's */
    int64_t reconnects;
};

bool md_pg_is_uri(const char *path)
{
    return path && (strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0);
}

/* The error class of a SQLSTATE. */
static md_err map_sqlstate(const char *state)
{
    if (!state)
        return MD_EDB;
    if (strcmp(state, "53100") == 0)
        return MD_ENOSPACE;
    if (strcmp(state, "53200") == 0)
        return MD_ENOMEM;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
        return MD_EBUSY;
    if (strncmp(state, "08", 2) == 0)
        return MD_EIO;
    return MD_EDB;
}

md_err md__pg_fail(PGconn *c, const PGresult *r, const char *what, struct md_ctx *ctx)
{
    const char *msg = r ? PQresultErrorMessage(r) : "";
    if (!msg || !*msg)
        msg = c ? PQerrorMessage(c) : "no connection";
    md_err err = r ? map_sqlstate(PQresultErrorField(r, PG_DIAG_SQLSTATE)) : MD_EDB;
    if (c && PQstatus(c) == CONNECTION_BAD) /* the server went away: retry later */
        err = MD_EBUSY;
    size_t len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    return md_fail(ctx, err, "postgresql %s: %.*s", what, (int)len, msg);
}

/* One statement without parameters or rows (BEGIN, COMMIT, SET). */
static md_err exec_plain(struct md_pg *pg, const char *sql, struct md_ctx *ctx)
{
    PGresult *r = PQexec(pg->c, sql);
    md_err rc = PQresultStatus(r) == PGRES_COMMAND_OK ? MD_OK : md__pg_fail(pg->c, r, sql, ctx);
    PQclear(r);
    return rc;
}

static md_err check_version(const char *conninfo, struct md_ctx *ctx)
{
    int version = 0;
    md_err rc = md_pg_schema_version(conninfo, &version, ctx);
    if (rc)
        return rc;
    if (version == 0)
        return md_fail(ctx, MD_EIO, "the postgresql database has no mapd schema"
                                    " (create it with md_pg_schema_create)");
    if (version != MD_SCHEMA_VERSION)
        return md_fail(ctx, MD_EDB, "the postgresql database has mapd schema version %d;"
                                    " this mapd reads version %d",
                       version, MD_SCHEMA_VERSION);
    return MD_OK;
}

md_err md__pg_open(const char *conninfo, struct md_pg **out, struct md_ctx *ctx)
{
    *out = NULL;
    md_err rc = check_version(conninfo, ctx);
    if (rc)
        return rc;
    struct md_pg *pg = calloc(1, sizeof(*pg));
    if (!pg)
        return md_fail(ctx, MD_ENOMEM, "out of memory opening a postgresql store");
    pg->c = PQconnectdb(conninfo);
    if (PQstatus(pg->c) != CONNECTION_OK)
        rc = md__pg_fail(pg->c, NULL, "connect", ctx);
    if (!rc) /* the server's notices (an extension already there...) are not ours to print */
        rc = exec_plain(pg, "SET client_min_messages = warning", ctx);
    if (rc) {
        md__pg_close(pg);
        return rc;
    }
    *out = pg;
    return MD_OK;
}

void md__pg_close(struct md_pg *pg)
{
    if (!pg)
        return;
    for (size_t i = 0; i < pg->n; i++)
        free(pg->names[i]);
    free(pg->names);
    PQfinish(pg->c); /* an open transaction ends with the session: rolled back */
    free(pg);
}

void md__pg_read_end(struct md_pg *pg)
{
    if (PQtransactionStatus(pg->c) == PQTRANS_IDLE)
        return;
    if (exec_plain(pg, "COMMIT", NULL))
        PQclear(PQexec(pg->c, "ROLLBACK"));
    pg->in_txn = pg->writing = false;
}

/* A connection the server dropped (a restart, a failover, an idle
 * timeout) is made again, and its prepared statements forgotten with it.
 * Never inside a transaction of ours: its statements would go on in
 * autocommit; only at a transaction's start or between statements outside
 * one (the failed statement itself is not retried: it may have run). */
static md_err reconnect(struct md_pg *pg, struct md_ctx *ctx)
{
    for (size_t i = 0; i < pg->n; i++)
        free(pg->names[i]);
    pg->n = 0;
    pg->in_txn = pg->writing = false;
    PQreset(pg->c);
    if (PQstatus(pg->c) != CONNECTION_OK)
        return md__pg_fail(pg->c, NULL, "reconnect", ctx);
    pg->reconnects++;
    return exec_plain(pg, "SET client_min_messages = warning", ctx);
}

/* BEGIN `sql` on a live connection: one found dropped is made again, and
 * a BEGIN that finds it dropped is sent once more on a new one (a BEGIN
 * that failed changed nothing). */
static md_err begin(struct md_pg *pg, const char *sql, bool writing, struct md_ctx *ctx)
{
    md_err rc = PQstatus(pg->c) == CONNECTION_BAD ? reconnect(pg, ctx) : MD_OK;
    if (!rc)
        rc = exec_plain(pg, sql, ctx);
    if (rc && PQstatus(pg->c) == CONNECTION_BAD) {
        if (ctx)
            md_ctx_clear(ctx);
        rc = reconnect(pg, ctx);
        if (!rc)
            rc = exec_plain(pg, sql, ctx);
    }
    pg->in_txn = !rc;
    pg->writing = !rc && writing;
    return rc;
}

md_err md__pg_read_begin(struct md_pg *pg, struct md_ctx *ctx)
{
    return begin(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", false, ctx);
}

md_err md__pg_write_begin(struct md_pg *pg, struct md_ctx *ctx)
{
    /* READ COMMITTED: each statement sees what committed before it; the
     * unique keys (token, Idempotency-Key) decide between writers. */
    return begin(pg, "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE", true, ctx);
}

md_err md__pg_commit(struct md_pg *pg, struct md_ctx *ctx)
{
    /* A transaction in error answers COMMIT with "ROLLBACK" and no error:
     * only the tag COMMIT means the changes are durable. */
    PGresult *r = PQexec(pg->c, "COMMIT");
    md_err rc = MD_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = md__pg_fail(pg->c, r, "COMMIT", ctx);
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = md_fail(ctx, MD_EDB, "postgresql COMMIT: the transaction was rolled back"
                                  " (a statement in it had failed)");
    PQclear(r);
    if (rc)
        md__pg_rollback(pg);
    pg->in_txn = pg->writing = false;
    return rc;
}

void md__pg_rollback(struct md_pg *pg)
{
    if (PQtransactionStatus(pg->c) != PQTRANS_IDLE)
        PQclear(PQexec(pg->c, "ROLLBACK"));
    pg->in_txn = pg->writing = false;
}

/* The savepoint statements of store.h's callers (ingest.c): SAVEPOINT x,
 * ROLLBACK TO x, RELEASE x, alone or joined by "; ". */
static bool savepoint_sql(const char *sql)
{
    static const char *const verbs[] = {"SAVEPOINT ", "ROLLBACK TO ", "RELEASE "};
    const char *p = sql;
    while (*p) {
        size_t len = 0;
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]) && !len; i++) {
            if (strncmp(p, verbs[i], strlen(verbs[i])) == 0)
                len = strlen(verbs[i]);
        }
        if (!len)
            return false;
        p += len;
        size_t name = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
        if (!name)
            return false;
        p += name;
        if (strncmp(p, "; ", 2) == 0)
            p += 2;
        else if (*p)
            return false;
    }
    return p != sql;
}

md_err md__pg_savepoint_exec(struct md_pg *pg, const char *sql, struct md_ctx *ctx)
{
    if (!savepoint_sql(sql))
        return md_fail(ctx, MD_EINVAL, "%.40s: not yet on PostgreSQL", sql);
    return exec_plain(pg, sql, ctx);
}

enum md_txn_state md__pg_txn_state(struct md_pg *pg)
{
    switch (PQtransactionStatus(pg->c)) {
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR:
    case PQTRANS_ACTIVE: return pg->writing ? MD_TXN_WRITE : MD_TXN_READ;
    default: return MD_TXN_NONE;
    }
}

/* Prepare `name` on this connection unless it already is. */
static md_err prepare(struct md_pg *pg, const char *name, const char *sql, int n,
                      struct md_ctx *ctx)
{
    for (size_t i = 0; i < pg->n; i++) {
        if (strcmp(pg->names[i], name) == 0)
            return MD_OK;
    }
    if (pg->n == pg->cap) {
        size_t cap = pg->cap ? pg->cap * 2 : 16;
        char **names = realloc(pg->names, cap * sizeof(*names));
        if (!names)
            return md_fail(ctx, MD_ENOMEM, "statement cache");
        pg->names = names;
        pg->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return md_fail(ctx, MD_ENOMEM, "statement cache");
    PGresult *r = PQprepare(pg->c, name, sql, n, NULL);
    md_err rc = PQresultStatus(r) == PGRES_COMMAND_OK ? MD_OK : md__pg_fail(pg->c, r, name, ctx);
    PQclear(r);
    if (rc) {
        free(copy);
        return rc;
    }
    pg->names[pg->n++] = copy;
    return MD_OK;
}

md_err md__pg_query(struct md_pg *pg, const char *name, const char *sql, int n,
                    const char *const *values, PGresult **out, struct md_ctx *ctx)
{
    return md__pg_query_bin(pg, name, sql, n, values, NULL, NULL, out, ctx);
}

md_err md__pg_query_bin(struct md_pg *pg, const char *name, const char *sql, int n,
                        const char *const *values, const int *lengths, const int *formats,
                        PGresult **out, struct md_ctx *ctx)
{
    *out = NULL;
    md_err rc = PQstatus(pg->c) == CONNECTION_BAD && !pg->in_txn ? reconnect(pg, ctx) : MD_OK;
    if (!rc)
        rc = prepare(pg, name, sql, n, ctx);
    if (rc)
        return rc;
    PGresult *r = PQexecPrepared(pg->c, name, n, values, lengths, formats, 1);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = md__pg_fail(pg->c, r, name, ctx);
        PQclear(r);
        return rc;
    }
    *out = r;
    return MD_OK;
}

/* Big-endian unsigned of len bytes. */
static uint64_t be(const unsigned char *p, int len)
{
    uint64_t v = 0;
    for (int i = 0; i < len; i++)
        v = v << 8 | p[i];
    return v;
}

int64_t md__pg_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    switch (PQgetlength(r, row, col)) {
    case 2: return (int16_t)be(p, 2);
    case 4: return (int32_t)be(p, 4);
    case 8: return (int64_t)be(p, 8);
    default: return 0;
    }
}

double md__pg_double(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    if (PQgetlength(r, row, col) == 4) {
        uint32_t bits = (uint32_t)be(p, 4);
        float f;
        memcpy(&f, &bits, sizeof(f));
        return f;
    }
    if (PQgetlength(r, row, col) != 8)
        return 0;
    uint64_t bits = be(p, 8);
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

const char *md__pg_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

void md__pg_double_param(double v, char out[MD_PG_DOUBLE_CHARS])
{
    snprintf(out, MD_PG_DOUBLE_CHARS, "%.17g", v);
}

md_err md__pg_layer_info(struct md_pg *pg, enum md_layer layer, struct md_layer_info *out,
                         struct md_ctx *ctx)
{
    static const char sql[] = "SELECT version, row_count, cluster_below_zoom, min_zoom, max_zoom,"
                              " cache_seconds FROM layers WHERE id = $1::integer";
    char id[16];
    snprintf(id, sizeof(id), "%d", (int)layer);
    const char *values[] = {id};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_layer_info", sql, 1, values, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return md_fail(ctx, MD_EDB, "layer %d missing from layers table", (int)layer);
    }
    out->version = md__pg_int(r, 0, 0);
    out->row_count = md__pg_int(r, 0, 1);
    out->cluster_below_zoom = (int)md__pg_int(r, 0, 2);
    out->min_zoom = (int)md__pg_int(r, 0, 3);
    out->max_zoom = (int)md__pg_int(r, 0, 4);
    out->cache_seconds = (int)md__pg_int(r, 0, 5);
    PQclear(r);
    return MD_OK;
}

md_err md__pg_change_seq(struct md_pg *pg, int64_t *out, struct md_ctx *ctx)
{
    /* The log, not change_counter: the counter of a writer not yet
     * committed is invisible either way, and the log is what is read. */
    static const char sql[] = "SELECT seq FROM change_log ORDER BY seq DESC LIMIT 1";
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_change_seq", sql, 0, NULL, &r, ctx);
    if (rc)
        return rc;
    *out = PQntuples(r) == 1 ? md__pg_int(r, 0, 0) : 0;
    PQclear(r);
    return MD_OK;
}

md_err md__pg_setting(struct md_pg *pg, const char *name, char *out, size_t n,
                      struct md_ctx *ctx)
{
    static const char sql[] = "SELECT current_setting($1)";
    const char *values[] = {name};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_setting", sql, 1, values, &r, ctx);
    if (!rc)
        snprintf(out, n, "%s", PQntuples(r) == 1 ? md__pg_text(r, 0, 0) : "");
    PQclear(r);
    return rc;
}

int64_t md__pg_reconnects(const struct md_pg *pg)
{
    return pg->reconnects;
}

PGconn *md__pg_conn(struct md_pg *pg)
{
    return pg->c;
}
