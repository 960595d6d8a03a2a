/* pg_copy.c - a SpatiaLite store's layers into PostgreSQL (pg_copy.h).
 *
 * Table by table in dependency order (categories before the rows that name
 * them, districts before grids), each a SELECT on the SQLite store and one
 * prepared INSERT with bound parameters per row - or, for the point tables
 * and the reports' history and contacts, one COPY FROM STDIN in text form (a million reports in seconds,
 * not a round trip each) -, all inside one transaction on a connection of
 * its own; closing it without COMMIT rolls everything back, which is the
 * single error path. Columns go as text
 * except doubles (printed with 17 significant digits: the same double
 * arrives) and geometries (SpatiaLite's AsBinary WKB as a binary bytea
 * parameter, ST_GeomFromWKB on the server). Identity sequences are moved
 * past the copied ids at the end, so later inserts get fresh ones.
 */
#include "pg_copy.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "md_buf.h"
#include "pg_store.h"
#include "store_int.h"

#define MAX_COLS 24

/* One table: the SQLite SELECT, the PostgreSQL INSERT ($i = column i-1)
 * and each column's kind: 't' text or integer, 'd' double, 'g' WKB. */
struct copy_table {
    const char *name;
    const char *select_sql;
    const char *insert_sql; /* a COPY ... FROM STDIN for the big point tables */
    const char *kinds;
};

static const struct copy_table tables[] = {
    {"meta", "SELECT key, value FROM meta WHERE key = 'basemap_attribution'",
     "INSERT INTO meta(key, value) VALUES ($1, $2)", "tt"},
    {"calendar_days", "SELECT day, kind, note FROM calendar_days ORDER BY day",
     "INSERT INTO calendar_days(day, kind, note) VALUES ($1, $2, $3)", "ttt"},
    {"facility_categories", "SELECT code, name_zh, name_en, color, sort FROM facility_categories",
     "INSERT INTO facility_categories(code, name_zh, name_en, color, sort)"
     " VALUES ($1, $2, $3, $4, $5)",
     "ttttt"},
    {"categories",
     "SELECT code, kind, group_code, group_zh, group_en, name_zh, name_en, description,"
     " deadline_value, deadline_unit, unit_type, dup_radius_m, attributes, sort FROM categories",
     "INSERT INTO categories(code, kind, group_code, group_zh, group_en, name_zh, name_en,"
     " description, deadline_value, deadline_unit, unit_type, dup_radius_m, attributes, sort)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
     "tttttttttttdtt"},
    {"districts",
     "SELECT rowid, code, name, name_en, label_lon, label_lat, updated_at, AsBinary(geom)"
     " FROM districts ORDER BY rowid",
     "INSERT INTO districts(id, code, name, name_en, label_lon, label_lat, updated_at, geom)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, ST_Multi(ST_GeomFromWKB($8::bytea, 4326)))",
     "ttttddtg"},
    {"grids",
     "SELECT rowid, code, district_code, updated_at, AsBinary(geom) FROM grids ORDER BY rowid",
     "INSERT INTO grids(id, code, district_code, updated_at, geom)"
     " VALUES ($1, $2, $3, $4, ST_Multi(ST_GeomFromWKB($5::bytea, 4326)))",
     "ttttg"},
    {"basemap",
     "SELECT id, src_key, kind, class, name, name_en, min_zoom, minx, miny, maxx, maxy, gen,"
     " updated_at, AsBinary(geom) FROM basemap ORDER BY id",
     "INSERT INTO basemap(id, src_key, kind, class, name, name_en, min_zoom, minx, miny, maxx,"
     " maxy, gen, updated_at, geom) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
     " ST_GeomFromWKB($14::bytea, 4326))",
     "tttttttddddttg"},
    {"facilities",
     "SELECT id, category, name, address, phone, opening_hours, district_code, grid_code, status,"
     " source, updated_at, lon, lat FROM facilities ORDER BY id",
     "COPY facilities(id, category, name, address, phone, opening_hours, district_code,"
     " grid_code, status, source, updated_at, lon, lat) FROM STDIN",
     "tttttttttttdd"},
    {"reports",
     "SELECT id, kind, service_code, description, address, district_code, grid_code, status,"
     " parked_from, channel, media_urls, attributes, facility_id, proposed_change, supporters,"
     " merged_into, token, created_at, updated_at, expected_at, closed_at, lon, lat"
     " FROM reports ORDER BY id",
     "COPY reports(id, kind, service_code, description, address, district_code, grid_code,"
     " status, parked_from, channel, media_urls, attributes, facility_id, proposed_change,"
     " supporters, merged_into, token, created_at, updated_at, expected_at, closed_at, lon, lat)"
     " FROM STDIN",
     "tttttttttttttttttttttdd"},
    /* A report's public JSON shows its last history note (status_note). */
    {"report_history",
     "SELECT id, report_id, action, from_status, to_status, actor_role, actor_id, note, at"
     " FROM report_history ORDER BY id",
     "COPY report_history(id, report_id, action, from_status, to_status, actor_role,"
     " actor_id, note, at) FROM STDIN",
     "ttttttttt"},
    {"report_contacts",
     "SELECT report_id, name, phone, email, device_id, client_addr FROM report_contacts"
     " ORDER BY report_id",
     "COPY report_contacts(report_id, name, phone, email, device_id, client_addr) FROM STDIN",
     "tttttt"},
};

