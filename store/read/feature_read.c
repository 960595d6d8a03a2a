/* feature_read.c - whole-feature reads over SQLite (feature_read.h).
 *
 * Each city layer has one public SELECT naming the columns of
 * md_layer_public() in order (layer_fields.c); the by-key form and the
 * scans with filters are that SELECT with a WHERE clause. Polygons come out
 * as WKB (AsBinary) so that callers walk them vertex by vertex.
 */
#include "feature_read.h"
#include "store_int.h"
#include "pg_city.h"
#include "pg_feature_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    " AsBinary(t.geom) FROM districts t"
#define GRD_SELECT "SELECT t.code, t.district_code, t.updated_at, AsBinary(t.geom) FROM grids t"

static const char *const by_key_sql[] = {
    [MD_LAYER_FACILITIES] = FAC_SELECT " WHERE t.id = ?1",
    [MD_LAYER_REPORTS] = REP_SELECT " WHERE t.id = ?1",
    [MD_LAYER_DISTRICTS] = DIS_SELECT " WHERE t.code = ?1",
    [MD_LAYER_GRIDS] = GRD_SELECT " WHERE t.code = ?1",
};

const char *md__feature_select_by_key(enum md_layer layer)
{
    return md_layer_public(layer) ? by_key_sql[layer] : NULL;
}

/* Scans: ?1..?4 bbox, ?5 category, ?6 group, ?7 status, ?8 district,
 * ?9 kind, ?10 from, ?11 to (NULL = no condition). */
static const char *const scan_sql[] = {
    [MD_LAYER_FACILITIES] = FAC_SELECT
    " WHERE (?1 IS NULL OR (t.lon BETWEEN ?1 AND ?3 AND t.lat BETWEEN ?2 AND ?4))"
    " AND (?5 IS NULL OR " MD_SQL_IN_LIST(
        "?5", "t.category") ")"
                            " AND (?7 IS NULL OR " MD_SQL_IN_LIST(
                                "?7", "t.status") ")"
                                                  " AND (?8 IS NULL OR t.district_code = ?8)"
                                                  " AND (?10 IS NULL OR t.updated_at >= ?10) AND "
                                                  "(?11 IS NULL OR t.updated_at <= ?11)"
                                                  " ORDER BY t.id",
    [MD_LAYER_REPORTS] = REP_SELECT
    " WHERE (?1 IS NULL OR (t.lon BETWEEN ?1 AND ?3 AND t.lat BETWEEN ?2 AND ?4))"
    " AND (?5 IS NULL OR " MD_SQL_IN_LIST(
        "?5", "t.service_code") ")"
                                " AND (?6 IS NULL OR t.service_code IN"
                                " (SELECT code FROM categories WHERE group_code = ?6))"
                                " AND (?7 IS NULL OR " MD_SQL_IN_LIST(
                                    "?7", "t.status") ")"
                                                      " AND (?8 IS NULL OR t.district_code = ?8)"
                                                      " AND (?9 IS NULL OR t.kind = ?9)"
                                                      " AND (?10 IS NULL OR t.created_at >= ?10) "
                                                      "AND (?11 IS NULL OR t.created_at <= ?11)"
                                                      " ORDER BY t.id",
    [MD_LAYER_DISTRICTS] = DIS_SELECT " ORDER BY t.code",
    [MD_LAYER_GRIDS] = GRD_SELECT " WHERE (?8 IS NULL OR t.district_code = ?8) ORDER BY t.code",
};

static md_err check_city_layer(enum md_layer layer, struct md_ctx *ctx)
{
    if (!md_layer_public(layer))
        return md_fail(ctx, MD_EINVAL, "layer %d has no public features", (int)layer);
    return MD_OK;
}

