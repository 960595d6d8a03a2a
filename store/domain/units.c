/* units.c - units, officers and case assignments (units.h).
 *
 * Tables (schema_sql.h, block "units and officers"):
 *   units(code PK, name, unit_type, district_code, created_at)
 *   officers(id PK, unit_code -> units, name, created_at)
 *   report_assignments(report_id PK, unit_code, officer_id, assigned_at, actor_id)
 * One assignment row per case: the last dispatch (or rework naming a unit)
 * wins. The row is written in the transition's transaction, so a case's
 * history and its assignment never disagree.
 */
#include "units.h"
#include "store_int.h"
#include "workflow.h"
#include "md_time.h"
#include "pg_tokens.h"
#include "reports.h"
#include "store.h"
#include "tokens.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int md_unit_code_valid(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || n >= MD_UNIT_CODE_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)code; *p; p++)
        if (!isalnum(*p) && *p != '_' && *p != '-')
            return 0;
    return 1;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

md_err md_unit_add(struct md_store *s, const char *code, const char *name, const char *unit_type,
                   const char *district, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_unit_add(s->pg, code, name, unit_type, district, ctx);
    static const char sql[] = "INSERT INTO units(code, name, unit_type, district_code, created_at)"
                              " VALUES (?, ?, ?, ?, strftime('%s', 'now'))";
    if (!md_unit_code_valid(code))
        return md_fail(ctx, MD_EINVAL, "unit code must be 1-32 letters, digits, '-' or '_'");
    if (!name || !*name || strlen(name) >= MD_UNIT_NAME_MAX)
        return md_fail(ctx, MD_EINVAL, "unit name must be 1-200 bytes");
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, unit_type);
    bind_text_or_null(st, 4, district);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return md_fail(ctx, MD_ECONFLICT, "unit %s exists", code);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, "adding the unit", ctx);
}

static md_err unit_exists(struct md_store *s, const char *code, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_unit_exists(s->pg, code, ctx);
    static const char sql[] = "SELECT 1 FROM units WHERE code = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_ROW)
        return MD_OK;
    if (src == SQLITE_DONE)
        return md_fail(ctx, MD_ENOTFOUND, "no unit '%.32s' (see GET /api/v1/units)", code);
    return md_store_fail(s, src, "reading the unit", ctx);
}

md_err md_officer_add(struct md_store *s, const char *unit_code, const char *name, int64_t *id,
                      struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_officer_add(s->pg, unit_code, name, id, ctx);
    static const char sql[] = "INSERT INTO officers(unit_code, name, created_at)"
                              " VALUES (?, ?, strftime('%s', 'now'))";
    if (!name || !*name || strlen(name) >= MD_OFFICER_NAME_MAX)
        return md_fail(ctx, MD_EINVAL, "officer name must be 1-100 bytes");
    md_err rc = unit_exists(s, unit_code, ctx);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, unit_code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "adding the officer", ctx);
    if (id)
        *id = sqlite3_last_insert_rowid(md_store_db(s));
    return MD_OK;
}

md_err md_officer_unit(struct md_store *s, int64_t officer_id, char unit[MD_UNIT_CODE_MAX],
                       struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_officer_unit(s->pg, officer_id, unit, ctx);
    static const char sql[] = "SELECT unit_code FROM officers WHERE id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, officer_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        snprintf(unit, MD_UNIT_CODE_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (src == SQLITE_DONE)
        rc = md_fail(ctx, MD_ENOTFOUND, "no officer %lld", (long long)officer_id);
    else
        rc = md_store_fail(s, src, "reading the officer", ctx);
    sqlite3_reset(st);
    return rc;
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    return v ? json_string((const char *)v) : json_null();
}

