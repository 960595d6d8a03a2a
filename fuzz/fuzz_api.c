/* fuzz_api.c - the shared request driver of the API fuzz targets (fuzz_api.h).
 *
 * One environment per process (database copy, md_api, one md_worker), freed
 * at exit so leak checking in the replay tests stays meaningful. Each input
 * gets its own pool, request and response, all freed before returning.
 */
#include "fuzz_api.h"
#include "api.h"
#include "calendar.h"
#include "md_sha256.h"
#include "sample.h"
#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define FUZZ_MAX_INPUT (64 * 1024)
#define FUZZ_POOL_MAX ((size_t)64 << 20)
#define FUZZ_MAX_HEADERS 32
#define FUZZ_MAX_QUERY 64

struct fuzz_env {
    char dir[64];
    char db[128];
    struct md_config cfg;
    struct md_api *api;
    struct md_worker w;
};

static struct fuzz_env *env;

static void fatal(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_api: %s: %s\n", what, detail ? detail : "");
    abort();
}

static void env_free(void)
{
    if (!env)
        return;
    md_api_free(env->api);
    md_store_close(env->w.store);
    md_geos_free(env->w.geos);
    if (env->w.proj)
        proj_context_destroy(env->w.proj);
    char path[200];
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", env->db, suffix[i]);
        unlink(path);
    }
    rmdir(env->dir);
    free(env);
    env = NULL;
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buf[1 << 16];
    ssize_t n;
    if (in < 0 || out < 0)
        fatal("cannot copy the template database", strerror(errno));
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            fatal("write", strerror(errno));
    close(in);
    close(out);
}

