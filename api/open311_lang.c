/* open311_lang.c - locale and Accept-Language, Chinese error texts and
 * bilingual halves for Open311 (see open311_lang.h).
 *
 * Translations are a table of English patterns, '*' standing for any text
 * (a code, a number, a parameter's name), and the Chinese text with %1..%4
 * for what each '*' matched. The first pattern that matches the whole
 * message wins, so the specific ones come before the general ones
 * ("attribute * is required for category *" before "* is required"). A
 * message without a pattern stays English (and the answer says so in
 * Content-Language).
 */
#include "open311_lang.h"

#include <stdio.h>
#include <string.h>

#define MAX_TAG 35
#define MAX_RANGES 32
#define MAX_CAPS 4

struct translation {
    const char *en, *zh;
};

/* clang-format off */
static const struct translation translations[] = {
    /* api_key and scope */
    {"api_key is required to submit a request", "提交服务请求需要 api_key"},
    {"api_key is not valid", "api_key 无效"},
    {"this token lacks the scope *", "该 api_key 没有 %1 权限"},
    /* service codes */
    {"category '*' is not a known service code (see /api/v1/categories)",
     "'%1' 不是已知的服务代码（见 /api/v1/categories）"},
    {"unknown category '*'", "未知的服务代码 '%1'"},
    {"service_code must be a 6-digit code", "service_code 必须是 6 位数字代码"},
    {"attribute * is required for category *", "服务代码 %2 需要属性 %1"},
    {"attribute * must be one of its keys, got '*'", "属性 %1 必须是其取值之一，收到 '%2'"},
    {"attribute * has a value that is not one of its keys", "属性 %1 有不在其取值中的值"},
    {"attribute * must be a number", "属性 %1 必须是数字"},
    {"attribute * must be a string", "属性 %1 必须是字符串"},
    {"category * has no attribute '*'", "服务代码 %1 没有属性 '%2'"},
    /* where */
    {"the point * is outside every district this server covers",
     "坐标点 %1 不在本服务器覆盖的任何区内"},
    {"lat and long are required", "lat 和 long 为必填项"},
    {"no facility, district or street named '*': * facilities have this name or address;"
     " give lat and long",
     "没有名为 '%1' 的唯一设施、区或街道：有 %2 个设施同名或同地址；请提供 lat 和 long"},
    {"no facility, district or street named '*': a street of this name lies in * districts;"
     " give lat and long",
     "没有名为 '%1' 的唯一设施、区或街道：该名称的街道位于 %2 个区；请提供 lat 和 long"},
    {"no facility, district or street named '*'; give lat and long",
     "没有名为 '%1' 的设施、区或街道；请提供 lat 和 long"},
    {"* is outside -90..90", "%1 超出 -90..90 范围"},
    {"* is outside -180..180", "%1 超出 -180..180 范围"},
    {"radius must be between 0 and 50000 metres", "radius 必须在 0 到 50000 米之间"},
    /* rate limits */
    {"too many reports from *; at most * a minute, retry in * s",
     "来自 %1 的提交过多：每分钟最多 %2 条，请 %3 秒后重试"},
    {"too many requests from *; retry in * s", "来自 %1 的请求过多，请 %2 秒后重试"},
    /* not found */
    {"no service request has this token", "没有与该 token 对应的服务请求"},
    {"report * does not exist", "服务请求 %1 不存在"},
    {"no report has this token", "没有与该 token 对应的服务请求"},
    {"this key's quota of * requests per day is used up", "该 api_key 每天 %1 次请求的配额已用完"},
    {"no service request *", "没有服务请求 %1"},
    {"no such Open311 resource: *", "没有这个 Open311 资源：%1"},
    {"no such Open311 resource", "没有这个 Open311 资源"},
    {"Open311 resources end in .json or .xml: *", "Open311 资源须以 .json 或 .xml 结尾：%1"},
    {"only requests takes POST", "只有 requests 接受 POST"},
    /* the form and parameters */
    {"POST requests takes application/x-www-form-urlencoded fields (or multipart/form-data with a file `media`)",
     "POST 请求须以 application/x-www-form-urlencoded 表单提交（或带文件 `media` 的 multipart/form-data）"},
    /* the photo (media) */
    {"the photo must be a JPEG, PNG, WebP or HEIC image", "照片必须是 JPEG、PNG、WebP 或 HEIC 图像"},
    {"the photo could not be decoded: *", "照片无法解码：%1"},
    {"the photo has * bytes; at most *", "照片有 %1 字节，最多 %2"},
    {"the photo is * x * = * pixels; at most *", "照片为 %1 × %2 = %3 像素，最多 %4"},
    {"a report has at most * photos", "一个服务请求最多 %1 张照片"},
    {"status must be open, closed or both", "status 必须是 open、closed 或两者"},
    {"locale must be a language tag such as zh, en or en-US, got '*'",
     "locale 必须是 zh、en 或 en-US 这样的语言标记，收到 '%1'"},
    {"Accept-Language is malformed: *", "Accept-Language 格式错误：%1"},
    {"*: '*' is not an ISO 8601 date or date-time", "%1：'%2' 不是 ISO 8601 日期或日期时间"},
    {"* must be an http:// or https:// URL", "%1 必须是 http:// 或 https:// 网址"},
    {"* is longer than * characters", "%1 超过 %2 个字符"},
    {"* is not valid UTF-8", "%1 不是有效的 UTF-8"},
    {"* must be true or false", "%1 必须是 true 或 false"},
    {"* must be a comma-separated list of numbers", "%1 必须是以逗号分隔的数字列表"},
    {"* must be a number, got '*'", "%1 必须是数字，收到 '%2'"},
    {"* must be a finite number, got '*'", "%1 必须是有限的数字，收到 '%2'"},
    {"* must be an integer, got '*'", "%1 必须是整数，收到 '%2'"},
    {"* must be between * and *, got '*'", "%1 必须在 %2 到 %3 之间，收到 '%4'"},
    {"* is required", "缺少必填参数 %1"},
};
/* clang-format on */

