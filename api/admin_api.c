/* admin_api.c - admins edit facilities and facility categories, with
 * history (store/domain/admin_edit.h).
 *
 *   PATCH /api/v1/facilities/{id}                  {name?, address?, phone?, opening_hours?,
 *                                                  category?, status?} (admin, admin:edit)
 *   GET   /api/v1/facilities/{id}/history          every change, oldest first (corrections
 *                                                  citizens made and admins' edits)
 *   PUT   /api/v1/facility-categories/{code}       {name_zh, name_en, color} create or change
 *   GET   /api/v1/facility-categories/{code}/history
 */
#include "admin_edit.h"
#include "json_body.h"
#include "md_time.h"
#include "params.h"
#include "reports_int.h"

#include <stdlib.h>
#include <string.h>

static int offset(struct md_call *c)
{
    return c->api->reports ? c->api->reports->offset_min : 480;
}

static md_err admin(struct md_call *c, struct md_principal *who)
{
    md_err rc = md__auth_bearer(c, who);
    if (!rc && who->role == MD_ROLE_PUBLIC)
        rc = md_fail(c->ctx, MD_EUNAUTH, "this needs an admin token (Authorization: Bearer)");
    if (!rc && who->role != MD_ROLE_ADMIN)
        rc = md_fail(c->ctx, MD_EFORBID, "only admins edit facilities and categories");
    if (!rc)
        rc = md_principal_scope(who, MD_SCOPE_ADMIN_EDIT, c->ctx);
    return rc;
}

static md_err facility_id(struct md_call *c, const char *s, size_t n, int64_t *out)
{
    char buf[24];
    if (n == 0 || n >= sizeof(buf) || strspn(s, "0123456789") < n)
        return md_fail(c->ctx, MD_ENOTFOUND, "no facility %.*s", (int)(n > 20 ? 20 : n), s);
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtoll(buf, NULL, 10);
    return MD_OK;
}

static md_err patch_facility(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    static const char *const allowed[] = {"name",     "address", "phone", "opening_hours",
                                          "category", "status",  NULL};
    static const size_t max[] = {200, 500, 40, 200, 40, 16};
    struct md_principal who;
    json_t *body = NULL, *out = NULL;
    int64_t id = 0;
    const char *v[6] = {0};
    if (strchr(c->tail, '/'))
        return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
    md_err rc = facility_id(c, c->tail, strlen(c->tail), &id);
    if (!rc)
        rc = admin(c, &who);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the facility edit", allowed);
    for (int i = 0; !rc && i < 6; i++)
        rc = md__body_str(c, body, allowed[i], false, max[i], &v[i]);
    if (!rc && v[0] && !*v[0])
        rc = md_fail(c->ctx, MD_EINVAL, "name must not be empty");
    if (!rc) {
        struct md_facility_edit e = {v[0], v[1], v[2], v[3], v[4], v[5]};
        rc = md_facility_edit(c->w->store, id, &e, &who, md_time_now(), offset(c), &out, c->ctx);
    }
    json_decref(body);
    return rc ? rc : md__send_json(c, 200, out);
}

static md_err facility_history(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    const char *slash = strchr(c->tail, '/');
    int64_t id = 0;
    json_t *h = NULL;
    if (!slash || strcmp(slash, "/history") != 0)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
    md_err rc = facility_id(c, c->tail, (size_t)(slash - c->tail), &id);
    if (!rc)
        rc = md_facility_history_json(c->w->store, id, offset(c), &h, c->ctx);
    return rc ? rc
              : md__send_json(c, 200,
                              json_pack("{sI s:o}", "facility_id", (json_int_t)id, "history", h));
}

static md_err put_category(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    static const char *const allowed[] = {"name_zh", "name_en", "color", NULL};
    struct md_principal who;
    json_t *body = NULL, *out = NULL;
    const char *zh = NULL, *en = NULL, *color = NULL;
    if (strchr(c->tail, '/'))
        return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
    md_err rc = admin(c, &who);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the category", allowed);
    if (!rc)
        rc = md__body_str(c, body, "name_zh", true, 100, &zh);
    if (!rc)
        rc = md__body_str(c, body, "name_en", true, 100, &en);
    if (!rc)
        rc = md__body_str(c, body, "color", true, 7, &color);
    if (!rc)
        rc = md_facility_category_put(c->w->store, c->tail, zh, en, color, &who, md_time_now(),
                                      &out, c->ctx);
    json_decref(body);
    return rc ? rc : md__send_json(c, 200, out);
}

static md_err category_history(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    const char *slash = strchr(c->tail, '/');
    json_t *h = NULL;
    if (!slash || strcmp(slash, "/history") != 0)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
    char *code = md_pool_strndup(c->req->pool, c->tail, (size_t)(slash - c->tail));
    if (!code)
        return md_fail(c->ctx, MD_ENOMEM, "category code");
    md_err rc = md_facility_category_history_json(c->w->store, code, offset(c), &h, c->ctx);
    return rc ? rc : md__send_json(c, 200, json_pack("{s:s s:o}", "code", code, "history", h));
}

const struct md_route md__admin_routes[] = {
    {"PATCH", "/api/v1/facilities/", true, patch_facility, "facility_edit", "*"},
    {"GET", "/api/v1/facilities/", true, facility_history, "facility_history", "*/history"},
    {"PUT", "/api/v1/facility-categories/", true, put_category, "facility_category_put", "*"},
    {"GET", "/api/v1/facility-categories/", true, category_history, "facility_category_history", "*/history"},
};
const size_t md__admin_routes_count = sizeof(md__admin_routes) / sizeof(md__admin_routes[0]);
