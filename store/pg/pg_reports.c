/* pg_reports.c - report creation on PostgreSQL (pg_reports.h).
 *
 * The statements are reports.c's, column for column, so that a report
 * reads back as the same public JSON from either backend:
 *   - REPORT_COLS below is reports.c's list; SQLite's json_group_array of
 *     the public photos is json_agg ordered by photo id ('[]' for none, as
 *     json_group_array gives), read back through jansson either way;
 *   - geom is not written: the PostGIS schema generates it from lon/lat
 *     (ST_SetSRID(ST_MakePoint(lon, lat), 4326));
 *   - ids come back with RETURNING, where SQLite reads last_insert_rowid;
 *   - the follow-up token is made as reports.c makes it (32 bits of time,
 *     96 random bits, hex);
 *   - nearby reports: the GiST index gives the candidates in the box
 *     around the circle (md_geod_bbox_around, as SQLite's R*Tree does) and
 *     the geodesic distance decides, in C, exactly as reports.c does.
 *   - event ids (the event stream's cursor) come from the identity
 *     sequence, yet in commit order across writers: every event is written
 *     after its report's row changed in the same transaction, and that
 *     change took the change log's counter lock (pg_changelog_sql.h), held
 *     to COMMIT, so a second writer draws its ids only after the first has
 *     committed. A savepoint rolled back leaves a gap, which a reader of
 *     "id > last" does not mind.
 * Nothing here opens a transaction: like their SQLite twins these run in
 * the caller's (the report writer's, or a read snapshot).
 */
#include "pg_reports.h"

#include "geodesic.h"
#include "md_time.h"
#include "pg_store.h"
#include "store_int.h"
#include "workflow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_COLS MD_PG_REPORT_COLS
#define REPORT_FROM MD_PG_REPORT_FROM

static void int_param(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
}

static json_t *text_json(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *time_json(const PGresult *r, int row, int col, int offset_min)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    char buf[MD_TIME_STR_MAX];
    md_time_format(md__pg_int(r, row, col), offset_min, buf);
    return json_string(buf);
}

static json_t *int_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_integer(md__pg_int(r, row, col));
}

/* A JSON column written by reports.c; `fallback` when NULL or unparsable. */
static json_t *stored_json(const PGresult *r, int row, int col, json_t *fallback)
{
    json_t *j = PQgetisnull(r, row, col)
                    ? NULL
                    : json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
    if (j) {
        json_decref(fallback);
        return j;
    }
    return fallback;
}

static json_t *photos_json(const PGresult *r, int row, int col)
{
    json_t *arr = stored_json(r, row, col, json_array());
    md__photos_add_urls(arr);
    return arr;
}

/* reports.c's row_json over a PostgreSQL row of REPORT_COLS. */
json_t *md__pg_report_row_json(const PGresult *r, int row, int64_t now, int offset_min)
{
    const char *status = md__pg_text(r, row, 10);
    bool has_expected = !PQgetisnull(r, row, 19);
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "id", json_integer(md__pg_int(r, row, 0)));
    json_object_set_new(j, "kind", text_json(r, row, 1));
    json_object_set_new(j, "category", text_json(r, row, 2));
    json_object_set_new(j, "category_name", text_json(r, row, 3));
    json_object_set_new(j, "category_name_en", text_json(r, row, 4));
    json_object_set_new(j, "group", text_json(r, row, 5));
    json_object_set_new(j, "description", text_json(r, row, 6));
    json_object_set_new(j, "address", text_json(r, row, 7));
    json_object_set_new(j, "district", text_json(r, row, 8));
    const char *grid = md__pg_text(r, row, 9);
    json_object_set_new(j, "grid", *grid ? json_string(grid) : json_null());
    json_object_set_new(j, "status", text_json(r, row, 10));
    json_object_set_new(j, "channel", text_json(r, row, 11));
    json_object_set_new(j, "media_urls", stored_json(r, row, 12, json_array()));
    json_object_set_new(j, "attributes", stored_json(r, row, 13, json_object()));
    json_object_set_new(j, "facility_id", int_or_null(r, row, 14));
    json_object_set_new(j, "proposed_change", stored_json(r, row, 15, json_null()));
    json_object_set_new(j, "merged_into", int_or_null(r, row, 16));
    json_object_set_new(j, "created_at", time_json(r, row, 17, offset_min));
    json_object_set_new(j, "updated_at", time_json(r, row, 18, offset_min));
    json_object_set_new(j, "expected_at", time_json(r, row, 19, offset_min));
    json_object_set_new(j, "closed_at", time_json(r, row, 20, offset_min));
    json_object_set_new(j, "lon", json_real(md__pg_double(r, row, 21)));
    json_object_set_new(j, "lat", json_real(md__pg_double(r, row, 22)));
    json_object_set_new(j, "status_note", text_json(r, row, 23));
    json_object_set_new(j, "unit_type", text_json(r, row, 24));
    json_object_set_new(j, "supporters", json_integer(md__pg_int(r, row, 25)));
    json_object_set_new(j, "photos", photos_json(r, row, 27));
    json_object_set_new(j, "rating", int_or_null(r, row, 26));
    json_object_set_new(
        j, "overdue",
        json_boolean(md_workflow_overdue(status, has_expected, md__pg_int(r, row, 19), now)));
    return j;
}

