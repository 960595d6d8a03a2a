/* basemap_osm.c - an OpenStreetMap extract (.osm XML or .osm.pbf) into the
 * base map, through GDAL's OSM driver (basemap_osm.h).
 *
 * The driver is opened with mapd's own osmconf (below, in /vsimem/): the
 * fields the classification reads, "name:en" as a field, water and riverbank
 * ways as areas. Features are read interleaved over the driver's layers
 * (points, lines, multipolygons, ...; GDALDatasetGetNextFeature, as the
 * driver requires for PBF) and classified by their tags:
 *   lines:   highway -> road (motorway .. path), railway -> rail,
 *            waterway -> waterway (river, canal, stream)
 *   areas:   water / natural=water / reservoir / riverbank -> water,
 *            building -> building, parks, woods, grass ... -> green,
 *            residential, commercial, industrial, retail -> landuse
 *   points:  place (city .. locality) with a name -> place
 * Everything else is counted as skipped. Source keys: n<id> nodes, w<id>
 * ways (also closed ways as areas), r<id> relations.
 */
#include "basemap_osm.h"
#include "md_time.h"

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char osmconf[] =
    "closed_ways_are_polygons=aeroway,amenity,boundary,building,craft,geological,historic,"
    "landuse,leisure,military,natural,office,place,shop,sport,tourism,water,"
    "waterway=riverbank,waterway=dock\n"
    "[points]\nosm_id=yes\nattributes=name,name:en,place\nother_tags=no\n"
    "[lines]\nosm_id=yes\nattributes=name,name:en,highway,railway,waterway,area\nother_tags=no\n"
    "[multipolygons]\nosm_id=yes\n"
    "attributes=name,name:en,building,landuse,leisure,natural,water,waterway\nother_tags=no\n"
    "[multilinestrings]\nosm_id=yes\nattributes=name,type\nother_tags=no\n"
    "[other_relations]\nosm_id=yes\nattributes=name,type\nother_tags=no\n";

struct class_map {
    const char *tag; /* the tag's value */
    const char *klass;
};

static const struct class_map highways[] = {{"motorway", "motorway"},
                                            {"motorway_link", "motorway"},
                                            {"trunk", "trunk"},
                                            {"trunk_link", "trunk"},
                                            {"primary", "primary"},
                                            {"primary_link", "primary"},
                                            {"secondary", "secondary"},
                                            {"secondary_link", "secondary"},
                                            {"tertiary", "tertiary"},
                                            {"tertiary_link", "tertiary"},
                                            {"residential", "residential"},
                                            {"unclassified", "residential"},
                                            {"living_street", "residential"},
                                            {"road", "residential"},
                                            {"service", "service"},
                                            {"pedestrian", "path"},
                                            {"footway", "path"},
                                            {"cycleway", "path"},
                                            {"path", "path"},
                                            {"steps", "path"},
                                            {"track", "path"},
                                            {NULL, NULL}};
static const struct class_map railways[] = {{"rail", "rail"},
                                            {"subway", "subway"},
                                            {"light_rail", "light_rail"},
                                            {"tram", "tram"},
                                            {NULL, NULL}};
static const struct class_map waterways[] = {{"river", "river"},   {"canal", "canal"},
                                             {"stream", "stream"}, {"drain", "stream"},
                                             {"ditch", "stream"},  {NULL, NULL}};
static const struct class_map greens[] = {{"park", "park"},
                                          {"garden", "park"},
                                          {"nature_reserve", "park"},
                                          {"wood", "forest"},
                                          {"forest", "forest"},
                                          {"grass", "grass"},
                                          {"meadow", "grass"},
                                          {"recreation_ground", "grass"},
                                          {"village_green", "grass"},
                                          {"scrub", "grass"},
                                          {"cemetery", "cemetery"},
                                          {"golf_course", "golf"},
                                          {NULL, NULL}};
static const struct class_map landuses[] = {{"residential", "residential"},
                                            {"commercial", "commercial"},
                                            {"industrial", "industrial"},
                                            {"retail", "retail"},
                                            {NULL, NULL}};
