/* reports.c - reports: insert, read, list, history, workflow steps, merges,
 * corrections, events (see reports.h).
 *
 * Invariants:
 *   - the only columns read into JSON are those of REPORT_COLS: public
 *     fields; report_contacts is written here and read nowhere;
 *   - each change is one report_history row and one events row in the same
 *     transaction as the change; history rows are only ever inserted;
 *   - lon/lat and geom are written together (geom = MakePoint(lon, lat)).
 */
#include "reports.h"
#include "store_int.h"
#include "units.h"
#include "geodesic.h"
#include "md_time.h"
#include "pg_reports.h"
#include "pg_report_list.h"
#include "pg_workflow.h"
#include "workflow.h"
#include "pg_city.h"
#include "pg_citizen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Public columns of a report joined with its category, in row_json order. */
#define REPORT_COLS                                                                            \
    "r.id, r.kind, r.service_code, c.name_zh, c.name_en, c.group_code, r.description,"         \
    " r.address, r.district_code, r.grid_code, r.status, r.channel, r.media_urls,"             \
    " r.attributes, r.facility_id, r.proposed_change, r.merged_into, r.created_at,"            \
    " r.updated_at, r.expected_at, r.closed_at, r.lon, r.lat,"                                 \
    " (SELECT h.note FROM report_history h WHERE h.report_id = r.id ORDER BY h.id DESC"        \
    " LIMIT 1), c.unit_type, r.supporters,"                                                    \
    " (SELECT t.score FROM report_ratings t WHERE t.report_id = r.id),"                         \
    " (SELECT json_group_array(json_object('id', p.id, 'width', p.width, 'height', p.height))"  \
    "  FROM report_photos p WHERE p.report_id = r.id AND p.status = 'kept'"                    \
    "  AND r.status <> 'reported' AND r.status <> 'rejected')"
#define REPORT_FROM " FROM reports r LEFT JOIN categories c ON c.code = r.service_code"

const char *md__report_select_sql(void)
{
    return "SELECT " REPORT_COLS REPORT_FROM;
}

static json_t *time_json(sqlite3_stmt *st, int col, int offset_min)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    char buf[MD_TIME_STR_MAX];
    md_time_format(sqlite3_column_int64(st, col), offset_min, buf);
    return json_string(buf);
}

static json_t *text_json(sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    return v ? json_string(v) : json_null();
}

/* Parse a JSON column written by this module; `fallback` when unparsable. */
static json_t *stored_json(sqlite3_stmt *st, int col, json_t *fallback)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    json_t *j = v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;
    if (j) {
        json_decref(fallback);
        return j;
    }
    return fallback;
}

/* The public photos [{id, width, height}] of column `col` with their URLs
 * (photos.h: only once the report is accepted). */
static json_t *photos_json(sqlite3_stmt *st, int col)
{
    json_t *arr = stored_json(st, col, json_array());
    md__photos_add_urls(arr);
    return arr;
}

static bool is_overdue(const char *status, sqlite3_int64 expected, bool has_expected, int64_t now)
{
    return md_workflow_overdue(status, has_expected, expected, now);
}

/* One row of REPORT_COLS as public JSON (NULL on allocation failure). */
static json_t *row_json(sqlite3_stmt *st, int64_t now, int offset_min)
{
    const char *status = (const char *)sqlite3_column_text(st, 10);
    bool has_expected = sqlite3_column_type(st, 19) != SQLITE_NULL;
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "id", json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(j, "kind", text_json(st, 1));
    json_object_set_new(j, "category", text_json(st, 2));
    json_object_set_new(j, "category_name", text_json(st, 3));
    json_object_set_new(j, "category_name_en", text_json(st, 4));
    json_object_set_new(j, "group", text_json(st, 5));
    json_object_set_new(j, "description", text_json(st, 6));
    json_object_set_new(j, "address", text_json(st, 7));
    json_object_set_new(j, "district", text_json(st, 8));
    const char *grid = (const char *)sqlite3_column_text(st, 9);
    json_object_set_new(j, "grid", grid && *grid ? json_string(grid) : json_null());
    json_object_set_new(j, "status", text_json(st, 10));
    json_object_set_new(j, "channel", text_json(st, 11));
    json_object_set_new(j, "media_urls", stored_json(st, 12, json_array()));
    json_object_set_new(j, "attributes", stored_json(st, 13, json_object()));
    json_object_set_new(j, "facility_id", sqlite3_column_type(st, 14) == SQLITE_NULL
                                              ? json_null()
                                              : json_integer(sqlite3_column_int64(st, 14)));
    json_object_set_new(j, "proposed_change", stored_json(st, 15, json_null()));
    json_object_set_new(j, "merged_into", sqlite3_column_type(st, 16) == SQLITE_NULL
                                              ? json_null()
                                              : json_integer(sqlite3_column_int64(st, 16)));
    json_object_set_new(j, "created_at", time_json(st, 17, offset_min));
    json_object_set_new(j, "updated_at", time_json(st, 18, offset_min));
    json_object_set_new(j, "expected_at", time_json(st, 19, offset_min));
    json_object_set_new(j, "closed_at", time_json(st, 20, offset_min));
    json_object_set_new(j, "lon", json_real(sqlite3_column_double(st, 21)));
    json_object_set_new(j, "lat", json_real(sqlite3_column_double(st, 22)));
    json_object_set_new(j, "status_note", text_json(st, 23));
    json_object_set_new(j, "unit_type", text_json(st, 24));
    json_object_set_new(j, "supporters", json_integer(sqlite3_column_int64(st, 25)));
    json_object_set_new(j, "photos", photos_json(st, 27));
    json_object_set_new(j, "rating", sqlite3_column_type(st, 26) == SQLITE_NULL
                                         ? json_null()
                                         : json_integer(sqlite3_column_int64(st, 26)));
    json_object_set_new(j, "overdue", json_boolean(is_overdue(status, sqlite3_column_int64(st, 19),
                                                              has_expected, now)));
    return j;
}

