/* tile_gzip.h - gzip (RFC 1952) compression of tile bytes for clients that
 * send Accept-Encoding: gzip. */
#ifndef MD_TILE_GZIP_H
#define MD_TILE_GZIP_H

#include "md_buf.h"
#include "md_err.h"
#include <stddef.h>

/* Compress `n` bytes at `bytes` into one gzip member appended to `out`
 * (out's cap applies). level is zlib's: -1 (default) or 0..9.
 * Errors: MD_EINVAL (NULL arguments, bad level), MD_ETOOBIG (out's cap),
 * MD_ENOMEM, MD_EINTERNAL (zlib failure). On error out keeps its old length. */
md_err md_gzip(const void *bytes, size_t n, int level, struct md_buf *out) MD_WUR;

#endif
