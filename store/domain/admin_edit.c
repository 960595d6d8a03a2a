/* admin_edit.c - admins' edits of facilities and facility categories
 * (admin_edit.h). Each edit reads the row, writes only the fields that
 * change, and records {"before": {...}, "after": {...}} of exactly those
 * fields in the same transaction.
 */
#include "admin_edit.h"
#include "md_time.h"
#include "reports.h"
#include "store_int.h"
#include "tokens.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFIELDS 6
static const char *const facility_fields[NFIELDS] = {"name",          "address",  "phone",
                                                     "opening_hours", "category", "status"};

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    return v ? json_string((const char *)v) : json_null();
}

static md_err read_facility(struct md_store *s, int64_t id, int offset_min, json_t **out,
                            struct md_ctx *ctx)
{
    static const char sql[] = "SELECT name, address, phone, opening_hours, category, status,"
                              " updated_at FROM facilities WHERE id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        json_t *j = json_pack("{sI}", "id", (json_int_t)id);
        for (int i = 0; i < NFIELDS; i++)
            json_object_set_new(j, facility_fields[i], text_or_null(st, i));
        char t[MD_TIME_STR_MAX];
        md_time_format(sqlite3_column_int64(st, 6), offset_min, t);
        json_object_set_new(j, "updated_at", json_string(t));
        *out = j;
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_ENOTFOUND, "facility %lld does not exist", (long long)id);
    } else {
        rc = md_store_fail(s, src, "reading the facility", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

static md_err apply_edit(struct md_store *s, int64_t id, const struct md_facility_edit *e,
                         const struct md_principal *who, int64_t now, int offset_min, json_t **out,
                         struct md_ctx *ctx)
{
    static const char sql[] =
        "UPDATE facilities SET name = coalesce(?2, name), address = coalesce(?3, address),"
        " phone = coalesce(?4, phone), opening_hours = coalesce(?5, opening_hours),"
        " category = coalesce(?6, category), status = coalesce(?7, status), updated_at = ?8"
        " WHERE id = ?1";
    const char *given[NFIELDS] = {e->name,          e->address,  e->phone,
                                  e->opening_hours, e->category, e->status};
    json_t *cur = NULL, *before = json_object(), *after = json_object();
    sqlite3_stmt *st = NULL;
    md_err rc = read_facility(s, id, offset_min, &cur, ctx);
    if (!rc && e->category && md_facility_category_check(s, e->category, ctx)) {
        md_ctx_clear(ctx);
        rc = md_fail(ctx, MD_EINVAL, "category '%.40s' is not a facility category", e->category);
    }
    if (!rc && e->status && strcmp(e->status, "open") != 0 && strcmp(e->status, "closed") != 0 &&
        strcmp(e->status, "unverified") != 0)
        rc = md_fail(ctx, MD_EINVAL, "status must be open, closed or unverified");
    for (int i = 0; !rc && i < NFIELDS; i++) {
        const char *old = json_string_value(json_object_get(cur, facility_fields[i]));
        if (!given[i] || (old && strcmp(old, given[i]) == 0)) {
            given[i] = NULL;
            continue;
        }
        json_object_set(before, facility_fields[i], json_object_get(cur, facility_fields[i]));
        json_object_set_new(after, facility_fields[i], json_string(given[i]));
    }
    if (!rc && json_object_size(after) == 0)
        rc = md_fail(ctx, MD_EINVAL, "the edit changes nothing");
    if (!rc)
        rc = md_store_stmt(s, sql, &st, ctx);
    if (!rc) {
        sqlite3_bind_int64(st, 1, id);
        for (int i = 0; i < NFIELDS; i++) {
            if (given[i])
                sqlite3_bind_text(st, 2 + i, given[i], -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(st, 2 + i);
        }
        sqlite3_bind_int64(st, 8, now);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            rc = md_store_fail(s, src, "editing the facility", ctx);
    }
    if (!rc)
        rc = md__facility_history(s, id, 0, before, after, who, now, ctx);
    if (!rc)
        rc = read_facility(s, id, offset_min, out, ctx);
    json_decref(cur);
    json_decref(before);
    json_decref(after);
    return rc;
}

md_err md_facility_edit(struct md_store *s, int64_t id, const struct md_facility_edit *e,
                        const struct md_principal *who, int64_t now, int offset_min, json_t **out,
                        struct md_ctx *ctx)
{
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    rc = apply_edit(s, id, e, who, now, offset_min, out, ctx);
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    return rc;
}

static md_err history_rows(struct md_store *s, sqlite3_stmt *st, bool with_report, int offset_min,
                           json_t **out, struct md_ctx *ctx)
{
    json_t *arr = json_array();
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        char t[MD_TIME_STR_MAX];
        md_time_format(sqlite3_column_int64(st, 4), offset_min, t);
        json_t *change = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        json_t *row = json_pack("{s:o s:o s:o s:s}", "change", change ? change : json_null(),
                                "role", text_or_null(st, 2), "actor", text_or_null(st, 3), "at", t);
        if (with_report)
            json_object_set_new(row, "report_id",
                                sqlite3_column_type(st, 0) == SQLITE_NULL
                                    ? json_null()
                                    : json_integer(sqlite3_column_int64(st, 0)));
        json_array_append_new(arr, row);
    }
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        json_decref(arr);
        return md_store_fail(s, src, "reading the history", ctx);
    }
    *out = arr;
    return MD_OK;
}

md_err md_facility_history_json(struct md_store *s, int64_t id, int offset_min, json_t **out,
                                struct md_ctx *ctx)
{
    static const char sql[] = "SELECT report_id, change, actor_role, actor_id, at"
                              " FROM facility_history WHERE facility_id = ? ORDER BY id";
    json_t *cur = NULL;
    md_err rc = read_facility(s, id, offset_min, &cur, ctx);
    json_decref(cur);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return history_rows(s, st, true, offset_min, out, ctx);
}

static bool code_ok(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || n > 40)
        return false;
    for (const char *p = code; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

static bool color_ok(const char *c)
{
    return c && strlen(c) == 7 && c[0] == '#' && strspn(c + 1, "0123456789abcdefABCDEF") == 6;
}

static md_err put_category(struct md_store *s, const char *code, const char *name_zh,
                           const char *name_en, const char *color, const struct md_principal *who,
                           int64_t now, json_t **out, struct md_ctx *ctx)
{
    static const char read_sql[] = "SELECT name_zh, name_en, color FROM facility_categories"
                                   " WHERE code = ?";
    static const char upsert_sql[] =
        "INSERT INTO facility_categories(code, name_zh, name_en, color, sort)"
        " VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(sort), 0) + 1 FROM facility_categories))"
        " ON CONFLICT(code) DO UPDATE SET name_zh = ?2, name_en = ?3, color = ?4";
    static const char hist_sql[] = "INSERT INTO facility_category_history(code, change, actor_role,"
                                   " actor_id, at) VALUES (?, ?, ?, ?, ?)";
    sqlite3_stmt *st = NULL;
    json_t *before = json_null();
    md_err rc = md_store_stmt(s, read_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        before = json_pack("{s:o s:o s:o}", "name_zh", text_or_null(st, 0), "name_en",
                           text_or_null(st, 1), "color", text_or_null(st, 2));
    else if (src != SQLITE_DONE)
        rc = md_store_fail(s, src, "reading the category", ctx);
    sqlite3_reset(st);
    json_t *after =
        json_pack("{s:s s:s s:s}", "name_zh", name_zh, "name_en", name_en, "color", color);
    if (!rc && json_equal(before, after))
        rc = md_fail(ctx, MD_EINVAL, "the edit changes nothing");
    if (!rc)
        rc = md_store_stmt(s, upsert_sql, &st, ctx);
    if (!rc) {
        sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name_zh, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, name_en, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, color, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            rc = md_store_fail(s, src, "saving the category", ctx);
    }
    json_t *record = rc ? NULL : json_pack("{s:O s:O}", "before", before, "after", after);
    char *text = record ? json_dumps(record, JSON_COMPACT) : NULL;
    json_decref(record);
    if (!rc && !text)
        rc = md_fail(ctx, MD_ENOMEM, "category history");
    if (!rc)
        rc = md_store_stmt(s, hist_sql, &st, ctx);
    if (!rc) {
        sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, md_role_name(who->role), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, who->actor, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            rc = md_store_fail(s, src, "category history", ctx);
    }
    free(text);
    json_decref(before);
    if (!rc) {
        json_object_set_new(after, "code", json_string(code));
        *out = after;
    } else {
        json_decref(after);
    }
    return rc;
}

md_err md_facility_category_put(struct md_store *s, const char *code, const char *name_zh,
                                const char *name_en, const char *color,
                                const struct md_principal *who, int64_t now, json_t **out,
                                struct md_ctx *ctx)
{
    if (!code_ok(code))
        return md_fail(ctx, MD_EINVAL, "a facility category code is 1-40 of a-z, 0-9 and _");
    if (!color_ok(color))
        return md_fail(ctx, MD_EINVAL, "color must be #rrggbb");
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    rc = put_category(s, code, name_zh, name_en, color, who, now, out, ctx);
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    return rc;
}

md_err md_facility_category_history_json(struct md_store *s, const char *code, int offset_min,
                                         json_t **out, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT NULL, change, actor_role, actor_id, at"
                              " FROM facility_category_history WHERE code = ? ORDER BY id";
    md_err rc = md_facility_category_check(s, code, ctx);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    return history_rows(s, st, false, offset_min, out, ctx);
}
