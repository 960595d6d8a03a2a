/* geos_ctx.c - per-thread GEOS handle with an error slot (see geos_ctx.h). */
#include "geos_ctx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct md_geos {
    GEOSContextHandle_t handle;
    char last_error[256];
};

static void on_geos_error(const char *message, void *userdata)
{
    struct md_geos *g = userdata;
    snprintf(g->last_error, sizeof(g->last_error), "%s", message);
}

static void on_geos_notice(const char *message, void *userdata)
{
    (void)message;
    (void)userdata;
}

struct md_geos *md_geos_new(void)
{
    struct md_geos *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->handle = GEOS_init_r();
    if (!g->handle) {
        free(g);
        return NULL;
    }
    GEOSContext_setErrorMessageHandler_r(g->handle, on_geos_error, g);
    GEOSContext_setNoticeMessageHandler_r(g->handle, on_geos_notice, g);
    return g;
}

void md_geos_free(struct md_geos *g)
{
    if (!g)
        return;
    GEOS_finish_r(g->handle);
    free(g);
}

GEOSContextHandle_t md_geos_handle(const struct md_geos *g)
{
    return g->handle;
}

md_err md_geos_fail(struct md_geos *g, struct md_ctx *ctx, const char *fallback)
{
    const char *msg = g->last_error[0] ? g->last_error : fallback;
    md_fail(ctx, MD_EGEOS, "%s", msg ? msg : "geometry operation failed");
    g->last_error[0] = '\0';
    return MD_EGEOS;
}