static const struct class_map places[] = {{"city", "city"},
                                          {"town", "town"},
                                          {"suburb", "suburb"},
                                          {"quarter", "neighbourhood"},
                                          {"neighbourhood", "neighbourhood"},
                                          {"village", "village"},
                                          {"hamlet", "locality"},
                                          {"locality", "locality"},
                                          {NULL, NULL}};

static const char *map_class(const struct class_map *m, const char *v)
{
    for (; v && *v && m->tag; m++) {
        if (strcmp(m->tag, v) == 0)
            return m->klass;
    }
    return NULL;
}

static const char *field(OGRFeatureH f, const char *name)
{
    int i = OGR_F_GetFieldIndex(f, name);
    return i >= 0 && OGR_F_IsFieldSetAndNotNull(f, i) ? OGR_F_GetFieldAsString(f, i) : NULL;
}

struct classified {
    const char *kind, *klass;
};

static bool classify_line(OGRFeatureH f, struct classified *c)
{
    const char *area = field(f, "area");
    if (area && strcmp(area, "yes") == 0)
        return false;
    if ((c->klass = map_class(highways, field(f, "highway"))))
        c->kind = "road";
    else if ((c->klass = map_class(railways, field(f, "railway"))))
        c->kind = "rail";
    else if ((c->klass = map_class(waterways, field(f, "waterway"))))
        c->kind = "waterway";
    return c->klass != NULL;
}

static bool classify_area(OGRFeatureH f, struct classified *c)
{
    const char *natural = field(f, "natural"), *landuse = field(f, "landuse");
    const char *water = field(f, "water"), *waterway = field(f, "waterway");
    const char *building = field(f, "building");
    c->kind = NULL;
    if ((natural && strcmp(natural, "water") == 0) || water ||
        (landuse && (strcmp(landuse, "reservoir") == 0 || strcmp(landuse, "basin") == 0)) ||
        (waterway && (strcmp(waterway, "riverbank") == 0 || strcmp(waterway, "dock") == 0))) {
        c->kind = "water";
        c->klass = (water && strcmp(water, "river") == 0) || waterway      ? "river"
                   : landuse || (water && strcmp(water, "reservoir") == 0) ? "reservoir"
                                                                           : "lake";
    } else if (building && strcmp(building, "no") != 0) {
        c->kind = "building";
        c->klass = "building";
    } else if ((c->klass = map_class(greens, field(f, "leisure"))) ||
               (c->klass = map_class(greens, natural)) || (c->klass = map_class(greens, landuse))) {
        c->kind = "green";
    } else if ((c->klass = map_class(landuses, landuse))) {
        c->kind = "landuse";
    }
    return c->kind != NULL;
}

static bool classify_point(OGRFeatureH f, struct classified *c)
{
    const char *name = field(f, "name");
    c->kind = "place";
    c->klass = map_class(places, field(f, "place"));
    return c->klass && name && *name;
}

/* n/w/r + id; multipolygons made from a closed way carry osm_way_id. */
static bool source_key(OGRFeatureH f, const char *layer, char key[32])
{
    const char *id = field(f, "osm_id"), *way = field(f, "osm_way_id");
    if (strcmp(layer, "points") == 0)
        return id && snprintf(key, 32, "n%s", id) < 32;
    if (strcmp(layer, "lines") == 0)
        return id && snprintf(key, 32, "w%s", id) < 32;
    if (strcmp(layer, "multipolygons") == 0)
        return way ? snprintf(key, 32, "w%s", way) < 32 : id && snprintf(key, 32, "r%s", id) < 32;
    return false;
}

