/* idempotency.h - Idempotency-Key records (issue 13; the IETF draft
 * draft-ietf-httpapi-idempotency-key-header): what a create answered, kept
 * with the key the client sent, so that a retry replays the answer instead
 * of filing a second report.
 *
 * A record is (scope, key) -> fingerprint of the request, the created
 * report's id, the answer's status, content type and body, and when. It is
 * written by the group-commit writer in the same transaction (savepoint) as
 * the report (ingest.h md_ingest_submit_keyed): a report committed has its
 * key, a report rolled back has none. (scope, key) is the table's primary
 * key, so of two requests with one key only one commits, whatever node
 * took them. Records older than MD_IDEM_TTL_S are never replayed and are
 * deleted by md_idem_prune. Header of the storage seam: no SQLite types.
 */
#ifndef MD_IDEMPOTENCY_H
#define MD_IDEMPOTENCY_H

#include "md_err.h"
#include "md_sha256.h"
#include <stdint.h>

#define MD_IDEM_KEY_MAX 256   /* 1..255 characters + NUL */
#define MD_IDEM_SCOPE_MAX 400 /* endpoint path + caller */
#define MD_IDEM_TTL_S 86400   /* keys are kept 24 h */
#define MD_IDEM_CTYPE_MAX 64

struct md_store;
struct md_report_created;

/* An answer as sent: status, Content-Type, body (malloc'd, NUL-ended). */
struct md_idem_answer {
    int status;
    char content_type[MD_IDEM_CTYPE_MAX];
    char *body;
};

/* Renders the 201 of a report just inserted (on the writer's thread,
 * inside its transaction); MD_OK with out filled, or an error. */
typedef md_err (*md_idem_render_fn)(const void *arg, const struct md_report_created *cr,
                                    struct md_idem_answer *out);

/* A key to record with a new report. */
struct md_idem_new {
    char scope[MD_IDEM_SCOPE_MAX];
    char key[MD_IDEM_KEY_MAX];
    char fingerprint[MD_SHA256_HEX_LEN];
    md_idem_render_fn render;
    void *render_arg;                  /* see md_ingest_submit_keyed for who frees it */
    void (*render_free)(void *arg);    /* may be NULL */
};

/* A record read back. */
struct md_idem_row {
    char fingerprint[MD_SHA256_HEX_LEN];
    int64_t report_id;
    int64_t created_at;
    struct md_idem_answer answer;
};

/* The record of (scope, key) made after now - MD_IDEM_TTL_S; MD_ENOTFOUND
 * when there is none (or only an expired one). Clear *out with
 * md_idem_row_clear after MD_OK. */
md_err md_idem_get(struct md_store *s, const char *scope, const char *key, int64_t now,
                   struct md_idem_row *out, struct md_ctx *ctx) MD_WUR;
void md_idem_row_clear(struct md_idem_row *row);

/* Record k for report `report_id` answered `a`, inside the caller's
 * transaction. An expired record of the same (scope, key) is replaced;
 * MD_ECONFLICT when a live one exists (the unique key decides). */
md_err md_idem_put(struct md_store *s, const struct md_idem_new *k, int64_t report_id,
                   const struct md_idem_answer *a, int64_t now, struct md_ctx *ctx) MD_WUR;

/* Delete the records made before now - MD_IDEM_TTL_S (*deleted may be
 * NULL). Inside the caller's transaction or alone. */
md_err md_idem_prune(struct md_store *s, int64_t now, int64_t *deleted, struct md_ctx *ctx) MD_WUR;

/* Make the table if the database predates it (IF NOT EXISTS; the writer
 * calls it at start, so `serve` on an older file works). */
md_err md_idem_ensure_table(struct md_store *s, struct md_ctx *ctx) MD_WUR;

#endif
