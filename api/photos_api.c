/* photos_api.c - report photos (store/domain/photos.h, photo_image.h).
 *
 *   POST   /api/v1/reports/{id}/photos   multipart/form-data: parts "photo" (1-5 files,
 *                                        JPEG/PNG/WebP/HEIC) and, for the reporter, "token"
 *                                        (the follow-up token); or a staff Bearer token
 *                                        (an officer's report back) -> 201 {report_id,
 *                                        photos: [{id, width, height, url, thumb_url}], public}
 *   GET    /api/v1/photos/{p}.jpg        the display size (<= 1600 px)
 *   GET    /api/v1/photos/{p}/thumb.jpg  the thumbnail (<= 320 px)
 *   DELETE /api/v1/photos/{p}            the centre removes a photo -> 204
 *
 * Limits: 8 MiB per photo (413), 40 megapixels (422, read from the header
 * before decoding), 5 photos per report (422), a body of MD_UPLOAD_BODY_MAX
 * (413 from mapd/server.c); not an image libvips decodes as JPEG, PNG or
 * WebP: 415. Photos of a report not accepted yet answer 404 except to
 * staff. Served with a strong ETag (SHA-256 of the bytes), 304 on
 * If-None-Match and a year's Cache-Control (the bytes of a photo id never
 * change; a removed photo is gone at the origin, not from caches).
 */
#include "citizen.h"
#include "json_body.h"
#include "md_multipart.h"
#include "md_time.h"
#include "params.h"
#include "photo_image.h"
#include "photos.h"
#include "reports_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PHOTO_MAX_BYTES ((size_t)8 << 20)
#define PHOTO_MAX_PIXELS ((int64_t)40000000)

static bool is_staff(enum md_role r)
{
    return r == MD_ROLE_OFFICER || r == MD_ROLE_CENTRE || r == MD_ROLE_ADMIN;
}

/* Who uploads: a staff Bearer token, or the reporter's follow-up token. */
static md_err uploader(struct md_call *c, int64_t id, const struct md_multipart *m,
                       struct md_principal *who)
{
    md_err rc = md__auth_bearer(c, who);
    if (rc || is_staff(who->role))
        return rc;
    const struct md_part *t = md_multipart_get(m, "token");
    char token[72];
    if (!t || t->len == 0 || t->len >= sizeof(token))
        return md_fail(c->ctx, MD_EUNAUTH,
                       "a photo needs the report's follow-up token (part \"token\") or a staff"
                       " token (Authorization: Bearer)");
    memcpy(token, t->data, t->len);
    token[t->len] = '\0';
    rc = md_report_token_check(c->w->store, id, token, c->ctx);
    if (!rc)
        snprintf(who->actor, sizeof(who->actor), "reporter");
    return rc;
}

md_err md__photos_process(struct md_call *c, const struct md_photo_parts *src,
                          struct md_photo_set *out)
{
    const struct md_photo_limits lim = {PHOTO_MAX_BYTES, PHOTO_MAX_PIXELS};
    const struct md_multipart *m = src->m;
    out->n = 0;
    for (size_t i = 0; i < m->nparts; i++) {
        const struct md_part *p = &m->parts[i];
        if (strcmp(p->name, src->part) != 0)
            continue;
        if (out->n == MD_PHOTOS_PER_REPORT)
            return md_fail(c->ctx, MD_EUNPROC, "a report has at most %d photos",
                           MD_PHOTOS_PER_REPORT);
        struct md_photo_image *img = &out->imgs[out->n];
        md_err rc = md_photo_process(p->data, p->len, &lim, img, c->ctx);
        if (rc)
            return rc;
        out->rows[out->n] = (struct md_photo_new){.display = img->display,
                                                  .display_len = img->display_len,
                                                  .thumb = img->thumb,
                                                  .thumb_len = img->thumb_len,
                                                  .width = img->width,
                                                  .height = img->height,
                                                  .upload_bytes = p->len};
        out->n++;
    }
    if (out->n < src->min)
        return md_fail(c->ctx, MD_EINVAL, "no part named \"%s\" in the upload", src->part);
    return MD_OK;
}

void md__photo_set_clear(struct md_photo_set *set)
{
    for (size_t i = 0; i < MD_PHOTOS_PER_REPORT; i++)
        md_photo_image_clear(&set->imgs[i]);
    set->n = 0;
}

md_err md__multipart_body(struct md_call *c, struct md_multipart **out)
{
    char boundary[72];
    *out = NULL;
    md_err rc = md_multipart_boundary(md_request_header(c->req, "Content-Type"), boundary, c->ctx);
    if (rc)
        return rc;
    struct md_multipart *m = malloc(sizeof(*m));
    if (!m)
        return md_fail(c->ctx, MD_ENOMEM, "upload");
    rc = md_multipart_parse((const unsigned char *)c->req->body, c->req->body_len, boundary, m,
                            c->ctx);
    if (rc) {
        free(m);
        return rc;
    }
    *out = m;
    return MD_OK;
}

json_t *md__photo_json(int64_t pid, int w, int h)
{
    char url[64], thumb[64];
    snprintf(url, sizeof(url), "/api/v1/photos/%lld.jpg", (long long)pid);
    snprintf(thumb, sizeof(thumb), "/api/v1/photos/%lld/thumb.jpg", (long long)pid);
    return json_pack("{sI si si ss ss}", "id", (json_int_t)pid, "width", w, "height", h, "url", url,
                     "thumb_url", thumb);
}

