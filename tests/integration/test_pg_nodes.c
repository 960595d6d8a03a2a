/* test_pg_nodes.c - several mapd nodes over one PostgreSQL (issue 13).
 *
 * A throwaway PostgreSQL + PostGIS cluster holds a small sample city
 * (`mapd sample --db postgresql://...`); two `mapd serve` processes, node A
 * and node B, run over it, each with its own tile, feature and cluster
 * caches. Checked over real HTTP:
 *   - a write committed in the database by someone else (another node, an
 *     operator's psql) is in the very next tile each node serves, at a
 *     raw-point zoom and at a cluster zoom, after both had cached the tile;
 *   - a move and a delete leave neither node serving the old state;
 *   - 1,000 reports created through node A, each in the next tile fetched
 *     from node B (0 misses), and each readable from node B at once; each
 *     201 carries its Mapd-Consistency token;
 *   - events: a report filed through node A reaches an SSE stream on node
 *     B at once; a stream resumed on node A with node B's Last-Event-ID
 *     gets what followed; with the LISTEN connections killed, the feeds
 *     reconnect (metrics) and events still arrive;
 *   - the /health of both nodes counts the same reports.
 * The tiles are decoded with the MVT decoder (tiles/mvt_decode.h) and the
 * report is looked for by its feature id.
 */
#include "harness.h"
#include "pg_harness.h"

#include "md_pool.h"
#include "mvt_decode.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static struct md_pg_cluster pg;
static char uri[256];
static struct md_harness node_a, node_b;
static PGconn *sql;

static const char *const node_args[] = {"--rate-limit", "0", "--quiet", NULL};

static int setup(void **state)
{
    (void)state;
    const char *bin = getenv("MAPD_BIN");
    if (!bin || md_pg_cluster_start(&pg, "") != 0)
        return -1;
    snprintf(uri, sizeof(uri), "postgresql://postgres@127.0.0.1:%u/postgres", pg.port);
    if (md_sh("'%s' sample --db '%s' --facilities 2000 --reports 4000 --seed 5 --quiet", bin,
              uri) != 0)
        return -1;
    md_harness_start_on(&node_a, uri, node_args);
    md_harness_start_on(&node_b, uri, node_args);
    sql = md_pg_connect(pg.conninfo);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(sql);
    int a = md_harness_stop(&node_a), b = md_harness_stop(&node_b);
    md_pg_cluster_stop(&pg);
    return a || b;
}

struct tile_xyz {
    int z;
    long x, y;
};

static struct tile_xyz tile_of(int z, double lon, double lat)
{
    double n = (double)(1L << z), r = lat * M_PI / 180.0;
    struct tile_xyz t = {z, (long)floor((lon + 180.0) / 360.0 * n),
                         (long)floor((1.0 - asinh(tan(r)) / M_PI) / 2.0 * n)};
    return t;
}

/* GET the reports tile t from node h: its raw bytes (caller frees) and
 * whether a feature with id `id` is in it. */
static char *get_tile(const struct md_harness *h, struct tile_xyz t, int64_t id, bool *has,
                      size_t *len)
{
    char path[96];
    snprintf(path, sizeof(path), "/tiles/reports/%d/%ld/%ld.mvt", t.z, t.x, t.y);
    struct md_http_res r;
    assert_int_equal(md_http(h, "GET", path, NULL, NULL, 0, &r), 0);
    if (r.status != 200 && r.status != 204)
        fprintf(stderr, "%s%s -> %ld %s\n", h->base, path, r.status, r.body);
    assert_true(r.status == 200 || r.status == 204);
    *has = false;
    if (r.len) {
        struct md_pool *pool = md_pool_new((size_t)64 << 20);
        VectorTile__Tile *tile = NULL;
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        assert_int_equal(md_mvt_decode(r.body, r.len, pool, &tile, &ctx), MD_OK);
        for (size_t l = 0; l < tile->n_layers; l++)
            for (size_t f = 0; f < tile->layers[l]->n_features; f++)
                if (tile->layers[l]->features[f]->has_id &&
                    tile->layers[l]->features[f]->id == (uint64_t)id)
                    *has = true;
        md_pool_free(pool);
    }
    *len = r.len;
    char *bytes = malloc(r.len + 1);
    memcpy(bytes, r.body, r.len);
    md_http_res_free(&r);
    return bytes;
}

