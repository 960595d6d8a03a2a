/* ratelimit.c - token buckets in a fixed open-addressed table (see ratelimit.h). */
#include "ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096 /* power of two */
#define PROBES 8

struct bucket {
    char client[48]; /* "" = free */
    double tokens;
    int64_t last_us;
};

struct md_ratelimit {
    pthread_mutex_t lock;
    double per_us; /* tokens per microsecond */
    double burst;
    struct bucket buckets[NBUCKETS];
};

struct md_ratelimit *md_ratelimit_new(int per_minute)
{
    struct md_ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->lock, NULL);
    rl->burst = per_minute > 0 ? per_minute : 0;
    rl->per_us = per_minute > 0 ? per_minute / 60e6 : 0;
    return rl;
}

void md_ratelimit_free(struct md_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

bool md_ratelimit_take(struct md_ratelimit *rl, const char *client, int64_t now_us,
                       int *retry_after_s)
{
    if (!rl || rl->burst <= 0)
        return true;
    char key[48];
    snprintf(key, sizeof(key), "%s", client ? client : "");
    uint32_t h = hash(key);
    pthread_mutex_lock(&rl->lock);
    struct bucket *b = NULL, *oldest = NULL;
    for (int i = 0; i < PROBES && !b; i++) {
        struct bucket *c = &rl->buckets[(h + (uint32_t)i) & (NBUCKETS - 1)];
        if (strcmp(c->client, key) == 0)
            b = c;
        else if (!oldest || c->last_us < oldest->last_us || !c->client[0])
            oldest = oldest && !oldest->client[0] ? oldest : c;
    }
    if (!b) { /* new client: a full bucket in the stalest slot */
        b = oldest;
        snprintf(b->client, sizeof(b->client), "%s", key);
        b->tokens = rl->burst;
        b->last_us = now_us;
    }
    b->tokens += (double)(now_us - b->last_us) * rl->per_us;
    if (b->tokens > rl->burst)
        b->tokens = rl->burst;
    b->last_us = now_us;
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else if (retry_after_s)
        *retry_after_s = 1 + (int)((1.0 - b->tokens) / rl->per_us / 1e6);
    pthread_mutex_unlock(&rl->lock);
    return ok;
}
