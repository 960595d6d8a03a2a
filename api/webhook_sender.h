/* webhook_sender.h - private to api/: the thread that delivers report events
 * to webhooks (webhook_sender.c); the routes that manage them are webhooks_api.c's. */
#ifndef MD_WEBHOOKS_SENDER_H
#define MD_WEBHOOKS_SENDER_H

#include "md_err.h"
#include <stdint.h>

struct md_webhook_sender;

/* Retry schedule: attempt k (1-based) that fails is retried after
 * base_ms * 2^(k-1), at most MD_WEBHOOK_BACKOFF_CAP_MS; after max_attempts
 * (default MD_WEBHOOK_MAX_ATTEMPTS) attempts the delivery is failed. */
#define MD_WEBHOOK_MAX_ATTEMPTS 16
#define MD_WEBHOOK_BACKOFF_CAP_MS ((int64_t)3600 * 1000)

/* The delay after failed attempt number `attempt` (1-based). */
int64_t md__webhook_backoff_ms(unsigned base_ms, int attempt);

/* Start delivering on its own read-write connection to db_path (creating
 * the webhook tables if the database predates them); base_ms 0 = 1000,
 * max_attempts 0 = MD_WEBHOOK_MAX_ATTEMPTS. *out owned by the caller
 * (md__webhooks_stop). */
md_err md__webhooks_start(const char *db_path, unsigned base_ms, unsigned max_attempts,
                          struct md_webhook_sender **out, struct md_ctx *ctx) MD_WUR;
/* Stop promptly (a transfer under way is cut off and stays pending), join
 * and free; accepts NULL. */
void md__webhooks_stop(struct md_webhook_sender *t);

#endif
