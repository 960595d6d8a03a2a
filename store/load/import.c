/* import.c - OGR sources into mapd's layers (import.h).
 *
 * Pipeline per row: read the OGR feature -> take its geometry (or the
 * lon/lat columns of a CSV) -> reproject to WGS84 -> locate district and
 * grid (points) -> check every field against the layer's field list ->
 * insert with one prepared statement. A row that fails any step is
 * reported with its number and reason and skipped; the rest of its batch
 * goes on (a failed INSERT undoes only itself).
 *
 * Points are located by locate.h's one rule over the database's districts
 * and grids loaded into memory (md_area_index), so imported rows get the
 * codes the server would give them.
 */
#include "import.h"
#include "locate.h"
#include "md_text.h"
#include "md_time.h"
#include "reproject.h"
#include "store_int.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <jansson.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROGRESS_EVERY 10000
#define DEFAULT_BATCH INT64_MAX   /* one transaction: bulk mode rebuilds indexes per batch */
#define IMPORT_CACHE_KB "1048576" /* 1 GiB (pages are allocated as used) */
#define STORE_CACHE_KB "-16000"   /* store.c's default for read-write connections */
#define IMPORT_TZ_MIN 480         /* offsetless times in sources are city time (+08:00) */

/* ---- the fields of each layer */

enum ftype { F_TEXT, F_INT, F_TIME, F_REAL, F_JSON };
enum fdefault { D_NULL, D_EMPTY, D_TEXT, D_NOW, D_CREATED };

struct field {
    const char *name;
    enum ftype type;
    bool required;
    enum fdefault dflt;
    const char *dflt_text;
    const char *const *allowed; /* NULL = any */
    int check;                  /* 1 facility category, 2 report category, 3 district code */
};

static const char *const fac_status[] = {"open", "closed", "unverified", NULL};
static const char *const rep_status[] = {"reported",    "filed",   "dispatched",
                                         "in_progress", "handled", "closed",
                                         "rejected",    "parked",  NULL};
static const char *const rep_kind[] = {"problem", "incident", "correction", NULL};
static const char *const rep_channel[] = {"app",    "web",     "hotline", "patrol",
                                          "import", "open311", NULL};

static const struct field fac_fields[] = {{"id", F_INT, false, D_NULL, NULL, NULL, 0},
                                          {"category", F_TEXT, true, D_NULL, NULL, NULL, 1},
                                          {"name", F_TEXT, true, D_NULL, NULL, NULL, 0},
                                          {"address", F_TEXT, false, D_EMPTY, NULL, NULL, 0},
                                          {"phone", F_TEXT, false, D_EMPTY, NULL, NULL, 0},
                                          {"opening_hours", F_TEXT, false, D_EMPTY, NULL, NULL, 0},
                                          {"status", F_TEXT, false, D_TEXT, "open", fac_status, 0},
                                          {"source", F_TEXT, false, D_TEXT, "import", NULL, 0},
                                          {"updated_at", F_TIME, false, D_NOW, NULL, NULL, 0},
                                          {NULL, 0, false, 0, NULL, NULL, 0}};
static const char fac_insert[] =
    "INSERT INTO facilities(id, category, name, address, phone, opening_hours, status, source,"
    " updated_at, district_code, grid_code, lon, lat, geom) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
    " ?8, ?9, ?10, ?11, ?12, ?13, MakePoint(?12, ?13, 4326))";

static const struct field rep_fields[] = {
    {"id", F_INT, false, D_NULL, NULL, NULL, 0},
    {"kind", F_TEXT, false, D_TEXT, "problem", rep_kind, 0},
    {"service_code", F_TEXT, true, D_NULL, NULL, NULL, 2},
    {"description", F_TEXT, false, D_EMPTY, NULL, NULL, 0},
    {"address", F_TEXT, false, D_EMPTY, NULL, NULL, 0},
    {"status", F_TEXT, false, D_TEXT, "reported", rep_status, 0},
    {"parked_from", F_TEXT, false, D_NULL, NULL, rep_status, 0},
    {"channel", F_TEXT, false, D_TEXT, "import", rep_channel, 0},
    {"media_urls", F_JSON, false, D_TEXT, "[]", NULL, 0},
    {"facility_id", F_INT, false, D_NULL, NULL, NULL, 0},
    {"proposed_change", F_JSON, false, D_NULL, NULL, NULL, 0},
    {"merged_into", F_INT, false, D_NULL, NULL, NULL, 0},
    {"created_at", F_TIME, false, D_NOW, NULL, NULL, 0},
    {"updated_at", F_TIME, false, D_CREATED, NULL, NULL, 0},
    {"expected_at", F_TIME, false, D_NULL, NULL, NULL, 0},
    {"closed_at", F_TIME, false, D_NULL, NULL, NULL, 0},
    {NULL, 0, false, 0, NULL, NULL, 0}};
static const char rep_insert[] =
    "INSERT INTO reports(id, kind, service_code, description, address, status, parked_from,"
    " channel, media_urls, facility_id, proposed_change, merged_into, created_at, updated_at,"
    " expected_at, closed_at, district_code, grid_code, lon, lat, geom) VALUES (?1, ?2, ?3, ?4,"
    " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,"
    " MakePoint(?19, ?20, 4326))";
