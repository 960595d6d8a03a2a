/* row.h - one row of a store read, whatever the backend: typed access to
 * its columns by position.
 *
 * A store read that hands out wide rows (the public fields of a layer, in
 * the order of md_layer_public(), see layer_fields.h) feeds them to a
 * callback as a `const struct md_row *`. The row and everything read from
 * it (texts, blobs) are borrowed: valid until the callback returns or the
 * cursor moves. Backends implement these accessors over their own result
 * (SQLite: the stepped statement; PostgreSQL: a PGresult row).
 */
#ifndef MD_ROW_H
#define MD_ROW_H

#include "md_err.h"
#include <stdbool.h>
#include <stdint.h>

struct md_row;

bool md_row_is_null(const struct md_row *r, int col);
int64_t md_row_int(const struct md_row *r, int col);
double md_row_double(const struct md_row *r, int col);
/* NUL-terminated text; NULL for SQL NULL. */
const char *md_row_text(const struct md_row *r, int col);
/* Bytes of a blob column and their count (NULL/0 for SQL NULL). */
const void *md_row_blob(const struct md_row *r, int col, int *len);

/* Called once per row; an error stops the read and is returned by it. */
typedef md_err (*md_row_fn)(const struct md_row *row, void *userdata);

#endif
