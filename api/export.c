/* export.c - streamed GeoJSON/CSV exports of public fields (export.h).
 *
 * States: header -> rows (chunk by chunk) -> footer -> done. The rows come
 * from a store scan of the layer's public fields with the filters
 * (md_store_scan_open, feature_read.h) on a private read-only connection,
 * in a read transaction opened at md_export_open, so every chunk comes
 * from the same snapshot. The route (export_api.c) serves files built from
 * it (export_cache.c): no client holds the snapshot.
 */
#include "export.h"
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