static const char rep_history[] =
    "INSERT INTO report_history(report_id, action, from_status, to_status, actor_role, actor_id,"
    " note, at) VALUES (?1, 'import', NULL, ?2, 'admin', 'import', ?3, ?4)";

static const struct field dis_fields[] = {{"code", F_TEXT, true, D_NULL, NULL, NULL, 0},
                                          {"name", F_TEXT, true, D_NULL, NULL, NULL, 0},
                                          {"name_en", F_TEXT, false, D_EMPTY, NULL, NULL, 0},
                                          {"label_lon", F_REAL, false, D_NULL, NULL, NULL, 0},
                                          {"label_lat", F_REAL, false, D_NULL, NULL, NULL, 0},
                                          {"updated_at", F_TIME, false, D_NOW, NULL, NULL, 0},
                                          {NULL, 0, false, 0, NULL, NULL, 0}};
static const char dis_insert[] =
    "INSERT INTO districts(code, name, name_en, label_lon, label_lat, updated_at, geom)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, CastToMultiPolygon(GeomFromWKB(?7, 4326)))";

static const struct field grd_fields[] = {{"code", F_TEXT, true, D_NULL, NULL, NULL, 0},
                                          {"district_code", F_TEXT, true, D_NULL, NULL, NULL, 3},
                                          {"updated_at", F_TIME, false, D_NOW, NULL, NULL, 0},
                                          {NULL, 0, false, 0, NULL, NULL, 0}};
static const char grd_insert[] = "INSERT INTO grids(code, district_code, updated_at, geom)"
                                 " VALUES (?1, ?2, ?3, CastToMultiPolygon(GeomFromWKB(?4, 4326)))";

static const struct field *const layer_fields[MD_LAYER__COUNT] = {fac_fields, rep_fields,
                                                                  dis_fields, grd_fields};
static const char *const layer_insert[MD_LAYER__COUNT] = {fac_insert, rep_insert, dis_insert,
                                                          grd_insert};

static int nfields(const struct field *f)
{
    int n = 0;
    while (f[n].name)
        n++;
    return n;
}

/* The polygonal parts of a MakeValid result (takes ownership): the polygon or
 * multipolygon itself, or the polygons of a collection (lines and points that
 * a repair leaves beside them dropped, as ogr2ogr -makevalid keeps them
 * polygonal). NULL when nothing polygonal remains. */
static GEOSGeometry *polygonal_parts(GEOSContextHandle_t h, GEOSGeometry *g)
{
    if (!g)
        return NULL;
    int type = GEOSGeomTypeId_r(h, g);
    if ((type == GEOS_POLYGON || type == GEOS_MULTIPOLYGON) && !GEOSisEmpty_r(h, g))
        return g;
    int n = type == GEOS_GEOMETRYCOLLECTION ? GEOSGetNumGeometries_r(h, g) : 0;
    GEOSGeometry **parts = calloc((size_t)(n > 0 ? n : 1) * 8, sizeof(*parts));
    unsigned made = 0, cap = (unsigned)(n > 0 ? n : 1) * 8;
    for (int i = 0; parts && i < n; i++) {
        const GEOSGeometry *p = GEOSGetGeometryN_r(h, g, i);
        int pt = GEOSGeomTypeId_r(h, p);
        int m = pt == GEOS_MULTIPOLYGON ? GEOSGetNumGeometries_r(h, p) : pt == GEOS_POLYGON;
        for (int k = 0; k < m && made < cap; k++) {
            const GEOSGeometry *poly = pt == GEOS_MULTIPOLYGON ? GEOSGetGeometryN_r(h, p, k) : p;
            if (!GEOSisEmpty_r(h, poly))
                parts[made++] = GEOSGeom_clone_r(h, poly);
        }
    }
    GEOSGeom_destroy_r(h, g);
    GEOSGeometry *out =
        made ? GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, parts, made) : NULL;
    free(parts);
    return out;
}

/* ---- one import */

struct run {
    struct md_store *s;
    const struct md_import_opts *o;
    struct md_import_result *r;
    struct md_ctx *ctx;
    GEOSContextHandle_t h;
    OGRLayerH layer;
    const struct field *fields;
    int nf;
    int src_index[32]; /* OGR field index per target field, -1 = absent */
    int lon_index, lat_index;
    int district_index, grid_index; /* the source's own codes, if any */
    struct md_reproj *reproj;
    struct md_area_index *areas; /* the database's districts and grids (locate.h) */
    char **codes; /* allowed category / district codes */
    size_t ncodes;
    char **cmap; /* --category-map: source value, code, source value, code, ... */
    size_t ncmap;
    int64_t now, batch_rows, in_batch;
    struct md_bbox batch_box;
    const char *file_base;
    char reason[512];
};

static md_err bad(struct run *u, const char *fmt, ...) MD_PRINTF(2, 3);
static md_err bad(struct run *u, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->reason, sizeof(u->reason), fmt, ap);
    va_end(ap);
    return MD_EINVAL;
}

