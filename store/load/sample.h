/* sample.h - the deterministic sample city (`mapd sample`).
 *
 * Beijing's 16 districts, grid cells inside them, facilities of every
 * category and reports of every category and workflow state, with their full
 * history. Density follows the city: dense around the urban core
 * (116.40E 39.91N), sparser around the outer districts' centres. The same
 * options (seed, sizes, anchor time) give identical table contents.
 */
#ifndef MD_SAMPLE_H
#define MD_SAMPLE_H

#include "geos_ctx.h"
#include "store.h"
#include <stdio.h>

struct md_sample_opts {
    const char *districts_path; /* GeoJSON FeatureCollection */
    const char *names_en_path;  /* JSON object code -> English name; may be NULL */
    int64_t facilities;
    int64_t reports;
    uint64_t seed;
    int64_t anchor; /* "now" of the sample, UTC seconds; reports are dated before it */
    FILE *progress; /* may be NULL */
};

/* 2026-11-01T00:00:00+08:00, the default anchor. */
#define MD_SAMPLE_DEFAULT_ANCHOR INT64_C(1793462400)

/* Fill an initialised, empty store. */
md_err md_sample_generate(struct md_store *s, struct md_geos *g, const struct md_sample_opts *o,
                          struct md_ctx *ctx) MD_WUR;

#endif
