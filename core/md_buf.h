/* md_buf.h - the one growable byte buffer, with a hard cap.
 *
 * Used for request bodies, JSON output and tile bytes. Growth beyond `max`
 * fails with MD_ETOOBIG, so no input can make a buffer grow without limit.
 * The buffer is always NUL-terminated when data != NULL (not counted in len).
 */
#ifndef MD_BUF_H
#define MD_BUF_H

#include "md_err.h"
#include <stddef.h>

struct md_buf {
    char *data; /* owned; NULL until first append */
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len */
};

void md_buf_init(struct md_buf *buf, size_t max);
/* Frees the storage and resets to empty; accepts NULL. */
void md_buf_free(struct md_buf *buf);
void md_buf_reset(struct md_buf *buf);
md_err md_buf_reserve(struct md_buf *buf, size_t extra) MD_WUR;
md_err md_buf_append(struct md_buf *buf, const void *bytes, size_t n) MD_WUR;
md_err md_buf_puts(struct md_buf *buf, const char *s) MD_WUR;
md_err md_buf_putc(struct md_buf *buf, char c) MD_WUR;
md_err md_buf_printf(struct md_buf *buf, const char *fmt, ...) MD_WUR MD_PRINTF(2, 3);
/* Append `s` as a JSON string literal (with quotes), escaping as RFC 8259 says;
 * bytes that are not well-formed UTF-8 (e.g. echoed request text) become U+FFFD. */
md_err md_buf_json_str(struct md_buf *buf, const char *s) MD_WUR;
/* Append `s` escaped for XML text/attribute content. */
md_err md_buf_xml_str(struct md_buf *buf, const char *s) MD_WUR;
/* Hand the storage to the caller (caller frees with free()); buf becomes empty. */
char *md_buf_steal(struct md_buf *buf, size_t *len);

#endif
