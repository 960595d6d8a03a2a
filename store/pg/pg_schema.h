/* pg_schema.h - mapd's schema on PostgreSQL/PostGIS (issue 13): creating it
 * and reading its version. The tables, checks, indexes and change-tracking
 * triggers are those of the SpatiaLite schema (schema_sql.h) in PostGIS
 * form (pg_schema_sql.h, pg_changelog_sql.h). */
#ifndef MD_PG_SCHEMA_H
#define MD_PG_SCHEMA_H

#include "md_err.h"

/* Create schema version MD_SCHEMA_VERSION in the database at `conninfo` (a
 * libpq connection string), in one transaction: on any error nothing is
 * left behind. Needs the postgis extension installed, or the right to
 * create it. Errors: MD_EDB (cannot connect, SQL failed: the server's
 * message in ctx), MD_ECONFLICT (the database already has a mapd schema). */
md_err md_pg_schema_create(const char *conninfo, struct md_ctx *ctx) MD_WUR;

/* The schema version of the database at `conninfo` into *out: 0 when it
 * has no mapd schema. Errors: MD_EDB. */
md_err md_pg_schema_version(const char *conninfo, int *out, struct md_ctx *ctx) MD_WUR;

#endif
