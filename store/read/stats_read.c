/* stats_read.c - the scan of filtered reports behind planner statistics
 * (see stats_read.h). The statement is prepared once per connection and
 * cached; rows are read into one md_stats_row on the stack, so the scan
 * allocates nothing per row. Parameters ?10..?16 are the filters with the
 * numbering query.c uses, ?17..?20 the box; ?1..?9 are unused (NULL).
 */
#include "stats_read.h"
#include "store_int.h"
#include "pg_stats_read.h"

/* The filtered reports: ?10.. as in query.c, plus ?17..?20 a bbox. */
/* clang-format off */
static const char reports_sql[] =
    "SELECT t.service_code, c.group_code, t.district_code, t.status, t.kind, t.channel,"
    " t.created_at, t.closed_at, t.expected_at, t.lon, t.lat"
    " FROM reports t JOIN categories c ON c.code = t.service_code WHERE 1"
    " AND (?10 IS NULL OR " MD_SQL_IN_LIST("?10", "t.service_code") ") AND (?11 IS NULL OR c.group_code = ?11)"
    " AND (?12 IS NULL OR " MD_SQL_IN_LIST("?12", "t.status") ") AND (?13 IS NULL OR t.district_code = ?13)"
    " AND (?14 IS NULL OR t.kind = ?14)"
    " AND (?15 IS NULL OR t.created_at >= ?15) AND (?16 IS NULL OR t.created_at <= ?16)"
    " AND (?17 IS NULL OR (t.lon BETWEEN ?17 AND ?19 AND t.lat BETWEEN ?18 AND ?20))";
/* clang-format on */

/* Result columns: the MD_STATS_NTEXT texts in enum md_stats_text order, then these. */
enum { C_CREATED = MD_STATS_NTEXT, C_CLOSED, C_EXPECTED, C_LON, C_LAT };

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_scope(sqlite3_stmt *st, const struct md_stats_scope *sc)
{
    bind_text_or_null(st, 10, sc->filter.category);
    bind_text_or_null(st, 11, sc->filter.group);
    bind_text_or_null(st, 12, sc->filter.status);
    bind_text_or_null(st, 13, sc->filter.district);
    bind_text_or_null(st, 14, sc->filter.kind);
    if (sc->filter.has_from)
        sqlite3_bind_int64(st, 15, sc->filter.from);
    if (sc->filter.has_to)
        sqlite3_bind_int64(st, 16, sc->filter.to);
    if (sc->has_box) {
        sqlite3_bind_double(st, 17, sc->box.minx);
        sqlite3_bind_double(st, 18, sc->box.miny);
        sqlite3_bind_double(st, 19, sc->box.maxx);
        sqlite3_bind_double(st, 20, sc->box.maxy);
    }
}

static void read_row(sqlite3_stmt *st, unsigned columns, struct md_stats_row *row)
{
    for (int i = 0; i < MD_STATS_NTEXT; i++) {
        if (columns & MD_STATS_COL_TEXT(i)) {
            const unsigned char *v = sqlite3_column_text(st, i);
            row->text[i] = v ? (const char *)v : "";
        }
    }
    if (columns & MD_STATS_COL_TIMES) {
        row->created_at = sqlite3_column_int64(st, C_CREATED);
        row->has_closed_at = sqlite3_column_type(st, C_CLOSED) != SQLITE_NULL;
        row->closed_at = sqlite3_column_int64(st, C_CLOSED);
        row->has_expected_at = sqlite3_column_type(st, C_EXPECTED) != SQLITE_NULL;
        row->expected_at = sqlite3_column_int64(st, C_EXPECTED);
    }
    if (columns & MD_STATS_COL_POINT) {
        row->lon = sqlite3_column_double(st, C_LON);
        row->lat = sqlite3_column_double(st, C_LAT);
    }
}

md_err md_store_stats_reports(struct md_store *s, const struct md_stats_scope *scope,
                              unsigned columns, md_stats_row_fn fn, void *userdata,
                              struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_stats_reports(s->pg, scope, columns, fn, userdata, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, reports_sql, &st, ctx);
    if (rc)
        return rc;
    bind_scope(st, scope);
    struct md_stats_row row = {.text = {NULL}, .created_at = 0};
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        read_row(st, columns, &row);
        if ((rc = fn(&row, userdata)))
            break;
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "stats", ctx);
    sqlite3_reset(st);
    return rc;
}
