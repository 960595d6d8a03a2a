/* consult_api.c - consultations (城管维基, store/domain/consult.h).
 *
 *   GET  /api/v1/consultations                     list (status=open|closed)
 *   POST /api/v1/consultations                     publish (centre/admin, consultation:manage)
 *   GET  /api/v1/consultations/{id}                one, with counts and approved comments
 *   POST /api/v1/consultations/{id}/votes          {device, vote: for|against, lon?, lat?}
 *   POST /api/v1/consultations/{id}/comments       {device, body} -> pending moderation
 *   GET  /api/v1/consultations/{id}/comments       approved ones; staff: all (status=)
 *   POST /api/v1/consultations/{id}/comments/{c}/moderation  {decision: approve|reject}
 *   POST /api/v1/consultations/{id}/close          close now (centre)
 *   GET  /api/v1/consultations/{id}/results.geojson|.csv   votes by the voters' district
 *   GET  /api/v1/consultations/{id}/comments.csv   approved comments (open data)
 *   GET  /tiles/consultations/{z}/{x}/{y}.mvt      the proposals as a vector tile layer
 *   GET  /tiles/consultations.json                 its TileJSON
 *   GET  /styles/consultations.json                a MapLibre style for the layer
 *   (the three take ?crs=gcj02 as every tileset does, see tiles_api.c)
 *
 * A vote or comment is once per device token (as "me too"): only the
 * token's SHA-256 is stored; votes and comments share the per-address rate
 * limit of report creates. The voter's point, when sent, only locates their
 * district and is not kept.
 */
#include "consult.h"
#include "locate.h"
#include "json_body.h"
#include "md_sha256.h"
#include "md_time.h"
#include "mvt_encode.h"
#include "params.h"
#include "reports_int.h"
#include "tile_crs.h"
#include "tile_math.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TITLE_MAX 200
#define BODY_MAX 8000
#define COMMENT_MAX 2000
#define EXTENT 4096
#define BUFFER 64

static int offset(struct md_call *c)
{
    return c->api->reports ? c->api->reports->offset_min : 480;
}

static md_err centre(struct md_call *c, struct md_principal *who)
{
    md_err rc = md__auth_bearer(c, who);
    if (!rc && who->role == MD_ROLE_PUBLIC)
        rc = md_fail(c->ctx, MD_EUNAUTH, "this needs a centre token (Authorization: Bearer)");
    if (!rc && who->role != MD_ROLE_CENTRE && who->role != MD_ROLE_ADMIN)
        rc = md_fail(c->ctx, MD_EFORBID, "only the centre manages consultations");
    if (!rc)
        rc = md_principal_scope(who, MD_SCOPE_CONSULTATION, c->ctx);
    return rc;
}

static md_err parse_id(struct md_call *c, const char *s, size_t n, int64_t *out)
{
    char buf[24];
    if (n == 0 || n >= sizeof(buf) || strspn(s, "0123456789") < n)
        return md_fail(c->ctx, MD_ENOTFOUND, "no consultation %.*s", (int)(n > 20 ? 20 : n), s);
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtoll(buf, NULL, 10);
    return *out > 0 ? MD_OK : md_fail(c->ctx, MD_ENOTFOUND, "no consultation %s", buf);
}

static md_err list(struct md_call *c)
{
    static const char *const allowed[] = {"status", NULL};
    md_err params_rc = md__params_only(c, allowed);
    if (params_rc)
        return params_rc;
    const char *status = NULL;
    json_t *arr = NULL;
    md_err rc = md__param_str(c, "status", false, 16, &status);
    if (!rc && status && strcmp(status, "open") != 0 && strcmp(status, "closed") != 0)
        rc = md_fail(c->ctx, MD_EINVAL, "status must be open or closed");
    if (!rc)
        rc = md_consultation_list(c->w->store, status, md_time_now(), offset(c), &arr, c->ctx);
    return rc ? rc : md__send_json(c, 200, json_pack("{s:o}", "consultations", arr));
}