/* The end of every rows-to-JSON-array loop: record why the loop stopped
 * (no array, a failed step), reset the statement, and hand the array to
 * *out or free it. */
static md_err finish_rows(struct md_store *s, sqlite3_stmt *st, md_err rc, int src, json_t *arr,
                          json_t **out, const char *what, struct md_ctx *ctx)
{
    if (!arr)
        rc = md_fail(ctx, MD_ENOMEM, "%s: out of memory", what);
    else if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, what, ctx);
    sqlite3_reset(st);
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

static md_err step_done(struct md_store *s, sqlite3_stmt *st, const char *what, struct md_ctx *ctx)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, what, ctx);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Append an event row; payload is {"type": type, ...extra, "report": report}. */
static md_err add_event(struct md_store *s, const char *type, int64_t report_id, json_t *payload,
                        int64_t now, int64_t *event_id, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO events(type, report_id, payload, at) VALUES (?, ?, ?, ?)";
    /* reals as every answer prints them (12 significant digits, api/params.h) */
    char *text = json_dumps(payload, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (!text)
        return md_fail(ctx, MD_ENOMEM, "event payload");
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (!rc) {
        sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, report_id);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        rc = step_done(s, st, "event", ctx);
    }
    free(text);
    if (!rc && event_id)
        *event_id = sqlite3_last_insert_rowid(md_store_db(s));
    return rc;
}

