/* webhook_sign.c - HMAC-SHA256 signatures of webhook deliveries
 * (webhook_sign.h), with OpenSSL's EVP_MAC (HMAC over SHA-256) fed the
 * timestamp, the dot and the body in turn, so the body is not copied. */
#include "webhook_sign.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

md_err md__webhook_sign(const char *secret, int64_t timestamp, const char *body, size_t body_len,
                        char out[MD_WEBHOOK_SIGNATURE_MAX], struct md_ctx *ctx)
{
    char prefix[32];
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    md_err rc = MD_OK;
    snprintf(prefix, sizeof(prefix), "%lld.", (long long)timestamp);
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    EVP_MAC_CTX *mc = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    if (!mc || !EVP_MAC_init(mc, (const unsigned char *)secret, strlen(secret), params) ||
        !EVP_MAC_update(mc, (const unsigned char *)prefix, strlen(prefix)) ||
        !EVP_MAC_update(mc, (const unsigned char *)body, body_len) ||
        !EVP_MAC_final(mc, mac, &mac_len, sizeof(mac)) || mac_len != 32) {
        rc = md_fail(ctx, MD_EINTERNAL, "cannot compute the webhook signature (OpenSSL)");
        goto out;
    }
    memcpy(out, "sha256=", 7);
    for (size_t i = 0; i < mac_len; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
out:
    EVP_MAC_CTX_free(mc);
    EVP_MAC_free(hmac);
    return rc;
}
