/* idem_key.c - Idempotency-Key: header parser, request fingerprint and the
 * in-flight set (idem_key.h).
 *
 * The in-flight set holds the SHA-256 of scope + key of each claimed key
 * in a small array under a mutex: at most as many entries as creates
 * being queued and written at once, so a linear scan is enough. Across
 * nodes it is the database's unique (scope, key) that decides.
 */
#include "idem_key.h"
#include "md_sha256.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the header's value ---------------------------------------------- */

static bool ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The sf-string at s[0..n) (s[0] == '"'), unescaped into out. */
static md_err parse_quoted(const char *s, size_t n, char out[MD_IDEM_KEY_MAX], struct md_ctx *ctx)
{
    size_t len = 0;
    size_t i = 1;
    for (; i < n && s[i] != '"'; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\\') {
            if (i + 1 >= n || (s[i + 1] != '"' && s[i + 1] != '\\'))
                return md_fail(ctx, MD_EINVAL,
                               "Idempotency-Key: in a quoted key a backslash escapes only"
                               " \" or \\");
            ch = (unsigned char)s[++i];
        } else if (ch < 0x20 || ch > 0x7e) {
            return md_fail(ctx, MD_EINVAL,
                           "Idempotency-Key must be printable ASCII (0x20-0x7e in quotes)");
        }
        if (len >= MD_IDEM_KEY_MAX - 1)
            return md_fail(ctx, MD_EINVAL, "Idempotency-Key is longer than %d characters",
                           MD_IDEM_KEY_MAX - 1);
        out[len++] = (char)ch;
    }
    if (i >= n || i + 1 != n)
        return md_fail(ctx, MD_EINVAL,
                       "Idempotency-Key: a quoted key must end with its closing quote");
    if (!len)
        return md_fail(ctx, MD_EINVAL, "Idempotency-Key must not be empty");
    out[len] = '\0';
    return MD_OK;
}

md_err md_idem_key_parse(const char *value, char out[MD_IDEM_KEY_MAX], struct md_ctx *ctx)
{
    out[0] = '\0';
    if (!value)
        return md_fail(ctx, MD_EINVAL, "Idempotency-Key must not be empty");
    size_t n = strlen(value);
    while (n && ows(value[n - 1]))
        n--;
    while (n && ows(*value)) {
        value++;
        n--;
    }
    if (!n)
        return md_fail(ctx, MD_EINVAL, "Idempotency-Key must not be empty");
    if (value[0] == '"')
        return parse_quoted(value, n, out, ctx);
    if (n > MD_IDEM_KEY_MAX - 1)
        return md_fail(ctx, MD_EINVAL, "Idempotency-Key is longer than %d characters",
                       MD_IDEM_KEY_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch < 0x21 || ch > 0x7e)
            return md_fail(ctx, MD_EINVAL,
                           "Idempotency-Key must be 1-255 printable ASCII characters without"
                           " spaces (or a quoted string)");
    }
    memcpy(out, value, n);
    out[n] = '\0';
    return MD_OK;
}

/* ---- fingerprint ----------------------------------------------------- */

static void put_field(struct md_sha256 *h, const char *s, size_t n)
{
    unsigned char len[8];
    uint64_t v = n;
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(v >> (8 * i));
    md_sha256_update(h, len, sizeof(len));
    if (n)
        md_sha256_update(h, s, n);
}

static void put_str(struct md_sha256 *h, const char *s)
{
    put_field(h, s ? s : "", s ? strlen(s) : 0);
}

void md_idem_fingerprint(const struct md_request *req, char out[MD_SHA256_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    struct md_sha256 h;
    unsigned char d[MD_SHA256_LEN];
    md_sha256_init(&h);
    put_str(&h, req->method);
    put_str(&h, req->path);
    for (size_t i = 0; i < req->nquery; i++) {
        put_str(&h, req->query[i].key);
        put_str(&h, req->query[i].value);
    }
    put_str(&h, md_request_header(req, "Content-Type"));
    put_field(&h, req->body, req->body ? req->body_len : 0);
    md_sha256_final(&h, d);
    for (int i = 0; i < MD_SHA256_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * MD_SHA256_LEN] = '\0';
}

/* ---- in flight ------------------------------------------------------- */

struct md_idem_inflight {
    pthread_mutex_t lock;
    unsigned char (*ids)[MD_SHA256_LEN];
    size_t n, cap;
};

struct md_idem_inflight *md_idem_inflight_new(void)
{
    struct md_idem_inflight *f = calloc(1, sizeof(*f));
    if (f)
        pthread_mutex_init(&f->lock, NULL);
    return f;
}

void md_idem_inflight_free(struct md_idem_inflight *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->lock);
    free(f->ids);
    free(f);
}

static void inflight_id(const char *scope, const char *key, unsigned char out[MD_SHA256_LEN])
{
    struct md_sha256 h;
    md_sha256_init(&h);
    put_str(&h, scope);
    put_str(&h, key);
    md_sha256_final(&h, out);
}

static size_t inflight_find(const struct md_idem_inflight *f, const unsigned char *id)
{
    for (size_t i = 0; i < f->n; i++)
        if (memcmp(f->ids[i], id, MD_SHA256_LEN) == 0)
            return i;
    return f->n;
}

bool md_idem_inflight_claim(struct md_idem_inflight *f, const char *scope, const char *key)
{
    unsigned char id[MD_SHA256_LEN];
    inflight_id(scope, key, id);
    bool ok = false;
    pthread_mutex_lock(&f->lock);
    if (inflight_find(f, id) == f->n) {
        if (f->n == f->cap) {
            size_t cap = f->cap ? 2 * f->cap : 16;
            void *grown = realloc(f->ids, cap * sizeof(*f->ids));
            if (grown) {
                f->ids = grown;
                f->cap = cap;
            }
        }
        if (f->n < f->cap) {
            memcpy(f->ids[f->n++], id, MD_SHA256_LEN);
            ok = true;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return ok;
}

void md_idem_inflight_release(struct md_idem_inflight *f, const char *scope, const char *key)
{
    unsigned char id[MD_SHA256_LEN];
    inflight_id(scope, key, id);
    pthread_mutex_lock(&f->lock);
    size_t i = inflight_find(f, id);
    if (i < f->n)
        memcpy(f->ids[i], f->ids[--f->n], MD_SHA256_LEN);
    pthread_mutex_unlock(&f->lock);
}
