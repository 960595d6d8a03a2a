/* row.c - md_row (row.h) over SQLite (the stepped statement the row wraps)
 * and over PostgreSQL (a row of a binary result: int2/4/8, float4/8, text,
 * bytea; a number column asked for as text is printed into the row's
 * scratch, as SQLite would print it). struct md_row is in store_int.h. */
#include "row.h"
#include "store_int.h"
#include "pg_store.h"

#include <stdio.h>

/* PostgreSQL type OIDs (pg_type.dat). */
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701

bool md_row_is_null(const struct md_row *r, int col)
{
    if (r->pg)
        return PQgetisnull(r->pg, r->pg_row, col);
    return sqlite3_column_type(r->st, col) == SQLITE_NULL;
}

int64_t md_row_int(const struct md_row *r, int col)
{
    if (r->pg)
        return md__pg_int(r->pg, r->pg_row, col);
    return sqlite3_column_int64(r->st, col);
}

double md_row_double(const struct md_row *r, int col)
{
    if (r->pg) {
        Oid t = PQftype(r->pg, col);
        return t == OID_FLOAT8 || t == OID_FLOAT4 ? md__pg_double(r->pg, r->pg_row, col)
                                                  : (double)md__pg_int(r->pg, r->pg_row, col);
    }
    return sqlite3_column_double(r->st, col);
}

const char *md_row_text(const struct md_row *r, int col)
{
    if (!r->pg)
        return (const char *)sqlite3_column_text(r->st, col);
    if (PQgetisnull(r->pg, r->pg_row, col))
        return NULL;
    Oid t = PQftype(r->pg, col);
    if (col >= MD_ROW_MAX_COLS || !r->scratch ||
        (t != OID_INT8 && t != OID_INT4 && t != OID_INT2 && t != OID_FLOAT8 && t != OID_FLOAT4))
        return PQgetvalue(r->pg, r->pg_row, col);
    if (t == OID_FLOAT8 || t == OID_FLOAT4)
        snprintf(r->scratch[col], sizeof(r->scratch[col]), "%.15g",
                 md__pg_double(r->pg, r->pg_row, col));
    else
        snprintf(r->scratch[col], sizeof(r->scratch[col]), "%lld",
                 (long long)md__pg_int(r->pg, r->pg_row, col));
    return r->scratch[col];
}

const void *md_row_blob(const struct md_row *r, int col, int *len)
{
    if (r->pg) {
        bool null = PQgetisnull(r->pg, r->pg_row, col);
        *len = null ? 0 : PQgetlength(r->pg, r->pg_row, col);
        return null ? NULL : PQgetvalue(r->pg, r->pg_row, col);
    }
    const void *p = sqlite3_column_blob(r->st, col);
    *len = p ? sqlite3_column_bytes(r->st, col) : 0;
    return p;
}
