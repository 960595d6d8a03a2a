/* photos.c - report photos in the database (photos.h).
 *
 * Table report_photos: one row per photo; display/thumb are JPEG blobs,
 * NULL once removed (status 'removed'). Public iff status = 'kept' and the
 * report's status is neither 'reported' (not accepted yet) nor 'rejected'.
 */
#include "photos.h"
#include "pg_citizen.h"
#include "pg_reports.h"
#include "store_int.h"
#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md__photos_add_urls(json_t *photos)
{
    size_t i;
    json_t *p;
    json_array_foreach(photos, i, p)
    {
        char url[64];
        json_int_t pid = json_integer_value(json_object_get(p, "id"));
        snprintf(url, sizeof(url), "/api/v1/photos/%lld.jpg", (long long)pid);
        json_object_set_new(p, "url", json_string(url));
        snprintf(url, sizeof(url), "/api/v1/photos/%lld/thumb.jpg", (long long)pid);
        json_object_set_new(p, "thumb_url", json_string(url));
    }
}

static md_err kept_count(struct md_store *s, int64_t id, int64_t *n, char status[16],
                         struct md_ctx *ctx)
{
    static const char sql[] = "SELECT r.status, (SELECT count(*) FROM report_photos p"
                              " WHERE p.report_id = r.id AND p.status = 'kept')"
                              " FROM reports r WHERE r.id = ?";
    if (s->backend == MD_BACKEND_PG)
        return md__pg_photos_kept(s->pg, id, n, status, 16, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 0));
        *n = sqlite3_column_int64(st, 1);
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id);
    } else {
        rc = md_store_fail(s, src, "reading the report", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

static md_err insert_one(struct md_store *s, int64_t id, const struct md_photo_new *p,
                         const char *role, int64_t now, int64_t *photo_id, struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO report_photos(report_id, width, height, upload_bytes, display, display_etag,"
        " thumb, thumb_etag, actor_role, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    char de[MD_SHA256_HEX_LEN], te[MD_SHA256_HEX_LEN];
    md_sha256_hex(p->display, p->display_len, de);
    md_sha256_hex(p->thumb, p->thumb_len, te);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, p->width);
    sqlite3_bind_int(st, 3, p->height);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)p->upload_bytes);
    sqlite3_bind_blob64(st, 5, p->display, p->display_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, de, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 7, p->thumb, p->thumb_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, te, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, role, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, now);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "saving the photo", ctx);
    *photo_id = sqlite3_last_insert_rowid(md_store_db(s));
    return MD_OK;
}

md_err md__photos_insert(struct md_store *s, int64_t id, const char *status,
                         const struct md_photo_new *photos, size_t n, const char *role,
                         const char *actor, int64_t now, int64_t *ids, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_photos_insert(s->pg, id, status, photos, n, role, actor, now, ids, ctx);
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = insert_one(s, id, &photos[i], role, now, &ids[i], ctx);
        char note[48];
        snprintf(note, sizeof(note), "photo %lld", (long long)ids[i]);
        if (!rc)
            rc =
                md__report_history_add(s, id, "photo", status, status, role, actor, note, now, ctx);
    }
    return rc;
}

static md_err add_in_txn(struct md_store *s, int64_t id, const struct md_photo_new *photos,
                         size_t n, const struct md_principal *who, int64_t now, int64_t *ids,
                         struct md_ctx *ctx)
{
    int64_t have = 0;
    char status[16];
    md_err rc = kept_count(s, id, &have, status, ctx);
    if (!rc && have + (int64_t)n > MD_PHOTOS_PER_REPORT)
        rc = md_fail(ctx, MD_EUNPROC, "a report has at most %d photos; report %lld has %lld",
                     MD_PHOTOS_PER_REPORT, (long long)id, (long long)have);
    if (!rc)
        rc = md__photos_insert(s, id, status, photos, n, md_role_name(who->role), who->actor, now,
                               ids, ctx);
    if (!rc)
        rc = md__report_touch(s, id, now, ctx);
    return rc;
}

md_err md_photos_add(struct md_store *s, int64_t id, const struct md_photo_new *photos, size_t n,
                     const struct md_principal *who, int64_t now, int64_t *ids, struct md_ctx *ctx)
{
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    rc = add_in_txn(s, id, photos, n, who, now, ids, ctx);
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    return rc;
}

/* md_photo_bytes on PostgreSQL: the same rule on the row pg_citizen reads. */
static md_err pg_photo_bytes(struct md_store *s, int64_t photo_id, bool thumb, bool staff,
                             unsigned char **out, size_t *len, char etag[MD_SHA256_HEX_LEN + 2],
                             struct md_ctx *ctx)
{
    char hex[MD_SHA256_HEX_LEN + 1] = "", status[16] = "";
    bool found = false;
    md_err rc = md__pg_photo_read(s->pg, photo_id, thumb, out, len, hex, sizeof(hex), status,
                                  sizeof(status), &found, ctx);
    if (rc)
        return rc;
    if (!found)
        return md_fail(ctx, MD_ENOTFOUND, "no photo %lld", (long long)photo_id);
    if (!staff && (strcmp(status, "reported") == 0 || strcmp(status, "rejected") == 0)) {
        free(*out);
        *out = NULL;
        return md_fail(ctx, MD_ENOTFOUND,
                       "photo %lld is not public: its report is not accepted yet",
                       (long long)photo_id);
    }
    snprintf(etag, MD_SHA256_HEX_LEN + 2, "\"%.*s\"", MD_SHA256_HEX_LEN - 1, hex);
    return MD_OK;
}

