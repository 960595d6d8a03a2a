/* ingest.c - the group-commit writer (see ingest.h).
 *
 * Ticket life: QUEUED (in the list) -> RUNNING (in the writer's batch) ->
 * DONE. All ticket fields are guarded by g->lock. md_ingest_ticket_free on a
 * QUEUED ticket unlinks it (it is never written); on a RUNNING one marks it
 * abandoned and the writer frees it when the batch is done; on a DONE one
 * frees it. The waker is called with g->lock held, so a thread that sees
 * DONE under the lock knows the wake call is over.
 *
 * Checkpoints stay off the commit path. The writer's connection does not
 * autocheckpoint; its WAL hook asks a checkpointer thread (own connection,
 * lower CPU priority) for a PASSIVE checkpoint each time the WAL has grown by
 * CKPT_STEP_FRAMES, and that runs beside the writer's next batches. A
 * passive checkpoint can copy the WAL back but never rewind it while commits
 * keep arriving, so when the WAL reaches CKPT_HARD_FRAMES the writer itself
 * checkpoints between two batches (only the remainder the checkpointer has
 * not copied yet): its next transaction then starts the WAL from the top.
 * Durability is unchanged: every commit still syncs the WAL (FULL).
 *
 * On a postgresql:// database the same batches run on one libpq
 * connection (BEGIN, a SAVEPOINT per report, COMMIT); there is no WAL of
 * ours to checkpoint, and a ticket is done once the server's COMMIT has
 * returned (synchronous_commit on: flushed to its WAL).
 */
#include "ingest.h"
#include "md_time.h"
#include "store_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define CKPT_STEP_FRAMES 2000 /* a background pass per this many new frames */
#define CKPT_HARD_FRAMES 8000 /* the writer finishes the checkpoint and rewinds */
#define PRUNE_EVERY_S 3600    /* expired Idempotency-Keys deleted at most this often */

enum ticket_state { QUEUED, RUNNING, DONE };

struct md_ingest_ticket {
    struct md_ingest *owner;
    struct md_ingest_ticket *next;
    enum ticket_state state;
    bool abandoned;
    struct md_report_input in; /* strings point into blob, photos into photos */
    char *blob;
    struct md_photo_new photos[MD_PHOTOS_PER_REPORT]; /* bytes in photo_blob */
    unsigned char *photo_blob;
    md_wake_fn wake;
    void *wake_arg;
    md_err err;
    char msg[MD_CTX_MSG_MAX];
    struct md_report_created created;
    bool keyed;                /* key holds an Idempotency-Key to record */
    struct md_idem_new key;    /* render_arg owned by the ticket */
    struct md_idem_answer answer; /* what was recorded (body owned until taken) */
};

struct md_ingest {
    pthread_mutex_t lock;
    pthread_cond_t work;  /* writer waits for tickets */
    pthread_cond_t done;  /* blocking submitters wait for results */
    struct md_ingest_ticket *head, *tail;
    size_t queued, max_queue;
    bool stopping;
    pthread_t thread;
    bool started;
    struct md_store *store;
    int offset_min;
    md_wake_fn on_commit;
    void *on_commit_arg;
    int64_t batches, reports;
    /* checkpoints: ckpt_lock guards ckpt_wanted/ckpt_stopping; ckpt_run is
     * held while either thread checkpoints. wal_frames is written by the
     * writer's WAL hook and read by the writer only. */
    pthread_mutex_t ckpt_lock, ckpt_run;
    pthread_cond_t ckpt_work;
    bool ckpt_wanted, ckpt_stopping, ckpt_started;
    pthread_t ckpt_thread;
    struct md_store *ckpt_store;
    int wal_frames, ckpt_asked_at; /* WAL frames now, at the last request */
    int64_t pruned_at; /* writer only: when expired keys were last deleted */
};

/* Copy the photos' bytes of `in` into one allocation owned by the ticket
 * (a report with more than MD_PHOTOS_PER_REPORT is refused by
 * md_report_insert; only as many are copied). */
