/* photo_image.c - decoding, checking and re-encoding photos with libvips
 * (photo_image.h).
 *
 * libvips settings, once: no operation cache (a cached thumbnail keyed by a
 * buffer address could outlive the buffer, and it holds memory), one worker
 * thread per operation (the server's own threads are the parallelism).
 * Every image is opened from the caller's buffer; nothing touches a file.
 */
#include "photo_image.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <vips/vips.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_failed; /* written once inside pthread_once */

static void vips_start(void)
{
    if (VIPS_INIT("mapd")) {
        init_failed = 1;
        return;
    }
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_concurrency_set(1);
}

md_err md_photo_init(struct md_ctx *ctx)
{
    pthread_once(&once, vips_start);
    return init_failed ? md_fail(ctx, MD_EINTERNAL, "libvips did not start") : MD_OK;
}

/* HEIF brands of phone photos (HEVC-coded: heic/heix still images,
 * hevc/hevx sequences, mif1/msf1 the generic ones iPhones list first). */
static bool heif_brand(const unsigned char *b)
{
    static const char brands[][5] = {"heic", "heix", "hevc", "hevx", "mif1", "msf1"};
    for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
        if (memcmp(b, brands[i], 4) == 0)
            return true;
    return false;
}

/* The format by magic bytes: "jpeg", "png", "webp", "heif" or NULL. */
static const char *sniff(const unsigned char *d, size_t n)
{
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
        return "jpeg";
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "png";
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return "webp";
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0 && heif_brand(d + 8))
        return "heif"; /* HEIC: libvips decodes it with libheif */
    return NULL;
}

void md_photo_vips_reason(char *out, size_t n)
{
    const char *e = vips_error_buffer();
    size_t len = strcspn(e ? e : "", "\n");
    if (len >= n)
        len = n - 1;
    memcpy(out, e ? e : "", len);
    out[len] = '\0';
    vips_error_clear();
}

static md_err resized(const unsigned char *data, size_t len, int px, unsigned char **out,
                      size_t *out_len, int *w, int *h, struct md_ctx *ctx)
{
    VipsImage *img = NULL;
    void *buf = NULL;
    size_t blen = 0;
    char why[200];
    /* thumbnail_buffer shrinks on load (JPEG, WebP) and turns the image
     * upright by its orientation tag; fail_on=error: a truncated file is
     * refused rather than shown grey. */
    if (vips_thumbnail_buffer((void *)data, len, &img, px, "height", px, "size", VIPS_SIZE_DOWN,
                              "fail_on", VIPS_FAIL_ON_ERROR, NULL)) {
        md_photo_vips_reason(why, sizeof(why));
        return md_fail(ctx, MD_EMEDIA, "the photo could not be decoded: %s", why);
    }
    int rc = vips_jpegsave_buffer(img, &buf, &blen, "Q", 82, "strip", TRUE, "optimize_coding", TRUE,
                                  "interlace", TRUE, NULL);
    *w = vips_image_get_width(img);
    *h = vips_image_get_height(img);
    g_object_unref(img);
    if (rc) {
        md_photo_vips_reason(why, sizeof(why));
        return md_fail(ctx, MD_EMEDIA, "the photo could not be re-encoded: %s", why);
    }
    *out = buf;
    *out_len = blen;
    return MD_OK;
}

md_err md_photo_process(const unsigned char *data, size_t len, const struct md_photo_limits *lim,
                        struct md_photo_image *out, struct md_ctx *ctx)
{
    memset(out, 0, sizeof(*out));
    md_err rc = md_photo_init(ctx);
    if (rc)
        return rc;
    if (len > lim->max_bytes)
        return md_fail(ctx, MD_ETOOBIG, "the photo has %zu bytes; at most %zu", len,
                       lim->max_bytes);
    const char *kind = sniff(data, len);
    const char *loader = kind ? vips_foreign_find_load_buffer(data, len) : NULL;
    vips_error_clear();
    /* The loader's type name, e.g. VipsForeignLoadJpegBuffer or
     * VipsForeignLoadSpngBuffer: it must be the format the bytes claim. */
    if (!kind || !loader || !strcasestr(loader, kind) || !strstr(loader, "Buffer"))
        return md_fail(ctx, MD_EMEDIA, "the photo must be a JPEG, PNG, WebP or HEIC image");
    /* The header only: dimensions before any pixel is decoded. */
    VipsImage *head =
        vips_image_new_from_buffer(data, len, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!head) {
        char why[200];
        md_photo_vips_reason(why, sizeof(why));
        return md_fail(ctx, MD_EMEDIA, "the photo could not be decoded: %s", why);
    }
    out->src_width = vips_image_get_width(head);
    out->src_height = vips_image_get_height(head);
    g_object_unref(head);
    int64_t pixels = (int64_t)out->src_width * out->src_height;
    if (pixels > lim->max_pixels)
        return md_fail(ctx, MD_EUNPROC, "the photo is %d x %d = %lld pixels; at most %lld",
                       out->src_width, out->src_height, (long long)pixels,
                       (long long)lim->max_pixels);
    int tw, th;
    rc = resized(data, len, MD_PHOTO_DISPLAY_PX, &out->display, &out->display_len, &out->width,
                 &out->height, ctx);
    if (!rc)
        rc = resized(data, len, MD_PHOTO_THUMB_PX, &out->thumb, &out->thumb_len, &tw, &th, ctx);
    if (rc)
        md_photo_image_clear(out);
    return rc;
}

void md_photo_image_clear(struct md_photo_image *img)
{
    if (!img)
        return;
    g_free(img->display);
    g_free(img->thumb);
    img->display = img->thumb = NULL;
    img->display_len = img->thumb_len = 0;
}