md_err md__photos_upload(struct md_call *c, int64_t id)
{
    struct md_multipart *m = NULL;
    struct md_photo_set set = {0};
    int64_t ids[MD_PHOTOS_PER_REPORT];
    struct md_principal who;
    md_err rc = md__rate_limit(c);
    if (!rc)
        rc = md__multipart_body(c, &m);
    if (!rc)
        rc = uploader(c, id, m, &who);
    if (!rc)
        rc = md__photos_process(c, &(struct md_photo_parts){m, "photo", 1}, &set);
    if (!rc)
        rc = md_photos_add(c->w->store, id, set.rows, set.n, &who, md_time_now(), ids, c->ctx);
    json_t *arr = rc ? NULL : json_array();
    for (size_t i = 0; arr && i < set.n; i++)
        json_array_append_new(arr, md__photo_json(ids[i], set.rows[i].width, set.rows[i].height));
    md__photo_set_clear(&set);
    free(m);
    if (rc)
        return rc;
    json_t *report = NULL;
    rc =
        md_report_get(c->w->store, id, md_time_now(), c->api->reports->offset_min, &report, c->ctx);
    const char *status = rc ? NULL : json_string_value(json_object_get(report, "status"));
    bool public = status && strcmp(status, "reported") != 0 && strcmp(status, "rejected") != 0;
    json_decref(report);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    md__events_hub_notify(c->api->reports->hub);
    return md__send_json(
        c, 201,
        json_pack("{sI s:o s:b}", "report_id", (json_int_t)id, "photos", arr, "public", public));
}

/* "{p}.jpg" or "{p}/thumb.jpg" or "{p}" (DELETE) after /api/v1/photos/. */
static md_err photo_path(struct md_call *c, bool allow_bare, int64_t *pid, bool *thumb)
{
    const char *t = c->tail;
    size_t n = strspn(t, "0123456789");
    const char *rest = t + n;
    *pid = 0;
    *thumb = strcmp(rest, "/thumb.jpg") == 0;
    bool ok = n > 0 && n < 19 && (*thumb || strcmp(rest, ".jpg") == 0 || (allow_bare && !*rest));
    if (ok) {
        *pid = strtoll(t, NULL, 10);
        ok = *pid > 0;
    }
    return ok ? MD_OK : md_fail(c->ctx, MD_ENOTFOUND, "no such photo: %s", c->req->path);
}

static md_err get_photo(struct md_call *c)
{
    int64_t pid;
    bool thumb;
    struct md_principal who;
    md_err rc = photo_path(c, false, &pid, &thumb);
    if (!rc)
        rc = md__auth_bearer(c, &who);
    unsigned char *bytes = NULL;
    size_t len = 0;
    char etag[MD_SHA256_HEX_LEN + 2];
    if (!rc)
        rc =
            md_photo_bytes(c->w->store, pid, thumb, is_staff(who.role), &bytes, &len, etag, c->ctx);
    if (rc)
        return rc;
    MD_IGNORE(md_response_header(c->res, c->req->pool, "ETag", etag));
    MD_IGNORE(md_response_header(c->res, NULL, "Cache-Control",
                                 is_staff(who.role) ? "private, no-store"
                                                    : "public, max-age=31536000, immutable"));
    const char *inm = md_request_header(c->req, "If-None-Match");
    c->res->content_type = "image/jpeg";
    if (inm && strstr(inm, etag)) {
        c->res->status = 304;
        free(bytes);
        return MD_OK;
    }
    c->res->status = 200;
    md_buf_reset(&c->res->body);
    rc = md_buf_append(&c->res->body, bytes, len)
             ? md_fail(c->ctx, MD_ENOMEM, "photo of %zu bytes", len)
             : MD_OK;
    free(bytes);
    return rc;
}

static md_err delete_photo(struct md_call *c)
{
    int64_t pid;
    bool thumb;
    struct md_principal who;
    md_err rc = photo_path(c, true, &pid, &thumb);
    if (!rc && thumb)
        rc = md_fail(c->ctx, MD_ENOTFOUND, "remove the photo, not its thumbnail: DELETE %.*s",
                     (int)strcspn(c->req->path, "t") - 1, c->req->path);
    if (!rc)
        rc = md__auth_bearer(c, &who);
    if (!rc && who.role == MD_ROLE_PUBLIC)
        rc = md_fail(c->ctx, MD_EUNAUTH, "removing a photo needs a centre token");
    if (!rc && who.role != MD_ROLE_CENTRE && who.role != MD_ROLE_ADMIN)
        rc = md_fail(c->ctx, MD_EFORBID, "only the centre removes photos");
    if (!rc)
        rc = md_photo_remove(c->w->store, pid, &who, md_time_now(), c->ctx);
    if (rc)
        return rc;
    return md__send_no_content(c);
}

const struct md_route md__photos_routes[] = {
    {"GET", "/api/v1/photos/", true, get_photo, "photos_get", NULL},
    {"DELETE", "/api/v1/photos/", true, delete_photo, "photos_delete", NULL},
};
const size_t md__photos_routes_count = sizeof(md__photos_routes) / sizeof(md__photos_routes[0]);
