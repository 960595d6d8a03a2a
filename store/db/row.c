/* row.c - md_row (row.h) over SQLite: the accessors read the stepped
 * statement the row wraps (struct md_row is in store_int.h). */
#include "row.h"
#include "store_int.h"

bool md_row_is_null(const struct md_row *r, int col)
{
    return sqlite3_column_type(r->st, col) == SQLITE_NULL;
}

int64_t md_row_int(const struct md_row *r, int col)
{
    return sqlite3_column_int64(r->st, col);
}

double md_row_double(const struct md_row *r, int col)
{
    return sqlite3_column_double(r->st, col);
}

const char *md_row_text(const struct md_row *r, int col)
{
    return (const char *)sqlite3_column_text(r->st, col);
}

const void *md_row_blob(const struct md_row *r, int col, int *len)
{
    const void *p = sqlite3_column_blob(r->st, col);
    *len = p ? sqlite3_column_bytes(r->st, col) : 0;
    return p;
}
