/* areas.h - districts and grid cells: loading them and locating points.
 *
 * The in-memory locator (struct md_areas) answers "which district and grid
 * cell holds this point" without SQL: grid cells are pieces of a regular
 * lon/lat lattice clipped to their district, so a point's lattice cell is
 * O(1) arithmetic and at most a few prepared-geometry tests decide the rest.
 * The SQL locator (md_store_locate) answers the same from the database's
 * R*Tree and polygons, for any districts/grids a city imports.
 */
#ifndef MD_AREAS_H
#define MD_AREAS_H

#include "geos_ctx.h"
#include "locate.h"
#include "store.h"


struct md_areas;

struct md_district_info {
    char code[MD_DISTRICT_CODE_MAX];
    char name[64];
    double label_lon, label_lat;
    struct md_bbox bbox;
};

/* Read a GeoJSON FeatureCollection of districts (feature `id` = code,
 * properties.name, optional properties.cp = [lon, lat]); names_en_path may be
 * NULL or a JSON object code -> English name. Geometry is made valid.
 * Caller frees with md_areas_free(); `g` is borrowed and must outlive it. */
md_err md_areas_load(struct md_geos *g, const char *geojson_path, const char *names_en_path,
                     struct md_areas **out, struct md_ctx *ctx) MD_WUR;
void md_areas_free(struct md_areas *a);
size_t md_areas_district_count(const struct md_areas *a);
const struct md_district_info *md_areas_district(const struct md_areas *a, size_t i);
/* Cut every district into grid cells of step_lon x step_lat degrees, with
 * 15-digit codes (district 6 + street 3 + community 3 + serial 3). */
md_err md_areas_make_grids(struct md_areas *a, double step_lon, double step_lat,
                           struct md_ctx *ctx) MD_WUR;
size_t md_areas_grid_count(const struct md_areas *a);
/* District index (into md_areas_district) and grid code of a point by
 * locate.h's rule over these areas; MD_ENOTFOUND when it lies in no
 * district. grid may be NULL. */
md_err md_areas_locate(const struct md_areas *a, double lon, double lat, size_t *district,
                       char grid[MD_GRID_CODE_MAX]);
/* These areas as a source of locate.h's rule (borrows a). */
struct md_area_source md_areas_source(const struct md_areas *a);
/* Write districts and grids into the store (bulk mode, one transaction each). */
md_err md_areas_save(const struct md_areas *a, struct md_store *s, int64_t now,
                     struct md_ctx *ctx) MD_WUR;

#endif
