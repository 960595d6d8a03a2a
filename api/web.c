/* web.c - the web map: its page and files, and the glyphs its labels need.
 *
 *   GET /                                    web_dir/index.html (page security headers)
 *   GET /web/{file}                          files of web_dir, by allow-listed extension
 *   GET /web/vendor/{file}                   MapLibre GL JS: web_dir/vendor/{file}, else
 *                                            web_dir/node_modules/maplibre-gl/dist/{file}
 *   GET /web/vendor/swagger-ui/{file}        Swagger UI (the API page): an allow-list of
 *                                            web_dir/node_modules/swagger-ui-dist/{file}
 *   GET /openapi.json                        web_dir/openapi.json, the OpenAPI 3.1 document
 *                                            of /api/v1 and /open311
 *   GET /developers, /developers/api         the developer page and the interactive API
 *                                            page (web_dir/developers.html, api.html)
 *   GET /officer                             the officer's phone view (web_dir/officer.html)
 *   GET /admin                               admins edit facilities and categories
 *                                            (web_dir/admin.html)
 *   GET /fonts/{fontstack}/{start}-{end}.pbf glyph SDFs rendered from the server's font
 *
 * Files come from cfg->web_dir only: the path is checked segment by segment
 * (letters, digits, '-', '_', '.'; no segment starts with '.'), so nothing
 * outside the folder (no "..", no dot files, no node_modules except the
 * MapLibre allow-list) can be named. Every answer carries a strong ETag
 * (inode, size, mtime) and 304s on If-None-Match; text is gzip'd for
 * clients that accept it, from a small in-memory cache.
 *
 * The font and the gzip cache are process-wide (`web` below): immutable
 * derived data shared by every worker thread behind one mutex, created on
 * first use, alive until exit. mapd serves one web_dir and one font.
 */
#include "api_int.h"
#include "glyphs.h"
#include "negotiate.h"
#include "tile_gzip.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEB_MAX_FILE_BYTES ((size_t)16 << 20)
#define WEB_MAX_PATH 160
#define GZ_SLOTS 24
#define GZ_MIN_BYTES 1024
#define DEFAULT_FONT "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

/* The page may load only from this server; MapLibre starts its worker from a
 * same-origin module (or a blob: URL in fallbacks) and draws controls with
 * data: images. */
#define PAGE_CSP                                                                                   \
    "default-src 'none'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; "     \
    "style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; "          \
    "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct gz_entry {
    char key[WEB_MAX_PATH + 64]; /* file path or font key, with its ETag */
    void *bytes;
    size_t len;
};

static struct {
    pthread_mutex_t mu;
    struct md_glyphs *glyphs;
    bool font_tried;
    md_err font_err;
    char font_msg[MD_CTX_MSG_MAX];
    struct gz_entry gz[GZ_SLOTS];
    size_t gz_next;
} web = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct content_type {
    const char *ext;
    const char *type;
    bool text; /* worth gzip */
};

static const struct content_type types[] = {
    {"html", "text/html; charset=utf-8", true},
    {"js", "text/javascript; charset=utf-8", true},
    {"mjs", "text/javascript; charset=utf-8", true},
    {"css", "text/css; charset=utf-8", true},
    {"json", "application/json", true},
    {"map", "application/json", true},
    {"webmanifest", "application/manifest+json", true},
    {"svg", "image/svg+xml", true},
    {"txt", "text/plain; charset=utf-8", true},
    {"png", "image/png", false},
    {"ico", "image/x-icon", false},
};

/* MapLibre's distribution files the page may load. */
static const char *const vendor_files[] = {
    "maplibre-gl.mjs",     "maplibre-gl-worker.mjs",     "maplibre-gl-shared.mjs",
    "maplibre-gl.css",     "maplibre-gl.mjs.map",        "maplibre-gl-worker.mjs.map",
    "maplibre-gl-dev.mjs", "maplibre-gl-worker-dev.mjs", NULL,
};

/* Swagger UI's distribution files the API page may load. */
static const char *const swagger_files[] = {"swagger-ui-bundle.js", "swagger-ui.css", NULL};

static md_err add_header(struct md_call *c, const char *name, const char *value)
{
    md_err rc = md_response_header(c->res, c->req->pool, name, value);
    return rc ? md_fail(c->ctx, rc, "response headers") : MD_OK;
}