static md_err create(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    static const char *const allowed[] = {"title", "body",      "place", "lon",
                                          "lat",   "closes_at", NULL};
    struct md_principal who;
    json_t *body = NULL, *out = NULL;
    struct md_consultation_input in = {0};
    const char *closes = NULL;
    char district[MD_DISTRICT_CODE_MAX] = "", grid[MD_GRID_CODE_MAX];
    int64_t id = 0, now = md_time_now();
    md_err rc = centre(c, &who);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the consultation", allowed);
    if (!rc)
        rc = md__body_str(c, body, "title", true, TITLE_MAX, &in.title);
    if (!rc)
        rc = md__body_str(c, body, "body", true, BODY_MAX, &in.body);
    if (!rc)
        rc = md__body_str(c, body, "place", false, 200, &in.place);
    if (!rc)
        rc = md__body_str(c, body, "closes_at", true, 40, &closes);
    if (!rc && md_time_parse(closes, offset(c), &in.closes_at, c->ctx)) {
        md_ctx_clear(c->ctx);
        rc = md_fail(c->ctx, MD_EINVAL, "closes_at must be an ISO 8601 date or date-time");
    }
    json_t *x = body ? json_object_get(body, "lon") : NULL,
           *y = body ? json_object_get(body, "lat") : NULL;
    if (!rc && (!json_is_number(x) || !json_is_number(y)))
        rc = md_fail(c->ctx, MD_EINVAL, "lon and lat (numbers, WGS84) are required");
    if (!rc) {
        in.lon = json_number_value(x);
        in.lat = json_number_value(y);
        if (in.lon < -180 || in.lon > 180 || in.lat < -90 || in.lat > 90)
            rc = md_fail(c->ctx, MD_EINVAL, "lon/lat are outside -180..180 / -90..90");
    }
    if (!rc &&
        md_store_locate(c->w->store, in.lon, in.lat, district, grid, c->ctx) == MD_ENOTFOUND)
        rc = md_fail(c->ctx, MD_EUNPROC, "the place is outside every district");
    if (!rc) {
        in.district_code = district;
        in.actor_id = who.actor;
        rc = md_consultation_create(c->w->store, &in, now, &id, c->ctx);
    }
    if (!rc)
        rc = md_consultation_get(c->w->store, id, now, offset(c), &out, c->ctx);
    json_decref(body);
    if (rc)
        return rc;
    char loc[64];
    snprintf(loc, sizeof(loc), "/api/v1/consultations/%lld", (long long)id);
    MD_IGNORE(md_response_header(c->res, c->req->pool, "Location", loc));
    return md__send_json(c, 201, out);
}

static md_err vote(struct md_call *c, int64_t id)
{
    static const char *const allowed[] = {"device", "vote", "lon", "lat", NULL};
    json_t *body = NULL;
    const char *v = NULL;
    char hash[MD_SHA256_HEX_LEN], district[MD_DISTRICT_CODE_MAX] = "", grid[MD_GRID_CODE_MAX];
    md_err rc = md__rate_limit(c);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the vote", allowed);
    if (!rc)
        rc = md__body_device_hash(c, body, hash);
    if (!rc)
        rc = md__body_str(c, body, "vote", true, 8, &v);
    if (!rc && strcmp(v, "for") != 0 && strcmp(v, "against") != 0)
        rc = md_fail(c->ctx, MD_EINVAL, "vote must be for or against");
    json_t *x = body ? json_object_get(body, "lon") : NULL,
           *y = body ? json_object_get(body, "lat") : NULL;
    if (!rc && (x || y)) {
        if (!json_is_number(x) || !json_is_number(y))
            rc = md_fail(c->ctx, MD_EINVAL, "lon and lat go together, as numbers");
        else if (md_store_locate(c->w->store, json_number_value(x), json_number_value(y), district,
                                  grid, c->ctx) == MD_ENOTFOUND) {
            md_ctx_clear(c->ctx);
            district[0] = '\0'; /* outside the city: counted, without a district */
        } else if (c->ctx->err) {
            rc = c->ctx->err;
        }
    }
    if (!rc)
        rc = md_consultation_vote(c->w->store, id, hash, v, district, md_time_now(), c->ctx);
    json_t *out = NULL, *answer = NULL;
    if (!rc)
        rc = md_consultation_get(c->w->store, id, md_time_now(), offset(c), &out, c->ctx);
    if (!rc)
        answer = json_pack("{sI s:s s:O}", "consultation_id", (json_int_t)id, "vote", v, "votes",
                           json_object_get(out, "votes"));
    json_decref(out);
    json_decref(body);
    return rc ? rc : md__send_json(c, 201, answer);
}