/* The layers' change-tracking triggers are off while they are copied (one change-log row, counter update and notification per row is
 * quadratic in one transaction: every update of the one counter row adds a
 * version to it); afterwards what they maintain is set once and one bulk
 * change (feature_id NULL) per layer covers the rows. DDL is transactional:
 * a failed copy leaves the triggers on. */
static const char *const triggers_off_sql =
    "ALTER TABLE districts DISABLE TRIGGER USER; ALTER TABLE grids DISABLE TRIGGER USER;"
    "ALTER TABLE basemap DISABLE TRIGGER USER;"
    "ALTER TABLE facilities DISABLE TRIGGER USER; ALTER TABLE reports DISABLE TRIGGER USER";
static const char *const triggers_on_sql =
    "ALTER TABLE districts ENABLE TRIGGER USER; ALTER TABLE grids ENABLE TRIGGER USER;"
    "ALTER TABLE basemap ENABLE TRIGGER USER;"
    "ALTER TABLE facilities ENABLE TRIGGER USER; ALTER TABLE reports ENABLE TRIGGER USER;"
    "UPDATE layers l SET row_count = CASE l.id WHEN 0 THEN (SELECT count(*) FROM facilities)"
    "  WHEN 1 THEN (SELECT count(*) FROM reports) WHEN 2 THEN (SELECT count(*) FROM districts)"
    "  WHEN 3 THEN (SELECT count(*) FROM grids) ELSE (SELECT count(*) FROM basemap) END"
    "  WHERE l.id IN (0, 1, 2, 3, 4);"
    "UPDATE report_status_counts c SET n = (SELECT count(*) FROM reports r"
    "  WHERE r.status = c.status);"
    "SELECT md_log_change(0, NULL, min(lon), min(lat), max(lon), max(lat)) FROM facilities"
    "  HAVING count(*) > 0;"
    "SELECT md_log_change(1, NULL, min(lon), min(lat), max(lon), max(lat)) FROM reports"
    "  HAVING count(*) > 0;"
    "SELECT md_log_change(2, NULL, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e))"
    "  FROM (SELECT ST_Extent(geom)::geometry e FROM districts) x WHERE e IS NOT NULL;"
    "SELECT md_log_change(3, NULL, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e))"
    "  FROM (SELECT ST_Extent(geom)::geometry e FROM grids) x WHERE e IS NOT NULL;"
    "SELECT md_log_change(4, NULL, min(minx), min(miny), max(maxx), max(maxy)) FROM basemap"
    "  HAVING count(*) > 0";

