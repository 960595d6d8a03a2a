/* staff_api.c - units, officers and the officer's own queue (store/domain/units.h).
 *
 *   GET  /api/v1/units                    units with their officers (staff tokens)
 *   POST /api/v1/units                    add a unit (admin)
 *   POST /api/v1/units/{code}/officers    add an officer to a unit (admin); the
 *                                         officer's token is made with `mapd token add
 *                                         --role officer --officer ID`
 *   GET  /api/v1/officer/cases            the calling officer's open cases by deadline
 *
 * Officers' names are staff data: every route here needs a token of a staff
 * role (officer, centre, admin) with the right scope. A dispatch names a unit
 * and optionally an officer in POST /api/v1/reports/{id}/transitions.
 */
#include "json_body.h"
#include "md_time.h"
#include "params.h"
#include "reports_int.h"
#include "units.h"

#include <string.h>

#define CASES_MAX 200

static md_err staff(struct md_call *c, struct md_principal *who, enum md_role min_role,
                    enum md_scope scope)
{
    md_err rc = md__auth_bearer(c, who);
    if (rc)
        return rc;
    if (who->role == MD_ROLE_PUBLIC)
        return md_fail(c->ctx, MD_EUNAUTH, "this needs a staff token (Authorization: Bearer)");
    if (who->role < min_role)
        return md_fail(c->ctx, MD_EFORBID, "the %s role may not do this (needs %s)",
                       md_role_name(who->role), md_role_name(min_role));
    return md_principal_scope(who, scope, c->ctx);
}

static md_err list_units(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    struct md_principal who;
    json_t *units = NULL;
    md_err rc = staff(c, &who, MD_ROLE_OFFICER, MD_SCOPE_STAFF_READ);
    if (!rc)
        rc = md_units_json(c->w->store, &units, c->ctx);
    return rc ? rc : md__send_json(c, 200, json_pack("{s:o}", "units", units));
}

static md_err add_unit(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    static const char *const allowed[] = {"code", "name", "unit_type", "district", NULL};
    struct md_principal who;
    json_t *body = NULL;
    const char *code = NULL, *name = NULL, *type = NULL, *district = NULL;
    md_err rc = staff(c, &who, MD_ROLE_ADMIN, MD_SCOPE_ADMIN_EDIT);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the unit", allowed);
    if (!rc)
        rc = md__body_str(c, body, "code", true, MD_UNIT_CODE_MAX - 1, &code);
    if (!rc)
        rc = md__body_str(c, body, "name", true, 200, &name);
    if (!rc)
        rc = md__body_str(c, body, "unit_type", false, 40, &type);
    if (!rc)
        rc = md__body_str(c, body, "district", false, 12, &district);
    if (!rc)
        rc = md_unit_add(c->w->store, code, name, type, district, c->ctx);
    json_t *out = rc ? NULL
                     : json_pack("{s:s s:s s:s? s:s? s:[]}", "code", code, "name", name,
                                 "unit_type", type, "district", district, "officers");
    json_decref(body);
    return rc ? rc : md__send_json(c, 201, out);
}

static md_err add_officer(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    static const char *const allowed[] = {"name", NULL};
    struct md_principal who;
    json_t *body = NULL;
    const char *name = NULL;
    int64_t id = 0;
    const char *slash = strchr(c->tail, '/');
    if (!slash || strcmp(slash, "/officers") != 0)
        return md_fail(c->ctx, MD_ENOTFOUND, "no such resource: %s", c->req->path);
    char *unit = md_pool_strndup(c->req->pool, c->tail, (size_t)(slash - c->tail));
    if (!unit)
        return md_fail(c->ctx, MD_ENOMEM, "unit code");
    md_err rc = staff(c, &who, MD_ROLE_ADMIN, MD_SCOPE_ADMIN_EDIT);
    if (!rc)
        rc = md__body_object(c, &body);
    if (!rc)
        rc = md__body_only(c, body, "the officer", allowed);
    if (!rc)
        rc = md__body_str(c, body, "name", true, 100, &name);
    if (!rc)
        rc = md_officer_add(c->w->store, unit, name, &id, c->ctx);
    json_t *out =
        rc ? NULL : json_pack("{sI s:s s:s}", "id", (json_int_t)id, "unit", unit, "name", name);
    json_decref(body);
    return rc ? rc : md__send_json(c, 201, out);
}

static md_err officer_cases(struct md_call *c)
{
    md_err params_rc = md__params_only(c, NULL);
    if (params_rc)
        return params_rc;
    struct md_principal who;
    json_t *cases = NULL;
    md_err rc = staff(c, &who, MD_ROLE_OFFICER, MD_SCOPE_STAFF_READ);
    if (!rc && who.role != MD_ROLE_OFFICER)
        rc = md_fail(c->ctx, MD_EFORBID, "this is the queue of an officer's token");
    if (!rc && !who.unit[0])
        rc = md_fail(c->ctx, MD_EFORBID,
                     "this officer token names no unit (mapd token add --role officer --unit U"
                     " --name N)");
    if (!rc)
        rc = md_unit_cases_json(c->w->store, who.unit, who.officer_id, CASES_MAX, md_time_now(),
                                c->api->reports->offset_min, &cases, c->ctx);
    if (rc)
        return rc;
    return md__send_json(c, 200,
                         json_pack("{s:{sI s:s} s:o}", "officer", "id", (json_int_t)who.officer_id,
                                   "unit", who.unit, "reports", cases));
}

const struct md_route md__staff_routes[] = {
    {"GET", "/api/v1/units", false, list_units, "units_list", NULL},
    {"POST", "/api/v1/units", false, add_unit, "units_add", NULL},
    {"POST", "/api/v1/units/", true, add_officer, "officers_add", NULL},
    {"GET", "/api/v1/officer/cases", false, officer_cases, "officer_cases", NULL},
};
const size_t md__staff_routes_count = sizeof(md__staff_routes) / sizeof(md__staff_routes[0]);
