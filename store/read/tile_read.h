/* tile_read.h - the rows a vector tile is drawn from: the points of a point
 * layer in a box, the polygons of districts and grids meeting a box, and the
 * districts' label points (tiles/tile_render.c turns them into MVT).
 *
 * Rows are fed to a callback one at a time: points in the backend's index
 * order (stable for one state of the database; the renderer sorts them by
 * id), polygons and labels by id, so every backend hands out the same
 * sequence of rows; every pointer in a row is borrowed
 * until the callback returns, so copy what must outlive it. A callback's
 * non-zero md_err stops the read and is returned as is. Reads run inside the
 * caller's read snapshot when one is open (md_store_read_begin). Nothing here
 * names a database engine: a backend implements these three functions
 * (SpatiaLite: tile_read.c; PostGIS: pg/pg_tile_read.c, chosen by the
 * store's backend).
 */
#ifndef MD_TILE_READ_H
#define MD_TILE_READ_H

#include "md_err.h"
#include "md_types.h"
#include <stdint.h>
#include <stddef.h>

struct md_store;

/* Point layers keep each point's z18 Web Mercator tile beside it (the
 * schema's tile key), so a tile-sized read can be a few key ranges. */
#define MD_STORE_TILE_KEY_ZOOM 18

/* The z18 tiles covering a query box: columns x0..x1, rows y0..y1
 * (tiles/tile_math.h md_tile_range_covering); empty when x0 > x1. A hint:
 * the backend picks its index with it and may ignore it; the rows returned
 * are decided by the box alone. */
struct md_store_tile_span {
    uint32_t x0, y0, x1, y1;
};

/* One point of facilities or reports with its public tile fields. Strings
 * are never NULL ("" when the layer has no such field). */
struct md_tile_point {
    int64_t id;
    double lon, lat;
    const char *category; /* facilities.category, reports.service_code */
    const char *name;     /* facilities only */
    const char *status;
    const char *kind;                            /* reports only */
    int64_t created_at, expected_at, supporters; /* reports only (else 0); expected_at 0 = none */
};
typedef md_err (*md_tile_point_fn)(const struct md_tile_point *p, void *userdata);
/* Call fn for each point of `layer` (MD_LAYER_FACILITIES or MD_LAYER_REPORTS)
 * whose lon/lat lies in `box`, and possibly a few just outside it (an index
 * with rounded bounds): the caller clips. `span` (may be NULL) covers box.
 * Errors: MD_EINVAL (another layer), MD_EDB & co. (md_store_fail), or fn's. */
md_err md_store_tile_points(struct md_store *s, enum md_layer layer, const struct md_bbox *box,
                            const struct md_store_tile_span *span, md_tile_point_fn fn,
                            void *userdata, struct md_ctx *ctx) MD_WUR;

/* One district or grid cell. Strings are never NULL ("" when the layer has
 * no such field). wkb: the geometry (lon/lat, ISO WKB); NULL with wkb_len 0
 * when the row has none. */
struct md_tile_polygon {
    int64_t id;
    const char *code;
    const char *name, *name_en; /* districts only */
    const char *district_code;  /* grids only */
    const unsigned char *wkb;
    size_t wkb_len;
};
typedef md_err (*md_tile_polygon_fn)(const struct md_tile_polygon *p, void *userdata);
/* Call fn for each row of `layer` (MD_LAYER_DISTRICTS or MD_LAYER_GRIDS)
 * whose bounding box meets `box` (lon/lat). Errors as md_store_tile_points. */
md_err md_store_tile_polygons(struct md_store *s, enum md_layer layer, const struct md_bbox *box,
                              md_tile_polygon_fn fn, void *userdata, struct md_ctx *ctx) MD_WUR;

/* The label point of one district (districts.label_lon/lat). */
struct md_tile_label {
    int64_t id;                        /* the district's polygon id (md_tile_polygon.id) */
    const char *code, *name, *name_en; /* never NULL */
    double lon, lat;
};
typedef md_err (*md_tile_label_fn)(const struct md_tile_label *l, void *userdata);
/* Call fn for each district whose label point lies in `box` (bounds
 * included). Errors: MD_EDB & co., or fn's. */
md_err md_store_tile_labels(struct md_store *s, const struct md_bbox *box, md_tile_label_fn fn,
                            void *userdata, struct md_ctx *ctx) MD_WUR;

#endif
