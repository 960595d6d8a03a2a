/* sprite_api.c - the styles' sprite over HTTP (the sheets are sprite.c's).
 *
 *   GET /styles/sprite.json, /styles/sprite.png         ratio 1 index and sheet
 *   GET /styles/sprite@2x.json, /styles/sprite@2x.png   ratio 2 (high-DPI screens)
 *
 * The sheet holds, as SDF icons the style colours:
 *   facility-<code>   the Maki glyph of each facility category in the store
 *                     (web_dir/node_modules/@mapbox/maki/icons, by
 *                     md_sprite_maki_for); facility-default for codes
 *                     without an icon of their own
 *   shape-<shape>     the report status shapes (md_sprite_shape_svg)
 * Both ratios are built together on first request and rebuilt only when
 * the list of category codes changes (the colours live in the style, so a
 * colour edit does not touch the sprite). The sheets are process-wide
 * derived data (`sprites` below) behind one mutex, like web.c's font.
 * Answers carry a strong ETag of their bytes, 304 on If-None-Match, and
 * Cache-Control no-cache (revalidated, since categories may change).
 */
#include "api_int.h"
#include "negotiate.h"
#include "reports.h"
#include "sprite.h"
#include "tile_cache.h"

#include <glib.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SPRITE_KEY_MAX 4096
#define SPRITE_MAX_BYTES ((size_t)8 << 20)

static const char *const shape_names[] = {"circle", "square", "triangle", "diamond", "pentagon",
                                          "pause",  "check",  "cross",    "cluster"};

struct sheet {
    struct md_buf png, json;
    char png_etag[24], json_etag[24];
};

static struct {
    pthread_mutex_t mu;
    bool built;
    char key[SPRITE_KEY_MAX]; /* the category codes the sheets were built for */
    struct sheet sheets[2];   /* ratio 1, ratio 2 */
} sprites = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* An icon's SVG text: a Maki file, or NULL (caller frees with g_free). */
static char *maki_svg(struct md_call *c, const char *maki, size_t *len)
{
    char path[4096];
    char *text = NULL;
    gsize n = 0;
    snprintf(path, sizeof(path), "%s/node_modules/@mapbox/maki/icons/%s.svg",
             c->api->cfg->web_dir ? c->api->cfg->web_dir : "web", maki);
    if (!g_file_get_contents(path, &text, &n, NULL) || n > MD_SPRITE_MAX_SVG_BYTES) {
        g_free(text);
        return NULL;
    }
    *len = n;
    return text;
}