static md_err copy_photos(struct md_ingest_ticket *t, const struct md_report_input *in)
{
    size_t n = in->nphotos < MD_PHOTOS_PER_REPORT ? in->nphotos : MD_PHOTOS_PER_REPORT;
    size_t total = 0;
    t->in.photos = NULL;
    if (!n)
        return MD_OK;
    for (size_t i = 0; i < n; i++)
        total += in->photos[i].display_len + in->photos[i].thumb_len;
    t->photo_blob = malloc(total ? total : 1);
    if (!t->photo_blob)
        return MD_ENOMEM;
    unsigned char *p = t->photo_blob;
    for (size_t i = 0; i < n; i++) {
        t->photos[i] = in->photos[i];
        memcpy(p, in->photos[i].display, in->photos[i].display_len);
        t->photos[i].display = p;
        p += in->photos[i].display_len;
        memcpy(p, in->photos[i].thumb, in->photos[i].thumb_len);
        t->photos[i].thumb = p;
        p += in->photos[i].thumb_len;
    }
    t->in.photos = t->photos;
    return MD_OK;
}

/* Copy the strings of `in` into one allocation owned by the ticket. */
static md_err copy_input(struct md_ingest_ticket *t, const struct md_report_input *in)
{
    const char *src[] = {in->kind,        in->service_code,  in->description,   in->address,
                         in->channel,     in->media_urls,    in->attributes,    in->proposed_change,
                         in->contact.name, in->contact.phone, in->contact.email, in->contact.device_id,
                         in->client_addr, in->actor_id};
    enum { N = sizeof(src) / sizeof(src[0]) };
    size_t total = 0;
    for (int i = 0; i < N; i++)
        total += src[i] ? strlen(src[i]) + 1 : 0;
    t->blob = malloc(total ? total : 1);
    if (!t->blob)
        return MD_ENOMEM;
    const char *dst[N];
    char *p = t->blob;
    for (int i = 0; i < N; i++) {
        dst[i] = NULL;
        if (src[i]) {
            size_t n = strlen(src[i]) + 1;
            memcpy(p, src[i], n);
            dst[i] = p;
            p += n;
        }
    }
    t->in = *in;
    t->in.kind = dst[0];
    t->in.service_code = dst[1];
    t->in.description = dst[2];
    t->in.address = dst[3];
    t->in.channel = dst[4];
    t->in.media_urls = dst[5];
    t->in.attributes = dst[6];
    t->in.proposed_change = dst[7];
    t->in.contact.name = dst[8];
    t->in.contact.phone = dst[9];
    t->in.contact.email = dst[10];
    t->in.contact.device_id = dst[11];
    t->in.client_addr = dst[12];
    t->in.actor_id = dst[13];
    return copy_photos(t, in);
}

static void ticket_destroy(struct md_ingest_ticket *t)
{
    if (!t)
        return;
    free(t->blob);
    free(t->photo_blob);
    if (t->keyed && t->key.render_free)
        t->key.render_free(t->key.render_arg);
    free(t->answer.body);
    free(t);
}

/* The writer's WAL hook (inside its COMMIT): remember the WAL size; wake the
 * checkpointer each CKPT_STEP_FRAMES new frames. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct md_ingest *g = arg;
    (void)db;
    (void)name;
    g->wal_frames = frames;
    if (frames < g->ckpt_asked_at) /* the WAL was rewound */
        g->ckpt_asked_at = 0;
    if (frames >= g->ckpt_asked_at + CKPT_STEP_FRAMES && g->ckpt_started) {
        g->ckpt_asked_at = frames;
        pthread_mutex_lock(&g->ckpt_lock);
        g->ckpt_wanted = true;
        pthread_cond_signal(&g->ckpt_work);
        pthread_mutex_unlock(&g->ckpt_lock);
    }
    return SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
    struct md_ingest *g = arg;
    /* Copying pages back can wait; the writer and the requests cannot. */
    MD_IGNORE(setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10));
    pthread_mutex_lock(&g->ckpt_lock);
    for (;;) {
        while (!g->ckpt_wanted && !g->ckpt_stopping)
            pthread_cond_wait(&g->ckpt_work, &g->ckpt_lock);
        if (g->ckpt_stopping)
            break;
        g->ckpt_wanted = false;
        pthread_mutex_unlock(&g->ckpt_lock);
        pthread_mutex_lock(&g->ckpt_run);
        /* Failure (SQLITE_BUSY from another checkpointer) only delays it. */
        sqlite3_wal_checkpoint_v2(md_store_db(g->ckpt_store), NULL, SQLITE_CHECKPOINT_PASSIVE,
                                  NULL, NULL);
        pthread_mutex_unlock(&g->ckpt_run);
        pthread_mutex_lock(&g->ckpt_lock);
    }
    pthread_mutex_unlock(&g->ckpt_lock);
    return NULL;
}

/* Writer thread, between batches: past the hard limit, finish the
 * checkpoint here so that the next transaction rewinds the WAL. */
