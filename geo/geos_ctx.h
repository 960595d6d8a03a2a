/* geos_ctx.h - one GEOS context per thread, its messages routed to an md_ctx.
 *
 * GEOS reports errors through a handler; mapd points that handler at a
 * per-context slot, and md_geos_take_error() moves the last message into the
 * request's md_ctx. Only the re-entrant (_r) GEOS API is used anywhere.
 */
#ifndef MD_GEOS_CTX_H
#define MD_GEOS_CTX_H

#include "md_err.h"
#include <geos_c.h>

struct md_geos;

/* New GEOS context for the calling thread; caller frees with md_geos_free(). */
struct md_geos *md_geos_new(void);
void md_geos_free(struct md_geos *g);
/* The GEOS handle, borrowed. */
GEOSContextHandle_t md_geos_handle(const struct md_geos *g);
/* Record the last GEOS error (or `fallback`) in ctx as MD_EGEOS; returns MD_EGEOS. */
md_err md_geos_fail(struct md_geos *g, struct md_ctx *ctx, const char *fallback);

#endif
