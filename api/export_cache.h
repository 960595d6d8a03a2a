/* export_cache.h - private to api/: GET /api/v1/export answered from a
 * file built once per options and data version (export_cache.c), with
 * Content-Length, ETag, Range/206 and a gzip twin.
 *
 * Consistency: an export is one snapshot of the database, the layer at
 * data version V (named in the ETag, "<key>-vV"): every row of it comes
 * from the same read transaction, held only while the server writes the
 * file. A request after the layer changed gets (and builds, once) the next
 * version's file.
 */
#ifndef MD_EXPORT_CACHE_H
#define MD_EXPORT_CACHE_H

#include "api_int.h"
#include "export.h"

/* Answer the export `o` (file extension `ext`, "csv" or "geojson") from
 * its file, building it first when the layer's version has none. Sets
 * status (200, 206, 304), headers and c->res's file body. Errors: MD_EIO,
 * MD_ENOSPACE (building), MD_ERANGE (416, with Content-Range: bytes * /size). */
md_err md__export_serve(struct md_call *c, const struct md_export_opts *o, const char *ext) MD_WUR;

#endif
