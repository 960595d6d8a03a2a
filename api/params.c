/* params.c - validated query parameters and JSON replies (see params.h). */
#include "params.h"
#include "md_multipart.h"
#include "md_text.h"
#include "md_time.h"
#include "tile_crs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *md__param(struct md_call *c, const char *name)
{
    return md_request_query(c->req, name);
}

md_err md__param_str(struct md_call *c, const char *name, bool required, size_t max_len,
                     const char **out)
{
    const char *v = md__param(c, name);
    if (!v || !*v) {
        if (required)
            return md_fail(c->ctx, MD_EINVAL, "%s is required", name);
        return MD_OK;
    }
    size_t n = strlen(v);
    if (!md_utf8_valid(v, n))
        return md_fail(c->ctx, MD_EINVAL, "%s is not valid UTF-8", name);
    if (md_utf8_len(v) > max_len)
        return md_fail(c->ctx, MD_EINVAL, "%s is longer than %zu characters", name, max_len);
    *out = v;
    return MD_OK;
}

md_err md__param_double(struct md_call *c, const char *name, bool required, double *out)
{
    const char *v = md__param(c, name);
    if (!v || !*v)
        return required ? md_fail(c->ctx, MD_EINVAL, "%s is required", name) : MD_OK;
    return md_parse_double(v, name, out, c->ctx);
}

md_err md__param_int(struct md_call *c, const char *name, bool required, int64_t min, int64_t max,
                     int64_t *out)
{
    const char *v = md__param(c, name);
    if (!v || !*v)
        return required ? md_fail(c->ctx, MD_EINVAL, "%s is required", name) : MD_OK;
    return md_parse_int64(v, name, min, max, out, c->ctx);
}

md_err md__param_lonlat(struct md_call *c, const char *lon_name, const char *lat_name, double *lon,
                        double *lat)
{
    md_err rc = md__param_double(c, lon_name, true, lon);
    if (!rc)
        rc = md__param_double(c, lat_name, true, lat);
    if (!rc && (*lon < -180 || *lon > 180))
        rc = md_fail(c->ctx, MD_EINVAL, "%s %g is outside -180..180", lon_name, *lon);
    if (!rc && (*lat < -90 || *lat > 90))
        rc = md_fail(c->ctx, MD_EINVAL, "%s %g is outside -90..90", lat_name, *lat);
    return rc;
}

md_err md__param_bbox(struct md_call *c, const char *name, struct md_bbox *out, bool *present)
{
    const char *v = md__param(c, name);
    *present = false;
    if (!v || !*v)
        return MD_OK;
    double vals[4];
    const char *p = v;
    for (int i = 0; i < 4; i++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char num[64];
        if ((i < 3 && !comma) || (i == 3 && comma) || n == 0 || n >= sizeof(num))
            return md_fail(c->ctx, MD_EINVAL, "%s must be four numbers minlon,minlat,maxlon,maxlat",
                           name);
        memcpy(num, p, n);
        num[n] = '\0';
        if (md_parse_double(num, name, &vals[i], c->ctx))
            return MD_EINVAL;
        p = comma ? comma + 1 : p + n;
    }
    if (vals[0] > vals[2] || vals[1] > vals[3])
        return md_fail(c->ctx, MD_EINVAL, "%s has min greater than max", name);
    if (vals[0] < -180 || vals[2] > 180 || vals[1] < -90 || vals[3] > 90)
        return md_fail(c->ctx, MD_EINVAL, "%s is outside -180,-90,180,90", name);
    *out = (struct md_bbox){vals[0], vals[1], vals[2], vals[3]};
    *present = true;
    return MD_OK;
}

md_err md__param_time(struct md_call *c, const char *name, int64_t *out, bool *present)
{
    const char *v = md__param(c, name);
    *present = false;
    if (!v || !*v)
        return MD_OK;
    struct md_ctx sub;
    md_ctx_init(&sub);
    if (md_time_parse(v, c->api->cfg->timezone_offset_min, out, &sub))
        return md_fail(c->ctx, MD_EINVAL, "%s: %s", name, md_ctx_message(&sub));
    *present = true;
    return MD_OK;
}

