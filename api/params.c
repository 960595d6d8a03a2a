/* params.c - validated query parameters and JSON replies (see params.h). */
#include "params.h"
#include "md_text.h"
#include "md_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *md__param(struct md_call *c, const char *name)
{
    return md_request_query(c->req, name);
}

md_err md__param_str(struct md_call *c, const char *name, bool required, size_t max_len,
                     const char **out)
{
    const char *v = md__param(c, name);
    if (!v || !*v) {
        if (required)
            return md_fail(c->ctx, MD_EINVAL, "%s is required", name);
        return MD_OK;
    }
    size_t n = strlen(v);
    if (!md_utf8_valid(v, n))
        return md_fail(c->ctx, MD_EINVAL, "%s is not valid UTF-8", name);
    if (md_utf8_len(v) > max_len)
        return md_fail(c->ctx, MD_EINVAL, "%s is longer than %zu characters", name, max_len);
    *out = v;
    return MD_OK;
}

md_err md__param_double(struct md_call *c, const char *name, bool required, double *out)
{
    const char *v = md__param(c, name);
    if (!v || !*v)
        return required ? md_fail(c->ctx, MD_EINVAL, "%s is required", name) : MD_OK;
    return md_parse_double(v, name, out, c->ctx);
}

md_err md__param_int(struct md_call *c, const char *name, bool required, int64_t min, int64_t max,
                     int64_t *out)
{
    const char *v = md__param(c, name);
    if (!v || !*v)
        return required ? md_fail(c->ctx, MD_EINVAL, "%s is required", name) : MD_OK;
    return md_parse_int64(v, name, min, max, out, c->ctx);
}

md_err md__param_lonlat(struct md_call *c, const char *lon_name, const char *lat_name, double *lon,
                        double *lat)
{
    md_err rc = md__param_double(c, lon_name, true, lon);
    if (!rc)
        rc = md__param_double(c, lat_name, true, lat);
    if (!rc && (*lon < -180 || *lon > 180))
        rc = md_fail(c->ctx, MD_EINVAL, "%s %g is outside -180..180", lon_name, *lon);
    if (!rc && (*lat < -90 || *lat > 90))
        rc = md_fail(c->ctx, MD_EINVAL, "%s %g is outside -90..90", lat_name, *lat);
    return rc;
}

md_err md__param_bbox(struct md_call *c, const char *name, struct md_bbox *out, bool *present)
{
    const char *v = md__param(c, name);
    *present = false;
    if (!v || !*v)
        return MD_OK;
    double vals[4];
    const char *p = v;
    for (int i = 0; i < 4; i++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char num[64];
        if ((i < 3 && !comma) || (i == 3 && comma) || n == 0 || n >= sizeof(num))
            return md_fail(c->ctx, MD_EINVAL,
                           "%s must be four numbers minlon,minlat,maxlon,maxlat", name);
        memcpy(num, p, n);
        num[n] = '\0';
        if (md_parse_double(num, name, &vals[i], c->ctx))
            return MD_EINVAL;
        p = comma ? comma + 1 : p + n;
    }
    if (vals[0] > vals[2] || vals[1] > vals[3])
        return md_fail(c->ctx, MD_EINVAL, "%s has min greater than max", name);
    if (vals[0] < -180 || vals[2] > 180 || vals[1] < -90 || vals[3] > 90)
        return md_fail(c->ctx, MD_EINVAL, "%s is outside -180,-90,180,90", name);
    *out = (struct md_bbox){vals[0], vals[1], vals[2], vals[3]};
    *present = true;
    return MD_OK;
}

md_err md__param_time(struct md_call *c, const char *name, int64_t *out, bool *present)
{
    const char *v = md__param(c, name);
    *present = false;
    if (!v || !*v)
        return MD_OK;
    struct md_ctx sub;
    md_ctx_init(&sub);
    if (md_time_parse(v, c->api->cfg->timezone_offset_min, out, &sub))
        return md_fail(c->ctx, MD_EINVAL, "%s: %s", name, md_ctx_message(&sub));
    *present = true;
    return MD_OK;
}

md_err md__param_crs(struct md_call *c, enum md_crs *out)
{
    *out = MD_CRS_WGS84;
    return md_crs_parse(md__param(c, "crs"), out, c->ctx);
}

md_err md__send_json(struct md_call *c, int status, json_t *j)
{
    if (!j)
        return md_fail(c->ctx, MD_ENOMEM, "building the response");
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return md_fail(c->ctx, MD_ENOMEM, "serializing the response");
    c->res->status = status;
    c->res->content_type = "application/json";
    md_buf_reset(&c->res->body);
    md_err rc = md_buf_puts(&c->res->body, text);
    free(text);
    return rc ? md_fail(c->ctx, rc, "response too large") : MD_OK;
}
