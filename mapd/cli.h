/* cli.h - mapd's subcommands. Each takes argc/argv after the subcommand
 * name and returns the process exit status (0 ok, 1 failure, 2 usage). */
#ifndef MD_CLI_H
#define MD_CLI_H

#include "md_err.h"

int md_cli_init(int argc, char **argv);
int md_cli_sample(int argc, char **argv);
int md_cli_serve(int argc, char **argv);
int md_cli_import(int argc, char **argv);
int md_cli_export(int argc, char **argv);
int md_cli_backup(int argc, char **argv);
int md_cli_token(int argc, char **argv);
int md_cli_unit(int argc, char **argv);

/* Print "mapd <cmd>: <message>" for a failed ctx; returns 1. */
int md_cli_fail(const char *cmd, const struct md_ctx *ctx);
/* Print a usage error and returns 2. */
int md_cli_usage_error(const char *cmd, const char *fmt, ...) MD_PRINTF(2, 3);
/* Default path of a file shipped in sample-data/ (env MAPD_DATA_DIR overrides). */
const char *md_cli_data_path(const char *name, char *buf, size_t n);

#endif
