/* webhook_sign.h - private to api/: the signature of a webhook delivery.
 *
 * X-Mapd-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp "." body)>
 * where timestamp is the decimal epoch seconds sent as X-Mapd-Timestamp.
 * Signing the timestamp with the body lets a receiver refuse replays of an
 * old delivery (docs/reports.md, "Webhooks"). HMAC from OpenSSL's libcrypto.
 */
#ifndef MD_WEBHOOK_SIGN_H
#define MD_WEBHOOK_SIGN_H

#include "md_err.h"
#include <stddef.h>
#include <stdint.h>

/* "sha256=" + 64 hex digits + NUL */
#define MD_WEBHOOK_SIGNATURE_MAX 72

/* Write the X-Mapd-Signature value of `body` (body_len bytes) sent at
 * `timestamp` under `secret` into out. MD_EINTERNAL when OpenSSL fails. */
md_err md__webhook_sign(const char *secret, int64_t timestamp, const char *body, size_t body_len,
                        char out[MD_WEBHOOK_SIGNATURE_MAX], struct md_ctx *ctx) MD_WUR;

#endif
