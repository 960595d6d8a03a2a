/* basemap.h - the base map: roads, railways, water, green and land use,
 * buildings and place names under the city's layers (layer "basemap").
 *
 * A load replaces the whole base map (an OSM import, or the sample's
 * synthetic one). Into an empty table it is a bulk load (one change logged
 * over the loaded box); into a filled one, rows are matched by their source
 * key: an unchanged row is only marked seen, a changed one is rewritten, a
 * new one inserted, and rows the load did not see are deleted at the end -
 * each write through the change-tracking triggers, so a re-import drops
 * exactly the cached tiles it changed. Generalisation: each row carries the
 * zoom it is first drawn at (md_basemap_min_zoom); tiles read only rows with
 * min_zoom <= z, and simplify their geometry to the tile's resolution.
 */
#ifndef MD_BASEMAP_H
#define MD_BASEMAP_H

#include "store.h"
#include <stddef.h>

#define MD_BASEMAP_TEXT_MAX 256

/* One feature to load; all strings borrowed for the call. */
struct md_basemap_feature {
    const char *src_key;        /* stable id in its source, e.g. "w123" (OSM way 123) */
    const char *kind;           /* road, rail, water, waterway, green, landuse, building, place */
    const char *klass;          /* motorway ... path; lake, river, ...; see basemap_osm.c */
    const char *name, *name_en; /* may be NULL */
    int min_zoom;               /* 0..22 */
    const unsigned char *wkb;   /* geometry, WGS84 lon/lat, ISO WKB */
    size_t wkb_len;
    struct md_bbox bbox; /* of the geometry */
};

struct md_basemap_summary {
    int64_t inserted, updated, unchanged, deleted;
    bool bulk; /* the table was empty: loaded in bulk mode */
};

struct md_basemap_load;

/* Start replacing the base map of `s` (not in a transaction). The load owns
 * one transaction until end/abort. `attribution` (borrowed) is stored with
 * it and served in TileJSON; `now` (UTC seconds) stamps written rows. Caller
 * ends with md_store_basemap_end() or md_store_basemap_abort(). */
md_err md_store_basemap_begin(struct md_store *s, const char *attribution, int64_t now,
                              struct md_basemap_load **out, struct md_ctx *ctx) MD_WUR;
/* Add or match one feature. MD_EINVAL for a bad kind/zoom/geometry (the
 * load goes on; the caller decides). Source keys must be unique in a load. */
md_err md_store_basemap_put(struct md_basemap_load *l, const struct md_basemap_feature *f,
                            struct md_ctx *ctx) MD_WUR;
/* Delete what the load did not see, commit, fill `out` (may be NULL) and
 * free the load (also on failure, after rolling back). */
md_err md_store_basemap_end(struct md_basemap_load *l, struct md_basemap_summary *out,
                            struct md_ctx *ctx) MD_WUR;
/* Roll back and free; NULL is fine. */
void md_store_basemap_abort(struct md_basemap_load *l);

/* One row of a tile read; every pointer borrowed until fn returns. */
struct md_basemap_row {
    int64_t id;
    const char *kind, *klass, *name, *name_en;
    const unsigned char *wkb;
    size_t wkb_len;
};
typedef md_err (*md_basemap_row_fn)(const struct md_basemap_row *row, void *userdata);
/* Call fn for each row drawn at zoom z (min_zoom <= z) whose box meets `box`
 * (lon/lat), in id order. Errors: MD_EDB, or what fn returns. */
md_err md_store_basemap_rows(struct md_store *s, const struct md_bbox *box, int z,
                             md_basemap_row_fn fn, void *userdata, struct md_ctx *ctx) MD_WUR;

/* The stored attribution of the base map ("" when none); out gets at most
 * n - 1 bytes. */
md_err md_store_basemap_attribution(struct md_store *s, char *out, size_t n,
                                    struct md_ctx *ctx) MD_WUR;

/* The zoom a feature of kind/klass is first drawn at, given its lon/lat box
 * (areas too small to see at the class's zoom come later); -1 when the
 * kind/class is not part of the base map. */
int md_basemap_min_zoom(const char *kind, const char *klass, const struct md_bbox *bbox);

/* The data's centre of mass: mean lon/lat of the facilities and reports
 * (the dense core), for TileJSON's center. *any = false when both are empty. */
md_err md_store_data_center(struct md_store *s, double *lon, double *lat, bool *any,
                            struct md_ctx *ctx) MD_WUR;

#endif
