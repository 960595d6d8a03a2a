/* locate.c - the locating rule (md_locate) and its two database-backed
 * sources: SQL over the spatial indexes (md_store_areas) and GEOS
 * STR-trees in memory (md_area_index). See locate.h. */
#include "locate.h"
#include "geos_ctx.h"
#include "pg_locate.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int md_locate_rank(const char *code, const char *parent, const char *pref, const char *pref_parent)
{
    if (pref && *pref && strcmp(code, pref) == 0)
        return 0;
    return parent && pref_parent && *pref_parent && strcmp(parent, pref_parent) == 0 ? 1 : 2;
}

bool md_locate_before(const char *code, int rank, const char *best, int best_rank)
{
    return !best || !*best || rank < best_rank || (rank == best_rank && strcmp(code, best) < 0);
}

md_err md_locate(const struct md_area_source *src, double lon, double lat,
                 const struct md_locate_opts *o, struct md_location *out, struct md_ctx *ctx)
{
    static const struct md_locate_opts none = {NULL, NULL, false};
    if (!o)
        o = &none;
    out->district[0] = out->grid[0] = '\0';
    out->inside = false;
    md_err rc = src->cell_at(src->self, lon, lat, o->pref_grid, o->pref_district, out->grid,
                             out->district, ctx);
    if (rc || out->grid[0]) {
        out->inside = !rc;
        return rc;
    }
    rc = src->district_at(src->self, lon, lat, o->pref_district, out->district, ctx);
    out->inside = !rc && out->district[0];
    if (!rc && !out->inside && !o->no_near_district && src->nearest)
        rc = src->nearest(src->self, MD_AREA_DISTRICT, lon, lat, out->district,
                          sizeof(out->district), ctx);
    if (!rc && out->district[0] && src->nearest)
        rc = src->nearest(src->self, MD_AREA_GRID, lon, lat, out->grid, sizeof(out->grid), ctx);
    return rc;
}

/* ---- the database, one point at a time */

#define NEAR "0.003" /* MD_LOCATE_NEAR_DEG, in the SQL text */

/* Run `sql` (?1 lon, ?2 lat, ?3 and ?4 the preferences, NULL when none)
 * and copy its first row's first two columns (when n2) into out/out2. */
