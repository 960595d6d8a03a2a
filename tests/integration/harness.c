/* harness.c - start/stop a real mapd server and speak HTTP to it (harness.h). */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "harness: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

int md_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first line `cmd` prints, into out; false when it fails. */
bool md_sh_first_line(const char *cmd, char *out, size_t n)
{
    FILE *p = popen(cmd, "r");
    bool ok = p && fgets(out, (int)n, p);
    if (ok)
        out[strcspn(out, "\r\n")] = '\0';
    return p && pclose(p) == 0 && ok;
}

static const char *env_or_die(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        die("environment variable %s is not set (run through ctest)", name);
    return v;
}

static void spawn(struct md_harness *h, const char *const *extra_args)
{
    int out[2];
    if (pipe(out) != 0)
        die("pipe: %s", strerror(errno));
    char errlog[320];
    snprintf(errlog, sizeof(errlog), "%s/stderr.log", h->dir);
    const char *bin = env_or_die("MAPD_BIN");
    const char *argv[80] = {bin, "serve",   "--db",      h->db, "--port",
                            "0", "--quiet", "--threads", "4"};
    size_t n = 9;
    /* MAPD_VALGRIND=1 (make test-valgrind): the server runs under memcheck;
     * any error or leak makes it exit 99, which md_harness_stop reports. */
    const char *vg = getenv("MAPD_VALGRIND");
    if (vg && *vg && strcmp(vg, "0") != 0) {
        static char supp[600];
        snprintf(supp, sizeof(supp), "--suppressions=%s/tests/valgrind.supp",
                 env_or_die("MAPD_SOURCE_DIR"));
        const char *pre[] = {"valgrind",
                             "--quiet",
                             "--error-exitcode=99",
                             "--leak-check=full",
                             "--show-leak-kinds=definite,indirect",
                             "--errors-for-leak-kinds=definite,indirect",
                             "--track-fds=no",
                             "--num-callers=30",
                             supp};
        size_t np = sizeof(pre) / sizeof(pre[0]);
        memmove(argv + np, argv, n * sizeof(*argv));
        memcpy(argv, pre, np * sizeof(*argv));
        n += np;
    }
    for (size_t i = 0; extra_args && extra_args[i] && n < 78; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(out[1], 1);
        if (fd >= 0)
            dup2(fd, 2);
        close(out[0]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    h->pid = pid;
    FILE *f = fdopen(out[0], "r");
    char line[512];
    if (!f || !fgets(line, sizeof(line), f)) {
        md_sh("cat %s >&2", errlog);
        die("server did not start (see its stderr above)");
    }
    fclose(f);
    const char *p = strstr(line, "http://");
    const char *colon = p ? strrchr(p, ':') : NULL;
    if (!colon)
        die("unexpected first line from server: %s", line);
    h->port = (uint16_t)atoi(colon + 1);
    snprintf(h->base, sizeof(h->base), "http://127.0.0.1:%u", (unsigned)h->port);
}

void md_harness_start(struct md_harness *h, const char *const *extra_args)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/mapd-test-XXXXXX");
    if (!mkdtemp(h->dir))
        die("mkdtemp: %s", strerror(errno));
    snprintf(h->db, sizeof(h->db), "%s/db.sqlite", h->dir);
    if (md_sh("cp '%s' '%s'", env_or_die("MAPD_FIXTURE_DB"), h->db) != 0)
        die("cannot copy the fixture database");
    spawn(h, extra_args);
}

void md_harness_start_on(struct md_harness *h, const char *db, const char *const *extra_args)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/mapd-test-XXXXXX");
    if (!mkdtemp(h->dir))
        die("mkdtemp: %s", strerror(errno));
    snprintf(h->db, sizeof(h->db), "%s", db);
    spawn(h, extra_args);
}

void md_harness_restart(struct md_harness *h, const char *const *extra_args)
{
    spawn(h, extra_args);
}

static int wait_exit(pid_t pid, int seconds)
{
    for (int i = 0; i < seconds * 100; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        usleep(10000);
    }
    return -1;
}

