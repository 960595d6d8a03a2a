/* md_text.c - strict parsers for untrusted text (see md_text.h). */
#include "md_text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

md_err md_parse_double(const char *s, const char *what, double *out, struct md_ctx *ctx)
{
    if (!s || !*s)
        return md_fail(ctx, MD_EINVAL, "%s is required", what);
    /* strtod accepts "nan", "inf" and hex floats; mapd wants plain decimals. */
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p))
            return md_fail(ctx, MD_EINVAL, "%s must be a number, got '%.40s'", what, s);
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return md_fail(ctx, MD_EINVAL, "%s must be a finite number, got '%.40s'", what, s);
    *out = v;
    return MD_OK;
}

md_err md_parse_int64(const char *s, const char *what, int64_t min, int64_t max, int64_t *out,
                      struct md_ctx *ctx)
{
    if (!s || !*s)
        return md_fail(ctx, MD_EINVAL, "%s is required", what);
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return md_fail(ctx, MD_EINVAL, "%s must be an integer, got '%.40s'", what, s);
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return md_fail(ctx, MD_EINVAL, "%s must be an integer, got '%.40s'", what, s);
    }
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v < min || v > max)
        return md_fail(ctx, MD_EINVAL, "%s must be between %lld and %lld, got '%.40s'", what,
                       (long long)min, (long long)max, s);
    *out = v;
    return MD_OK;
}

bool md_utf8_valid(const char *bytes, size_t n)
{
    const unsigned char *s = (const unsigned char *)bytes, *end = s + n;
    while (s < end) {
        unsigned c = *s;
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - s) < len)
            return false;
        for (size_t i = 1; i < len; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += len;
    }
    return true;
}

size_t md_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

long md_text_bad_char(const char *s, size_t n, unsigned *cp)
{
    long pos = 0;
    for (size_t i = 0; i < n; pos++) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') {
            *cp = b;
            return pos;
        }
        if (b == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
            ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF)) {
            *cp = 0xFF00u | ((unsigned char)s[i + 2] == 0xBE ? 0xFEu : 0xFFu);
            return pos;
        }
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return -1;
}

md_err md_check_lonlat(double lon, double lat, struct md_ctx *ctx)
{
    if (!isfinite(lon) || lon < -180.0 || lon > 180.0)
        return md_fail(ctx, MD_EINVAL, "longitude %g is outside -180..180", lon);
    if (!isfinite(lat) || lat < -90.0 || lat > 90.0)
        return md_fail(ctx, MD_EINVAL, "latitude %g is outside -90..90", lat);
    return MD_OK;
}