static md_err comment(struct md_call *c, int64_t id)
{
    static const char *const allowed[] = {"device", "body", NULL};
    json_t *body = NULL;
    const char *text = NULL;
    char hash[MD_SHA256_HEX_LEN];
    int64_t cid = 0;
    md_err rc = md__rate_limit(c);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the comment", allowed);
    if (!rc)
        rc = md__body_device_hash(c, body, hash);
    if (!rc)
        rc = md__body_str(c, body, "body", true, COMMENT_MAX, &text);
    if (!rc)
        rc = md_consultation_comment(c->w->store, id, hash, text, md_time_now(), &cid, c->ctx);
    json_decref(body);
    if (rc)
        return rc;
    return md__send_json(c, 202,
                         json_pack("{sI sI s:s}", "id", (json_int_t)cid, "consultation_id",
                                   (json_int_t)id, "status", "pending"));
}

static md_err moderate(struct md_call *c, int64_t id, const char *rest)
{
    static const char *const allowed[] = {"decision", NULL};
    struct md_principal who;
    json_t *body = NULL;
    const char *decision = NULL;
    int64_t cid = 0;
    const char *slash = strchr(rest, '/');
    if (!slash || strcmp(slash, "/moderation") != 0)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
    md_err rc = parse_id(c, rest, (size_t)(slash - rest), &cid);
    if (!rc)
        rc = centre(c, &who);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the moderation", allowed);
    if (!rc)
        rc = md__body_str(c, body, "decision", true, 8, &decision);
    if (!rc && strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0)
        rc = md_fail(c->ctx, MD_EINVAL, "decision must be approve or reject");
    const char *status = !rc && strcmp(decision, "approve") == 0 ? "approved" : "rejected";
    if (!rc)
        rc = md_consultation_moderate(c->w->store, id, cid, status, who.actor, md_time_now(),
                                      c->ctx);
    json_decref(body);
    return rc ? rc
              : md__send_json(c, 200,
                              json_pack("{sI s:s}", "id", (json_int_t)cid, "status", status));
}

static md_err close_now(struct md_call *c, int64_t id)
{
    struct md_principal who;
    json_t *out = NULL;
    md_err rc = centre(c, &who);
    if (!rc)
        rc = md_consultation_close(c->w->store, id, md_time_now(), c->ctx);
    if (!rc)
        rc = md_consultation_get(c->w->store, id, md_time_now(), offset(c), &out, c->ctx);
    return rc ? rc : md__send_json(c, 200, out);
}

static md_err post_sub(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    const char *slash = strchr(c->tail, '/');
    int64_t id = 0;
    if (!slash)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
    md_err rc = parse_id(c, c->tail, (size_t)(slash - c->tail), &id);
    if (rc)
        return rc;
    if (strcmp(slash, "/votes") == 0)
        return vote(c, id);
    if (strcmp(slash, "/comments") == 0)
        return comment(c, id);
    if (strcmp(slash, "/close") == 0)
        return close_now(c, id);
    if (strncmp(slash, "/comments/", 10) == 0)
        return moderate(c, id, slash + 10);
    return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
}

/* ---- open data --------------------------------------------------------------- */

static md_err csv_field(struct md_buf *b, const char *v, bool last)
{
    md_err rc = md_buf_puts(b, "\"");
    for (const char *p = v ? v : ""; !rc && *p; p++)
        rc = *p == '"' ? md_buf_puts(b, "\"\"") : md_buf_append(b, p, 1);
    if (!rc)
        rc = md_buf_puts(b, last ? "\"\r\n" : "\",");
    return rc;
}

