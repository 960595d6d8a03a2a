/* cli_db.c - `mapd init` and `mapd sample`: creating databases (a
 * SpatiaLite file, or a PostgreSQL database named by a libpq URI: built as
 * a SpatiaLite file in a temporary directory, then copied over). */
#include "backup.h"
#include "calendar.h"
#include "cli.h"
#include "md_text.h"
#include "md_time.h"
#include "pg_copy.h"
#include "pg_schema.h"
#include "pg_store.h"
#include "sample.h"
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_and_init(const char *cmd, const char *db, const char *categories, int flags,
                         struct md_store **out)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    char calbuf[4096];
    const char *calendar = md_cli_data_path("calendar.json", calbuf, sizeof(calbuf));
    if (md_store_open(db, MD_STORE_CREATE | flags, &s, &ctx) || md_store_init(s, categories, &ctx) ||
        md_store_begin(s, &ctx) || md_calendar_import(s, calendar, &ctx) ||
        md_store_commit(s, &ctx)) {
        md_store_close(s);
        return md_cli_fail(cmd, &ctx);
    }
    *out = s;
    return 0;
}

/* PostgreSQL at `uri`: create mapd's schema there (it must not have one)
 * and copy the layers of the SpatiaLite file `built` into it, in one
 * transaction each; on failure the database keeps no mapd rows. */
static int pg_from_file(const char *cmd, const char *uri, const char *built)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *src = NULL;
    int version = 0;
    if (md_pg_schema_version(uri, &version, &ctx) == MD_OK && version != 0)
        md_fail(&ctx, MD_ECONFLICT, "%s already has a mapd schema (version %d)", uri, version);
    if (!ctx.err && !md_store_open(built, MD_STORE_READONLY, &src, &ctx) &&
        !md_pg_schema_create(uri, &ctx))
        MD_IGNORE(md_pg_copy_from_store(uri, src, &ctx));
    md_store_close(src);
    return ctx.err ? md_cli_fail(cmd, &ctx) : 0;
}

/* A temporary directory for the SpatiaLite file a PostgreSQL database is
 * built from; the caller removes it with rm_temp. */
static bool make_temp(char dir[64], char file[96])
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, 64, "%s/mapd-pg-XXXXXX", tmp && tmp[0] && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return false;
    snprintf(file, 96, "%s/city.sqlite", dir);
    return true;
}

static void rm_temp(const char *dir, const char *file)
{
    static const char *const side[] = {"", "-wal", "-shm", "-journal"};
    char path[128];
    for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", file, side[i]);
        unlink(path);
    }
    rmdir(dir);
}

int md_cli_init(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"categories", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char catbuf[4096];
    const char *db = NULL, *categories = md_cli_data_path("categories.json", catbuf, sizeof(catbuf));
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+d:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'c': categories = optarg; break;
        case 'h':
            printf("usage: mapd init --db FILE [--categories FILE]\n"
                   "  Create FILE (SpatiaLite) with mapd's schema, spatial indexes and the\n"
                   "  categories from FILE (default %s) and the working-time calendar\n"
                   "  (holidays, make-up workdays) from calendar.json beside it.\n"
                   "  --db postgresql://...: mapd's PostGIS schema in that (existing, empty)\n"
                   "  database, with the categories (the rest of mapd on PostgreSQL is\n"
                   "  growing: issue 13).\n",
                   categories);
            return 0;
        default: return md_cli_usage_error("init", "bad option");
        }
    }
    if (optind < argc && !db)
        db = argv[optind++];
    if (optind < argc)
        return md_cli_usage_error("init", "unexpected argument '%s'", argv[optind]);
    if (!db)
        return md_cli_usage_error("init", "--db FILE is required");
    char tdir[64], tfile[96];
    bool pg = md_pg_is_uri(db);
    if (pg && !make_temp(tdir, tfile))
        return md_cli_usage_error("init", "cannot make a temporary directory");
    struct md_store *s = NULL;
    int status = open_and_init("init", pg ? tfile : db, categories, 0, &s);
    md_store_close(s);
    if (pg) {
        if (status == 0)
            status = pg_from_file("init", db, tfile);
        rm_temp(tdir, tfile);
    }
    if (status == 0)
        printf("initialised %s (schema version %d)\n", pg ? "the PostgreSQL database" : db,
               MD_SCHEMA_VERSION);
    return status;
}

static int parse_count(const char *what, const char *arg, int64_t max, int64_t *out)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md_parse_int64(arg, what, 0, max, out, &ctx))
        return md_cli_usage_error("sample", "%s", md_ctx_message(&ctx));
    return 0;
}

static int sample_file(const char *db, const char *categories, const struct md_sample_opts *o,
                       bool durable);

