/* photo_image.h - private to api/: an uploaded photo made safe to publish.
 *
 * The bytes must be a JPEG, PNG, WebP or HEIC that libvips decodes (415
 * otherwise: the magic bytes and libvips's own loader must agree, so no
 * SVG, PDF or other loader is ever reached); within the byte (413) and
 * pixel (422) limits, checked on the header before anything is decoded, so
 * a decompression bomb costs a header read. Out come a display size (at
 * most 1600 px on the long side) and a thumbnail (320 px), each made once,
 * turned upright by its EXIF orientation and written as a fresh JPEG with
 * every metadata field stripped (EXIF with GPS and device, XMP, IPTC, ICC,
 * comments).
 */
#ifndef MD_PHOTO_IMAGE_H
#define MD_PHOTO_IMAGE_H

#include "md_err.h"
#include <stddef.h>
#include <stdint.h>

#define MD_PHOTO_DISPLAY_PX 1600
#define MD_PHOTO_THUMB_PX 320

struct md_photo_limits {
    size_t max_bytes;   /* of the upload */
    int64_t max_pixels; /* width x height of the upload */
};

struct md_photo_image {
    unsigned char *display, *thumb; /* JPEG bytes (g_free'd by md_photo_image_clear) */
    size_t display_len, thumb_len;
    int width, height; /* of the display size */
    int src_width, src_height;
};

/* The first line of libvips's error buffer into out (n bytes), and the
 * buffer cleared: the reason of the libvips call that just failed. */
void md_photo_vips_reason(char *out, size_t n);
/* Start libvips once per process (any thread; later calls are no-ops). */
md_err md_photo_init(struct md_ctx *ctx) MD_WUR;
/* Check and convert one upload (borrowed bytes). Caller clears *out. */
md_err md_photo_process(const unsigned char *data, size_t len, const struct md_photo_limits *lim,
                        struct md_photo_image *out, struct md_ctx *ctx) MD_WUR;
void md_photo_image_clear(struct md_photo_image *img);

#endif
