/* webhooks.c - webhook subscriptions and their delivery log (webhooks.h).
 *
 * Tables: webhooks, webhook_deliveries (UNIQUE webhook + event: an event is
 * queued once per webhook even if the cursor's move were replayed),
 * webhook_cursor (one row). Delivery states:
 *
 *     pending --2xx--> delivered
 *        |  \--else, attempts < max--> pending (next_attempt_ms later)
 *        \-----else, attempts = max--> failed
 *
 * The transitions are decided by the delivery thread (api/webhooks.c);
 * this module records them.
 */
#include "webhooks.h"
#include "store_int.h"
#include "md_time.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#define HOOK_COLS                                                                                  \
    "w.id, w.url, w.report_id, w.district_code, w.categories, w.statuses, w.created_at,"           \
    " w.active,"                                                                                   \
    " (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"                        \
    "  AND d.status = 'pending'),"                                                                 \
    " (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"                        \
    "  AND d.status = 'delivered'),"                                                               \
    " (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"                        \
    "  AND d.status = 'failed')"                                                                   \
    " FROM webhooks w"

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    return v && *v ? json_string((const char *)v) : json_null();
}

static json_t *time_or_null(int64_t t, bool present, int offset_min)
{
    if (!present)
        return json_null();
    char text[MD_TIME_STR_MAX];
    md_time_format(t, offset_min, text);
    return json_string(text);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static md_err step_done(struct md_store *s, sqlite3_stmt *st, const char *what, struct md_ctx *ctx)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, what, ctx);
}

static json_t *hook_json(sqlite3_stmt *st, int offset_min)
{
    json_t *report = sqlite3_column_type(st, 2) == SQLITE_NULL
                         ? json_null()
                         : json_integer((json_int_t)sqlite3_column_int64(st, 2));
    return json_pack("{sI s:o s:o s:o s:o s:o s:o s:b s:{sI sI sI}}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "url", text_or_null(st, 1), "report",
                     report, "district", text_or_null(st, 3), "category", text_or_null(st, 4),
                     "status", text_or_null(st, 5), "created_at",
                     time_or_null(sqlite3_column_int64(st, 6), true, offset_min), "active",
                     sqlite3_column_int(st, 7) != 0, "deliveries", "pending",
                     (json_int_t)sqlite3_column_int64(st, 8), "delivered",
                     (json_int_t)sqlite3_column_int64(st, 9), "failed",
                     (json_int_t)sqlite3_column_int64(st, 10));
}

md_err md_webhook_schema_ensure(struct md_store *s, struct md_ctx *ctx)
{
    return md__store_webhooks_ddl(s, ctx);
}

md_err md_webhook_create(struct md_store *s, const struct md_webhook_input *in, int64_t now,
                         int64_t *id, struct md_ctx *ctx)
{
    static const char count_sql[] = "SELECT count(*) FROM webhooks WHERE owner_token_id = ?";
    static const char sql[] =
        "INSERT INTO webhooks(url, secret, report_id, district_code, categories, statuses,"
        " owner_token_id, after_event, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(id), 0) FROM events), ?)";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, count_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, in->owner_token_id);
    int src = sqlite3_step(st);
    int64_t have = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (src != SQLITE_ROW)
        return md_store_fail(s, src, "counting the webhooks", ctx);
    if (have >= MD_WEBHOOKS_PER_OWNER)
        return md_fail(ctx, MD_ECONFLICT, "this token has %d webhooks already (the limit)",
                       MD_WEBHOOKS_PER_OWNER);
    if ((rc = md_store_stmt(s, sql, &st, ctx)))
        return rc;
    sqlite3_bind_text(st, 1, in->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->secret, -1, SQLITE_STATIC);
    if (in->report_id > 0)
        sqlite3_bind_int64(st, 3, in->report_id);
    else
        sqlite3_bind_null(st, 3);
    bind_opt_text(st, 4, in->district);
    bind_opt_text(st, 5, in->categories);
    bind_opt_text(st, 6, in->statuses);
    sqlite3_bind_int64(st, 7, in->owner_token_id);
    sqlite3_bind_int64(st, 8, now);
    if ((rc = step_done(s, st, "saving the webhook", ctx)))
        return rc;
    *id = sqlite3_last_insert_rowid(md_store_db(s));
    return MD_OK;
}

