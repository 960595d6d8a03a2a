/* reproject.c - source CRS -> WGS84 lon/lat for imports (see reproject.h).
 *
 * A transformer is either one of mapd's own conversions (WGS84 identity,
 * GCJ-02, BD-09; no PROJ involved) or a PROJ pipeline built in a private
 * clone of the caller's PJ_CONTEXT. The clone carries the caller's settings
 * (search paths, network) but has mapd's logger installed, so every error
 * PROJ logs while building or running the pipeline lands in `proj_msg` and
 * from there in the request's md_ctx. Objects of a PROJ context must be
 * destroyed before it: md_reproj_free() frees the pipeline, then the clone.
 */
#include "reproject.h"

#include "coords.h"
#include "md_text.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROJ_MSG_MAX 400

struct md_reproj {
    bool use_proj; /* false: mapd's own conversion from `own_crs` */
    enum md_crs own_crs;
    PJ_CONTEXT *pj_ctx;          /* owned clone; NULL when !use_proj */
    PJ *pipeline;                /* owned; normalised to lon/lat axis order */
    char proj_msg[PROJ_MSG_MAX]; /* PROJ's error messages since the last reset */
};

/* PROJ logger: append the message, with bytes that could break a JSON body
 * or a log line replaced by '?', "; "-separated, truncated at the cap. */
