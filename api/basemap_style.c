/* basemap_style.c - an external vector base map composed beneath mapd's
 * layers (basemap_style.h). */
#include "basemap_style.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "ext-"

struct text {
    char *data;
    size_t len;
    bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct text *t = arg;
    size_t k = size * n;
    if (t->len + k > MD_BASEMAP_STYLE_MAX) {
        t->too_big = true;
        return 0; /* stops the transfer */
    }
    char *d = realloc(t->data, t->len + k + 1);
    if (!d)
        return 0;
    memcpy(d + t->len, p, k);
    t->data = d;
    t->len += k;
    t->data[t->len] = '\0';
    return k;
}

static md_err fetch(const char *url, struct text *t, struct md_ctx *ctx)
{
    CURL *h = curl_easy_init();
    if (!h)
        return md_fail(ctx, MD_ENOMEM, "--basemap-style: cannot start libcurl");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (t->too_big)
        return md_fail(ctx, MD_EINVAL, "--basemap-style %.200s: more than %u bytes", url,
                       MD_BASEMAP_STYLE_MAX);
    if (cc != CURLE_OK)
        return md_fail(ctx, MD_EIO, "--basemap-style %.200s: %s", url, curl_easy_strerror(cc));
    if (status != 200)
        return md_fail(ctx, MD_EIO, "--basemap-style %.200s: HTTP status %ld", url, status);
    return MD_OK;
}

static md_err read_file(const char *path, struct text *t, struct md_ctx *ctx)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return md_fail(ctx, MD_EIO, "--basemap-style %.200s: cannot open it", path);
    t->data = malloc(MD_BASEMAP_STYLE_MAX + 1);
    md_err rc = t->data ? MD_OK : MD_ENOMEM;
    if (!rc) {
        t->len = fread(t->data, 1, MD_BASEMAP_STYLE_MAX + 1, f);
        t->data[t->len > MD_BASEMAP_STYLE_MAX ? MD_BASEMAP_STYLE_MAX : t->len] = '\0';
        if (ferror(f))
            rc = md_fail(ctx, MD_EIO, "--basemap-style %.200s: read error", path);
        else if (t->len > MD_BASEMAP_STYLE_MAX)
            rc = md_fail(ctx, MD_EINVAL, "--basemap-style %.200s: more than %u bytes", path,
                         MD_BASEMAP_STYLE_MAX);
    }
    fclose(f);
    return rc;
}

static bool http_url(const char *s)
{
    return s && (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0);
}

/* Every URL a source names is absolute http(s): relative ones would point
 * at mapd, mapbox:// ones nowhere. */
static md_err check_source(const char *id, json_t *src, struct md_ctx *ctx)
{
    if (!json_is_object(src))
        return md_fail(ctx, MD_EINVAL, "--basemap-style: source '%.80s' is not an object", id);
    json_t *url = json_object_get(src, "url"), *tiles = json_object_get(src, "tiles");
    if (url && !http_url(json_string_value(url)))
        return md_fail(ctx, MD_EINVAL, "--basemap-style: source '%.80s': url must be http(s)", id);
    for (size_t i = 0; i < json_array_size(tiles); i++)
        if (!http_url(json_string_value(json_array_get(tiles, i))))
            return md_fail(ctx, MD_EINVAL,
                           "--basemap-style: source '%.80s': tile URLs must be http(s)", id);
    if (!url && !json_is_array(tiles) && !json_object_get(src, "data"))
        return md_fail(ctx, MD_EINVAL, "--basemap-style: source '%.80s' names no url or tiles", id);
    return MD_OK;
}