static md_err sql_codes(struct md_store *s, const char *sql, double lon, double lat,
                        const char *pref1, const char *pref2, char *out, size_t n, char *out2,
                        size_t n2, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    out[0] = '\0';
    if (out2)
        out2[0] = '\0';
    if (rc)
        return rc;
    sqlite3_bind_double(st, 1, lon);
    sqlite3_bind_double(st, 2, lat);
    if (pref1 && *pref1)
        sqlite3_bind_text(st, 3, pref1, -1, SQLITE_STATIC);
    if (pref2 && *pref2)
        sqlite3_bind_text(st, 4, pref2, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, n, "%s", v ? v : "");
        if (out2) {
            const char *v2 = (const char *)sqlite3_column_text(st, 1);
            snprintf(out2, n2, "%s", v2 ? v2 : "");
        }
    } else if (src != SQLITE_DONE) {
        rc = md_store_fail(s, src, "locating the point", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

static md_err db_cell_at(void *self, double lon, double lat, const char *pref_grid,
                         const char *pref_district, char grid[MD_GRID_CODE_MAX],
                         char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT g.code, g.district_code FROM idx_grids_geom i CROSS JOIN grids g"
        " ON g.rowid = i.pkid WHERE i.xmin <= ?1 AND i.xmax >= ?1 AND i.ymin <= ?2"
        " AND i.ymax >= ?2 AND ST_Intersects(g.geom, MakePoint(?1, ?2, 4326)) = 1"
        " ORDER BY coalesce(g.code = ?3, 0) DESC, coalesce(g.district_code = ?4, 0) DESC, g.code"
        " LIMIT 1";
    return sql_codes(self, sql, lon, lat, pref_grid, pref_district, grid, MD_GRID_CODE_MAX,
                     district, MD_DISTRICT_CODE_MAX, ctx);
}

static md_err db_district_at(void *self, double lon, double lat, const char *preferred,
                             char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT code FROM districts WHERE rowid IN (SELECT pkid FROM idx_districts_geom"
        " WHERE xmin <= ?1 AND xmax >= ?1 AND ymin <= ?2 AND ymax >= ?2)"
        " AND ST_Intersects(geom, MakePoint(?1, ?2, 4326)) = 1"
        " ORDER BY coalesce(code = ?3, 0) DESC, code LIMIT 1";
    return sql_codes(self, sql, lon, lat, preferred, NULL, district, MD_DISTRICT_CODE_MAX, NULL, 0,
                     ctx);
}

static md_err db_nearest(void *self, enum md_area_kind kind, double lon, double lat, char *out,
                         size_t outsz, struct md_ctx *ctx)
{
    static const char *const sql[] = {
        [MD_AREA_DISTRICT] =
            "SELECT code FROM districts WHERE rowid IN (SELECT pkid FROM idx_districts_geom"
            " WHERE xmin <= ?1 + " NEAR " AND xmax >= ?1 - " NEAR " AND ymin <= ?2 + " NEAR
            " AND ymax >= ?2 - " NEAR ") AND ST_Distance(geom, MakePoint(?1, ?2, 4326)) <= " NEAR
            " ORDER BY ST_Distance(geom, MakePoint(?1, ?2, 4326)), code LIMIT 1",
        [MD_AREA_GRID] =
            "SELECT code FROM grids WHERE rowid IN (SELECT pkid FROM idx_grids_geom"
            " WHERE xmin <= ?1 + " NEAR " AND xmax >= ?1 - " NEAR " AND ymin <= ?2 + " NEAR
            " AND ymax >= ?2 - " NEAR ") AND ST_Distance(geom, MakePoint(?1, ?2, 4326)) <= " NEAR
            " ORDER BY ST_Distance(geom, MakePoint(?1, ?2, 4326)), code LIMIT 1"};
    return sql_codes(self, sql[kind], lon, lat, NULL, NULL, out, outsz, NULL, 0, ctx);
}

struct md_area_source md_store_areas(struct md_store *s)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_store_areas(s->pg);
    return (struct md_area_source){db_cell_at, db_district_at, db_nearest, s};
}

md_err md_store_locate(struct md_store *s, double lon, double lat,
                       char district[MD_DISTRICT_CODE_MAX], char grid[MD_GRID_CODE_MAX],
                       struct md_ctx *ctx)
{
    struct md_area_source src = md_store_areas(s);
    struct md_location at;
    md_err rc = md_locate(&src, lon, lat, NULL, &at, ctx);
    if (rc)
        return rc;
    if (!at.district[0])
        return md_fail(ctx, MD_ENOTFOUND, "point %.6f,%.6f is outside every district", lon, lat);
    memcpy(district, at.district, MD_DISTRICT_CODE_MAX);
    memcpy(grid, at.grid, MD_GRID_CODE_MAX);
    return MD_OK;
}

/* ---- in memory: STR-trees of prepared polygons */

struct area {
    char code[MD_GRID_CODE_MAX];
    char parent[MD_DISTRICT_CODE_MAX]; /* a grid cell's district */
    GEOSGeometry *geom;
    const GEOSPreparedGeometry *prep;
};

struct area_set {
    struct area *v;
    size_t n;
    GEOSSTRtree *tree;
};

struct md_area_index {
    GEOSContextHandle_t h;
    struct area_set set[2]; /* by enum md_area_kind */
};

static md_err load_set(struct md_store *s, GEOSContextHandle_t h, const char *sql,
                       struct area_set *set, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK)
        return md_store_fail(s, src, "loading areas", ctx);
    GEOSWKBReader *r = GEOSWKBReader_create_r(h);
    size_t cap = 0;
    md_err rc = MD_OK;
    set->tree = GEOSSTRtree_create_r(h, 10);
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (set->n == cap) {
            cap = cap ? cap * 2 : 64;
            struct area *v = realloc(set->v, cap * sizeof(*v));
            if (!v) {
                rc = md_fail(ctx, MD_ENOMEM, "areas");
                break;
            }
            set->v = v;
        }
        struct area *a = &set->v[set->n];
        memset(a, 0, sizeof(*a));
        snprintf(a->code, sizeof(a->code), "%s", sqlite3_column_text(st, 0));
        const unsigned char *parent = sqlite3_column_text(st, 2);
        snprintf(a->parent, sizeof(a->parent), "%s", parent ? (const char *)parent : "");
        const void *wkb = sqlite3_column_blob(st, 1);
        a->geom = wkb ? GEOSWKBReader_read_r(h, r, wkb, (size_t)sqlite3_column_bytes(st, 1)) : NULL;
        if (!a->geom)
            continue;
        a->prep = GEOSPrepare_r(h, a->geom);
        set->n++;
    }
    if (!rc && src != SQLITE_DONE && src != SQLITE_ROW)
        rc = md_store_fail(s, src, "loading areas", ctx);
    sqlite3_finalize(st);
    GEOSWKBReader_destroy_r(h, r);
    /* Insert after the array stops moving: the tree keeps pointers. */
    for (size_t i = 0; !rc && i < set->n; i++)
        GEOSSTRtree_insert_r(h, set->tree, set->v[i].geom, &set->v[i]);
    return rc;
}

static void free_set(GEOSContextHandle_t h, struct area_set *set)
{
    if (set->tree)
        GEOSSTRtree_destroy_r(h, set->tree);
    for (size_t i = 0; i < set->n; i++) {
        GEOSPreparedGeom_destroy_r(h, set->v[i].prep);
        GEOSGeom_destroy_r(h, set->v[i].geom);
    }
    free(set->v);
}

md_err md_area_index_load(struct md_store *s, struct md_geos *g, struct md_area_index **out,
                          struct md_ctx *ctx)
{
    struct md_area_index *ix = calloc(1, sizeof(*ix));
    *out = NULL;
    if (!ix)
        return md_fail(ctx, MD_ENOMEM, "areas");
    ix->h = md_geos_handle(g);
    md_err rc = load_set(s, ix->h, "SELECT code, AsBinary(geom), NULL FROM districts",
                         &ix->set[MD_AREA_DISTRICT], ctx);
    if (!rc)
        rc = load_set(s, ix->h, "SELECT code, AsBinary(geom), district_code FROM grids",
                      &ix->set[MD_AREA_GRID], ctx);
    if (rc) {
        md_area_index_free(ix);
        return rc;
    }
    *out = ix;
    return MD_OK;
}

