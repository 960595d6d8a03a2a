/* test_faults.c - the quick fault tests of SPEC §9 (bench/faults/run.sh
 * has the long ones):
 *   - kill -9 at a random moment while many clients create reports, three
 *     times: the database passes PRAGMA integrity_check, holds every report
 *     that was answered 201, and the server starts on it again;
 *   - a full disk (a small tmpfs; root only, else skipped) during creates
 *     answers 507, never 500, and creates work again once space returns;
 *   - a read-only database (read-only mount as root, mode 0444 otherwise)
 *     and a world-writable one are refused at start with a clear message.
 */
#include "harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define WRITERS 8
#define MAX_ACKED 20000

struct load {
    struct md_harness *h;
    atomic_bool stop;
    atomic_int acked_n;
    long acked[MAX_ACKED];
    atomic_int status_count[600];
    size_t pad; /* description padding (full-disk test) */
};

static void *writer(void *arg)
{
    struct load *l = arg;
    const char *hdr[] = {"Content-Type: application/json", NULL};
    char *body = malloc(l->pad + 256);
    char *pad = malloc(l->pad + 1);
    memset(pad, 'x', l->pad);
    pad[l->pad] = '\0';
    for (unsigned i = 0; !atomic_load(&l->stop); i++) {
        int n = snprintf(body, l->pad + 256,
                         "{\"category\":\"200101\",\"lon\":116.%03u,\"lat\":39.9%02u,"
                         "\"description\":\"fault %u %s\"}", 390 + i % 20, 5 + i % 10, i, pad);
        struct md_http_res r;
        if (md_http(l->h, "POST", "/api/v1/reports", hdr, body, (size_t)n, &r) == 0) {
            if (r.status > 0 && r.status < 600)
                atomic_fetch_add(&l->status_count[r.status], 1);
            const char *p = strstr(r.body, "\"id\":");
            if (r.status == 201 && p) {
                int k = atomic_fetch_add(&l->acked_n, 1);
                if (k < MAX_ACKED)
                    l->acked[k] = atol(p + 5);
            }
        } else if (atomic_load(&l->stop)) {
            md_http_res_free(&r);
            break;
        }
        md_http_res_free(&r);
    }
    free(body);
    free(pad);
    return NULL;
}

/* integrity_check says ok and every acknowledged id is a row. */
static void check_db(const char *path, const struct load *l)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM reports WHERE id = ?", -1, &st,
                                        NULL), SQLITE_OK);
    int n = atomic_load(&l->acked_n);
    for (int i = 0; i < n && i < MAX_ACKED; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, l->acked[i]);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if (sqlite3_column_int(st, 0) != 1)
            fail_msg("acknowledged report %ld is missing", l->acked[i]);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void run_writers(struct load *l, pthread_t *t)
{
    atomic_store(&l->stop, false);
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&t[i], NULL, writer, l);
}

static void stop_writers(struct load *l, pthread_t *t)
{
    atomic_store(&l->stop, true);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
}

