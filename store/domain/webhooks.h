/* webhooks.h - subscriptions of apps and the 12345 hotline system to report
 * events, and the log of their deliveries.
 *
 * A webhook (table webhooks) is a URL, the secret its deliveries are signed
 * with, a filter (report, district, category list, status list: empty =
 * any, the semantics of GET /api/v1/events) and the token that owns it. It
 * gets the events committed after it was created (after_event).
 *
 * A delivery (table webhook_deliveries) is one event for one webhook:
 * pending -> delivered | failed, with the attempt count, the time of the
 * next attempt (epoch milliseconds) and the last HTTP status or error. The
 * events the delivery thread has matched are below the cursor (table
 * webhook_cursor), and the deliveries they made are in the same
 * transaction as the cursor's move, so a restart neither loses nor
 * repeats them; pending deliveries simply resume.
 *
 * Header of the storage seam: no SQLite types. The secret is returned only
 * by md_webhook_due (to sign) - never in JSON.
 */
#ifndef MD_WEBHOOKS_H
#define MD_WEBHOOKS_H

#include "md_err.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct md_store;

#define MD_WEBHOOK_URL_MAX 2000
#define MD_WEBHOOK_SECRET_MAX 200
#define MD_WEBHOOKS_PER_OWNER 100

struct md_webhook_input {
    const char *url;        /* http(s), checked by the caller */
    const char *secret;     /* required */
    int64_t report_id;      /* 0 = any */
    const char *district;   /* NULL or "" = any */
    const char *categories; /* comma list; NULL or "" = any */
    const char *statuses;   /* comma list; NULL or "" = any */
    int64_t owner_token_id;
};

/* Create the webhook tables when the database predates them (IF NOT
 * EXISTS: a no-op otherwise). Needs a read-write connection. */
md_err md_webhook_schema_ensure(struct md_store *s, struct md_ctx *ctx) MD_WUR;

/* Create; *id gets its id. MD_ECONFLICT when the owner already has
 * MD_WEBHOOKS_PER_OWNER webhooks. */
md_err md_webhook_create(struct md_store *s, const struct md_webhook_input *in, int64_t now,
                         int64_t *id, struct md_ctx *ctx) MD_WUR;
/* One webhook as JSON {id, url, report, district, category, status,
 * created_at, active, deliveries {pending, delivered, failed}} (never the
 * secret). owner 0 = any owner; a webhook of another owner is
 * MD_ENOTFOUND, like a missing one. */
md_err md_webhook_get(struct md_store *s, int64_t id, int64_t owner, int offset_min, json_t **out,
                      struct md_ctx *ctx) MD_WUR;
/* The webhooks of `owner` (0 = all), oldest first, as md_webhook_get. */
md_err md_webhook_list(struct md_store *s, int64_t owner, int offset_min, json_t **out,
                       struct md_ctx *ctx) MD_WUR;
/* Delete a webhook and its deliveries (owner as md_webhook_get). */
md_err md_webhook_delete(struct md_store *s, int64_t id, int64_t owner, struct md_ctx *ctx) MD_WUR;
/* The delivery log of a webhook (owner as md_webhook_get), newest first, at
 * most `limit`: [{id, event_id, event, status, attempts, last_http_status,
 * last_error, next_attempt_at, created_at, updated_at}]. */
md_err md_webhook_deliveries(struct md_store *s, int64_t id, int64_t owner, int limit,
                             int offset_min, json_t **out, struct md_ctx *ctx) MD_WUR;

/* ---- the delivery thread's side ---- */

/* An active webhook's filter (strings borrowed for the call). */
struct md_webhook_filter {
    int64_t id, after_event, report_id;
    const char *district, *categories, *statuses; /* "" = any */
};
typedef md_err (*md_webhook_filter_fn)(const struct md_webhook_filter *w, void *userdata);
/* Call fn for every active webhook. */
md_err md_webhook_filters(struct md_store *s, md_webhook_filter_fn fn, void *userdata,
                          struct md_ctx *ctx) MD_WUR;
/* The id of the last event matched (the cursor); the first call on a
 * database makes it the newest event, so history is never delivered. */
md_err md_webhook_cursor(struct md_store *s, int64_t *out, struct md_ctx *ctx) MD_WUR;

/* One delivery to make: webhook `webhook_id` gets event `event_id`. */
struct md_webhook_match {
    int64_t webhook_id, event_id;
    const char *event_type; /* borrowed */
};
/* In one transaction: queue the matches (pending, due at now_ms; a match
 * already queued is skipped) and move the cursor to `cursor`. */
md_err md_webhook_enqueue(struct md_store *s, const struct md_webhook_match *m, size_t n,
                          int64_t cursor, int64_t now_ms, struct md_ctx *ctx) MD_WUR;

/* A pending delivery that is due (strings borrowed for the call). */
struct md_webhook_due {
    int64_t delivery_id, webhook_id, event_id;
    int attempts; /* made so far */
    const char *event_type, *url, *secret;
    const char *payload; /* the event's public payload (events.payload) */
};
typedef md_err (*md_webhook_due_fn)(const struct md_webhook_due *d, void *userdata);
/* Call fn for at most `limit` pending deliveries due at now_ms, earliest
 * first. fn must not use the store (copy what it needs). */
md_err md_webhook_due_list(struct md_store *s, int64_t now_ms, int limit, md_webhook_due_fn fn,
                           void *userdata, struct md_ctx *ctx) MD_WUR;
/* The earliest next_attempt_ms of a pending delivery; 0 when none. */
md_err md_webhook_next_due(struct md_store *s, int64_t *out_ms, struct md_ctx *ctx) MD_WUR;

/* The outcome of one attempt: status "delivered", "failed" (given up) or
 * "pending" (retry at next_ms); http_status 0 = no answer; error NULL =
 * none. The attempt count grows by one. */
md_err md_webhook_attempted(struct md_store *s, int64_t delivery_id, const char *status,
                            int http_status, const char *error, int64_t next_ms, int64_t now,
                            struct md_ctx *ctx) MD_WUR;

#endif