/* The tables whose id is an identity column. */
static const char *const identity_sql =
    "SELECT setval(pg_get_serial_sequence(t, 'id'), m + 1, false) FROM (VALUES"
    " ('districts', (SELECT coalesce(max(id), 0) FROM districts)),"
    " ('grids', (SELECT coalesce(max(id), 0) FROM grids)),"
    " ('basemap', (SELECT coalesce(max(id), 0) FROM basemap)),"
    " ('facilities', (SELECT coalesce(max(id), 0) FROM facilities)),"
    " ('reports', (SELECT coalesce(max(id), 0) FROM reports)),"
    " ('report_history', (SELECT coalesce(max(id), 0) FROM report_history))) AS v(t, m)";

static md_err exec_plain(PGconn *c, const char *sql, struct md_ctx *ctx)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    md_err rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? MD_OK
                                                               : md__pg_fail(c, r, sql, ctx);
    PQclear(r);
    return rc;
}

/* Insert the current row of `st` with the prepared statement `t->name`. */
static md_err insert_row(PGconn *c, const struct copy_table *t, sqlite3_stmt *st,
                         struct md_ctx *ctx)
{
    const char *values[MAX_COLS];
    int lengths[MAX_COLS] = {0}, formats[MAX_COLS] = {0};
    char doubles[MAX_COLS][MD_PG_DOUBLE_CHARS];
    int n = (int)strlen(t->kinds);
    for (int i = 0; i < n; i++) {
        values[i] = NULL;
        if (sqlite3_column_type(st, i) == SQLITE_NULL)
            continue;
        if (t->kinds[i] == 'd') {
            md__pg_double_param(sqlite3_column_double(st, i), doubles[i]);
            values[i] = doubles[i];
        } else if (t->kinds[i] == 'g') {
            values[i] = sqlite3_column_blob(st, i);
            lengths[i] = sqlite3_column_bytes(st, i);
            formats[i] = 1;
        } else {
            values[i] = (const char *)sqlite3_column_text(st, i);
        }
    }
    PGresult *r = PQexecPrepared(c, t->name, n, values, lengths, formats, 0);
    md_err rc = PQresultStatus(r) == PGRES_COMMAND_OK ? MD_OK : md__pg_fail(c, r, t->name, ctx);
    PQclear(r);
    return rc;
}

/* Column i of st in COPY's text form: \N for NULL, doubles with 17
 * digits, text with backslash, tab, newline and carriage return escaped. */
static md_err copy_value(struct md_buf *b, const struct copy_table *t, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return md_buf_puts(b, "\\N");
    if (t->kinds[i] == 'd') {
        char d[MD_PG_DOUBLE_CHARS];
        md__pg_double_param(sqlite3_column_double(st, i), d);
        return md_buf_puts(b, d);
    }
    md_err rc = MD_OK;
    for (const char *p = (const char *)sqlite3_column_text(st, i); !rc && p && *p; p++) {
        switch (*p) {
        case '\\': rc = md_buf_puts(b, "\\\\"); break;
        case '\t': rc = md_buf_puts(b, "\\t"); break;
        case '\n': rc = md_buf_puts(b, "\\n"); break;
        case '\r': rc = md_buf_puts(b, "\\r"); break;
        default: rc = md_buf_putc(b, *p);
        }
    }
    return rc;
}

static md_err copy_flush(PGconn *c, struct md_buf *b, struct md_ctx *ctx)
{
    if (b->len && PQputCopyData(c, b->data, (int)b->len) != 1)
        return md__pg_fail(c, NULL, "COPY", ctx);
    md_buf_reset(b);
    return MD_OK;
}