static md_err send_csv(struct md_call *c, const char *const *header, size_t ncols, json_t *rows,
                       const char *const *keys, const char *filename)
{
    struct md_buf *b = &c->res->body;
    md_buf_reset(b);
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < ncols; i++)
        rc = csv_field(b, header[i], i + 1 == ncols);
    size_t r;
    json_t *row;
    json_array_foreach(rows, r, row)
    {
        for (size_t i = 0; !rc && i < ncols; i++) {
            json_t *v = json_object_get(row, keys[i]);
            char num[32];
            const char *text = json_string_value(v);
            if (json_is_integer(v)) {
                snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
                text = num;
            } else if (json_is_real(v)) {
                snprintf(num, sizeof(num), "%.7f", json_real_value(v));
                text = num;
            }
            rc = csv_field(b, text, i + 1 == ncols);
        }
    }
    json_decref(rows);
    if (rc)
        return md_fail(c->ctx, rc, "export too large");
    char disp[96];
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
    c->res->content_type = "text/csv; charset=utf-8";
    MD_IGNORE(md_response_header(c->res, c->req->pool, "Content-Disposition", disp));
    return MD_OK;
}

static md_err results(struct md_call *c, int64_t id, bool csv)
{
    json_t *cons = NULL, *rows = NULL;
    md_err rc = md_consultation_get(c->w->store, id, md_time_now(), offset(c), &cons, c->ctx);
    if (!rc)
        rc = md_consultation_results(c->w->store, id, &rows, c->ctx);
    if (rc) {
        json_decref(cons);
        return rc;
    }
    char name[64];
    snprintf(name, sizeof(name), "consultation-%lld-results.%s", (long long)id,
             csv ? "csv" : "geojson");
    if (csv) {
        static const char *const header[] = {"district", "name", "name_en", "lon",
                                             "lat",      "for",  "against"};
        static const char *const keys[] = {"district",  "name", "name_en", "label_lon",
                                           "label_lat", "for",  "against"};
        json_decref(cons);
        return send_csv(c, header, 7, rows, keys, name);
    }
    json_t *features = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        json_t *lon = json_object_get(r, "label_lon"), *lat = json_object_get(r, "label_lat");
        json_t *geom = json_is_number(lon)
                           ? json_pack("{s:s s:[O O]}", "type", "Point", "coordinates", lon, lat)
                           : json_null();
        json_t *props = json_deep_copy(r);
        json_object_del(props, "label_lon");
        json_object_del(props, "label_lat");
        json_object_set_new(props, "consultation_id", json_integer(id));
        json_array_append_new(features, json_pack("{s:s s:o s:o}", "type", "Feature", "geometry",
                                                  geom, "properties", props));
    }
    json_decref(rows);
    json_t *fc = json_pack("{s:s s:o s:o}", "type", "FeatureCollection", "consultation", cons,
                           "features", features);
    rc = md__send_json(c, 200, fc);
    if (!rc) {
        c->res->content_type = "application/geo+json";
        char disp[96];
        snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
        MD_IGNORE(md_response_header(c->res, c->req->pool, "Content-Disposition", disp));
    }
    return rc;
}

static md_err staff_sees_all(struct md_call *c, bool *all)
{
    struct md_principal who;
    md_err rc = md__auth_bearer(c, &who);
    *all = !rc && (who.role == MD_ROLE_CENTRE || who.role == MD_ROLE_ADMIN);
    return rc;
}

static md_err get_sub(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    const char *slash = strchr(c->tail, '/');
    const char *dot = strchr(c->tail, '.');
    size_t n = slash ? (size_t)(slash - c->tail) : strlen(c->tail);
    int64_t id = 0;
    md_err rc = parse_id(c, c->tail, n, &id);
    if (rc)
        return rc;
    json_t *j = NULL, *comments = NULL;
    if (!slash) {
        (void)dot;
        rc = md_consultation_get(c->w->store, id, md_time_now(), offset(c), &j, c->ctx);
        if (!rc)
            rc = md_consultation_comments(c->w->store, id, true, offset(c), &comments, c->ctx);
        if (rc) {
            json_decref(j);
            return rc;
        }
        json_object_set_new(j, "approved_comments", comments);
        return md__send_json(c, 200, j);
    }
    if (strcmp(slash, "/results.geojson") == 0 || strcmp(slash, "/results.csv") == 0)
        return results(c, id, strcmp(slash, "/results.csv") == 0);
    if (strcmp(slash, "/comments") == 0 || strcmp(slash, "/comments.csv") == 0) {
        bool all = false;
        bool csv = strcmp(slash, "/comments.csv") == 0;
        rc = csv ? MD_OK : staff_sees_all(c, &all);
        if (!rc)
            rc = md_consultation_get(c->w->store, id, md_time_now(), offset(c), &j, c->ctx);
        json_decref(j);
        if (!rc)
            rc = md_consultation_comments(c->w->store, id, !all, offset(c), &comments, c->ctx);
        if (rc)
            return rc;
        if (csv) {
            static const char *const header[] = {"id", "created_at", "comment"};
            static const char *const keys[] = {"id", "created_at", "body"};
            char name[64];
            snprintf(name, sizeof(name), "consultation-%lld-comments.csv", (long long)id);
            return send_csv(c, header, 3, comments, keys, name);
        }
        return md__send_json(
            c, 200, json_pack("{sI s:o}", "consultation_id", (json_int_t)id, "comments", comments));
    }
    return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
}

