/* areas.c - districts, grid cells and the point locator (see areas.h).
 *
 * Grid codes: the lattice cell (ix, iy) of a district belongs to street block
 * (ix >> 2, iy >> 2) (4 x 4 cells, numbered 001.. north-west first per
 * district), community ((iy & 3) >> 1) * 2 + ((ix & 3) >> 1) + 1 and serial
 * (iy & 1) * 2 + (ix & 1) + 1. Cells wholly inside their district are "full"
 * and need no geometry test when locating.
 */
#include "areas.h"
#include "store_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct district {
    struct md_district_info info;
    char name_en[64];
    GEOSGeometry *geom;
    const GEOSPreparedGeometry *prep;
};

struct grid {
    char code[MD_GRID_CODE_MAX];
    uint32_t district;
    int32_t ix, iy;
    GEOSGeometry *geom;
    const GEOSPreparedGeometry *prep; /* NULL for full cells */
};

struct slot {
    int64_t key; /* INT64_MIN = empty */
    uint32_t first, count; /* range in grid_order */
};

struct md_areas {
    struct md_geos *g;
    struct district *districts;
    size_t ndistricts;
    struct grid *grids;
    size_t ngrids;
    double step_lon, step_lat;
    struct slot *slots; /* open addressing over lattice keys */
    size_t nslots;
};

static int64_t cell_key(int32_t ix, int32_t iy)
{
    return ((int64_t)ix << 32) ^ (int64_t)(uint32_t)iy;
}

static size_t key_hash(int64_t k, size_t n)
{
    uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (n - 1);
}

void md_areas_free(struct md_areas *a)
{
    if (!a)
        return;
    GEOSContextHandle_t h = a->g ? md_geos_handle(a->g) : NULL;
    for (size_t i = 0; i < a->ndistricts; i++) {
        GEOSPreparedGeom_destroy_r(h, a->districts[i].prep);
        GEOSGeom_destroy_r(h, a->districts[i].geom);
    }
    for (size_t i = 0; i < a->ngrids; i++) {
        if (a->grids[i].prep)
            GEOSPreparedGeom_destroy_r(h, a->grids[i].prep);
        GEOSGeom_destroy_r(h, a->grids[i].geom);
    }
    free(a->districts);
    free(a->grids);
    free(a->slots);
    free(a);
}

size_t md_areas_district_count(const struct md_areas *a)
{
    return a->ndistricts;
}

const struct md_district_info *md_areas_district(const struct md_areas *a, size_t i)
{
    return i < a->ndistricts ? &a->districts[i].info : NULL;
}

size_t md_areas_grid_count(const struct md_areas *a)
{
    return a->ngrids;
}

/* Keep only the polygonal part of g (MakeValid may return a collection);
 * returns a MultiPolygon, or NULL when nothing polygonal remains. Takes g. */
static GEOSGeometry *polygonal(GEOSContextHandle_t h, GEOSGeometry *g)
{
    if (!g)
        return NULL;
    int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_MULTIPOLYGON)
        return g;
    if (type == GEOS_POLYGON) {
        GEOSGeometry *parts[1] = {g};
        return GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, parts, 1);
    }
    int n = GEOSGetNumGeometries_r(h, g);
    GEOSGeometry **polys = calloc((size_t)(n > 0 ? n : 1) * 4, sizeof(*polys));
    int np = 0;
    for (int i = 0; polys && i < n; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
        int pt = GEOSGeomTypeId_r(h, part);
        if (pt == GEOS_POLYGON) {
            polys[np++] = GEOSGeom_clone_r(h, part);
        } else if (pt == GEOS_MULTIPOLYGON) {
            for (int j = 0; j < GEOSGetNumGeometries_r(h, part) && np < n * 4; j++)
                polys[np++] = GEOSGeom_clone_r(h, GEOSGetGeometryN_r(h, part, j));
        }
    }
    GEOSGeometry *out = NULL;
    if (np > 0)
        out = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, polys, (unsigned)np);
    free(polys);
    GEOSGeom_destroy_r(h, g);
    return out;
}

