/* md_types.h - small value types shared by every mapd library. */
#ifndef MD_TYPES_H
#define MD_TYPES_H

/* An axis-aligned rectangle: lon/lat degrees or projected metres, as the
 * function that fills it says. min <= max on both axes when valid. */
struct md_bbox {
    double minx, miny, maxx, maxy;
};

#endif