struct cap {
    const char *at;
    size_t len;
};

/* Does pattern p match all of s? Fills caps[n..] with what each '*' took
 * (the shortest that lets the rest match). */
static bool glob(const char *p, const char *s, struct cap *caps, int n)
{
    for (; *p && *p != '*'; p++, s++)
        if (*p != *s)
            return false;
    if (!*p)
        return !*s;
    if (n >= MAX_CAPS)
        return false;
    for (const char *e = s;; e++) {
        caps[n] = (struct cap){s, (size_t)(e - s)};
        if (glob(p + 1, e, caps, n + 1))
            return true;
        if (!*e)
            return false;
    }
}

/* Length of the longest prefix of s[0..n) of at most max bytes that ends
 * at a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* Append s[0..n) to out; false when it did not all fit (the rest of the
 * text is then dropped: a cut text ends where it was cut). */
static bool append(char *out, size_t outsz, size_t *used, const char *s, size_t n)
{
    size_t room = *used + 1 < outsz ? outsz - 1 - *used : 0;
    size_t take = utf8_cut(s, n, room);
    memcpy(out + *used, s, take);
    *used += take;
    out[*used] = '\0';
    return take == n;
}

bool md_o311_translate_zh(const char *en, char *out, size_t outsz)
{
    struct cap caps[MAX_CAPS];
    if (!en || outsz == 0)
        return false;
    for (size_t i = 0; i < sizeof(translations) / sizeof(translations[0]); i++) {
        memset(caps, 0, sizeof(caps));
        if (!glob(translations[i].en, en, caps, 0))
            continue;
        size_t used = 0;
        out[0] = '\0';
        bool fits = true;
        for (const char *z = translations[i].zh; *z && fits;) {
            if (z[0] == '%' && z[1] >= '1' && z[1] < '1' + MAX_CAPS) {
                const struct cap *c = &caps[z[1] - '1'];
                fits = append(out, outsz, &used, c->at ? c->at : "", c->len);
                z += 2;
            } else {
                size_t n = strcspn(z + 1, "%") + 1;
                fits = append(out, outsz, &used, z, n);
                z += n;
            }
        }
        return true;
    }
    return false;
}

static bool is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_alnum(char ch)
{
    return is_alpha(ch) || (ch >= '0' && ch <= '9');
}

/* s[0..n) as a language tag: 1-8 letters, then subtags of 1-8 letters or
 * digits after '-' (or '_' when underscore). */
static bool well_formed(const char *s, size_t n, bool underscore)
{
    size_t i = 0, run = 0;
    if (n == 0 || n > MAX_TAG)
        return false;
    for (; i < n && is_alpha(s[i]); i++)
        run++;
    if (run == 0 || run > 8)
        return false;
    while (i < n) {
        if (!(s[i] == '-' || (underscore && s[i] == '_')))
            return false;
        for (i++, run = 0; i < n && is_alnum(s[i]); i++)
            run++;
        if (run == 0 || run > 8)
            return false;
    }
    return true;
}

