/* consult.c - consultations, votes and moderated comments (consult.h).
 *
 * Tables: consultations, consultation_votes (PK consultation + device hash:
 * the database itself refuses a second vote), consultation_comments
 * (status pending -> approved | rejected, by the centre). A consultation is
 * open while closed_at is NULL and now < closes_at.
 */
#include "consult.h"
#include "store_int.h"
#include "md_time.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#define COUNTS_SQL                                                                                 \
    "SELECT c.id, c.title, c.body, c.place, c.lon, c.lat, c.district_code, c.created_at,"          \
    " c.closes_at, c.closed_at,"                                                                   \
    " (SELECT count(*) FROM consultation_votes v WHERE v.consultation_id = c.id AND v.vote = "     \
    "'for'),"                                                                                      \
    " (SELECT count(*) FROM consultation_votes v WHERE v.consultation_id = c.id"                   \
    "  AND v.vote = 'against'),"                                                                   \
    " (SELECT count(*) FROM consultation_comments m WHERE m.consultation_id = c.id"                \
    "  AND m.status = 'approved')"                                                                 \
    " FROM consultations c"

static bool is_open(sqlite3_stmt *st, int closes_col, int closed_col, int64_t now)
{
    return sqlite3_column_type(st, closed_col) == SQLITE_NULL &&
           now < sqlite3_column_int64(st, closes_col);
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    return v ? json_string((const char *)v) : json_null();
}

static json_t *time_or_null(sqlite3_stmt *st, int col, int offset_min)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    char t[MD_TIME_STR_MAX];
    md_time_format(sqlite3_column_int64(st, col), offset_min, t);
    return json_string(t);
}

static json_t *row_json(sqlite3_stmt *st, int64_t now, int offset_min)
{
    return json_pack("{sI s:o s:o s:o s:f s:f s:o s:s s:o s:o s:o s:{sI sI} sI}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "title", text_or_null(st, 1), "body",
                     text_or_null(st, 2), "place", text_or_null(st, 3), "lon",
                     sqlite3_column_double(st, 4), "lat", sqlite3_column_double(st, 5), "district",
                     text_or_null(st, 6), "status", is_open(st, 8, 9, now) ? "open" : "closed",
                     "created_at", time_or_null(st, 7, offset_min), "closes_at",
                     time_or_null(st, 8, offset_min), "closed_at", time_or_null(st, 9, offset_min),
                     "votes", "for", (json_int_t)sqlite3_column_int64(st, 10), "against",
                     (json_int_t)sqlite3_column_int64(st, 11), "comments",
                     (json_int_t)sqlite3_column_int64(st, 12));
}

md_err md_consultation_create(struct md_store *s, const struct md_consultation_input *in,
                              int64_t now, int64_t *id, struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO consultations(title, body, place, lon, lat, district_code, created_at,"
        " closes_at, actor_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    if (in->closes_at <= now)
        return md_fail(ctx, MD_EINVAL, "closes_at must be in the future");
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, in->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->body, -1, SQLITE_STATIC);
    if (in->place)
        sqlite3_bind_text(st, 3, in->place, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_double(st, 4, in->lon);
    sqlite3_bind_double(st, 5, in->lat);
    if (in->district_code && *in->district_code)
        sqlite3_bind_text(st, 6, in->district_code, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_int64(st, 7, now);
    sqlite3_bind_int64(st, 8, in->closes_at);
    sqlite3_bind_text(st, 9, in->actor_id ? in->actor_id : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "saving the consultation", ctx);
    *id = sqlite3_last_insert_rowid(md_store_db(s));
    return MD_OK;
}

md_err md_consultation_get(struct md_store *s, int64_t id, int64_t now, int offset_min,
                           json_t **out, struct md_ctx *ctx)
{
    static const char sql[] = COUNTS_SQL " WHERE c.id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = (*out = row_json(st, now, offset_min)) ? MD_OK
                                                    : md_fail(ctx, MD_ENOMEM, "consultation");
    else if (src == SQLITE_DONE)
        rc = md_fail(ctx, MD_ENOTFOUND, "no consultation %lld", (long long)id);
    else
        rc = md_store_fail(s, src, "reading the consultation", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_consultation_list(struct md_store *s, const char *status, int64_t now, int offset_min,
                            json_t **out, struct md_ctx *ctx)
{
    static const char sql[] = COUNTS_SQL " ORDER BY c.id DESC LIMIT 1000";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    json_t *arr = json_array();
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        bool open = is_open(st, 8, 9, now);
        if (status && strcmp(status, open ? "open" : "closed") != 0)
            continue;
        json_array_append_new(arr, row_json(st, now, offset_min));
    }
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        json_decref(arr);
        return md_store_fail(s, src, "listing consultations", ctx);
    }
    *out = arr;
    return MD_OK;
}

/* MD_OK when the consultation exists and is open; else ENOTFOUND / ECONFLICT. */
static md_err check_open(struct md_store *s, int64_t id, int64_t now, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT closes_at, closed_at FROM consultations WHERE id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW && !is_open(st, 0, 1, now))
        rc = md_fail(ctx, MD_ECONFLICT, "consultation %lld is closed", (long long)id);
    else if (src == SQLITE_DONE)
        rc = md_fail(ctx, MD_ENOTFOUND, "no consultation %lld", (long long)id);
    else if (src != SQLITE_ROW)
        rc = md_store_fail(s, src, "reading the consultation", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_consultation_close(struct md_store *s, int64_t id, int64_t now, struct md_ctx *ctx)
{
    static const char sql[] = "UPDATE consultations SET closed_at = ? WHERE id = ?";
    md_err rc = check_open(s, id, now, ctx);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, id);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, "closing the consultation", ctx);
}

md_err md_consultation_vote(struct md_store *s, int64_t id, const char *device_hash,
                            const char *vote, const char *district, int64_t now, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO consultation_votes(consultation_id, device_hash, vote,"
                              " district_code, at) VALUES (?, ?, ?, ?, ?)";
    md_err rc = check_open(s, id, now, ctx);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, device_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, vote, -1, SQLITE_STATIC);
    if (district && *district)
        sqlite3_bind_text(st, 4, district, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_int64(st, 5, now);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return md_fail(ctx, MD_ECONFLICT, "this device has already voted on consultation %lld",
                       (long long)id);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, "saving the vote", ctx);
}

md_err md_consultation_comment(struct md_store *s, int64_t id, const char *device_hash,
                               const char *body, int64_t now, int64_t *comment_id,
                               struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO consultation_comments(consultation_id, device_hash,"
                              " body, created_at) VALUES (?, ?, ?, ?)";
    md_err rc = check_open(s, id, now, ctx);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, device_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "saving the comment", ctx);
    *comment_id = sqlite3_last_insert_rowid(md_store_db(s));
    return MD_OK;
}

md_err md_consultation_moderate(struct md_store *s, int64_t id, int64_t comment_id,
                                const char *status, const char *moderator, int64_t now,
                                struct md_ctx *ctx)
{
    static const char sql[] = "UPDATE consultation_comments SET status = ?, moderated_at = ?,"
                              " moderator = ? WHERE id = ? AND consultation_id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, moderator, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, comment_id);
    sqlite3_bind_int64(st, 5, id);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "moderating the comment", ctx);
    if (sqlite3_changes(md_store_db(s)) == 0)
        return md_fail(ctx, MD_ENOTFOUND, "no comment %lld on consultation %lld",
                       (long long)comment_id, (long long)id);
    return MD_OK;
}

