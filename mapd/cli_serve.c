/* cli_serve.c - `mapd serve`: parse flags, start the server, wait for a signal. */
#include "basemap_style.h"
#include "cli.h"
#include "md_text.h"
#include "server.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void serve_help(void)
{
    printf(
        "usage: mapd serve --db FILE|URI [options]\n"
        "  --db FILE|URI          SpatiaLite database made by mapd init/sample, or a\n"
        "                         PostgreSQL one: postgresql://user@host:port/db (libpq URI,\n"
        "                         multi-host allowed; see docs/scaling.md) (required)\n"
        "  --read-db URI          a streaming replica to read tiles from (PostgreSQL); a\n"
        "                         client's Mapd-Consistency token is honoured (docs/scaling.md)\n"
        "  --replica-wait-ms N    how long a tile waits for the replica to reach the token\n"
        "                         before it is read from --db instead (default 200)\n"
        "  --durability MODE      when a report's 201 goes out: local (default: on this\n"
        "                         database's disk) or replicated (PostgreSQL: also on a\n"
        "                         synchronous standby's disk)\n"
        "  --port N               TCP port (default 8080; 0 = any free port)\n"
        "  --bind ADDR            address to listen on (default 127.0.0.1)\n"
        "  --threads N            worker threads (default 4)\n"
        "  --tile-cache-mb N      tile cache budget in MiB (default 256; 0 disables)\n"
        "  --feature-cache-mb N   rendered features of nearest/within answers, MiB\n"
        "                         (default 64; 0 disables)\n"
        "  --web DIR              web map files to serve at / (default: built-in path)\n"
        "  --styles DIR           MapLibre styles (default: built-in path)\n"
        "  --font FILE            font for the map labels' glyphs (default: WenQuanYi Micro Hei)\n"
        "  --public-url URL       base URL used in links (default: the address connected to)\n"
        "  --trust-host           without --public-url, build links from the Host header\n"
        "  --reuse-port           share the port with other servers (SO_REUSEPORT); without\n"
        "                         it a port in use is a start-up error\n"
        "  --max-body-kb N        request body limit (default 1024)\n"
        "  --max-connections N    total connections (default 1024)\n"
        "  --max-per-client N     connections per client address (default 64; 0 = no limit)\n"
        "  --timeout N            seconds before an idle client is cut off (default 30)\n"
        "  --request-timeout N    seconds a whole request may take to arrive (408 after; default "
        "30; 0 = off)\n"
        "  --max-header-kb N      request header fields (431 above; default 32)\n"
        "  --max-url-kb N         URL path + query string (414 above; default 8)\n"
        "  --max-limit N          cap on limit= query parameters (default 10000)\n"
        "  --rate-limit N         report creates per client per minute (default 30; 0 = off)\n"
        "  --cors-origin ORIGIN   allow browser code from ORIGIN (repeat, or comma-separate,\n"
        "                         for several; * for any)\n"
        "  --work-hours HH:MM-HH:MM  working hours for case deadlines (default 09:00-17:00)\n"
        "  --max-event-streams N  open /api/v1/events streams (default 256)\n"
        "  --event-heartbeat N    seconds between event-stream heartbeats (default 15)\n"
        "  --query-budget-ms N    work budget of an expensive request (polygon and wide-area\n"
        "                         within, stats, hot spots, exports): 422 query_too_expensive\n"
        "                         past it (default 5000; 0 = none)\n"
        "  --export-budget-ms N   work budget of building one export file (once per data\n"
        "                         version): 422 query_too_expensive past it (default 120000;\n"
        "                         0 = none)\n"
        "  --expensive-slots N    expensive requests running at once, 503 + Retry-After beyond\n"
        "                         (default threads - 1, at least 1)\n"
        "  --basemap-tiles URL    an external raster base map, an XYZ URL template\n"
        "                         (http(s), with {z}, {x} and {y}, e.g. Tianditu's with its key)\n"
        "                         that the served styles draw beneath mapd's layers (default: "
        "none)\n"
        "  --basemap-attribution T  its attribution, shown by the map\n"
        "  --basemap-style FILE|URL  an external vector base map: a MapLibre style (a file or\n"
        "                         an http(s) URL, read once at start) whose sources and layers\n"
        "                         the served styles draw beneath mapd's (its icons left out)\n"
        "  --webhook-retry-base-ms N  first retry delay of a failed webhook delivery; each\n"
        "                         further one doubles, up to an hour (default 1000)\n"
        "  --webhook-max-attempts N  attempts before a delivery is failed (default 16)\n"
        "  --quiet                no per-request log lines\n");
}

