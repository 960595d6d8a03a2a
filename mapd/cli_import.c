/* cli_import.c - `mapd import`, `mapd export` and `mapd backup`: moving
 * data in and out of a database (see store/load/import.h, api/export.h).
 *
 * Exit status: 0 success; 1 failure; 2 usage; import also 3 when it
 * finished but skipped bad rows (each one printed with its reason).
 */
#include "backup.h"
#include "cli.h"
#include "export.h"
#include "basemap_osm.h"
#include "import.h"
#include "md_text.h"
#include "md_time.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- import */

struct import_ui {
    bool tty, csv, quiet;
    int64_t t0_us;
    int64_t last_us;
};

static void on_bad_row(void *userdata, int64_t row, const char *reason)
{
    struct import_ui *ui = userdata;
    if (ui->tty)
        fputs("\r\033[K", stderr);
    if (ui->csv)
        fprintf(stderr, "row %lld (line %lld): %s\n", (long long)row, (long long)row + 1, reason);
    else
        fprintf(stderr, "row %lld: %s\n", (long long)row, reason);
}

static void on_repaired(void *userdata, int64_t row, const char *what)
{
    struct import_ui *ui = userdata;
    if (ui->quiet)
        return;
    if (ui->tty)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "row %lld: repaired an invalid polygon (%s): kept its polygonal parts\n",
            (long long)row, what);
}

static void on_progress(void *userdata, int64_t done, int64_t total)
{
    struct import_ui *ui = userdata;
    int64_t now = md_time_mono_us();
    if (!ui->tty || ui->quiet || (now - ui->last_us < 200000 && done != total))
        return;
    ui->last_us = now;
    double secs = (double)(now - ui->t0_us) / 1e6;
    double rate = secs > 0 ? (double)done / secs : 0;
    if (total > 0) {
        int width = 30, filled = (int)((double)width * (double)done / (double)total);
        fprintf(stderr, "\r\033[K[%.*s%*s] %lld/%lld rows %3.0f%% %.0f rows/s", filled,
                "##############################", width - filled, "", (long long)done,
                (long long)total, 100.0 * (double)done / (double)total, rate);
    } else {
        fprintf(stderr, "\r\033[K%lld rows %.0f rows/s", (long long)done, rate);
    }
    fflush(stderr);
}

/* `mapd import --layer basemap FILE.osm.pbf|FILE.osm`: the base map from
 * OpenStreetMap (store/load/basemap_osm.h). Other options do not apply. */
static int import_basemap(const char *db, const char *path, bool quiet)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    struct md_osm_result r;
    int64_t t0 = md_time_mono_us();
    md_err rc = md_store_open(db, MD_STORE_READWRITE, &s, &ctx);
    if (!rc)
        rc = md_basemap_import_osm(s, path, &r, &ctx);
    md_store_close(s);
    if (rc)
        return md_cli_fail("import", &ctx);
    if (!quiet)
        fprintf(stderr,
                "import: base map from %s: %lld OSM features read, %lld drawn (%lld new, %lld"
                " changed, %lld unchanged), %lld deleted, %lld not drawn, %lld bad in %.1f s\n",
                path, (long long)r.read, (long long)r.loaded, (long long)r.summary.inserted,
                (long long)r.summary.updated, (long long)r.summary.unchanged,
                (long long)r.summary.deleted, (long long)r.skipped, (long long)r.bad,
                (double)(md_time_mono_us() - t0) / 1e6);
    return r.bad ? 3 : 0;
}

static void import_help(void)
{
    printf("usage: mapd import --db FILE --layer facilities|reports|districts|grids SOURCE\n"
           "       mapd import --db FILE --layer basemap FILE.osm.pbf|FILE.osm\n"
           "                   [--srs CRS] [--crs gcj02|bd09] [--map dst=src,...]\n"
           "                   [--source-layer NAME] [--batch N] [--category-map FILE]\n"
           "                   [--outside nearest|keep|refuse] [--quiet]\n"
           "  Read SOURCE with GDAL/OGR (GeoJSON, Shapefile, GeoPackage, CSV with lon/lat\n"
           "  columns, ...) into a layer of FILE (made by mapd init or mapd sample).\n"
           "  --srs CRS        source CRS, any PROJ definition (EPSG:4490, EPSG:4498, WKT...);\n"
           "                   default: the source's own CRS, else WGS84\n"
           "  --crs gcj02|bd09 source lon/lat are GCJ-02 (Amap/Tencent) or BD-09 (Baidu)\n"
           "  --map dst=src    take field dst from source field src (also lon=..., lat=...)\n"
           "  --category-map FILE  lines 'source value,code': the source's category values\n"
           "                   that are not mapd codes\n"
           "  --outside nearest|keep|refuse  points outside every district: give them the\n"
           "                   nearest district (default), keep them without one (facilities),\n"
           "                   or refuse the row; the summary counts them\n"
           "  --quiet          print only errors (bad rows), no progress and no summary\n"
           "  Invalid polygons are repaired with GEOS MakeValid (their polygonal parts kept,\n"
           "  each repair printed); only polygons with nothing polygonal left are refused.\n"
           "  --batch N        rows per transaction (default: all rows in one; each\n"
           "                   batch rebuilds the layer's indexes and cluster cells)\n"
           "  Points get their district and grid codes from the database's areas; import\n"
           "  districts (and grids) before points. Bad rows are printed with their row\n"
           "  number and reason and skipped. Exit status 3 when rows were skipped.\n"
           "  --layer basemap replaces the base map (roads, railways, water, green, land\n"
           "  use, buildings, places) with an OpenStreetMap extract; a re-import rewrites\n"
           "  only the features that changed.\n");
}