md_err md_store_feature_get(struct md_store *s, enum md_layer layer, const struct md_key_value *key,
                            md_row_fn fn, void *userdata, bool *found, struct md_ctx *ctx)
{
    *found = false;
    md_err rc = check_city_layer(layer, ctx);
    if (rc)
        return rc;
    if (key->is_null || key->is_text != md_layer_public(layer)->text_id)
        return md_fail(ctx, MD_EINVAL, "%s are keyed by %s", md_layer_name(layer),
                       md_layer_public(layer)->text_id ? "code" : "id");
    if (s->backend == MD_BACKEND_PG)
        return md__pg_feature_get(s->pg, layer, key->is_text ? key->s : NULL, key->i, fn,
                                  userdata, found, ctx);
    sqlite3_stmt *st = NULL;
    if ((rc = md_store_stmt(s, by_key_sql[layer], &st, ctx)))
        return rc;
    if (key->is_text)
        sqlite3_bind_text(st, 1, key->s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, key->i);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        struct md_row row = {.st = st};
        *found = true;
        rc = fn(&row, userdata);
    } else if (src != SQLITE_DONE) {
        rc = md_store_fail(s, src, "feature", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

/* ---- scans */

struct md_store_scan {
    struct md_store *s;
    sqlite3_stmt *st;
    struct md_row row;
    int64_t version;
    bool in_txn;
};

static void scan_bind(sqlite3_stmt *st, const struct md_scan_query *q)
{
    const struct md_query_filter *f = &q->filter;
    if (q->has_box) {
        sqlite3_bind_double(st, 1, q->box.minx);
        sqlite3_bind_double(st, 2, q->box.miny);
        sqlite3_bind_double(st, 3, q->box.maxx);
        sqlite3_bind_double(st, 4, q->box.maxy);
    }
    /* Bind by number; a layer's SQL may not use every number (binding past
     * the highest one is skipped). */
    int nparams = sqlite3_bind_parameter_count(st);
    const char *texts[5] = {f->category, f->group, f->status, f->district, f->kind};
    for (int i = 0; i < 5; i++)
        if (5 + i <= nparams && texts[i])
            sqlite3_bind_text(st, 5 + i, texts[i], -1, SQLITE_STATIC);
    if (10 <= nparams && f->has_from)
        sqlite3_bind_int64(st, 10, f->from);
    if (11 <= nparams && f->has_to)
        sqlite3_bind_int64(st, 11, f->to);
}

md_err md_store_scan_open(struct md_store *s, const struct md_scan_query *q,
                          struct md_store_scan **out, struct md_ctx *ctx)
{
    *out = NULL;
    md_err rc = check_city_layer(q->layer, ctx);
    if (rc)
        return rc;
    struct md_store_scan *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return md_fail(ctx, MD_ENOMEM, "scan");
    sc->s = s;
    if ((rc = md_store_read_begin(s, ctx)))
        goto out;
    sc->in_txn = true;
    struct md_layer_info info = {0};
    if ((rc = md_store_layer_info(s, q->layer, &info, ctx))) /* the snapshot starts here */
        goto out;
    sc->version = info.version;
    /* Its own statement, not the cache's: a scan may be open beside any read. */
    int src = sqlite3_prepare_v2(s->db, scan_sql[q->layer], -1, &sc->st, NULL);
    if (src != SQLITE_OK) {
        rc = md_store_fail(s, src, "scan", ctx);
        goto out;
    }
    scan_bind(sc->st, q);
    sc->row.st = sc->st;
    *out = sc;
    sc = NULL;
out:
    md_store_scan_close(sc);
    return rc;
}

md_err md_store_scan_next(struct md_store_scan *sc, const struct md_row **row, struct md_ctx *ctx)
{
    int src = sqlite3_step(sc->st);
    *row = src == SQLITE_ROW ? &sc->row : NULL;
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return md_store_fail(sc->s, src, "scan", ctx);
    return MD_OK;
}

int64_t md_store_scan_version(const struct md_store_scan *sc)
{
    return sc->version;
}

void md_store_scan_close(struct md_store_scan *sc)
{
    if (!sc)
        return;
    sqlite3_finalize(sc->st);
    if (sc->in_txn)
        md_store_read_end(sc->s);
    free(sc);
}

/* ---- extents and lookups */

md_err md_store_layer_time_range(struct md_store *s, enum md_layer layer, int64_t *t0, int64_t *t1,
                                 bool *any, struct md_ctx *ctx)
{
    static const char *const sql[] = {
        [MD_LAYER_FACILITIES] = "SELECT min(updated_at), max(updated_at) FROM facilities",
        [MD_LAYER_REPORTS] = "SELECT min(created_at), max(created_at) FROM reports",
        [MD_LAYER_DISTRICTS] = "SELECT min(updated_at), max(updated_at) FROM districts",
        [MD_LAYER_GRIDS] = "SELECT min(updated_at), max(updated_at) FROM grids"};
    *any = false;
    md_err rc = check_city_layer(layer, ctx);
    sqlite3_stmt *st = NULL;
    if (rc || (rc = md_store_stmt(s, sql[layer], &st, ctx)))
        return rc;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *t0 = sqlite3_column_int64(st, 0);
        *t1 = sqlite3_column_int64(st, 1);
        *any = true;
    } else if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = md_store_fail(s, src, "time extent", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

md_err md_store_city_bounds(struct md_store *s, struct md_bbox *out, bool *any, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_city_bounds(s->pg, out, any, ctx);
    static const char sql[] = "SELECT min(MbrMinX(geom)), min(MbrMinY(geom)), max(MbrMaxX(geom)),"
                              " max(MbrMaxY(geom)) FROM districts";
    *any = false;
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *out = (struct md_bbox){sqlite3_column_double(st, 0), sqlite3_column_double(st, 1),
                                sqlite3_column_double(st, 2), sqlite3_column_double(st, 3)};
        *any = true;
    } else if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = md_store_fail(s, src, "city bounds", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

md_err md_store_code_known(struct md_store *s, enum md_code_list list, const char *code,
                           bool *found, struct md_ctx *ctx)
{
    static const char *const sql[] = {
        [MD_CODES_FACILITY_CATEGORY] = "SELECT 1 FROM facility_categories WHERE code = ?1",
        [MD_CODES_REPORT_CATEGORY] = "SELECT 1 FROM categories WHERE code = ?1",
        [MD_CODES_CATEGORY_GROUP] = "SELECT 1 FROM categories WHERE group_code = ?1 LIMIT 1",
        [MD_CODES_DISTRICT] = "SELECT 1 FROM districts WHERE code = ?1"};
    *found = false;
    if ((int)list < 0 || (int)list > MD_CODES_DISTRICT)
        return md_fail(ctx, MD_EINVAL, "unknown code list %d", (int)list);
    if (s->backend == MD_BACKEND_PG)
        return md__pg_code_known(s->pg, list, code, found, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql[list], &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    *found = src == SQLITE_ROW;
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "lookup", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_store_district_names(struct md_store *s, const char *code, char *name, size_t name_size,
                               char *name_en, size_t name_en_size, bool *found, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT name, name_en FROM districts WHERE code = ?1";
    *found = false;
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 0);
        const char *e = (const char *)sqlite3_column_text(st, 1);
        snprintf(name, name_size, "%s", n ? n : "");
        snprintf(name_en, name_en_size, "%s", e ? e : "");
        *found = true;
    } else if (src != SQLITE_DONE) {
        rc = md_store_fail(s, src, "district", ctx);
    }
    sqlite3_reset(st);
    return rc;
}