/* An XYZ URL template: http(s), printable, with {z}, {x} and {y} (or {-y}). */
static int check_tiles_url(const char *url)
{
    bool ok = (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) &&
              strlen(url) <= 2000 && strstr(url, "{z}") && strstr(url, "{x}") &&
              (strstr(url, "{y}") || strstr(url, "{-y}"));
    for (const char *p = url; ok && *p; p++)
        ok = (unsigned char)*p > 0x20 && *p != '"' && *p != '\\' && *p != 0x7f;
    if (!ok)
        fprintf(stderr,
                "mapd serve: --basemap-tiles '%.80s' is not an http(s) XYZ URL template"
                " with {z}, {x} and {y}\n",
                url);
    return !ok;
}

static int num(const char *what, const char *arg, int64_t lo, int64_t hi, int64_t *out)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md_parse_int64(arg, what, lo, hi, out, &ctx))
        return md_cli_usage_error("serve", "%s", md_ctx_message(&ctx));
    return 0;
}

/* --work-hours 09:00-17:00 */
/* --cors-origin, repeatable: the origins joined by commas in `list` (the caller's). */
static int cors_origin_add(struct md_config *cfg, const char *arg, char *list, size_t size)
{
    size_t used = cfg->cors_origin ? strlen(list) : 0;
    if (!*arg || strlen(arg) + used + 2 > size || strchr(arg, '\r') || strchr(arg, '\n')) {
        fprintf(stderr, "mapd serve: --cors-origin '%.80s' is empty or too long\n", arg);
        return 1;
    }
    snprintf(list + used, size - used, "%s%s", used ? "," : "", arg);
    cfg->cors_origin = list;
    return 0;
}

static int work_hours(const char *arg, struct md_config *cfg)
{
    unsigned h1, m1, h2, m2;
    char tail;
    if (sscanf(arg, "%2u:%2u-%2u:%2u%c", &h1, &m1, &h2, &m2, &tail) != 4 || h1 > 24 || h2 > 24 ||
        m1 > 59 || m2 > 59 || h1 * 60 + m1 >= h2 * 60 + m2 || h2 * 60 + m2 > 1440)
        return md_cli_usage_error(
            "serve", "--work-hours must be HH:MM-HH:MM with start < end, got '%s'", arg);
    cfg->work_day_start_min = (int)(h1 * 60 + m1);
    cfg->work_day_end_min = (int)(h2 * 60 + m2);
    return 0;
}

/* --durability: on PostgreSQL every connection of this node gets
 * synchronous_commit through the URI's options (so a reconnection keeps
 * it): `local` = a commit (and the 201 after it) waits for the primary's
 * disk; `replicated` = for a synchronous standby's disk as well, which the
 * primary must be configured to have (synchronous_standby_names), checked
 * here. On SQLite only `local` exists (the WAL on this machine's disk). */
static int apply_durability(const char *mode, const char *db, char *uri, size_t n)
{
    bool replicated = strcmp(mode, "replicated") == 0;
    if (!replicated && strcmp(mode, "local") != 0)
        return md_cli_usage_error("serve", "--durability is local or replicated, not '%s'", mode);
    if (!md_store_path_is_pg(db))
        return replicated ? md_cli_usage_error("serve", "--durability replicated needs a"
                                                        " PostgreSQL database with a standby")
                          : 0;
    int len = snprintf(uri, n, "%s%soptions=-c%%20synchronous_commit%%3D%s", db,
                       strchr(db, '?') ? "&" : "?", replicated ? "on" : "local");
    if (len < 0 || (size_t)len >= n)
        return md_cli_usage_error("serve", "--db is too long");
    if (!replicated)
        return 0;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    char names[256] = "";
    md_err rc = md_store_open(uri, MD_STORE_READONLY, &s, &ctx);
    if (!rc)
        rc = md_store_server_setting(s, "synchronous_standby_names", names, sizeof(names), &ctx);
    md_store_close(s);
    if (rc)
        return md_cli_fail("serve", &ctx);
    if (!names[0]) {
        fprintf(stderr, "mapd serve: --durability replicated: the primary has no synchronous"
                        " standby (set synchronous_standby_names, see docs/scaling.md)\n");
        return 1;
    }
    return 0;
}