static void kill9_during_creates(void **state)
{
    (void)state;
    static struct load l;
    struct md_harness h;
    const char *args[] = {"--rate-limit", "0", NULL};
    pthread_t t[WRITERS];
    memset(&l, 0, sizeof(l));
    l.h = &h;
    srand((unsigned)time(NULL));
    md_harness_start(&h, args);
    for (int round = 0; round < 3; round++) {
        int before = atomic_load(&l.acked_n);
        run_writers(&l, t);
        /* Writes are flowing (a slow server, e.g. under valgrind, needs a
         * while), then a random moment. */
        for (int i = 0; i < 12000 && atomic_load(&l.acked_n) <= before; i++)
            usleep(10 * 1000);
        usleep((useconds_t)(rand() % 1200) * 1000);
        md_harness_kill(&h);
        stop_writers(&l, t);
        fprintf(stderr, "round %d: %d reports acknowledged before kill -9\n", round,
                atomic_load(&l.acked_n) - before);
        assert_true(atomic_load(&l.acked_n) > before);
        check_db(h.db, &l);
        md_harness_restart(&h, args);
        struct md_http_res r;
        assert_int_equal(md_http(&h, "GET", "/health", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        md_http_res_free(&r);
    }
    assert_int_equal(md_harness_stop(&h), 0);
}

static bool can_mount(void)
{
    if (geteuid() != 0)
        return false;
    return md_sh("mkdir -p /tmp/mapd-mount-probe && mount -t tmpfs -o size=1m tmpfs "
                 "/tmp/mapd-mount-probe 2>/dev/null && umount /tmp/mapd-mount-probe; "
                 "r=$?; rmdir /tmp/mapd-mount-probe; exit $r") == 0;
}

static void full_disk(void **state)
{
    (void)state;
    if (!can_mount()) {
        fprintf(stderr, "full_disk: needs root and tmpfs mounts; skipped\n");
        skip();
    }
    char dir[] = "/tmp/mapd-full-XXXXXX", db[64];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/db.sqlite", dir);
    struct stat st;
    assert_int_equal(stat(getenv("MAPD_FIXTURE_DB"), &st), 0);
    long mb = (long)(st.st_size >> 20) + 16;
    assert_int_equal(md_sh("mount -t tmpfs -o size=%ldm tmpfs %s && cp '%s' %s", mb, dir,
                           getenv("MAPD_FIXTURE_DB"), db), 0);
    static struct load l;
    memset(&l, 0, sizeof(l));
    l.pad = 2000;
    struct md_harness h;
    const char *args[] = {"--rate-limit", "0", NULL};
    md_harness_start_on(&h, db, args);
    l.h = &h;
    /* Leave about 256 KiB free. */
    assert_int_equal(md_sh("avail=$(df -k %s | tail -1 | awk '{print $4}'); "
                           "dd if=/dev/zero of=%s/filler bs=1k count=$((avail - 256)) 2>/dev/null",
                           dir, dir), 0);
    pthread_t t[WRITERS];
    run_writers(&l, t);
    for (int i = 0; i < 200 && atomic_load(&l.status_count[507]) < 20; i++)
        usleep(50 * 1000);
    stop_writers(&l, t);
    fprintf(stderr, "full disk: %d x 201, %d x 507, %d x 503, %d x 500\n",
            atomic_load(&l.status_count[201]), atomic_load(&l.status_count[507]),
            atomic_load(&l.status_count[503]), atomic_load(&l.status_count[500]));
    assert_true(atomic_load(&l.status_count[507]) + atomic_load(&l.status_count[503]) > 0);
    assert_int_equal(atomic_load(&l.status_count[500]), 0);
    struct md_http_res r;
    assert_int_equal(md_http(&h, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    md_http_res_free(&r);
    /* Space returns: creates work again. */
    assert_int_equal(md_sh("rm -f %s/filler", dir), 0);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    const char *body = "{\"category\":\"200101\",\"lon\":116.40,\"lat\":39.91}";
    assert_int_equal(md_http(&h, "POST", "/api/v1/reports", hdr, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    const char *p = strstr(r.body, "\"id\":");
    assert_non_null(p);
    l.acked[atomic_fetch_add(&l.acked_n, 1)] = atol(p + 5);
    md_http_res_free(&r);
    assert_int_equal(md_harness_stop(&h), 0);
    check_db(db, &l);
    md_sh("umount %s; rmdir %s", dir, dir);
}

/* `mapd serve` on db must exit 1 with `expect` in its stderr. */
static void expect_refused(const char *db, const char *expect)
{
    char log[] = "/tmp/mapd-refuse-XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    close(fd);
    int rc = md_sh("timeout 60 '%s' serve --db '%s' --port 0 --quiet >/dev/null 2>%s",
                   getenv("MAPD_BIN"), db, log);
    char text[1024] = "";
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    unlink(log);
    fprintf(stderr, "refused (exit %d): %s", rc, text);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(text, expect));
}

static void readonly_and_world_writable(void **state)
{
    (void)state;
    char dir[] = "/tmp/mapd-ro-XXXXXX", db[64];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/db.sqlite", dir);
    bool mounted = false;
    if (can_mount()) {
        assert_int_equal(md_sh("mount -t tmpfs -o size=256m tmpfs %s && cp '%s' %s && "
                               "mount -o remount,ro %s", dir, getenv("MAPD_FIXTURE_DB"), db, dir), 0);
        mounted = true;
    } else {
        assert_int_equal(md_sh("cp '%s' %s && chmod 0444 %s", getenv("MAPD_FIXTURE_DB"), db, db), 0);
    }
    expect_refused(db, "read-only");
    if (mounted)
        md_sh("umount %s", dir);
    md_sh("rm -f %s", db);
    assert_int_equal(md_sh("cp '%s' %s && chmod 0666 %s", getenv("MAPD_FIXTURE_DB"), db, db), 0);
    expect_refused(db, "world-writable");
    md_sh("rm -rf %s", dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kill9_during_creates),
        cmocka_unit_test(full_disk),
        cmocka_unit_test(readonly_and_world_writable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