static md_err put_feature(struct md_basemap_load *l, OGRFeatureH f, const char *layer,
                          struct md_osm_result *r, struct md_ctx *ctx)
{
    struct classified c = {0};
    bool ok = strcmp(layer, "lines") == 0           ? classify_line(f, &c)
              : strcmp(layer, "multipolygons") == 0 ? classify_area(f, &c)
              : strcmp(layer, "points") == 0        ? classify_point(f, &c)
                                                    : false;
    char key[32];
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    if (!ok || !g || OGR_G_IsEmpty(g) || !source_key(f, layer, key)) {
        r->skipped++;
        return MD_OK;
    }
    OGREnvelope env;
    OGR_G_GetEnvelope(g, &env);
    size_t n = (size_t)OGR_G_WkbSize(g);
    unsigned char *wkb = malloc(n ? n : 1);
    if (!wkb)
        return md_fail(ctx, MD_ENOMEM, "WKB of %s", key);
    md_err rc = MD_OK;
    if (OGR_G_ExportToIsoWkb(g, wkbNDR, wkb) != OGRERR_NONE) {
        r->bad++;
        goto out;
    }
    struct md_basemap_feature bf = {.src_key = key,
                                    .kind = c.kind,
                                    .klass = c.klass,
                                    .name = field(f, "name"),
                                    .name_en = field(f, "name_en") ? field(f, "name_en")
                                                                   : field(f, "name:en"),
                                    .wkb = wkb,
                                    .wkb_len = n,
                                    .bbox = {env.MinX, env.MinY, env.MaxX, env.MaxY}};
    bf.min_zoom = md_basemap_min_zoom(c.kind, c.klass, &bf.bbox);
    struct md_ctx row_ctx;
    md_ctx_init(&row_ctx);
    rc = md_store_basemap_put(l, &bf, &row_ctx);
    if (rc == MD_EINVAL) {
        r->bad++;
        rc = MD_OK;
    } else if (rc) {
        rc = md_fail(ctx, rc, "%s", md_ctx_message(&row_ctx));
    } else {
        r->loaded++;
    }
out:
    free(wkb);
    return rc;
}

static md_err read_all(GDALDatasetH ds, struct md_basemap_load *l, struct md_osm_result *r,
                       struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    OGRLayerH layer = NULL;
    OGRFeatureH f;
    GDALDatasetResetReading(ds);
    while (!rc && (f = GDALDatasetGetNextFeature(ds, &layer, NULL, NULL, NULL)) != NULL) {
        r->read++;
        rc = put_feature(l, f, layer ? OGR_L_GetName(layer) : "", r, ctx);
        OGR_F_Destroy(f);
    }
    return rc;
}

md_err md_basemap_import_osm(struct md_store *s, const char *path, struct md_osm_result *r,
                             struct md_ctx *ctx)
{
    char conf_path[64], conf_opt[96];
    GDALDatasetH ds = NULL;
    struct md_basemap_load *l = NULL;
    md_err rc = MD_OK;
    memset(r, 0, sizeof(*r));
    snprintf(conf_path, sizeof(conf_path), "/vsimem/mapd-osmconf-%p.ini", (void *)r);
    snprintf(conf_opt, sizeof(conf_opt), "CONFIG_FILE=%s", conf_path);
    VSILFILE *vf = VSIFileFromMemBuffer(conf_path, (GByte *)osmconf, sizeof(osmconf) - 1, FALSE);
    if (!vf)
        return md_fail(ctx, MD_ENOMEM, "OSM driver configuration");
    VSIFCloseL(vf);
    GDALAllRegister();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    const char *const drivers[] = {"OSM", NULL};
    const char *const open_opts[] = {conf_opt, NULL};
    ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, open_opts, NULL);
    if (!ds) {
        rc = md_fail(ctx, MD_EIO, "cannot open %s as OpenStreetMap data (.osm or .osm.pbf): %s",
                     path, CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg() : "unknown format");
        goto out;
    }
    rc = md_store_basemap_begin(s, "\u00a9 OpenStreetMap contributors (ODbL)", md_time_now(), &l,
                                ctx);
    if (!rc)
        rc = read_all(ds, l, r, ctx);
    if (!rc && CPLGetLastErrorType() >= CE_Failure)
        rc = md_fail(ctx, MD_EIO, "%s: %s", path, CPLGetLastErrorMsg());
    if (!rc) {
        rc = md_store_basemap_end(l, &r->summary, ctx);
        l = NULL;
    }
out:
    md_store_basemap_abort(l);
    if (ds)
        GDALClose(ds);
    CPLPopErrorHandler();
    VSIUnlink(conf_path);
    return rc;
}