static bool tile_has(const struct md_harness *h, struct tile_xyz t, int64_t id)
{
    bool has = false;
    size_t len = 0;
    free(get_tile(h, t, id, &has, &len));
    return has;
}

static int64_t sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t sql_int(const char *fmt, ...)
{
    char q[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof(q), fmt, ap);
    va_end(ap);
    return md_pg_scalar(sql, q);
}

/* A report written straight into PostgreSQL, as another node's writer would. */
static int64_t insert_report(double lon, double lat)
{
    return sql_int("INSERT INTO reports(kind, service_code, district_code, status, channel,"
                   " created_at, updated_at, lon, lat) SELECT 'problem', code, '110101', 'reported',"
                   " 'app', 1796000000, 1796000000, %.7f, %.7f FROM categories"
                   " WHERE kind = 'problem' ORDER BY code LIMIT 1 RETURNING id",
                   lon, lat);
}

static void outside_write_in_next_tile_of_each_node(void **state)
{
    (void)state;
    const double lon = 116.3912345, lat = 39.9067891;
    struct tile_xyz z16 = tile_of(16, lon, lat), z10 = tile_of(10, lon, lat);
    /* Both nodes cache both tiles first. */
    bool has;
    size_t len_a, len_b;
    char *before_a = get_tile(&node_a, z10, 0, &has, &len_a);
    char *before_b = get_tile(&node_b, z10, 0, &has, &len_b);
    assert_true(len_a > 0 && len_a == len_b && memcmp(before_a, before_b, len_a) == 0);
    int64_t next = sql_int("SELECT coalesce(max(id), 0) + 1 FROM reports");
    assert_false(tile_has(&node_a, z16, next) || tile_has(&node_b, z16, next)); /* now cached */
    int64_t id = insert_report(lon, lat);
    assert_true(id > 0);
    assert_true(tile_has(&node_a, z16, id));
    assert_true(tile_has(&node_b, z16, id));
    /* The cluster zoom's tile changed on both nodes (one more report in a
     * cluster's count), and both say the same. */
    size_t after_len_a, after_len_b;
    char *after_a = get_tile(&node_a, z10, 0, &has, &after_len_a);
    char *after_b = get_tile(&node_b, z10, 0, &has, &after_len_b);
    assert_true(after_len_a != len_a || memcmp(after_a, before_a, len_a) != 0);
    assert_true(after_len_a == after_len_b && memcmp(after_a, after_b, after_len_a) == 0);
    free(before_a);
    free(before_b);
    free(after_a);
    free(after_b);
}

static void move_and_delete_seen_by_each_node(void **state)
{
    (void)state;
    const double lon = 116.4012345, lat = 39.9167891, lon2 = 116.4512345, lat2 = 39.9367891;
    struct tile_xyz from = tile_of(16, lon, lat), to = tile_of(16, lon2, lat2);
    int64_t id = insert_report(lon, lat);
    assert_true(tile_has(&node_a, from, id) && tile_has(&node_b, from, id));
    assert_false(tile_has(&node_a, to, id) || tile_has(&node_b, to, id)); /* cached, without it */
    assert_int_equal(sql_int("WITH u AS (UPDATE reports SET lon = %.7f, lat = %.7f WHERE id = %lld"
                             " RETURNING 1) SELECT count(*) FROM u",
                             lon2, lat2, (long long)id),
                     1);
    assert_false(tile_has(&node_a, from, id) || tile_has(&node_b, from, id));
    assert_true(tile_has(&node_a, to, id) && tile_has(&node_b, to, id));
    assert_int_equal(sql_int("WITH d AS (DELETE FROM reports WHERE id = %lld RETURNING 1)"
                             " SELECT count(*) FROM d",
                             (long long)id),
                     1);
    assert_false(tile_has(&node_a, to, id) || tile_has(&node_b, to, id));
}

