/* pg_copy.h - the city's layers from a SpatiaLite store into PostgreSQL
 * (issue 13): the same rows, under the same ids, in a database that has
 * mapd's PostGIS schema (pg_schema.h), so both backends can be compared
 * and a SQLite city moved over. */
#ifndef MD_PG_COPY_H
#define MD_PG_COPY_H

#include "md_err.h"

struct md_store;

/* Copy facility_categories, categories, districts, grids, facilities,
 * reports (the rows the tile reads draw; ids = SQLite's ids and rowids),
 * and the reports' history and contacts (a report's public JSON shows its
 * last history note)
 * from the SQLite store `src`, read in one snapshot, into the database at
 * `conninfo` (a libpq connection string), in one transaction: on any error
 * nothing is written. The PostGIS triggers run as for any writer (one
 * change per row in change_log). Errors: MD_EINVAL (src is not a SQLite
 * store), MD_EDB (cannot connect, a row refused - e.g. the database
 * already has it: the server's message in ctx), the reads' errors. */
md_err md_pg_copy_from_store(const char *conninfo, struct md_store *src, struct md_ctx *ctx) MD_WUR;

#endif