static md_err check(json_t *j, struct md_ctx *ctx)
{
    if (!json_is_object(j) || json_integer_value(json_object_get(j, "version")) != 8)
        return md_fail(ctx, MD_EINVAL, "--basemap-style: not a MapLibre style (version 8)");
    json_t *sources = json_object_get(j, "sources"), *layers = json_object_get(j, "layers");
    if (!json_is_object(sources) || !json_is_array(layers))
        return md_fail(ctx, MD_EINVAL, "--basemap-style: the style needs sources and layers");
    const char *id;
    json_t *v;
    json_object_foreach(sources, id, v)
    {
        md_err rc = check_source(id, v, ctx);
        if (rc)
            return rc;
    }
    size_t i;
    json_array_foreach(layers, i, v)
    {
        json_t *src = json_object_get(v, "source");
        if (!json_is_string(json_object_get(v, "id")) ||
            !json_is_string(json_object_get(v, "type")))
            return md_fail(ctx, MD_EINVAL, "--basemap-style: layer %zu has no id or type", i);
        if (src && !json_object_get(sources, json_string_value(src)))
            return md_fail(ctx, MD_EINVAL, "--basemap-style: layer '%.80s' names an unknown source",
                           json_string_value(json_object_get(v, "id")));
    }
    return MD_OK;
}

md_err md_basemap_style_load(const char *where, char **out, struct md_ctx *ctx)
{
    struct text t = {0};
    *out = NULL;
    md_err rc = http_url(where) ? fetch(where, &t, ctx) : read_file(where, &t, ctx);
    json_error_t err;
    json_t *j = NULL;
    if (!rc && !(j = json_loadb(t.data ? t.data : "", t.len, 0, &err)))
        rc = md_fail(ctx, MD_EINVAL, "--basemap-style %.200s: not JSON (line %d: %s)", where,
                     err.line, err.text);
    if (!rc)
        rc = check(j, ctx);
    json_decref(j);
    if (rc)
        free(t.data);
    else
        *out = t.data;
    return rc;
}

/* "ext-" + s as a new JSON string. */
static json_t *prefixed(const char *s)
{
    size_t n = strlen(s) + sizeof(PREFIX);
    char *p = malloc(n);
    if (!p)
        return NULL;
    snprintf(p, n, PREFIX "%s", s);
    json_t *j = json_string(p);
    free(p);
    return j;
}

/* One external layer, renamed, without its icons; NULL on no memory. */
static json_t *layer_copy(json_t *layer)
{
    json_t *l = json_deep_copy(layer);
    json_t *id = prefixed(json_string_value(json_object_get(layer, "id")));
    const char *src = json_string_value(json_object_get(layer, "source"));
    json_t *s = src ? prefixed(src) : NULL;
    bool ok = l && id && (!src || s) && !json_object_set_new(l, "id", id);
    id = NULL;
    if (ok && s) {
        ok = !json_object_set_new(l, "source", s);
        s = NULL;
    }
    json_t *layout = json_object_get(l, "layout");
    if (ok && json_is_object(layout))
        json_object_del(layout, "icon-image");
    json_decref(id);
    json_decref(s);
    if (!ok) {
        json_decref(l);
        return NULL;
    }
    return l;
}

md_err md_basemap_style_compose(json_t *style, const char *ext, size_t at, struct md_ctx *ctx)
{
    json_error_t err;
    json_t *e = json_loads(ext, 0, &err);
    json_t *sources = json_object_get(style, "sources"), *layers = json_object_get(style, "layers");
    md_err rc = e && json_is_object(sources) && json_is_array(layers)
                    ? MD_OK
                    : md_fail(ctx, MD_EINVAL, "composing the external base map");
    const char *id;
    json_t *v;
    if (!rc) {
        json_object_foreach(json_object_get(e, "sources"), id, v)
        {
            json_t *key = prefixed(id);
            if (!key || json_object_set(sources, json_string_value(key), v))
                rc = MD_ENOMEM;
            json_decref(key);
            if (rc)
                break;
        }
    }
    size_t i;
    json_array_foreach(rc ? NULL : json_object_get(e, "layers"), i, v)
    {
        json_t *l = layer_copy(v);
        if (!l || json_array_insert_new(layers, at + i, l)) {
            rc = MD_ENOMEM;
            break;
        }
    }
    json_decref(e);
    return rc == MD_ENOMEM ? md_fail(ctx, rc, "composing the external base map") : rc;
}