static bool accepts_gzip(struct md_call *c)
{
    return md_negotiate_accepts_gzip(md_request_header(c->req, "Accept-Encoding"));
}

static bool etag_matches(struct md_call *c, const char *etag)
{
    return md_negotiate_etag_matches(md_request_header(c->req, "If-None-Match"), etag);
}

/* ---- gzip cache ------------------------------------------------------------- */

/* Append the cached gzip of `key` to out; false on a miss. */
static bool gz_get(const char *key, struct md_buf *out)
{
    bool hit = false;
    pthread_mutex_lock(&web.mu);
    for (size_t i = 0; i < GZ_SLOTS && !hit; i++) {
        if (web.gz[i].bytes && strcmp(web.gz[i].key, key) == 0)
            hit = md_buf_append(out, web.gz[i].bytes, web.gz[i].len) == MD_OK;
    }
    pthread_mutex_unlock(&web.mu);
    return hit;
}

static void gz_put(const char *key, const void *bytes, size_t len)
{
    void *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, bytes, len);
    pthread_mutex_lock(&web.mu);
    struct gz_entry *e = &web.gz[web.gz_next++ % GZ_SLOTS];
    free(e->bytes);
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->bytes = copy;
    e->len = len;
    pthread_mutex_unlock(&web.mu);
}

/* Replace the body with its gzip (cached under `key`) and say so. */
static md_err gzip_body(struct md_call *c, const char *key)
{
    struct md_buf gz;
    md_buf_init(&gz, c->res->body.max);
    md_err rc = MD_OK;
    if (!gz_get(key, &gz)) {
        rc = md_gzip(c->res->body.data, c->res->body.len, 6, &gz);
        if (!rc)
            gz_put(key, gz.data, gz.len);
    }
    if (!rc) {
        md_buf_free(&c->res->body);
        c->res->body = gz;
        return add_header(c, "Content-Encoding", "gzip");
    }
    md_buf_free(&gz);
    return MD_OK; /* send it uncompressed */
}

/* ---- files ------------------------------------------------------------------- */

static const struct content_type *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot + 1, types[i].ext) == 0)
            return &types[i];
    }
    return NULL;
}

/* A relative path we are willing to look up: 1..WEB_MAX_PATH bytes, segments
 * of [A-Za-z0-9._-] not starting with '.', separated by single '/'. */
static bool safe_relative_path(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > WEB_MAX_PATH)
        return false;
    bool seg_start = true;
    for (const char *s = p; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '/') {
            if (seg_start)
                return false; /* leading '/' or "//" */
            seg_start = true;
            continue;
        }
        if (seg_start && ch == '.')
            return false;
        if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_')
            return false;
        seg_start = false;
    }
    return !seg_start;
}

/* Read a regular file into the body; MD_ENOTFOUND when it is not there. */
static md_err read_file(struct md_call *c, const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MD_ENOTFOUND;
    md_err rc = MD_OK;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        rc = MD_ENOTFOUND;
        goto out;
    }
    if ((size_t)st->st_size > WEB_MAX_FILE_BYTES) {
        rc = md_fail(c->ctx, MD_EINTERNAL, "web file is larger than %zu bytes", WEB_MAX_FILE_BYTES);
        goto out;
    }
    rc = md_buf_reserve(&c->res->body, (size_t)st->st_size);
    while (!rc && c->res->body.len < (size_t)st->st_size) {
        ssize_t got =
            read(fd, c->res->body.data + c->res->body.len, (size_t)st->st_size - c->res->body.len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = md_fail(c->ctx, MD_EIO, "web file changed while being read");
            break;
        }
        c->res->body.len += (size_t)got;
    }
    if (!rc)
        c->res->body.data[c->res->body.len] = '\0';
out:
    close(fd);
    return rc;
}

static md_err page_headers(struct md_call *c)
{
    md_err rc = add_header(c, "Content-Security-Policy", PAGE_CSP);
    if (!rc)
        rc = add_header(c, "Referrer-Policy", "no-referrer");
    if (!rc)
        rc = add_header(c, "X-Frame-Options", "DENY");
    if (!rc)
        rc = add_header(c, "Permissions-Policy", "geolocation=(self), camera=(), microphone=()");
    return rc;
}