static void checkpoint_if_full(struct md_ingest *g)
{
    if (g->wal_frames < CKPT_HARD_FRAMES)
        return;
    pthread_mutex_lock(&g->ckpt_run);
    sqlite3_wal_checkpoint_v2(md_store_db(g->store), NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    pthread_mutex_unlock(&g->ckpt_run);
    g->wal_frames = 0;
    g->ckpt_asked_at = 0;
}

/* The Idempotency-Key of ticket t: its 201 rendered and recorded in the
 * report's savepoint. */
static md_err record_key(struct md_ingest *g, struct md_ingest_ticket *t, int64_t now,
                         struct md_ctx *ctx)
{
    free(t->answer.body);
    memset(&t->answer, 0, sizeof(t->answer));
    md_err rc = t->key.render(t->key.render_arg, &t->created, &t->answer);
    if (rc)
        return md_fail(ctx, rc, "rendering the answer to record with the Idempotency-Key");
    return md_idem_put(g->store, &t->key, t->created.id, &t->answer, now, ctx);
}

/* Expired keys deleted inside the batch's transaction, once an hour; a
 * failure only delays it (the read side ignores expired keys). */
static void prune_keys(struct md_ingest *g, int64_t now)
{
    if (now - g->pruned_at < PRUNE_EVERY_S)
        return;
    g->pruned_at = now;
    MD_IGNORE(md__store_exec(g->store, "SAVEPOINT prune", NULL));
    if (md_idem_prune(g->store, now, NULL, NULL))
        MD_IGNORE(md__store_exec(g->store, "ROLLBACK TO prune", NULL));
    MD_IGNORE(md__store_exec(g->store, "RELEASE prune", NULL));
}

/* Write one batch in one transaction; fills each ticket's result. */
static void write_batch(struct md_ingest *g, struct md_ingest_ticket **batch, size_t n)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t now = md_time_now();
    md_err rc = md_store_begin(g->store, &ctx);
    if (!rc)
        prune_keys(g, now);
    for (size_t i = 0; i < n; i++) {
        struct md_ingest_ticket *t = batch[i];
        if (rc) {
            t->err = rc;
            snprintf(t->msg, sizeof(t->msg), "%s", md_ctx_message(&ctx));
            continue;
        }
        struct md_ctx one;
        md_ctx_init(&one);
        t->err = md__store_exec(g->store, "SAVEPOINT report", &one);
        if (!t->err)
            t->err = md_report_insert(g->store, &t->in, now, g->offset_min, &t->created, &one);
        if (!t->err && t->keyed)
            t->err = record_key(g, t, now, &one);
        if (t->err) {
            MD_IGNORE(md__store_exec(g->store, "ROLLBACK TO report; RELEASE report", NULL));
            snprintf(t->msg, sizeof(t->msg), "%s", md_ctx_message(&one));
        } else {
            MD_IGNORE(md__store_exec(g->store, "RELEASE report", NULL));
        }
    }
    if (!rc) {
        rc = md_store_commit(g->store, &ctx);
        /* The consistency token of the batch: a change number at least as
         * new as each of its reports' (read after the commit; a failed read
         * gives none, the 201 goes out without it). */
        int64_t seq = 0;
        struct md_ctx seq_ctx;
        md_ctx_init(&seq_ctx);
        if (!rc && md_store_change_seq(g->store, &seq, &seq_ctx))
            seq = 0;
        for (size_t i = 0; !rc && i < n; i++)
            batch[i]->created.change_seq = seq;
        for (size_t i = 0; rc && i < n; i++) {
            if (!batch[i]->err) {
                batch[i]->err = rc;
                snprintf(batch[i]->msg, sizeof(batch[i]->msg), "%s", md_ctx_message(&ctx));
            }
        }
    }
}

