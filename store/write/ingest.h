/* ingest.h - durable report creation with group commit (SPEC §9).
 *
 * One writer thread owns its own connection (WAL, synchronous=FULL). Request
 * threads queue validated reports; the writer takes everything queued, writes
 * each inside a savepoint of one transaction and commits once, so one fsync
 * covers the whole batch. A ticket is marked done only after COMMIT
 * returned: whoever answers 201 after md_ingest_ticket_done() is answering
 * for a report that is on disk. A report that fails alone (a constraint)
 * is rolled back to its savepoint and fails alone; a failed COMMIT fails
 * the whole batch and nothing of it is visible.
 */
#ifndef MD_INGEST_H
#define MD_INGEST_H

#include "idempotency.h"
#include "reports.h"

struct md_ingest;
struct md_ingest_ticket;

typedef void (*md_wake_fn)(void *arg);

/* Start the writer on `db_path`. `on_commit(arg)` (may be NULL) runs on the
 * writer thread after each committed batch (e.g. to wake event streams).
 * `max_queue` bounds the queued reports (MD_EBUSY beyond). Caller stops
 * with md_ingest_stop(). */
md_err md_ingest_start(const char *db_path, int offset_min, size_t max_queue,
                       md_wake_fn on_commit, void *arg, struct md_ingest **out,
                       struct md_ctx *ctx) MD_WUR;
/* Finish every queued report, stop the thread, close; accepts NULL. */
void md_ingest_stop(struct md_ingest *g);

/* Queue a copy of `in` (its strings and its photos' bytes; nothing of `in` is
 * kept), written with its photos in one savepoint. The ticket belongs to the
 * caller, who frees it with md_ingest_ticket_free() at any time (a ticket
 * freed before it is done is still written; its result is dropped). */
md_err md_ingest_submit(struct md_ingest *g, const struct md_report_input *in,
                        struct md_ingest_ticket **out, struct md_ctx *ctx) MD_WUR;
/* The same with an Idempotency-Key: inside the report's savepoint the
 * writer calls key->render for the 201 and records it with the key
 * (md_idem_put); a live record of the key fails the ticket with
 * MD_ECONFLICT and nothing of it is written. key->render_arg is the
 * ingest's from this call on, whatever it returns (freed with
 * key->render_free once the ticket is gone). The writer also deletes
 * expired keys, at most once an hour, in a batch's transaction. */
md_err md_ingest_submit_keyed(struct md_ingest *g, const struct md_report_input *in,
                              const struct md_idem_new *key, struct md_ingest_ticket **out,
                              struct md_ctx *ctx) MD_WUR;
/* Once a keyed ticket is done with MD_OK: move the answer the writer
 * recorded into *out (caller frees out->body) and return true; false
 * otherwise (no key, not done, failed, or already taken). */
bool md_ingest_ticket_answer(struct md_ingest_ticket *t, struct md_idem_answer *out);
/* Call wake(arg) from the writer thread once the ticket is done (at once if
 * it already is). wake must not call back into the ingest. */
void md_ingest_ticket_set_waker(struct md_ingest_ticket *t, md_wake_fn wake, void *arg);
/* True when the ticket is done; then *err is its result, *out filled on
 * MD_OK, and ctx (may be NULL) receives the failure's message. */
bool md_ingest_ticket_done(struct md_ingest_ticket *t, md_err *err, struct md_report_created *out,
                           struct md_ctx *ctx);
void md_ingest_ticket_free(struct md_ingest_ticket *t);

/* Submit and wait (for callers that may block: CLI, tests). */
md_err md_ingest_create(struct md_ingest *g, const struct md_report_input *in,
                        struct md_report_created *out, struct md_ctx *ctx) MD_WUR;

/* Counters for metrics: batches committed and reports written. */
void md_ingest_stats(struct md_ingest *g, int64_t *batches, int64_t *reports);

#endif