int md_cli_import(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"layer", required_argument, NULL, 'l'},
                                         {"srs", required_argument, NULL, 's'},
                                         {"crs", required_argument, NULL, 'c'},
                                         {"map", required_argument, NULL, 'm'},
                                         {"source-layer", required_argument, NULL, 'L'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"category-map", required_argument, NULL, 'M'},
                                         {"outside", required_argument, NULL, 'O'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct md_import_opts o = {.layer = MD_LAYER__COUNT};
    struct import_ui ui = {.tty = isatty(2)};
    const char *db = NULL, *layer = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:l:s:c:m:L:b:M:O:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'l':
            layer = optarg;
            break;
        case 's':
            o.srs = optarg;
            break;
        case 'c':
            o.crs = optarg;
            break;
        case 'm':
            o.field_map = optarg;
            break;
        case 'L':
            o.source_layer = optarg;
            break;
        case 'b':
            if (md_parse_int64(optarg, "--batch", 1, 100000000, &o.batch_rows, &ctx))
                return md_cli_usage_error("import", "%s", md_ctx_message(&ctx));
            break;
        case 'q':
            ui.quiet = true;
            break;
        case 'M':
            o.category_map = optarg;
            break;
        case 'O':
            if (strcmp(optarg, "nearest") == 0)
                o.outside = MD_OUTSIDE_NEAREST;
            else if (strcmp(optarg, "keep") == 0)
                o.outside = MD_OUTSIDE_KEEP;
            else if (strcmp(optarg, "refuse") == 0)
                o.outside = MD_OUTSIDE_REFUSE;
            else
                return md_cli_usage_error("import", "--outside must be nearest, keep or refuse");
            break;
        case 'h':
            import_help();
            return 0;
        default:
            return md_cli_usage_error("import", "bad option");
        }
    }
    if (!db)
        return md_cli_usage_error("import", "--db FILE is required");
    if (layer && strcmp(layer, "basemap") == 0 && optind == argc - 1)
        return import_basemap(db, argv[optind], ui.quiet);
    if (!layer || md_layer_parse(layer, &o.layer))
        return md_cli_usage_error(
            "import", "--layer must be facilities, reports, districts, grids or basemap");
    if (optind != argc - 1)
        return md_cli_usage_error("import", "give exactly one SOURCE file");
    o.path = argv[optind];
    size_t plen = strlen(o.path);
    ui.csv = plen > 4 && strcasecmp(o.path + plen - 4, ".csv") == 0;
    o.on_bad_row = on_bad_row;
    o.on_repaired = on_repaired;
    o.on_progress = on_progress;
    o.userdata = &ui;
    struct md_store *s = NULL;
    struct md_import_result r;
    o.geos = md_geos_new();
    o.proj = proj_context_create();
    ui.t0_us = md_time_mono_us();
    md_err rc = o.geos && o.proj ? MD_OK : md_fail(&ctx, MD_ENOMEM, "GEOS/PROJ context");
    if (!rc)
        rc = md_store_open(db, MD_STORE_READWRITE, &s, &ctx);
    if (!rc)
        rc = md_import_run(s, &o, &r, &ctx);
    md_store_close(s);
    md_geos_free(o.geos);
    if (o.proj)
        proj_context_destroy(o.proj);
    if (ui.tty && !ui.quiet)
        fputs("\r\033[K", stderr);
    if (rc)
        return md_cli_fail("import", &ctx);
    if (!ui.quiet)
        fprintf(stderr,
                "import: %lld of %lld rows into %s (%lld bad, %lld repaired, %lld outside every"
                " district) in %.1f s, %lld batch(es); coordinates: %s\n",
                (long long)r.imported, (long long)r.rows, layer, (long long)r.bad,
                (long long)r.repaired, (long long)r.outside,
                (double)(md_time_mono_us() - ui.t0_us) / 1e6, (long long)r.batches, r.transform);
    return r.bad ? 3 : 0;
}

/* ---- export */

