/* backup.h - the database as a whole file: an online copy (`mapd backup`),
 * making a file built in bulk mode an ordinary durable database (`mapd
 * sample`), and the process-wide setup of the database library that must
 * happen before the first connection (main).
 */
#ifndef MD_BACKUP_H
#define MD_BACKUP_H

#include "md_err.h"
#include <stdint.h>

struct md_store;

/* Process-wide, once, before any md_store_open: no global allocation
 * counters in SQLite (they take one mutex on every malloc/free of every
 * worker). Called later it has no effect. */
void md_store_global_init(void);

/* Copy the database at src_path into dst_path (created or overwritten)
 * with SQLite's online backup, while other processes keep reading and
 * writing src_path: all pages in one step, so one read snapshot of the
 * source, retried while the source is busy or locked. Then PRAGMA
 * quick_check on the copy. *pages gets the number of pages copied (0 when
 * the copy did not start). The caller syncs and renames dst_path, and
 * removes it on failure. Errors (ctx message "<step> failed: <detail>", step
 * one of open, backup, checking the copy; a failed check adds " / " and the
 * check's first line): mapped like md_store_fail (MD_EIO, MD_EBUSY,
 * MD_ENOSPACE, MD_EDB...). */
md_err md_store_backup(const char *src_path, const char *dst_path, int64_t *pages,
                       struct md_ctx *ctx) MD_WUR;

/* End bulk building of a file opened with MD_STORE_BULK (in-memory
 * journal, no fsync): switch it to WAL, the journal mode every served
 * database has and that the file itself records, so later connections and
 * other processes find it. Not yet durable: close the store and sync()
 * after. MD_EIO "switching to WAL failed: ..." on failure. */
md_err md_store_finish_bulk_file(struct md_store *s, struct md_ctx *ctx) MD_WUR;

#endif
