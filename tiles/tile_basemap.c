/* tile_basemap.c - base map rows to the MVT layer "basemap" (tile_basemap.h). */
#include "tile_basemap.h"
#include "basemap.h"
#include "tile_crs.h"
#include "tile_geom.h"

struct basemap_render {
    struct md_geos *g;
    GEOSWKBReader *reader;
    struct md_mvt *mvt;
    struct md_tile_id t;
    enum md_crs crs;
    size_t *features;
    struct md_ctx *ctx;
};

static enum md_mvt_geom_type mvt_type(int geos_type)
{
    switch (geos_type) {
    case GEOS_POINT:
    case GEOS_MULTIPOINT:
        return MD_MVT_POINT;
    case GEOS_LINESTRING:
    case GEOS_LINEARRING:
    case GEOS_MULTILINESTRING:
        return MD_MVT_LINESTRING;
    default:
        return MD_MVT_POLYGON;
    }
}

static md_err emit_row(const struct md_basemap_row *row, void *userdata)
{
    struct basemap_render *r = userdata;
    GEOSContextHandle_t h = md_geos_handle(r->g);
    GEOSGeometry *geom = GEOSWKBReader_read_r(h, r->reader, row->wkb, row->wkb_len);
    if (!geom)
        return md_geos_fail(r->g, r->ctx, "cannot read base map WKB");
    GEOSGeometry *tg = NULL, *shifted = NULL;
    md_err rc = md_tile_crs_geom(h, geom, r->crs, &shifted, r->ctx);
    if (!rc)
        rc = md_tile_geom_prepare(h, shifted ? shifted : geom, r->t, MD_TILE_EXTENT, MD_TILE_BUFFER,
                                  &tg, r->ctx);
    if (shifted)
        GEOSGeom_destroy_r(h, shifted);
    GEOSGeom_destroy_r(h, geom);
    if (rc || !tg)
        return rc;
    rc = md_mvt_feature(r->mvt, (uint64_t)row->id, mvt_type(GEOSGeomTypeId_r(h, tg)));
    if (!rc)
        rc = md_mvt_geom_geos(r->mvt, h, tg);
    if (!rc)
        rc = md_mvt_prop_str(r->mvt, "kind", row->kind);
    if (!rc)
        rc = md_mvt_prop_str(r->mvt, "class", row->klass);
    if (!rc && *row->name)
        rc = md_mvt_prop_str(r->mvt, "name", row->name);
    if (!rc && *row->name_en)
        rc = md_mvt_prop_str(r->mvt, "name_en", row->name_en);
    if (!rc)
        rc = md_mvt_feature_end(r->mvt);
    if (!rc)
        (*r->features)++;
    GEOSGeom_destroy_r(h, tg);
    return rc;
}

md_err md_tile_basemap_render(struct md_store *s, struct md_geos *g, struct md_pool *pool,
                              struct md_mvt *mvt, struct md_tile_id t, enum md_crs crs,
                              size_t *features, struct md_ctx *ctx)
{
    (void)pool;
    GEOSContextHandle_t h = md_geos_handle(g);
    struct basemap_render r = {
        .g = g, .mvt = mvt, .t = t, .crs = crs, .features = features, .ctx = ctx};
    md_err rc = md_mvt_layer(mvt, md_layer_name(MD_LAYER_BASEMAP), MD_TILE_EXTENT);
    if (rc)
        return rc;
    r.reader = GEOSWKBReader_create_r(h);
    if (!r.reader)
        return md_geos_fail(g, ctx, "WKB reader");
    struct md_bbox q;
    md_tile_crs_query_bbox(t, crs, MD_TILE_EXTENT, MD_TILE_BUFFER, &q);
    rc = md_store_basemap_rows(s, &q, (int)t.z, emit_row, &r, ctx);
    GEOSWKBReader_destroy_r(h, r.reader);
    return rc;
}
