/* basemap_osm.h - loading an OpenStreetMap extract into the base map
 * (`mapd import --layer basemap FILE.osm.pbf|FILE.osm`). */
#ifndef MD_BASEMAP_OSM_H
#define MD_BASEMAP_OSM_H

#include "basemap.h"

struct md_osm_result {
    int64_t read;    /* features GDAL's OSM driver returned */
    int64_t loaded;  /* of which part of the base map */
    int64_t skipped; /* tags the base map does not draw */
    int64_t bad;     /* geometry or fields refused */
    struct md_basemap_summary summary;
};

/* Replace the base map of `s` (not in a transaction) with the roads,
 * railways, water, green, land use, buildings and places of the OSM file at
 * `path`, in one transaction (see basemap.h for what a re-import writes).
 * Attribution: OpenStreetMap contributors (ODbL). Errors: MD_EIO (not an
 * OSM file, read error), MD_EDB, MD_ENOMEM; nothing is changed then. */
md_err md_basemap_import_osm(struct md_store *s, const char *path, struct md_osm_result *r,
                             struct md_ctx *ctx) MD_WUR;

#endif
