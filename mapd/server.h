/* server.h - the HTTP server: libmicrohttpd wired to the mapd API.
 *
 * A thread pool of libmicrohttpd workers; each worker thread lazily gets its
 * own struct md_worker (SQLite connection, GEOS context, PROJ context), never
 * shared. Request bodies are accumulated up to the configured cap (413 beyond,
 * decided from Content-Length before reading when possible). SIGTERM/SIGINT:
 * stop accepting, let in-flight requests finish (up to drain_seconds), close
 * the databases, exit 0.
 */
#ifndef MD_SERVER_H
#define MD_SERVER_H

#include "api.h"
#include <stdbool.h>
#include <stdint.h>

struct md_server_opts {
    const char *bind;   /* IPv4/IPv6 literal; "127.0.0.1" by default */
    uint16_t port;      /* 0 = pick a free port (printed on stdout) */
    unsigned threads;
    unsigned max_connections;
    unsigned max_connections_per_ip; /* 0 = unlimited */
    unsigned timeout_seconds;        /* idle/slow client cut-off */
    size_t max_header_bytes;         /* request header fields (431 above); 0 = 32 KiB */
    size_t max_url_bytes;            /* path + query string (414 above); 0 = 8 KiB */
    unsigned request_timeout_seconds; /* whole request must arrive within this (408); 0 = off */
    unsigned drain_seconds;
    bool quiet;
    bool reuse_port; /* SO_REUSEPORT (--reuse-port): let several servers share the port */
};

struct md_server;

md_err md_server_start(const struct md_server_opts *o, const struct md_config *cfg,
                       struct md_server **out, struct md_ctx *ctx) MD_WUR;
/* The port actually bound. */
uint16_t md_server_port(const struct md_server *srv);
/* Stop accepting, drain, stop the threads and free everything; accepts NULL. */
void md_server_stop(struct md_server *srv);

#endif
