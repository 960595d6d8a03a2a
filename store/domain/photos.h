/* photos.h - the photos of reports, stored in the database (so every node
 * of a deployment serves them): a display size and a thumbnail per photo,
 * made once at upload (api/photo_image.c), each with its ETag (SHA-256 of
 * the bytes).
 *
 * Moderation: a photo is public only once the centre has accepted its
 * report (status other than reported and rejected) and while the centre
 * has not removed it; staff see every photo that is not removed. Removing
 * drops the bytes. Header of the storage seam: no SQLite types.
 */
#ifndef MD_PHOTOS_H
#define MD_PHOTOS_H

#include "md_err.h"
#include "md_sha256.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct md_store;
struct md_principal;

#define MD_PHOTOS_PER_REPORT 5

struct md_photo_new {
    const unsigned char *display, *thumb; /* JPEG bytes, borrowed */
    size_t display_len, thumb_len;
    int width, height;
    size_t upload_bytes;
};

/* Add photos[0..n) to report `id` in one durable transaction, with a
 * history row (action "photo") per photo by `who` and updated_at moved.
 * MD_ENOTFOUND: no such report; MD_EUNPROC: the report would have more
 * than MD_PHOTOS_PER_REPORT photos. ids[i] gets each new photo's id. */
md_err md_photos_add(struct md_store *s, int64_t id, const struct md_photo_new *photos, size_t n,
                     const struct md_principal *who, int64_t now, int64_t *ids,
                     struct md_ctx *ctx) MD_WUR;

/* The bytes of photo `photo_id` (thumb or display) into *out (caller
 * frees with free()), its ETag (quoted) into etag. MD_ENOTFOUND when there
 * is no such photo, it was removed, or it is not public and !staff. */
md_err md_photo_bytes(struct md_store *s, int64_t photo_id, bool thumb, bool staff,
                      unsigned char **out, size_t *len, char etag[MD_SHA256_HEX_LEN + 2],
                      struct md_ctx *ctx) MD_WUR;

/* Remove a photo (the centre): its bytes are dropped, a history row
 * "photo_removed" is written. MD_ENOTFOUND when none or already removed. */
md_err md_photo_remove(struct md_store *s, int64_t photo_id, const struct md_principal *who,
                       int64_t now, struct md_ctx *ctx) MD_WUR;

#endif
