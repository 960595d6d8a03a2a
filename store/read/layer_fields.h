/* layer_fields.h - the public fields of each city layer: the one list that
 * decides what any output may show, and where each field is shown:
 * features (GeoJSON, CSV, OGC API, exports, `mapd export`, and what
 * filters may name), tiles, and the reports API's JSON (which Open311 and
 * the events stream take too).
 *
 * Public means: every column of facilities/districts/grids, and every
 * column of reports except `token` (the reporter's follow-up secret);
 * nothing from report_contacts. The rows of md_store_feature_get() and of
 * the export cursor (feature_read.h) carry the first `nfeature` columns in
 * this order. Tests check every store statement that feeds an output
 * (tiles, the reports JSON) against the list (test_feature_read).
 */
#ifndef MD_LAYER_FIELDS_H
#define MD_LAYER_FIELDS_H

#include "feature_query.h"
#include "md_types.h"
#include <stdbool.h>

enum md_col_type {
    MD_COL_INT,
    MD_COL_TEXT,
    MD_COL_TIME, /* epoch seconds */
    MD_COL_JSON, /* JSON text (media_urls, proposed_change) */
    MD_COL_REAL,
    MD_COL_LON, /* a point's longitude; the next column is its latitude */
    MD_COL_LAT,
    MD_COL_WKB, /* a polygon as WKB (written as "wkt" in CSV) */
};

/* Where a public column is shown (bits). */
enum md_shown {
    MD_SHOWN_FEATURE = 1 << 0, /* features: GeoJSON, CSV, OGC, exports, filters */
    MD_SHOWN_TILE = 1 << 1,    /* vector tile properties (or a tile's geometry) */
    MD_SHOWN_REPORT = 1 << 2,  /* the reports API's JSON (also Open311, events) */
};

struct md_column {
    const char *name;
    enum md_col_type type;
    unsigned shown; /* enum md_shown bits */
};

struct md_layer_columns {
    const struct md_column *cols; /* column 0 is the key */
    int ncols;                    /* every public column */
    int nfeature;                 /* the first nfeature are the features' columns */
    bool text_id;                 /* key is a text code (districts, grids) */
    const char *time_column;      /* the temporal property datetime filters use */
};

/* The public columns of a city layer (facilities, reports, districts,
 * grids); NULL for any other layer. Static. */
const struct md_layer_columns *md_layer_public(enum md_layer layer);

/* The public columns a filter or sortby may name, with their types (JSON
 * and geometry columns left out): at most `max` into out; returns how many. */
#define MD_LAYER_MAX_FIELDS 32
int md_layer_filter_fields(enum md_layer layer, struct md_field *out, int max);
/* True when the public column `name` of `layer` holds JSON text. */
bool md_layer_column_is_json(enum md_layer layer, const char *name);
/* True when column `name` of `layer` is public and shown in one of `where`
 * (enum md_shown bits). */
bool md_layer_column_shown(enum md_layer layer, const char *name, unsigned where);

#endif
