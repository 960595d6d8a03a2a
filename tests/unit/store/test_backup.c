/* store/backup: whole-file operations against real SpatiaLite files: the
 * online copy with its check and its error messages, the switch of a
 * bulk-built file to WAL, and the process-wide setup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "store.h"
#include "store_int.h"
#include "unit_store.h"

static char categories[512];

static int64_t q(struct md_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(md_store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(md_store_db(s)));
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static const char *journal_mode(struct md_store *s, char *buf, size_t n)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(md_store_db(s), "PRAGMA journal_mode", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(buf, n, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static void drop_files(const char *path)
{
    char side[300];
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-journal", path);
    unlink(side);
}

/* main() called md_store_global_init() before anything else: SQLite keeps
 * no allocation counters, so the memory it reports in use stays 0. */
static void global_init_turns_off_memory_counters(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("meminit");
    unit_insert_report(s, 116.4, 39.9);
    assert_int_equal(sqlite3_memory_used(), 0);
    md_store_global_init(); /* later calls do nothing (and do not fail) */
    unit_store_drop(s);
}

static void backup_copies_a_live_database(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("bsrc");
    unit_insert_report(s, 116.4, 39.9);
    unit_insert_report(s, 116.5, 39.8); /* in the WAL, not yet checkpointed */
    char copy[300];
    snprintf(copy, sizeof(copy), "%s.copy", md_store_path(s));
    drop_files(copy);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int64_t pages = -1;
    /* the source stays open (a serving process) */
    assert_int_equal(md_store_backup(md_store_path(s), copy, &pages, &ctx), MD_OK);
    assert_true(pages > 0);
    assert_int_equal(pages, q(s, "PRAGMA page_count"));
    struct md_store *c = NULL;
    assert_int_equal(md_store_open(copy, MD_STORE_READONLY, &c, &ctx), MD_OK);
    assert_int_equal(q(c, "SELECT count(*) FROM reports"), 2);
    assert_int_equal(q(c, "SELECT count(*) FROM categories"), 27);
    md_store_close(c);
    /* an existing destination is overwritten */
    unit_insert_report(s, 116.6, 39.7);
    assert_int_equal(md_store_backup(md_store_path(s), copy, &pages, &ctx), MD_OK);
    assert_int_equal(md_store_open(copy, MD_STORE_READONLY, &c, &ctx), MD_OK);
    assert_int_equal(q(c, "SELECT count(*) FROM reports"), 3);
    md_store_close(c);
    drop_files(copy);
    unit_store_drop(s);
}

static void backup_failures_say_which_step(void **state)
{
    (void)state;
    struct md_ctx ctx;
    int64_t pages = -1;
    char dst[256], notdb[256];
    snprintf(dst, sizeof(dst), "/tmp/mapd-unit-%d-bdst.sqlite", (int)getpid());
    drop_files(dst);

    md_ctx_init(&ctx);
    assert_int_equal(md_store_backup("/tmp/mapd-no-such-file.sqlite", dst, &pages, &ctx), MD_EIO);
    assert_string_equal(md_ctx_message(&ctx), "open failed: unable to open database file");
    assert_int_equal(pages, 0);

    struct md_store *s = unit_store_fresh("bsrc2");
    md_ctx_init(&ctx);
    assert_int_equal(
        md_store_backup(md_store_path(s), "/tmp/mapd-no-such-dir/x.sqlite", &pages, &ctx), MD_EIO);
    assert_string_equal(md_ctx_message(&ctx), "open failed: unable to open database file");
    unit_store_drop(s);

    /* a file that is not a database: the copy itself fails */
    snprintf(notdb, sizeof(notdb), "/tmp/mapd-unit-%d-notdb.sqlite", (int)getpid());
    FILE *f = fopen(notdb, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite database file, only text\n", f);
    fclose(f);
    md_ctx_init(&ctx);
    assert_int_equal(md_store_backup(notdb, dst, &pages, &ctx), MD_EDB);
    assert_string_equal(md_ctx_message(&ctx), "backup failed: file is not a database");
    unlink(notdb);
    drop_files(dst);
}

static void finish_bulk_file_switches_to_wal(void **state)
{
    (void)state;
    char path[256], mode[32];
    snprintf(path, sizeof(path), "/tmp/mapd-unit-%d-bulk.sqlite", (int)getpid());
    drop_files(path);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    assert_int_equal(md_store_open(path, MD_STORE_CREATE | MD_STORE_BULK, &s, &ctx), MD_OK);
    assert_int_equal(md_store_init(s, categories, &ctx), MD_OK);
    assert_string_equal(journal_mode(s, mode, sizeof(mode)), "memory");
    assert_int_equal(md_store_finish_bulk_file(s, &ctx), MD_OK);
    assert_string_equal(journal_mode(s, mode, sizeof(mode)), "wal");
    md_store_close(s);
    /* recorded in the file: a new connection finds WAL */
    assert_int_equal(md_store_open(path, MD_STORE_READONLY, &s, &ctx), MD_OK);
    assert_string_equal(journal_mode(s, mode, sizeof(mode)), "wal");
    md_store_close(s);
    drop_files(path);
}

static void finish_bulk_file_reports_failure(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "/tmp/mapd-unit-%d-bulkro.sqlite", (int)getpid());
    drop_files(path);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    /* a bulk-built file left in rollback mode, then opened read-only */
    assert_int_equal(md_store_open(path, MD_STORE_CREATE | MD_STORE_BULK, &s, &ctx), MD_OK);
    assert_int_equal(md_store_init(s, categories, &ctx), MD_OK);
    md_store_close(s);
    assert_int_equal(md_store_open(path, MD_STORE_READONLY, &s, &ctx), MD_OK);
    md_ctx_init(&ctx);
    assert_int_equal(md_store_finish_bulk_file(s, &ctx), MD_EIO);
    assert_non_null(strstr(md_ctx_message(&ctx), "switching to WAL failed: "));
    md_store_close(s);
    drop_files(path);
}

int main(void)
{
    md_store_global_init(); /* before any connection, as main.c does */
    snprintf(categories, sizeof(categories), "%s/sample-data/categories.json",
             getenv("MAPD_SOURCE_DIR") ? getenv("MAPD_SOURCE_DIR") : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(global_init_turns_off_memory_counters),
        cmocka_unit_test(backup_copies_a_live_database),
        cmocka_unit_test(backup_failures_say_which_step),
        cmocka_unit_test(finish_bulk_file_switches_to_wal),
        cmocka_unit_test(finish_bulk_file_reports_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
