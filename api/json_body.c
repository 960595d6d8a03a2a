/* json_body.c - JSON request bodies and their fields (json_body.h). */
#include "json_body.h"
#include "md_sha256.h"
#include "md_text.h"

#include <string.h>

md_err md__body_object(struct md_call *c, json_t **out)
{
    json_error_t jerr;
    if (c->req->body_len == 0)
        return md_fail(c->ctx, MD_EINVAL, "a JSON object body is required");
    json_t *j = json_loadb(c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return md_fail(c->ctx, MD_EINVAL, "the body is not valid JSON: %s (line %d, column %d)",
                       jerr.text, jerr.line, jerr.column);
    if (!json_is_object(j)) {
        json_decref(j);
        return md_fail(c->ctx, MD_EINVAL, "the body must be a JSON object");
    }
    *out = j;
    return MD_OK;
}

md_err md__body_only(struct md_call *c, json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok)
            return md_fail(c->ctx, MD_EINVAL, "unknown field '%.40s' in %s", key, where);
    }
    return MD_OK;
}

md_err md__body_str(struct md_call *c, json_t *obj, const char *key, bool required,
                    size_t max_chars, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? md_fail(c->ctx, MD_EINVAL, "%s is required", key) : MD_OK;
    if (!json_is_string(v))
        return md_fail(c->ctx, MD_EINVAL, "%s must be a string", key);
    const char *s = json_string_value(v);
    if (md_utf8_len(s) > max_chars)
        return md_fail(c->ctx, MD_EINVAL, "%s is longer than %zu characters", key, max_chars);
    if (required && !*s)
        return md_fail(c->ctx, MD_EINVAL, "%s must not be empty", key);
    *out = s;
    return MD_OK;
}

md_err md__body_int(struct md_call *c, json_t *obj, const char *key, bool required, int64_t min,
                    int64_t max, int64_t *out, bool *present)
{
    json_t *v = json_object_get(obj, key);
    if (present)
        *present = false;
    if (!v || json_is_null(v))
        return required ? md_fail(c->ctx, MD_EINVAL, "%s is required", key) : MD_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return md_fail(c->ctx, MD_EINVAL, "%s must be an integer between %lld and %lld", key,
                       (long long)min, (long long)max);
    *out = json_integer_value(v);
    if (present)
        *present = true;
    return MD_OK;
}

md_err md__body_device_hash(struct md_call *c, json_t *body, char out[MD_SHA256_HEX_LEN])
{
    const char *d = NULL;
    md_err rc = md__body_str(c, body, "device", true, 128, &d);
    if (rc)
        return rc;
    size_t n = strlen(d);
    bool printable = true;
    for (size_t i = 0; i < n; i++)
        printable = printable && d[i] > ' ' && d[i] < 0x7f;
    if (n < 16 || !printable)
        return md_fail(c->ctx, MD_EINVAL,
                       "device must be 16-128 printable characters (a random"
                       " token the app keeps)");
    md_sha256_hex(d, n, out);
    return MD_OK;
}
