/* citizen.c - supports, and the reporter's follow-up (citizen.h).
 *
 * Tables: report_supports (PK report + device hash: the database itself
 * refuses a second "me too"); reports.supporters = count of its rows per
 * report, kept here in the same transaction as the insert (the column feeds
 * the tile side table through the reports triggers, so a tile shows the new
 * count on its next fetch); report_ratings (PK report: one rating).
 * The reporter's comments and rating are report_history rows, so the
 * history shows them beside the centre's steps.
 */
#include "citizen.h"
#include "reports.h"
#include "store_int.h"
#include "pg_citizen.h"
#include "workflow.h"

#include <stdio.h>
#include <string.h>

#define REPORTER_ROLE "public"
#define REPORTER_ACTOR "reporter"

/* The status of report `id` into `status` (MD_ENOTFOUND when none). */
static md_err report_status(struct md_store *s, int64_t id, char status[MD_STATUS_MAX],
                            struct md_ctx *ctx)
{
    static const char sql[] = "SELECT status FROM reports WHERE id = ?";
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_status(s->pg, id, status, MD_STATUS_MAX, ctx);
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

/* The support row and the bumped count (MD_ECONFLICT: already supported). */
static md_err insert_support(struct md_store *s, int64_t id, const char *device_hash, int64_t now,
                             int64_t *supporters, struct md_ctx *ctx)
{
    static const char insert_sql[] =
        "INSERT INTO report_supports(report_id, device_hash, at) VALUES (?, ?, ?)";
    static const char bump_sql[] = "UPDATE reports SET supporters = supporters + 1 WHERE id = ?";
    static const char count_sql[] = "SELECT supporters FROM reports WHERE id = ?";
    if (s->backend == MD_BACKEND_PG)
        return md__pg_support_add(s->pg, id, device_hash, now, supporters, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, insert_sql, &st, ctx);
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
    return src == SQLITE_ROW ? MD_OK : md_store_fail(s, src, "counting supporters", ctx);
}

static md_err add_support(struct md_store *s, int64_t id, const char *device_hash, int64_t now,
                          int offset_min, int64_t *supporters, struct md_ctx *ctx)
{
    char status[MD_STATUS_MAX];
    md_err rc = report_status(s, id, status, ctx);
    if (!rc && !md_status_is_open(status))
        rc = md_fail(ctx, MD_ECONFLICT, "report %lld is %s; only open reports take support",
                     (long long)id, status);
    if (!rc)
        rc = insert_support(s, id, device_hash, now, supporters, ctx);
    if (rc)
        return rc;
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

md_err md_report_token_check(struct md_store *s, int64_t id, const char *token, struct md_ctx *ctx)
{
    char status[MD_STATUS_MAX];
    int64_t owner = 0;
    md_err rc = report_status(s, id, status, ctx);
    if (rc)
        return rc;
    rc = md_report_by_token(s, token, &owner, ctx);
    if (rc == MD_ENOTFOUND)
        md_ctx_clear(ctx);
    if (rc == MD_ENOTFOUND || (!rc && owner != id))
        return md_fail(ctx, MD_EFORBID, "the token is not the follow-up token of report %lld",
                       (long long)id);
    return rc;
}

/* History row, updated_at, event {type, report, note, extra...}; the
 * report's JSON into *report_out. Inside the caller's transaction. */
static md_err follow_up(struct md_store *s, int64_t id, const char *action, const char *status,
                        const char *note, const char *event, json_t *extra, int64_t now,
                        int offset_min, json_t **report_out, struct md_ctx *ctx)
{
    json_t *report = NULL;
    md_err rc = md__report_history_add(s, id, action, status, status, REPORTER_ROLE, REPORTER_ACTOR,
                                       note, now, ctx);
    if (!rc)
        rc = md__report_touch(s, id, now, ctx);
    if (!rc)
        rc = md__report_public(s, id, now, offset_min, &report, ctx);
    if (rc) {
        json_decref(extra);
        return rc;
    }
    if (!extra)
        extra = json_object();
    json_object_set_new(extra, "note", json_string(note ? note : ""));
    json_incref(report);
    rc = md__report_emit(s, event, id, report, extra, now, ctx);
    if (rc)
        json_decref(report);
    else
        *report_out = report;
    return rc;
}

static md_err comment_in_txn(struct md_store *s, int64_t id, const char *token, const char *text,
                             int64_t now, int offset_min, json_t **report_out, struct md_ctx *ctx)
{
    char status[MD_STATUS_MAX];
    md_err rc = md_report_token_check(s, id, token, ctx);
    if (!rc)
        rc = report_status(s, id, status, ctx);
    if (!rc)
        rc = follow_up(s, id, "comment", status, text, "report.commented", NULL, now, offset_min,
                       report_out, ctx);
    return rc;
}

md_err md_report_comment(struct md_store *s, int64_t id, const char *token, const char *text,
                         int64_t now, int offset_min, json_t **report_out, struct md_ctx *ctx)
{
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    rc = comment_in_txn(s, id, token, text, now, offset_min, report_out, ctx);
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    return rc;
}

static md_err insert_rating(struct md_store *s, const char *sql, int64_t id, int score,
                            const char *comment, int64_t now, struct md_ctx *ctx);

static md_err rate_in_txn(struct md_store *s, int64_t id, const char *token, int score,
                          const char *comment, int64_t now, int offset_min, json_t **report_out,
                          struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO report_ratings(report_id, score, comment, at) VALUES (?, ?, ?, ?)";
    char status[MD_STATUS_MAX];
    md_err rc = md_report_token_check(s, id, token, ctx);
    if (!rc)
        rc = report_status(s, id, status, ctx);
    if (!rc && strcmp(status, "closed") != 0)
        rc = md_fail(ctx, MD_ECONFLICT, "report %lld is %s; the outcome is rated once it is closed",
                     (long long)id, status);
    if (!rc && s->backend == MD_BACKEND_PG)
        rc = md__pg_rating_add(s->pg, id, score, comment, now, ctx);
    else if (!rc)
        rc = insert_rating(s, sql, id, score, comment, now, ctx);
    if (rc)
        return rc;
    char note[2100];
    snprintf(note, sizeof(note), "%d/5%s%s", score, comment && *comment ? " " : "",
             comment ? comment : "");
    return follow_up(s, id, "rate", status, note, "report.rated", json_pack("{si}", "score", score),
                     now, offset_min, report_out, ctx);
}

static md_err insert_rating(struct md_store *s, const char *sql, int64_t id, int score,
                            const char *comment, int64_t now, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, score);
    sqlite3_bind_text(st, 3, comment ? comment : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return md_fail(ctx, MD_ECONFLICT, "report %lld is already rated", (long long)id);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, "saving the rating", ctx);
}

md_err md_report_rate(struct md_store *s, int64_t id, const char *token, int score,
                      const char *comment, int64_t now, int offset_min, json_t **report_out,
                      struct md_ctx *ctx)
{
    if (score < 1 || score > 5)
        return md_fail(ctx, MD_EINVAL, "score must be 1 to 5");
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    rc = rate_in_txn(s, id, token, score, comment, now, offset_min, report_out, ctx);
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    return rc;
}
