/* md_sha256.h - SHA-256 (FIPS 180-4) and a constant-time compare.
 *
 * Used to store API tokens as hashes: the database keeps only the SHA-256
 * of a token, so a copy of the file does not give anyone a working token.
 */
#ifndef MD_SHA256_H
#define MD_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MD_SHA256_LEN 32
#define MD_SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

struct md_sha256 {
    uint32_t h[8];
    uint64_t total; /* bytes hashed so far */
    unsigned char block[64];
    size_t used; /* bytes waiting in block */
};

void md_sha256_init(struct md_sha256 *c);
void md_sha256_update(struct md_sha256 *c, const void *bytes, size_t n);
void md_sha256_final(struct md_sha256 *c, unsigned char out[MD_SHA256_LEN]);
/* One-shot: lowercase hex digest of bytes[0..n) into out. */
void md_sha256_hex(const void *bytes, size_t n, char out[MD_SHA256_HEX_LEN]);
/* True when a[0..n) == b[0..n); the time taken does not depend on where
 * the inputs differ. */
bool md_ct_equal(const void *a, const void *b, size_t n);

#endif
