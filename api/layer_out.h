/* layer_out.h - private to api/: the public fields of each layer as GeoJSON
 * features and CSV rows (queries, OGC API, exports, `mapd export`).
 *
 * Which fields are public is decided by md_layer_public() (store's
 * layer_fields.h), the one list. Usage: hand each row of a store read
 * (md_store_feature_get, md_store_scan_next) to md__row_geojson /
 * md__row_csv. Points are written in `crs`; polygons (districts, grids)
 * too, vertex by vertex.
 */
#ifndef MD_LAYER_OUT_H
#define MD_LAYER_OUT_H

#include "coords.h"
#include "feature_query.h"
#include "md_buf.h"
#include "layer_fields.h"
#include "row.h"
#include "store.h"

struct md_feature_opts {
    enum md_crs crs;
    int tz_offset_min;     /* times are written in this offset */
    const char *self_base; /* when set: add links self (base + "/" + id) and collection */
    const char *collection_url;
    bool id_in_properties; /* exports: also write the id as properties.id (readers
                              such as OGR then keep it as a field) */
};

/* Append row `r` (a public row of `layer`) as a GeoJSON Feature; `distance_m` (may be
 * NULL) adds properties.distance_m. */
md_err md__row_geojson(const struct md_row *r, enum md_layer layer, const struct md_feature_opts *o,
                       const double *distance_m, struct md_buf *b) MD_WUR;
/* A point layer's feature in pieces, byte for byte as md__row_geojson
 * writes it: open (type, id, geometry in crs, "properties":{), the
 * properties from md__row_props (every public column but id, lon, lat),
 * then close (",distance_m" when given, and the braces). */
md_err md__point_feature_open(struct md_buf *b, int64_t id, double lon, double lat,
                              enum md_crs crs) MD_WUR;
md_err md__row_props(const struct md_row *r, enum md_layer layer, int tz_offset_min,
                     struct md_buf *b) MD_WUR;
md_err md__point_feature_close(struct md_buf *b, const double *distance_m) MD_WUR;
/* CSV (RFC 4180): the header line, and the current row as one line. Point
 * layers end with lon,lat; polygon layers with a WKT column. */
md_err md__csv_header(enum md_layer layer, struct md_buf *b) MD_WUR;
md_err md__row_csv(const struct md_row *r, enum md_layer layer, const struct md_feature_opts *o,
                   struct md_buf *b) MD_WUR;

/* A double in the shortest form that reads back to the same value ("null"
 * for NaN/inf). */
md_err md__put_double(struct md_buf *b, double v) MD_WUR;

#endif
