/* md_multipart.c - multipart/form-data (md_multipart.h).
 *
 * Body grammar (RFC 2046 §5.1.1, as browsers and curl send it):
 *   preamble CRLF? "--" boundary CRLF part ( CRLF "--" boundary CRLF part )*
 *   CRLF "--" boundary "--" epilogue
 *   part = header-lines CRLF data
 * The delimiter is searched as CRLF "--" boundary (the first one may start
 * the body without CRLF), so data may contain any bytes except that
 * sequence. Every index is checked against `len` before it is read.
 */
#include "md_multipart.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool bchar(unsigned char c)
{
    /* RFC 2046 bcharsnospace plus space (not last; checked by the caller). */
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           strchr("'()+_,-./:=? ", c) != NULL;
}

md_err md_multipart_boundary(const char *ct, char out[72], struct md_ctx *ctx)
{
    static const char type[] = "multipart/form-data";
    if (!ct || strncasecmp(ct, type, sizeof(type) - 1) != 0 ||
        (ct[sizeof(type) - 1] != ';' && ct[sizeof(type) - 1] != ' ' && ct[sizeof(type) - 1]))
        return md_fail(ctx, MD_EMEDIA, "the body must be multipart/form-data");
    const char *p = ct + sizeof(type) - 1;
    const char *b = NULL;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) == 0) {
            b = p + 9;
            break;
        }
    }
    if (!b)
        return md_fail(ctx, MD_EINVAL, "multipart/form-data needs a boundary parameter");
    size_t n = 0;
    bool quoted = *b == '"';
    if (quoted)
        b++;
    while (b[n] && (quoted ? b[n] != '"' : (b[n] != ';' && b[n] != ' ' && b[n] != '\t')))
        n++;
    if (quoted && b[n] != '"')
        return md_fail(ctx, MD_EINVAL, "the multipart boundary's quote is not closed");
    if (n < 1 || n > 70 || b[n - 1] == ' ')
        return md_fail(ctx, MD_EINVAL, "the multipart boundary must be 1-70 characters");
    for (size_t i = 0; i < n; i++)
        if (!bchar((unsigned char)b[i]))
            return md_fail(ctx, MD_EINVAL,
                           "the multipart boundary has a character RFC 2046 forbids");
    memcpy(out, b, n);
    out[n] = '\0';
    return MD_OK;
}

/* First index >= from where needle starts, or len. */
static size_t find(const unsigned char *s, size_t len, size_t from, const char *needle, size_t nn)
{
    if (nn == 0 || len < nn)
        return len;
    for (size_t i = from; i + nn <= len; i++) {
        const unsigned char *hit = memchr(s + i, needle[0], len - nn + 1 - i);
        if (!hit)
            return len;
        i = (size_t)(hit - s);
        if (memcmp(hit, needle, nn) == 0)
            return i;
    }
    return len;
}

/* Copy a header parameter value (quoted or token) into out; false if absent
 * or too long. `params` is the header value after its first ';'. */
static bool param(const char *params, size_t plen, const char *key, char *out, size_t n)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i < plen) {
        while (i < plen && (params[i] == ' ' || params[i] == '\t' || params[i] == ';'))
            i++;
        size_t start = i;
        while (i < plen && params[i] != '=' && params[i] != ';')
            i++;
        bool match = i - start == klen && strncasecmp(params + start, key, klen) == 0;
        if (i >= plen || params[i] != '=') {
            continue;
        }
        i++;
        size_t vlen = 0;
        bool quoted = i < plen && params[i] == '"';
        if (quoted)
            i++;
        size_t vstart = i;
        while (i < plen && (quoted ? params[i] != '"' : params[i] != ';')) {
            if (quoted && params[i] == '\\' && i + 1 < plen)
                i++;
            i++;
        }
        vlen = i - vstart;
        if (quoted && i < plen)
            i++;
        if (match) {
            if (vlen >= n)
                return false;
            size_t o = 0;
            for (size_t k = vstart; k < vstart + vlen; k++) {
                if (quoted && params[k] == '\\' && k + 1 < vstart + vlen)
                    k++;
                out[o++] = params[k];
            }
            out[o] = '\0';
            return true;
        }
    }
    return false;
}

