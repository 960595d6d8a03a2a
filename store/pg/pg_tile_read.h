/* pg_tile_read.h - the tile reads of tile_read.h on PostGIS (private to
 * store/: read/tile_read.c calls these for a PostgreSQL store). Same rows,
 * fields and order contract as tile_read.h. */
#ifndef MD_PG_TILE_READ_H
#define MD_PG_TILE_READ_H

#include "basemap.h"
#include "tile_read.h"

struct md_pg;

md_err md__pg_tile_points(struct md_pg *pg, enum md_layer layer, const struct md_bbox *box,
                          md_tile_point_fn fn, void *userdata, struct md_ctx *ctx) MD_WUR;
md_err md__pg_tile_polygons(struct md_pg *pg, enum md_layer layer, const struct md_bbox *box,
                            md_tile_polygon_fn fn, void *userdata, struct md_ctx *ctx) MD_WUR;
md_err md__pg_tile_labels(struct md_pg *pg, const struct md_bbox *box, md_tile_label_fn fn,
                          void *userdata, struct md_ctx *ctx) MD_WUR;

/* md_store_basemap_rows on PostGIS (basemap.h's contract). */
md_err md__pg_basemap_rows(struct md_pg *pg, const struct md_bbox *box, int z,
                           md_basemap_row_fn fn, void *userdata, struct md_ctx *ctx) MD_WUR;

#endif