/* Serve the file at `path` (already checked) as `name`'s content type. */
static md_err serve_file(struct md_call *c, const char *path, const char *name, bool immutable)
{
    const struct content_type *type = type_of(name);
    if (!type)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such web file: %s", name);
    struct stat st;
    md_err rc = read_file(c, path, &st);
    if (rc == MD_ENOTFOUND)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such web file: %s", name);
    if (rc)
        return rc;
    char etag[64];
    snprintf(etag, sizeof(etag), "\"%llx-%llx-%llx.%lx\"", (unsigned long long)st.st_ino,
             (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec,
             (unsigned long)st.st_mtim.tv_nsec);
    c->res->content_type = type->type;
    rc = add_header(c, "ETag", etag);
    if (!rc)
        rc = add_header(c, "Cache-Control", immutable ? "public, max-age=604800" : "no-cache");
    if (!rc)
        rc = add_header(c, "X-Content-Type-Options", "nosniff");
    if (!rc && type->text)
        rc = add_header(c, "Vary", "Accept-Encoding");
    if (!rc && strcmp(type->ext, "html") == 0)
        rc = page_headers(c);
    if (rc)
        return rc;
    if (etag_matches(c, etag)) {
        c->res->status = 304;
        c->res->content_type = NULL;
        md_buf_reset(&c->res->body);
        return MD_OK;
    }
    if (type->text && c->res->body.len >= GZ_MIN_BYTES && accepts_gzip(c)) {
        char key[WEB_MAX_PATH + 64];
        snprintf(key, sizeof(key), "%s%s", name, etag);
        return gzip_body(c, key);
    }
    return MD_OK;
}

static const char *web_dir(struct md_call *c)
{
    return c->api->cfg->web_dir ? c->api->cfg->web_dir : "web";
}

static md_err handle_index(struct md_call *c)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/index.html", web_dir(c));
    return serve_file(c, path, "index.html", false);
}

static md_err handle_vendor(struct md_call *c, const char *name)
{
    bool allowed = false;
    for (const char *const *v = vendor_files; *v && !allowed; v++)
        allowed = strcmp(*v, name) == 0;
    if (!allowed)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such web file: vendor/%s", name);
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/vendor/%s", web_dir(c), name);
    if (stat(path, &st) != 0)
        snprintf(path, sizeof(path), "%s/node_modules/maplibre-gl/dist/%s", web_dir(c), name);
    md_err rc = serve_file(c, path, name, true);
    if (rc == MD_ENOTFOUND) {
        md_ctx_clear(c->ctx);
        rc = md_fail(c->ctx, MD_ENOTFOUND, "vendor/%s is missing: run `npm ci` in %s", name,
                     web_dir(c));
    }
    return rc;
}

static md_err handle_swagger(struct md_call *c, const char *name)
{
    bool allowed = false;
    for (const char *const *v = swagger_files; *v && !allowed; v++)
        allowed = strcmp(*v, name) == 0;
    if (!allowed)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such web file: vendor/swagger-ui/%s", name);
    char path[4096];
    snprintf(path, sizeof(path), "%s/node_modules/swagger-ui-dist/%s", web_dir(c), name);
    md_err rc = serve_file(c, path, name, true);
    if (rc == MD_ENOTFOUND) {
        md_ctx_clear(c->ctx);
        rc = md_fail(c->ctx, MD_ENOTFOUND, "vendor/swagger-ui/%s is missing: run `npm ci` in %s",
                     name, web_dir(c));
    }
    return rc;
}

/* A page or document of web_dir named by a fixed route. */
static md_err serve_named(struct md_call *c, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", web_dir(c), name);
    return serve_file(c, path, name, false);
}

static md_err handle_openapi(struct md_call *c)
{
    return serve_named(c, "openapi.json");
}

static md_err handle_developers(struct md_call *c)
{
    return serve_named(c, "developers.html");
}

static md_err handle_officer(struct md_call *c)
{
    return serve_named(c, "officer.html");
}

static md_err handle_admin(struct md_call *c)
{
    return serve_named(c, "admin.html");
}

static md_err handle_api_page(struct md_call *c)
{
    return serve_named(c, "api.html");
}

static md_err handle_web(struct md_call *c)
{
    const char *rel = c->tail;
    if (strncmp(rel, "vendor/swagger-ui/", 18) == 0 && !strchr(rel + 18, '/'))
        return handle_swagger(c, rel + 18);
    if (strncmp(rel, "vendor/", 7) == 0 && !strchr(rel + 7, '/'))
        return handle_vendor(c, rel + 7);
    if (!safe_relative_path(rel) || strncmp(rel, "node_modules/", 13) == 0 ||
        strncmp(rel, "vendor/", 7) == 0 || strcmp(rel, "package.json") == 0 ||
        strcmp(rel, "package-lock.json") == 0)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such web file");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", web_dir(c), rel);
    const char *base = strrchr(rel, '/');
    return serve_file(c, path, base ? base + 1 : rel, false);
}

