/* export_api.c - the route GET /api/v1/export/{layer}.geojson|.csv: its
 * parameters, then the file built for the data version (export_cache.c,
 * which streams md_export, export.c). */
#include "export.h"
#include "export_cache.h"
#include "md_time.h"
#include "params.h"
#include "queries.h"

#include <stdio.h>
#include <string.h>

/* ---- GET /api/v1/export/{layer}.geojson|.csv */

/* The union over layers; a filter that does not apply to the layer is
 * refused by the handler (group/kind on facilities), and district is the
 * grids' one filter. */
static const char *const export_params[] = {"crs",   "bbox", "category", "status", "district",
                                            "group", "kind", "from",     "to",     NULL};

static md_err handle_export(struct md_call *c)
{
    md_err params_rc = md__params_only(c, export_params);
    if (params_rc)
        return params_rc;
    struct md_export_opts o = {.tz_offset_min = c->api->cfg->timezone_offset_min};
    const char *tail = c->tail;
    const char *dot = strrchr(tail, '.');
    char layer_name[32];
    if (!dot || (size_t)(dot - tail) >= sizeof(layer_name))
        return md_fail(c->ctx, MD_ENOTFOUND, "export is /api/v1/export/{layer}.geojson or .csv");
    snprintf(layer_name, sizeof(layer_name), "%.*s", (int)(dot - tail), tail);
    if (md_layer_parse(layer_name, &o.layer))
        return md_fail(c->ctx, MD_ENOTFOUND,
                       "no layer '%.40s' (facilities, reports, districts,"
                       " grids)",
                       layer_name);
    if (strcmp(dot, ".csv") == 0)
        o.csv = true;
    else if (strcmp(dot, ".geojson") != 0)
        return md_fail(c->ctx, MD_ENOTFOUND, "export formats are .geojson and .csv");
    md_err rc = md__param_crs(c, &o.crs);
    if (!rc && md_query_point_layer(o.layer)) {
        rc = md__param_filter(c, o.layer, &o.filter);
        if (!rc)
            rc = md__param_bbox(c, "bbox", &o.box, &o.has_box);
    } else if (!rc && o.layer == MD_LAYER_GRIDS) {
        rc = md__param_str(c, "district", false, 16, &o.filter.district);
    }
    if (rc)
        return rc;
    if (o.has_box && o.crs != MD_CRS_WGS84) {
        struct md_bbox b = o.box;
        md_crs_to_wgs84(o.crs, b.minx, b.miny, &o.box.minx, &o.box.miny);
        md_crs_to_wgs84(o.crs, b.maxx, b.maxy, &o.box.maxx, &o.box.maxy);
    }
    char disposition[96];
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s%s\"", layer_name, dot);
    /* An export is built once per data version (a file served to every
     * reader after): under its own budget, not the query budget. */
    static const struct md_budget_text export_budget = {
        "the export", "--export-budget-ms",
        "add filters (bbox, district, category, status, from/to)"};
    md_ctx_set_budget(c->ctx, c->api->cfg->export_budget_ms, &export_budget);
    rc = md__export_serve(c, &o, dot + 1);
    c->res->content_type = o.csv ? "text/csv; charset=utf-8" : "application/geo+json";
    if (!rc)
        MD_IGNORE(md_response_header(c->res, c->req->pool, "Content-Disposition", disposition));
    return rc;
}

const struct md_route md__export_routes[] = {
    {"GET", "/api/v1/export/", true, handle_export, "export", NULL},
};
const size_t md__export_routes_count = sizeof(md__export_routes) / sizeof(md__export_routes[0]);