md_err md_webhook_get(struct md_store *s, int64_t id, int64_t owner, int offset_min, json_t **out,
                      struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT " HOOK_COLS " WHERE w.id = ?1 AND (?2 = 0 OR w.owner_token_id = ?2)";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, owner);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = (*out = hook_json(st, offset_min)) ? MD_OK : md_fail(ctx, MD_ENOMEM, "webhook");
    else if (src == SQLITE_DONE)
        rc = md_fail(ctx, MD_ENOTFOUND, "no webhook %lld", (long long)id);
    else
        rc = md_store_fail(s, src, "reading the webhook", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_webhook_list(struct md_store *s, int64_t owner, int offset_min, json_t **out,
                       struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT " HOOK_COLS " WHERE ?1 = 0 OR w.owner_token_id = ?1 ORDER BY w.id";
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    md_err rc = arr ? md_store_stmt(s, sql, &st, ctx) : md_fail(ctx, MD_ENOMEM, "webhooks");
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, owner);
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(arr, hook_json(st, offset_min)))
            rc = md_fail(ctx, MD_ENOMEM, "webhooks");
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "listing the webhooks", ctx);
    sqlite3_reset(st);
out:
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

md_err md_webhook_delete(struct md_store *s, int64_t id, int64_t owner, struct md_ctx *ctx)
{
    static const char hook_sql[] =
        "DELETE FROM webhooks WHERE id = ?1 AND (?2 = 0 OR owner_token_id = ?2)";
    static const char log_sql[] = "DELETE FROM webhook_deliveries WHERE webhook_id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    if (!(rc = md_store_stmt(s, hook_sql, &st, ctx))) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, owner);
        rc = step_done(s, st, "deleting the webhook", ctx);
    }
    if (!rc && sqlite3_changes(md_store_db(s)) == 0)
        rc = md_fail(ctx, MD_ENOTFOUND, "no webhook %lld", (long long)id);
    if (!rc && !(rc = md_store_stmt(s, log_sql, &st, ctx))) {
        sqlite3_bind_int64(st, 1, id);
        rc = step_done(s, st, "deleting the webhook's deliveries", ctx);
    }
    if (!rc)
        return md_store_commit(s, ctx);
    md_store_rollback(s);
    return rc;
}

md_err md_webhook_deliveries(struct md_store *s, int64_t id, int64_t owner, int limit,
                             int offset_min, json_t **out, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT id, event_id, event_type, status, attempts, last_http_status, last_error,"
        " next_attempt_ms, created_at, updated_at FROM webhook_deliveries"
        " WHERE webhook_id = ? ORDER BY event_id DESC LIMIT ?";
    json_t *hook = NULL, *arr = NULL;
    sqlite3_stmt *st = NULL;
    md_err rc = md_webhook_get(s, id, owner, offset_min, &hook, ctx);
    json_decref(hook);
    if (rc)
        return rc;
    if (!(arr = json_array()))
        return md_fail(ctx, MD_ENOMEM, "deliveries");
    if ((rc = md_store_stmt(s, sql, &st, ctx)))
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, limit);
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        bool pending = strcmp((const char *)sqlite3_column_text(st, 3), "pending") == 0;
        json_t *http = sqlite3_column_type(st, 5) == SQLITE_NULL
                           ? json_null()
                           : json_integer(sqlite3_column_int(st, 5));
        json_t *row = json_pack(
            "{sI sI s:s s:s s:i s:o s:o s:o s:o s:o}", "id",
            (json_int_t)sqlite3_column_int64(st, 0), "event_id",
            (json_int_t)sqlite3_column_int64(st, 1), "event",
            (const char *)sqlite3_column_text(st, 2), "status",
            (const char *)sqlite3_column_text(st, 3), "attempts", sqlite3_column_int(st, 4),
            "last_http_status", http, "last_error", text_or_null(st, 6), "next_attempt_at",
            time_or_null(sqlite3_column_int64(st, 7) / 1000, pending, offset_min), "created_at",
            time_or_null(sqlite3_column_int64(st, 8), true, offset_min), "updated_at",
            time_or_null(sqlite3_column_int64(st, 9), true, offset_min));
        if (json_array_append_new(arr, row))
            rc = md_fail(ctx, MD_ENOMEM, "deliveries");
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "reading the deliveries", ctx);
    sqlite3_reset(st);
out:
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