/* Parse one part's header block [h, h + hlen) into p. */
static md_err part_headers(const char *h, size_t hlen, struct md_part *p, size_t index,
                           struct md_ctx *ctx)
{
    bool disposition = false;
    size_t i = 0;
    while (i < hlen) {
        size_t eol = i;
        while (eol + 1 < hlen && !(h[eol] == '\r' && h[eol + 1] == '\n'))
            eol++;
        if (eol + 1 >= hlen)
            eol = hlen;
        const char *line = h + i;
        size_t llen = eol - i;
        const char *colon = memchr(line, ':', llen);
        if (!colon)
            return md_fail(ctx, MD_EINVAL, "multipart part %zu: a header line without ':'", index);
        size_t nlen = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vlen = llen - nlen - 1;
        while (vlen && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        if (nlen == 19 && strncasecmp(line, "Content-Disposition", 19) == 0) {
            if (vlen < 9 || strncasecmp(v, "form-data", 9) != 0 ||
                (vlen > 9 && v[9] != ';' && v[9] != ' '))
                return md_fail(ctx, MD_EINVAL,
                               "multipart part %zu: Content-Disposition must be form-data", index);
            const char *params = v + 9;
            size_t plen = vlen - 9;
            if (!param(params, plen, "name", p->name, sizeof(p->name)) || !p->name[0])
                return md_fail(ctx, MD_EINVAL,
                               "multipart part %zu: a name of 1-%d bytes is required", index,
                               MD_MULTIPART_MAX_NAME - 1);
            if (!param(params, plen, "filename", p->filename, sizeof(p->filename)))
                p->filename[0] = '\0';
            disposition = true;
        } else if (nlen == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
            if (vlen >= sizeof(p->content_type))
                return md_fail(ctx, MD_EINVAL, "multipart part %zu: Content-Type is too long",
                               index);
            memcpy(p->content_type, v, vlen);
            p->content_type[vlen] = '\0';
        }
        i = eol + 2;
    }
    if (!disposition)
        return md_fail(ctx, MD_EINVAL, "multipart part %zu has no Content-Disposition", index);
    return MD_OK;
}

md_err md_multipart_parse(const unsigned char *body, size_t len, const char *boundary,
                          struct md_multipart *out, struct md_ctx *ctx)
{
    char delim[80];
    size_t blen = strlen(boundary);
    memset(out, 0, sizeof(*out));
    if (blen < 1 || blen > 70)
        return md_fail(ctx, MD_EINVAL, "the multipart boundary must be 1-70 characters");
    int dl = snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    size_t dlen = (size_t)dl;
    /* The first delimiter may open the body without its CRLF. */
    size_t pos;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
        pos = dlen - 2;
    else if ((pos = find(body, len, 0, delim, dlen)) < len)
        pos += dlen;
    else
        return md_fail(ctx, MD_EINVAL, "the multipart body has no opening boundary");
    for (;;) {
        /* After a delimiter: "--" closes, CRLF opens a part (transport
         * padding of spaces/tabs allowed before it). */
        if (pos + 2 <= len && body[pos] == '-' && body[pos + 1] == '-')
            return MD_OK;
        while (pos < len && (body[pos] == ' ' || body[pos] == '\t'))
            pos++;
        if (pos + 2 > len || body[pos] != '\r' || body[pos + 1] != '\n')
            return md_fail(ctx, MD_EINVAL, "the multipart body is cut short after a boundary");
        pos += 2;
        if (out->nparts == MD_MULTIPART_MAX_PARTS)
            return md_fail(ctx, MD_EINVAL, "a multipart body has at most %d parts",
                           MD_MULTIPART_MAX_PARTS);
        size_t hend = find(body, len, pos, "\r\n\r\n", 4);
        size_t hlen;
        size_t data_at;
        if (pos + 2 <= len && body[pos] == '\r' && body[pos + 1] == '\n') {
            hlen = 0; /* no headers at all */
            data_at = pos + 2;
        } else if (hend < len) {
            hlen = hend - pos;
            data_at = hend + 4;
        } else {
            return md_fail(ctx, MD_EINVAL, "multipart part %zu: headers never end",
                           out->nparts + 1);
        }
        if (hlen > MD_MULTIPART_MAX_HEADER)
            return md_fail(ctx, MD_EINVAL, "multipart part %zu: headers over %d bytes",
                           out->nparts + 1, MD_MULTIPART_MAX_HEADER);
        struct md_part *p = &out->parts[out->nparts];
        md_err rc = part_headers((const char *)body + pos, hlen, p, out->nparts + 1, ctx);
        if (rc)
            return rc;
        size_t end = find(body, len, data_at, delim, dlen);
        if (end >= len)
            return md_fail(ctx, MD_EINVAL, "multipart part %zu is not closed by the boundary",
                           out->nparts + 1);
        p->data = body + data_at;
        p->len = end - data_at;
        out->nparts++;
        pos = end + dlen;
    }
}

const struct md_part *md_multipart_get(const struct md_multipart *m, const char *name)
{
    for (size_t i = 0; i < m->nparts; i++)
        if (strcmp(m->parts[i].name, name) == 0)
            return &m->parts[i];
    return NULL;
}