static md_err load_codes(struct run *u, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(u->s->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK)
        return md_store_fail(u->s, src, "categories", u->ctx);
    size_t cap = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (u->ncodes == cap) {
            cap = cap ? cap * 2 : 64;
            char **v = realloc(u->codes, cap * sizeof(*v));
            if (!v) {
                sqlite3_finalize(st);
                return md_fail(u->ctx, MD_ENOMEM, "categories");
            }
            u->codes = v;
        }
        u->codes[u->ncodes++] = strdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(u->s, src, "categories", u->ctx);
}

static bool known_code(const struct run *u, const char *v)
{
    for (size_t i = 0; i < u->ncodes; i++) {
        if (u->codes[i] && strcmp(u->codes[i], v) == 0)
            return true;
    }
    return false;
}

/* --category-map FILE: one "source value,code" per line (# comments, blank
 * lines and a trailing CR ignored); the code must be one of the database's. */
static md_err load_category_map(struct run *u, const char *path, struct md_ctx *ctx)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return md_fail(ctx, MD_EIO, "--category-map: no such file: %s", path);
    char line[512];
    md_err rc = MD_OK;
    size_t cap = 0;
    for (int no = 1; !rc && fgets(line, sizeof(line), f); no++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *comma = strrchr(line, ',');
        if (!comma || comma == line || !comma[1]) {
            rc = md_fail(ctx, MD_EINVAL, "--category-map %s line %d: expected 'source value,code'",
                         path, no);
            break;
        }
        *comma = '\0';
        if (u->ncmap + 2 > cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(u->cmap, cap * sizeof(*grown));
            if (!grown) {
                rc = md_fail(ctx, MD_ENOMEM, "--category-map");
                break;
            }
            u->cmap = grown;
        }
        u->cmap[u->ncmap] = strdup(line);
        u->cmap[u->ncmap + 1] = strdup(comma + 1);
        u->ncmap += 2;
        if (!u->cmap[u->ncmap - 2] || !u->cmap[u->ncmap - 1])
            rc = md_fail(ctx, MD_ENOMEM, "--category-map");
    }
    fclose(f);
    return rc;
}

/* Resolve target -> source fields from the layer definition and --map. */
static md_err map_fields(struct run *u)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(u->layer);
    const char *srcs[34] = {0};
    const char *lon_src = NULL, *lat_src = NULL;
    char *map = u->o->field_map ? strdup(u->o->field_map) : NULL;
    md_err rc = MD_OK;
    for (char *item = map, *next; !rc && item && *item; item = next) {
        next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        char *eq = strchr(item, '=');
        if (!eq || eq == item || !eq[1]) {
            rc = md_fail(u->ctx, MD_EINVAL, "--map items are dst=src, got '%s'", item);
            break;
        }
        *eq = '\0';
        int i = 0;
        while (i < u->nf && strcmp(u->fields[i].name, item) != 0)
            i++;
        if (strcmp(item, "lon") == 0)
            lon_src = eq + 1;
        else if (strcmp(item, "lat") == 0)
            lat_src = eq + 1;
        else if (i < u->nf)
            srcs[i] = eq + 1;
        else
            rc = md_fail(u->ctx, MD_EINVAL, "--map: %s has no field '%s'",
                         md_layer_name(u->o->layer), item);
        if (!rc && OGR_FD_GetFieldIndex(defn, eq + 1) < 0)
            rc = md_fail(u->ctx, MD_EINVAL, "--map: the source has no field '%s'", eq + 1);
    }
    for (int i = 0; !rc && i < u->nf; i++)
        u->src_index[i] = OGR_FD_GetFieldIndex(defn, srcs[i] ? srcs[i] : u->fields[i].name);
    static const char *const lon_names[] = {"lon", "lng", "longitude", "x", NULL};
    static const char *const lat_names[] = {"lat", "latitude", "y", NULL};
    u->lon_index = lon_src ? OGR_FD_GetFieldIndex(defn, lon_src) : -1;
    u->lat_index = lat_src ? OGR_FD_GetFieldIndex(defn, lat_src) : -1;
    u->district_index = OGR_FD_GetFieldIndex(defn, "district_code");
    u->grid_index = OGR_FD_GetFieldIndex(defn, "grid_code");
    for (int i = 0; u->lon_index < 0 && lon_names[i]; i++)
        u->lon_index = OGR_FD_GetFieldIndex(defn, lon_names[i]);
    for (int i = 0; u->lat_index < 0 && lat_names[i]; i++)
        u->lat_index = OGR_FD_GetFieldIndex(defn, lat_names[i]);
    for (int i = 0; !rc && i < u->nf; i++) {
        if (u->fields[i].required && u->src_index[i] < 0)
            rc = md_fail(u->ctx, MD_EINVAL,
                         "the source has no field '%s' (required for %s;"
                         " use --map %s=FIELD)",
                         u->fields[i].name, md_layer_name(u->o->layer), u->fields[i].name);
    }
    free(map);
    return rc;
}