/* A small sample city (the same generator as `mapd sample`). */
static void generate_db(const char *db)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    struct md_geos *g = md_geos_new();
    const struct md_sample_opts o = {
        .districts_path = MAPD_SOURCE_DIR "/sample-data/beijing-districts.geojson",
        .names_en_path = MAPD_SOURCE_DIR "/sample-data/beijing-districts-en.json",
        .facilities = 300,
        .reports = 1000,
        .seed = 7,
        .anchor = MD_SAMPLE_DEFAULT_ANCHOR,
    };
    if (!g || md_store_open(db, MD_STORE_CREATE | MD_STORE_BULK, &s, &ctx) ||
        md_store_init(s, MAPD_SOURCE_DIR "/sample-data/categories.json", &ctx) ||
        md_store_begin(s, &ctx) ||
        md_calendar_import(s, MAPD_SOURCE_DIR "/sample-data/calendar.json", &ctx) ||
        md_store_commit(s, &ctx) || md_sample_generate(s, g, &o, &ctx))
        fatal("cannot build the fuzz database", md_ctx_message(&ctx));
    if (sqlite3_exec(md_store_db(s), "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
        fatal("WAL", sqlite3_errmsg(md_store_db(s)));
    md_store_close(s);
    md_geos_free(g);
}

/* Tokens with known text, so seeds can carry Authorization headers. */
static void add_tokens(const char *db)
{
    static const char *const roles[] = {"centre", "officer", "admin", "app"};
    static const char sql[] =
        "INSERT INTO tokens(hash, role, label, created_at) VALUES (?, ?, 'fuzz', 0)";
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(db, &h) != SQLITE_OK || sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        fatal("tokens", h ? sqlite3_errmsg(h) : "open");
    for (int r = 0; r < 4; r++) {
        char token[4 + 64 + 1], hash[MD_SHA256_HEX_LEN];
        memcpy(token, "mdt_", 4);
        memset(token + 4, '0' + r, 64);
        token[68] = '\0';
        md_sha256_hex(token, 68, hash);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, roles[r], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            fatal("tokens", sqlite3_errmsg(h));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static struct fuzz_env *env_get(void)
{
    if (env)
        return env;
    env = calloc(1, sizeof(*env));
    if (!env)
        fatal("env", "out of memory");
    snprintf(env->dir, sizeof(env->dir), "%s/mapd-fuzz-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(env->dir))
        fatal("mkdtemp", strerror(errno));
    snprintf(env->db, sizeof(env->db), "%s/db.sqlite", env->dir);
    const char *tmpl = getenv("MAPD_FUZZ_DB");
    if (tmpl && *tmpl)
        copy_file(tmpl, env->db);
    else
        generate_db(env->db);
    add_tokens(env->db);
    atexit(env_free);

    env->cfg = (struct md_config){
        .db_path = env->db,
        .web_dir = MAPD_SOURCE_DIR "/web",
        .styles_dir = MAPD_SOURCE_DIR "/styles",
        .max_body_bytes = 1024 * 1024,
        .tile_cache_bytes = (size_t)8 << 20,
        .feature_cache_bytes = (size_t)4 << 20, /* nearest/within answers go through it */
        .max_query_limit = 10000,
        .timezone_offset_min = 480,
        .rate_limit_per_min = 0, /* the fuzzer creates far faster than any client may */
        .events_max_subscribers = 4,
    };
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md_api_new(&env->cfg, &env->api, &ctx) ||
        md_store_open(env->db, MD_STORE_READWRITE, &env->w.store, &ctx) ||
        !(env->w.geos = md_geos_new()) || !(env->w.proj = proj_context_create()))
        fatal("cannot set up the API", md_ctx_message(&ctx));
    return env;
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

/* Percent-decode (and '+' -> ' ' when plus) into the pool, like MHD; an
 * embedded %00 ends the C string exactly as it does for mapd. */
static char *decode(struct md_pool *pool, const char *s, size_t n, int plus)
{
    char *out = md_pool_alloc(pool, n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (plus && s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static int has_prefix(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strncmp(s, list[i], strlen(list[i])) == 0)
            return 1;
    return 0;
}

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int woken;
};

static void on_wake(void *arg)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->lock);
    w->woken = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void no_wake(void *arg)
{
    (void)arg;
}

/* A deferred answer (a create waiting for its group commit): poll, wait for
 * the wake, poll again; a wait over 60 s is a hang and a finding. */
static void finish_deferred(struct md_response *res)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    res->deferred.set_waker(res->deferred.userdata, on_wake, &w);
    time_t deadline = time(NULL) + 60;
    while (!res->deferred.poll(res->deferred.userdata, res)) {
        pthread_mutex_lock(&w.lock);
        while (!w.woken) {
            struct timespec ts = {time(NULL) + 1, 0};
            pthread_cond_timedwait(&w.cond, &w.lock, &ts);
            if (time(NULL) > deadline)
                fatal("deferred response never became ready", NULL);
        }
        w.woken = 0;
        pthread_mutex_unlock(&w.lock);
    }
    /* The deferred state is freed with the response: no wake after that. */
}

static void drain_stream(struct md_response *res)
{
    struct md_buf out;
    md_buf_init(&out, (size_t)1 << 20);
    if (res->stream.set_waker)
        res->stream.set_waker(res->stream.userdata, no_wake, NULL);
    for (int i = 0; i < 2; i++)
        if (res->stream.next(res->stream.userdata, &out))
            break;
    md_buf_free(&out);
}

static void check_response(const struct md_request *req, const struct md_response *res)
{
    if (res->status < 200 || res->status > 599 || res->status == 500) {
        fprintf(stderr, "fuzz_api: %s %s answered %d: %.*s\n", req->method, req->path,
                res->status, (int)(res->body.len < 400 ? res->body.len : 400),
                res->body.data ? res->body.data : "");
        __builtin_trap();
    }
    const char *ct = res->content_type ? res->content_type : "";
    if (res->stream.next || res->body.len == 0 || strcmp(req->method, "HEAD") == 0)
        return;
    if (strncmp(ct, "application/json", 16) == 0 || strncmp(ct, "application/geo+json", 20) == 0) {
        json_error_t err;
        json_t *j = json_loadb(res->body.data, res->body.len, JSON_DECODE_ANY, &err);
        if (!j) {
            fprintf(stderr, "fuzz_api: %s %s: invalid JSON body (%s): %.*s\n", req->method,
                    req->path, err.text, (int)(res->body.len < 400 ? res->body.len : 400),
                    res->body.data);
            __builtin_trap();
        }
        json_decref(j);
    }
}

int md_fuzz_api_run(const struct md_fuzz_family *family, const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    struct fuzz_env *e = env_get();
    struct md_pool *pool = md_pool_new(FUZZ_POOL_MAX);
    char *text = pool ? md_pool_alloc(pool, size + 1) : NULL;
    if (!text)
        goto out;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *end = text + size;

    /* Request line. */
    const char *eol = memchr(text, '\n', size);
    const char *line_end = eol ? eol : end;
    size_t line_len = (size_t)(line_end - text);
    if (line_len && text[line_len - 1] == '\r')
        line_len--;
    const char *sp = memchr(text, ' ', line_len);
    const char *method = "GET", *target = text;
    size_t target_len = line_len;
    if (sp) {
        method = md_pool_strndup(pool, text, (size_t)(sp - text));
        target = sp + 1;
        target_len = line_len - (size_t)(target - text);
        const char *sp2 = memchr(target, ' ', target_len); /* " HTTP/1.1" */
        if (sp2)
            target_len = (size_t)(sp2 - target);
    }
    if (!method || !in_list(family->methods, method))
        goto out;
    const char *qmark = memchr(target, '?', target_len);
    size_t path_len = qmark ? (size_t)(qmark - target) : target_len;
    struct md_request req = {.method = method, .pool = pool, .client_addr = "127.0.0.1"};
    req.path = decode(pool, target, path_len, 0);
    if (!req.path || !has_prefix(family->prefixes, req.path))
        goto out;

    struct md_kv *query = md_pool_calloc(pool, FUZZ_MAX_QUERY, sizeof(*query));
    struct md_kv *headers = md_pool_calloc(pool, FUZZ_MAX_HEADERS, sizeof(*headers));
    if (!query || !headers)
        goto out;
    if (qmark) {
        const char *p = qmark + 1, *qend = target + target_len;
        while (p < qend && req.nquery < FUZZ_MAX_QUERY) {
            const char *amp = memchr(p, '&', (size_t)(qend - p));
            const char *stop = amp ? amp : qend;
            if (stop > p) {
                const char *eq = memchr(p, '=', (size_t)(stop - p));
                query[req.nquery].key = decode(pool, p, (size_t)((eq ? eq : stop) - p), 1);
                query[req.nquery].value =
                    eq ? decode(pool, eq + 1, (size_t)(stop - eq - 1), 1) : "";
                if (!query[req.nquery].key || !query[req.nquery].value)
                    goto out;
                req.nquery++;
            }
            p = stop + 1;
        }
    }
    req.query = query;

    /* Header lines up to an empty line; the rest is the body. */
    const char *p = eol ? eol + 1 : end;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n == 0) {
            p = nl ? nl + 1 : end;
            break;
        }
        const char *colon = memchr(p, ':', n);
        if (colon && req.nheaders < FUZZ_MAX_HEADERS) {
            const char *v = colon + 1;
            while (v < p + n && *v == ' ')
                v++;
            headers[req.nheaders].key = md_pool_strndup(pool, p, (size_t)(colon - p));
            headers[req.nheaders].value = md_pool_strndup(pool, v, (size_t)(p + n - v));
            if (!headers[req.nheaders].key || !headers[req.nheaders].value)
                goto out;
            req.nheaders++;
        }
        p = nl ? nl + 1 : end;
    }
    /* A body without a Content-Type is sent as JSON (open311: as a form), so
     * that the seeds reach the body parsers; a seed that names its type
     * tests the 415 rule. */
    bool has_type = false;
    for (size_t i = 0; i < req.nheaders; i++)
        has_type = has_type || strcasecmp(headers[i].key, "Content-Type") == 0;
    if (!has_type && p < end && req.nheaders < FUZZ_MAX_HEADERS) {
        headers[req.nheaders].key = "Content-Type";
        headers[req.nheaders].value = strncmp(req.path, "/open311", 8) == 0
                                          ? "application/x-www-form-urlencoded"
                                          : "application/json";
        req.nheaders++;
    }
    req.headers = headers;
    req.body = p; /* text[size] == '\0' */
    req.body_len = (size_t)(end - p);

    struct md_response res;
    md_response_init(&res);
    md_api_handle(e->api, &e->w, &req, &res);
    if (res.deferred.poll)
        finish_deferred(&res);
    else if (res.stream.next)
        drain_stream(&res);
    check_response(&req, &res);
    if (getenv("MAPD_FUZZ_VERBOSE"))
        fprintf(stderr, "%s %s -> %d %.*s\n", req.method, req.path, res.status,
                (int)(res.body.len < 160 ? res.body.len : 160), res.body.data ? res.body.data : "");
    md_response_free(&res);
out:
    md_pool_free(pool);
    return 0;
}