static int check_db_path(const char *db)
{
    struct stat st;
    if (stat(db, &st) == 0 && (st.st_mode & S_IWOTH)) {
        fprintf(stderr, "mapd serve: refusing to serve %s: it is world-writable (chmod o-w it)\n",
                db);
        return 1;
    }
    /* The server writes (reports, WAL): a read-only file, directory or file
     * system is a clear start-up error, not a failure on the first write.
     * access() honours read-only mounts even for root. */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", db);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    if (stat(db, &st) == 0 && access(db, R_OK | W_OK) != 0) {
        fprintf(stderr,
                "mapd serve: %s is read-only (%s): the server writes reports to it;"
                " serve a writable copy\n",
                db, strerror(errno));
        return 1;
    }
    if (stat(db, &st) == 0 && access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr,
                "mapd serve: the directory %s is not writable (%s): SQLite's write-ahead"
                " log needs %s-wal and %s-shm beside the database\n",
                dir, strerror(errno), db, db);
        return 1;
    }
    return 0;
}

int md_cli_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"port", required_argument, NULL, 'p'},
                                         {"bind", required_argument, NULL, 'b'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"tile-cache-mb", required_argument, NULL, 'c'},
                                         {"web", required_argument, NULL, 'w'},
                                         {"styles", required_argument, NULL, 'S'},
                                         {"public-url", required_argument, NULL, 'u'},
                                         {"max-body-kb", required_argument, NULL, 'B'},
                                         {"max-connections", required_argument, NULL, 'C'},
                                         {"max-per-client", required_argument, NULL, 'P'},
                                         {"timeout", required_argument, NULL, 'T'},
                                         {"rate-limit", required_argument, NULL, 'r'},
                                         {"cors-origin", required_argument, NULL, 'o'},
                                         {"export-dir", required_argument, NULL, 'X'},
                                         {"work-hours", required_argument, NULL, 'W'},
                                         {"max-event-streams", required_argument, NULL, 'E'},
                                         {"event-heartbeat", required_argument, NULL, 'H'},
                                         {"feature-cache-mb", required_argument, NULL, 'f'},
                                         {"font", required_argument, NULL, 'F'},
                                         {"request-timeout", required_argument, NULL, 'R'},
                                         {"max-header-kb", required_argument, NULL, 'K'},
                                         {"max-url-kb", required_argument, NULL, 'U'},
                                         {"max-limit", required_argument, NULL, 'L'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"trust-host", no_argument, NULL, 1001},
                                         {"reuse-port", no_argument, NULL, 1002},
                                         {"query-budget-ms", required_argument, NULL, 1003},
                                         {"expensive-slots", required_argument, NULL, 1004},
                                         {"export-budget-ms", required_argument, NULL, 1005},
                                         {"basemap-tiles", required_argument, NULL, 1006},
                                         {"basemap-attribution", required_argument, NULL, 1007},
                                         {"webhook-retry-base-ms", required_argument, NULL, 1008},
                                         {"webhook-max-attempts", required_argument, NULL, 1009},
                                         {"basemap-style", required_argument, NULL, 1010},
                                         {"durability", required_argument, NULL, 1011},
                                         {"read-db", required_argument, NULL, 1012},
                                         {"replica-wait-ms", required_argument, NULL, 1013},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char cors_list[2048] = "";
    const char *basemap_style = NULL;
    const char *durability = "local";
    char durable_uri[4096];
    struct md_config cfg = {
        .web_dir = MAPD_WEB_DIR,
        .styles_dir = MAPD_STYLES_DIR,
        .max_body_bytes = 1024 * 1024,
        .tile_cache_bytes = (size_t)256 << 20,
        .feature_cache_bytes = (size_t)64 << 20,
        .max_query_limit = 10000,
        .timezone_offset_min = 480,
        .rate_limit_per_min = 30,
        .query_budget_ms = 5000,
        .export_budget_ms = 120000,
        .webhook_retry_base_ms = 1000,
        .webhook_max_attempts = 16,
    };
    struct md_server_opts so = {.bind = "127.0.0.1",
                                .port = 8080,
                                .threads = 4,
                                .max_connections = 1024,
                                .max_connections_per_ip = 64,
                                .timeout_seconds = 30,
                                .drain_seconds = 10,
                                .request_timeout_seconds = 30,
                                .max_header_bytes = 32 * 1024,
                                .max_url_bytes = 8 * 1024};
    int64_t v = 0;
    int c, bad = 0;
    optind = 1;
    while (!bad &&
           (c = getopt_long(argc, argv, "+d:p:b:t:c:f:w:S:F:u:B:C:P:T:r:o:X:W:E:H:R:K:U:L:qh", opts,
                            NULL)) != -1) {
        switch (c) {
        case 'd':
            cfg.db_path = optarg;
            break;
        case 'p':
            bad = num("--port", optarg, 0, 65535, &v);
            so.port = (uint16_t)v;
            break;
        case 'b':
            so.bind = optarg;
            break;
        case 't':
            bad = num("--threads", optarg, 1, 256, &v);
            so.threads = (unsigned)v;
            break;
        case 'c':
            bad = num("--tile-cache-mb", optarg, 0, 65536, &v);
            cfg.tile_cache_bytes = (size_t)v << 20;
            break;
        case 'f':
            bad = num("--feature-cache-mb", optarg, 0, 65536, &v);
            cfg.feature_cache_bytes = (size_t)v << 20;
            break;
        case 'w':
            cfg.web_dir = optarg;
            break;
        case 'S':
            cfg.styles_dir = optarg;
            break;
        case 'F':
            cfg.font_path = optarg;
            break;
        case 'u':
            cfg.public_url = optarg;
            break;
        case 'B':
            bad = num("--max-body-kb", optarg, 1, 1024 * 1024, &v);
            cfg.max_body_bytes = (size_t)v * 1024;
            break;
        case 'C':
            bad = num("--max-connections", optarg, 1, 100000, &v);
            so.max_connections = (unsigned)v;
            break;
        case 'P':
            bad = num("--max-per-client", optarg, 0, 100000, &v);
            so.max_connections_per_ip = (unsigned)v;
            break;
        case 'T':
            bad = num("--timeout", optarg, 1, 3600, &v);
            so.timeout_seconds = (unsigned)v;
            break;
        case 'r':
            bad = num("--rate-limit", optarg, 0, 1000000, &v);
            cfg.rate_limit_per_min = (int)v;
            break;
        case 'o':
            bad = cors_origin_add(&cfg, optarg, cors_list, sizeof(cors_list));
            break;
        case 'W':
            bad = work_hours(optarg, &cfg);
            break;
        case 'E':
            bad = num("--max-event-streams", optarg, 1, 100000, &v);
            cfg.events_max_subscribers = (int)v;
            break;
        case 'H':
            bad = num("--event-heartbeat", optarg, 1, 3600, &v);
            cfg.events_heartbeat_s = (int)v;
            break;
        case 'R':
            bad = num("--request-timeout", optarg, 0, 3600, &v);
            so.request_timeout_seconds = (unsigned)v;
            break;
        case 'K':
            bad = num("--max-header-kb", optarg, 1, 1024, &v);
            so.max_header_bytes = (size_t)v * 1024;
            break;
        case 'U':
            bad = num("--max-url-kb", optarg, 1, 1024, &v);
            so.max_url_bytes = (size_t)v * 1024;
            break;
        case 'L':
            bad = num("--max-limit", optarg, 1, 1000000, &v);
            cfg.max_query_limit = (int)v;
            break;
        case 'q':
            so.quiet = true;
            break;
        case 1001:
            cfg.trust_host = true;
            break;
        case 1002:
            so.reuse_port = true;
            break;
        case 1003:
            bad = num("--query-budget-ms", optarg, 0, 3600 * 1000, &v);
            cfg.query_budget_ms = (unsigned)v;
            break;
        case 1004:
            bad = num("--expensive-slots", optarg, 1, 256, &v);
            cfg.expensive_slots = (unsigned)v;
            break;
        case 1005:
            bad = num("--export-budget-ms", optarg, 0, 3600 * 1000, &v);
            cfg.export_budget_ms = (unsigned)v;
            break;
        case 1006:
            bad = check_tiles_url(optarg);
            cfg.basemap_tiles = optarg;
            break;
        case 1007:
            if (strlen(optarg) > 500 || strpbrk(optarg, "\r\n")) {
                fprintf(stderr, "mapd serve: --basemap-attribution: at most 500 bytes, one line\n");
                bad = 1;
            }
            cfg.basemap_attribution = optarg;
            break;
        case 1008:
            bad = num("--webhook-retry-base-ms", optarg, 1, 3600 * 1000, &v);
            cfg.webhook_retry_base_ms = (unsigned)v;
            break;
        case 1009:
            bad = num("--webhook-max-attempts", optarg, 1, 100, &v);
            cfg.webhook_max_attempts = (unsigned)v;
            break;
        case 1010:
            basemap_style = optarg;
            break;
        case 1011:
            durability = optarg;
            break;
        case 1012:
            cfg.read_db_path = optarg;
            break;
        case 1013:
            bad = num("--replica-wait-ms", optarg, 1, 60000, &v);
            cfg.replica_wait_ms = (unsigned)v;
            break;
        case 'h':
            serve_help();
            return 0;
        default:
            return md_cli_usage_error("serve", "bad option");
        }
    }
    if (bad)
        return bad;
    if (optind < argc)
        return md_cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if (!cfg.db_path)
        return md_cli_usage_error("serve", "--db FILE is required");
    if (!md_store_path_is_pg(cfg.db_path) && check_db_path(cfg.db_path))
        return 1;
    if (apply_durability(durability, cfg.db_path, durable_uri, sizeof(durable_uri)))
        return 1;
    if (md_store_path_is_pg(cfg.db_path))
        cfg.db_path = durable_uri;
    if (cfg.read_db_path && (!md_store_path_is_pg(cfg.read_db_path) ||
                             !md_store_path_is_pg(cfg.db_path)))
        return md_cli_usage_error("serve", "--read-db is a PostgreSQL replica of a PostgreSQL --db");
    if (basemap_style && cfg.basemap_tiles)
        return md_cli_usage_error("serve",
                                  "--basemap-style and --basemap-tiles exclude each other");
    char *style_text = NULL; /* the external base map's style, read once */
    if (basemap_style) {
        struct md_ctx sctx;
        md_ctx_init(&sctx);
        if (md_basemap_style_load(basemap_style, &style_text, &sctx))
            return md_cli_usage_error("serve", "%s", md_ctx_message(&sctx));
        cfg.basemap_style = style_text;
    }
    if (!cfg.expensive_slots) /* one worker always left for cheap requests */
        cfg.expensive_slots = so.threads > 1 ? so.threads - 1 : 1;

    /* Keep freed request memory in the process: tile buffers of a few hundred
     * KB would otherwise be mmap'd and unmapped (page faults) per request. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    /* Block the stop signals in every thread; the main thread takes them with sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_server *srv = NULL;
    if (md_server_start(&so, &cfg, &srv, &ctx)) {
        free(style_text);
        return md_cli_fail("serve", &ctx);
    }
    printf("mapd: serving %s on http://%s:%u/\n", cfg.db_path, so.bind,
           (unsigned)md_server_port(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "mapd: %s received, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    md_server_stop(srv);
    free(style_text);
    fprintf(stderr, "mapd: stopped cleanly\n");
    return 0;
}
