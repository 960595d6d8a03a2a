/* md_buf.c - growable byte buffer with a hard cap (see md_buf.h). */
#include "md_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md_buf_init(struct md_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

void md_buf_free(struct md_buf *buf)
{
    if (!buf)
        return;
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void md_buf_reset(struct md_buf *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

md_err md_buf_reserve(struct md_buf *buf, size_t extra)
{
    if (extra > buf->max || buf->len > buf->max - extra)
        return MD_ETOOBIG;
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap)
        return MD_OK;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > buf->max + 1)
        cap = buf->max + 1;
    char *p = realloc(buf->data, cap);
    if (!p)
        return MD_ENOMEM;
    buf->data = p;
    buf->cap = cap;
    return MD_OK;
}

md_err md_buf_append(struct md_buf *buf, const void *bytes, size_t n)
{
    md_err rc = md_buf_reserve(buf, n);
    if (rc)
        return rc;
    if (n)
        memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return MD_OK;
}

md_err md_buf_puts(struct md_buf *buf, const char *s)
{
    return md_buf_append(buf, s, strlen(s));
}

md_err md_buf_putc(struct md_buf *buf, char c)
{
    return md_buf_append(buf, &c, 1);
}

md_err md_buf_printf(struct md_buf *buf, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return MD_EINTERNAL;
    if ((size_t)n < sizeof(small))
        return md_buf_append(buf, small, (size_t)n);
    md_err rc = md_buf_reserve(buf, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return MD_OK;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
 * surrogates or code points above U+10FFFF), 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

md_err md_buf_json_str(struct md_buf *buf, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    md_err rc = md_buf_putc(buf, '"');
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        unsigned char c = *p;
        if (c >= 0x80) { /* JSON text is UTF-8: a byte that is not becomes U+FFFD */
            size_t n = utf8_seq_len(p);
            if (n) {
                rc = md_buf_append(buf, (const char *)p, n);
                p += n - 1;
            } else {
                rc = md_buf_puts(buf, "\\ufffd");
            }
        } else if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = md_buf_append(buf, esc, 2);
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = md_buf_append(buf, esc, 6);
        } else {
            rc = md_buf_putc(buf, (char)c);
        }
    }
    return rc ? rc : md_buf_putc(buf, '"');
}

md_err md_buf_xml_str(struct md_buf *buf, const char *s)
{
    md_err rc = MD_OK;
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        switch (*p) {
        case '<': rc = md_buf_puts(buf, "&lt;"); break;
        case '>': rc = md_buf_puts(buf, "&gt;"); break;
        case '&': rc = md_buf_puts(buf, "&amp;"); break;
        case '"': rc = md_buf_puts(buf, "&quot;"); break;
        case '\'': rc = md_buf_puts(buf, "&apos;"); break;
        default:
            /* XML 1.0 forbids most C0 controls even as references. */
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                rc = md_buf_putc(buf, ' ');
            else
                rc = md_buf_putc(buf, (char)*p);
        }
    }
    return rc;
}

char *md_buf_steal(struct md_buf *buf, size_t *len)
{
    char *p = buf->data;
    if (len)
        *len = buf->len;
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    return p;
}