md_err md_webhook_filters(struct md_store *s, md_webhook_filter_fn fn, void *userdata,
                          struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT id, after_event, coalesce(report_id, 0), coalesce(district_code, ''),"
        " coalesce(categories, ''), coalesce(statuses, '') FROM webhooks WHERE active = 1"
        " ORDER BY id";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_webhook_filter w = {
            .id = sqlite3_column_int64(st, 0),
            .after_event = sqlite3_column_int64(st, 1),
            .report_id = sqlite3_column_int64(st, 2),
            .district = (const char *)sqlite3_column_text(st, 3),
            .categories = (const char *)sqlite3_column_text(st, 4),
            .statuses = (const char *)sqlite3_column_text(st, 5),
        };
        rc = fn(&w, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "reading the webhooks", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_webhook_cursor(struct md_store *s, int64_t *out, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT last_event FROM webhook_cursor WHERE id = 1";
    static const char init_sql[] = "INSERT OR IGNORE INTO webhook_cursor(id, last_event)"
                                   " SELECT 1, coalesce(max(id), 0) FROM events";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (src == SQLITE_ROW)
        return MD_OK;
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "reading the webhook cursor", ctx);
    /* The first time only: a write, so not on every look. */
    if ((rc = md_store_stmt(s, init_sql, &st, ctx)) ||
        (rc = step_done(s, st, "starting the webhook cursor", ctx)))
        return rc;
    return md_store_scalar(s, sql, out, ctx);
}

md_err md_webhook_enqueue(struct md_store *s, const struct md_webhook_match *m, size_t n,
                          int64_t cursor, int64_t now_ms, struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO webhook_deliveries(webhook_id, event_id, event_type,"
        " next_attempt_ms, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)";
    static const char cursor_sql[] = "UPDATE webhook_cursor SET last_event = ? WHERE id = 1";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < n; i++) {
        if ((rc = md_store_stmt(s, sql, &st, ctx)))
            break;
        sqlite3_bind_int64(st, 1, m[i].webhook_id);
        sqlite3_bind_int64(st, 2, m[i].event_id);
        sqlite3_bind_text(st, 3, m[i].event_type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now_ms);
        sqlite3_bind_int64(st, 5, now_ms / 1000);
        sqlite3_bind_int64(st, 6, now_ms / 1000);
        rc = step_done(s, st, "queueing a delivery", ctx);
    }
    if (!rc && !(rc = md_store_stmt(s, cursor_sql, &st, ctx))) {
        sqlite3_bind_int64(st, 1, cursor);
        rc = step_done(s, st, "moving the webhook cursor", ctx);
    }
    if (!rc)
        return md_store_commit(s, ctx);
    md_store_rollback(s);
    return rc;
}

md_err md_webhook_due_list(struct md_store *s, int64_t now_ms, int limit, md_webhook_due_fn fn,
                           void *userdata, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT d.id, d.webhook_id, d.event_id, d.attempts, d.event_type, w.url, w.secret,"
        " e.payload FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
        " JOIN events e ON e.id = d.event_id"
        " WHERE d.status = 'pending' AND d.next_attempt_ms <= ? AND w.active = 1"
        " ORDER BY d.next_attempt_ms, d.id LIMIT ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int(st, 2, limit);
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_webhook_due d = {
            .delivery_id = sqlite3_column_int64(st, 0),
            .webhook_id = sqlite3_column_int64(st, 1),
            .event_id = sqlite3_column_int64(st, 2),
            .attempts = sqlite3_column_int(st, 3),
            .event_type = (const char *)sqlite3_column_text(st, 4),
            .url = (const char *)sqlite3_column_text(st, 5),
            .secret = (const char *)sqlite3_column_text(st, 6),
            .payload = (const char *)sqlite3_column_text(st, 7),
        };
        rc = fn(&d, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "reading the due deliveries", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_webhook_next_due(struct md_store *s, int64_t *out_ms, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT coalesce(min(d.next_attempt_ms), 0) FROM webhook_deliveries d"
                              " JOIN webhooks w ON w.id = d.webhook_id AND w.active = 1"
                              " JOIN events e ON e.id = d.event_id WHERE d.status = 'pending'";
    return md_store_scalar(s, sql, out_ms, ctx);
}

md_err md_webhook_attempted(struct md_store *s, int64_t delivery_id, const char *status,
                            int http_status, const char *error, int64_t next_ms, int64_t now,
                            struct md_ctx *ctx)
{
    static const char sql[] =
        "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,"
        " last_http_status = ?, last_error = ?, next_attempt_ms = ?, updated_at = ?"
        " WHERE id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    if (http_status > 0)
        sqlite3_bind_int(st, 2, http_status);
    else
        sqlite3_bind_null(st, 2);
    bind_opt_text(st, 3, error);
    sqlite3_bind_int64(st, 4, next_ms);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, delivery_id);
    return step_done(s, st, "recording the delivery attempt", ctx);
}