/* The language of a well-formed tag s[0..n). */
static enum md_o311_lang lang_of(const char *s, size_t n)
{
    size_t primary = 0;
    while (primary < n && is_alpha(s[primary]))
        primary++;
    if (primary == 2 && (s[0] | 0x20) == 'z' && (s[1] | 0x20) == 'h')
        return MD_O311_ZH;
    if (primary == 2 && (s[0] | 0x20) == 'e' && (s[1] | 0x20) == 'n')
        return MD_O311_EN;
    return MD_O311_DEFAULT;
}

md_err md_o311_locale(const char *tag, enum md_o311_lang *out, struct md_ctx *ctx)
{
    *out = MD_O311_DEFAULT;
    size_t n = strlen(tag);
    if (!well_formed(tag, n, true))
        return md_fail(ctx, MD_EINVAL,
                       "locale must be a language tag such as zh, en or en-US, got '%.40s'", tag);
    *out = lang_of(tag, n);
    return MD_OK;
}

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* A q-value ("0", "0.5", "1.000") in thousandths; -1 when malformed. */
static int qvalue(const char *s, size_t n)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1') || n > 5 || (n > 1 && s[1] != '.'))
        return -1;
    int q = (s[0] - '0') * 1000, scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

md_err md_o311_accept_language(const char *header, enum md_o311_lang *out, struct md_ctx *ctx)
{
    int best_q = 0, entries = 0;
    *out = MD_O311_DEFAULT;
    for (const char *p = header; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *item = p;
        p = end ? end + 1 : p + len;
        while (len && is_ows(*item)) {
            item++;
            len--;
        }
        while (len && is_ows(item[len - 1]))
            len--;
        if (len == 0) /* empty list elements are allowed (RFC 9110 §5.6.1) */
            continue;
        if (++entries > MAX_RANGES)
            return md_fail(ctx, MD_EINVAL, "Accept-Language is malformed: more than %d ranges",
                           MAX_RANGES);
        size_t range = 0;
        while (range < len && item[range] != ';' && !is_ows(item[range]))
            range++;
        int q = 1000;
        size_t rest = range;
        while (rest < len && is_ows(item[rest]))
            rest++;
        if (rest < len) {
            const char *w = item + rest + 1;
            size_t wn = len - rest - 1;
            while (wn && is_ows(*w)) {
                w++;
                wn--;
            }
            if (item[rest] != ';' || wn < 2 || (w[0] | 0x20) != 'q' || w[1] != '=' ||
                (q = qvalue(w + 2, wn - 2)) < 0)
                return md_fail(ctx, MD_EINVAL, "Accept-Language is malformed: '%.*s'",
                               (int)(len > 40 ? 40 : len), item);
        }
        bool star = range == 1 && item[0] == '*';
        if (!star && !well_formed(item, range, false))
            return md_fail(ctx, MD_EINVAL, "Accept-Language is malformed: '%.*s'",
                           (int)(len > 40 ? 40 : len), item);
        enum md_o311_lang l = star ? MD_O311_DEFAULT : lang_of(item, range);
        if (l != MD_O311_DEFAULT && q > best_q) {
            best_q = q;
            *out = l;
        }
    }
    return MD_OK;
}

/* Is the UTF-8 sequence at s a Chinese character (CJK ideographs and
 * punctuation U+3000..U+9FFF, fullwidth forms U+FF00..U+FFEF)? */
static bool is_chinese(const unsigned char *s)
{
    if (s[0] >= 0xE3 && s[0] <= 0xE9 && s[1] && s[2])
        return true;
    return s[0] == 0xEF && (s[1] == 0xBC || s[1] == 0xBD || s[1] == 0xBE || s[1] == 0xBF);
}

void md_o311_half(const char *text, enum md_o311_lang lang, char *out, size_t outsz)
{
    size_t n = strlen(text), used = 0;
    const char *last_zh = NULL;
    if (outsz == 0)
        return;
    out[0] = '\0';
    for (const char *s = text; *s; s++)
        if (is_chinese((const unsigned char *)s))
            last_zh = s;
    const char *split = last_zh ? strchr(last_zh, ' ') : NULL;
    const char *en = split;
    while (en && *en == ' ')
        en++;
    if (lang == MD_O311_DEFAULT || !split || split == text || !en || !*en)
        (void)append(out, outsz, &used, text, n);
    else if (lang == MD_O311_ZH)
        (void)append(out, outsz, &used, text, (size_t)(split - text));
    else
        (void)append(out, outsz, &used, en, strlen(en));
}

const char *md_o311_lang_tag(enum md_o311_lang lang)
{
    return lang == MD_O311_ZH ? "zh" : lang == MD_O311_EN ? "en" : "zh, en";
}