static double json_number(const char *body, const char *key)
{
    json_t *j = json_loads(body, 0, NULL);
    double v = j ? json_number_value(json_object_get(j, key)) : NAN;
    json_decref(j);
    return v;
}

static void creates_through_a_in_next_tile_from_b(void **state)
{
    (void)state;
    const int n = 1000;
    int misses = 0, unreadable = 0;
    for (int i = 0; i < n; i++) {
        /* Spread over the city centre: many tiles, some shared. */
        double lon = 116.30 + (double)(i % 40) * 0.005 + (double)i * 1e-7;
        double lat = 39.86 + (double)(i / 40) * 0.004;
        char body[160];
        snprintf(body, sizeof(body), "{\"category\":\"200102\",\"lon\":%.7f,\"lat\":%.7f}", lon, lat);
        struct md_http_res r;
        assert_int_equal(md_http(&node_a, "POST", "/api/v1/reports", NULL, body, strlen(body), &r),
                         0);
        if (r.status != 201)
            fprintf(stderr, "create %d -> %ld %s\n", i, r.status, r.body);
        assert_int_equal(r.status, 201);
        int64_t id = (int64_t)json_number(r.body, "id");
        char token[32] = "";
        assert_true(md_http_header(&r, "Mapd-Consistency", token, sizeof(token)));
        assert_true(atoll(token) > 0); /* the write's change number */
        md_http_res_free(&r);
        if (!tile_has(&node_b, tile_of(16, lon, lat), id))
            misses++;
        char path[64];
        snprintf(path, sizeof(path), "/api/v1/reports/%lld", (long long)id);
        assert_int_equal(md_http(&node_b, "GET", path, NULL, NULL, 0, &r), 0);
        if (r.status != 200)
            unreadable++;
        md_http_res_free(&r);
    }
    fprintf(stderr, "pg_nodes: %d creates through node A: %d missing from node B's next tile,"
                    " %d unreadable from node B\n",
            n, misses, unreadable);
    assert_int_equal(misses, 0);
    assert_int_equal(unreadable, 0);
}

/* ---- events across nodes -------------------------------------------------- */

/* An event stream opened on node h (after: Last-Event-ID, or -1). */
static int sse_open(const struct md_harness *h, long long after)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(h->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char req[256];
    int n = after >= 0 ? snprintf(req, sizeof(req),
                                  "GET /api/v1/events HTTP/1.1\r\nHost: t\r\n"
                                  "Last-Event-ID: %lld\r\n\r\n",
                                  after)
                       : snprintf(req, sizeof(req), "GET /api/v1/events HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read the stream until a report.created event of report `id` arrives
 * (true; its event id into *event_id) or `ms` pass (false). */
static bool sse_wait_created(int fd, long long id, int ms, long long *event_id)
{
    static char buf[1 << 20];
    size_t len = 0;
    char needle[64];
    snprintf(needle, sizeof(needle), "\"id\":%lld,", id);
    int64_t until = now_ms() + ms;
    while (now_ms() < until && len < sizeof(buf) - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(until - now_ms())) <= 0)
            continue;
        ssize_t got = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (got <= 0)
            return false;
        len += (size_t)got;
        buf[len] = '\0';
        /* A frame "id: N\nevent: report.created\ndata: {...}" holding the report. */
        for (char *f = strstr(buf, "id: "); f; f = strstr(f + 1, "\nid: ")) {
            char *start = *f == '\n' ? f + 1 : f;
            char *end = strstr(start, "\n\n");
            if (!end)
                break;
            *end = '\0';
            bool hit = strstr(start, "event: report.created") && strstr(start, needle);
            if (hit && event_id)
                *event_id = atoll(start + 4);
            *end = '\n';
            if (hit)
                return true;
        }
    }
    return false;
}

