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
    bool txn_open; /* between our BEGIN and its COMMIT/ROLLBACK */
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

/* Outside a transaction, a connection that is gone is made again
 * (PQreset: the same conninfo, so a multi-host URI with
 * target_session_attrs=read-write finds the new primary after a failover);
 * its prepared statements went with it. Inside one nothing is retried: the
 * transaction is lost, and its caller hears MD_EBUSY (503, retry). */
static md_err ensure_connected(struct md_pg *pg, struct md_ctx *ctx)
{
    if (PQstatus(pg->c) == CONNECTION_OK)
        return MD_OK;
    if (pg->txn_open)
        return md_fail(ctx, MD_EBUSY, "postgresql: the connection was lost inside a transaction");
    PQreset(pg->c);
    for (size_t i = 0; i < pg->n; i++)
        free(pg->names[i]);
    pg->n = 0;
    if (PQstatus(pg->c) != CONNECTION_OK) /* MD_EBUSY: the connection is bad */
        return md__pg_fail(pg->c, NULL, "reconnect", ctx);
    pg->reconnects++;
    PGresult *r = PQexec(pg->c, "SET client_min_messages = warning");
    PQclear(r);
    return MD_OK;
}

int64_t md__pg_reconnects(const struct md_pg *pg)
{
    return pg->reconnects;
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

md_err md__pg_read_begin(struct md_pg *pg, struct md_ctx *ctx)
{
    md_err rc = ensure_connected(pg, ctx);
    if (!rc)
        rc = exec_plain(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", ctx);
    pg->txn_open = rc == MD_OK;
    return rc;
}

void md__pg_read_end(struct md_pg *pg)
{
    pg->txn_open = false;
    if (PQtransactionStatus(pg->c) == PQTRANS_IDLE)
        return;
    if (exec_plain(pg, "COMMIT", NULL))
        PQclear(PQexec(pg->c, "ROLLBACK"));
}

enum md_txn_state md__pg_txn_state(struct md_pg *pg)
{
    switch (PQtransactionStatus(pg->c)) {
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR:
    case PQTRANS_ACTIVE: return MD_TXN_READ;
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
    *out = NULL;
    md_err rc = ensure_connected(pg, ctx);
    for (int attempt = 0; !rc; attempt++) {
        rc = prepare(pg, name, sql, n, ctx);
        if (rc)
            break;
        PGresult *r = PQexecPrepared(pg->c, name, n, values, NULL, NULL, 1);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            *out = r;
            return MD_OK;
        }
        rc = md__pg_fail(pg->c, r, name, ctx);
        PQclear(r);
        /* A statement of its own that met a dead connection runs once more
         * on a new one (a read, or a write that did not commit). */
        if (attempt > 0 || pg->txn_open || PQstatus(pg->c) == CONNECTION_OK)
            break;
        if (ctx)
            md_ctx_init(ctx);
        rc = ensure_connected(pg, ctx);
    }
    return rc;
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

PGconn *md__pg_conn(struct md_pg *pg)
{
    return pg->c;
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