static bool code_ok(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || n > MD_SPRITE_MAX_NAME - 9) /* "facility-" */
        return false;
    return strspn(code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* Build both sheets for `cats` (array of categories) under sprites.mu. */
static md_err build_sheets(struct md_call *c, json_t *cats, const char *key)
{
    md_err rc = MD_OK;
    struct md_sprite_icon icons[MD_SPRITE_MAX_ICONS];
    char names[MD_SPRITE_MAX_ICONS][MD_SPRITE_MAX_NAME + 1];
    char *owned[MD_SPRITE_MAX_ICONS] = {0};
    size_t n = 0, i;
    const char *fallback = md_sprite_shape_svg("circle");
    /* facility-default first, then one per category, then the shapes. */
    size_t ncat = json_array_size(cats);
    for (i = 0; i <= ncat && n < MD_SPRITE_MAX_ICONS - 9; i++) {
        const char *code =
            i ? json_string_value(json_object_get(json_array_get(cats, i - 1), "code")) : "default";
        if (i && !code_ok(code))
            continue;
        snprintf(names[n], sizeof(names[n]), "facility-%s", code);
        icons[n].name = names[n];
        owned[n] = maki_svg(c, i ? md_sprite_maki_for(code) : "marker", &icons[n].svg_len);
        icons[n].svg = owned[n];
        if (!owned[n]) { /* Maki not installed: a plain disc keeps the map usable */
            icons[n].svg = fallback;
            icons[n].svg_len = strlen(fallback);
        }
        n++;
    }
    for (i = 0; i < sizeof(shape_names) / sizeof(shape_names[0]); i++, n++) {
        snprintf(names[n], sizeof(names[n]), "shape-%s", shape_names[i]);
        icons[n].name = names[n];
        icons[n].svg = md_sprite_shape_svg(shape_names[i]);
        icons[n].svg_len = strlen(icons[n].svg);
    }
    for (int r = 0; !rc && r < 2; r++) {
        struct sheet *s = &sprites.sheets[r];
        md_buf_free(&s->png);
        md_buf_free(&s->json);
        md_buf_init(&s->png, SPRITE_MAX_BYTES);
        md_buf_init(&s->json, SPRITE_MAX_BYTES);
        rc = md_sprite_build(icons, n, r + 1, &s->png, &s->json, c->ctx);
        if (!rc) {
            md_tile_etag(s->png.data, s->png.len, s->png_etag);
            md_tile_etag(s->json.data, s->json.len, s->json_etag);
        }
    }
    for (i = 0; i < n; i++)
        g_free(owned[i]);
    sprites.built = rc == MD_OK;
    if (!rc)
        snprintf(sprites.key, sizeof(sprites.key), "%s", key);
    return rc;
}

static md_err handle_sprite(struct md_call *c)
{
    const char *path = c->req->path;
    bool hi = strstr(path, "@2x") != NULL;
    bool png = strcmp(path + strlen(path) - 4, ".png") == 0;
    json_t *cats = NULL;
    md_err rc = md_facility_categories_json(c->w->store, &cats, c->ctx);
    if (rc)
        return rc;
    char key[SPRITE_KEY_MAX] = "";
    size_t used = 0, i;
    json_t *cat;
    json_array_foreach(cats, i, cat)
    {
        const char *code = json_string_value(json_object_get(cat, "code"));
        int k = snprintf(key + used, sizeof(key) - used, "%s,", code ? code : "");
        if (k > 0 && (size_t)k < sizeof(key) - used)
            used += (size_t)k;
    }
    char etag[24];
    pthread_mutex_lock(&sprites.mu);
    if (!sprites.built || strcmp(sprites.key, key) != 0)
        rc = build_sheets(c, cats, key);
    if (!rc) {
        const struct sheet *s = &sprites.sheets[hi ? 1 : 0];
        const struct md_buf *b = png ? &s->png : &s->json;
        memcpy(etag, png ? s->png_etag : s->json_etag, sizeof(etag));
        rc = md_buf_append(&c->res->body, b->data, b->len);
        if (rc)
            rc = md_fail(c->ctx, rc, "sprite answer");
    }
    pthread_mutex_unlock(&sprites.mu);
    json_decref(cats);
    if (rc)
        return rc;
    c->res->content_type = png ? "image/png" : "application/json";
    rc = md_response_header(c->res, c->req->pool, "ETag", etag);
    if (!rc)
        rc = md_response_header(c->res, NULL, "Cache-Control", "no-cache");
    if (rc)
        return md_fail(c->ctx, rc, "response headers");
    if (md_negotiate_etag_matches(md_request_header(c->req, "If-None-Match"), etag)) {
        c->res->status = 304;
        c->res->content_type = NULL;
        md_buf_reset(&c->res->body);
    }
    return MD_OK;
}

const struct md_route md__sprite_routes[] = {
    {"GET", "/styles/sprite.json", false, handle_sprite, "sprite", NULL},
    {"GET", "/styles/sprite.png", false, handle_sprite, "sprite", NULL},
    {"GET", "/styles/sprite@2x.json", false, handle_sprite, "sprite", NULL},
    {"GET", "/styles/sprite@2x.png", false, handle_sprite, "sprite", NULL},
};
const size_t md__sprite_routes_count = sizeof(md__sprite_routes) / sizeof(md__sprite_routes[0]);
