/* negotiate.h - content coding and validators of finished answers (RFC 9110).
 *
 * The router hands every answer it built in memory to md_negotiate_response
 * once, after the handler: JSON, GeoJSON, CSV and XML bodies above a small
 * size are gzip'd for clients whose Accept-Encoding allows it (q=0 refuses),
 * with Vary: Accept-Encoding; answers the router marks as validated
 * (TileJSON, styles, catalogs) get a strong ETag of their bytes and turn
 * into 304 Not Modified when If-None-Match names it. Answers that are
 * files, streams or deferred, or that already carry a Content-Encoding
 * (tiles, the web files, exports), are left as they are.
 *
 * The two header parsers are exposed for the handlers that negotiate on
 * their own (tiles, web files, exports) and for the fuzz target.
 */
#ifndef MD_NEGOTIATE_H
#define MD_NEGOTIATE_H

#include "api.h"
#include <stdbool.h>

/* Bodies shorter than this are sent as they are: gzip would save little. */
#define MD_NEGOTIATE_GZIP_MIN_BYTES 1024

/* True when an Accept-Encoding value (NULL = header absent) accepts gzip:
 * a "gzip" or "x-gzip" element with q > 0, or else a "*" element with
 * q > 0. Codings are case-insensitive; a malformed q refuses its element. */
bool md_negotiate_accepts_gzip(const char *accept_encoding);

/* True when an If-None-Match value (NULL = absent) matches `etag` (a
 * quoted entity-tag, optionally W/): "*", or any listed tag equal to it
 * by the weak comparison (W/ prefixes ignored, opaque parts byte-equal). */
bool md_negotiate_etag_matches(const char *if_none_match, const char *etag);

/* Finish a handler's answer as the header comment says. `validate` asks
 * for the ETag/304 treatment (only 200 answers without an ETag of their
 * own get it). Header values come from req->pool. Never fails: when
 * compression or a header cannot be added the answer goes out as it was. */
void md_negotiate_response(const struct md_request *req, struct md_response *res, bool validate);

#endif
