/* md_types.h - small value types shared by every mapd library. */
#ifndef MD_TYPES_H
#define MD_TYPES_H

/* An axis-aligned rectangle: lon/lat degrees or projected metres, as the
 * function that fills it says. min <= max on both axes when valid. */
struct md_bbox {
    double minx, miny, maxx, maxy;
};

/* The city's layers, then the base map (roads, water, green, buildings,
 * places: store/load/basemap.h), a tile layer only: md_layer_parse() does not
 * name it, so queries, OGC collections and exports never take it. store/
 * owns their tables. */
enum md_layer {
    MD_LAYER_FACILITIES = 0,
    MD_LAYER_REPORTS,
    MD_LAYER_DISTRICTS,
    MD_LAYER_GRIDS,
    MD_LAYER_BASEMAP,
    MD_LAYER__COUNT
};

#endif