/* A time from an OGR date/date-time field (drivers such as GeoJSON and
 * GeoPackage type them): components plus OGR's zone flag (100 = UTC, each
 * step 15 minutes; 0/1 = unknown/local: the city's offset). */
static bool ogr_time(OGRFeatureH feat, int idx, int64_t *out)
{
    OGRFieldType t = OGR_Fld_GetType(OGR_F_GetFieldDefnRef(feat, idx));
    if (t != OFTDateTime && t != OFTDate)
        return false;
    int y, mo, d, h, mi, tz;
    float sec;
    if (!OGR_F_GetFieldAsDateTimeEx(feat, idx, &y, &mo, &d, &h, &mi, &sec, &tz))
        return false;
    int offset_min = tz >= 100 ? (tz - 100) * 15 : IMPORT_TZ_MIN;
    *out = md_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
           (int64_t)sec - (int64_t)offset_min * 60;
    return true;
}

static md_err parse_time(struct run *u, const struct field *f, const char *v, int64_t *out)
{
    struct md_ctx sub;
    md_ctx_init(&sub);
    if (md_parse_int64(v, f->name, 0, INT64_MAX / 2, out, &sub) == MD_OK)
        return MD_OK; /* epoch seconds */
    md_ctx_init(&sub);
    if (md_time_parse(v, IMPORT_TZ_MIN, out, &sub))
        return bad(u, "%s '%.40s' is not an ISO 8601 time or epoch seconds", f->name, v);
    return MD_OK;
}

/* Bind field i (1-based parameter i + 1) from the feature. */
static md_err bind_field(struct run *u, sqlite3_stmt *st, OGRFeatureH feat, int i, int64_t created)
{
    const struct field *f = &u->fields[i];
    int idx = u->src_index[i];
    const char *v = idx >= 0 && OGR_F_IsFieldSetAndNotNull(feat, idx)
                        ? OGR_F_GetFieldAsString(feat, idx)
                        : NULL;
    if (v && !*v) /* an empty CSV cell is an absent value */
        v = NULL;
    if (!v) {
        if (f->required)
            return bad(u, "%s is missing", f->name);
        switch (f->dflt) {
        case D_EMPTY:
            sqlite3_bind_text(st, i + 1, "", 0, SQLITE_STATIC);
            break;
        case D_TEXT:
            sqlite3_bind_text(st, i + 1, f->dflt_text, -1, SQLITE_STATIC);
            break;
        case D_NOW:
            sqlite3_bind_int64(st, i + 1, u->now);
            break;
        case D_CREATED:
            sqlite3_bind_int64(st, i + 1, created);
            break;
        default:
            sqlite3_bind_null(st, i + 1);
        }
        return MD_OK;
    }
    if (!md_utf8_valid(v, strlen(v)))
        return bad(u, "%s is not valid UTF-8", f->name);
    unsigned cp;
    long at = md_text_bad_char(v, strlen(v), &cp);
    if (at >= 0) /* the same rule as the API's input (core/md_text.c) */
        return bad(u, "%s has control character U+%04X at character %ld (no output could carry it)",
                   f->name, cp, at);
    if (f->allowed) {
        const char *const *a = f->allowed;
        while (*a && strcmp(*a, v) != 0)
            a++;
        if (!*a)
            return bad(u, "%s '%.40s' is not one of the allowed values", f->name, v);
    }
    for (size_t k = 0; f->check && f->check != 3 && k < u->ncmap; k += 2)
        if (strcmp(u->cmap[k], v) == 0) {
            v = u->cmap[k + 1];
            break;
        }
    if (f->check && !known_code(u, v))
        return bad(u, "unknown %s '%.40s'%s", f->check == 3 ? "district" : "category", v,
                   f->check == 3 ? ""
                   : u->o->category_map
                       ? " (not a code, nor a source value of --category-map)"
                       : " (not a code: map source values with --category-map FILE)");
    struct md_ctx sub;
    md_ctx_init(&sub);
    int64_t n;
    double d;
    switch (f->type) {
    case F_INT:
        if (md_parse_int64(v, f->name, INT64_MIN / 2, INT64_MAX / 2, &n, &sub))
            return bad(u, "%s '%.40s' is not an integer", f->name, v);
        sqlite3_bind_int64(st, i + 1, n);
        break;
    case F_REAL:
        if (md_parse_double(v, f->name, &d, &sub))
            return bad(u, "%s '%.40s' is not a number", f->name, v);
        sqlite3_bind_double(st, i + 1, d);
        break;
    case F_TIME:
        if (!ogr_time(feat, idx, &n) && parse_time(u, f, v, &n))
            return MD_EINVAL;
        sqlite3_bind_int64(st, i + 1, n);
        break;
    case F_JSON: {
        json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);
        if (!j)
            return bad(u, "%s is not JSON", f->name);
        json_decref(j);
        sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT);
        break;
    }
    default:
        if (strlen(v) > 4000)
            return bad(u, "%s is longer than 4000 bytes", f->name);
        sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT);
    }
    return MD_OK;
}