int md_cli_sample(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"facilities", required_argument, NULL, 'f'},
                                         {"reports", required_argument, NULL, 'r'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"anchor", required_argument, NULL, 'a'},
                                         {"districts", required_argument, NULL, 'D'},
                                         {"categories", required_argument, NULL, 'c'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char b1[4096], b2[4096], b3[4096];
    struct md_sample_opts o = {
        .districts_path = md_cli_data_path("beijing-districts.geojson", b1, sizeof(b1)),
        .names_en_path = md_cli_data_path("beijing-districts-en.json", b2, sizeof(b2)),
        .facilities = 100000,
        .reports = 200000,
        .seed = 1,
        .anchor = MD_SAMPLE_DEFAULT_ANCHOR,
        .progress = isatty(2) ? stderr : NULL,
    };
    const char *db = NULL, *categories = md_cli_data_path("categories.json", b3, sizeof(b3));
    int64_t v;
    int c, bad = 0;
    optind = 1;
    while (!bad && (c = getopt_long(argc, argv, "+d:f:r:s:a:D:c:qh", opts, NULL)) != -1) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        switch (c) {
        case 'd': db = optarg; break;
        case 'f': bad = parse_count("--facilities", optarg, 50000000, &o.facilities); break;
        case 'r': bad = parse_count("--reports", optarg, 100000000, &o.reports); break;
        case 's':
            bad = parse_count("--seed", optarg, INT64_MAX, &v);
            o.seed = (uint64_t)v;
            break;
        case 'a':
            if (md_time_parse(optarg, 480, &o.anchor, &ctx))
                bad = md_cli_usage_error("sample", "--anchor: %s", md_ctx_message(&ctx));
            break;
        case 'D': o.districts_path = optarg; break;
        case 'c': categories = optarg; break;
        case 'q': o.progress = NULL; break;
        case 'h':
            printf("usage: mapd sample --db FILE [--facilities N] [--reports M] [--seed S]\n"
                   "                   [--anchor ISO-DATE] [--districts GEOJSON] [--quiet]\n"
                   "  Create the deterministic sample city in a new database: Beijing's\n"
                   "  districts, grid cells, N facilities (default 100000) and M reports\n"
                   "  (default 200000) dated before the anchor (default 2026-11-01+08:00).\n"
                   "  The same options give identical table contents.\n"
                   "  --db postgresql://...: built in a temporary SpatiaLite file, then its\n"
                   "  categories, districts, grids, facilities and reports copied into that\n"
                   "  (existing, empty) database under mapd's PostGIS schema.\n");
            return 0;
        default: return md_cli_usage_error("sample", "bad option");
        }
    }
    if (bad)
        return bad;
    if (optind < argc)
        return md_cli_usage_error("sample", "unexpected argument '%s'", argv[optind]);
    if (!db)
        return md_cli_usage_error("sample", "--db FILE is required");
    if (md_pg_is_uri(db)) {
        char tdir[64], tfile[96];
        if (!make_temp(tdir, tfile))
            return md_cli_usage_error("sample", "cannot make a temporary directory");
        int status = sample_file(tfile, categories, &o, false); /* removed after the copy */
        if (status == 0)
            status = pg_from_file("sample", db, tfile);
        rm_temp(tdir, tfile);
        return status;
    }
    if (access(db, F_OK) == 0)
        return md_cli_usage_error("sample", "%s exists; the sample needs a new file", db);
    return sample_file(db, categories, &o, true);
}

/* The sample city in the new SpatiaLite file `db`; synced to disk when
 * `durable`. */
static int sample_file(const char *db, const char *categories, const struct md_sample_opts *o,
                       bool durable)
{
    struct md_store *s = NULL;
    /* A sample is rebuilt from scratch on failure: no fsync while building;
     * the final checkpoint below makes it durable. */
    int status = open_and_init("sample", db, categories, MD_STORE_BULK, &s);
    if (status)
        return status;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_geos *g = md_geos_new();
    int64_t t0 = md_time_mono_us();
    if (!g)
        md_fail(&ctx, MD_ENOMEM, "GEOS context");
    else if (md_sample_generate(s, g, o, &ctx) == MD_OK)
        fprintf(stderr, "sample: %lld facilities, %lld reports in %s (%.1f s)\n",
                (long long)o->facilities, (long long)o->reports, db,
                (double)(md_time_mono_us() - t0) / 1e6);
    md_geos_free(g);
    bool done = !ctx.err && md_store_finish_bulk_file(s, &ctx) == MD_OK;
    md_store_close(s);
    if (done && durable) /* make the finished file durable */
        sync();
    if (!done) {
        unlink(db);
        return md_cli_fail("sample", &ctx);
    }
    return 0;
}