md_err md__params_only(struct md_call *c, const char *const *allowed)
{
    for (size_t i = 0; i < c->req->nquery; i++) {
        const char *k = c->req->query[i].key;
        bool known = false;
        for (const char *const *p = allowed; p && *p && !known; p++)
            known = strcmp(*p, k) == 0;
        if (!known)
            return md_fail(c->ctx, MD_EINVAL, "unknown query parameter '%.40s'", k);
    }
    return MD_OK;
}

md_err md__param_time_end(struct md_call *c, const char *name, int64_t *out, bool *present)
{
    md_err rc = md__param_time(c, name, out, present);
    const char *v = md__param(c, name);
    if (!rc && *present && strlen(v) == 10) /* YYYY-MM-DD: to the end of that day */
        *out += 86399;
    return rc;
}

md_err md__param_crs(struct md_call *c, enum md_crs *out)
{
    *out = MD_CRS_WGS84;
    return md_crs_parse(md__param(c, "crs"), out, c->ctx);
}

static bool printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (n >= max || s[n] < 0x20 || s[n] > 0x7e)
            return false;
    }
    return true;
}

md_err md__param_tile_crs(struct md_call *c, enum md_crs *out)
{
    const char *name = md__param(c, "crs");
    *out = MD_CRS_WGS84;
    if (!name || !*name || strcasecmp(name, "EPSG:3857") == 0 || strcmp(name, "3857") == 0)
        return MD_OK;
    struct md_ctx ignore;
    md_ctx_init(&ignore);
    enum md_crs crs;
    bool known = md_crs_parse(name, &crs, &ignore) == MD_OK;
    if (known && md_tile_crs_served(crs)) {
        *out = crs;
        return MD_OK;
    }
    if (known && crs == MD_CRS_BD09)
        return md_fail(c->ctx, MD_EINVAL,
                       "crs=bd09: Baidu base maps use their own tiling, which mapd does not serve;"
                       " convert coordinates on the client, or draw the crs=gcj02 tiles through a"
                       " GCJ-02 to BD-09 converter");
    return md_fail(c->ctx, MD_EINVAL,
                   "unknown crs%s%s%s: tiles, TileJSON and styles are served in wgs84 (EPSG:3857,"
                   " the default) or gcj02 (for Amap and Tencent base maps)",
                   printable(name, 20) ? " '" : "", printable(name, 20) ? name : "",
                   printable(name, 20) ? "'" : "");
}

