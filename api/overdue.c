/* overdue.c - deadlines passing are changes (overdue.h).
 *
 * A tile draws `overdue` (md_workflow_overdue) when it is rendered, and the
 * tile cache keeps tiles until the change log says their area changed, so
 * a deadline that passes without any write would leave the centre's overdue
 * ring stale. This thread wakes once a second and asks the store to touch
 * the reports whose deadline passed since its last look: the touch is a
 * write, so the change-tracking triggers log each report's point, and every
 * cache (tiles at every zoom, clusters, rendered features) drops exactly
 * those reports' entries on the next request, as for any other write.
 *
 * Invariant: every deadline in [started, last) has been touched; `last`
 * moves only after a successful touch, so a failed one is retried.
 */
#include "overdue.h"
#include "md_time.h"
#include "reports.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct md_overdue_timer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    struct md_store *store;
    int64_t last; /* deadlines before this have been touched */
};

static void *timer_main(void *arg)
{
    struct md_overdue_timer *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&t->wake, &t->lock, &until);
        if (t->stop)
            break;
        pthread_mutex_unlock(&t->lock);
        int64_t now = md_time_now();
        int n = 0;
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        if (now > t->last && md_report_touch_overdue(t->store, t->last, now, &n, &ctx) == MD_OK)
            t->last = now;
        else if (now > t->last)
            fprintf(stderr, "mapd: overdue timer: %s (retried)\n", md_ctx_message(&ctx));
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

md_err md__overdue_start(const char *db_path, struct md_overdue_timer **out, struct md_ctx *ctx)
{
    struct md_overdue_timer *t = calloc(1, sizeof(*t));
    *out = NULL;
    if (!t)
        return md_fail(ctx, MD_ENOMEM, "overdue timer");
    md_err rc = md_store_open(db_path, MD_STORE_READWRITE, &t->store, ctx);
    if (rc) {
        free(t);
        return rc;
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    /* Tiles cached before this start do not exist (the caches are in
     * memory): deadlines from now on are the ones to follow. */
    t->last = md_time_now();
    if (pthread_create(&t->thread, NULL, timer_main, t) != 0) {
        md_store_close(t->store);
        pthread_mutex_destroy(&t->lock);
        pthread_cond_destroy(&t->wake);
        free(t);
        return md_fail(ctx, MD_EINTERNAL, "cannot start the overdue timer thread");
    }
    *out = t;
    return MD_OK;
}

void md__overdue_stop(struct md_overdue_timer *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    md_store_close(t->store);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    free(t);
}