/* ---- glyphs ------------------------------------------------------------------ */

/* The process's font, opened on first use; NULL (with the reason in ctx)
 * when it cannot be. */
static struct md_glyphs *font(struct md_call *c)
{
    pthread_mutex_lock(&web.mu);
    if (!web.font_tried) {
        struct md_ctx octx;
        md_ctx_init(&octx);
        const char *path = c->api->cfg->font_path ? c->api->cfg->font_path : DEFAULT_FONT;
        web.font_err = md_glyphs_open(path, &web.glyphs, &octx);
        snprintf(web.font_msg, sizeof(web.font_msg), "%s", md_ctx_message(&octx));
        web.font_tried = true;
    }
    struct md_glyphs *g = web.glyphs;
    md_err err = web.font_err;
    pthread_mutex_unlock(&web.mu);
    if (!g)
        md_fail(c->ctx, err == MD_ENOTFOUND ? MD_ENOTFOUND : MD_EINTERNAL, "%s", web.font_msg);
    return g;
}

static md_err handle_fonts(struct md_call *c)
{
    const char *slash = strrchr(c->tail, '/');
    size_t n = strlen(c->tail);
    if (!slash || n < 4 || strcmp(c->tail + n - 4, ".pbf") != 0)
        return md_fail(c->ctx, MD_EINVAL, "glyphs are at /fonts/{fontstack}/{start}-{end}.pbf");
    size_t stack_len = (size_t)(slash - c->tail);
    size_t range_len = n - stack_len - 1 - 4;
    if (stack_len > MD_GLYPH_MAX_STACK || range_len > 15)
        return md_fail(c->ctx, MD_EINVAL, "fontstack or range too long");
    char *stack = md_pool_strndup(c->req->pool, c->tail, stack_len);
    char *range = md_pool_strndup(c->req->pool, slash + 1, range_len);
    if (!stack || !range)
        return md_fail(c->ctx, MD_ENOMEM, "glyph request");
    uint32_t start;
    md_err rc = md_glyphs_check_stack(stack, c->ctx);
    if (!rc)
        rc = md_glyphs_parse_range(range, &start, c->ctx);
    if (rc)
        return rc;
    struct md_glyphs *g = font(c);
    if (!g)
        return c->ctx->err;
    rc = md_glyphs_range(g, stack, start, &c->res->body, c->ctx);
    if (rc)
        return rc;
    char etag[24];
    md_tile_etag(c->res->body.data, c->res->body.len, etag);
    c->res->content_type = "application/x-protobuf";
    rc = add_header(c, "ETag", etag);
    if (!rc)
        rc = add_header(c, "Cache-Control", "public, max-age=86400");
    if (!rc)
        rc = add_header(c, "Vary", "Accept-Encoding");
    if (rc)
        return rc;
    if (etag_matches(c, etag)) {
        c->res->status = 304;
        c->res->content_type = NULL;
        md_buf_reset(&c->res->body);
        return MD_OK;
    }
    if (accepts_gzip(c) && c->res->body.len >= GZ_MIN_BYTES) {
        char key[WEB_MAX_PATH + 64];
        snprintf(key, sizeof(key), "fonts:%u%s", (unsigned)start, etag);
        return gzip_body(c, key);
    }
    return MD_OK;
}

const struct md_route md__web_routes[] = {
    {"GET", "/", false, handle_index, "web_index", NULL},
    {"GET", "/web/", true, handle_web, "web_files", NULL},
    {"GET", "/openapi.json", false, handle_openapi, "openapi", NULL},
    {"GET", "/developers", false, handle_developers, "developers", NULL},
    {"GET", "/developers/api", false, handle_api_page, "api_page", NULL},
    {"GET", "/officer", false, handle_officer, "officer_page", NULL},
    {"GET", "/admin", false, handle_admin, "admin_page", NULL},
    {"GET", "/fonts/", true, handle_fonts, "fonts", NULL},
};
const size_t md__web_routes_count = sizeof(md__web_routes) / sizeof(md__web_routes[0]);
