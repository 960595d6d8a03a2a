/* fuzz_negotiate.c - libFuzzer target for api/negotiate.c's header parsers
 * (Accept-Encoding, If-None-Match) and the answer they shape. Input: three
 * lines - an Accept-Encoding value, an If-None-Match value, then the body
 * of a JSON answer. Checks: the parsers agree with themselves (a tag always
 * matches a list holding it; "identity" alone never accepts gzip), a 304
 * has no body, and a gzip'd answer inflates back to the input body.
 */
#include "negotiate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *take_line(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    const uint8_t *stop = nl ? nl : end;
    size_t n = (size_t)(stop - *p);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = nl ? nl + 1 : end;
    return s;
}

static const char *header(const struct md_response *res, const char *name)
{
    for (size_t i = 0; i < res->nheaders; i++) {
        if (strcmp(res->headers[i].key, name) == 0)
            return res->headers[i].value;
    }
    return NULL;
}

/* The gzip'd body must inflate to exactly `want`. */
static void check_inflates(const struct md_buf *gz, const char *want, size_t want_len)
{
    unsigned char *out = malloc(want_len + 1);
    z_stream zs = {0};
    if (!out || inflateInit2(&zs, 15 + 16) != Z_OK)
        abort();
    zs.next_in = (Bytef *)gz->data;
    zs.avail_in = (uInt)gz->len;
    zs.next_out = out;
    zs.avail_out = (uInt)want_len + 1;
    int zrc = inflate(&zs, Z_FINISH);
    if (zrc != Z_STREAM_END || zs.total_out != want_len || memcmp(out, want, want_len) != 0)
        __builtin_trap();
    inflateEnd(&zs);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *ae = take_line(&p, end), *inm = take_line(&p, end);
    size_t body_len = (size_t)(end - p);
    struct md_pool *pool = md_pool_new(1 << 20);
    if (!pool)
        abort();
    (void)md_negotiate_accepts_gzip(ae);
    if (md_negotiate_accepts_gzip("identity") || !md_negotiate_accepts_gzip("gzip"))
        __builtin_trap();
    (void)md_negotiate_etag_matches(inm, "\"abc\"");
    (void)md_negotiate_etag_matches("\"abc\"", inm);

    struct md_kv headers[] = {{"Accept-Encoding", ae}, {"If-None-Match", inm}};
    struct md_request req = {
        .method = "GET", .path = "/tiles", .headers = headers, .nheaders = 2, .pool = pool};
    struct md_response res;
    md_response_init(&res);
    if (md_buf_append(&res.body, p, body_len) != MD_OK)
        abort();
    md_negotiate_response(&req, &res, true);
    const char *etag = header(&res, "ETag");
    if (etag && !md_negotiate_etag_matches(etag, etag))
        __builtin_trap();
    if (res.status == 304 && res.body.len != 0)
        __builtin_trap();
    if (header(&res, "Content-Encoding"))
        check_inflates(&res.body, (const char *)p, body_len);
    md_response_free(&res);
    md_pool_free(pool);
    free(ae);
    free(inm);
    return 0;
}
