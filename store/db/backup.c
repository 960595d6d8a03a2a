/* backup.c - whole-file operations (see backup.h): SQLite's online backup
 * with its check, the switch of a bulk-built file to WAL, and the
 * process-wide library configuration. The backup uses two raw connections
 * of its own (no SpatiaLite: pages are copied, not interpreted), never a
 * struct md_store, so it can copy any mapd file, even one of another
 * schema version.
 */
#include "backup.h"
#include "store_int.h"

#include <stdio.h>
#include <string.h>

void md_store_global_init(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

md_err md_store_backup(const char *src_path, const char *dst_path, int64_t *pages,
                       struct md_ctx *ctx)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b = NULL;
    const char *what = "open";
    *pages = 0;
    int rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(src, 10000);
        what = "backup";
        b = sqlite3_backup_init(dst, "main", src, "main");
        if (!b)
            rc = sqlite3_errcode(dst);
    }
    if (b) {
        /* All pages in one step: one read transaction on the source, so the
         * copy is one snapshot and concurrent writers never restart it. */
        do {
            rc = sqlite3_backup_step(b, -1);
            if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                sqlite3_sleep(50);
        } while (rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
        *pages = sqlite3_backup_pagecount(b);
        int frc = sqlite3_backup_finish(b);
        if (rc == SQLITE_DONE)
            rc = frc;
    }
    char check[64] = "";
    if (rc == SQLITE_OK) {
        what = "checking the copy";
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL);
        if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            snprintf(check, sizeof(check), "%s", sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (rc == SQLITE_OK && strcmp(check, "ok") != 0)
            rc = SQLITE_CORRUPT;
    }
    md_err err = MD_OK;
    if (rc != SQLITE_OK) {
        const char *msg = dst && sqlite3_errcode(dst) ? sqlite3_errmsg(dst) : sqlite3_errstr(rc);
        /* md_store_fail's mapping of the code, with this message. */
        struct md_ctx scratch;
        md_ctx_init(&scratch);
        err = md_store_fail(NULL, rc, what, &scratch);
        md_fail(ctx, err, "%s failed: %s%s%s", what, msg, check[0] ? " / " : "", check);
    }
    sqlite3_close(dst);
    sqlite3_close(src);
    return err;
}

md_err md_store_finish_bulk_file(struct md_store *s, struct md_ctx *ctx)
{
    if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
        return md_fail(ctx, MD_EIO, "switching to WAL failed: %s", sqlite3_errmsg(s->db));
    return MD_OK;
}
