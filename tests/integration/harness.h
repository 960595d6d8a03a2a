/* harness.h - integration tests: a real `mapd serve` on a free loopback port
 * over a private copy of the sample database, spoken to over HTTP (libcurl).
 *
 * The sample database is made once per test run by the CTest fixture
 * `sample_db` (env MAPD_FIXTURE_DB); each harness copies it, so tests can
 * write without seeing each other. MAPD_BIN names the mapd binary.
 */
#ifndef MD_HARNESS_H
#define MD_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct md_harness {
    char dir[256];     /* private temp dir */
    char db[300];      /* database path inside it */
    char base[64];     /* "http://127.0.0.1:PORT" */
    uint16_t port;
    pid_t pid;
    int stderr_fd;     /* server's stderr, captured to dir/stderr.log */
};

struct md_http_res {
    long status;
    char *body; /* NUL-terminated; caller frees via md_http_res_free */
    size_t len;
    char *headers; /* raw response headers */
};

/* Start a server on a copy of the fixture DB; extra_args (NULL-terminated,
 * may be NULL) are appended to `mapd serve`. Aborts the test on failure. */
void md_harness_start(struct md_harness *h, const char *const *extra_args);
/* Start a server directly on `db` (no copy; for big purpose-made databases). */
void md_harness_start_on(struct md_harness *h, const char *db, const char *const *extra_args);
/* SIGTERM the server and wait; returns its exit status (0 = clean) or -1. */
int md_harness_stop(struct md_harness *h);
/* Kill -9 (for crash tests); returns after the process is gone. */
void md_harness_kill(struct md_harness *h);
/* Start again on the same database (after stop/kill). */
void md_harness_restart(struct md_harness *h, const char *const *extra_args);

/* One HTTP request. headers: NULL-terminated "Name: value" list or NULL.
 * body may be NULL. Returns 0, or -1 on a transport error. */
int md_http(const struct md_harness *h, const char *method, const char *path,
            const char *const *headers, const char *body, size_t body_len, struct md_http_res *res);
void md_http_res_free(struct md_http_res *res);
/* Value of a response header (case-insensitive), copied into out; false if absent. */
bool md_http_header(const struct md_http_res *res, const char *name, char *out, size_t n);
/* Run a shell command, return its exit status. */
int md_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run a shell command; the first line it prints into out (no newline).
 * False when the command fails or prints nothing. */
bool md_sh_first_line(const char *cmd, char *out, size_t n);

#endif