static md_err read_district(struct md_areas *a, json_t *feat, json_t *names_en, size_t i,
                            struct md_ctx *ctx)
{
    GEOSContextHandle_t h = md_geos_handle(a->g);
    struct district *d = &a->districts[a->ndistricts];
    json_t *id = json_object_get(feat, "id");
    json_t *props = json_object_get(feat, "properties");
    const char *name = json_string_value(json_object_get(props, "name"));
    json_t *geom = json_object_get(feat, "geometry");
    if (json_is_integer(id))
        snprintf(d->info.code, sizeof(d->info.code), "%lld", (long long)json_integer_value(id));
    else if (json_is_string(id) && strlen(json_string_value(id)) < sizeof(d->info.code))
        snprintf(d->info.code, sizeof(d->info.code), "%s", json_string_value(id));
    else
        return md_fail(ctx, MD_EINVAL, "feature %zu: id must be the district code", i);
    if (!name || !json_is_object(geom))
        return md_fail(ctx, MD_EINVAL, "feature %zu (%s): needs properties.name and a geometry", i,
                       d->info.code);
    snprintf(d->info.name, sizeof(d->info.name), "%s", name);
    const char *en = json_string_value(json_object_get(names_en, d->info.code));
    snprintf(d->name_en, sizeof(d->name_en), "%s", en ? en : "");
    char *text = json_dumps(geom, JSON_COMPACT);
    GEOSGeoJSONReader *reader = GEOSGeoJSONReader_create_r(h);
    GEOSGeometry *g = text && reader ? GEOSGeoJSONReader_readGeometry_r(h, reader, text) : NULL;
    GEOSGeoJSONReader_destroy_r(h, reader);
    free(text);
    if (!g)
        return md_geos_fail(a->g, ctx, "cannot read district geometry");
    if (!GEOSisValid_r(h, g)) {
        GEOSGeometry *fixed = GEOSMakeValid_r(h, g);
        GEOSGeom_destroy_r(h, g);
        g = fixed;
    }
    d->geom = polygonal(h, g);
    if (!d->geom)
        return md_fail(ctx, MD_EINVAL, "district %s has no polygon area", d->info.code);
    GEOSGeom_getXMin_r(h, d->geom, &d->info.bbox.minx);
    GEOSGeom_getYMin_r(h, d->geom, &d->info.bbox.miny);
    GEOSGeom_getXMax_r(h, d->geom, &d->info.bbox.maxx);
    GEOSGeom_getYMax_r(h, d->geom, &d->info.bbox.maxy);
    json_t *cp = json_object_get(props, "cp");
    if (json_is_array(cp) && json_is_number(json_array_get(cp, 0))) {
        d->info.label_lon = json_number_value(json_array_get(cp, 0));
        d->info.label_lat = json_number_value(json_array_get(cp, 1));
    } else {
        GEOSGeometry *pt = GEOSPointOnSurface_r(h, d->geom);
        GEOSGeomGetX_r(h, pt, &d->info.label_lon);
        GEOSGeomGetY_r(h, pt, &d->info.label_lat);
        GEOSGeom_destroy_r(h, pt);
    }
    d->prep = GEOSPrepare_r(h, d->geom);
    a->ndistricts++;
    return d->prep ? MD_OK : md_geos_fail(a->g, ctx, "cannot prepare district geometry");
}