/* A point's WGS84 lon/lat from the geometry or the lon/lat columns. */
static md_err point_of(struct run *u, OGRFeatureH feat, double *lon, double *lat)
{
    OGRGeometryH g = OGR_F_GetGeometryRef(feat);
    double x, y;
    if (g && !OGR_G_IsEmpty(g)) {
        if (wkbFlatten(OGR_G_GetGeometryType(g)) != wkbPoint)
            return bad(u, "geometry is a %s, expected a point", OGR_G_GetGeometryName(g));
        x = OGR_G_GetX(g, 0);
        y = OGR_G_GetY(g, 0);
    } else if (u->lon_index >= 0 && u->lat_index >= 0) {
        const char *sx = OGR_F_IsFieldSetAndNotNull(feat, u->lon_index)
                             ? OGR_F_GetFieldAsString(feat, u->lon_index)
                             : "";
        const char *sy = OGR_F_IsFieldSetAndNotNull(feat, u->lat_index)
                             ? OGR_F_GetFieldAsString(feat, u->lat_index)
                             : "";
        struct md_ctx sub;
        md_ctx_init(&sub);
        if (!*sx || !*sy)
            return bad(u, "no geometry and no lon/lat");
        if (md_parse_double(sx, "lon", &x, &sub) || md_parse_double(sy, "lat", &y, &sub))
            return bad(u, "%s", md_ctx_message(&sub));
    } else {
        return bad(u, "no geometry");
    }
    struct md_ctx sub;
    md_ctx_init(&sub);
    if (md_reproj_point(u->reproj, x, y, lon, lat, &sub))
        return bad(u, "coordinates %g %g: %s", x, y, md_ctx_message(&sub));
    return MD_OK;
}

static md_err step_insert(struct run *u, sqlite3_stmt *st)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_DONE)
        return MD_OK;
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return bad(u, "rejected by the database: %s", sqlite3_errmsg(u->s->db));
    return md_store_fail(u->s, src, "import insert", u->ctx);
}

