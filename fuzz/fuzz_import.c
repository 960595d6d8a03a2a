/* fuzz_import.c - libFuzzer target for import rows: md_import_run() over an
 * in-memory file (GDAL /vsimem/), i.e. OGR's CSV/GeoJSON readers and mapd's
 * own row pipeline (lon/lat columns, reprojection, field checks, times,
 * JSON attributes, polygons, district/grid location, the INSERTs).
 *
 * Input: a first line "LAYER EXT [SRS]" (LAYER facilities|reports|districts|
 * grids, EXT csv|geojson, SRS e.g. EPSG:4498 or gcj02), then the file. The
 * database is a tiny city (fuzz/districts-small.geojson: two districts and
 * their grid cells) made once per process in a temp dir; imports are
 * rolled back by the importer only for bad rows, so the tables grow slowly
 * while fuzzing (bounded by the run time).
 * Seeds and regressions: tests/fuzz/import/.
 */
#include "calendar.h"
#include "geos_ctx.h"
#include "import.h"
#include "sample.h"
#include "store.h"

#include <cpl_vsi.h>
#include <errno.h>
#include <proj.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    char dir[64], db[128];
    struct md_store *store;
    struct md_geos *geos;
    PJ_CONTEXT *proj;
} env;

static void env_free(void)
{
    char path[200];
    md_store_close(env.store);
    md_geos_free(env.geos);
    if (env.proj)
        proj_context_destroy(env.proj);
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", env.db, suffix[i]);
        unlink(path);
    }
    rmdir(env.dir);
}

static void env_init(void)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    snprintf(env.dir, sizeof(env.dir), "%s/mapd-fuzz-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(env.dir)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(env.db, sizeof(env.db), "%s/db.sqlite", env.dir);
    const struct md_sample_opts o = {
        .districts_path = MAPD_SOURCE_DIR "/fuzz/districts-small.geojson",
        .facilities = 20,
        .reports = 20,
        .seed = 7,
        .anchor = MD_SAMPLE_DEFAULT_ANCHOR,
    };
    struct md_store *s = NULL;
    env.geos = md_geos_new();
    env.proj = proj_context_create();
    if (!env.geos || !env.proj || md_store_open(env.db, MD_STORE_CREATE | MD_STORE_BULK, &s, &ctx) ||
        md_store_init(s, MAPD_SOURCE_DIR "/sample-data/categories.json", &ctx) ||
        md_store_begin(s, &ctx) ||
        md_calendar_import(s, MAPD_SOURCE_DIR "/sample-data/calendar.json", &ctx) ||
        md_store_commit(s, &ctx) || md_sample_generate(s, env.geos, &o, &ctx)) {
        fprintf(stderr, "fuzz_import: cannot build the database: %s\n", md_ctx_message(&ctx));
        abort();
    }
    md_store_close(s);
    md_ctx_init(&ctx);
    if (md_store_open(env.db, MD_STORE_READWRITE, &env.store, &ctx)) {
        fprintf(stderr, "fuzz_import: %s\n", md_ctx_message(&ctx));
        abort();
    }
    atexit(env_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (!env.store)
        env_init();
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl || nl - data > 100)
        return 0;
    char header[101], layer[16] = "", ext[16] = "", srs[64] = "";
    memcpy(header, data, (size_t)(nl - data));
    header[nl - data] = '\0';
    if (sscanf(header, "%15s %15s %63s", layer, ext, srs) < 2 ||
        (strcmp(ext, "csv") != 0 && strcmp(ext, "geojson") != 0))
        return 0;
    struct md_import_opts o = {.proj = env.proj, .geos = env.geos, .batch_rows = 50};
    if (md_layer_parse(layer, &o.layer))
        return 0;
    if (strcmp(srs, "gcj02") == 0 || strcmp(srs, "bd09") == 0)
        o.crs = srs;
    else if (srs[0])
        o.srs = srs;

    char path[64];
    snprintf(path, sizeof(path), "/vsimem/fuzz-import.%s", ext);
    size_t len = size - (size_t)(nl + 1 - data);
    GByte *copy = VSIMalloc(len ? len : 1);
    if (!copy)
        return 0;
    memcpy(copy, nl + 1, len);
    VSILFILE *f = VSIFileFromMemBuffer(path, copy, len, TRUE); /* takes ownership */
    if (!f) {
        VSIFree(copy);
        return 0;
    }
    VSIFCloseL(f);
    o.path = path;
    struct md_import_result r;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_err rc = md_import_run(env.store, &o, &r, &ctx);
    if (rc == MD_EINTERNAL) {
        fprintf(stderr, "fuzz_import: internal error: %s\n", md_ctx_message(&ctx));
        __builtin_trap();
    }
    if (r.imported + r.bad > r.rows)
        __builtin_trap();
    if (getenv("MAPD_FUZZ_VERBOSE"))
        fprintf(stderr, "import %s %s: %s; rows %lld imported %lld bad %lld\n", layer, ext,
                rc ? md_ctx_message(&ctx) : "ok", (long long)r.rows, (long long)r.imported,
                (long long)r.bad);
    VSIUnlink(path);
    return 0;
}
