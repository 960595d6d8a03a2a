/* locate.h - the one rule that puts a point in a district and a grid cell,
 * for every path that does it: report intake, corrections, /districts/at,
 * `mapd import` and the sample city.
 *
 * The rule (md_locate): the district is the one whose polygon holds the
 * point - the preferred code when it does (an import keeps the source's
 * own code for a point on a boundary), else the smallest code. A point in
 * no polygon but within MD_LOCATE_NEAR_DEG of one (digitised borders leave
 * slivers between neighbours) takes the nearest, smallest code on a tie.
 * Then the grid cell by the same rule, only for a point with a district.
 *
 * Where the polygons come from is a source: the database (md_store_areas,
 * SQL over the spatial indexes, for single points), an index in memory
 * loaded from it (md_area_index, for imports of many points), or the sample
 * generator's own areas (areas.c). Sources only answer "which areas hold
 * the point" and "which is nearest"; the order of the steps, preferences,
 * ties and the sliver tolerance are decided here alone.
 */
#ifndef MD_LOCATE_H
#define MD_LOCATE_H

#include "md_err.h"
#include "md_types.h"
#include <stdbool.h>
#include <stddef.h>

#define MD_DISTRICT_CODE_MAX 16
#define MD_GRID_CODE_MAX 24
#define MD_LOCATE_NEAR_DEG 0.003 /* ~300 m: the sliver tolerance (planar degrees) */

struct md_store;
struct md_geos;

enum md_area_kind { MD_AREA_DISTRICT, MD_AREA_GRID };

/* A source of areas. containing: among the areas of `kind` that hold the
 * point, `preferred` (may be NULL or "") when it is one of them, else the
 * smallest code; out = "" when none. nearest: the area within
 * MD_LOCATE_NEAR_DEG nearest to the point, smallest code on a tie; ""
 * when none; may be NULL for a source without slivers. */
struct md_area_source {
    md_err (*containing)(void *self, enum md_area_kind kind, double lon, double lat,
                         const char *preferred, char *out, size_t outsz, struct md_ctx *ctx);
    md_err (*nearest)(void *self, enum md_area_kind kind, double lon, double lat, char *out,
                      size_t outsz, struct md_ctx *ctx);
    void *self;
};

struct md_locate_opts {
    const char *pref_district, *pref_grid; /* NULL: none */
    bool no_near_district;                 /* a point in no district stays in none */
};

struct md_location {
    char district[MD_DISTRICT_CODE_MAX]; /* "" when none */
    char grid[MD_GRID_CODE_MAX];         /* "" when none */
    bool inside;                         /* a district polygon holds the point */
};

/* Apply the rule (above) with `src`; o may be NULL. Never MD_ENOTFOUND:
 * out->district is "" for a point outside (the caller says what that
 * means). Errors are the source's (a database error). */
md_err md_locate(const struct md_area_source *src, double lon, double lat,
                 const struct md_locate_opts *o, struct md_location *out,
                 struct md_ctx *ctx) MD_WUR;

/* The database's districts and grids as a source (borrows s). */
struct md_area_source md_store_areas(struct md_store *s);

/* Locate with the database: district and grid code ("" when no grid).
 * MD_ENOTFOUND (with a message) when the point is in no district nor near
 * one. */
md_err md_store_locate(struct md_store *s, double lon, double lat,
                       char district[MD_DISTRICT_CODE_MAX], char grid[MD_GRID_CODE_MAX],
                       struct md_ctx *ctx) MD_WUR;

/* The database's districts and grids in memory (GEOS prepared polygons in
 * STR-trees), for many points at once. Uses g's handle; caller frees. */
struct md_area_index;
md_err md_area_index_load(struct md_store *s, struct md_geos *g, struct md_area_index **out,
                          struct md_ctx *ctx) MD_WUR;
void md_area_index_free(struct md_area_index *ix);
size_t md_area_index_districts(const struct md_area_index *ix);
struct md_area_source md_area_index_source(struct md_area_index *ix);

#endif
