/* json_body.c - JSON request bodies and their fields (json_body.h). */
#include "json_body.h"
#include "md_sha256.h"
#include "md_text.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

md_err md__require_json(struct md_call *c)
{
    const char *ct = md_request_header(c->req, "Content-Type");
    size_t n = 0;
    if (ct) {
        while (*ct == ' ' || *ct == '\t')
            ct++;
        n = strcspn(ct, "; \t");
    }
    /* application/json or application/<x>+json (GeoJSON); never the types a
     * browser may send from any site without a preflight (text/plain, forms). */
    bool json = ct && ((n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
                       (n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
                        strncasecmp(ct + n - 5, "+json", 5) == 0));
    if (!json)
        return md_fail(c->ctx, MD_EMEDIA,
                       "the body must be sent as Content-Type: application/json (got %.*s)",
                       ct ? (int)(n > 60 ? 60 : n) : 6, ct ? ct : "none");
    return MD_OK;
}

/* Refuse a string that holds a character no output can carry (see
 * md_text_bad_char): `where` names the field. */
static md_err check_string(struct md_call *c, const char *where, const char *s, size_t len)
{
    unsigned cp = 0;
    long pos = md_text_bad_char(s, len, &cp);
    if (pos < 0)
        return MD_OK;
    return md_fail(c->ctx, MD_EINVAL,
                   "%s holds the control character U+%04X at position %ld (not allowed in text)",
                   where, cp, pos);
}

/* Every key and string value of `j`, at any depth; `path` names j. */
static md_err check_strings(struct md_call *c, json_t *j, const char *path, int depth)
{
    char sub[160];
    md_err rc = MD_OK;
    if (depth > 32)
        return MD_OK; /* jansson's own depth limit is far below any real body */
    if (json_is_string(j))
        return check_string(c, path, json_string_value(j), json_string_length(j));
    if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v)
        {
            snprintf(sub, sizeof(sub), "%s%s%.60s", path, *path ? "." : "", key);
            if ((rc = check_string(c, "a field name", key, strlen(key))) ||
                (rc = check_strings(c, v, sub, depth + 1)))
                return rc;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            snprintf(sub, sizeof(sub), "%.100s[%zu]", *path ? path : "body", i);
            if ((rc = check_strings(c, v, sub, depth + 1)))
                return rc;
        }
    }
    return rc;
}

md_err md__body_json(struct md_call *c, json_t *body)
{
    return check_strings(c, body, "", 0);
}

md_err md__body_object(struct md_call *c, json_t **out)
{
    md_err rc = md__require_json(c);
    if (rc)
        return rc;
    if (c->req->body_len == 0)
        return md_fail(c->ctx, MD_EINVAL, "a JSON object body is required");
    return md__json_object(c, c->req->body, c->req->body_len, "the body", out);
}

md_err md__json_object(struct md_call *c, const char *text, size_t len, const char *what,
                       json_t **out)
{
    json_error_t jerr;
    md_err rc = MD_OK;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return md_fail(c->ctx, MD_EINVAL, "%s is not valid JSON: %s (line %d, column %d)", what,
                       jerr.text, jerr.line, jerr.column);
    if (!json_is_object(j)) {
        json_decref(j);
        return md_fail(c->ctx, MD_EINVAL, "%s must be a JSON object", what);
    }
    if ((rc = md__body_json(c, j))) {
        json_decref(j);
        return rc;
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