/* ---- the map layer ------------------------------------------------------------- */

struct tile_job {
    struct md_mvt *mvt;
    struct md_tile_id t;
    enum md_crs crs; /* ?crs=gcj02: drawn at GCJ-02 positions (tiles/tile_crs.h) */
    size_t n;
};

static md_err tile_point(const struct md_consultation_point *p, void *userdata)
{
    struct tile_job *j = userdata;
    double x, y, lon, lat;
    md_tile_crs_point(j->crs, p->lon, p->lat, &lon, &lat);
    md_tile_project(j->t, EXTENT, lon, lat, &x, &y);
    if (x < -BUFFER || y < -BUFFER || x > EXTENT + BUFFER || y > EXTENT + BUFFER)
        return MD_OK; /* the GCJ-02 query box is a bound, a little wider */
    md_err rc = md_mvt_feature(j->mvt, (uint64_t)p->id, MD_MVT_POINT);
    if (!rc)
        rc = md_mvt_point(j->mvt, (int32_t)x, (int32_t)y);
    if (!rc)
        rc = md_mvt_prop_str(j->mvt, "title", p->title ? p->title : "");
    if (!rc)
        rc = md_mvt_prop_str(j->mvt, "status", p->status);
    if (!rc)
        rc = md_mvt_prop_int(j->mvt, "votes_for", p->votes_for);
    if (!rc)
        rc = md_mvt_prop_int(j->mvt, "votes_against", p->votes_against);
    if (!rc)
        rc = md_mvt_prop_int(j->mvt, "closes_at", p->closes_at);
    if (!rc)
        rc = md_mvt_feature_end(j->mvt);
    j->n++;
    return rc;
}

static md_err tile(struct md_call *c)
{
    unsigned z, x, y;
    int used = 0;
    enum md_crs crs;
    md_err crs_rc = md__param_tile_crs(c, &crs);
    if (crs_rc)
        return crs_rc;
    if (sscanf(c->tail, "%u/%u/%u.mvt%n", &z, &x, &y, &used) != 3 || c->tail[used] != '\0' ||
        !isdigit((unsigned char)c->tail[0]))
        return md_fail(c->ctx, MD_EINVAL,
                       "consultation tiles are /tiles/consultations/{z}/{x}/{y}.mvt");
    if (z > 22 || x >= (1u << z) || y >= (1u << z))
        return md_fail(c->ctx, MD_EINVAL, "tile %u/%u/%u is out of range (z 0-22)", z, x, y);
    struct tile_job j = {.mvt = md_mvt_new(c->req->pool), .t = {z, x, y}, .crs = crs};
    if (!j.mvt)
        return md_fail(c->ctx, MD_ENOMEM, "tile");
    md_mvt_set_ctx(j.mvt, c->ctx);
    struct md_bbox box;
    md_tile_crs_query_bbox(j.t, crs, EXTENT, BUFFER, &box);
    md_err rc = md_mvt_layer(j.mvt, "consultations", EXTENT);
    if (!rc)
        rc = md_consultation_points(c->w->store, box.minx, box.miny, box.maxx, box.maxy,
                                    md_time_now(), tile_point, &j, c->ctx);
    if (!rc && j.n)
        rc = md_mvt_serialize(j.mvt, &c->res->body);
    if (rc)
        return rc;
    c->res->status = j.n ? 200 : 204;
    c->res->content_type = j.n ? "application/vnd.mapbox-vector-tile" : NULL;
    return md_response_header(c->res, NULL, "Cache-Control", "public, max-age=5");
}

