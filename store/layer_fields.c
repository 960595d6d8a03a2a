/* layer_fields.c - the public column list of each city layer
 * (layer_fields.h). The SELECTs that read them (feature_read.c) name the
 * same columns in the same order; test_feature_read checks they agree. */
#include "layer_fields.h"

#include <string.h>

static const struct md_column fac_cols[] = {
    {"id", MD_COL_INT},           {"category", MD_COL_TEXT},      {"name", MD_COL_TEXT},
    {"address", MD_COL_TEXT},     {"phone", MD_COL_TEXT},         {"opening_hours", MD_COL_TEXT},
    {"district_code", MD_COL_TEXT}, {"grid_code", MD_COL_TEXT},   {"status", MD_COL_TEXT},
    {"source", MD_COL_TEXT},      {"updated_at", MD_COL_TIME},    {"lon", MD_COL_LON},
    {"lat", MD_COL_LAT}};

static const struct md_column rep_cols[] = {
    {"id", MD_COL_INT},           {"kind", MD_COL_TEXT},          {"service_code", MD_COL_TEXT},
    {"description", MD_COL_TEXT}, {"address", MD_COL_TEXT},       {"district_code", MD_COL_TEXT},
    {"grid_code", MD_COL_TEXT},   {"status", MD_COL_TEXT},        {"parked_from", MD_COL_TEXT},
    {"channel", MD_COL_TEXT},     {"media_urls", MD_COL_JSON},    {"facility_id", MD_COL_INT},
    {"proposed_change", MD_COL_JSON}, {"merged_into", MD_COL_INT}, {"created_at", MD_COL_TIME},
    {"updated_at", MD_COL_TIME},  {"expected_at", MD_COL_TIME},   {"closed_at", MD_COL_TIME},
    {"lon", MD_COL_LON},          {"lat", MD_COL_LAT}};

static const struct md_column dis_cols[] = {{"code", MD_COL_TEXT},      {"name", MD_COL_TEXT},
                                            {"name_en", MD_COL_TEXT},   {"label_lon", MD_COL_REAL},
                                            {"label_lat", MD_COL_REAL}, {"updated_at", MD_COL_TIME},
                                            {"wkt", MD_COL_WKB}};

static const struct md_column grd_cols[] = {{"code", MD_COL_TEXT},
                                            {"district_code", MD_COL_TEXT},
                                            {"updated_at", MD_COL_TIME},
                                            {"wkt", MD_COL_WKB}};

#define NCOLS(a) ((int)(sizeof(a) / sizeof(a[0])))
static const struct md_layer_columns layers[] = {
    [MD_LAYER_FACILITIES] = {fac_cols, NCOLS(fac_cols), false, "updated_at"},
    [MD_LAYER_REPORTS] = {rep_cols, NCOLS(rep_cols), false, "created_at"},
    [MD_LAYER_DISTRICTS] = {dis_cols, NCOLS(dis_cols), true, "updated_at"},
    [MD_LAYER_GRIDS] = {grd_cols, NCOLS(grd_cols), true, "updated_at"},
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
    for (int i = 0; d && i < d->ncols && n < max; i++) {
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
    for (int i = 0; d && i < d->ncols; i++)
        if (strcmp(d->cols[i].name, name) == 0)
            return d->cols[i].type == MD_COL_JSON;
    return false;
}