md_err md_consultation_comments(struct md_store *s, int64_t id, bool approved_only, int offset_min,
                                json_t **out, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT id, body, status, created_at FROM consultation_comments"
                              " WHERE consultation_id = ?1 AND (?2 = 0 OR status = 'approved')"
                              " ORDER BY id LIMIT 10000";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, approved_only ? 1 : 0);
    json_t *arr = json_array();
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{sI s:o s:o s:o}", "id",
                                             (json_int_t)sqlite3_column_int64(st, 0), "body",
                                             text_or_null(st, 1), "status", text_or_null(st, 2),
                                             "created_at", time_or_null(st, 3, offset_min)));
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        json_decref(arr);
        return md_store_fail(s, src, "listing comments", ctx);
    }
    *out = arr;
    return MD_OK;
}

md_err md_consultation_results(struct md_store *s, int64_t id, json_t **out, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT v.district_code, d.name, d.name_en, d.label_lon, d.label_lat,"
        " sum(v.vote = 'for'), sum(v.vote = 'against') FROM consultation_votes v"
        " LEFT JOIN districts d ON d.code = v.district_code WHERE v.consultation_id = ?"
        " GROUP BY v.district_code ORDER BY v.district_code IS NULL, v.district_code";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    json_t *arr = json_array();
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *lon = sqlite3_column_type(st, 3) == SQLITE_NULL
                          ? json_null()
                          : json_real(sqlite3_column_double(st, 3));
        json_t *lat = sqlite3_column_type(st, 4) == SQLITE_NULL
                          ? json_null()
                          : json_real(sqlite3_column_double(st, 4));
        json_array_append_new(
            arr, json_pack("{s:o s:o s:o s:o s:o sI sI}", "district", text_or_null(st, 0), "name",
                           text_or_null(st, 1), "name_en", text_or_null(st, 2), "label_lon", lon,
                           "label_lat", lat, "for", (json_int_t)sqlite3_column_int64(st, 5),
                           "against", (json_int_t)sqlite3_column_int64(st, 6)));
    }
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        json_decref(arr);
        return md_store_fail(s, src, "counting votes", ctx);
    }
    *out = arr;
    return MD_OK;
}

md_err md_consultation_points(struct md_store *s, double minlon, double minlat, double maxlon,
                              double maxlat, int64_t now, md_consultation_fn fn, void *userdata,
                              struct md_ctx *ctx)
{
    static const char sql[] =
        COUNTS_SQL " WHERE c.lon BETWEEN ?1 AND ?3 AND c.lat BETWEEN ?2 AND ?4"
                   " ORDER BY c.id LIMIT 10000";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_double(st, 1, minlon);
    sqlite3_bind_double(st, 2, minlat);
    sqlite3_bind_double(st, 3, maxlon);
    sqlite3_bind_double(st, 4, maxlat);
    int src = SQLITE_DONE;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_consultation_point p = {
            .id = sqlite3_column_int64(st, 0),
            .title = (const char *)sqlite3_column_text(st, 1),
            .lon = sqlite3_column_double(st, 4),
            .lat = sqlite3_column_double(st, 5),
            .status = is_open(st, 8, 9, now) ? "open" : "closed",
            .closes_at = sqlite3_column_int64(st, 8),
            .votes_for = sqlite3_column_int64(st, 10),
            .votes_against = sqlite3_column_int64(st, 11),
        };
        rc = fn(&p, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "reading consultations", ctx);
    sqlite3_reset(st);
    return rc;
}