/* COPY t from the rows of st (bound), sent in chunks of about 1 MiB. */
static md_err copy_rows(PGconn *c, struct md_store *src, const struct copy_table *t,
                        sqlite3_stmt *st, struct md_ctx *ctx)
{
    PGresult *r = PQexec(c, t->insert_sql);
    md_err rc = PQresultStatus(r) == PGRES_COPY_IN ? MD_OK : md__pg_fail(c, r, t->name, ctx);
    PQclear(r);
    if (rc)
        return rc;
    struct md_buf b;
    md_buf_init(&b, (size_t)64 << 20);
    int n = (int)strlen(t->kinds), src_rc = SQLITE_DONE;
    while (!rc && (src_rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; !rc && i < n; i++)
            rc = copy_value(&b, t, st, i) || md_buf_putc(&b, i + 1 < n ? '\t' : '\n')
                     ? md_fail(ctx, MD_ENOMEM, "COPY row")
                     : MD_OK;
        if (!rc && b.len >= ((size_t)1 << 20))
            rc = copy_flush(c, &b, ctx);
    }
    if (!rc && src_rc != SQLITE_DONE)
        rc = md_store_fail(src, src_rc, t->name, ctx);
    if (!rc)
        rc = copy_flush(c, &b, ctx);
    md_buf_free(&b);
    if (PQputCopyEnd(c, rc ? "mapd: copy abandoned" : NULL) != 1 && !rc)
        rc = md__pg_fail(c, NULL, "COPY end", ctx);
    while ((r = PQgetResult(c))) {
        if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = md__pg_fail(c, r, t->name, ctx);
        PQclear(r);
    }
    return rc;
}

static md_err copy_table(PGconn *c, struct md_store *src, const struct copy_table *t,
                         struct md_ctx *ctx)
{
    if (strncmp(t->insert_sql, "COPY", 4) == 0) {
        sqlite3_stmt *st = NULL;
        md_err rc = md_store_stmt(src, t->select_sql, &st, ctx);
        if (!rc)
            rc = copy_rows(c, src, t, st, ctx);
        if (st)
            sqlite3_reset(st);
        return rc;
    }
    PGresult *r = PQprepare(c, t->name, t->insert_sql, (int)strlen(t->kinds), NULL);
    md_err rc = PQresultStatus(r) == PGRES_COMMAND_OK ? MD_OK : md__pg_fail(c, r, t->name, ctx);
    PQclear(r);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = md_store_stmt(src, t->select_sql, &st, ctx);
    if (rc)
        return rc;
    int src_rc;
    while (!rc && (src_rc = sqlite3_step(st)) == SQLITE_ROW)
        rc = insert_row(c, t, st, ctx);
    if (!rc && src_rc != SQLITE_DONE)
        rc = md_store_fail(src, src_rc, t->name, ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_pg_copy_from_store(const char *conninfo, struct md_store *src, struct md_ctx *ctx)
{
    if (src->backend != MD_BACKEND_SQLITE)
        return md_fail(ctx, MD_EINVAL, "the copy's source must be a SQLite store");
    PGconn *c = PQconnectdb(conninfo);
    md_err rc = PQstatus(c) == CONNECTION_OK ? MD_OK : md__pg_fail(c, NULL, "connect", ctx);
    if (!rc)
        rc = exec_plain(c, "BEGIN", ctx);
    if (!rc)
        rc = exec_plain(c, triggers_off_sql, ctx);
    if (!rc)
        rc = md_store_read_begin(src, ctx);
    for (size_t i = 0; !rc && i < sizeof(tables) / sizeof(tables[0]); i++)
        rc = copy_table(c, src, &tables[i], ctx);
    md_store_read_end(src);
    if (!rc)
        rc = exec_plain(c, triggers_on_sql, ctx);
    if (!rc)
        rc = exec_plain(c, identity_sql, ctx);
    if (!rc)
        rc = exec_plain(c, "COMMIT", ctx);
    PQfinish(c); /* without COMMIT: rolled back */
    return rc;
}