md_err md_areas_load(struct md_geos *g, const char *geojson_path, const char *names_en_path,
                     struct md_areas **out, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    json_error_t jerr;
    json_t *root = NULL, *names = NULL;
    struct md_areas *a = calloc(1, sizeof(*a));
    *out = NULL;
    if (!a)
        return md_fail(ctx, MD_ENOMEM, "areas");
    a->g = g;
    root = json_load_file(geojson_path, 0, &jerr);
    if (!root) {
        rc = md_fail(ctx, MD_EINVAL, "%s:%d: %s", geojson_path, jerr.line, jerr.text);
        goto out;
    }
    if (names_en_path && !(names = json_load_file(names_en_path, 0, &jerr))) {
        rc = md_fail(ctx, MD_EINVAL, "%s:%d: %s", names_en_path, jerr.line, jerr.text);
        goto out;
    }
    json_t *feats = json_object_get(root, "features");
    if (!json_is_array(feats) || json_array_size(feats) == 0) {
        rc = md_fail(ctx, MD_EINVAL, "%s: not a FeatureCollection with features", geojson_path);
        goto out;
    }
    a->districts = calloc(json_array_size(feats), sizeof(*a->districts));
    if (!a->districts) {
        rc = md_fail(ctx, MD_ENOMEM, "districts");
        goto out;
    }
    size_t i;
    json_t *feat;
    json_array_foreach(feats, i, feat)
    {
        rc = read_district(a, feat, names, i, ctx);
        if (rc)
            goto out;
    }
    *out = a;
    a = NULL;
out:
    json_decref(root);
    json_decref(names);
    md_areas_free(a);
    return rc;
}

static int cmp_grid(const void *pa, const void *pb)
{
    const struct grid *x = pa, *y = pb;
    if (x->ix != y->ix)
        return x->ix < y->ix ? -1 : 1;
    if (x->iy != y->iy)
        return x->iy < y->iy ? -1 : 1;
    return x->district < y->district ? -1 : x->district > y->district;
}

/* Grid cells of one district, appended to a->grids (capacity checked by caller). */
static md_err cut_district(struct md_areas *a, uint32_t di, size_t cap, struct md_ctx *ctx)
{
    GEOSContextHandle_t h = md_geos_handle(a->g);
    struct district *d = &a->districts[di];
    int32_t x0 = (int32_t)floor(d->info.bbox.minx / a->step_lon);
    int32_t x1 = (int32_t)floor(d->info.bbox.maxx / a->step_lon);
    int32_t y0 = (int32_t)floor(d->info.bbox.miny / a->step_lat);
    int32_t y1 = (int32_t)floor(d->info.bbox.maxy / a->step_lat);
    double cell_area = a->step_lon * a->step_lat;
    for (int32_t iy = y1; iy >= y0; iy--) {
        for (int32_t ix = x0; ix <= x1; ix++) {
            GEOSGeometry *cell = GEOSGeom_createRectangle_r(
                h, ix * a->step_lon, iy * a->step_lat, (ix + 1) * a->step_lon,
                (iy + 1) * a->step_lat);
            if (!cell)
                return md_geos_fail(a->g, ctx, "cell");
            struct grid gr = {.district = di, .ix = ix, .iy = iy};
            if (GEOSPreparedContains_r(h, d->prep, cell) == 1) {
                gr.geom = cell;
            } else if (GEOSPreparedIntersects_r(h, d->prep, cell) == 1) {
                gr.geom = polygonal(h, GEOSIntersection_r(h, d->geom, cell));
                GEOSGeom_destroy_r(h, cell);
                double area = 0;
                if (gr.geom && (GEOSArea_r(h, gr.geom, &area) != 1 || area < cell_area * 1e-4)) {
                    GEOSGeom_destroy_r(h, gr.geom);
                    gr.geom = NULL;
                }
                if (!gr.geom)
                    continue;
                gr.prep = GEOSPrepare_r(h, gr.geom);
            } else {
                GEOSGeom_destroy_r(h, cell);
                continue;
            }
            if (a->ngrids >= cap) {
                GEOSPreparedGeom_destroy_r(h, gr.prep);
                GEOSGeom_destroy_r(h, gr.geom);
                return md_fail(ctx, MD_EINTERNAL, "grid capacity exceeded");
            }
            a->grids[a->ngrids++] = gr;
        }
    }
    return MD_OK;
}

