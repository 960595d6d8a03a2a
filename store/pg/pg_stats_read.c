/* pg_stats_read.c - the scan behind planner statistics on PostgreSQL
 * (pg_stats_read.h).
 *
 * stats_read.c's statement, condition for condition (comma lists through
 * strpos as SQLite's instr, the box as BETWEEN on the exact lon/lat), read
 * in id order - the order of SQLite's rowid scan, so sums over the rows
 * add up in the same order - in batches after an id cursor, so memory
 * stays bounded whatever the table's size. All batches read one snapshot
 * (REPEATABLE READ) unless the caller holds one.
 */
#include "pg_stats_read.h"

#include "pg_store.h"

#include <stdio.h>

/* Rows per batch. */
#define BATCH_MAX 65536

/* $1 category list, $2 group, $3 status list, $4 district, $5 kind,
 * $6 from, $7 to, $8..$11 the box, $12 the id cursor, $13 the batch size. */
/* clang-format off */
#define IN_LIST(p, col) "strpos(',' || " p "::text || ',', ',' || " col " || ',') > 0"
static const char reports_sql[] =
    "SELECT t.service_code, c.group_code, t.district_code, t.status, t.kind, t.channel,"
    " t.created_at, t.closed_at, t.expected_at, t.lon, t.lat, t.id"
    " FROM reports t JOIN categories c ON c.code = t.service_code WHERE t.id > $12::bigint"
    " AND ($1::text IS NULL OR " IN_LIST("$1", "t.service_code") ")"
    " AND ($2::text IS NULL OR c.group_code = $2::text)"
    " AND ($3::text IS NULL OR " IN_LIST("$3", "t.status") ")"
    " AND ($4::text IS NULL OR t.district_code = $4::text)"
    " AND ($5::text IS NULL OR t.kind = $5::text)"
    " AND ($6::bigint IS NULL OR t.created_at >= $6::bigint)"
    " AND ($7::bigint IS NULL OR t.created_at <= $7::bigint)"
    " AND ($8::float8 IS NULL OR (t.lon BETWEEN $8::float8 AND $10::float8"
    "   AND t.lat BETWEEN $9::float8 AND $11::float8))"
    " ORDER BY t.id LIMIT $13::bigint";
/* clang-format on */

/* Result columns: the MD_STATS_NTEXT texts in enum md_stats_text order, then these. */
enum { C_CREATED = MD_STATS_NTEXT, C_CLOSED, C_EXPECTED, C_LON, C_LAT, C_ID };

static void read_row(const PGresult *r, int i, unsigned columns, struct md_stats_row *row)
{
    for (int t = 0; t < MD_STATS_NTEXT; t++)
        if (columns & MD_STATS_COL_TEXT(t))
            row->text[t] = md__pg_text(r, i, t);
    if (columns & MD_STATS_COL_TIMES) {
        row->created_at = md__pg_int(r, i, C_CREATED);
        row->has_closed_at = !PQgetisnull(r, i, C_CLOSED);
        row->closed_at = md__pg_int(r, i, C_CLOSED);
        row->has_expected_at = !PQgetisnull(r, i, C_EXPECTED);
        row->expected_at = md__pg_int(r, i, C_EXPECTED);
    }
    if (columns & MD_STATS_COL_POINT) {
        row->lon = md__pg_double(r, i, C_LON);
        row->lat = md__pg_double(r, i, C_LAT);
    }
}

md_err md__pg_stats_reports(struct md_pg *pg, const struct md_stats_scope *sc, unsigned columns,
                            md_stats_row_fn fn, void *userdata, struct md_ctx *ctx)
{
    char from[24], to[24], box[4][MD_PG_DOUBLE_CHARS], cursor[24], batch[24];
    const char *v[13] = {sc->filter.category, sc->filter.group, sc->filter.status,
                         sc->filter.district, sc->filter.kind};
    if (sc->filter.has_from) {
        snprintf(from, sizeof(from), "%lld", (long long)sc->filter.from);
        v[5] = from;
    }
    if (sc->filter.has_to) {
        snprintf(to, sizeof(to), "%lld", (long long)sc->filter.to);
        v[6] = to;
    }
    if (sc->has_box) {
        md__pg_double_param(sc->box.minx, box[0]);
        md__pg_double_param(sc->box.miny, box[1]);
        md__pg_double_param(sc->box.maxx, box[2]);
        md__pg_double_param(sc->box.maxy, box[3]);
        for (int i = 0; i < 4; i++)
            v[7 + i] = box[i];
    }
    snprintf(batch, sizeof(batch), "%d", BATCH_MAX);
    v[11] = cursor;
    v[12] = batch;
    bool began = md__pg_txn_state(pg) == MD_TXN_NONE;
    md_err rc = began ? md__pg_read_begin(pg, ctx) : MD_OK;
    struct md_stats_row row = {.text = {NULL}, .created_at = 0};
    int64_t after = 0;
    for (int rows = BATCH_MAX; !rc && rows == BATCH_MAX;) {
        snprintf(cursor, sizeof(cursor), "%lld", (long long)after);
        PGresult *r = NULL;
        if ((rc = md__pg_query(pg, "md_stats_reports", reports_sql, 13, v, &r, ctx)))
            break;
        rows = PQntuples(r);
        for (int i = 0; !rc && i < rows; i++) {
            read_row(r, i, columns, &row);
            rc = fn(&row, userdata);
        }
        if (rows > 0)
            after = md__pg_int(r, rows - 1, C_ID);
        PQclear(r);
    }
    if (began)
        md__pg_read_end(pg);
    return rc;
}