void md_area_index_free(struct md_area_index *ix)
{
    if (!ix)
        return;
    free_set(ix->h, &ix->set[MD_AREA_DISTRICT]);
    free_set(ix->h, &ix->set[MD_AREA_GRID]);
    free(ix);
}

size_t md_area_index_districts(const struct md_area_index *ix)
{
    return ix->set[MD_AREA_DISTRICT].n;
}

/* A code into a buffer of n bytes (codes are short; a longer one is cut). */
static void copy_code(char *out, size_t n, const char *code)
{
    size_t len = strnlen(code, n - 1);
    memcpy(out, code, len);
    out[len] = '\0';
}

struct probe {
    GEOSContextHandle_t h;
    const GEOSGeometry *pt;
    const char *preferred, *pref_parent; /* kept first / second when they hold the point */
    const struct area *best;
    int best_rank; /* 0: the preferred code, 1: of the preferred parent, 2: any */
    double best_d; /* nearest: its distance */
};

static void containing_cb(void *item, void *userdata)
{
    struct probe *p = userdata;
    const struct area *a = item;
    int rank = md_locate_rank(a->code, a->parent, p->preferred, p->pref_parent);
    if (!md_locate_before(a->code, rank, p->best ? p->best->code : NULL, p->best_rank))
        return;
    if (GEOSPreparedIntersects_r(p->h, a->prep, p->pt) == 1) {
        p->best = a;
        p->best_rank = rank;
    }
}

static void nearest_cb(void *item, void *userdata)
{
    struct probe *p = userdata;
    const struct area *a = item;
    double d;
    if (GEOSPreparedDistance_r(p->h, a->prep, p->pt, &d) != 1 || !(d <= MD_LOCATE_NEAR_DEG))
        return;
    if (!p->best || d < p->best_d || (d == p->best_d && strcmp(a->code, p->best->code) < 0)) {
        p->best = a;
        p->best_d = d;
    }
}

static md_err mem_find(struct md_area_index *ix, enum md_area_kind kind, double lon, double lat,
                       const char *preferred, const char *pref_parent, bool nearest, char *out,
                       size_t outsz, char *parent_out, struct md_ctx *ctx)
{
    struct area_set *set = &ix->set[kind];
    out[0] = '\0';
    if (!set->n)
        return MD_OK;
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ix->h, lon, lat);
    GEOSGeometry *reach =
        pt && nearest
            ? GEOSGeom_createRectangle_r(ix->h, lon - MD_LOCATE_NEAR_DEG, lat - MD_LOCATE_NEAR_DEG,
                                         lon + MD_LOCATE_NEAR_DEG, lat + MD_LOCATE_NEAR_DEG)
            : NULL;
    if (!pt || (nearest && !reach)) {
        GEOSGeom_destroy_r(ix->h, pt);
        return md_fail(ctx, MD_ENOMEM, "locating the point");
    }
    struct probe p = {ix->h,
                      pt,
                      preferred && *preferred ? preferred : NULL,
                      pref_parent && *pref_parent ? pref_parent : NULL,
                      NULL,
                      2,
                      0};
    if (nearest)
        GEOSSTRtree_query_r(ix->h, set->tree, reach, nearest_cb, &p);
    else
        GEOSSTRtree_query_r(ix->h, set->tree, pt, containing_cb, &p);
    if (p.best)
        copy_code(out, outsz, p.best->code);
    if (p.best && parent_out)
        copy_code(parent_out, MD_DISTRICT_CODE_MAX, p.best->parent);
    GEOSGeom_destroy_r(ix->h, reach);
    GEOSGeom_destroy_r(ix->h, pt);
    return MD_OK;
}

static md_err mem_cell_at(void *self, double lon, double lat, const char *pref_grid,
                          const char *pref_district, char grid[MD_GRID_CODE_MAX],
                          char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx)
{
    district[0] = '\0';
    return mem_find(self, MD_AREA_GRID, lon, lat, pref_grid, pref_district, false, grid,
                    MD_GRID_CODE_MAX, district, ctx);
}

static md_err mem_district_at(void *self, double lon, double lat, const char *preferred,
                              char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx)
{
    return mem_find(self, MD_AREA_DISTRICT, lon, lat, preferred, NULL, false, district,
                    MD_DISTRICT_CODE_MAX, NULL, ctx);
}

static md_err mem_nearest(void *self, enum md_area_kind kind, double lon, double lat, char *out,
                          size_t outsz, struct md_ctx *ctx)
{
    return mem_find(self, kind, lon, lat, NULL, NULL, true, out, outsz, NULL, ctx);
}

struct md_area_source md_area_index_source(struct md_area_index *ix)
{
    return (struct md_area_source){mem_cell_at, mem_district_at, mem_nearest, ix};
}
