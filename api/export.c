/* export.c - streamed GeoJSON/CSV exports of public fields (export.h), and
 * the route GET /api/v1/export/{layer}.geojson|.csv.
 *
 * States: header -> rows (chunk by chunk) -> footer -> done. The rows come
 * from a store scan of the layer's public fields with the filters
 * (md_store_scan_open, feature_read.h) on a private read-only connection,
 * in a read transaction opened at md_export_open, so every chunk comes
 * from the same snapshot. The route
 * serves files built from it (export_cache.c): no client holds the snapshot.
 */
#include "export.h"
#include "export_cache.h"
#include "md_time.h"
#include "feature_read.h"
#include "layer_out.h"
#include "queries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES (256 * 1024)

enum state { ST_HEADER, ST_ROWS, ST_FOOTER, ST_DONE };

struct md_export {
    struct md_export_opts o;
    char *strings[5]; /* owned copies of the filter strings */
    struct md_store *s;
    struct md_store_scan *scan;
    enum state state;
    int64_t rows;
    int64_t version; /* the layer's data version in the export's snapshot */
    struct md_ctx ctx;
};

static const char *dup_or_null(const char *s, char **slot)
{
    *slot = s ? strdup(s) : NULL;
    return *slot;
}

md_err md_export_open(const char *db_path, const struct md_export_opts *o, struct md_export **out,
                      struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    struct md_export *e = calloc(1, sizeof(*e));
    *out = NULL;
    if (!e)
        return md_fail(ctx, MD_ENOMEM, "export");
    md_ctx_init(&e->ctx);
    e->o = *o;
    struct md_query_filter *f = &e->o.filter;
    const char *orig[5] = {f->category, f->group, f->status, f->district, f->kind};
    const char **dst[5] = {&f->category, &f->group, &f->status, &f->district, &f->kind};
    for (int i = 0; i < 5; i++) {
        *dst[i] = dup_or_null(orig[i], &e->strings[i]);
        if (orig[i] && !*dst[i]) {
            rc = md_fail(ctx, MD_ENOMEM, "export");
            goto out;
        }
    }
    rc = md_store_open(db_path, MD_STORE_READONLY, &e->s, ctx);
    struct md_scan_query q = {.layer = o->layer, .filter = *f, .has_box = o->has_box, .box = o->box};
    if (!rc)
        rc = md_store_scan_open(e->s, &q, &e->scan, ctx);
    if (rc)
        goto out;
    e->version = md_store_scan_version(e->scan);
    *out = e;
    e = NULL;
out:
    md_export_free(e);
    return rc;
}

md_err md_export_next(struct md_export *e, struct md_buf *out)
{
    struct md_feature_opts fo = {.crs = e->o.crs, .tz_offset_min = e->o.tz_offset_min,
                                 .id_in_properties = true};
    md_err rc = MD_OK;
    size_t start = out->len;
    if (e->state == ST_HEADER) {
        rc = e->o.csv ? md__csv_header(e->o.layer, out)
                      : md_buf_puts(out, "{\"type\":\"FeatureCollection\",\"features\":[\n");
        e->state = ST_ROWS;
    }
    while (!rc && e->state == ST_ROWS && out->len - start < CHUNK_BYTES) {
        const struct md_row *row = NULL;
        rc = md_store_scan_next(e->scan, &row, &e->ctx);
        if (rc) {
            break;
        } else if (!row) {
            e->state = ST_FOOTER;
        } else if (e->o.csv) {
            rc = md__row_csv(row, e->o.layer, &fo, out);
            e->rows++;
        } else {
            if (e->rows)
                rc = md_buf_puts(out, ",\n");
            if (!rc)
                rc = md__row_geojson(row, e->o.layer, &fo, NULL, out);
            e->rows++;
        }
    }
    if (!rc && e->state == ST_FOOTER) {
        if (!e->o.csv)
            rc = md_buf_puts(out, "\n]}\n");
        e->state = ST_DONE;
    }
    if (rc) {
        if (!e->ctx.err)
            md_fail(&e->ctx, rc, "export chunk");
        return rc;
    }
    return e->state == ST_DONE ? MD_ENOTFOUND : MD_OK;
}

int64_t md_export_version(const struct md_export *e)
{
    return e->version;
}

int64_t md_export_rows(const struct md_export *e)
{
    return e->rows;
}

const struct md_ctx *md_export_error(const struct md_export *e)
{
    return &e->ctx;
}

void md_export_free(struct md_export *e)
{
    if (!e)
        return;
    md_store_scan_close(e->scan);
    md_store_close(e->s);
    for (int i = 0; i < 5; i++)
        free(e->strings[i]);
    free(e);
}

/* ---- GET /api/v1/export/{layer}.geojson|.csv */

/* The union over layers; a filter that does not apply to the layer is
 * refused by the handler (group/kind on facilities), and district is the
 * grids' one filter. */
static const char *const export_params[] = {"crs",  "bbox", "category", "status", "district",
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
        return md_fail(c->ctx, MD_ENOTFOUND, "no layer '%.40s' (facilities, reports, districts,"
                                             " grids)", layer_name);
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
    c->ctx->budget_ms = c->api->cfg->export_budget_ms;
    c->ctx->deadline_us =
        c->ctx->budget_ms ? md_time_mono_us() + (int64_t)c->ctx->budget_ms * 1000 : 0;
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
