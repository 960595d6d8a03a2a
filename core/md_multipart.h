/* md_multipart.h - a multipart/form-data body (RFC 7578) split into parts.
 *
 * The parser copies nothing: each part's name, filename, content type and
 * data point into the caller's body (or the boundary/header text) and stay
 * valid as long as it does. Limits: at most MD_MULTIPART_MAX_PARTS parts,
 * part headers of at most MD_MULTIPART_MAX_HEADER bytes each; a boundary of
 * 1-70 characters (RFC 2046). Only the Content-Disposition (form-data, name,
 * filename) and Content-Type headers of a part are read; others are skipped.
 */
#ifndef MD_MULTIPART_H
#define MD_MULTIPART_H

#include "md_err.h"
#include <stddef.h>

#define MD_MULTIPART_MAX_PARTS 16
#define MD_MULTIPART_MAX_HEADER 1024
#define MD_MULTIPART_MAX_NAME 64

struct md_part {
    char name[MD_MULTIPART_MAX_NAME];         /* the form field's name */
    char filename[MD_MULTIPART_MAX_NAME];     /* "" when the part is no file */
    char content_type[MD_MULTIPART_MAX_NAME]; /* "" when none was given */
    const unsigned char *data;                /* borrowed from the body */
    size_t len;
};

struct md_multipart {
    struct md_part parts[MD_MULTIPART_MAX_PARTS];
    size_t nparts;
};

/* The boundary of a Content-Type "multipart/form-data; boundary=..." (quoted
 * or not) into out (NUL-terminated). MD_EMEDIA when the type is not
 * multipart/form-data; MD_EINVAL for a missing or bad boundary. */
md_err md_multipart_boundary(const char *content_type, char out[72], struct md_ctx *ctx)
    __attribute__((warn_unused_result));

/* Split `body` at `boundary` into out->parts. MD_EINVAL (with the reason)
 * for a malformed body: no opening or closing delimiter, a part without
 * Content-Disposition form-data and a name, headers over the limit, more
 * than MD_MULTIPART_MAX_PARTS parts. */
md_err md_multipart_parse(const unsigned char *body, size_t len, const char *boundary,
                          struct md_multipart *out, struct md_ctx *ctx)
    __attribute__((warn_unused_result));

/* The first part named `name`, or NULL. */
const struct md_part *md_multipart_get(const struct md_multipart *m, const char *name);

#endif