static md_err load_public(struct md_store *s, int64_t id, int64_t now, int offset_min,
                          json_t **out, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT " REPORT_COLS REPORT_FROM " WHERE r.id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *out = row_json(st, now, offset_min);
        if (!*out)
            rc = md_fail(ctx, MD_ENOMEM, "report JSON");
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id);
    } else {
        rc = md_store_fail(s, src, "reading the report", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

md_err md_report_get(struct md_store *s, int64_t id, int64_t now, int offset_min, json_t **out,
                     struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_public(s->pg, id, now, offset_min, out, ctx);
    return load_public(s, id, now, offset_min, out, ctx);
}

static md_err insert_contact(struct md_store *s, int64_t id, const struct md_report_input *in,
                             struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO report_contacts(report_id, name, phone, email,"
                              " device_id, client_addr) VALUES (?, ?, ?, ?, ?, ?)";
    const struct md_contact *c = &in->contact;
    if (!c->name && !c->phone && !c->email && !c->device_id && !in->client_addr)
        return MD_OK;
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    bind_opt_text(st, 2, c->name);
    bind_opt_text(st, 3, c->phone);
    bind_opt_text(st, 4, c->email);
    bind_opt_text(st, 5, c->device_id);
    bind_opt_text(st, 6, in->client_addr);
    return step_done(s, st, "report contact", ctx);
}

static md_err insert_history(struct md_store *s, int64_t id, const char *action, const char *from,
                             const char *to, const char *role, const char *actor, const char *note,
                             int64_t now, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO report_history(report_id, action, from_status, to_status,"
                              " actor_role, actor_id, note, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
    bind_opt_text(st, 3, from);
    sqlite3_bind_text(st, 4, to, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, note ? note : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now);
    return step_done(s, st, "report history", ctx);
}

/* Event payload {"type", "report", extra...}; takes ownership of report. */
static md_err emit(struct md_store *s, const char *type, int64_t id, json_t *report, json_t *extra,
                   int64_t now, int64_t *event_id, struct md_ctx *ctx)
{
    json_t *payload = extra ? extra : json_object();
    if (!payload) {
        json_decref(report);
        return md_fail(ctx, MD_ENOMEM, "event payload");
    }
    json_object_set_new(payload, "type", json_string(type));
    json_object_set_new(payload, "report", report);
    md_err rc = add_event(s, type, id, payload, now, event_id, ctx);
    json_decref(payload);
    return rc;
}

md_err md__report_public(struct md_store *s, int64_t id, int64_t now, int offset_min,
                         json_t **out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_public(s->pg, id, now, offset_min, out, ctx);
    return load_public(s, id, now, offset_min, out, ctx);
}

md_err md__report_emit(struct md_store *s, const char *type, int64_t id, json_t *report,
                       json_t *extra, int64_t now, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_emit(s->pg, type, id, report, extra, now, NULL, ctx);
    return emit(s, type, id, report, extra, now, NULL, ctx);
}

md_err md__report_history_add(struct md_store *s, int64_t id, const char *action,
                              const char *from, const char *to, const char *role,
                              const char *actor, const char *note, int64_t now,
                              struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_history_add(s->pg, id, action, from, to, role, actor, note, now,
                                         ctx);
    return insert_history(s, id, action, from, to, role, actor, note, now, ctx);
}

md_err md_report_insert(struct md_store *s, const struct md_report_input *in, int64_t now,
                        int offset_min, struct md_report_created *out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_insert(s->pg, in, now, offset_min, out, ctx);
    static const char sql[] =
        "INSERT INTO reports(kind, service_code, description, address, district_code, grid_code,"
        " status, channel, media_urls, attributes, facility_id, proposed_change, token,"
        " created_at, updated_at, lon, lat, geom) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'reported',"
        " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15, MakePoint(?14, ?15, 4326))";
    static const char hex[] = "0123456789abcdef";
    /* Follow-up token: 32 bits of creation time, then 96 random bits, in hex.
     * The time prefix makes inserts into the token index append-mostly (one
     * hot page instead of a random page per report); 96 random bits keep it
     * unguessable. */
    unsigned char raw[16];
    md_err rc = md_random_bytes(raw + 4, sizeof(raw) - 4, ctx);
    if (rc)
        return rc;
    uint32_t t = (uint32_t)now;
    raw[0] = (unsigned char)(t >> 24);
    raw[1] = (unsigned char)(t >> 16);
    raw[2] = (unsigned char)(t >> 8);
    raw[3] = (unsigned char)t;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(raw); i++) {
        out->token[2 * i] = hex[raw[i] >> 4];
        out->token[2 * i + 1] = hex[raw[i] & 15];
    }
    sqlite3_stmt *st = NULL;
    rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, in->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->service_code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, in->description ? in->description : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, in->address ? in->address : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, in->district, -1, SQLITE_STATIC);
    if (in->grid[0])
        sqlite3_bind_text(st, 6, in->grid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, in->channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, in->media_urls ? in->media_urls : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, in->attributes ? in->attributes : "{}", -1, SQLITE_STATIC);
    if (in->facility_id)
        sqlite3_bind_int64(st, 10, in->facility_id);
    bind_opt_text(st, 11, in->proposed_change);
    sqlite3_bind_text(st, 12, out->token, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 13, now);
    sqlite3_bind_double(st, 14, in->lon);
    sqlite3_bind_double(st, 15, in->lat);
    rc = step_done(s, st, "saving the report", ctx);
    if (rc)
        return rc;
    out->id = sqlite3_last_insert_rowid(md_store_db(s));
    out->created_at = now;
    rc = insert_contact(s, out->id, in, ctx);
    if (!rc)
        rc = insert_history(s, out->id, "report", NULL, "reported", md_role_name(in->actor_role),
                            in->actor_id ? in->actor_id : "anonymous", "", now, ctx);
    if (!rc && in->nphotos > MD_PHOTOS_PER_REPORT)
        rc = md_fail(ctx, MD_EUNPROC, "a report has at most %d photos", MD_PHOTOS_PER_REPORT);
    if (!rc && in->nphotos)
        rc = md__photos_insert(s, out->id, "reported", in->photos, in->nphotos,
                               md_role_name(in->actor_role),
                               in->actor_id ? in->actor_id : "anonymous", now, out->photo_ids, ctx);
    if (!rc)
        out->nphotos = in->nphotos;
    json_t *report = NULL;
    if (!rc)
        rc = load_public(s, out->id, now, offset_min, &report, ctx);
    if (!rc)
        rc = emit(s, "report.created", out->id, report, NULL, now, &out->event_id, ctx);
    return rc;
}

md_err md_report_by_token(struct md_store *s, const char *token, int64_t *id, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_by_token(s->pg, token, id, ctx);
    static const char sql[] = "SELECT id FROM reports WHERE token = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (src == SQLITE_DONE)
        rc = md_fail(ctx, MD_ENOTFOUND, "no report has this token");
    else
        rc = md_store_fail(s, src, "token lookup", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_report_history(struct md_store *s, int64_t id, int offset_min, json_t **out,
                         struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_history(s->pg, id, offset_min, out, ctx);
    static const char sql[] = "SELECT action, from_status, to_status, actor_role, actor_id, note, at"
                              " FROM report_history WHERE report_id = ? ORDER BY id";
    static const char exists_sql[] = "SELECT 1 FROM reports WHERE id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, exists_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_ROW)
        return src == SQLITE_DONE
                   ? md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id)
                   : md_store_fail(s, src, "reading the report", ctx);
    rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    json_t *arr = json_array();
    sqlite3_bind_int64(st, 1, id);
    while (arr && (src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *h = json_object();
        json_object_set_new(h, "action", text_json(st, 0));
        json_object_set_new(h, "from", text_json(st, 1));
        json_object_set_new(h, "to", text_json(st, 2));
        json_object_set_new(h, "role", text_json(st, 3));
        json_object_set_new(h, "actor", text_json(st, 4));
        json_object_set_new(h, "note", text_json(st, 5));
        json_object_set_new(h, "at", time_json(st, 6, offset_min));
        json_array_append_new(arr, h);
    }
    return finish_rows(s, st, rc, src, arr, out, "reading the history", ctx);
}

md_err md__report_touch(struct md_store *s, int64_t id, int64_t now, struct md_ctx *ctx)
{
    static const char sql[] = "UPDATE reports SET updated_at = ? WHERE id = ?";
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_touch(s->pg, id, now, ctx);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, id);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, "updating the report", ctx);
}

md_err md_report_touch_overdue(struct md_store *s, int64_t since, int64_t now, int *n,
                               struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_touch_overdue(s->pg, since, now, n, ctx);
    /* The same condition as md_workflow_overdue, over the deadline window
     * (the reports_status index is (status, expected_at)). */
#define DUE_WHERE                                                                                  \
    " WHERE status IN ('dispatched', 'in_progress') AND expected_at >= ?1 AND expected_at < ?2"
    static const char count_sql[] = "SELECT count(*) FROM reports" DUE_WHERE;
    static const char touch_sql[] = "UPDATE reports SET expected_at = expected_at" DUE_WHERE;
#undef DUE_WHERE
    sqlite3_stmt *st = NULL;
    *n = 0;
    md_err rc = md_store_stmt(s, count_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, now);
    int src = sqlite3_step(st);
    int due = src == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    if (src != SQLITE_ROW)
        return md_store_fail(s, src, "overdue count", ctx);
    if (due == 0)
        return MD_OK;
    rc = md_store_stmt(s, touch_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, now);
    rc = step_done(s, st, "overdue touch", ctx);
    if (!rc)
        *n = due;
    return rc;
}

md_err md_report_list(struct md_store *s, const struct md_report_filter *f, int64_t now,
                      int offset_min, json_t **out, struct md_ctx *ctx)
{
    return md_report_list_page(s, f, now, offset_min, out, NULL, ctx);
}

md_err md_report_list_page(struct md_store *s, const struct md_report_filter *f, int64_t now,
                           int offset_min, json_t **out, struct md_report_key *last,
                           struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_list_page(s->pg, f, now, offset_min, out, last, ctx);
    /* One statement for every filter combination (an absent filter binds
     * NULL), in two orders: newest first by created_at (ties by id); most supported first sorts the matches (top-N). */
#define LIST_SQL(order, keyset)                                                                   \
    "SELECT " REPORT_COLS REPORT_FROM " WHERE" keyset                                              \
    " (?1 IS NULL OR instr(',' || ?1 || ',', ',' || r.status || ',') > 0)"                         \
    " AND (?2 IS NULL OR (?2 = 1) = (r.status NOT IN ('closed', 'rejected')))"                     \
    " AND (?3 IS NULL OR instr(',' || ?3 || ',', ',' || r.service_code || ',') > 0)"               \
    " AND (?4 IS NULL OR r.district_code = ?4)"                                                    \
    " AND (?5 IS NULL OR r.kind = ?5)"                                                             \
    " AND (?6 IS NULL OR r.created_at >= ?6) AND (?7 IS NULL OR r.created_at <= ?7)"                \
    " AND (?8 IS NULL OR r.updated_at >= ?8) AND (?9 IS NULL OR r.updated_at <= ?9)"                \
    " AND (?10 IS NULL OR r.id IN (SELECT pkid FROM idx_reports_geom WHERE xmin <= ?12"            \
    "   AND xmax >= ?10 AND ymin <= ?13 AND ymax >= ?11))"                                         \
    " AND (?14 IS NULL OR ST_Distance(r.geom, MakePoint(?14, ?15, 4326), 1) <= ?16)"               \
    " AND (?17 IS NULL OR " MD_SQL_OVERDUE("?17") ")"    \
    " ORDER BY " order " LIMIT ?18 OFFSET ?19"
    /* Keyset pages: a row-value bound on the order's columns (?20..?22), so
     * the newest-first scan seeks in reports_created instead of skipping. */
    static const char newest_sql[] = LIST_SQL("r.created_at DESC, r.id DESC", "");
    static const char supported_sql[] =
        LIST_SQL("r.supporters DESC, r.created_at DESC, r.id DESC", "");
    static const char newest_after_sql[] =
        LIST_SQL("r.created_at DESC, r.id DESC", " (r.created_at, r.id) < (?20, ?21) AND");
    static const char supported_after_sql[] =
        LIST_SQL("r.supporters DESC, r.created_at DESC, r.id DESC",
                 " (r.supporters, r.created_at, r.id) < (?22, ?20, ?21) AND");
#undef LIST_SQL
    const char *sql = f->by_supporters ? (f->after ? supported_after_sql : supported_sql)
                                       : (f->after ? newest_after_sql : newest_sql);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    if (f->after) {
        sqlite3_bind_int64(st, 20, f->after->created_at);
        sqlite3_bind_int64(st, 21, f->after->id);
        if (f->by_supporters)
            sqlite3_bind_int64(st, 22, f->after->supporters);
    }
    bind_opt_text(st, 1, f->statuses);
    if (f->open_state)
        sqlite3_bind_int(st, 2, f->open_state);
    bind_opt_text(st, 3, f->service_codes);
    bind_opt_text(st, 4, f->district);
    bind_opt_text(st, 5, f->kind);
    if (f->created_from)
        sqlite3_bind_int64(st, 6, f->created_from);
    if (f->created_to)
        sqlite3_bind_int64(st, 7, f->created_to);
    if (f->updated_from)
        sqlite3_bind_int64(st, 8, f->updated_from);
    if (f->updated_to)
        sqlite3_bind_int64(st, 9, f->updated_to);
    struct md_bbox box = f->bbox;
    bool has_box = f->has_bbox;
    if (f->has_near) {
        struct md_bbox around;
        md_geod_bbox_around(f->near_lon, f->near_lat, f->radius_m, &around);
        if (has_box) {
            box.minx = fmax(box.minx, around.minx);
            box.miny = fmax(box.miny, around.miny);
            box.maxx = fmin(box.maxx, around.maxx);
            box.maxy = fmin(box.maxy, around.maxy);
        } else {
            box = around;
        }
        has_box = true;
        sqlite3_bind_double(st, 14, f->near_lon);
        sqlite3_bind_double(st, 15, f->near_lat);
        sqlite3_bind_double(st, 16, f->radius_m);
    }
    if (has_box) {
        sqlite3_bind_double(st, 10, box.minx);
        sqlite3_bind_double(st, 11, box.miny);
        sqlite3_bind_double(st, 12, box.maxx);
        sqlite3_bind_double(st, 13, box.maxy);
    }
    if (f->overdue)
        sqlite3_bind_int64(st, 17, now);
    sqlite3_bind_int(st, 18, f->limit > 0 ? f->limit : 100);
    sqlite3_bind_int(st, 19, f->offset > 0 && !f->after ? f->offset : 0);
    json_t *arr = json_array();
    int src = SQLITE_DONE;
    while (arr && (src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *j = row_json(st, now, offset_min);
        if (!j || json_array_append_new(arr, j)) {
            rc = md_fail(ctx, MD_ENOMEM, "report list");
            break;
        }
        if (last) /* REPORT_COLS: 0 id, 17 created_at, 25 supporters */
            *last = (struct md_report_key){sqlite3_column_int64(st, 25),
                                           sqlite3_column_int64(st, 17),
                                           sqlite3_column_int64(st, 0)};
    }
    return finish_rows(s, st, rc, src, arr, out, "listing reports", ctx);
}

static int by_distance(const void *a, const void *b)
{
    double da = json_real_value(json_object_get(*(json_t *const *)a, "distance_m"));
    double db = json_real_value(json_object_get(*(json_t *const *)b, "distance_m"));
    return da < db ? -1 : da > db;
}

md_err md_report_nearby_open(struct md_store *s, const char *service_code, double lon, double lat,
                             double radius_m, int64_t exclude_id, int limit, int offset_min,
                             json_t **out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_report_nearby_open(s->pg, service_code, lon, lat, radius_m, exclude_id,
                                         limit, offset_min, out, ctx);
    static const char sql[] =
        /* CROSS JOIN: drive from the R*Tree, never from the category index. */
        "SELECT r.id, r.status, r.lon, r.lat, r.created_at, r.description, r.supporters"
        " FROM idx_reports_geom g"
        " CROSS JOIN reports r ON r.id = g.pkid WHERE g.xmin <= ?3 AND g.xmax >= ?1"
        " AND g.ymin <= ?4 AND g.ymax >= ?2"
        " AND r.service_code = ?5 AND r.status NOT IN ('closed', 'rejected') AND r.id <> ?6"
        " LIMIT 1000";
    struct md_bbox b;
    md_geod_bbox_around(lon, lat, radius_m, &b);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_double(st, 1, b.minx);
    sqlite3_bind_double(st, 2, b.miny);
    sqlite3_bind_double(st, 3, b.maxx);
    sqlite3_bind_double(st, 4, b.maxy);
    sqlite3_bind_text(st, 5, service_code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, exclude_id);
    size_t n = 0, cap = 16;
    json_t **items = malloc(cap * sizeof(*items));
    int src = SQLITE_DONE;
    while (items && (src = sqlite3_step(st)) == SQLITE_ROW) {
        double d = md_geod_distance(lon, lat, sqlite3_column_double(st, 2),
                                    sqlite3_column_double(st, 3));
        if (!(d <= radius_m))
            continue;
        if (n == cap) {
            json_t **more = realloc(items, 2 * cap * sizeof(*items));
            if (!more)
                break;
            items = more;
            cap *= 2;
        }
        json_t *j = json_object();
        json_object_set_new(j, "id", json_integer(sqlite3_column_int64(st, 0)));
        json_object_set_new(j, "status", text_json(st, 1));
        json_object_set_new(j, "distance_m", json_real(round(d * 10) / 10));
        json_object_set_new(j, "created_at", time_json(st, 4, offset_min));
        json_object_set_new(j, "description", text_json(st, 5));
        json_object_set_new(j, "supporters", json_integer(sqlite3_column_int64(st, 6)));
        items[n++] = j;
    }
    if (src != SQLITE_DONE && src != SQLITE_ROW)
        rc = md_store_fail(s, src, "nearby reports", ctx);
    else if (!items || src == SQLITE_ROW)
        rc = md_fail(ctx, MD_ENOMEM, "nearby reports");
    sqlite3_reset(st);
    json_t *arr = rc ? NULL : json_array();
    if (items)
        qsort(items, n, sizeof(*items), by_distance);
    for (size_t i = 0; i < n; i++) {
        if (arr && (int)json_array_size(arr) < limit)
            json_array_append(arr, items[i]);
        json_decref(items[i]);
    }
    free(items);
    if (!rc && !arr)
        rc = md_fail(ctx, MD_ENOMEM, "nearby reports");
    if (!rc)
        *out = arr;
    return rc;
}

md_err md_category_get(struct md_store *s, const char *code, struct md_category *out,
                       struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_category_get(s->pg, code, out, ctx);
    static const char sql[] = "SELECT code, kind, group_code, name_zh, name_en, deadline_value,"
                              " deadline_unit, dup_radius_m, attributes FROM categories WHERE code = ?";
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        snprintf(out->code, sizeof(out->code), "%s", sqlite3_column_text(st, 0));
        snprintf(out->kind, sizeof(out->kind), "%s", sqlite3_column_text(st, 1));
        snprintf(out->group_code, sizeof(out->group_code), "%s", sqlite3_column_text(st, 2));
        snprintf(out->name_zh, sizeof(out->name_zh), "%s", sqlite3_column_text(st, 3));
        snprintf(out->name_en, sizeof(out->name_en), "%s", sqlite3_column_text(st, 4));
        out->deadline_value = sqlite3_column_int64(st, 5);
        snprintf(out->deadline_unit, sizeof(out->deadline_unit), "%s", sqlite3_column_text(st, 6));
        out->dup_radius_m = sqlite3_column_double(st, 7);
        out->attributes = stored_json(st, 8, json_array());
        if (!json_is_array(out->attributes)) {
            json_decref(out->attributes);
            out->attributes = json_array();
        }
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_ENOTFOUND, "unknown category '%.20s'", code);
    } else {
        rc = md_store_fail(s, src, "category", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

void md_category_clear(struct md_category *c)
{
    if (!c)
        return;
    json_decref(c->attributes);
    c->attributes = NULL;
}

md_err md_categories_json(struct md_store *s, json_t **out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_categories_json(s->pg, out, ctx);
    static const char sql[] =
        "SELECT code, kind, group_code, group_zh, group_en, name_zh, name_en, description,"
        " deadline_value, deadline_unit, unit_type, dup_radius_m, attributes FROM categories"
        " ORDER BY sort, code";
    static const char *const names[] = {"code",     "kind",           "group",         "group_zh",
                                        "group_en", "name_zh",        "name_en",       "description",
                                        "deadline_value", "deadline_unit", "unit_type", "dup_radius_m"};
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    json_t *arr = json_array();
    int src = SQLITE_DONE;
    while (arr && (src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *c = json_object();
        for (int i = 0; i < 12; i++) {
            json_t *v = i == 8    ? json_integer(sqlite3_column_int64(st, i))
                        : i == 11 ? json_real(sqlite3_column_double(st, i))
                                  : text_json(st, i);
            json_object_set_new(c, names[i], v);
        }
        json_object_set_new(c, "attributes", stored_json(st, 12, json_array()));
        json_array_append_new(arr, c);
    }
    return finish_rows(s, st, rc, src, arr, out, "reading categories", ctx);
}

md_err md_facility_categories_json(struct md_store *s, json_t **out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_facility_categories_json(s->pg, out, ctx);
    static const char sql[] =
        "SELECT code, name_zh, name_en, color FROM facility_categories ORDER BY sort, code";
    static const char *const names[] = {"code", "name_zh", "name_en", "color"};
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    json_t *arr = json_array();
    int src = SQLITE_DONE;
    while (arr && (src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *c = json_object();
        for (int i = 0; i < 4; i++)
            json_object_set_new(c, names[i], text_json(st, i));
        json_array_append_new(arr, c);
    }
    return finish_rows(s, st, rc, src, arr, out, "reading facility categories", ctx);
}

/* State of a report needed to take a step. */
struct report_state {
    char status[MD_STATUS_MAX];
    char parked_from[MD_STATUS_MAX];
    char service_code[8];
    char kind[16];
    int64_t facility_id;
    char *proposed_change; /* owned */
    int64_t merged_into;
};

static md_err read_state(struct md_store *s, int64_t id, struct report_state *rs,
                         struct md_ctx *ctx)
{
    static const char sql[] = "SELECT status, parked_from, service_code, kind, facility_id,"
                              " proposed_change, merged_into FROM reports WHERE id = ?";
    memset(rs, 0, sizeof(*rs));
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        snprintf(rs->status, sizeof(rs->status), "%s", sqlite3_column_text(st, 0));
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            snprintf(rs->parked_from, sizeof(rs->parked_from), "%s", sqlite3_column_text(st, 1));
        snprintf(rs->service_code, sizeof(rs->service_code), "%s", sqlite3_column_text(st, 2));
        snprintf(rs->kind, sizeof(rs->kind), "%s", sqlite3_column_text(st, 3));
        rs->facility_id = sqlite3_column_int64(st, 4);
        const char *pc = (const char *)sqlite3_column_text(st, 5);
        rs->proposed_change = pc ? strdup(pc) : NULL;
        rs->merged_into = sqlite3_column_int64(st, 6);
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id);
    } else {
        rc = md_store_fail(s, src, "reading the report", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

/* A facility's history row for the change `report_id` made: {"before":
 * before (null for a new facility), "after": after}, by `who` at `now`. */
md_err md__facility_history(struct md_store *s, int64_t facility_id, int64_t report_id,
                            json_t *before, json_t *after, const struct md_principal *who,
                            int64_t now, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_facility_history(s->pg, facility_id, report_id, before, after, who, now, ctx);
    static const char sql[] = "INSERT INTO facility_history(facility_id, report_id, change,"
                              " actor_role, actor_id, at) VALUES (?, ?, ?, ?, ?, ?)";
    json_t *record = json_pack("{s:O? s:O}", "before", before, "after", after);
    char *text = record ? json_dumps(record, JSON_COMPACT) : NULL;
    json_decref(record);
    sqlite3_stmt *st = NULL;
    md_err rc = text ? md_store_stmt(s, sql, &st, ctx) : md_fail(ctx, MD_ENOMEM, "facility history");
    if (!rc) {
        sqlite3_bind_int64(st, 1, facility_id);
        if (report_id)
            sqlite3_bind_int64(st, 2, report_id);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, md_role_name(who->role), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, who->actor, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, now);
        rc = step_done(s, st, "facility history", ctx);
    }
    free(text);
    return rc;
}

/* Accepting a "missing facility" correction (no facility yet): the facility
 * is added at the report's place, in its district and grid, with the
 * proposed fields; the report then names it, and its history starts with
 * this change (before: null). */
static md_err add_missing_facility(struct md_store *s, int64_t report_id, json_t *change,
                                   const struct md_principal *who, int64_t now,
                                   struct md_ctx *ctx)
{
    static const char insert_sql[] =
        "INSERT INTO facilities(category, name, address, phone, opening_hours, district_code,"
        " grid_code, status, source, updated_at, lon, lat, geom)"
        " SELECT ?2, ?3, coalesce(?4, ''), coalesce(?5, ''), coalesce(?6, ''), r.district_code,"
        " r.grid_code, 'open', 'correction', ?7, r.lon, r.lat, MakePoint(r.lon, r.lat, 4326)"
        " FROM reports r WHERE r.id = ?1";
    static const char link_sql[] = "UPDATE reports SET facility_id = ?2 WHERE id = ?1";
    const char *category = json_string_value(json_object_get(change, "category"));
    const char *name = json_string_value(json_object_get(change, "name"));
    if (!category || !name)
        return md_fail(ctx, MD_EUNPROC, "a missing facility needs a name and a category");
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, insert_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, report_id);
    sqlite3_bind_text(st, 2, category, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    bind_opt_text(st, 4, json_string_value(json_object_get(change, "address")));
    bind_opt_text(st, 5, json_string_value(json_object_get(change, "phone")));
    bind_opt_text(st, 6, json_string_value(json_object_get(change, "opening_hours")));
    sqlite3_bind_int64(st, 7, now);
    rc = step_done(s, st, "adding the facility", ctx);
    int64_t fid = sqlite3_last_insert_rowid(md_store_db(s));
    if (!rc)
        rc = md_store_stmt(s, link_sql, &st, ctx);
    if (!rc) {
        sqlite3_bind_int64(st, 1, report_id);
        sqlite3_bind_int64(st, 2, fid);
        rc = step_done(s, st, "linking the facility", ctx);
    }
    if (!rc)
        rc = md__facility_history(s, fid, report_id, NULL, change, who, now, ctx);
    return rc;
}

/* Apply an accepted correction to its facility; records before/after. */
static md_err apply_correction(struct md_store *s, int64_t report_id, const struct report_state *rs,
                               const struct md_principal *who, int64_t now, struct md_ctx *ctx)
{
    static const char read_sql[] = "SELECT name, category, status, lon, lat FROM facilities"
                                   " WHERE id = ?";
    static const char update_sql[] =
        "UPDATE facilities SET name = coalesce(?2, name), category = coalesce(?3, category),"
        " status = coalesce(?4, status), lon = coalesce(?5, lon), lat = coalesce(?6, lat),"
        " geom = MakePoint(coalesce(?5, lon), coalesce(?6, lat), 4326),"
        " district_code = coalesce(?7, district_code), grid_code = coalesce(?8, grid_code),"
        " updated_at = ?9 WHERE id = ?1";
    if (!rs->proposed_change)
        return MD_OK;
    if (!rs->facility_id) {
        if (strcmp(rs->service_code, MD_MISSING_FACILITY_CODE) != 0)
            return MD_OK;
        json_t *proposed = json_loads(rs->proposed_change, 0, NULL);
        md_err rc = json_is_object(proposed)
                        ? add_missing_facility(s, report_id, proposed, who, now, ctx)
                        : md_fail(ctx, MD_EUNPROC, "the correction's proposed change is unreadable");
        json_decref(proposed);
        return rc;
    }
    json_t *change = json_loads(rs->proposed_change, 0, NULL);
    json_t *before = json_object();
    md_err rc = MD_OK;
    sqlite3_stmt *st = NULL;
    if (!json_is_object(change) || !before) {
        rc = md_fail(ctx, MD_EUNPROC, "the correction's proposed change is unreadable");
        goto out;
    }
    rc = md_store_stmt(s, read_sql, &st, ctx);
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, rs->facility_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        json_object_set_new(before, "name", text_json(st, 0));
        json_object_set_new(before, "category", text_json(st, 1));
        json_object_set_new(before, "status", text_json(st, 2));
        json_object_set_new(before, "lon", json_real(sqlite3_column_double(st, 3)));
        json_object_set_new(before, "lat", json_real(sqlite3_column_double(st, 4)));
    }
    sqlite3_reset(st);
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE ? md_fail(ctx, MD_ECONFLICT, "facility %lld no longer exists",
                                          (long long)rs->facility_id)
                                : md_store_fail(s, src, "reading the facility", ctx);
        goto out;
    }
    json_t *lon = json_object_get(change, "lon"), *lat = json_object_get(change, "lat");
    char district[MD_DISTRICT_CODE_MAX] = "", grid[MD_GRID_CODE_MAX] = "";
    if (json_is_number(lon) && json_is_number(lat)) {
        rc = md_store_locate(s, json_number_value(lon), json_number_value(lat), district, grid, ctx);
        if (rc == MD_ENOTFOUND) {
            md_ctx_clear(ctx);
            rc = md_fail(ctx, MD_EUNPROC, "the proposed location is outside every district");
        }
        if (rc)
            goto out;
    }
    rc = md_store_stmt(s, update_sql, &st, ctx);
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, rs->facility_id);
    bind_opt_text(st, 2, json_string_value(json_object_get(change, "name")));
    bind_opt_text(st, 3, json_string_value(json_object_get(change, "category")));
    bind_opt_text(st, 4, json_string_value(json_object_get(change, "status")));
    if (district[0]) {
        sqlite3_bind_double(st, 5, json_number_value(lon));
        sqlite3_bind_double(st, 6, json_number_value(lat));
        sqlite3_bind_text(st, 7, district, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, grid, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 9, now);
    rc = step_done(s, st, "updating the facility", ctx);
    if (rc)
        goto out;
    rc = md__facility_history(s, rs->facility_id, report_id, before, change, who, now, ctx);
out:
    json_decref(change);
    json_decref(before);
    return rc;
}

static md_err check_merge_target(struct md_store *s, int64_t id, int64_t into, struct md_ctx *ctx)
{
    if (into <= 0)
        return md_fail(ctx, MD_EINVAL, "merge needs \"into\": the id of the original report");
    if (into == id)
        return md_fail(ctx, MD_ECONFLICT, "a report cannot be merged into itself");
    struct report_state target;
    md_err rc = read_state(s, into, &target, ctx);
    if (rc == MD_ENOTFOUND) {
        md_ctx_clear(ctx);
        return md_fail(ctx, MD_EUNPROC, "merge target %lld does not exist", (long long)into);
    }
    if (!rc && (target.merged_into || strcmp(target.status, "rejected") == 0))
        rc = md_fail(ctx, MD_ECONFLICT, "report %lld is itself %s; merge into its original",
                     (long long)into, target.merged_into ? "a merged duplicate" : "rejected");
    free(target.proposed_change);
    return rc;
}

/* Resuming a parked case: its deadline moves by the working time it stood
 * parked (挂账 stops the clock). *expected: the new deadline, or 0 when the
 * case had none (parked before dispatch). */
static md_err resumed_deadline(struct md_store *s, const struct md_calendar *cal, int64_t id,
                               int64_t now, int64_t *expected, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT r.expected_at, (SELECT h.at FROM report_history h WHERE h.report_id = r.id"
        " AND h.to_status = 'parked' ORDER BY h.id DESC LIMIT 1) FROM reports r WHERE r.id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    *expected = 0;
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    bool has = src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
               sqlite3_column_type(st, 1) != SQLITE_NULL;
    int64_t old = has ? sqlite3_column_int64(st, 0) : 0;
    int64_t parked_at = has ? sqlite3_column_int64(st, 1) : 0;
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "reading the deadline", ctx);
    sqlite3_reset(st);
    int64_t minutes = 0;
    if (!rc && has)
        rc = md_calendar_working_minutes(cal, parked_at, now, &minutes, ctx);
    if (!rc && minutes > 0)
        rc = md_calendar_add_minutes(cal, old, minutes, expected, ctx);
    return rc;
}

static md_err apply_step(struct md_store *s, const struct md_calendar *cal, int64_t id,
                         const struct md_step *step, const struct md_principal *who, int64_t now,
                         int offset_min, json_t **report_out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_apply_step(s, cal, id, step, who, now, offset_min, report_out, ctx);
    static const char update_sql[] =
        "UPDATE reports SET status = ?2, parked_from = ?3, updated_at = ?4,"
        " expected_at = coalesce(?5, expected_at), closed_at = ?6,"
        " merged_into = coalesce(?7, merged_into) WHERE id = ?1";
    struct report_state rs;
    const char *to = NULL;
    json_t *report = NULL;
    md_err rc = read_state(s, id, &rs, ctx);
    if (!rc)
        rc = md_workflow_step(step->action, who->role, rs.status, rs.parked_from, &to, ctx);
    unsigned fx = md_workflow_effects(step->action);
    bool merge = !rc && (fx & MD_FX_MERGE);
    if (merge)
        rc = check_merge_target(s, id, step->into, ctx);
    int64_t expected = 0;
    if (!rc && (fx & MD_FX_DEADLINE)) {
        struct md_category cat;
        rc = md_category_get(s, rs.service_code, &cat, ctx);
        if (!rc)
            rc = md_calendar_deadline(cal, now, cat.deadline_value, cat.deadline_unit, &expected, ctx);
        md_category_clear(&cat);
    }
    if (!rc && (fx & MD_FX_CORRECTION) && strcmp(rs.kind, "correction") == 0)
        rc = apply_correction(s, id, &rs, who, now, ctx);
    if (!rc && (fx & MD_FX_RESUME_CLOCK))
        rc = resumed_deadline(s, cal, id, now, &expected, ctx);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = md_store_stmt(s, update_sql, &st, ctx);
    if (!rc) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
        if (fx & MD_FX_PARK)
            sqlite3_bind_text(st, 3, rs.status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        if (expected)
            sqlite3_bind_int64(st, 5, expected);
        if (!md_status_is_open(to))
            sqlite3_bind_int64(st, 6, now);
        if (merge)
            sqlite3_bind_int64(st, 7, step->into);
        rc = step_done(s, st, "updating the report", ctx);
    }
    char merge_note[64];
    const char *note = step->note;
    if (merge && (!note || !*note)) {
        snprintf(merge_note, sizeof(merge_note), "duplicate of report %lld", (long long)step->into);
        note = merge_note;
    }
    if (!rc)
        rc = insert_history(s, id, step->action, rs.status, to, md_role_name(who->role), who->actor,
                            note, now, ctx);
    if (!rc)
        rc = load_public(s, id, now, offset_min, &report, ctx);
    if (!rc) {
        json_t *extra = json_object();
        json_object_set_new(extra, "action", json_string(step->action));
        json_object_set_new(extra, "from", json_string(rs.status));
        json_object_set_new(extra, "to", json_string(to));
        json_object_set_new(extra, "note", json_string(note ? note : ""));
        if (merge)
            json_object_set_new(extra, "into", json_integer(step->into));
        json_incref(report);
        rc = emit(s, merge ? "report.merged" : "report.transitioned", id, report, extra, now, NULL,
                  ctx);
    }
    free(rs.proposed_change);
    if (rc)
        json_decref(report);
    else
        *report_out = report;
    return rc;
}

md_err md_report_transition(struct md_store *s, const struct md_calendar *cal, int64_t id,
                            const struct md_step *step, const struct md_principal *who,
                            int64_t now, int offset_min, json_t **report_out,
                            struct md_ctx *ctx)
{
    json_t *report = NULL;
    md_err rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    rc = apply_step(s, cal, id, step, who, now, offset_min, &report, ctx);
    if (!rc) /* after the workflow's 403/409: whose case it is (rolled back on failure) */
        rc = md__assignment_check(s, id, step, who, ctx);
    if (!rc)
        rc = md__assignment_record(s, id, step, who, now, ctx);
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    if (rc)
        json_decref(report);
    else
        *report_out = report;
    return rc;
}

md_err md_events_since(struct md_store *s, int64_t after, int limit, md_event_fn fn,
                       void *userdata, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_events_since(s->pg, after, limit, fn, userdata, ctx);
    static const char sql[] = "SELECT id, type, payload FROM events WHERE id > ? ORDER BY id LIMIT ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int(st, 2, limit);
    int src = SQLITE_DONE;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
        rc = fn(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                (const char *)sqlite3_column_text(st, 2), userdata);
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "reading events", ctx);
    sqlite3_reset(st);
    return rc;
}

md_err md_events_last_id(struct md_store *s, int64_t *out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_events_last_id(s->pg, out, ctx);
    static const char sql[] = "SELECT coalesce(max(id), 0) FROM events";
    return md_store_scalar(s, sql, out, ctx);
}

md_err md_facility_point(struct md_store *s, int64_t id, double *lon, double *lat,
                         struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_facility_point(s->pg, id, lon, lat, ctx);
    static const char sql[] = "SELECT lon, lat FROM facilities WHERE id = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *lon = sqlite3_column_double(st, 0);
        *lat = sqlite3_column_double(st, 1);
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_ENOTFOUND, "facility %lld does not exist", (long long)id);
    } else {
        rc = md_store_fail(s, src, "reading the facility", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

md_err md_facility_category_check(struct md_store *s, const char *code, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_facility_category_check(s->pg, code, ctx);
    static const char sql[] = "SELECT 1 FROM facility_categories WHERE code = ?";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_ROW)
        return MD_OK;
    if (src == SQLITE_DONE)
        return md_fail(ctx, MD_ENOTFOUND, "'%.40s' is not a facility category", code);
    return md_store_fail(s, src, "facility category", ctx);
}

