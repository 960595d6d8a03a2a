/* md_time.c - epoch <-> ISO 8601 without libc time zones (thread-safe, pure).
 * Civil-date arithmetic follows Howard Hinnant's days_from_civil algorithm. */
#include "md_time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t md_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t md_time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t md_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void md_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

void md_time_format(int64_t t, int offset_min, char out[MD_TIME_STR_MAX])
{
    int64_t local = t + (int64_t)offset_min * 60;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t secs = local - days * 86400;
    int y;
    unsigned m, d;
    md_civil_from_days(days, &y, &m, &d);
    int off = offset_min < 0 ? -offset_min : offset_min;
    if (y >= 0 && y <= 9999 && off < 100 * 60) {
        /* The usual case, without snprintf (API answers print several times
         * per feature): the same text as the formats below. */
        char *p = out;
        int hh = (int)(secs / 3600), mi = (int)(secs / 60 % 60), ss = (int)(secs % 60);
        int f[6] = {y / 100, y % 100, (int)m, (int)d, hh, mi};
        static const char sep[6] = {0, 0, '-', '-', 'T', ':'};
        for (int i = 0; i < 6; i++) {
            if (sep[i])
                *p++ = sep[i];
            *p++ = (char)('0' + f[i] / 10);
            *p++ = (char)('0' + f[i] % 10);
        }
        *p++ = ':';
        *p++ = (char)('0' + ss / 10);
        *p++ = (char)('0' + ss % 10);
        if (offset_min == 0) {
            *p++ = 'Z';
        } else {
            *p++ = offset_min < 0 ? '-' : '+';
            *p++ = (char)('0' + off / 60 / 10);
            *p++ = (char)('0' + off / 60 % 10);
            *p++ = ':';
            *p++ = (char)('0' + off % 60 / 10);
            *p++ = (char)('0' + off % 60 % 10);
        }
        *p = '\0';
        return;
    }
    if (offset_min == 0)
        snprintf(out, MD_TIME_STR_MAX, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    else
        snprintf(out, MD_TIME_STR_MAX, "%04d-%02u-%02uT%02d:%02d:%02d%c%02d:%02d", y, m, d,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                 offset_min < 0 ? '-' : '+', off / 60, off % 60);
}

static int take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

md_err md_time_parse(const char *s, int default_offset_min, int64_t *out, struct md_ctx *ctx)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0, off = default_offset_min;
    if (take_digits(&p, 4, &y) || *p++ != '-' || take_digits(&p, 2, &mo) || *p++ != '-' ||
        take_digits(&p, 2, &d))
        goto bad;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        goto bad;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (take_digits(&p, 2, &h) || *p++ != ':' || take_digits(&p, 2, &mi))
            goto bad;
        if (*p == ':') {
            p++;
            if (take_digits(&p, 2, &se))
                goto bad;
            if (*p == '.') { /* fractional seconds are accepted and dropped */
                p++;
                if (!isdigit((unsigned char)*p))
                    goto bad;
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
        if (h > 23 || mi > 59 || se > 60)
            goto bad;
        if (*p == 'Z' || *p == 'z') {
            off = 0;
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (take_digits(&p, 2, &oh))
                goto bad;
            if (*p == ':')
                p++;
            if (*p && take_digits(&p, 2, &om))
                goto bad;
            if (oh > 14 || om > 59)
                goto bad;
            off = sign * (oh * 60 + om);
        }
    }
    if (*p)
        goto bad;
    *out = md_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se -
           (int64_t)off * 60;
    return MD_OK;
bad:
    return md_fail(ctx, MD_EINVAL, "'%.40s' is not an ISO 8601 date or date-time", s);
}