/* "?crs=gcj02" for a GCJ-02 request, "" for WGS84. */
static const char *crs_query(enum md_crs crs)
{
    return crs == MD_CRS_GCJ02 ? "?crs=gcj02" : "";
}

static md_err tilejson(struct md_call *c)
{
    enum md_crs crs;
    md_err crs_rc = md__param_tile_crs(c, &crs);
    if (crs_rc)
        return crs_rc;
    const char *base = md__base_url(c);
    char url[700];
    snprintf(url, sizeof(url), "%s/tiles/consultations/{z}/{x}/{y}.mvt%s", base, crs_query(crs));
    return md__send_json(
        c, 200,
        json_pack("{s:s s:s s:s s:[s] s:i s:i s:[{s:s s:s s:i s:i s:{s:s s:s s:s s:s s:s}}]}",
                  "tilejson", "3.0.0", "name", "consultations", "description",
                  "城管维基: the centre's open consultations", "tiles", url, "minzoom", 0,
                  "maxzoom", 22, "vector_layers", "id", "consultations", "description",
                  "one point per consultation", "minzoom", 0, "maxzoom", 22, "fields", "title",
                  "String", "status", "String: open or closed", "votes_for", "Number",
                  "votes_against", "Number", "closes_at", "Number: epoch seconds"));
}

static md_err style(struct md_call *c)
{
    enum md_crs crs;
    md_err crs_rc = md__param_tile_crs(c, &crs);
    if (crs_rc)
        return crs_rc;
    const char *base = md__base_url(c);
    char tj[700], glyphs[700];
    snprintf(tj, sizeof(tj), "%s/tiles/consultations.json%s", base, crs_query(crs));
    snprintf(glyphs, sizeof(glyphs), "%s/fonts/{fontstack}/{range}.pbf", base);
    json_t *j = json_pack(
        "{s:i s:s s:s s:{s:{s:s s:s}} s:[{s:s s:s s:{s:s}}, {s:s s:s s:s s:s s:{s:[s s s s s] s:i "
        "s:s s:i}},"
        " {s:s s:s s:s s:s s:i s:{s:[s s] s:[s] s:i s:[i f]}, s:{s:s s:s s:f}}]}",
        "version", 8, "name", "mapd consultations", "glyphs", glyphs, "sources", "consultations",
        "type", "vector", "url", tj, "layers", "id", "background", "type", "background", "paint",
        "background-color", "#f4f1ea", "id", "consultations", "type", "circle", "source",
        "consultations", "source-layer", "consultations", "paint", "circle-color", "match",
        "status", "open", "#1971c2", "#868e96", "circle-radius", 9, "circle-stroke-color",
        "#ffffff", "circle-stroke-width", 2, "id", "consultations-label", "type", "symbol",
        "source", "consultations", "source-layer", "consultations", "minzoom", 12, "layout",
        "text-field", "get", "title", "text-font", "Noto Sans Regular", "text-size", 12,
        "text-offset", 0, 1.4, "paint", "text-color", "#1d2733", "text-halo-color", "#ffffff",
        "text-halo-width", 1.5);
    return md__send_json(c, 200, j);
}

const struct md_route md__consult_routes[] = {
    {"GET", "/api/v1/consultations", false, list, "consultations_list", NULL},
    {"POST", "/api/v1/consultations", false, create, "consultations_create", NULL},
    {"GET", "/api/v1/consultations/", true, get_sub, "consultations_get", NULL},
    {"POST", "/api/v1/consultations/", true, post_sub, "consultations_post", NULL},
    {"GET", "/tiles/consultations/", true, tile, "consultations_tiles", NULL},
    {"GET", "/tiles/consultations.json", false, tilejson, "consultations_tilejson", NULL},
    {"GET", "/styles/consultations.json", false, style, "consultations_style", NULL},
};
const size_t md__consult_routes_count = sizeof(md__consult_routes) / sizeof(md__consult_routes[0]);
