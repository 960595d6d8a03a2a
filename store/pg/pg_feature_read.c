/* pg_feature_read.c - features by key on PostgreSQL (pg_feature_read.h).
 *
 * The SELECTs of feature_read.c, column for column (ids, times and counts
 * bigint, coordinates float8, polygons ST_AsBinary(geom, 'NDR'): the WKB
 * SpatiaLite's AsBinary gives). */
#include "pg_feature_read.h"

#include "store_int.h"

#include <stdio.h>

#define FAC_SELECT                                                                                 \
    "SELECT t.id, t.category, t.name, t.address, t.phone, t.opening_hours, t.district_code,"       \
    " t.grid_code, t.status, t.source, t.updated_at, t.lon, t.lat FROM facilities t"
#define REP_SELECT                                                                                 \
    "SELECT t.id, t.kind, t.service_code, t.description, t.address, t.district_code,"              \
    " t.grid_code, t.status, t.parked_from, t.channel, t.media_urls, t.facility_id,"               \
    " t.proposed_change, t.merged_into, t.created_at, t.updated_at, t.expected_at,"                \
    " t.closed_at, t.lon, t.lat FROM reports t"
#define DIS_SELECT                                                                                 \
    "SELECT t.code, t.name, t.name_en, t.label_lon, t.label_lat, t.updated_at,"                    \
    " ST_AsBinary(t.geom, 'NDR') FROM districts t"
#define GRD_SELECT                                                                                 \
    "SELECT t.code, t.district_code, t.updated_at, ST_AsBinary(t.geom, 'NDR') FROM grids t"

static const char *const by_key_sql[] = {
    [MD_LAYER_FACILITIES] = FAC_SELECT " WHERE t.id = $1::bigint",
    [MD_LAYER_REPORTS] = REP_SELECT " WHERE t.id = $1::bigint",
    [MD_LAYER_DISTRICTS] = DIS_SELECT " WHERE t.code = $1",
    [MD_LAYER_GRIDS] = GRD_SELECT " WHERE t.code = $1",
};
static const char *const by_key_name[] = {"md_feature_0", "md_feature_1", "md_feature_2",
                                          "md_feature_3"};

md_err md__pg_feature_get(struct md_pg *pg, enum md_layer layer, const char *code, int64_t id,
                          md_row_fn fn, void *userdata, bool *found, struct md_ctx *ctx)
{
    *found = false;
    if ((int)layer < 0 || layer > MD_LAYER_GRIDS)
        return md_fail(ctx, MD_EINVAL, "layer %d has no public features", (int)layer);
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
    const char *values[] = {code ? code : idtext};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, by_key_name[layer], by_key_sql[layer], 1, values, &r, ctx);
    if (!rc && PQntuples(r) == 1 && PQnfields(r) <= MD_ROW_MAX_COLS) {
        char scratch[MD_ROW_MAX_COLS][32];
        struct md_row row = {.pg = r, .pg_row = 0, .scratch = scratch};
        *found = true;
        rc = fn(&row, userdata);
    }
    PQclear(r);
    return rc;
}

md_err md__pg_code_known(struct md_pg *pg, enum md_code_list list, const char *code, bool *found,
                         struct md_ctx *ctx)
{
    static const char *const sql[] = {
        [MD_CODES_FACILITY_CATEGORY] = "SELECT 1 FROM facility_categories WHERE code = $1",
        [MD_CODES_REPORT_CATEGORY] = "SELECT 1 FROM categories WHERE code = $1",
        [MD_CODES_CATEGORY_GROUP] = "SELECT 1 FROM categories WHERE group_code = $1 LIMIT 1",
        [MD_CODES_DISTRICT] = "SELECT 1 FROM districts WHERE code = $1"};
    static const char *const names[] = {"md_code_0", "md_code_1", "md_code_2", "md_code_3"};
    *found = false;
    const char *values[] = {code};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, names[list], sql[list], 1, values, &r, ctx);
    if (!rc)
        *found = PQntuples(r) > 0;
    PQclear(r);
    return rc;
}