static void *writer_main(void *arg)
{
    struct md_ingest *g = arg;
    struct md_ingest_ticket **batch = calloc(MAX_BATCH, sizeof(*batch));
    pthread_mutex_lock(&g->lock);
    for (;;) {
        while (!g->head && !g->stopping)
            pthread_cond_wait(&g->work, &g->lock);
        if (!g->head)
            break;
        size_t n = 0;
        while (g->head && n < (batch ? MAX_BATCH : 1)) {
            struct md_ingest_ticket *t = g->head;
            g->head = t->next;
            t->next = NULL;
            t->state = RUNNING;
            if (batch)
                batch[n] = t;
            n++;
            g->queued--;
            if (!batch) { /* no memory for a batch: fail this one */
                t->err = MD_ENOMEM;
                snprintf(t->msg, sizeof(t->msg), "out of memory in the report writer");
                t->state = DONE;
                if (t->abandoned)
                    ticket_destroy(t);
                else if (t->wake)
                    t->wake(t->wake_arg);
                n = 0;
            }
        }
        if (!g->head)
            g->tail = NULL;
        if (!n)
            continue;
        pthread_mutex_unlock(&g->lock);
        checkpoint_if_full(g);
        write_batch(g, batch, n);
        size_t ok = 0;
        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < n; i++) {
            struct md_ingest_ticket *t = batch[i];
            ok += t->err == MD_OK;
            t->state = DONE;
            if (t->abandoned)
                ticket_destroy(t);
            else if (t->wake)
                t->wake(t->wake_arg);
        }
        g->batches++;
        g->reports += (int64_t)ok;
        pthread_cond_broadcast(&g->done);
        pthread_mutex_unlock(&g->lock);
        if (ok && g->on_commit)
            g->on_commit(g->on_commit_arg);
        pthread_mutex_lock(&g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    free(batch);
    return NULL;
}

md_err md_ingest_start(const char *db_path, int offset_min, size_t max_queue,
                       md_wake_fn on_commit, void *arg, struct md_ingest **out,
                       struct md_ctx *ctx)
{
    struct md_ingest *g = calloc(1, sizeof(*g));
    if (!g)
        return md_fail(ctx, MD_ENOMEM, "report writer");
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->work, NULL);
    pthread_cond_init(&g->done, NULL);
    pthread_mutex_init(&g->ckpt_lock, NULL);
    pthread_mutex_init(&g->ckpt_run, NULL);
    pthread_cond_init(&g->ckpt_work, NULL);
    g->offset_min = offset_min;
    g->max_queue = max_queue ? max_queue : 100000;
    g->on_commit = on_commit;
    g->on_commit_arg = arg;
    md_err rc = md_store_open(db_path, MD_STORE_READWRITE, &g->store, ctx);
    /* On PostgreSQL the server keeps its WAL: no pragmas, no checkpointer;
     * a batch is durable when its COMMIT returns (synchronous_commit). */
    bool sqlite = !rc && g->store->backend == MD_BACKEND_SQLITE;
    /* Savepoints need statement journals: keep them in memory, not in a temp
     * file opened and unlinked per report. Durability is the WAL's job. */
    if (sqlite)
        rc = md__store_exec(g->store, "PRAGMA temp_store = MEMORY", ctx);
    if (!rc) /* a database made before Idempotency-Key gets its table */
        rc = md_idem_ensure_table(g->store, ctx);
    if (!rc && sqlite) {
        rc = md_store_open(db_path, MD_STORE_READWRITE, &g->ckpt_store, ctx);
        if (!rc)
            rc = md__store_exec(g->store, "PRAGMA wal_autocheckpoint = 0", ctx);
        if (!rc && pthread_create(&g->ckpt_thread, NULL, checkpointer_main, g) != 0)
            rc = md_fail(ctx, MD_EINTERNAL, "cannot start the checkpoint thread");
        if (!rc) {
            g->ckpt_started = true;
            sqlite3_wal_hook(md_store_db(g->store), on_wal_commit, g);
        }
    }
    if (!rc && pthread_create(&g->thread, NULL, writer_main, g) != 0)
        rc = md_fail(ctx, MD_EINTERNAL, "cannot start the report writer thread");
    if (rc) {
        md_ingest_stop(g);
        return rc;
    }
    g->started = true;
    *out = g;
    return MD_OK;
}

