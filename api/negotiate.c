/* negotiate.c - gzip and validators of in-memory answers (see negotiate.h).
 *
 * Order of the steps in md_negotiate_response, and why:
 *   1. skip what is not ours: files, streams, deferred answers, bodies that
 *      already have a Content-Encoding, 204/304;
 *   2. decide the coding: a compressible type above the threshold varies
 *      by Accept-Encoding (so Vary is sent whether or not this client gets
 *      gzip), and is gzip'd when the client accepts it;
 *   3. validators come from the identity bytes, so one representation has
 *      one ETag whatever the deflate level; the gzip'd representation is a
 *      different one and gets its own tag (suffix -gz), as strong ETags
 *      must differ between representations;
 *   4. a matching If-None-Match turns the answer into a 304 with the
 *      validator and Vary but no body - before any compression work.
 */
#include "negotiate.h"
#include "md_sha256.h"
#include "tile_gzip.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Above this a body is deflated at level 1: large GeoJSON/CSV answers would
 * otherwise spend tens of milliseconds at level 6 for a few percent. */
#define GZIP_FAST_ABOVE_BYTES ((size_t)1 << 20)
#define ETAG_HEX_CHARS 32 /* 128 bits of the SHA-256 */

/* ---- Accept-Encoding ------------------------------------------------------ */

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* qvalue = "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ], in thousandths;
 * -1 when malformed. `p` points after "q=", `end` at the element's end. */
static int parse_qvalue(const char *p, const char *end)
{
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (p >= end || (*p != '0' && *p != '1'))
        return -1;
    int whole = *p - '0', frac = 0, digits = 0;
    p++;
    if (p < end) {
        if (*p != '.')
            return -1;
        for (p++; p < end; p++, digits++) {
            if (digits == 3 || !isdigit((unsigned char)*p))
                return -1;
            frac = frac * 10 + (*p - '0');
        }
    }
    while (digits++ < 3)
        frac *= 10;
    if (whole == 1 && frac != 0)
        return -1;
    return whole * 1000 + frac;
}

/* One element "coding *( OWS ; OWS param )" between p and end: its coding
 * (bounds) and q (thousandths, 1000 when absent, -1 when malformed). */
static void parse_coding(const char *p, const char *end, const char **name, size_t *name_len,
                         int *q)
{
    p = skip_ows(p);
    const char *n = p;
    while (p < end && *p != ';' && *p != ' ' && *p != '\t')
        p++;
    *name = n;
    *name_len = (size_t)(p - n);
    *q = 1000;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            break;
        const char *param = skip_ows(semi + 1);
        const char *next = memchr(param, ';', (size_t)(end - param));
        const char *pend = next ? next : end;
        if (pend - param >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
            *q = parse_qvalue(param + 2, pend);
        p = pend;
    }
}

static bool coding_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

bool md_negotiate_accepts_gzip(const char *accept_encoding)
{
    int gzip_q = -2, star_q = -2; /* -2: not listed */
    if (!accept_encoding)
        return false;
    for (const char *p = accept_encoding; *p;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *name;
        size_t len;
        int q;
        parse_coding(p, end, &name, &len, &q);
        if (coding_is(name, len, "gzip") || coding_is(name, len, "x-gzip"))
            gzip_q = q > gzip_q ? q : gzip_q;
        else if (coding_is(name, len, "*"))
            star_q = q > star_q ? q : star_q;
        p = comma ? comma + 1 : end;
    }
    return gzip_q != -2 ? gzip_q > 0 : star_q > 0;
}

/* ---- If-None-Match -------------------------------------------------------- */

/* The opaque part of an entity-tag: the quoted string after any W/. */
static const char *opaque_tag(const char *tag)
{
    return strncmp(tag, "W/", 2) == 0 ? tag + 2 : tag;
}

bool md_negotiate_etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match || !etag)
        return false;
    const char *want = opaque_tag(etag);
    size_t want_len = strlen(want);
    const char *p = skip_ows(if_none_match);
    if (*p == '*')
        return *skip_ows(p + 1) == '\0';
    while (*p) {
        p = skip_ows(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"')
            return false; /* malformed list: no match */
        const char *close = strchr(p + 1, '"');
        if (!close)
            return false;
        size_t len = (size_t)(close - p) + 1;
        if (len == want_len && memcmp(p, want, len) == 0)
            return true;
        p = skip_ows(close + 1);
        if (*p && *p != ',')
            return false;
    }
    return false;
}

