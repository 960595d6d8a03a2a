/* layer_fields.c - the public column list of each city layer
 * (layer_fields.h). The SELECTs that read them (feature_read.c) name the
 * same columns in the same order; test_feature_read checks they agree. */
#include "layer_fields.h"

#include <string.h>

#define F MD_SHOWN_FEATURE
#define T MD_SHOWN_TILE
#define R MD_SHOWN_REPORT

static const struct md_column fac_cols[] = {
    {"id", MD_COL_INT, F | T},         {"category", MD_COL_TEXT, F | T},
    {"name", MD_COL_TEXT, F | T},      {"address", MD_COL_TEXT, F},
    {"phone", MD_COL_TEXT, F},         {"opening_hours", MD_COL_TEXT, F},
    {"district_code", MD_COL_TEXT, F}, {"grid_code", MD_COL_TEXT, F},
    {"status", MD_COL_TEXT, F | T},    {"source", MD_COL_TEXT, F},
    {"updated_at", MD_COL_TIME, F},    {"lon", MD_COL_LON, F | T},
    {"lat", MD_COL_LAT, F | T}};

static const struct md_column rep_cols[] = {
    {"id", MD_COL_INT, F | T | R},
    {"kind", MD_COL_TEXT, F | T | R},
    {"service_code", MD_COL_TEXT, F | T | R},
    {"description", MD_COL_TEXT, F | R},
    {"address", MD_COL_TEXT, F | R},
    {"district_code", MD_COL_TEXT, F | R},
    {"grid_code", MD_COL_TEXT, F | R},
    {"status", MD_COL_TEXT, F | T | R},
    {"parked_from", MD_COL_TEXT, F},
    {"channel", MD_COL_TEXT, F | R},
    {"media_urls", MD_COL_JSON, F | R},
    {"facility_id", MD_COL_INT, F | R},
    {"proposed_change", MD_COL_JSON, F | R},
    {"merged_into", MD_COL_INT, F | R},
    {"created_at", MD_COL_TIME, F | T | R},
    {"updated_at", MD_COL_TIME, F | R},
    {"expected_at", MD_COL_TIME, F | T | R}, /* tiles: as `overdue` */
    {"closed_at", MD_COL_TIME, F | R},
    {"lon", MD_COL_LON, F | T | R},
    {"lat", MD_COL_LAT, F | T | R},
    /* not (yet) in features: */
    {"attributes", MD_COL_JSON, R},
    {"supporters", MD_COL_INT, T | R}};

static const struct md_column dis_cols[] = {
    {"code", MD_COL_TEXT, F | T},      {"name", MD_COL_TEXT, F | T},
    {"name_en", MD_COL_TEXT, F | T},   {"label_lon", MD_COL_REAL, F | T},
    {"label_lat", MD_COL_REAL, F | T}, {"updated_at", MD_COL_TIME, F},
    {"wkt", MD_COL_WKB, F | T}};

static const struct md_column grd_cols[] = {{"code", MD_COL_TEXT, F | T},
                                            {"district_code", MD_COL_TEXT, F | T},
                                            {"updated_at", MD_COL_TIME, F},
                                            {"wkt", MD_COL_WKB, F | T}};
#undef F
#undef T
#undef R

#define NCOLS(a) ((int)(sizeof(a) / sizeof(a[0])))
static const struct md_layer_columns layers[] = {
    [MD_LAYER_FACILITIES] = {fac_cols, NCOLS(fac_cols), NCOLS(fac_cols), false, "updated_at"},
    [MD_LAYER_REPORTS] = {rep_cols, NCOLS(rep_cols), NCOLS(rep_cols) - 2, false, "created_at"},
    [MD_LAYER_DISTRICTS] = {dis_cols, NCOLS(dis_cols), NCOLS(dis_cols), true, "updated_at"},
    [MD_LAYER_GRIDS] = {grd_cols, NCOLS(grd_cols), NCOLS(grd_cols), true, "updated_at"},
};

const struct md_layer_columns *md_layer_public(enum md_layer layer)
{
    if ((int)layer < 0 || (int)layer >= NCOLS(layers) || !layers[layer].cols)
        return NULL;
    return &layers[layer];
}

int md_layer_filter_fields(enum md_layer layer, struct md_field *out, int max)
{
    static const int field_type[] = {[MD_COL_INT] = MD_FIELD_INT,   [MD_COL_TEXT] = MD_FIELD_TEXT,
                                     [MD_COL_TIME] = MD_FIELD_TIME, [MD_COL_JSON] = -1,
                                     [MD_COL_REAL] = MD_FIELD_REAL, [MD_COL_LON] = MD_FIELD_REAL,
                                     [MD_COL_LAT] = MD_FIELD_REAL,  [MD_COL_WKB] = -1};
    const struct md_layer_columns *d = md_layer_public(layer);
    int n = 0;
    for (int i = 0; d && i < d->nfeature && n < max; i++) {
        if (field_type[d->cols[i].type] < 0)
            continue;
        out[n++] =
            (struct md_field){d->cols[i].name, (enum md_field_type)field_type[d->cols[i].type]};
    }
    return n;
}

bool md_layer_column_is_json(enum md_layer layer, const char *name)
{
    const struct md_layer_columns *d = md_layer_public(layer);
    for (int i = 0; d && i < d->nfeature; i++)
        if (strcmp(d->cols[i].name, name) == 0)
            return d->cols[i].type == MD_COL_JSON;
    return false;
}

bool md_layer_column_shown(enum md_layer layer, const char *name, unsigned where)
{
    const struct md_layer_columns *d = md_layer_public(layer);
    for (int i = 0; d && i < d->ncols; i++)
        if (strcmp(d->cols[i].name, name) == 0)
            return (d->cols[i].shown & where) != 0;
    return false;
}