md_err md_photo_bytes(struct md_store *s, int64_t photo_id, bool thumb, bool staff,
                      unsigned char **out, size_t *len, char etag[MD_SHA256_HEX_LEN + 2],
                      struct md_ctx *ctx)
{
    static const char display_sql[] =
        "SELECT p.display, p.display_etag, r.status FROM report_photos p"
        " JOIN reports r ON r.id = p.report_id WHERE p.id = ? AND p.status = 'kept'";
    static const char thumb_sql[] =
        "SELECT p.thumb, p.thumb_etag, r.status FROM report_photos p"
        " JOIN reports r ON r.id = p.report_id WHERE p.id = ? AND p.status = 'kept'";
    if (s->backend == MD_BACKEND_PG)
        return pg_photo_bytes(s, photo_id, thumb, staff, out, len, etag, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, thumb ? thumb_sql : display_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, photo_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 2);
        bool accepted =
            status && strcmp(status, "reported") != 0 && strcmp(status, "rejected") != 0;
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const void *b = sqlite3_column_blob(st, 0);
        if (!accepted && !staff) {
            rc = md_fail(ctx, MD_ENOTFOUND,
                         "photo %lld is not public: its report is not accepted yet",
                         (long long)photo_id);
        } else if (!b || !(*out = malloc(n))) {
            rc = md_fail(ctx, b ? MD_ENOMEM : MD_ENOTFOUND, "photo %lld", (long long)photo_id);
        } else {
            memcpy(*out, b, n);
            *len = n;
            snprintf(etag, MD_SHA256_HEX_LEN + 2, "\"%.*s\"", MD_SHA256_HEX_LEN - 1,
                     (const char *)sqlite3_column_text(st, 1));
        }
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_ENOTFOUND, "no photo %lld", (long long)photo_id);
    } else {
        rc = md_store_fail(s, src, "reading the photo", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

/* remove_in_txn on PostgreSQL. */
static md_err pg_remove(struct md_store *s, int64_t photo_id, const struct md_principal *who,
                        int64_t now, struct md_ctx *ctx)
{
    int64_t report_id = 0;
    char status[16] = "";
    bool found = false;
    md_err rc = md__pg_photo_find(s->pg, photo_id, &report_id, status, sizeof(status), &found, ctx);
    if (!rc && !found)
        rc = md_fail(ctx, MD_ENOTFOUND, "no photo %lld (or it is already removed)",
                     (long long)photo_id);
    if (!rc)
        rc = md__pg_photo_drop(s->pg, photo_id, now, ctx);
    char note[48];
    snprintf(note, sizeof(note), "photo %lld", (long long)photo_id);
    if (!rc)
        rc = md__report_history_add(s, report_id, "photo_removed", status, status,
                                    md_role_name(who->role), who->actor, note, now, ctx);
    if (!rc)
        rc = md__report_touch(s, report_id, now, ctx);
    return rc;
}

static md_err remove_in_txn(struct md_store *s, int64_t photo_id, const struct md_principal *who,
                            int64_t now, struct md_ctx *ctx)
{
    static const char find_sql[] =
        "SELECT p.report_id, r.status FROM report_photos p JOIN reports r ON r.id = p.report_id"
        " WHERE p.id = ? AND p.status = 'kept'";
    static const char sql[] = "UPDATE report_photos SET status = 'removed', display = NULL,"
                              " thumb = NULL, removed_at = ? WHERE id = ?";
    if (s->backend == MD_BACKEND_PG)
        return pg_remove(s, photo_id, who, now, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, find_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, photo_id);
    int src = sqlite3_step(st);
    int64_t report_id = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    char status[16] = "";
    if (src == SQLITE_ROW)
        snprintf(status, sizeof(status), "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    if (src == SQLITE_DONE)
        return md_fail(ctx, MD_ENOTFOUND, "no photo %lld (or it is already removed)",
                       (long long)photo_id);
    if (src != SQLITE_ROW)
        return md_store_fail(s, src, "reading the photo", ctx);
    rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, photo_id);
    src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "removing the photo", ctx);
    char note[48];
    snprintf(note, sizeof(note), "photo %lld", (long long)photo_id);
    rc = md__report_history_add(s, report_id, "photo_removed", status, status,
                                md_role_name(who->role), who->actor, note, now, ctx);
    if (!rc)
        rc = md__report_touch(s, report_id, now, ctx);
    return rc;
}

md_err md_photo_remove(struct md_store *s, int64_t photo_id, const struct md_principal *who,
                       int64_t now, struct md_ctx *ctx)
{
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    rc = remove_in_txn(s, photo_id, who, now, ctx);
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    return rc;
}
