/* json_body.h - private to api/: a request's JSON object body and its fields,
 * checked with messages that name the field (reports, units, consultations,
 * admin edits share these).
 */
#ifndef MD_JSON_BODY_H
#define MD_JSON_BODY_H

#include "api_int.h"
#include "md_sha256.h"
#include <jansson.h>

/* MD_EMEDIA (415) unless the request says Content-Type: application/json
 * (or application/...+json): a JSON endpoint never takes a type that a
 * browser sends cross-site without a CORS preflight. */
md_err md__require_json(struct md_call *c) MD_WUR;
/* MD_EINVAL naming the field and position when any string or key of `body`
 * holds a character no output can carry (md_text_bad_char). */
md_err md__body_json(struct md_call *c, json_t *body) MD_WUR;
/* The body as a JSON object (Content-Type checked, duplicate keys refused,
 * every string checked as md__body_json does); caller decrefs *out. */
md_err md__body_object(struct md_call *c, json_t **out) MD_WUR;
/* text[0..len) as a JSON object, checked as md__body_object checks a body;
 * `what` names it in messages ("the part \"report\""). Caller decrefs. */
md_err md__json_object(struct md_call *c, const char *text, size_t len, const char *what,
                       json_t **out) MD_WUR;
/* MD_EINVAL naming the first key of obj not in `allowed` (NULL-terminated);
 * `where` names the object in the message ("the report"). */
md_err md__body_only(struct md_call *c, json_t *obj, const char *where,
                     const char *const *allowed) MD_WUR;
/* A string field of at most max_chars code points (borrowed from obj;
 * NULL when absent or null and not required; required ones must not be
 * empty). */
md_err md__body_str(struct md_call *c, json_t *obj, const char *key, bool required,
                    size_t max_chars, const char **out) MD_WUR;
/* An integer field within [min, max]; *present (may be NULL) says whether
 * it was given (absent and null leave *out untouched). */
md_err md__body_int(struct md_call *c, json_t *obj, const char *key, bool required, int64_t min,
                    int64_t max, int64_t *out, bool *present) MD_WUR;

/* The body's "device" token (16-128 printable ASCII: a random token the
 * app keeps; "once per device" for votes and "me too") as its SHA-256 hex. */
md_err md__body_device_hash(struct md_call *c, json_t *body, char out[MD_SHA256_HEX_LEN]) MD_WUR;

#endif
