/* pg_report_list.c - the report list on PostgreSQL (pg_report_list.h).
 *
 * reports.c's LIST_SQL, condition for condition: one statement per order
 * and paging form, every absent filter bound as NULL; comma lists through
 * strpos as SQLite's instr; the box through the GiST index
 * (`geom && ST_MakeEnvelope`, PostGIS rounds boxes outwards to float as
 * the R*Tree does). The geodesic circle (near) is decided in C by
 * md_geod_distance, as SpatiaLite's ST_Distance(..., 1) decides it on
 * SQLite: its candidates are the rows in the circle's box in list order,
 * and offset and limit are then counted over the rows kept.
 */
#include "pg_report_list.h"

#include "geodesic.h"
#include "pg_reports.h"
#include "pg_store.h"
#include "workflow.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Box coordinates are clamped to this before binding (pg_query.c's). */
#define COORD_CLAMP 1000.0

/* clang-format off */
/* $1 statuses, $2 open_state, $3 service codes, $4 district, $5 kind,
 * $6..$9 created/updated from/to, $10..$13 the box, $14 now (overdue),
 * $15 limit, $16 offset, $17..$19 the keyset (created_at, id, supporters). */
#define LIST_SQL(order, keyset)                                                                    \
    "SELECT " MD_PG_REPORT_COLS MD_PG_REPORT_FROM " WHERE" keyset                                  \
    " ($1::text IS NULL OR strpos(',' || $1::text || ',', ',' || r.status || ',') > 0)"           \
    " AND ($2::int IS NULL OR ($2::int = 1) = (r.status NOT IN ('closed', 'rejected')))"          \
    " AND ($3::text IS NULL OR strpos(',' || $3::text || ',', ',' || r.service_code || ',') > 0)" \
    " AND ($4::text IS NULL OR r.district_code = $4::text)"                                        \
    " AND ($5::text IS NULL OR r.kind = $5::text)"                                                 \
    " AND ($6::bigint IS NULL OR r.created_at >= $6::bigint)"                                      \
    " AND ($7::bigint IS NULL OR r.created_at <= $7::bigint)"                                      \
    " AND ($8::bigint IS NULL OR r.updated_at >= $8::bigint)"                                      \
    " AND ($9::bigint IS NULL OR r.updated_at <= $9::bigint)"                                      \
    " AND ($10::float8 IS NULL OR ($10::float8 <= $12::float8 AND $11::float8 <= $13::float8"     \
    "   AND r.geom && ST_MakeEnvelope($10::float8, $11::float8, $12::float8, $13::float8, 4326)))" \
    " AND ($14::bigint IS NULL OR " MD_SQL_OVERDUE("$14::bigint") ")"                              \
    " ORDER BY " order " LIMIT $15::bigint OFFSET $16::bigint"
#define NEWEST "r.created_at DESC, r.id DESC"
#define SUPPORTED "r.supporters DESC, r.created_at DESC, r.id DESC"
#define AFTER_NEWEST " (r.created_at, r.id) < ($17::bigint, $18::bigint) AND"
#define AFTER_SUPPORTED " (r.supporters, r.created_at, r.id) < ($19::bigint, $17::bigint, $18::bigint) AND"
/* clang-format on */

static const char newest_sql[] = LIST_SQL(NEWEST, "");
static const char supported_sql[] = LIST_SQL(SUPPORTED, "");
static const char newest_after_sql[] = LIST_SQL(NEWEST, AFTER_NEWEST);
static const char supported_after_sql[] = LIST_SQL(SUPPORTED, AFTER_SUPPORTED);

static const char *int_param(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
    return out;
}

static double clamp(double v)
{
    return fmax(-COORD_CLAMP, fmin(COORD_CLAMP, v));
}