/* Street numbers: blocks of 4x4 cells in north-west-first order per district. */
static md_err assign_codes(struct md_areas *a, size_t first, size_t last)
{
    int32_t *blocks = malloc((last - first) * 2 * sizeof(int32_t));
    if (!blocks)
        return MD_ENOMEM;
    size_t nblocks = 0;
    for (size_t i = first; i < last; i++) {
        struct grid *gr = &a->grids[i];
        int32_t bx = gr->ix >> 2, by = gr->iy >> 2;
        size_t b;
        for (b = 0; b < nblocks; b++) {
            if (blocks[2 * b] == bx && blocks[2 * b + 1] == by)
                break;
        }
        if (b == nblocks) {
            blocks[2 * b] = bx;
            blocks[2 * b + 1] = by;
            nblocks++;
        }
        int community = ((gr->iy & 3) >> 1) * 2 + ((gr->ix & 3) >> 1) + 1;
        int serial = (gr->iy & 1) * 2 + (gr->ix & 1) + 1;
        if (b >= 999) {
            free(blocks);
            return MD_EINVAL; /* more than 999 streets: use a coarser lattice */
        }
        snprintf(gr->code, sizeof(gr->code), "%.6s%03d%03d%03d",
                 a->districts[gr->district].info.code, (int)b + 1, community, serial);
    }
    free(blocks);
    return MD_OK;
}

static md_err build_lattice_index(struct md_areas *a)
{
    qsort(a->grids, a->ngrids, sizeof(*a->grids), cmp_grid);
    size_t n = 16;
    while (n < a->ngrids * 2)
        n <<= 1;
    a->slots = malloc(n * sizeof(*a->slots));
    if (!a->slots)
        return MD_ENOMEM;
    a->nslots = n;
    for (size_t i = 0; i < n; i++)
        a->slots[i].key = INT64_MIN;
    for (size_t i = 0; i < a->ngrids;) {
        size_t j = i;
        while (j < a->ngrids && a->grids[j].ix == a->grids[i].ix && a->grids[j].iy == a->grids[i].iy)
            j++;
        int64_t key = cell_key(a->grids[i].ix, a->grids[i].iy);
        size_t s = key_hash(key, n);
        while (a->slots[s].key != INT64_MIN)
            s = (s + 1) & (n - 1);
        a->slots[s] = (struct slot){key, (uint32_t)i, (uint32_t)(j - i)};
        i = j;
    }
    return MD_OK;
}

md_err md_areas_make_grids(struct md_areas *a, double step_lon, double step_lat,
                           struct md_ctx *ctx)
{
    if (!(step_lon > 0) || !(step_lat > 0))
        return md_fail(ctx, MD_EINVAL, "grid steps must be positive");
    a->step_lon = step_lon;
    a->step_lat = step_lat;
    size_t cap = 0;
    for (size_t i = 0; i < a->ndistricts; i++) {
        const struct md_bbox *b = &a->districts[i].info.bbox;
        cap += (size_t)((b->maxx - b->minx) / step_lon + 2) * (size_t)((b->maxy - b->miny) / step_lat + 2);
    }
    a->grids = calloc(cap ? cap : 1, sizeof(*a->grids));
    if (!a->grids)
        return md_fail(ctx, MD_ENOMEM, "grids");
    for (uint32_t i = 0; i < a->ndistricts; i++) {
        size_t first = a->ngrids;
        md_err rc = cut_district(a, i, cap, ctx);
        if (!rc && assign_codes(a, first, a->ngrids))
            rc = md_fail(ctx, MD_EINVAL, "district %s: grid codes overflow 999 streets",
                         a->districts[i].info.code);
        if (rc)
            return rc;
    }
    return build_lattice_index(a) ? md_fail(ctx, MD_ENOMEM, "grid index") : MD_OK;
}

