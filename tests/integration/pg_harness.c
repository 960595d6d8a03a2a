/* pg_harness.c - throwaway PostgreSQL clusters for tests (pg_harness.h). */
#include "pg_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Run pg_cluster.sh with args; its first stdout line into c->conninfo. */
static int run_script(struct md_pg_cluster *c, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash '%s/scripts/pg_cluster.sh' %s", getenv("MAPD_SOURCE_DIR"),
             args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char *line = fgets(c->conninfo, sizeof(c->conninfo), p);
    if (pclose(p) != 0 || !line)
        return -1;
    c->conninfo[strcspn(c->conninfo, "\n")] = '\0';
    return 0;
}

static int new_dir(struct md_pg_cluster *c)
{
    snprintf(c->dir, sizeof(c->dir), "/tmp/mapd-pg-XXXXXX");
    c->port = free_port();
    return mkdtemp(c->dir) && c->port ? 0 : -1;
}

int md_pg_cluster_start(struct md_pg_cluster *c, const char *extra)
{
    char args[512];
    if (new_dir(c) != 0)
        return -1;
    snprintf(args, sizeof(args), "start '%s' %u %s", c->dir, c->port, extra);
    return run_script(c, args);
}

int md_pg_standby_start(struct md_pg_cluster *c, const struct md_pg_cluster *primary)
{
    char args[512];
    if (new_dir(c) != 0)
        return -1;
    snprintf(args, sizeof(args), "standby %u '%s' %u", primary->port, c->dir, c->port);
    return run_script(c, args);
}

int md_pg_promote(const struct md_pg_cluster *c)
{
    return md_sh("bash '%s/scripts/pg_cluster.sh' promote '%s'", getenv("MAPD_SOURCE_DIR"), c->dir);
}

void md_pg_crash(const struct md_pg_cluster *c)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/data/postmaster.pid", c->dir);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f && fscanf(f, "%ld", &pid) == 1 && pid > 0) {
        /* The postmaster and every backend it started. */
        md_sh("pkill -KILL -P %ld; kill -KILL %ld", pid, pid);
        for (int i = 0; i < 200 && kill((pid_t)pid, 0) == 0; i++)
            usleep(10000);
    }
    if (f)
        fclose(f);
}

void md_pg_cluster_stop(struct md_pg_cluster *c)
{
    if (c->dir[0])
        md_sh("bash '%s/scripts/pg_cluster.sh' stop '%s' immediate", getenv("MAPD_SOURCE_DIR"),
              c->dir);
    c->dir[0] = '\0';
}

PGconn *md_pg_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect %s: %s", conninfo, PQerrorMessage(c));
    return c;
}

void md_pg_exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

long long md_pg_scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* Each server's own base URL ("http://127.0.0.1:PORT") in a body becomes
 * "BASE" (links name the server that answered). */
void md_pg_unbase(struct md_http_res *r, const char *base)
{
    size_t n = strlen(base);
    char *w = r->body;
    for (const char *p = r->body; p < r->body + r->len;) {
        if ((size_t)(r->body + r->len - p) >= n && memcmp(p, base, n) == 0) {
            memcpy(w, "BASE", 4);
            w += 4;
            p += n;
        } else {
            *w++ = *p++;
        }
    }
    r->len = (size_t)(w - r->body);
    *w = '\0';
}

/* GET path from both; the same status, Content-Type and body. Returns the
 * body length. */
size_t md_pg_same_get(const struct md_harness *lite, const struct md_harness *post,
                      const char *path, const char *const *headers)
{
    struct md_http_res a, b;
    assert_int_equal(md_http(lite, "GET", path, headers, NULL, 0, &a), 0);
    assert_int_equal(md_http(post, "GET", path, headers, NULL, 0, &b), 0);
    md_pg_unbase(&a, lite->base);
    md_pg_unbase(&b, post->base);
    char ta[128] = "", tb[128] = "";
    md_http_header(&a, "Content-Type", ta, sizeof(ta));
    md_http_header(&b, "Content-Type", tb, sizeof(tb));
    if (a.status != b.status || a.len != b.len || (a.len && memcmp(a.body, b.body, a.len)) ||
        strcmp(ta, tb))
        fail_msg("%s: sqlite %ld (%zu bytes) %.300s\n  postgresql %ld (%zu bytes) %.300s", path,
                 a.status, a.len, a.len && ta[0] != 'a' ? a.body : "", b.status, b.len,
                 b.len && tb[0] != 'a' ? b.body : "");
    size_t n = a.len;
    md_http_res_free(&a);
    md_http_res_free(&b);
    return n;
}