void md_ingest_stop(struct md_ingest *g)
{
    if (!g)
        return;
    if (g->started) {
        pthread_mutex_lock(&g->lock);
        g->stopping = true;
        pthread_cond_signal(&g->work);
        pthread_mutex_unlock(&g->lock);
        pthread_join(g->thread, NULL);
    }
    if (g->ckpt_started) {
        pthread_mutex_lock(&g->ckpt_lock);
        g->ckpt_stopping = true;
        pthread_cond_signal(&g->ckpt_work);
        pthread_mutex_unlock(&g->ckpt_lock);
        pthread_join(g->ckpt_thread, NULL);
    }
    md_store_close(g->ckpt_store);
    md_store_close(g->store);
    pthread_cond_destroy(&g->ckpt_work);
    pthread_mutex_destroy(&g->ckpt_run);
    pthread_mutex_destroy(&g->ckpt_lock);
    pthread_cond_destroy(&g->work);
    pthread_cond_destroy(&g->done);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

md_err md_ingest_submit(struct md_ingest *g, const struct md_report_input *in,
                        struct md_ingest_ticket **out, struct md_ctx *ctx)
{
    return md_ingest_submit_keyed(g, in, NULL, out, ctx);
}

md_err md_ingest_submit_keyed(struct md_ingest *g, const struct md_report_input *in,
                              const struct md_idem_new *key, struct md_ingest_ticket **out,
                              struct md_ctx *ctx)
{
    struct md_ingest_ticket *t = calloc(1, sizeof(*t));
    if (t && key) {
        t->keyed = true;
        t->key = *key;
    } else if (key && key->render_free) {
        key->render_free(key->render_arg);
    }
    if (!t || copy_input(t, in)) {
        ticket_destroy(t);
        return md_fail(ctx, MD_ENOMEM, "queueing the report");
    }
    pthread_mutex_lock(&g->lock);
    if (g->stopping || g->queued >= g->max_queue) {
        pthread_mutex_unlock(&g->lock);
        ticket_destroy(t);
        return md_fail(ctx, MD_EBUSY, "the report writer is %s; retry later",
                       g->stopping ? "shutting down" : "overloaded");
    }
    t->owner = g;
    t->state = QUEUED;
    if (g->tail)
        g->tail->next = t;
    else
        g->head = t;
    g->tail = t;
    g->queued++;
    pthread_cond_signal(&g->work);
    pthread_mutex_unlock(&g->lock);
    *out = t;
    return MD_OK;
}

void md_ingest_ticket_set_waker(struct md_ingest_ticket *t, md_wake_fn wake, void *arg)
{
    struct md_ingest *g = t->owner;
    pthread_mutex_lock(&g->lock);
    t->wake = wake;
    t->wake_arg = arg;
    if (t->state == DONE && wake)
        wake(arg);
    pthread_mutex_unlock(&g->lock);
}

bool md_ingest_ticket_done(struct md_ingest_ticket *t, md_err *err, struct md_report_created *out,
                           struct md_ctx *ctx)
{
    struct md_ingest *g = t->owner;
    pthread_mutex_lock(&g->lock);
    bool done = t->state == DONE;
    if (done) {
        *err = t->err;
        if (!t->err && out)
            *out = t->created;
        if (t->err)
            md_fail(ctx, t->err, "%s", t->msg);
    }
    pthread_mutex_unlock(&g->lock);
    return done;
}

bool md_ingest_ticket_answer(struct md_ingest_ticket *t, struct md_idem_answer *out)
{
    struct md_ingest *g = t->owner;
    pthread_mutex_lock(&g->lock);
    bool have = t->state == DONE && !t->err && t->keyed && t->answer.body;
    if (have) {
        *out = t->answer;
        t->answer.body = NULL;
    }
    pthread_mutex_unlock(&g->lock);
    return have;
}

void md_ingest_ticket_free(struct md_ingest_ticket *t)
{
    if (!t)
        return;
    struct md_ingest *g = t->owner;
    pthread_mutex_lock(&g->lock);
    if (t->state == RUNNING) {
        t->abandoned = true; /* the writer frees it */
        t = NULL;
    } else if (t->state == QUEUED) {
        struct md_ingest_ticket **pp = &g->head, *prev = NULL;
        while (*pp && *pp != t) {
            prev = *pp;
            pp = &(*pp)->next;
        }
        if (*pp) {
            *pp = t->next;
            if (g->tail == t)
                g->tail = prev;
            g->queued--;
        }
    }
    pthread_mutex_unlock(&g->lock);
    ticket_destroy(t);
}

md_err md_ingest_create(struct md_ingest *g, const struct md_report_input *in,
                        struct md_report_created *out, struct md_ctx *ctx)
{
    struct md_ingest_ticket *t = NULL;
    md_err rc = md_ingest_submit(g, in, &t, ctx);
    if (rc)
        return rc;
    pthread_mutex_lock(&g->lock);
    while (t->state != DONE)
        pthread_cond_wait(&g->done, &g->lock);
    pthread_mutex_unlock(&g->lock);
    MD_IGNORE(!md_ingest_ticket_done(t, &rc, out, ctx));
    md_ingest_ticket_free(t);
    return rc;
}

void md_ingest_stats(struct md_ingest *g, int64_t *batches, int64_t *reports)
{
    pthread_mutex_lock(&g->lock);
    *batches = g->batches;
    *reports = g->reports;
    pthread_mutex_unlock(&g->lock);
}
