/* pg_schema.c - mapd's schema on PostgreSQL/PostGIS (pg_schema.h).
 *
 * Creation is one transaction on a connection of its own: extension,
 * change log (pg_changelog_sql.h), tables and triggers (pg_schema_sql.h),
 * then the meta rows. The probe for an existing schema runs inside that
 * transaction, so two concurrent `init`s cannot both succeed (the second
 * fails on the first's tables once it commits). Closing the connection
 * without COMMIT rolls everything back, which is the single error path.
 */
#include "pg_schema.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "md_time.h"
#include "pg_changelog_sql.h"
#include "pg_schema_sql.h"
#include "store.h"

static md_err pg_fail(PGconn *c, const char *step, struct md_ctx *ctx)
{
    return md_fail(ctx, MD_EDB, "postgresql %s: %s", step, PQerrorMessage(c));
}

/* Run `sql` (one or more statements, no parameters). */
static md_err exec_sql(PGconn *c, const char *sql, const char *step, struct md_ctx *ctx)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? MD_OK : pg_fail(c, step, ctx);
}

static md_err connect_db(const char *conninfo, PGconn **out, struct md_ctx *ctx)
{
    *out = PQconnectdb(conninfo);
    if (PQstatus(*out) == CONNECTION_OK)
        return MD_OK;
    md_err rc = pg_fail(*out, "connect", ctx);
    PQfinish(*out);
    *out = NULL;
    return rc;
}

/* One integer from `sql` (one row, one column; NULL reads 0). */
static md_err query_int(PGconn *c, const char *sql, const char *step, int *out, struct md_ctx *ctx)
{
    PGresult *r = PQexec(c, sql);
    md_err rc = MD_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        rc = pg_fail(c, step, ctx);
    else
        *out = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* The version in meta, 0 without a meta table (two statements: the second
 * would not parse without the table). */
static md_err read_version(PGconn *c, int *out, struct md_ctx *ctx)
{
    int has_meta = 0;
    *out = 0;
    md_err rc = query_int(c, "SELECT (to_regclass('meta') IS NOT NULL)::integer",
                          "looking for the schema", &has_meta, ctx);
    if (!rc && has_meta)
        rc = query_int(c,
                       "SELECT coalesce(max(value::integer), 0) FROM meta"
                       " WHERE key = 'schema_version'",
                       "reading the schema version", out, ctx);
    return rc;
}

static md_err write_meta(PGconn *c, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO meta(key, value) VALUES ('schema_version', $1),"
                              " ('created_at', $2), ('generator', 'mapd'), ('backend', 'postgis')";
    char version[16], created[32];
    snprintf(version, sizeof(version), "%d", MD_SCHEMA_VERSION);
    snprintf(created, sizeof(created), "%" PRId64, md_time_now());
    const char *params[] = {version, created};
    PGresult *r = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    return st == PGRES_COMMAND_OK ? MD_OK : pg_fail(c, "meta", ctx);
}

md_err md_pg_schema_create(const char *conninfo, struct md_ctx *ctx)
{
    PGconn *c = NULL;
    int version = 0;
    md_err rc = connect_db(conninfo, &c, ctx);
    if (!rc) /* no NOTICE on stderr for an extension that is already there */
        rc = exec_sql(c, "SET client_min_messages = warning; BEGIN", "begin", ctx);
    if (!rc)
        rc = read_version(c, &version, ctx);
    if (!rc && version != 0)
        rc = md_fail(ctx, MD_ECONFLICT, "the database already has a mapd schema (version %d)",
                     version);
    if (!rc)
        rc = exec_sql(c, "CREATE EXTENSION IF NOT EXISTS postgis", "create extension postgis", ctx);
    if (!rc)
        rc = exec_sql(c, pg_changelog_sql, "change log", ctx);
    if (!rc)
        rc = exec_sql(c, pg_schema_sql, "schema", ctx);
    if (!rc)
        rc = write_meta(c, ctx);
    if (!rc)
        rc = exec_sql(c, "COMMIT", "commit", ctx);
    PQfinish(c); /* without COMMIT: rolled back */
    return rc;
}

md_err md_pg_schema_version(const char *conninfo, int *out, struct md_ctx *ctx)
{
    PGconn *c = NULL;
    *out = 0;
    md_err rc = connect_db(conninfo, &c, ctx);
    if (!rc)
        rc = read_version(c, out, ctx);
    PQfinish(c);
    return rc;
}