static long long create_on(const struct md_harness *h, double lon, double lat)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"category\":\"200102\",\"lon\":%.7f,\"lat\":%.7f}", lon, lat);
    struct md_http_res r;
    assert_int_equal(md_http(h, "POST", "/api/v1/reports", NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    long long id = (long long)json_number(r.body, "id");
    md_http_res_free(&r);
    return id;
}

static long long metric(const struct md_harness *h, const char *name)
{
    struct md_http_res r;
    assert_int_equal(md_http(h, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    char key[96];
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *p = strstr(r.body, key);
    long long v = p ? atoll(p + strlen(key)) : -1;
    md_http_res_free(&r);
    return v;
}

/* A report filed through node A reaches an event stream on node B at once
 * (node B LISTENs); a stream resumed on node A with node B's Last-Event-ID
 * gets what followed; after the LISTEN connections are killed, the feeds
 * reconnect and events still arrive. */
static void events_across_nodes(void **state)
{
    (void)state;
    int on_b = sse_open(&node_b, -1);
    usleep(200000); /* the stream is registered */
    int64_t t0 = now_ms();
    long long id = create_on(&node_a, 116.3811, 39.9011), event_id = 0;
    assert_true(sse_wait_created(on_b, id, 5000, &event_id));
    int64_t latency = now_ms() - t0;
    close(on_b);
    long long id2 = create_on(&node_b, 116.3822, 39.9022);
    int on_a = sse_open(&node_a, event_id);
    assert_true(sse_wait_created(on_a, id2, 5000, NULL));
    close(on_a);

    long long killed = sql_int("SELECT count(*) FROM (SELECT pg_terminate_backend(pid)"
                               " FROM pg_stat_activity"
                               " WHERE application_name = 'mapd-changefeed') k");
    assert_true(killed >= 2);
    on_b = sse_open(&node_b, -1);
    usleep(200000);
    long long id3 = create_on(&node_a, 116.3833, 39.9033);
    assert_true(sse_wait_created(on_b, id3, 5000, NULL));
    close(on_b);
    bool back = false;
    for (int i = 0; i < 100 && !back; i++) {
        back = metric(&node_b, "mapd_changefeed_reconnects_total") >= 1 &&
               metric(&node_b, "mapd_changefeed_connected") == 1;
        if (!back)
            usleep(100000);
    }
    assert_true(back);
    fprintf(stderr, "pg_nodes: a report filed through node A reached node B's event stream in"
                    " %lld ms\n",
            (long long)latency);
}

static void health_agrees(void **state)
{
    (void)state;
    struct md_http_res ra, rb;
    assert_int_equal(md_http(&node_a, "GET", "/health", NULL, NULL, 0, &ra), 0);
    assert_int_equal(md_http(&node_b, "GET", "/health", NULL, NULL, 0, &rb), 0);
    assert_int_equal(ra.status, 200);
    assert_int_equal(rb.status, 200);
    json_t *a = json_loads(ra.body, 0, NULL), *b = json_loads(rb.body, 0, NULL);
    assert_non_null(a);
    assert_non_null(b);
    json_t *la = json_object_get(a, "layers"), *lb = json_object_get(b, "layers");
    char *sa = json_dumps(la, JSON_SORT_KEYS), *sb = json_dumps(lb, JSON_SORT_KEYS);
    assert_non_null(sa);
    assert_string_equal(sa, sb);
    assert_int_equal(sql_int("SELECT count(*) FROM reports") > 4000, 1);
    free(sa);
    free(sb);
    json_decref(a);
    json_decref(b);
    md_http_res_free(&ra);
    md_http_res_free(&rb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outside_write_in_next_tile_of_each_node),
        cmocka_unit_test(move_and_delete_seen_by_each_node),
        cmocka_unit_test(creates_through_a_in_next_tile_from_b),
        cmocka_unit_test(events_across_nodes),
        cmocka_unit_test(health_agrees),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