const char *md__base_url(struct md_call *c)
{
    const char *pub = c->api->cfg->public_url;
    /* The Host header is the client's to choose: links (TileJSON, styles,
     * OGC) come from it only with --trust-host, else from the address the
     * client connected to. */
    const char *host =
        c->api->cfg->trust_host ? md_request_header(c->req, "Host") : c->req->local_addr;
    bool ok = host && *host && strlen(host) < 256;
    for (const char *p = host; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr(".-:[]", *p);
    char *url = md_pool_alloc(c->req->pool, 512);
    if (!url)
        return "http://127.0.0.1:8080";
    if (pub)
        snprintf(url, 512, "%s", pub);
    else
        snprintf(url, 512, "http://%s", ok ? host : "127.0.0.1:8080");
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        url[--n] = '\0';
    return url;
}

md_err md__send_json(struct md_call *c, int status, json_t *j)
{
    if (!j)
        return md_fail(c->ctx, MD_ENOMEM, "building the response");
    char *text = json_dumps(j, MD_JSON_FLAGS);
    json_decref(j);
    if (!text)
        return md_fail(c->ctx, MD_ENOMEM, "serializing the response");
    c->res->status = status;
    c->res->content_type = "application/json";
    md_buf_reset(&c->res->body);
    md_err rc = md_buf_puts(&c->res->body, text);
    free(text);
    return rc ? md_fail(c->ctx, rc, "response too large") : MD_OK;
}

md_err md__send_no_content(struct md_call *c)
{
    c->res->status = 204;
    c->res->content_type = NULL;
    md_buf_reset(&c->res->body);
    return MD_OK;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decode one form component into the pool; NULL on a bad escape or NUL. */
static char *form_decode(struct md_pool *pool, const char *s, size_t n)
{
    char *out = md_pool_alloc(pool, n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return NULL;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '\0') {
            return NULL;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* A decoded form field (NULL: it did not decode) as text every output can carry. */
static md_err check_field(struct md_call *c, const char *key, const char *value)
{
    if (!key || !md_utf8_valid(key, strlen(key)))
        return md_fail(c->ctx, MD_EINVAL, "a form field name is badly encoded");
    if (!value || !md_utf8_valid(value, strlen(value)))
        return md_fail(c->ctx, MD_EINVAL, "form field %.40s is badly encoded or not UTF-8", key);
    unsigned cp = 0;
    long at = md_text_bad_char(value, strlen(value), &cp);
    if (at < 0)
        at = md_text_bad_char(key, strlen(key), &cp);
    if (at >= 0)
        return md_fail(c->ctx, MD_EINVAL,
                       "form field %.40s holds the control character U+%04X at position"
                       " %ld (not allowed in text)",
                       key, cp, at);
    return MD_OK;
}

md_err md__form_from_parts(struct md_call *c, const struct md_multipart *m, struct md_kv **out,
                           size_t *n)
{
    struct md_kv *kv = md_pool_calloc(c->req->pool, m->nparts ? m->nparts : 1, sizeof(*kv));
    size_t count = 0;
    if (!kv)
        return md_fail(c->ctx, MD_ENOMEM, "form fields");
    for (size_t i = 0; i < m->nparts; i++) {
        const struct md_part *p = &m->parts[i];
        if (p->filename[0])
            continue;
        const char *data = (const char *)p->data;
        char *value =
            memchr(data, '\0', p->len) ? NULL : md_pool_strndup(c->req->pool, data, p->len);
        md_err rc = check_field(c, p->name, value);
        if (rc)
            return rc;
        kv[count].key = p->name;
        kv[count].value = value;
        count++;
    }
    *out = kv;
    *n = count;
    return MD_OK;
}

md_err md__form_parse(struct md_call *c, const char *body, size_t len, size_t max_fields,
                      struct md_kv **out, size_t *n)
{
    size_t count = 0, cap = 16;
    struct md_kv *kv = md_pool_calloc(c->req->pool, cap, sizeof(*kv));
    if (!kv)
        return md_fail(c->ctx, MD_ENOMEM, "form fields");
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            const char *kend = eq ? eq : stop;
            if (count == max_fields)
                return md_fail(c->ctx, MD_EINVAL, "the form has more than %zu fields", max_fields);
            if (count == cap) {
                struct md_kv *more = md_pool_calloc(c->req->pool, cap * 2, sizeof(*kv));
                if (!more)
                    return md_fail(c->ctx, MD_ENOMEM, "form fields");
                memcpy(more, kv, cap * sizeof(*kv));
                kv = more;
                cap *= 2;
            }
            char *key = form_decode(c->req->pool, p, (size_t)(kend - p));
            char *value = eq ? form_decode(c->req->pool, eq + 1, (size_t)(stop - eq - 1))
                             : md_pool_strdup(c->req->pool, "");
            md_err rc = check_field(c, key, value);
            if (rc)
                return rc;
            kv[count].key = key;
            kv[count].value = value;
            count++;
        }
        p = stop + 1;
    }
    *out = kv;
    *n = count;
    return MD_OK;
}

const char *md__form_get(const struct md_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    return NULL;
}
