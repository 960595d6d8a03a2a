/* main.c - the mapd command: dispatches to subcommands (see cli.h). */
#include "backup.h"
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"init", md_cli_init, "create an empty mapd database with the schema and categories"},
    {"sample", md_cli_sample, "create the deterministic sample city (Beijing) in a database"},
    {"serve", md_cli_serve, "serve tiles, APIs and the web map over HTTP"},
    {"import", md_cli_import, "load facilities, reports, districts or grids from any OGR source"},
    {"export", md_cli_export, "write a layer's public fields as GeoJSON or CSV"},
    {"backup", md_cli_backup, "copy a database online (consistent while serving)"},
    {"token", md_cli_token, "create, list and revoke API tokens (app, officer, centre, admin)"},
    {"unit", md_cli_unit, "add and list the units cases are dispatched to, with their officers"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mapd <command> [options]   (mapd <command> --help for its options)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int md_cli_fail(const char *cmd, const struct md_ctx *ctx)
{
    fprintf(stderr, "mapd %s: %s\n", cmd, md_ctx_message(ctx));
    return 1;
}

int md_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mapd %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see mapd %s --help)\n", cmd);
    va_end(ap);
    return 2;
}

const char *md_cli_data_path(const char *name, char *buf, size_t n)
{
    const char *dir = getenv("MAPD_DATA_DIR");
    snprintf(buf, n, "%s/%s", dir && *dir ? dir : MAPD_DATA_DIR, name);
    return buf;
}

int main(int argc, char **argv)
{
    /* Process-wide, before any connection (see backup.h). */
    md_store_global_init();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mapd %s\n", MAPD_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "mapd: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