md_err md__pg_report_list_page(struct md_pg *pg, const struct md_report_filter *f, int64_t now,
                               int offset_min, json_t **out, struct md_report_key *last,
                               struct md_ctx *ctx)
{
    const char *name, *sql;
    int n;
    if (f->by_supporters) {
        name = f->after ? "md_report_list_supported_after" : "md_report_list_supported";
        sql = f->after ? supported_after_sql : supported_sql;
        n = f->after ? 19 : 16;
    } else {
        name = f->after ? "md_report_list_newest_after" : "md_report_list_newest";
        sql = f->after ? newest_after_sql : newest_sql;
        n = f->after ? 18 : 16;
    }
    const char *v[19] = {NULL};
    char num[12][24], box[4][MD_PG_DOUBLE_CHARS];
    v[0] = f->statuses;
    if (f->open_state)
        v[1] = int_param(f->open_state, num[0]);
    v[2] = f->service_codes;
    v[3] = f->district;
    v[4] = f->kind;
    if (f->created_from)
        v[5] = int_param(f->created_from, num[1]);
    if (f->created_to)
        v[6] = int_param(f->created_to, num[2]);
    if (f->updated_from)
        v[7] = int_param(f->updated_from, num[3]);
    if (f->updated_to)
        v[8] = int_param(f->updated_to, num[4]);
    struct md_bbox b = f->bbox;
    bool has_box = f->has_bbox;
    if (f->has_near) { /* reports.c's box: the circle's, cut by the bbox */
        struct md_bbox around;
        md_geod_bbox_around(f->near_lon, f->near_lat, f->radius_m, &around);
        if (has_box) {
            b.minx = fmax(b.minx, around.minx);
            b.miny = fmax(b.miny, around.miny);
            b.maxx = fmin(b.maxx, around.maxx);
            b.maxy = fmin(b.maxy, around.maxy);
        } else {
            b = around;
        }
        has_box = true;
    }
    if (has_box) {
        md__pg_double_param(clamp(b.minx), box[0]);
        md__pg_double_param(clamp(b.miny), box[1]);
        md__pg_double_param(clamp(b.maxx), box[2]);
        md__pg_double_param(clamp(b.maxy), box[3]);
        for (int i = 0; i < 4; i++)
            v[9 + i] = box[i];
    }
    if (f->overdue)
        v[13] = int_param(now, num[5]);
    int64_t limit = f->limit > 0 ? f->limit : 100;
    int64_t offset = f->offset > 0 && !f->after ? f->offset : 0;
    if (!f->has_near) { /* else every candidate: the circle decides below */
        v[14] = int_param(limit, num[6]);
        v[15] = int_param(offset, num[7]);
    }
    if (f->after) {
        v[16] = int_param(f->after->created_at, num[8]);
        v[17] = int_param(f->after->id, num[9]);
        v[18] = int_param(f->after->supporters, num[10]);
    }
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, name, sql, n, v, &r, ctx);
    if (rc)
        return rc;
    json_t *arr = json_array();
    int rows = PQntuples(r);
    int64_t skip = f->has_near ? offset : 0;
    for (int i = 0; arr && i < rows && (int64_t)json_array_size(arr) < limit; i++) {
        /* MD_PG_REPORT_COLS: 0 id, 17 created_at, 21 lon, 22 lat, 25 supporters */
        if (f->has_near && !(md_geod_distance(md__pg_double(r, i, 21), md__pg_double(r, i, 22),
                                              f->near_lon, f->near_lat) <= f->radius_m))
            continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        json_t *j = md__pg_report_row_json(r, i, now, offset_min);
        if (!j || json_array_append_new(arr, j)) {
            json_decref(arr);
            arr = NULL;
            break;
        }
        if (last)
            *last = (struct md_report_key){md__pg_int(r, i, 25), md__pg_int(r, i, 17),
                                           md__pg_int(r, i, 0)};
    }
    PQclear(r);
    if (!arr)
        return md_fail(ctx, MD_ENOMEM, "report list");
    *out = arr;
    return MD_OK;
}