int md_cli_export(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"layer", required_argument, NULL, 'l'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"crs", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct md_export_opts o = {.tz_offset_min = 480};
    const char *db = NULL, *layer = NULL, *format = NULL, *out = NULL, *crs = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+d:l:f:o:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'l':
            layer = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'c':
            crs = optarg;
            break;
        case 'h':
            printf(
                "usage: mapd export --db FILE --layer facilities|reports|districts|grids\n"
                "                   [--format geojson|csv] [--out FILE] [--crs wgs84|gcj02|bd09]\n"
                "  Write a layer's public fields (never report contacts or tokens) as a GeoJSON\n"
                "  FeatureCollection or CSV (lon,lat columns; WKT for polygons) to FILE or\n"
                "  stdout. The format defaults to the --out extension, else geojson.\n");
            return 0;
        default:
            return md_cli_usage_error("export", "bad option");
        }
    }
    if (!db)
        return md_cli_usage_error("export", "--db FILE is required");
    if (!layer || md_layer_parse(layer, &o.layer))
        return md_cli_usage_error("export",
                                  "--layer must be facilities, reports, districts or grids");
    if (optind < argc)
        return md_cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
    if (!format && out && strlen(out) > 4 && strcasecmp(out + strlen(out) - 4, ".csv") == 0)
        format = "csv";
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "geojson") != 0)
        return md_cli_usage_error("export", "--format must be geojson or csv");
    o.csv = format && strcmp(format, "csv") == 0;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md_crs_parse(crs, &o.crs, &ctx))
        return md_cli_usage_error("export", "%s", md_ctx_message(&ctx));
    FILE *f = out ? fopen(out, "wb") : stdout;
    if (!f) {
        perror(out);
        return 1;
    }
    struct md_export *e = NULL;
    struct md_buf buf;
    md_buf_init(&buf, (size_t)64 << 20);
    md_err rc = md_export_open(db, &o, &e, &ctx);
    while (!rc) {
        md_buf_reset(&buf);
        rc = md_export_next(e, &buf);
        if ((rc == MD_OK || rc == MD_ENOTFOUND) && buf.len &&
            fwrite(buf.data, 1, buf.len, f) != buf.len)
            rc = md_fail(&ctx, MD_EIO, "writing %s failed", out ? out : "stdout");
    }
    if (rc != MD_ENOTFOUND && e && !ctx.err)
        md_fail(&ctx, rc, "%s", md_ctx_message(md_export_error(e)));
    int64_t rows = e ? md_export_rows(e) : 0;
    md_export_free(e);
    md_buf_free(&buf);
    if (out && fclose(f) != 0 && rc == MD_ENOTFOUND)
        rc = md_fail(&ctx, MD_EIO, "closing %s failed", out);
    if (rc != MD_ENOTFOUND)
        return md_cli_fail("export", &ctx);
    fprintf(stderr, "export: %lld %s rows%s%s\n", (long long)rows, layer, out ? " to " : "",
            out ? out : "");
    return 0;
}

/* ---- backup */

int md_cli_backup(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"to", required_argument, NULL, 't'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *to = NULL;
    bool force = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+d:t:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'f':
            force = true;
            break;
        case 'h':
            printf("usage: mapd backup --db FILE --to COPY [--force]\n"
                   "  Copy FILE to COPY with SQLite's online backup while mapd keeps serving and\n"
                   "  writing: one read snapshot, so COPY is consistent; written to COPY.tmp,\n"
                   "  checked, synced, then renamed. --force replaces an existing COPY.\n");
            return 0;
        default:
            return md_cli_usage_error("backup", "bad option");
        }
    }
    if (!db || !to)
        return md_cli_usage_error("backup", "--db FILE and --to COPY are required");
    if (optind < argc)
        return md_cli_usage_error("backup", "unexpected argument '%s'", argv[optind]);
    if (!force && access(to, F_OK) == 0)
        return md_cli_usage_error("backup", "%s exists (use --force to replace it)", to);
    if (access(db, R_OK) != 0) {
        fprintf(stderr, "mapd backup: cannot read %s\n", db);
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", to);
    unlink(tmp);
    int64_t t0 = md_time_mono_us();
    int64_t pages = 0;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md_store_backup(db, tmp, &pages, &ctx)) {
        unlink(tmp);
        return md_cli_fail("backup", &ctx);
    }
    int fd = open(tmp, O_RDONLY);
    bool synced = fd >= 0 && fsync(fd) == 0 && rename(tmp, to) == 0;
    if (!synced)
        perror(to);
    if (fd >= 0)
        close(fd);
    if (!synced) {
        unlink(tmp);
        return 1;
    }
    fprintf(stderr, "backup: %s -> %s, %lld pages in %.2f s (quick_check ok)\n", db, to,
            (long long)pages, (double)(md_time_mono_us() - t0) / 1e6);
    return 0;
}
