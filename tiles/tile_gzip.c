/* tile_gzip.c - one-shot gzip into an md_buf (see tile_gzip.h).
 *
 * deflateBound() gives the worst-case size up front, so the output is
 * reserved once (capped by the buffer's limit) and zlib writes straight into
 * the buffer; windowBits 15+16
 * makes zlib emit the RFC 1952 header and CRC-32/ISIZE trailer. Inputs larger
 * than zlib's uInt are fed in chunks.
 */
#include "tile_gzip.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#define GZIP_WINDOW_BITS (15 + 16)
#define GZIP_MEM_LEVEL 8
/* deflateBound() does not count the gzip header/trailer beyond zlib's. */
#define GZIP_SLACK 32

md_err md_gzip(const void *bytes, size_t n, int level, struct md_buf *out)
{
    md_err rc = MD_OK;
    z_stream zs = {0};
    int zinit = Z_STREAM_ERROR;
    size_t old_len = out ? out->len : 0;

    if (!out || (!bytes && n > 0) || level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION)
        return MD_EINVAL;
    zinit =
        deflateInit2(&zs, level, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL, Z_DEFAULT_STRATEGY);
    if (zinit != Z_OK) {
        rc = zinit == Z_MEM_ERROR ? MD_ENOMEM : MD_EINTERNAL;
        goto out;
    }
    /* Reserve the worst case, or what the cap leaves when that is less: a
     * tile that compresses well fits even when its bound would not. */
    uLong bound = n <= ULONG_MAX - GZIP_SLACK ? deflateBound(&zs, (uLong)n) : ULONG_MAX;
    size_t want = bound > SIZE_MAX - GZIP_SLACK ? SIZE_MAX : (size_t)bound + GZIP_SLACK;
    size_t cap_room = out->len < out->max ? out->max - out->len : 0;
    bool capped = want > cap_room;
    rc = md_buf_reserve(out, capped ? cap_room : want);
    if (rc)
        goto out;

    const unsigned char *in = bytes;
    size_t in_left = n;
    size_t room = capped ? cap_room : want;
    int zrc;
    do {
        if (room == 0) {
            rc = capped ? MD_ETOOBIG : MD_EINTERNAL;
            goto out;
        }
        uInt in_chunk = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
        zs.next_in = (Bytef *)(uintptr_t)in;
        zs.avail_in = in_chunk;
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        uInt out_before = zs.avail_out;
        zrc = deflate(&zs, in_left > in_chunk ? Z_NO_FLUSH : Z_FINISH);
        size_t consumed = in_chunk - zs.avail_in;
        size_t produced = out_before - zs.avail_out;
        in += consumed;
        in_left -= consumed;
        out->len += produced;
        room -= produced;
        if (zrc == Z_STREAM_ERROR) {
            rc = MD_EINTERNAL;
            goto out;
        }
    } while (zrc != Z_STREAM_END);
    out->data[out->len] = '\0';

out:
    if (zinit == Z_OK)
        deflateEnd(&zs);
    if (rc && out) {
        out->len = old_len;
        if (out->data)
            out->data[out->len] = '\0';
    }
    return rc;
}