md_err md_units_json(struct md_store *s, json_t **out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_units_json(s->pg, out, ctx);
    static const char sql[] =
        "SELECT u.code, u.name, u.unit_type, u.district_code, o.id, o.name"
        " FROM units u LEFT JOIN officers o ON o.unit_code = u.code ORDER BY u.code, o.id";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    json_t *arr = json_array(), *unit = NULL;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 0);
        if (!unit || strcmp(json_string_value(json_object_get(unit, "code")), code) != 0) {
            unit = json_pack("{s:s s:o s:o s:o s:[]}", "code", code, "name", text_or_null(st, 1),
                             "unit_type", text_or_null(st, 2), "district", text_or_null(st, 3),
                             "officers");
            json_array_append_new(arr, unit);
        }
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            json_array_append_new(json_object_get(unit, "officers"),
                                  json_pack("{sI s:o}", "id",
                                            (json_int_t)sqlite3_column_int64(st, 4), "name",
                                            text_or_null(st, 5)));
    }
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        json_decref(arr);
        return md_store_fail(s, src, "listing units", ctx);
    }
    *out = arr;
    return MD_OK;
}

struct assignment {
    int found;
    char unit[MD_UNIT_CODE_MAX];
    int64_t officer_id;
};

static md_err assignment_get(struct md_store *s, int64_t report_id, struct assignment *a,
                             struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_assignment_get(s->pg, report_id, &a->found, a->unit, &a->officer_id, ctx);
    static const char sql[] =
        "SELECT unit_code, officer_id FROM report_assignments WHERE report_id = ?";
    sqlite3_stmt *st = NULL;
    memset(a, 0, sizeof(*a));
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, report_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        a->found = 1;
        snprintf(a->unit, sizeof(a->unit), "%s", (const char *)sqlite3_column_text(st, 0));
        a->officer_id = sqlite3_column_int64(st, 1);
    } else if (src != SQLITE_DONE) {
        rc = md_store_fail(s, src, "reading the assignment", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

static int names_target(const struct md_step *step)
{
    return step->unit && (md_workflow_effects(step->action) & MD_FX_ASSIGN);
}

md_err md__assignment_check(struct md_store *s, int64_t report_id, const struct md_step *step,
                            const struct md_principal *who, struct md_ctx *ctx)
{
    if ((step->unit || step->officer_id) && !(md_workflow_effects(step->action) & MD_FX_ASSIGN))
        return md_fail(ctx, MD_EINVAL, "unit and officer are only for dispatch and rework");
    if (step->officer_id && !step->unit)
        return md_fail(ctx, MD_EINVAL, "an officer is named together with their unit");
    if (names_target(step)) {
        md_err rc = unit_exists(s, step->unit, ctx);
        if (rc == MD_ENOTFOUND) {
            md_ctx_clear(ctx);
            return md_fail(ctx, MD_EINVAL, "no unit '%.32s' (see GET /api/v1/units)", step->unit);
        }
        char unit[MD_UNIT_CODE_MAX];
        if (!rc && step->officer_id) {
            rc = md_officer_unit(s, step->officer_id, unit, ctx);
            if (rc == MD_ENOTFOUND) {
                md_ctx_clear(ctx);
                return md_fail(ctx, MD_EINVAL, "no officer %lld", (long long)step->officer_id);
            }
            if (!rc && strcmp(unit, step->unit) != 0)
                return md_fail(ctx, MD_EINVAL, "officer %lld is in unit %s, not %s",
                               (long long)step->officer_id, unit, step->unit);
        }
        if (rc)
            return rc;
    }
    if (who->role != MD_ROLE_OFFICER)
        return MD_OK;
    struct assignment a;
    md_err rc = assignment_get(s, report_id, &a, ctx);
    if (rc)
        return rc;
    if (!who->unit[0])
        return md_fail(ctx, MD_EFORBID,
                       "this officer token names no unit (mapd token add --role officer --unit U"
                       " --name N)");
    if (!a.found)
        return md_fail(ctx, MD_EFORBID,
                       "report %lld is not dispatched to a unit; officers act"
                       " only on cases dispatched to them or their unit",
                       (long long)report_id);
    if (strcmp(a.unit, who->unit) != 0)
        return md_fail(ctx, MD_EFORBID, "report %lld is dispatched to unit %s, not to yours (%s)",
                       (long long)report_id, a.unit, who->unit);
    if (a.officer_id && a.officer_id != who->officer_id)
        return md_fail(ctx, MD_EFORBID, "report %lld is dispatched to officer %lld of your unit",
                       (long long)report_id, (long long)a.officer_id);
    return MD_OK;
}

md_err md__assignment_record(struct md_store *s, int64_t report_id, const struct md_step *step,
                             const struct md_principal *who, int64_t now, struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO report_assignments(report_id, unit_code, officer_id, assigned_at,"
        " actor_id) VALUES (?, ?, ?, ?, ?)";
    if (!names_target(step))
        return MD_OK;
    if (s->backend == MD_BACKEND_PG)
        return md__pg_assignment_record(s->pg, report_id, step->unit, step->officer_id, now,
                                        who->actor, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, report_id);
    sqlite3_bind_text(st, 2, step->unit, -1, SQLITE_STATIC);
    if (step->officer_id)
        sqlite3_bind_int64(st, 3, step->officer_id);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_text(st, 5, who->actor, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, "recording the assignment", ctx);
}

md_err md_assignment_json(struct md_store *s, int64_t report_id, int offset_min, json_t **out,
                          struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_assignment_json(s->pg, report_id, offset_min, out, ctx);
    static const char sql[] =
        "SELECT a.unit_code, u.name, a.officer_id, o.name, a.assigned_at FROM report_assignments a"
        " JOIN units u ON u.code = a.unit_code LEFT JOIN officers o ON o.id = a.officer_id"
        " WHERE a.report_id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, report_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        char at[MD_TIME_STR_MAX];
        md_time_format(sqlite3_column_int64(st, 4), offset_min, at);
        *out = json_pack("{s:o s:o s:o s:o s:s}", "unit", text_or_null(st, 0), "unit_name",
                         text_or_null(st, 1), "officer_id",
                         sqlite3_column_type(st, 2) == SQLITE_NULL
                             ? json_null()
                             : json_integer(sqlite3_column_int64(st, 2)),
                         "officer_name", text_or_null(st, 3), "assigned_at", at);
    } else if (src == SQLITE_DONE) {
        *out = json_null();
    } else {
        rc = md_store_fail(s, src, "reading the assignment", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

md_err md_unit_cases_json(struct md_store *s, const char *unit, int64_t officer_id, int limit,
                          int64_t now, int offset_min, json_t **out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_unit_cases_json(s, s->pg, unit, officer_id, limit, now, offset_min, out, ctx);
    static const char sql[] =
        "SELECT r.id FROM report_assignments a JOIN reports r ON r.id = a.report_id"
        " WHERE a.unit_code = ?1 AND (?2 = 0 OR a.officer_id IS NULL OR a.officer_id = ?2)"
        " AND (r.status = 'dispatched' OR r.status = 'in_progress')"
        " ORDER BY r.expected_at IS NULL, r.expected_at, r.id LIMIT ?3";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, officer_id);
    sqlite3_bind_int(st, 3, limit);
    int64_t ids[500];
    size_t n = 0;
    int src;
    while (n < sizeof(ids) / sizeof(ids[0]) && (src = sqlite3_step(st)) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    if (n < sizeof(ids) / sizeof(ids[0]) && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "listing the unit's cases", ctx);
    sqlite3_reset(st);
    json_t *arr = rc ? NULL : json_array();
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *r = NULL, *a = NULL;
        rc = md_report_get(s, ids[i], now, offset_min, &r, ctx);
        if (!rc)
            rc = md_assignment_json(s, ids[i], offset_min, &a, ctx);
        if (!rc) {
            json_object_set_new(r, "assignment", a);
            json_array_append_new(arr, r);
        } else {
            json_decref(r);
        }
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return MD_OK;
}
