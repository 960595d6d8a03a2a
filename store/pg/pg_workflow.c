/* pg_workflow.c - the case workflow on PostgreSQL (pg_workflow.h).
 *
 * reports.c's apply_step step for step: the report's state is read (FOR
 * UPDATE: two centres stepping the same case at once queue on its row, so
 * READ COMMITTED cannot let both pass the workflow check from the same
 * status), the workflow decides (workflow.c, shared), deadlines come from
 * the calendar (calendar.c, shared), a merge target is checked, an
 * accepted correction changes its facility (geom is generated from lon/lat
 * by the schema) and records before/after in facility_history, then the
 * report row, its history and its event are written, inside the write
 * transaction md_report_transition (reports.c, shared) opens around it,
 * with the case's assignment (units.c, which dispatches to pg_tokens.c).
 */
#include "pg_workflow.h"

#include "locate.h"
#include "pg_reports.h"
#include "pg_store.h"
#include "store_int.h"
#include "units.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void int_param(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
}

static md_err run(struct md_pg *pg, const char *name, const char *sql, int n,
                  const char *const *values, struct md_ctx *ctx)
{
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, name, sql, n, values, &r, ctx);
    PQclear(r);
    return rc;
}

struct report_state {
    char status[MD_STATUS_MAX];
    char parked_from[MD_STATUS_MAX];
    char service_code[8];
    char kind[16];
    int64_t facility_id;
    char *proposed_change; /* owned */
    int64_t merged_into;
};

static md_err read_state(struct md_pg *pg, int64_t id, bool lock, struct report_state *rs,
                         struct md_ctx *ctx)
{
    static const char sql[] = "SELECT status, parked_from, service_code, kind, facility_id,"
                              " proposed_change, merged_into FROM reports WHERE id = $1::bigint";
    static const char lock_sql[] = "SELECT status, parked_from, service_code, kind, facility_id,"
                                   " proposed_change, merged_into FROM reports"
                                   " WHERE id = $1::bigint FOR UPDATE";
    memset(rs, 0, sizeof(*rs));
    char idp[24];
    int_param(id, idp);
    const char *values[] = {idp};
    PGresult *r = NULL;
    md_err rc = lock ? md__pg_query(pg, "md_wf_state_lock", lock_sql, 1, values, &r, ctx)
                     : md__pg_query(pg, "md_wf_state", sql, 1, values, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        snprintf(rs->status, sizeof(rs->status), "%s", md__pg_text(r, 0, 0));
        snprintf(rs->parked_from, sizeof(rs->parked_from), "%s", md__pg_text(r, 0, 1));
        snprintf(rs->service_code, sizeof(rs->service_code), "%s", md__pg_text(r, 0, 2));
        snprintf(rs->kind, sizeof(rs->kind), "%s", md__pg_text(r, 0, 3));
        rs->facility_id = md__pg_int(r, 0, 4);
        rs->proposed_change = PQgetisnull(r, 0, 5) ? NULL : strdup(md__pg_text(r, 0, 5));
        rs->merged_into = md__pg_int(r, 0, 6);
    } else {
        rc = md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id);
    }
    PQclear(r);
    return rc;
}