static void on_proj_log(void *app_data, int level, const char *msg)
{
    struct md_reproj *r = app_data;
    if (level != PJ_LOG_ERROR || !msg)
        return;
    size_t len = strlen(r->proj_msg);
    if (len > 0 && len + 2 < sizeof(r->proj_msg)) {
        memcpy(r->proj_msg + len, "; ", 3);
        len += 2;
    }
    for (const char *p = msg; *p && len + 1 < sizeof(r->proj_msg); p++) {
        unsigned char c = (unsigned char)*p;
        r->proj_msg[len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    r->proj_msg[len] = '\0';
}

/* PROJ's logged text, else its message for the context's errno, else `fallback`. */
static const char *proj_reason(struct md_reproj *r, int err, const char *fallback)
{
    if (r->proj_msg[0])
        return r->proj_msg;
    if (err) {
        const char *s = proj_context_errno_string(r->pj_ctx, err);
        if (s && *s)
            return s;
    }
    return fallback;
}

/* The definition as it can appear in an error message: short printable ASCII
 * only (PROJ strings and codes are; WKT is too long to be useful there). */
static const char *shown(const char *src)
{
    size_t n = 0;
    for (; src[n]; n++) {
        if (n >= 60 || !isprint((unsigned char)src[n]) || (unsigned char)src[n] > 0x7e)
            return "(definition not shown)";
    }
    return src;
}

/* A bare name: not AUTHORITY:CODE, URN, WKT, PROJJSON or a PROJ string. */
static bool is_bare_name(const char *src)
{
    return !strpbrk(src, ":[{=+");
}

/* Look a bare name up among CRS names and aliases, exact matches only;
 * NULL (and nothing logged) when there is none. Caller destroys. */
static PJ *create_from_exact_name(PJ_CONTEXT *pj_ctx, const char *name)
{
    static const PJ_TYPE types[] = {PJ_TYPE_GEOGRAPHIC_2D_CRS, PJ_TYPE_PROJECTED_CRS,
                                    PJ_TYPE_COMPOUND_CRS};
    PJ_OBJ_LIST *found = proj_create_from_name(pj_ctx, NULL, name, types,
                                               sizeof(types) / sizeof(types[0]), 0, 1, NULL);
    PJ *crs = NULL;
    if (found && proj_list_get_count(found) > 0)
        crs = proj_list_get(pj_ctx, found, 0);
    proj_list_destroy(found);
    return crs;
}

/* Parse the source definition into a CRS object (caller destroys). */
static md_err create_source_crs(struct md_reproj *r, const char *src, PJ **out, struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    char *with_type = NULL;
    PJ *crs = NULL;

    const char *text = src;
    while (isspace((unsigned char)*text))
        text++;
    if (is_bare_name(text)) {
        crs = create_from_exact_name(r->pj_ctx, text);
        if (!crs) {
            rc = md_fail(ctx, MD_EINVAL,
                         "crs '%s' is not an exact CRS name known to PROJ; use a code such as "
                         "EPSG:4490, WKT or a PROJ string",
                         shown(src));
            goto out;
        }
    } else {
        /* A PROJ string without +type=crs describes an operation, not a CRS;
         * cs2cs takes it as a CRS, and so does mapd. */
        if ((text[0] == '+' || strncmp(text, "proj=", 5) == 0) && !strstr(text, "type=crs")) {
            size_t len = strlen(text) + sizeof(" +type=crs");
            with_type = malloc(len);
            if (!with_type) {
                rc = md_fail(ctx, MD_ENOMEM, "out of memory");
                goto out;
            }
            snprintf(with_type, len, "%s +type=crs", text);
            text = with_type;
        }
        r->proj_msg[0] = '\0';
        crs = proj_create(r->pj_ctx, text);
        if (!crs) {
            rc = md_fail(ctx, MD_EINVAL, "crs '%s' is not usable: %s", shown(src),
                         proj_reason(r, proj_context_errno(r->pj_ctx), "PROJ cannot parse it"));
            goto out;
        }
    }
    if (!proj_is_crs(crs)) {
        rc = md_fail(ctx, MD_EINVAL, "'%s' is not a coordinate reference system", shown(src));
        goto out;
    }
    *out = crs;
    crs = NULL;
out:
    proj_destroy(crs);
    free(with_type);
    return rc;
}

static md_err new_proj_pipeline(struct md_reproj *r, PJ_CONTEXT *caller_ctx, const char *src,
                                struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    PJ *src_crs = NULL, *wgs84 = NULL, *op = NULL;

    r->pj_ctx = caller_ctx ? proj_context_clone(caller_ctx) : proj_context_create();
    if (!r->pj_ctx)
        return md_fail(ctx, MD_ENOMEM, "cannot create a PROJ context");
    proj_log_func(r->pj_ctx, r, on_proj_log);
    proj_log_level(r->pj_ctx, PJ_LOG_ERROR);

    rc = create_source_crs(r, src, &src_crs, ctx);
    if (rc != MD_OK)
        goto out;
    r->proj_msg[0] = '\0';
    wgs84 = proj_create(r->pj_ctx, "EPSG:4326");
    if (!wgs84) {
        rc = md_fail(ctx, MD_EPROJ, "cannot create EPSG:4326: %s",
                     proj_reason(r, proj_context_errno(r->pj_ctx), "PROJ database missing?"));
        goto out;
    }
    r->proj_msg[0] = '\0';
    op = proj_create_crs_to_crs_from_pj(r->pj_ctx, src_crs, wgs84, NULL, NULL);
    if (!op) {
        rc = md_fail(ctx, MD_EINVAL, "no transformation from crs '%s' to WGS84: %s", shown(src),
                     proj_reason(r, proj_context_errno(r->pj_ctx), "PROJ found none"));
        goto out;
    }
    r->proj_msg[0] = '\0';
    r->pipeline = proj_normalize_for_visualization(r->pj_ctx, op);
    if (!r->pipeline) {
        rc = md_fail(ctx, MD_EPROJ, "cannot normalise axis order for crs '%s': %s", shown(src),
                     proj_reason(r, proj_context_errno(r->pj_ctx), "PROJ failed"));
        goto out;
    }
out:
    proj_destroy(op);
    proj_destroy(wgs84);
    proj_destroy(src_crs);
    return rc;
}

md_err md_reproj_new(PJ_CONTEXT *pj_ctx, const char *src_crs, struct md_reproj **out,
                     struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    struct md_reproj *r = NULL;

    if (!src_crs || !*src_crs)
        return md_fail(ctx, MD_EINVAL, "source crs is empty");
    if (strlen(src_crs) > MD_REPROJ_MAX_CRS_LEN)
        return md_fail(ctx, MD_EINVAL, "source crs definition is longer than %d bytes",
                       MD_REPROJ_MAX_CRS_LEN);
    r = calloc(1, sizeof(*r));
    if (!r)
        return md_fail(ctx, MD_ENOMEM, "out of memory");

    /* mapd's own names first: quiet parse, no error recorded on a miss. */
    enum md_crs own;
    if (md_crs_parse(src_crs, &own, NULL) == MD_OK) {
        r->own_crs = own;
    } else {
        r->use_proj = true;
        rc = new_proj_pipeline(r, pj_ctx, src_crs, ctx);
        if (rc != MD_OK)
            goto out;
    }
    *out = r;
    r = NULL;
out:
    md_reproj_free(r);
    return rc;
}

md_err md_reproj_point(struct md_reproj *r, double x, double y, double *lon, double *lat,
                       struct md_ctx *ctx)
{
    if (!isfinite(x) || !isfinite(y))
        return md_fail(ctx, MD_EINVAL, "coordinate (%g, %g) is not finite", x, y);
    double olon, olat;
    if (!r->use_proj) {
        md_err rc = md_check_lonlat(x, y, ctx);
        if (rc != MD_OK)
            return rc;
        md_crs_to_wgs84(r->own_crs, x, y, &olon, &olat);
    } else {
        r->proj_msg[0] = '\0';
        proj_errno_reset(r->pipeline);
        PJ_COORD c = proj_trans(r->pipeline, PJ_FWD, proj_coord(x, y, 0.0, 0.0));
        olon = c.xy.x;
        olat = c.xy.y;
        int err = proj_errno(r->pipeline);
        if (err || !isfinite(olon) || !isfinite(olat) || olon == HUGE_VAL || olat == HUGE_VAL)
            return md_fail(ctx, MD_EINVAL, "cannot transform (%.10g, %.10g) to WGS84: %s", x, y,
                           proj_reason(r, err, "PROJ returned no result"));
    }
    if (!(olon >= -180.0 && olon <= 180.0 && olat >= -90.0 && olat <= 90.0))
        return md_fail(ctx, MD_EINVAL, "(%.10g, %.10g) transforms to (%g, %g), not a lon/lat", x, y,
                       olon, olat);
    *lon = olon;
    *lat = olat;
    return MD_OK;
}

const char *md_reproj_describe(const struct md_reproj *r)
{
    if (!r->use_proj) {
        switch (r->own_crs) {
        case MD_CRS_GCJ02:
            return "GCJ-02 to WGS84 (mapd)";
        case MD_CRS_BD09:
            return "BD-09 to WGS84 (mapd)";
        case MD_CRS_WGS84:
            break;
        }
        return "WGS84 (no change)";
    }
    const char *name = proj_get_name(r->pipeline);
    return name ? name : "PROJ transformation";
}

void md_reproj_free(struct md_reproj *r)
{
    if (!r)
        return;
    proj_destroy(r->pipeline);
    if (r->pj_ctx)
        proj_context_destroy(r->pj_ctx);
    free(r);
}
