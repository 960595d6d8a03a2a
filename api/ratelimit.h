/* ratelimit.h - private to api/: per-client token buckets for writes.
 *
 * A fixed table of buckets keyed by client address (no growth from input:
 * when the table is full the least recently used bucket of a probe window
 * is reused). Each bucket refills at `per_minute` tokens a minute up to a
 * burst of `per_minute`. Thread-safe.
 */
#ifndef MD_RATELIMIT_H
#define MD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct md_ratelimit;

/* per_minute <= 0 disables limiting (every take succeeds). Caller frees. */
struct md_ratelimit *md_ratelimit_new(int per_minute);
void md_ratelimit_free(struct md_ratelimit *rl);
/* Take one token for `client` at monotonic time now_us. false when none is
 * left; *retry_after_s (>= 1) says when the next one comes. */
bool md_ratelimit_take(struct md_ratelimit *rl, const char *client, int64_t now_us,
                       int *retry_after_s);

#endif
