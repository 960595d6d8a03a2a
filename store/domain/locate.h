/* locate.h - the one rule that puts a point in a district and a grid cell,
 * for every path that does it: report intake, corrections, /districts/at,
 * `mapd import` and the sample city.
 *
 * The rule (md_locate): a point's grid cell decides - the cell that holds
 * it (the preferred cell, else a cell of the preferred district - an import
 * keeps the source's own codes for a point on a boundary - else the
 * smallest code), and the district is that cell's district (cells are cut
 * from districts). Where no cell holds the point, the district polygon that
 * holds it (preferred, else smallest code); a point in no polygon but
 * within MD_LOCATE_NEAR_DEG of one (digitised borders leave slivers between
 * neighbours) takes the nearest, smallest code on a tie, and then the
 * nearest cell within the same distance.
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

/* A source of areas. cell_at: the grid cell holding the point by the rule
 * (pref_grid, else a cell of pref_district, else the smallest code; either
 * may be NULL or ""), and its district; "" when none. district_at: the
 * district polygon holding the point (preferred, else smallest code); ""
 * when none. nearest: the area of `kind` within MD_LOCATE_NEAR_DEG nearest
 * to the point, smallest code on a tie; "" when none; may be NULL for a
 * source without slivers. */
struct md_area_source {
    md_err (*cell_at)(void *self, double lon, double lat, const char *pref_grid,
                      const char *pref_district, char grid[MD_GRID_CODE_MAX],
                      char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx);
    md_err (*district_at)(void *self, double lon, double lat, const char *preferred,
                          char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx);
    md_err (*nearest)(void *self, enum md_area_kind kind, double lon, double lat, char *out,
                      size_t outsz, struct md_ctx *ctx);
    void *self;
};

/* The rule's order among the areas that hold a point, for sources: the
 * rank of an area is 0 when its code is `pref`, 1 when its parent (a cell's
 * district) is `pref_parent`, else 2 (NULL or "" prefer nothing); an area
 * goes before the best so far (`best` NULL or "": none) by rank, then by
 * the smaller code. */
int md_locate_rank(const char *code, const char *parent, const char *pref, const char *pref_parent);
bool md_locate_before(const char *code, int rank, const char *best, int best_rank);

struct md_locate_opts {
    const char *pref_district, *pref_grid; /* NULL: none */
    bool no_near_district;                 /* a point in no district stays in none */
};

struct md_location {
    char district[MD_DISTRICT_CODE_MAX]; /* "" when none */
    char grid[MD_GRID_CODE_MAX];         /* "" when none */
    bool inside;                         /* a cell or a district polygon holds the point */
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
