/* md_types.h - small value types shared by every mapd library. */
#ifndef MD_TYPES_H
#define MD_TYPES_H

/* An axis-aligned rectangle: lon/lat degrees or projected metres, as the
 * function that fills it says. min <= max on both axes when valid. */
struct md_bbox {
    double minx, miny, maxx, maxy;
};

/* The map's layers (store/ owns their tables; names from md_layer_name). */
enum md_layer {
    MD_LAYER_FACILITIES = 0,
    MD_LAYER_REPORTS,
    MD_LAYER_DISTRICTS,
    MD_LAYER_GRIDS,
    MD_LAYER__COUNT
};

#endif
