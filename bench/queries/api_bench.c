/* api_bench.c (bench/queries) - mapd's request handling without HTTP: the API handler
 * (parameters, query, rendering, SQLite read transaction) called in a loop
 * on one thread, for the paths of a file, to split the time of an HTTP
 * request between mapd's own work and the network stack (bench/queries).
 *
 *   api_bench DB PATHS_FILE SECONDS [FEATURE_CACHE_MB]
 *
 * Prints requests/s and p50/p99 per request in microseconds. Every answer
 * must be 200, or the run fails. Run by hand (not part of make test).
 */
#include "api.h"
#include "geos_ctx.h"
#include "md_time.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATHS 100000
#define MAX_QUERY 32

struct path {
    char *path;
    struct md_kv query[MAX_QUERY];
    size_t nquery;
};

/* Split "/p?a=1&b=2" in place (no percent-decoding: bench paths are plain). */
static void parse(char *line, struct path *p)
{
    p->path = line;
    char *q = strchr(line, '?');
    if (!q)
        return;
    *q++ = '\0';
    for (char *kv = strtok(q, "&"); kv && p->nquery < MAX_QUERY; kv = strtok(NULL, "&")) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq++ = '\0';
        p->query[p->nquery++] = (struct md_kv){kv, eq ? eq : ""};
    }
}

static int load_paths(const char *file, struct path **out)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    struct path *v = calloc(MAX_PATHS, sizeof(*v));
    char line[4096];
    int n = 0;
    while (v && n < MAX_PATHS && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '/')
            parse(strdup(line), &v[n++]);
    }
    fclose(f);
    *out = v;
    return v ? n : -1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: api_bench DB PATHS_FILE SECONDS [FEATURE_CACHE_MB]\n");
        return 2;
    }
    struct path *paths = NULL;
    int npaths = load_paths(argv[2], &paths);
    double secs = atof(argv[3]);
    if (npaths <= 0 || !(secs > 0)) {
        fprintf(stderr, "api_bench: no paths in %s, or bad SECONDS\n", argv[2]);
        return 2;
    }
    struct md_config cfg = {
        .db_path = argv[1],
        .max_body_bytes = 1024 * 1024,
        .feature_cache_bytes = (size_t)(argc > 4 ? atoi(argv[4]) : 64) << 20,
        .max_query_limit = 10000,
        .timezone_offset_min = 480,
    };
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_api *api = NULL;
    struct md_worker w = {0};
    if (md_api_new(&cfg, &api, &ctx) ||
        md_store_open(argv[1], MD_STORE_READWRITE, &w.store, &ctx) ||
        !(w.geos = md_geos_new()) || !(w.proj = proj_context_create())) {
        fprintf(stderr, "api_bench: %s\n", md_ctx_message(&ctx));
        return 1;
    }
    size_t cap = 1 << 22, n = 0;
    int64_t *lat = malloc(cap * sizeof(*lat));
    int64_t t0 = md_time_mono_us(), end = t0 + (int64_t)(secs * 1e6), now = t0;
    int status = 200;
    for (size_t i = 0; lat && now < end && status == 200; i++) {
        const struct path *p = &paths[i % (size_t)npaths];
        struct md_pool *pool = md_pool_new((size_t)64 << 20);
        struct md_request req = {.method = "GET", .path = p->path, .query = p->query,
                                 .nquery = p->nquery, .client_addr = "127.0.0.1", .pool = pool};
        struct md_response res;
        md_response_init(&res);
        int64_t a = md_time_mono_us();
        md_api_handle(api, &w, &req, &res);
        now = md_time_mono_us();
        status = res.status;
        if (status != 200)
            fprintf(stderr, "api_bench: %s answered %d: %.300s\n", p->path, status,
                    res.body.data ? res.body.data : "");
        if (n < cap)
            lat[n++] = now - a;
        md_response_free(&res);
        md_pool_free(pool);
    }
    double elapsed = (double)(now - t0) / 1e6;
    if (n)
        qsort(lat, n, sizeof(*lat), cmp_i64);
    if (n)
        printf("%zu requests in %.1f s: %.0f req/s on one thread, p50 %lld us, p99 %lld us\n", n,
               elapsed, (double)n / elapsed, (long long)lat[n / 2], (long long)lat[n * 99 / 100]);
    free(lat);
    md_store_close(w.store);
    md_geos_free(w.geos);
    proj_context_destroy(w.proj);
    md_api_free(api);
    return status == 200 && n ? 0 : 1;
}
