/* citizen.c - supports, and the reporter's follow-up (citizen.h).
 *
 * Tables: report_supports (PK report + device hash: the database itself
 * refuses a second "me too"); reports.supporters = count of its rows per
 * report, kept here in the same transaction as the insert (the column feeds
 * the tile side table through the reports triggers, so a tile shows the new
 * count on its next fetch).
 */
#include "citizen.h"
#include "store_int.h"
#include "workflow.h"

#include <stdio.h>
#include <string.h>

/* The status of report `id` into `status` (MD_ENOTFOUND when none). */
static md_err report_status(struct md_store *s, int64_t id, char status[MD_STATUS_MAX],
                            struct md_ctx *ctx)
{
    static const char sql[] = "SELECT status FROM reports WHERE id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        snprintf(status, MD_STATUS_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (src == SQLITE_DONE)
        rc = md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id);
    else
        rc = md_store_fail(s, src, "reading the report", ctx);
    sqlite3_reset(st);
    return rc;
}

static md_err add_support(struct md_store *s, int64_t id, const char *device_hash, int64_t now,
                          int offset_min, int64_t *supporters, struct md_ctx *ctx)
{
    static const char insert_sql[] =
        "INSERT INTO report_supports(report_id, device_hash, at) VALUES (?, ?, ?)";
    static const char bump_sql[] = "UPDATE reports SET supporters = supporters + 1 WHERE id = ?";
    static const char count_sql[] = "SELECT supporters FROM reports WHERE id = ?";
    char status[MD_STATUS_MAX];
    md_err rc = report_status(s, id, status, ctx);
    if (!rc && !md_status_is_open(status))
        rc = md_fail(ctx, MD_ECONFLICT, "report %lld is %s; only open reports take support",
                     (long long)id, status);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = md_store_stmt(s, insert_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, device_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return md_fail(ctx, MD_ECONFLICT, "this device already supports report %lld",
                       (long long)id);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "saving the support", ctx);
    rc = md_store_stmt(s, bump_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "counting supporters", ctx);
    rc = md_store_stmt(s, count_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *supporters = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (src != SQLITE_ROW)
        return md_store_fail(s, src, "counting supporters", ctx);
    json_t *extra = json_pack("{sI}", "supporters", (json_int_t)*supporters);
    json_t *report = NULL;
    rc = md__report_public(s, id, now, offset_min, &report, ctx);
    if (!rc)
        rc = md__report_emit(s, "report.supported", id, report, extra, now, ctx);
    else
        json_decref(extra);
    return rc;
}

md_err md_report_support(struct md_store *s, int64_t id, const char *device_hash, int64_t now,
                         int offset_min, int64_t *supporters, struct md_ctx *ctx)
{
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    rc = add_support(s, id, device_hash, now, offset_min, supporters, ctx);
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    return rc;
}
