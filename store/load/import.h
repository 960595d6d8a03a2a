/* import.h - loading facilities, reports, districts or grids from any OGR
 * source (GeoJSON, Shapefile, GeoPackage, CSV with lon/lat columns, ...).
 *
 * Coordinates are brought to WGS84 with PROJ (reproject.h): from --srs when
 * given, else GCJ-02/BD-09 when --crs says so, else the source layer's own
 * CRS, else WGS84. Districts and grid codes of points are found from the
 * database's districts and grids, exactly as md_store_locate() does.
 *
 * Each bad row is reported (row number, reason) and skipped; good rows are
 * written in bulk mode (store.h), one transaction per batch, so an
 * interrupted import keeps every finished batch.
 */
#ifndef MD_IMPORT_H
#define MD_IMPORT_H

#include "geos_ctx.h"
#include "store.h"
#include <proj.h>

#define MD_IMPORT_MAX_MAP 32

/* What to do with a point outside every district: give it the nearest
 * district (the default), keep it without district and grid (facilities;
 * reports always need a district), or refuse the row. */
enum md_import_outside { MD_OUTSIDE_NEAREST = 0, MD_OUTSIDE_KEEP, MD_OUTSIDE_REFUSE };

struct md_import_opts {
    enum md_layer layer;
    const char *path;               /* anything GDAL opens as a vector dataset */
    const char *source_layer;       /* OGR layer name; NULL = the first */
    const char *srs;                /* source CRS (any PROJ definition); NULL = the layer's */
    const char *crs;                /* "gcj02" or "bd09": source lon/lat are in that variant */
    const char *field_map;          /* "dst=src,..." (also lon=..., lat=...); NULL = same names */
    int64_t batch_rows;             /* good rows per transaction; <= 0 = 250000 */
    const char *category_map;       /* file of "source value,code" lines; NULL = none */
    enum md_import_outside outside; /* points outside every district */
    PJ_CONTEXT *proj;               /* borrowed; NULL = PROJ's default context */
    struct md_geos *geos;           /* borrowed */
    /* Called for each bad row (1-based row number in the source, in read
     * order; for CSV the line is row + 1) and every `progress_every` rows
     * (total is -1 when the driver cannot count cheaply). Both may be NULL. */
    void (*on_bad_row)(void *userdata, int64_t row, const char *reason);
    /* Called for each polygon repaired by GEOS MakeValid (what was wrong). May be NULL. */
    void (*on_repaired)(void *userdata, int64_t row, const char *what);
    void (*on_progress)(void *userdata, int64_t done, int64_t total);
    void *userdata;
};

struct md_import_result {
    int64_t rows;     /* rows read */
    int64_t imported; /* rows written */
    int64_t bad;      /* rows skipped */
    int64_t repaired; /* invalid polygons repaired (MakeValid, polygonal parts kept) */
    int64_t outside;  /* points outside every district (kept, moved to the nearest, or refused) */
    int64_t batches;
    char transform[256]; /* what the coordinates went through */
};

/* Run an import into `s` (which must not be in a transaction). Fails only
 * for whole-import problems (file unreadable, unknown CRS or field, database
 * errors), with detail in ctx; bad rows are counted, not failures. */
md_err md_import_run(struct md_store *s, const struct md_import_opts *o, struct md_import_result *r,
                     struct md_ctx *ctx) MD_WUR;

#endif
