/* test_pg_replica.c - a node reading tiles from a streaming replica without
 * stale reads for a writer (issue 13).
 *
 * A throwaway primary with a small sample city and a streaming replica of
 * it (pg_basebackup -R); one `mapd serve --db PRIMARY --read-db REPLICA`.
 * With the replica's replay paused (pg_wal_replay_pause) and a report
 * written on the primary:
 *   - a tile request without a token is read from the replica (header
 *     Mapd-Read-From: replica) and does not have the report yet (so the
 *     replica really is what is read);
 *   - a request with Mapd-Consistency = the write's change number waits
 *     --replica-wait-ms, then is read from the primary, and has it;
 *   - after replay resumes, the token is met by the replica again;
 *   - a malformed token is a 400 naming the header.
 */
#include "harness.h"
#include "pg_harness.h"

#include "md_pool.h"
#include "mvt_decode.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static struct md_pg_cluster primary, standby;
static struct md_harness node;
static PGconn *on_primary, *on_standby;

static void uri_of(const struct md_pg_cluster *c, char *out, size_t n)
{
    snprintf(out, n, "postgresql://postgres@127.0.0.1:%u/postgres", c->port);
}

static int setup(void **state)
{
    (void)state;
    const char *bin = getenv("MAPD_BIN");
    char p[128], r[128];
    if (!bin || md_pg_cluster_start(&primary, "") != 0)
        return -1;
    uri_of(&primary, p, sizeof(p));
    if (md_sh("'%s' sample --db '%s' --facilities 1000 --reports 2000 --seed 9 --quiet", bin, p))
        return -1;
    if (md_pg_standby_start(&standby, &primary) != 0)
        return -1;
    uri_of(&standby, r, sizeof(r));
    on_primary = md_pg_connect(primary.conninfo);
    on_standby = md_pg_connect(standby.conninfo);
    /* The replica has the whole city before the node starts. */
    long long want = md_pg_scalar(on_primary, "SELECT max(seq) FROM change_log");
    for (int i = 0; i < 500 && md_pg_scalar(on_standby, "SELECT coalesce(max(seq), 0) FROM"
                                                       " change_log") < want;
         i++)
        usleep(20000);
    const char *args[] = {"--read-db", r, "--replica-wait-ms", "300", "--quiet", NULL};
    md_harness_start_on(&node, p, args);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(on_primary);
    PQfinish(on_standby);
    int rc = md_harness_stop(&node);
    md_pg_cluster_stop(&standby);
    md_pg_cluster_stop(&primary);
    return rc;
}

struct got {
    long status;
    bool has;
    char read_from[16];
    double ms;
};

/* GET the z16 reports tile over (lon, lat), with `token` (NULL: none). */
static struct got get_tile(double lon, double lat, int64_t id, const char *token)
{
    const int z = 16;
    double n = (double)(1L << z), rad = lat * M_PI / 180.0;
    char path[96], hdr[64];
    snprintf(path, sizeof(path), "/tiles/reports/%d/%ld/%ld.mvt", z,
             (long)floor((lon + 180.0) / 360.0 * n),
             (long)floor((1.0 - asinh(tan(rad)) / M_PI) / 2.0 * n));
    snprintf(hdr, sizeof(hdr), "Mapd-Consistency: %s", token ? token : "");
    const char *headers[] = {hdr, NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct md_http_res r;
    assert_int_equal(md_http(&node, "GET", path, token ? headers : NULL, NULL, 0, &r), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct got g = {.status = r.status,
                    .ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                          (double)(t1.tv_nsec - t0.tv_nsec) / 1e6};
    md_http_header(&r, "Mapd-Read-From", g.read_from, sizeof(g.read_from));
    if (r.status == 200 && r.len) {
        struct md_pool *pool = md_pool_new((size_t)64 << 20);
        VectorTile__Tile *tile = NULL;
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        assert_int_equal(md_mvt_decode(r.body, r.len, pool, &tile, &ctx), MD_OK);
        for (size_t l = 0; l < tile->n_layers; l++)
            for (size_t f = 0; f < tile->layers[l]->n_features; f++)
                g.has |= tile->layers[l]->features[f]->has_id &&
                         tile->layers[l]->features[f]->id == (uint64_t)id;
        md_pool_free(pool);
    }
    md_http_res_free(&r);
    return g;
}

static void paused_replica_never_stale_for_a_token(void **state)
{
    (void)state;
    const double lon = 116.3912345, lat = 39.9067891;
    struct got g = get_tile(lon, lat, 0, NULL); /* cached, from the replica */
    assert_int_equal(g.status, 200);
    assert_string_equal(g.read_from, "replica");

    md_pg_exec_ok(on_standby, "SELECT pg_wal_replay_pause()");
    long long id = md_pg_scalar(
        on_primary, "INSERT INTO reports(kind, service_code, district_code, status, channel,"
                    " created_at, updated_at, lon, lat) SELECT 'problem', min(code), '110101',"
                    " 'reported', 'app', 1796000000, 1796000000, 116.3912345, 39.9067891"
                    " FROM categories WHERE kind = 'problem' RETURNING id");
    char token[32];
    snprintf(token, sizeof(token), "%lld",
             md_pg_scalar(on_primary, "SELECT max(seq) FROM change_log"));

    g = get_tile(lon, lat, id, NULL);
    assert_string_equal(g.read_from, "replica");
    assert_false(g.has); /* the replica's state: the write is not replayed there */

    g = get_tile(lon, lat, id, token);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.read_from, "primary");
    assert_true(g.has);
    assert_true(g.ms >= 250); /* it waited for the replica first */

    md_pg_exec_ok(on_standby, "SELECT pg_wal_replay_resume()");
    bool replica = false;
    for (int i = 0; i < 100 && !replica; i++) {
        g = get_tile(lon, lat, id, token);
        replica = strcmp(g.read_from, "replica") == 0;
        assert_true(g.has);
    }
    assert_true(replica);
}

static void malformed_token_is_400(void **state)
{
    (void)state;
    const char *headers[] = {"Mapd-Consistency: soon", NULL};
    struct md_http_res r;
    assert_int_equal(md_http(&node, "GET", "/tiles/reports/16/53961/24817.mvt", headers, NULL, 0,
                             &r),
                     0);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "Mapd-Consistency"));
    md_http_res_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paused_replica_never_stale_for_a_token),
        cmocka_unit_test(malformed_token_is_400),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