md_err md__pg_facility_history(struct md_pg *pg, int64_t facility_id, int64_t report_id,
                               json_t *before, json_t *after, const struct md_principal *who,
                               int64_t now, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO facility_history(facility_id, report_id, change,"
                              " actor_role, actor_id, at)"
                              " VALUES ($1::bigint, $2::bigint, $3, $4, $5, $6::bigint)";
    json_t *record = json_pack("{s:O? s:O}", "before", before, "after", after);
    char *text = record ? json_dumps(record, JSON_COMPACT) : NULL;
    json_decref(record);
    if (!text)
        return md_fail(ctx, MD_ENOMEM, "facility history");
    char fid[24], rid[24], at[24];
    int_param(facility_id, fid);
    int_param(report_id, rid);
    int_param(now, at);
    const char *values[] = {fid, report_id ? rid : NULL, text, md_role_name(who->role), who->actor,
                            at};
    md_err rc = run(pg, "md_facility_history", sql, 6, values, ctx);
    free(text);
    return rc;
}

static const char *opt_string(json_t *change, const char *key)
{
    return json_string_value(json_object_get(change, key));
}

static md_err add_missing_facility(struct md_pg *pg, int64_t report_id, json_t *change,
                                   const struct md_principal *who, int64_t now, struct md_ctx *ctx)
{
    static const char insert_sql[] =
        "INSERT INTO facilities(category, name, address, phone, opening_hours, district_code,"
        " grid_code, status, source, updated_at, lon, lat)"
        " SELECT $2, $3, coalesce($4, ''), coalesce($5, ''), coalesce($6, ''), r.district_code,"
        " r.grid_code, 'open', 'correction', $7::bigint, r.lon, r.lat"
        " FROM reports r WHERE r.id = $1::bigint RETURNING id";
    static const char link_sql[] =
        "UPDATE reports SET facility_id = $2::bigint WHERE id = $1::bigint";
    const char *category = opt_string(change, "category");
    const char *name = opt_string(change, "name");
    if (!category || !name)
        return md_fail(ctx, MD_EUNPROC, "a missing facility needs a name and a category");
    char rid[24], at[24], fidp[24];
    int_param(report_id, rid);
    int_param(now, at);
    const char *values[] = {rid,
                            category,
                            name,
                            opt_string(change, "address"),
                            opt_string(change, "phone"),
                            opt_string(change, "opening_hours"),
                            at};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_wf_add_facility", insert_sql, 7, values, &r, ctx);
    if (!rc && PQntuples(r) != 1)
        rc = md_fail(ctx, MD_EDB, "adding the facility: no id returned");
    int64_t fid = rc ? 0 : md__pg_int(r, 0, 0);
    PQclear(r);
    int_param(fid, fidp);
    const char *link[] = {rid, fidp};
    if (!rc)
        rc = run(pg, "md_wf_link_facility", link_sql, 2, link, ctx);
    if (!rc)
        rc = md__pg_facility_history(pg, fid, report_id, NULL, change, who, now, ctx);
    return rc;
}

static md_err apply_correction(struct md_store *s, int64_t report_id, const struct report_state *rs,
                               const struct md_principal *who, int64_t now, struct md_ctx *ctx)
{
    static const char read_sql[] = "SELECT name, category, status, lon, lat FROM facilities"
                                   " WHERE id = $1::bigint";
    static const char update_sql[] =
        "UPDATE facilities SET name = coalesce($2, name), category = coalesce($3, category),"
        " status = coalesce($4, status), lon = coalesce($5::float8, lon),"
        " lat = coalesce($6::float8, lat), district_code = coalesce($7, district_code),"
        " grid_code = coalesce($8, grid_code), updated_at = $9::bigint WHERE id = $1::bigint";
    struct md_pg *pg = s->pg;
    if (!rs->proposed_change)
        return MD_OK;
    if (!rs->facility_id) {
        if (strcmp(rs->service_code, MD_MISSING_FACILITY_CODE) != 0)
            return MD_OK;
        json_t *proposed = json_loads(rs->proposed_change, 0, NULL);
        md_err rc =
            json_is_object(proposed)
                ? add_missing_facility(pg, report_id, proposed, who, now, ctx)
                : md_fail(ctx, MD_EUNPROC, "the correction's proposed change is unreadable");
        json_decref(proposed);
        return rc;
    }
    json_t *change = json_loads(rs->proposed_change, 0, NULL);
    json_t *before = json_object();
    md_err rc = MD_OK;
    PGresult *r = NULL;
    char fid[24], at[24];
    int_param(rs->facility_id, fid);
    int_param(now, at);
    if (!json_is_object(change) || !before) {
        rc = md_fail(ctx, MD_EUNPROC, "the correction's proposed change is unreadable");
        goto out;
    }
    const char *idv[] = {fid};
    rc = md__pg_query(pg, "md_wf_facility", read_sql, 1, idv, &r, ctx);
    if (rc)
        goto out;
    if (PQntuples(r) != 1) {
        PQclear(r);
        rc = md_fail(ctx, MD_ECONFLICT, "facility %lld no longer exists",
                     (long long)rs->facility_id);
        goto out;
    }
    for (int i = 0; i < 3; i++)
        json_object_set_new(before,
                            i == 0   ? "name"
                            : i == 1 ? "category"
                                     : "status",
                            PQgetisnull(r, 0, i) ? json_null() : json_string(md__pg_text(r, 0, i)));
    json_object_set_new(before, "lon", json_real(md__pg_double(r, 0, 3)));
    json_object_set_new(before, "lat", json_real(md__pg_double(r, 0, 4)));
    PQclear(r);
    json_t *lon = json_object_get(change, "lon"), *lat = json_object_get(change, "lat");
    char district[MD_DISTRICT_CODE_MAX] = "", grid[MD_GRID_CODE_MAX] = "";
    if (json_is_number(lon) && json_is_number(lat)) {
        rc =
            md_store_locate(s, json_number_value(lon), json_number_value(lat), district, grid, ctx);
        if (rc == MD_ENOTFOUND) {
            md_ctx_clear(ctx);
            rc = md_fail(ctx, MD_EUNPROC, "the proposed location is outside every district");
        }
        if (rc)
            goto out;
    }
    char lonp[MD_PG_DOUBLE_CHARS], latp[MD_PG_DOUBLE_CHARS];
    md__pg_double_param(json_number_value(lon), lonp);
    md__pg_double_param(json_number_value(lat), latp);
    /* as reports.c binds them: all four, or none (the grid may be "") */
    const char *values[] = {fid,
                            opt_string(change, "name"),
                            opt_string(change, "category"),
                            opt_string(change, "status"),
                            district[0] ? lonp : NULL,
                            district[0] ? latp : NULL,
                            district[0] ? district : NULL,
                            district[0] ? grid : NULL,
                            at};
    rc = run(pg, "md_wf_facility_update", update_sql, 9, values, ctx);
    if (!rc)
        rc = md__pg_facility_history(pg, rs->facility_id, report_id, before, change, who, now, ctx);
out:
    json_decref(change);
    json_decref(before);
    return rc;
}

static md_err check_merge_target(struct md_pg *pg, int64_t id, int64_t into, struct md_ctx *ctx)
{
    if (into <= 0)
        return md_fail(ctx, MD_EINVAL, "merge needs \"into\": the id of the original report");
    if (into == id)
        return md_fail(ctx, MD_ECONFLICT, "a report cannot be merged into itself");
    struct report_state target;
    md_err rc = read_state(pg, into, false, &target, ctx);
    if (rc == MD_ENOTFOUND) {
        md_ctx_clear(ctx);
        return md_fail(ctx, MD_EUNPROC, "merge target %lld does not exist", (long long)into);
    }
    if (!rc && (target.merged_into || strcmp(target.status, "rejected") == 0))
        rc = md_fail(ctx, MD_ECONFLICT, "report %lld is itself %s; merge into its original",
                     (long long)into, target.merged_into ? "a merged duplicate" : "rejected");
    free(target.proposed_change);
    return rc;
}

static md_err resumed_deadline(struct md_pg *pg, const struct md_calendar *cal, int64_t id,
                               int64_t now, int64_t *expected, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT r.expected_at, (SELECT h.at FROM report_history h WHERE h.report_id = r.id"
        " AND h.to_status = 'parked' ORDER BY h.id DESC LIMIT 1) FROM reports r"
        " WHERE r.id = $1::bigint";
    char idp[24];
    int_param(id, idp);
    const char *values[] = {idp};
    PGresult *r = NULL;
    *expected = 0;
    md_err rc = md__pg_query(pg, "md_wf_resumed_deadline", sql, 1, values, &r, ctx);
    if (rc)
        return rc;
    bool has = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) && !PQgetisnull(r, 0, 1);
    int64_t old = has ? md__pg_int(r, 0, 0) : 0;
    int64_t parked_at = has ? md__pg_int(r, 0, 1) : 0;
    PQclear(r);
    int64_t minutes = 0;
    if (has)
        rc = md_calendar_working_minutes(cal, parked_at, now, &minutes, ctx);
    if (!rc && minutes > 0)
        rc = md_calendar_add_minutes(cal, old, minutes, expected, ctx);
    return rc;
}

md_err md__pg_apply_step(struct md_store *s, const struct md_calendar *cal, int64_t id,
                         const struct md_step *step, const struct md_principal *who, int64_t now,
                         int offset_min, json_t **report_out, struct md_ctx *ctx)
{
    static const char update_sql[] =
        "UPDATE reports SET status = $2, parked_from = $3, updated_at = $4::bigint,"
        " expected_at = coalesce($5::bigint, expected_at), closed_at = $6::bigint,"
        " merged_into = coalesce($7::bigint, merged_into) WHERE id = $1::bigint";
    struct md_pg *pg = s->pg;
    struct report_state rs;
    const char *to = NULL;
    json_t *report = NULL;
    md_err rc = read_state(pg, id, true, &rs, ctx);
    if (!rc)
        rc = md_workflow_step(step->action, who->role, rs.status, rs.parked_from, &to, ctx);
    unsigned fx = md_workflow_effects(step->action);
    bool merge = !rc && (fx & MD_FX_MERGE);
    if (merge)
        rc = check_merge_target(pg, id, step->into, ctx);
    int64_t expected = 0;
    if (!rc && (fx & MD_FX_DEADLINE)) {
        struct md_category cat;
        rc = md__pg_category_get(pg, rs.service_code, &cat, ctx);
        if (!rc)
            rc = md_calendar_deadline(cal, now, cat.deadline_value, cat.deadline_unit, &expected,
                                      ctx);
        md_category_clear(&cat);
    }
    if (!rc && (fx & MD_FX_CORRECTION) && strcmp(rs.kind, "correction") == 0)
        rc = apply_correction(s, id, &rs, who, now, ctx);
    if (!rc && (fx & MD_FX_RESUME_CLOCK))
        rc = resumed_deadline(pg, cal, id, now, &expected, ctx);
    if (!rc) {
        char idp[24], at[24], exp[24], into[24];
        int_param(id, idp);
        int_param(now, at);
        int_param(expected, exp);
        int_param(step->into, into);
        const char *values[] = {idp,
                                to,
                                (fx & MD_FX_PARK) ? rs.status : NULL,
                                at,
                                expected ? exp : NULL,
                                md_status_is_open(to) ? NULL : at,
                                merge ? into : NULL};
        rc = run(pg, "md_wf_update", update_sql, 7, values, ctx);
    }
    char merge_note[64];
    const char *note = step->note;
    if (merge && (!note || !*note)) {
        snprintf(merge_note, sizeof(merge_note), "duplicate of report %lld", (long long)step->into);
        note = merge_note;
    }
    if (!rc)
        rc = md__pg_report_history_add(pg, id, step->action, rs.status, to, md_role_name(who->role),
                                       who->actor, note, now, ctx);
    if (!rc)
        rc = md__pg_report_public(pg, id, now, offset_min, &report, ctx);
    if (!rc) {
        json_t *extra = json_object();
        json_object_set_new(extra, "action", json_string(step->action));
        json_object_set_new(extra, "from", json_string(rs.status));
        json_object_set_new(extra, "to", json_string(to));
        json_object_set_new(extra, "note", json_string(note ? note : ""));
        if (merge)
            json_object_set_new(extra, "into", json_integer(step->into));
        json_incref(report);
        rc = md__pg_report_emit(pg, merge ? "report.merged" : "report.transitioned", id, report,
                                extra, now, NULL, ctx);
    }
    free(rs.proposed_change);
    if (rc)
        json_decref(report);
    else
        *report_out = report;
    return rc;
}

md_err md__pg_facility_point(struct md_pg *pg, int64_t id, double *lon, double *lat,
                             struct md_ctx *ctx)
{
    static const char sql[] = "SELECT lon, lat FROM facilities WHERE id = $1::bigint";
    char idp[24];
    int_param(id, idp);
    const char *values[] = {idp};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_facility_point", sql, 1, values, &r, ctx);
    if (!rc && PQntuples(r) == 1) {
        *lon = md__pg_double(r, 0, 0);
        *lat = md__pg_double(r, 0, 1);
    } else if (!rc) {
        rc = md_fail(ctx, MD_ENOTFOUND, "facility %lld does not exist", (long long)id);
    }
    PQclear(r);
    return rc;
}

md_err md__pg_facility_category_check(struct md_pg *pg, const char *code, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT 1 FROM facility_categories WHERE code = $1";
    const char *values[] = {code};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_facility_category_check", sql, 1, values, &r, ctx);
    if (!rc && PQntuples(r) != 1)
        rc = md_fail(ctx, MD_ENOTFOUND, "'%.40s' is not a facility category", code);
    PQclear(r);
    return rc;
}