static md_err import_point(struct run *u, sqlite3_stmt *st, OGRFeatureH feat)
{
    double lon, lat;
    md_err rc = point_of(u, feat, &lon, &lat);
    if (rc)
        return rc;
    bool reports = u->o->layer == MD_LAYER_REPORTS;
    int64_t created = u->now;
    for (int i = 0; i < u->nf; i++) {
        if (strcmp(u->fields[i].name, "created_at") == 0 && u->src_index[i] >= 0 &&
            OGR_F_IsFieldSetAndNotNull(feat, u->src_index[i]) &&
            !ogr_time(feat, u->src_index[i], &created) &&
            parse_time(u, &u->fields[i], OGR_F_GetFieldAsString(feat, u->src_index[i]), &created))
            return MD_EINVAL;
    }
    for (int i = 0; i < u->nf; i++) {
        if ((rc = bind_field(u, st, feat, i, created)))
            return rc;
    }
    /* A point on a boundary keeps the source's codes when they hold it. */
    char pref_d[32] = "", pref_g[32] = "";
    if (u->district_index >= 0 && OGR_F_IsFieldSetAndNotNull(feat, u->district_index))
        snprintf(pref_d, sizeof(pref_d), "%s", OGR_F_GetFieldAsString(feat, u->district_index));
    if (u->grid_index >= 0 && OGR_F_IsFieldSetAndNotNull(feat, u->grid_index))
        snprintf(pref_g, sizeof(pref_g), "%s", OGR_F_GetFieldAsString(feat, u->grid_index));
    struct md_area_source areas = md_area_index_source(u->areas);
    struct md_locate_opts lo = {pref_d, pref_g, u->o->outside == MD_OUTSIDE_KEEP};
    struct md_location at;
    if ((rc = md_locate(&areas, lon, lat, &lo, &at, u->ctx)))
        return rc;
    bool outside = !at.inside && md_area_index_districts(u->areas) > 0;
    if (outside &&
        (u->o->outside == MD_OUTSIDE_REFUSE || (reports && u->o->outside == MD_OUTSIDE_KEEP))) {
        u->r->outside++;
        return bad(u, "point %.6f,%.6f is outside every district%s", lon, lat,
                   u->o->outside == MD_OUTSIDE_KEEP ? " (reports need one)"
                                                    : " (--outside refuse)");
    }
    if (outside)
        u->r->outside++;
    const char *district = at.district[0] ? at.district : NULL;
    const char *grid = at.grid[0] ? at.grid : NULL;
    if (!district && reports)
        return bad(u, "point %.6f,%.6f is outside every district", lon, lat);
    int base = u->nf;
    if (district)
        sqlite3_bind_text(st, base + 1, district, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, base + 1);
    if (grid)
        sqlite3_bind_text(st, base + 2, grid, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, base + 2);
    sqlite3_bind_double(st, base + 3, lon);
    sqlite3_bind_double(st, base + 4, lat);
    rc = step_insert(u, st);
    if (!rc && reports) {
        sqlite3_stmt *h = NULL;
        rc = md_store_stmt(u->s, rep_history, &h, u->ctx);
        if (!rc) {
            sqlite3_bind_int64(h, 1, sqlite3_last_insert_rowid(u->s->db));
            int si = -1;
            for (int i = 0; i < u->nf; i++)
                si = strcmp(u->fields[i].name, "status") == 0 ? i : si;
            const char *status =
                u->src_index[si] >= 0 && OGR_F_IsFieldSetAndNotNull(feat, u->src_index[si])
                    ? OGR_F_GetFieldAsString(feat, u->src_index[si])
                    : "reported";
            sqlite3_bind_text(h, 2, status, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(h, 3, u->file_base, -1, SQLITE_STATIC);
            sqlite3_bind_int64(h, 4, u->now);
            int src = sqlite3_step(h);
            sqlite3_reset(h);
            if (src != SQLITE_DONE)
                rc = md_store_fail(u->s, src, "import history", u->ctx);
        }
    }
    if (!rc) {
        struct md_bbox *b = &u->batch_box;
        if (u->in_batch == 0)
            *b = (struct md_bbox){lon, lat, lon, lat};
        b->minx = lon < b->minx ? lon : b->minx;
        b->maxx = lon > b->maxx ? lon : b->maxx;
        b->miny = lat < b->miny ? lat : b->miny;
        b->maxy = lat > b->maxy ? lat : b->maxy;
    }
    return rc;
}

/* Polygon layers: reproject every vertex, make valid, write WKB. */
static GEOSGeometry *ring_to_geos(struct run *u, OGRGeometryH ring, md_err *rc)
{
    int n = OGR_G_GetPointCount(ring);
    GEOSCoordSequence *seq = GEOSCoordSeq_create_r(u->h, (unsigned)n, 2);
    for (int i = 0; seq && i < n; i++) {
        double lon, lat;
        struct md_ctx sub;
        md_ctx_init(&sub);
        if (md_reproj_point(u->reproj, OGR_G_GetX(ring, i), OGR_G_GetY(ring, i), &lon, &lat,
                            &sub)) {
            *rc = bad(u, "vertex %d: %s", i, md_ctx_message(&sub));
            GEOSCoordSeq_destroy_r(u->h, seq);
            return NULL;
        }
        GEOSCoordSeq_setXY_r(u->h, seq, (unsigned)i, lon, lat);
    }
    GEOSGeometry *g = seq ? GEOSGeom_createLinearRing_r(u->h, seq) : NULL;
    if (!g)
        *rc = bad(u, "a ring is not closed or has fewer than 4 points");
    return g;
}

static GEOSGeometry *polygon_to_geos(struct run *u, OGRGeometryH poly, md_err *rc)
{
    int n = OGR_G_GetGeometryCount(poly);
    if (n < 1) {
        *rc = bad(u, "empty polygon");
        return NULL;
    }
    GEOSGeometry **rings = calloc((size_t)n, sizeof(*rings));
    for (int i = 0; rings && i < n && !*rc; i++)
        rings[i] = ring_to_geos(u, OGR_G_GetGeometryRef(poly, i), rc);
    GEOSGeometry *g = NULL;
    if (rings && !*rc)
        g = GEOSGeom_createPolygon_r(u->h, rings[0], rings + 1, (unsigned)(n - 1));
    else
        for (int i = 0; rings && i < n; i++)
            GEOSGeom_destroy_r(u->h, rings[i]);
    free(rings);
    return g;
}

static md_err import_polygon(struct run *u, sqlite3_stmt *st, OGRFeatureH feat)
{
    OGRGeometryH g = OGR_F_GetGeometryRef(feat);
    md_err rc = MD_OK;
    if (!g || OGR_G_IsEmpty(g))
        return bad(u, "no geometry");
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    GEOSGeometry *geom = NULL;
    if (t == wkbPolygon) {
        geom = polygon_to_geos(u, g, &rc);
    } else if (t == wkbMultiPolygon) {
        int n = OGR_G_GetGeometryCount(g);
        GEOSGeometry **parts = calloc((size_t)(n ? n : 1), sizeof(*parts));
        int made = 0;
        for (int i = 0; parts && i < n && !rc; i++)
            parts[made++] = polygon_to_geos(u, OGR_G_GetGeometryRef(g, i), &rc);
        if (!rc && parts && n)
            geom = GEOSGeom_createCollection_r(u->h, GEOS_MULTIPOLYGON, parts, (unsigned)n);
        else
            for (int i = 0; parts && i < made; i++)
                GEOSGeom_destroy_r(u->h, parts[i]);
        free(parts);
        if (!rc && !geom)
            rc = bad(u, "empty multipolygon");
    } else {
        return bad(u, "geometry is a %s, expected a polygon", OGR_G_GetGeometryName(g));
    }
    if (rc)
        return rc;
    if (GEOSisValid_r(u->h, geom) != 1) {
        char *why = GEOSisValidReason_r(u->h, geom);
        char what[160];
        snprintf(what, sizeof(what), "%s", why ? why : "invalid");
        GEOSFree_r(u->h, why);
        GEOSGeometry *fixed = polygonal_parts(u->h, GEOSMakeValid_r(u->h, geom));
        GEOSGeom_destroy_r(u->h, geom);
        geom = fixed;
        if (!geom)
            return bad(u, "polygon is invalid (%s) and has no polygonal part once repaired", what);
        u->r->repaired++;
        if (u->o->on_repaired)
            u->o->on_repaired(u->o->userdata, u->r->rows, what);
    }
    for (int i = 0; !rc && i < u->nf; i++)
        rc = bind_field(u, st, feat, i, u->now);
    if (!rc && u->o->layer == MD_LAYER_DISTRICTS &&
        (u->src_index[3] < 0 || u->src_index[4] < 0 ||
         !OGR_F_IsFieldSetAndNotNull(feat, u->src_index[3]))) {
        GEOSGeometry *label = GEOSPointOnSurface_r(u->h, geom);
        double x = 0, y = 0;
        if (label) {
            GEOSGeomGetX_r(u->h, label, &x);
            GEOSGeomGetY_r(u->h, label, &y);
            sqlite3_bind_double(st, 4, x);
            sqlite3_bind_double(st, 5, y);
            GEOSGeom_destroy_r(u->h, label);
        }
    }
    if (!rc) {
        size_t n = 0;
        GEOSWKBWriter *w = GEOSWKBWriter_create_r(u->h);
        unsigned char *wkb = w ? GEOSWKBWriter_write_r(u->h, w, geom, &n) : NULL;
        GEOSWKBWriter_destroy_r(u->h, w);
        if (!wkb)
            rc = md_geos_fail(u->o->geos, u->ctx, "writing WKB");
        else
            sqlite3_bind_blob(st, u->nf + 1, wkb, (int)n, SQLITE_TRANSIENT);
        GEOSFree_r(u->h, wkb);
        if (!rc)
            rc = step_insert(u, st);
    }
    if (!rc) {
        double x0, y0, x1, y1;
        GEOSGeom_getXMin_r(u->h, geom, &x0);
        GEOSGeom_getYMin_r(u->h, geom, &y0);
        GEOSGeom_getXMax_r(u->h, geom, &x1);
        GEOSGeom_getYMax_r(u->h, geom, &y1);
        struct md_bbox *b = &u->batch_box;
        if (u->in_batch == 0)
            *b = (struct md_bbox){x0, y0, x1, y1};
        b->minx = x0 < b->minx ? x0 : b->minx;
        b->maxx = x1 > b->maxx ? x1 : b->maxx;
        b->miny = y0 < b->miny ? y0 : b->miny;
        b->maxy = y1 > b->maxy ? y1 : b->maxy;
    }
    GEOSGeom_destroy_r(u->h, geom);
    return rc;
}

/* The source CRS: --srs, else --crs, else the layer's, else WGS84. */
static md_err make_reproj(struct run *u, PJ_CONTEXT *pj)
{
    char *wkt = NULL;
    const char *def = u->o->srs ? u->o->srs : u->o->crs;
    if (!def) {
        OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(u->layer);
        const char *opts[] = {"FORMAT=WKT2_2019", NULL};
        if (srs && OSRExportToWktEx(srs, &wkt, opts) == OGRERR_NONE)
            def = wkt;
    }
    md_err rc = md_reproj_new(pj, def ? def : "wgs84", &u->reproj, u->ctx);
    if (!rc)
        snprintf(u->r->transform, sizeof(u->r->transform), "%s", md_reproj_describe(u->reproj));
    CPLFree(wkt);
    return rc;
}

static md_err end_batch(struct run *u)
{
    if (u->in_batch == 0 && !sqlite3_get_autocommit(u->s->db)) {
        md_store_bulk_abort(u->s); /* nothing written: nothing to rebuild */
        return MD_OK;
    }
    if (sqlite3_get_autocommit(u->s->db))
        return MD_OK;
    md_err rc = md_store_bulk_end(u->s, u->o->layer, &u->batch_box, u->ctx);
    if (!rc) {
        u->r->batches++;
        u->in_batch = 0;
    }
    return rc;
}

static md_err run_rows(struct run *u)
{
    sqlite3_stmt *st = NULL;
    md_err rc = MD_OK;
    int64_t total = OGR_L_GetFeatureCount(u->layer, FALSE);
    OGRFeatureH feat;
    OGR_L_ResetReading(u->layer);
    while (!rc && (feat = OGR_L_GetNextFeature(u->layer)) != NULL) {
        u->r->rows++;
        if (sqlite3_get_autocommit(u->s->db))
            rc = md_store_bulk_begin(u->s, u->o->layer, u->ctx);
        if (!rc)
            rc = md_store_stmt(u->s, layer_insert[u->o->layer], &st, u->ctx);
        if (!rc) {
            u->reason[0] = '\0';
            md_err row = (u->o->layer == MD_LAYER_FACILITIES || u->o->layer == MD_LAYER_REPORTS)
                             ? import_point(u, st, feat)
                             : import_polygon(u, st, feat);
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            if (row == MD_EINVAL && u->reason[0]) {
                u->r->bad++;
                if (u->o->on_bad_row)
                    u->o->on_bad_row(u->o->userdata, u->r->rows, u->reason);
            } else if (row) {
                rc = row;
            } else {
                u->r->imported++;
                u->in_batch++;
            }
        }
        OGR_F_Destroy(feat);
        if (!rc && u->in_batch >= u->batch_rows)
            rc = end_batch(u);
        if (u->o->on_progress && u->r->rows % PROGRESS_EVERY == 0)
            u->o->on_progress(u->o->userdata, u->r->rows, total);
    }
    if (!rc)
        rc = end_batch(u);
    else if (!sqlite3_get_autocommit(u->s->db))
        md_store_bulk_abort(u->s);
    if (u->o->on_progress)
        u->o->on_progress(u->o->userdata, u->r->rows, total >= 0 ? total : u->r->rows);
    return rc;
}

md_err md_import_run(struct md_store *s, const struct md_import_opts *o, struct md_import_result *r,
                     struct md_ctx *ctx)
{
    struct run u = {.s = s, .o = o, .r = r, .ctx = ctx, .now = md_time_now()};
    GDALDatasetH ds = NULL;
    md_err rc = MD_OK;
    memset(r, 0, sizeof(*r));
    if (o->layer < 0 || o->layer >= MD_LAYER__COUNT || !o->geos)
        return md_fail(ctx, MD_EINVAL, "import: bad layer or no GEOS context");
    if (!sqlite3_get_autocommit(s->db))
        return md_fail(ctx, MD_EINVAL, "import: the store is inside a transaction");
    u.h = md_geos_handle(o->geos);
    u.fields = layer_fields[o->layer];
    u.nf = nfields(u.fields);
    u.batch_rows = o->batch_rows > 0 ? o->batch_rows : DEFAULT_BATCH;
    u.file_base = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
    GDALAllRegister();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    struct stat sb;
    if (strncmp(o->path, "/vsi", 4) != 0 && !strchr(o->path, ':') && stat(o->path, &sb) != 0) {
        rc = md_fail(ctx, MD_EIO, "no such file: %s", o->path);
        goto out;
    }
    if (o->category_map && (rc = load_category_map(&u, o->category_map, ctx)))
        goto out;
    ds = GDALOpenEx(o->path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds) {
        rc = md_fail(ctx, MD_EIO, "cannot open %s as vector data: %s", o->path,
                     CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg() : "unknown format");
        goto out;
    }
    u.layer = o->source_layer ? GDALDatasetGetLayerByName(ds, o->source_layer)
                              : GDALDatasetGetLayer(ds, 0);
    if (!u.layer) {
        rc = md_fail(ctx, MD_EINVAL, "%s has no layer %s", o->path,
                     o->source_layer ? o->source_layer : "at all");
        goto out;
    }
    if (o->srs && o->crs) {
        rc = md_fail(ctx, MD_EINVAL, "give --srs or --crs, not both");
        goto out;
    }
    if (o->crs && strcmp(o->crs, "gcj02") != 0 && strcmp(o->crs, "bd09") != 0 &&
        strcmp(o->crs, "wgs84") != 0) {
        rc = md_fail(ctx, MD_EINVAL, "--crs must be wgs84, gcj02 or bd09");
        goto out;
    }
    rc = map_fields(&u);
    if (!rc)
        rc = make_reproj(&u, o->proj);
    if (!rc && o->layer == MD_LAYER_FACILITIES)
        rc = load_codes(&u, "SELECT code FROM facility_categories");
    else if (!rc && o->layer == MD_LAYER_REPORTS)
        rc = load_codes(&u, "SELECT code FROM categories");
    else if (!rc && o->layer == MD_LAYER_GRIDS)
        rc = load_codes(&u, "SELECT code FROM districts");
    if (!rc && (o->layer == MD_LAYER_FACILITIES || o->layer == MD_LAYER_REPORTS)) {
        rc = md_area_index_load(s, o->geos, &u.areas, ctx);
        if (!rc && md_area_index_districts(u.areas) == 0 && o->layer == MD_LAYER_REPORTS)
            rc = md_fail(ctx, MD_EINVAL,
                         "the database has no districts: import districts first"
                         " (reports need a district)");
    }
    if (!rc) {
        /* A big page cache while bulk loading: the R*Tree and index builds
         * at the end of a batch touch far more pages than the connection's
         * usual 16 MB, and spilling them into the WAL and reading them back
         * doubled the import time. */
        sqlite3_exec(s->db, "PRAGMA cache_size = -" IMPORT_CACHE_KB, NULL, NULL, NULL);
        rc = run_rows(&u);
        sqlite3_exec(s->db, "PRAGMA cache_size = " STORE_CACHE_KB, NULL, NULL, NULL);
    }
out:
    CPLPopErrorHandler();
    md_area_index_free(u.areas);
    for (size_t i = 0; i < u.ncodes; i++)
        free(u.codes[i]);
    free(u.codes);
    for (size_t i = 0; i < u.ncmap; i++)
        free(u.cmap[i]);
    free(u.cmap);
    md_reproj_free(u.reproj);
    if (ds)
        GDALClose(ds);
    return rc;
}
