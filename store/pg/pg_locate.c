/* pg_locate.c - the database's areas on PostGIS (pg_locate.h).
 *
 * The three questions of an area source, asked as locate.c asks SpatiaLite:
 *   - which cells / districts hold the point: ST_Intersects of the polygon
 *     and the point, so a point on a border or a corner is held by every
 *     polygon it touches (as SpatiaLite's ST_Intersects, GEOS, has it);
 *     the GiST index (`&&` the point) finds the candidates, as the R*Tree
 *     does there;
 *   - among them the preferred code, then one of the preferred district,
 *     then the smallest code; codes compare bytewise (COLLATE "C", SQLite's
 *     BINARY), whatever the database's collation;
 *   - nearest within MD_LOCATE_NEAR_DEG: planar ST_Distance in degrees
 *     (SpatiaLite's ST_Distance without its use_ellipsoid flag), the
 *     smallest code on a tie.
 */
#include "pg_locate.h"

#include "pg_store.h"

#include <stdio.h>

#define POINT "ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)"
#define NEAR "0.003" /* MD_LOCATE_NEAR_DEG, in the SQL text */

/* Run statement `name` ($1 lon, $2 lat, then `nprefs` preference texts,
 * NULL when none) and copy its first row's first column (and the second
 * into out2 when given). */
static md_err codes(struct md_pg *pg, const char *name, const char *sql, double lon, double lat,
                    int nprefs, const char *pref1, const char *pref2, char *out, size_t n,
                    char *out2, size_t n2, struct md_ctx *ctx)
{
    char x[MD_PG_DOUBLE_CHARS], y[MD_PG_DOUBLE_CHARS];
    md__pg_double_param(lon, x);
    md__pg_double_param(lat, y);
    const char *values[] = {x, y, pref1 && *pref1 ? pref1 : NULL, pref2 && *pref2 ? pref2 : NULL};
    out[0] = '\0';
    if (out2)
        out2[0] = '\0';
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, name, sql, 2 + nprefs, values, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        snprintf(out, n, "%s", md__pg_text(r, 0, 0));
        if (out2)
            snprintf(out2, n2, "%s", md__pg_text(r, 0, 1));
    }
    PQclear(r);
    return MD_OK;
}

static md_err pg_cell_at(void *self, double lon, double lat, const char *pref_grid,
                         const char *pref_district, char grid[MD_GRID_CODE_MAX],
                         char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT code, district_code FROM grids WHERE geom && " POINT
        " AND ST_Intersects(geom, " POINT ")"
        " ORDER BY (code = $3::text) IS TRUE DESC, (district_code = $4::text) IS TRUE DESC,"
        " code COLLATE \"C\" LIMIT 1";
    return codes(self, "md_locate_cell", sql, lon, lat, 2, pref_grid, pref_district, grid,
                 MD_GRID_CODE_MAX, district, MD_DISTRICT_CODE_MAX, ctx);
}

static md_err pg_district_at(void *self, double lon, double lat, const char *preferred,
                             char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT code FROM districts WHERE geom && " POINT " AND ST_Intersects(geom, " POINT ")"
        " ORDER BY (code = $3::text) IS TRUE DESC, code COLLATE \"C\" LIMIT 1";
    return codes(self, "md_locate_district", sql, lon, lat, 1, preferred, NULL, district,
                 MD_DISTRICT_CODE_MAX, NULL, 0, ctx);
}

#define NEAREST_SQL(table)                                                                         \
    "SELECT code FROM " table " WHERE geom && ST_Expand(" POINT ", " NEAR ")"                      \
    " AND ST_Distance(geom, " POINT ") <= " NEAR " ORDER BY ST_Distance(geom, " POINT              \
    "), code COLLATE \"C\" LIMIT 1"

static md_err pg_nearest(void *self, enum md_area_kind kind, double lon, double lat, char *out,
                         size_t outsz, struct md_ctx *ctx)
{
    static const char districts_sql[] = NEAREST_SQL("districts");
    static const char grids_sql[] = NEAREST_SQL("grids");
    if (kind == MD_AREA_GRID)
        return codes(self, "md_locate_near_grid", grids_sql, lon, lat, 0, NULL, NULL, out, outsz,
                     NULL, 0, ctx);
    return codes(self, "md_locate_near_district", districts_sql, lon, lat, 0, NULL, NULL, out,
                 outsz, NULL, 0, ctx);
}

struct md_area_source md__pg_store_areas(struct md_pg *pg)
{
    return (struct md_area_source){pg_cell_at, pg_district_at, pg_nearest, pg};
}