static bool prepared_has_point(GEOSContextHandle_t h, const GEOSPreparedGeometry *p, double lon,
                               double lat)
{
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, lon, lat);
    bool in = pt && GEOSPreparedIntersects_r(h, p, pt) == 1;
    GEOSGeom_destroy_r(h, pt);
    return in;
}

/* md_area_source over the generator's areas: cells through the lattice
 * index, districts by their polygons. */
static md_err areas_cell_at(void *self, double lon, double lat, const char *pref_grid,
                            const char *pref_district, char grid[MD_GRID_CODE_MAX],
                            char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx)
{
    const struct md_areas *a = self;
    GEOSContextHandle_t h = md_geos_handle(a->g);
    int best_rank = 3;
    grid[0] = district[0] = '\0';
    if (!a->nslots)
        return MD_OK;
    int32_t ix = (int32_t)floor(lon / a->step_lon), iy = (int32_t)floor(lat / a->step_lat);
    int64_t key = cell_key(ix, iy);
    for (size_t s = key_hash(key, a->nslots); a->slots[s].key != INT64_MIN;
         s = (s + 1) & (a->nslots - 1)) {
        if (a->slots[s].key != key)
            continue;
        for (uint32_t k = 0; k < a->slots[s].count; k++) {
            const struct grid *gr = &a->grids[a->slots[s].first + k];
            const char *dcode = a->districts[gr->district].info.code;
            int rank = md_locate_rank(gr->code, dcode, pref_grid, pref_district);
            if (!md_locate_before(gr->code, rank, grid, best_rank))
                continue;
            if (!gr->prep || prepared_has_point(h, gr->prep, lon, lat)) {
                snprintf(grid, MD_GRID_CODE_MAX, "%s", gr->code);
                snprintf(district, MD_DISTRICT_CODE_MAX, "%s", dcode);
                best_rank = rank;
            }
        }
        break;
    }
    return MD_OK;
}

static md_err areas_district_at(void *self, double lon, double lat, const char *preferred,
                                char district[MD_DISTRICT_CODE_MAX], struct md_ctx *ctx)
{
    const struct md_areas *a = self;
    GEOSContextHandle_t h = md_geos_handle(a->g);
    int best_rank = 3;
    district[0] = '\0';
    for (size_t i = 0; i < a->ndistricts; i++) {
        const struct md_bbox *b = &a->districts[i].info.bbox;
        if (lon < b->minx || lon > b->maxx || lat < b->miny || lat > b->maxy)
            continue;
        const char *code = a->districts[i].info.code;
        int rank = md_locate_rank(code, NULL, preferred, NULL);
        if (md_locate_before(code, rank, district, best_rank) &&
            prepared_has_point(h, a->districts[i].prep, lon, lat)) {
            snprintf(district, MD_DISTRICT_CODE_MAX, "%s", code);
            best_rank = rank;
        }
    }
    return MD_OK;
}

struct md_area_source md_areas_source(const struct md_areas *a)
{
    /* No slivers: the generator's grid cells are cut from its districts. */
    return (struct md_area_source){areas_cell_at, areas_district_at, NULL, (void *)a};
}

md_err md_areas_locate(const struct md_areas *a, double lon, double lat, size_t *district,
                       char grid[MD_GRID_CODE_MAX])
{
    struct md_area_source src = md_areas_source(a);
    struct md_location at;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_err rc = md_locate(&src, lon, lat, NULL, &at, &ctx);
    if (grid)
        memcpy(grid, at.grid, MD_GRID_CODE_MAX);
    for (size_t i = 0; !rc && at.district[0] && i < a->ndistricts; i++)
        if (strcmp(a->districts[i].info.code, at.district) == 0) {
            *district = i;
            return MD_OK;
        }
    return rc ? rc : MD_ENOTFOUND;
}

