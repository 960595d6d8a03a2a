/* export.c - streamed GeoJSON/CSV exports of public fields (export.h), and
 * the route GET /api/v1/export/{layer}.geojson|.csv.
 *
 * States: header -> rows (chunk by chunk) -> footer -> done. The statement
 * is the layer's public SELECT (layer_out.c) with bound filters, prepared
 * on a private read-only connection in a read transaction opened at
 * md_export_open, so every chunk comes from the same snapshot. The route
 * serves files built from it (export_cache.c): no client holds the snapshot.
 */
#include "export.h"
#include "export_cache.h"
#include "md_time.h"
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
    sqlite3_stmt *st;
    enum state state;
    int64_t rows;
    int64_t version; /* the layer's data version in the export's snapshot */
    struct md_ctx ctx;
};

/* Filters per layer; ?1..?4 bbox, ?5 category, ?6 group, ?7 status,
 * ?8 district, ?9 kind, ?10 from, ?11 to (NULL = no condition). */
static const char *const where_sql[MD_LAYER__COUNT] = {
    " WHERE (?1 IS NULL OR (t.lon BETWEEN ?1 AND ?3 AND t.lat BETWEEN ?2 AND ?4))"
    " AND (?5 IS NULL OR " MD_SQL_IN_LIST("?5", "t.category") ") AND (?7 IS NULL OR " MD_SQL_IN_LIST("?7", "t.status") ")"
    " AND (?8 IS NULL OR t.district_code = ?8)"
    " AND (?10 IS NULL OR t.updated_at >= ?10) AND (?11 IS NULL OR t.updated_at <= ?11)"
    " ORDER BY t.id",
    " WHERE (?1 IS NULL OR (t.lon BETWEEN ?1 AND ?3 AND t.lat BETWEEN ?2 AND ?4))"
    " AND (?5 IS NULL OR " MD_SQL_IN_LIST("?5", "t.service_code") ")"
    " AND (?6 IS NULL OR t.service_code IN (SELECT code FROM categories WHERE group_code = ?6))"
    " AND (?7 IS NULL OR " MD_SQL_IN_LIST("?7", "t.status") ") AND (?8 IS NULL OR t.district_code = ?8)"
    " AND (?9 IS NULL OR t.kind = ?9)"
    " AND (?10 IS NULL OR t.created_at >= ?10) AND (?11 IS NULL OR t.created_at <= ?11)"
    " ORDER BY t.id",
    " ORDER BY t.code",
    " WHERE (?8 IS NULL OR t.district_code = ?8) ORDER BY t.code",
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
    char sql[2048];
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
    if (rc)
        goto out;
    sqlite3 *db = md_store_db(e->s);
    snprintf(sql, sizeof(sql), "%s%s", md__layer_select(o->layer), where_sql[o->layer]);
    int src = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    struct md_layer_info info = {0};
    if (src == SQLITE_OK && (rc = md_store_layer_info(e->s, o->layer, &info, ctx))) /* the snapshot starts here */
        goto out;
    e->version = info.version;
    if (src == SQLITE_OK)
        src = sqlite3_prepare_v2(db, sql, -1, &e->st, NULL);
    if (src != SQLITE_OK) {
        rc = md_store_fail(e->s, src, "export", ctx);
        goto out;
    }
    if (o->has_box) {
        sqlite3_bind_double(e->st, 1, o->box.minx);
        sqlite3_bind_double(e->st, 2, o->box.miny);
        sqlite3_bind_double(e->st, 3, o->box.maxx);
        sqlite3_bind_double(e->st, 4, o->box.maxy);
    }
    /* Bind by number; a layer's SQL may not use every number (binding past
     * the highest one is skipped). */
    int nparams = sqlite3_bind_parameter_count(e->st);
    const char *texts[5] = {f->category, f->group, f->status, f->district, f->kind};
    for (int i = 0; i < 5; i++) {
        if (5 + i <= nparams && texts[i])
            sqlite3_bind_text(e->st, 5 + i, texts[i], -1, SQLITE_STATIC);
    }
    if (10 <= nparams && f->has_from)
        sqlite3_bind_int64(e->st, 10, f->from);
    if (11 <= nparams && f->has_to)
        sqlite3_bind_int64(e->st, 11, f->to);
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
        int src = sqlite3_step(e->st);
        if (src == SQLITE_DONE) {
            e->state = ST_FOOTER;
        } else if (src != SQLITE_ROW) {
            rc = md_store_fail(e->s, src, "export", &e->ctx);
        } else if (e->o.csv) {
            rc = md__row_csv(e->st, e->o.layer, &fo, out);
            e->rows++;
        } else {
            if (e->rows)
                rc = md_buf_puts(out, ",\n");
            if (!rc)
                rc = md__row_geojson(e->st, e->o.layer, &fo, NULL, out);
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
    sqlite3_finalize(e->st);
    if (e->s && !sqlite3_get_autocommit(md_store_db(e->s)))
        sqlite3_exec(md_store_db(e->s), "COMMIT", NULL, NULL, NULL);
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
