/* metrics.h - request counters and latency histograms per route, rendered
 * in the Prometheus text format. All counters are C11 atomics: workers
 * update them without locks. Routes are registered once at start-up. */
#ifndef MD_METRICS_H
#define MD_METRICS_H

#include "md_buf.h"
#include "md_err.h"
#include <stdint.h>

struct md_metrics;

/* New registry for the given route names (borrowed static strings). */
struct md_metrics *md_metrics_new(const char *const *routes, size_t nroutes);
void md_metrics_free(struct md_metrics *m);
/* Count one request; an unknown route counts under "other". */
void md_metrics_observe(struct md_metrics *m, const char *route, int status, int64_t micros);
/* Named counter (e.g. "tile_cache_hits"); created on first use up to a fixed cap. */
void md_metrics_count(struct md_metrics *m, const char *name, int64_t delta);
md_err md_metrics_render(struct md_metrics *m, struct md_buf *out) MD_WUR;

#endif