/* ---- the answer ----------------------------------------------------------- */

/* JSON (any +json too), GeoJSON, CSV, XML and HTML answers are worth compressing. */
static bool compressible(const char *content_type)
{
    if (!content_type)
        return false;
    size_t n = strcspn(content_type, "; \t");
    static const char *const exact[] = {"application/json", "text/csv", "application/xml",
                                        "text/xml", "text/html"};
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        if (coding_is(content_type, n, exact[i]))
            return true;
    }
    return n > 17 && strncasecmp(content_type, "application/", 12) == 0 &&
           (strncasecmp(content_type + n - 5, "+json", 5) == 0 ||
            strncasecmp(content_type + n - 4, "+xml", 4) == 0);
}

static bool has_header(const struct md_response *res, const char *name)
{
    for (size_t i = 0; i < res->nheaders; i++) {
        if (strcasecmp(res->headers[i].key, name) == 0)
            return true;
    }
    return false;
}

/* Replace the body by its gzip; false (body unchanged) when that fails or
 * does not make it smaller. */
static bool gzip_body(struct md_response *res)
{
    struct md_buf gz;
    md_buf_init(&gz, res->body.len);
    int level = res->body.len > GZIP_FAST_ABOVE_BYTES ? 1 : 6;
    if (md_gzip(res->body.data, res->body.len, level, &gz) != MD_OK || gz.len >= res->body.len) {
        md_buf_free(&gz);
        return false;
    }
    gz.max = res->body.max;
    md_buf_free(&res->body);
    res->body = gz;
    return true;
}

/* `"<hex>"` or `"<hex>-gz"` of the identity body, into out. */
static void body_etag(const struct md_buf *body, bool gz, char out[ETAG_HEX_CHARS + 8])
{
    char hex[MD_SHA256_HEX_LEN];
    md_sha256_hex(body->data ? body->data : "", body->len, hex);
    snprintf(out, ETAG_HEX_CHARS + 8, "\"%.*s%s\"", ETAG_HEX_CHARS, hex, gz ? "-gz" : "");
}

void md_negotiate_response(const struct md_request *req, struct md_response *res, bool validate)
{
    if (res->has_file || res->stream.next || res->deferred.poll || res->status == 204 ||
        res->status == 304 || has_header(res, "Content-Encoding"))
        return;
    bool varies = res->body.len >= MD_NEGOTIATE_GZIP_MIN_BYTES && compressible(res->content_type);
    bool gz = varies && md_negotiate_accepts_gzip(md_request_header(req, "Accept-Encoding"));
    /* Room for Vary, ETag and Content-Encoding; without it the answer goes
     * out as it is (with Vary when that still fits). */
    if (res->nheaders + 3 > MD_RESPONSE_MAX_HEADERS)
        gz = validate = false;
    if (varies && md_response_header(res, NULL, "Vary", "Accept-Encoding"))
        return;
    validate = validate && res->status == 200 && res->body.len > 0 && !has_header(res, "ETag");
    char etag[ETAG_HEX_CHARS + 8] = "";
    if (validate) {
        /* The tag this client would get. gzip is deterministic, so a client
         * holding the -gz tag got these very bytes compressed before. */
        body_etag(&res->body, gz, etag);
        if (md_negotiate_etag_matches(md_request_header(req, "If-None-Match"), etag)) {
            MD_IGNORE(md_response_header(res, req->pool, "ETag", etag));
            res->status = 304;
            res->content_type = NULL;
            md_buf_reset(&res->body);
            return;
        }
    }
    if (gz && !gzip_body(res)) {
        gz = false;
        if (validate)
            body_etag(&res->body, false, etag);
    }
    if (gz)
        MD_IGNORE(md_response_header(res, NULL, "Content-Encoding", "gzip"));
    if (validate)
        MD_IGNORE(md_response_header(res, req->pool, "ETag", etag));
}