static md_err bind_wkb_step(struct md_store *s, struct md_geos *g, sqlite3_stmt *st, int col,
                            const GEOSGeometry *geom, struct md_ctx *ctx)
{
    GEOSContextHandle_t h = md_geos_handle(g);
    GEOSWKBWriter *w = GEOSWKBWriter_create_r(h);
    size_t n = 0;
    unsigned char *wkb = w ? GEOSWKBWriter_write_r(h, w, geom, &n) : NULL;
    GEOSWKBWriter_destroy_r(h, w);
    if (!wkb)
        return md_geos_fail(g, ctx, "cannot write WKB");
    sqlite3_bind_blob(st, col, wkb, (int)n, SQLITE_TRANSIENT);
    GEOSFree_r(h, wkb);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, "saving area", ctx);
}

static md_err save_districts(const struct md_areas *a, struct md_store *s, int64_t now,
                             struct md_bbox *all, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO districts(code, name, name_en, label_lon, label_lat,"
                              " updated_at, geom) VALUES (?, ?, ?, ?, ?, ?,"
                              " CastToMultiPolygon(GeomFromWKB(?, 4326)))";
    for (size_t i = 0; i < a->ndistricts; i++) {
        const struct district *d = &a->districts[i];
        sqlite3_stmt *st = NULL;
        md_err rc = md_store_stmt(s, sql, &st, ctx);
        if (rc)
            return rc;
        sqlite3_bind_text(st, 1, d->info.code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, d->info.name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, d->name_en, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, d->info.label_lon);
        sqlite3_bind_double(st, 5, d->info.label_lat);
        sqlite3_bind_int64(st, 6, now);
        rc = bind_wkb_step(s, a->g, st, 7, d->geom, ctx);
        if (rc)
            return rc;
        const struct md_bbox *b = &d->info.bbox;
        if (i == 0)
            *all = *b;
        all->minx = fmin(all->minx, b->minx);
        all->miny = fmin(all->miny, b->miny);
        all->maxx = fmax(all->maxx, b->maxx);
        all->maxy = fmax(all->maxy, b->maxy);
    }
    return MD_OK;
}

static md_err save_grids(const struct md_areas *a, struct md_store *s, int64_t now,
                         struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO grids(code, district_code, updated_at, geom)"
                              " VALUES (?, ?, ?, CastToMultiPolygon(GeomFromWKB(?, 4326)))";
    for (size_t i = 0; i < a->ngrids; i++) {
        const struct grid *gr = &a->grids[i];
        sqlite3_stmt *st = NULL;
        md_err rc = md_store_stmt(s, sql, &st, ctx);
        if (rc)
            return rc;
        sqlite3_bind_text(st, 1, gr->code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, a->districts[gr->district].info.code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        rc = bind_wkb_step(s, a->g, st, 4, gr->geom, ctx);
        if (rc)
            return rc;
    }
    return MD_OK;
}

md_err md_areas_save(const struct md_areas *a, struct md_store *s, int64_t now,
                     struct md_ctx *ctx)
{
    struct md_bbox all = {0, 0, 0, 0};
    md_err rc = md_store_bulk_begin(s, MD_LAYER_DISTRICTS, ctx);
    if (rc)
        return rc;
    rc = save_districts(a, s, now, &all, ctx);
    if (rc) {
        md_store_bulk_abort(s);
        return rc;
    }
    rc = md_store_bulk_end(s, MD_LAYER_DISTRICTS, &all, ctx);
    if (rc || a->ngrids == 0)
        return rc;
    rc = md_store_bulk_begin(s, MD_LAYER_GRIDS, ctx);
    if (rc)
        return rc;
    rc = save_grids(a, s, now, ctx);
    if (rc) {
        md_store_bulk_abort(s);
        return rc;
    }
    return md_store_bulk_end(s, MD_LAYER_GRIDS, &all, ctx);
}

