/* export.h - streaming a layer's public fields as GeoJSON or CSV, for
 * GET /api/v1/export/{layer}.geojson|.csv and `mapd export`.
 *
 * An export reads through its own read-only connection inside one read
 * transaction, so the whole file is one consistent snapshot however long
 * the client takes, and the serving connection stays free. Rows come in
 * id (or code) order; each md_export_next() call appends a bounded chunk.
 */
#ifndef MD_EXPORT_H
#define MD_EXPORT_H

#include "coords.h"
#include "md_buf.h"
#include "query.h"

struct md_export_opts {
    enum md_layer layer;
    bool csv;                     /* else GeoJSON FeatureCollection */
    enum md_crs crs;              /* coordinates written in this CRS */
    int tz_offset_min;            /* times written at this offset */
    struct md_query_filter filter; /* strings copied by md_export_open */
    bool has_box;
    struct md_bbox box;           /* WGS84; points inside (edges included) */
};

struct md_export;

/* Open an export of the database at `db_path`. Caller frees with
 * md_export_free(). Errors: MD_EIO/MD_EDB from opening, MD_ENOMEM. */
md_err md_export_open(const char *db_path, const struct md_export_opts *o, struct md_export **out,
                      struct md_ctx *ctx) MD_WUR;
/* Append the next chunk (about 256 KiB) to `out`: MD_OK while more
 * follows, MD_ENOTFOUND once the final bytes have been appended, other
 * errors on failure (detail in the export's own context: md_export_error). */
md_err md_export_next(struct md_export *e, struct md_buf *out) MD_WUR;
/* The layer's data version (layers.version) in the export's snapshot. */
int64_t md_export_version(const struct md_export *e);
/* Rows written so far. */
int64_t md_export_rows(const struct md_export *e);
const struct md_ctx *md_export_error(const struct md_export *e);
void md_export_free(struct md_export *e);

#endif
