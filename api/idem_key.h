/* idem_key.h - the HTTP side of Idempotency-Key (issue 13; IETF
 * draft-ietf-httpapi-idempotency-key-header): the header's value parsed,
 * a request's fingerprint, and the keys of this process's creates still in
 * flight. The records themselves are the store's (idempotency.h).
 */
#ifndef MD_IDEM_KEY_H
#define MD_IDEM_KEY_H

#include "api.h"
#include "idempotency.h"
#include "md_err.h"
#include <stdbool.h>

/* The header's value: optional whitespace around either a bare key of
 * 1..255 printable ASCII characters without spaces (0x21-0x7e), or an
 * sf-string (RFC 8941: "..." of 0x20-0x7e with \" and \\ escapes) whose
 * unescaped text is 1..255 such characters (spaces allowed). The key into
 * out; MD_EINVAL with a message naming the header otherwise. */
md_err md_idem_key_parse(const char *value, char out[MD_IDEM_KEY_MAX], struct md_ctx *ctx) MD_WUR;

/* SHA-256 hex of what makes a request the same request: method, path,
 * query (names and values in order), Content-Type and body, each
 * length-prefixed. */
void md_idem_fingerprint(const struct md_request *req, char out[MD_SHA256_HEX_LEN]);

/* Keys of creates queued but not yet answered, in this process. */
struct md_idem_inflight;
struct md_idem_inflight *md_idem_inflight_new(void);
void md_idem_inflight_free(struct md_idem_inflight *f);
/* Claim (scope, key): false when it is already claimed (or no memory). */
bool md_idem_inflight_claim(struct md_idem_inflight *f, const char *scope, const char *key);
/* Give back a claim made by md_idem_inflight_claim. */
void md_idem_inflight_release(struct md_idem_inflight *f, const char *scope, const char *key);

#endif