md_err md__pg_report_public(struct md_pg *pg, int64_t id, int64_t now, int offset_min, json_t **out,
                            struct md_ctx *ctx)
{
    static const char sql[] = "SELECT " REPORT_COLS REPORT_FROM " WHERE r.id = $1::bigint";
    char idp[24];
    int_param(id, idp);
    const char *values[] = {idp};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_report_public", sql, 1, values, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        *out = md__pg_report_row_json(r, 0, now, offset_min);
        if (!*out)
            rc = md_fail(ctx, MD_ENOMEM, "report JSON");
    } else {
        rc = md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id);
    }
    PQclear(r);
    return rc;
}

/* Run a statement that returns no rows the caller needs. */
static md_err run(struct md_pg *pg, const char *name, const char *sql, int n,
                  const char *const *values, struct md_ctx *ctx)
{
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, name, sql, n, values, &r, ctx);
    PQclear(r);
    return rc;
}

/* Run an INSERT ... RETURNING id: the new id into *id. */
static md_err run_returning(struct md_pg *pg, const char *name, const char *sql, int n,
                            const char *const *values, const int *lengths, const int *formats,
                            int64_t *id, struct md_ctx *ctx)
{
    PGresult *r = NULL;
    md_err rc = md__pg_query_bin(pg, name, sql, n, values, lengths, formats, &r, ctx);
    if (!rc && PQntuples(r) != 1)
        rc = md_fail(ctx, MD_EDB, "%s: no id returned", name);
    if (!rc)
        *id = md__pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

md_err md__pg_report_history_add(struct md_pg *pg, int64_t id, const char *action, const char *from,
                                 const char *to, const char *role, const char *actor,
                                 const char *note, int64_t now, struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO report_history(report_id, action, from_status, to_status, actor_role,"
        " actor_id, note, at) VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8::bigint)";
    char idp[24], at[24];
    int_param(id, idp);
    int_param(now, at);
    const char *values[] = {idp, action, from, to, role, actor, note ? note : "", at};
    return run(pg, "md_report_history_add", sql, 8, values, ctx);
}

md_err md__pg_report_emit(struct md_pg *pg, const char *type, int64_t id, json_t *report,
                          json_t *extra, int64_t now, int64_t *event_id, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO events(type, report_id, payload, at)"
                              " VALUES ($1, $2::bigint, $3, $4::bigint) RETURNING id";
    json_t *payload = extra ? extra : json_object();
    if (!payload) {
        json_decref(report);
        return md_fail(ctx, MD_ENOMEM, "event payload");
    }
    json_object_set_new(payload, "type", json_string(type));
    json_object_set_new(payload, "report", report);
    /* reals as every answer prints them (12 significant digits, api/params.h) */
    char *text = json_dumps(payload, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(payload);
    if (!text)
        return md_fail(ctx, MD_ENOMEM, "event payload");
    char idp[24], at[24];
    int_param(id, idp);
    int_param(now, at);
    const char *values[] = {type, idp, text, at};
    int64_t eid = 0;
    md_err rc = run_returning(pg, "md_report_emit", sql, 4, values, NULL, NULL, &eid, ctx);
    free(text);
    if (!rc && event_id)
        *event_id = eid;
    return rc;
}

md_err md__pg_photos_insert(struct md_pg *pg, int64_t id, const char *status,
                            const struct md_photo_new *photos, size_t n, const char *role,
                            const char *actor, int64_t now, int64_t *ids, struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO report_photos(report_id, width, height, upload_bytes, display, display_etag,"
        " thumb, thumb_etag, actor_role, created_at) VALUES ($1::bigint, $2::integer,"
        " $3::integer, $4::bigint, $5::bytea, $6, $7::bytea, $8, $9, $10::bigint) RETURNING id";
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        const struct md_photo_new *p = &photos[i];
        char de[MD_SHA256_HEX_LEN], te[MD_SHA256_HEX_LEN];
        md_sha256_hex(p->display, p->display_len, de);
        md_sha256_hex(p->thumb, p->thumb_len, te);
        char idp[24], w[24], h[24], up[24], at[24];
        int_param(id, idp);
        int_param(p->width, w);
        int_param(p->height, h);
        int_param((int64_t)p->upload_bytes, up);
        int_param(now, at);
        /* The JPEG bytes go as binary parameters: no escaping, no copy. */
        const char *values[] = {
            idp, w, h, up, (const char *)p->display, de, (const char *)p->thumb, te, role, at};
        const int lengths[] = {0, 0, 0, 0, (int)p->display_len, 0, (int)p->thumb_len, 0, 0, 0};
        const int formats[] = {0, 0, 0, 0, 1, 0, 1, 0, 0, 0};
        if (p->display_len > INT32_MAX || p->thumb_len > INT32_MAX)
            return md_fail(ctx, MD_EUNPROC, "the photo is too big");
        rc = run_returning(pg, "md_photos_insert", sql, 10, values, lengths, formats, &ids[i], ctx);
        char note[48];
        snprintf(note, sizeof(note), "photo %lld", (long long)ids[i]);
        if (!rc)
            rc = md__pg_report_history_add(pg, id, "photo", status, status, role, actor, note, now,
                                           ctx);
    }
    return rc;
}

static md_err insert_contact(struct md_pg *pg, int64_t id, const struct md_report_input *in,
                             struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO report_contacts(report_id, name, phone, email,"
                              " device_id, client_addr) VALUES ($1::bigint, $2, $3, $4, $5, $6)";
    const struct md_contact *c = &in->contact;
    if (!c->name && !c->phone && !c->email && !c->device_id && !in->client_addr)
        return MD_OK;
    char idp[24];
    int_param(id, idp);
    const char *values[] = {idp, c->name, c->phone, c->email, c->device_id, in->client_addr};
    return run(pg, "md_report_contact", sql, 6, values, ctx);
}

/* reports.c's follow-up token: 32 bits of creation time (append-mostly
 * index inserts), then 96 random bits, in hex. */
static md_err make_token(int64_t now, char token[MD_REPORT_TOKEN_MAX], struct md_ctx *ctx)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    md_err rc = md_random_bytes(raw + 4, sizeof(raw) - 4, ctx);
    if (rc)
        return rc;
    uint32_t t = (uint32_t)now;
    raw[0] = (unsigned char)(t >> 24);
    raw[1] = (unsigned char)(t >> 16);
    raw[2] = (unsigned char)(t >> 8);
    raw[3] = (unsigned char)t;
    for (size_t i = 0; i < sizeof(raw); i++) {
        token[2 * i] = hex[raw[i] >> 4];
        token[2 * i + 1] = hex[raw[i] & 15];
    }
    token[2 * sizeof(raw)] = '\0';
    return MD_OK;
}

md_err md__pg_report_insert(struct md_pg *pg, const struct md_report_input *in, int64_t now,
                            int offset_min, struct md_report_created *out, struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO reports(kind, service_code, description, address, district_code, grid_code,"
        " status, channel, media_urls, attributes, facility_id, proposed_change, token,"
        " created_at, updated_at, lon, lat) VALUES ($1, $2, $3, $4, $5, $6, 'reported', $7, $8,"
        " $9, $10::bigint, $11, $12, $13::bigint, $13::bigint, $14::float8, $15::float8)"
        " RETURNING id";
    memset(out, 0, sizeof(*out));
    md_err rc = make_token(now, out->token, ctx);
    if (rc)
        return rc;
    char fid[24], at[24], lon[MD_PG_DOUBLE_CHARS], lat[MD_PG_DOUBLE_CHARS];
    int_param(in->facility_id, fid);
    int_param(now, at);
    md__pg_double_param(in->lon, lon);
    md__pg_double_param(in->lat, lat);
    const char *values[] = {in->kind,
                            in->service_code,
                            in->description ? in->description : "",
                            in->address ? in->address : "",
                            in->district,
                            in->grid[0] ? in->grid : NULL,
                            in->channel,
                            in->media_urls ? in->media_urls : "[]",
                            in->attributes ? in->attributes : "{}",
                            in->facility_id ? fid : NULL,
                            in->proposed_change,
                            out->token,
                            at,
                            lon,
                            lat};
    rc = run_returning(pg, "md_report_insert", sql, 15, values, NULL, NULL, &out->id, ctx);
    if (rc)
        return rc;
    out->created_at = now;
    const char *role = md_role_name(in->actor_role);
    const char *actor = in->actor_id ? in->actor_id : "anonymous";
    rc = insert_contact(pg, out->id, in, ctx);
    if (!rc)
        rc = md__pg_report_history_add(pg, out->id, "report", NULL, "reported", role, actor, "",
                                       now, ctx);
    if (!rc && in->nphotos > MD_PHOTOS_PER_REPORT)
        rc = md_fail(ctx, MD_EUNPROC, "a report has at most %d photos", MD_PHOTOS_PER_REPORT);
    if (!rc && in->nphotos)
        rc = md__pg_photos_insert(pg, out->id, "reported", in->photos, in->nphotos, role, actor,
                                  now, out->photo_ids, ctx);
    if (!rc)
        out->nphotos = in->nphotos;
    json_t *report = NULL;
    if (!rc)
        rc = md__pg_report_public(pg, out->id, now, offset_min, &report, ctx);
    if (!rc)
        rc = md__pg_report_emit(pg, "report.created", out->id, report, NULL, now, &out->event_id,
                                ctx);
    return rc;
}

md_err md__pg_report_by_token(struct md_pg *pg, const char *token, int64_t *id, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT id FROM reports WHERE token = $1";
    const char *values[] = {token};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_report_by_token", sql, 1, values, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) == 1)
        *id = md__pg_int(r, 0, 0);
    else
        rc = md_fail(ctx, MD_ENOTFOUND, "no report has this token");
    PQclear(r);
    return rc;
}

md_err md__pg_category_get(struct md_pg *pg, const char *code, struct md_category *out,
                           struct md_ctx *ctx)
{
    static const char sql[] = "SELECT code, kind, group_code, name_zh, name_en, deadline_value,"
                              " deadline_unit, dup_radius_m, attributes FROM categories"
                              " WHERE code = $1";
    memset(out, 0, sizeof(*out));
    const char *values[] = {code};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_category_get", sql, 1, values, &r, ctx);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        snprintf(out->code, sizeof(out->code), "%s", md__pg_text(r, 0, 0));
        snprintf(out->kind, sizeof(out->kind), "%s", md__pg_text(r, 0, 1));
        snprintf(out->group_code, sizeof(out->group_code), "%s", md__pg_text(r, 0, 2));
        snprintf(out->name_zh, sizeof(out->name_zh), "%s", md__pg_text(r, 0, 3));
        snprintf(out->name_en, sizeof(out->name_en), "%s", md__pg_text(r, 0, 4));
        out->deadline_value = md__pg_int(r, 0, 5);
        snprintf(out->deadline_unit, sizeof(out->deadline_unit), "%s", md__pg_text(r, 0, 6));
        out->dup_radius_m = md__pg_double(r, 0, 7);
        out->attributes = stored_json(r, 0, 8, json_array());
        if (!json_is_array(out->attributes)) {
            json_decref(out->attributes);
            out->attributes = json_array();
        }
    } else {
        rc = md_fail(ctx, MD_ENOTFOUND, "unknown category '%.20s'", code);
    }
    PQclear(r);
    return rc;
}

static int by_distance(const void *a, const void *b)
{
    double da = json_real_value(json_object_get(*(json_t *const *)a, "distance_m"));
    double db = json_real_value(json_object_get(*(json_t *const *)b, "distance_m"));
    return da < db ? -1 : da > db;
}

md_err md__pg_report_nearby_open(struct md_pg *pg, const char *service_code, double lon, double lat,
                                 double radius_m, int64_t exclude_id, int limit, int offset_min,
                                 json_t **out, struct md_ctx *ctx)
{
    static const char sql[] =
        "SELECT id, status, lon, lat, created_at, description, supporters FROM reports"
        " WHERE geom && ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, 4326)"
        " AND service_code = $5 AND status NOT IN ('closed', 'rejected') AND id <> $6::bigint"
        " LIMIT 1000";
    struct md_bbox b;
    md_geod_bbox_around(lon, lat, radius_m, &b);
    char p[4][MD_PG_DOUBLE_CHARS], ex[24];
    md__pg_double_param(b.minx, p[0]);
    md__pg_double_param(b.miny, p[1]);
    md__pg_double_param(b.maxx, p[2]);
    md__pg_double_param(b.maxy, p[3]);
    int_param(exclude_id, ex);
    const char *values[] = {p[0], p[1], p[2], p[3], service_code, ex};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_report_nearby_open", sql, 6, values, &r, ctx);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    json_t **items = malloc((size_t)(rows ? rows : 1) * sizeof(*items));
    size_t n = 0;
    for (int i = 0; items && i < rows; i++) {
        double d = md_geod_distance(lon, lat, md__pg_double(r, i, 2), md__pg_double(r, i, 3));
        if (!(d <= radius_m))
            continue;
        json_t *j = json_object();
        json_object_set_new(j, "id", json_integer(md__pg_int(r, i, 0)));
        json_object_set_new(j, "status", text_json(r, i, 1));
        json_object_set_new(j, "distance_m", json_real(round(d * 10) / 10));
        json_object_set_new(j, "created_at", time_json(r, i, 4, offset_min));
        json_object_set_new(j, "description", text_json(r, i, 5));
        json_object_set_new(j, "supporters", json_integer(md__pg_int(r, i, 6)));
        items[n++] = j;
    }
    PQclear(r);
    json_t *arr = items ? json_array() : NULL;
    if (items)
        qsort(items, n, sizeof(*items), by_distance);
    for (size_t i = 0; i < n; i++) {
        if (arr && (int)json_array_size(arr) < limit)
            json_array_append(arr, items[i]);
        json_decref(items[i]);
    }
    free(items);
    if (!arr)
        return md_fail(ctx, MD_ENOMEM, "nearby reports");
    *out = arr;
    return MD_OK;
}

md_err md__pg_events_since(struct md_pg *pg, int64_t after, int limit, md_event_fn fn,
                           void *userdata, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT id, type, payload FROM events WHERE id > $1::bigint"
                              " ORDER BY id LIMIT $2::integer";
    char a[24], l[24];
    int_param(after, a);
    int_param(limit, l);
    const char *values[] = {a, l};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_events_since", sql, 2, values, &r, ctx);
    for (int i = 0; !rc && i < PQntuples(r); i++)
        rc = fn(md__pg_int(r, i, 0), md__pg_text(r, i, 1), md__pg_text(r, i, 2), userdata);
    PQclear(r);
    return rc;
}

md_err md__pg_events_last_id(struct md_pg *pg, int64_t *out, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT coalesce(max(id), 0) FROM events";
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_events_last_id", sql, 0, NULL, &r, ctx);
    if (!rc)
        *out = PQntuples(r) == 1 ? md__pg_int(r, 0, 0) : 0;
    PQclear(r);
    return rc;
}

md_err md__pg_report_history(struct md_pg *pg, int64_t id, int offset_min, json_t **out,
                             struct md_ctx *ctx)
{
    static const char exists_sql[] = "SELECT 1 FROM reports WHERE id = $1::bigint";
    static const char sql[] = "SELECT action, from_status, to_status, actor_role, actor_id, note,"
                              " at FROM report_history WHERE report_id = $1::bigint ORDER BY id";
    char idp[24];
    int_param(id, idp);
    const char *values[] = {idp};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_report_exists", exists_sql, 1, values, &r, ctx);
    if (!rc && PQntuples(r) != 1)
        rc = md_fail(ctx, MD_ENOTFOUND, "report %lld does not exist", (long long)id);
    PQclear(r);
    r = NULL;
    if (!rc)
        rc = md__pg_query(pg, "md_report_history", sql, 1, values, &r, ctx);
    json_t *arr = rc ? NULL : json_array();
    for (int i = 0; arr && i < PQntuples(r); i++) {
        json_t *h = json_object();
        json_object_set_new(h, "action", text_json(r, i, 0));
        json_object_set_new(h, "from", text_json(r, i, 1));
        json_object_set_new(h, "to", text_json(r, i, 2));
        json_object_set_new(h, "role", text_json(r, i, 3));
        json_object_set_new(h, "actor", text_json(r, i, 4));
        json_object_set_new(h, "note", text_json(r, i, 5));
        json_object_set_new(h, "at", time_json(r, i, 6, offset_min));
        json_array_append_new(arr, h);
    }
    PQclear(r);
    if (!rc && !arr)
        rc = md_fail(ctx, MD_ENOMEM, "reading the history: out of memory");
    if (!rc)
        *out = arr;
    return rc;
}

md_err md__pg_categories_json(struct md_pg *pg, json_t **out, struct md_ctx *ctx)
{
    /* sort, then code bytewise (SQLite's BINARY) */
    static const char sql[] =
        "SELECT code, kind, group_code, group_zh, group_en, name_zh, name_en, description,"
        " deadline_value, deadline_unit, unit_type, dup_radius_m, attributes FROM categories"
        " ORDER BY sort, code COLLATE \"C\"";
    static const char *const names[] = {
        "code",    "kind",        "group",          "group_zh",      "group_en",  "name_zh",
        "name_en", "description", "deadline_value", "deadline_unit", "unit_type", "dup_radius_m"};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_categories_json", sql, 0, NULL, &r, ctx);
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (int row = 0; arr && row < PQntuples(r); row++) {
        json_t *c = json_object();
        for (int i = 0; i < 12; i++) {
            json_t *v = i == 8    ? json_integer(md__pg_int(r, row, i))
                        : i == 11 ? json_real(md__pg_double(r, row, i))
                                  : text_json(r, row, i);
            json_object_set_new(c, names[i], v);
        }
        json_object_set_new(c, "attributes", stored_json(r, row, 12, json_array()));
        json_array_append_new(arr, c);
    }
    PQclear(r);
    if (!arr)
        return md_fail(ctx, MD_ENOMEM, "reading categories: out of memory");
    *out = arr;
    return MD_OK;
}

md_err md__pg_facility_categories_json(struct md_pg *pg, json_t **out, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT code, name_zh, name_en, color FROM facility_categories"
                              " ORDER BY sort, code COLLATE \"C\"";
    static const char *const names[] = {"code", "name_zh", "name_en", "color"};
    PGresult *r = NULL;
    md_err rc = md__pg_query(pg, "md_facility_categories_json", sql, 0, NULL, &r, ctx);
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (int row = 0; arr && row < PQntuples(r); row++) {
        json_t *c = json_object();
        for (int i = 0; i < 4; i++)
            json_object_set_new(c, names[i], text_json(r, row, i));
        json_array_append_new(arr, c);
    }
    PQclear(r);
    if (!arr)
        return md_fail(ctx, MD_ENOMEM, "reading facility categories: out of memory");
    *out = arr;
    return MD_OK;
}