int md_harness_stop(struct md_harness *h)
{
    if (h->pid <= 0)
        return -1;
    kill(h->pid, SIGTERM);
    const char *vg = getenv("MAPD_VALGRIND");
    int st = wait_exit(h->pid, vg && *vg && strcmp(vg, "0") != 0 ? 300 : 20);
    if (st == -1) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
    }
    h->pid = 0;
    if (st != 0)
        md_sh("cat %s/stderr.log >&2", h->dir);
    else
        md_sh("rm -rf '%s'", h->dir);
    return st;
}

void md_harness_kill(struct md_harness *h)
{
    if (h->pid <= 0)
        return;
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
    h->pid = 0;
}

struct sink {
    char *data;
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    char *p = realloc(s->data, s->len + n + 1);
    if (!p)
        return 0;
    memcpy(p + s->len, ptr, n);
    s->data = p;
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

/* MAPD_API_RECORD_DIR set (make test): every answer from /api/v1 and
 * /open311 is appended as one JSON line to a file of this process in that
 * folder; tests/node/openapi_conformance.mjs checks them all against
 * web/openapi.json at the end of the run. Bodies over RECORD_BODY_MAX are
 * recorded as truncated (status and content type still checked). */
#define RECORD_BODY_MAX ((size_t)256 << 10)

static void json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* One line per answer, written with a single write() on an O_APPEND file so
 * that threads of one test (test_concurrency) never interleave their lines. */
static void record(const char *method, const char *path, const struct md_http_res *res)
{
    const char *dir = getenv("MAPD_API_RECORD_DIR");
    if (!dir || !*dir || res->status == 0 ||
        (strncmp(path, "/api/v1/", 8) != 0 && strncmp(path, "/open311/", 9) != 0))
        return;
    char file[512], ctype[256] = "", cenc[64] = "";
    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    if (!f)
        return;
    md_http_header(res, "Content-Type", ctype, sizeof(ctype));
    md_http_header(res, "Content-Encoding", cenc, sizeof(cenc));
    bool cut = res->len > RECORD_BODY_MAX || cenc[0];
    fputs("{\"source\":\"c\",\"method\":", f);
    json_str(f, method, strlen(method));
    fputs(",\"path\":", f);
    json_str(f, path, strlen(path));
    fprintf(f, ",\"status\":%ld,\"content_type\":", res->status);
    json_str(f, ctype, strlen(ctype));
    fprintf(f, ",\"truncated\":%s,\"body\":", cut ? "true" : "false");
    json_str(f, res->body, cut ? 0 : res->len);
    fputs("}\n", f);
    fclose(f);
    snprintf(file, sizeof(file), "%s/c-%ld.jsonl", dir, (long)getpid());
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, line, len) != (ssize_t)len)
            fprintf(stderr, "harness: recording %s failed\n", path);
        close(fd);
    }
    free(line);
}

int md_http(const struct md_harness *h, const char *method, const char *path,
            const char *const *headers, const char *body, size_t body_len, struct md_http_res *res)
{
    memset(res, 0, sizeof(*res));
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char url[4096];
    snprintf(url, sizeof(url), "%s%s", h->base, path);
    struct sink b = {0}, hd = {0};
    struct curl_slist *hl = NULL;
    bool has_type = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        hl = curl_slist_append(hl, headers[i]);
        has_type = has_type || strncasecmp(headers[i], "Content-Type:", 13) == 0;
    }
    /* A body is JSON unless the test says otherwise (Open311 POSTs are forms,
     * curl's default type); JSON endpoints answer 415 to other types. */
    if (body && !has_type && strncmp(path, "/open311", 8) != 0)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    res->body = b.data ? b.data : calloc(1, 1);
    res->len = b.len;
    res->headers = hd.data ? hd.data : calloc(1, 1);
    if (cc == CURLE_OK)
        record(method, path, res);
    return cc == CURLE_OK ? 0 : -1;
}

void md_http_res_free(struct md_http_res *res)
{
    free(res->body);
    free(res->headers);
    res->body = res->headers = NULL;
}

bool md_http_header(const struct md_http_res *res, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = res->headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t len = (size_t)((eol ? eol : v + strlen(v)) - v);
            while (len && (v[len - 1] == '\r' || v[len - 1] == '\n'))
                len--;
            snprintf(out, n, "%.*s", (int)len, v);
            return true;
        }
        p = eol ? eol + 1 : NULL;
    }
    return false;
}
