/* export_cache.c - exports served from files, one per options and data
 * version (export_cache.h).
 *
 * A request names its options (layer, format, CRS, filters); they hash to a
 * key. The file <dir>/<key>-v<version>.<ext> holds the export of the layer
 * at that data version (layers.version), built once by md_export in one
 * read transaction on the server's side, at the server's speed, then
 * renamed into place with a gzip twin (.gz). Clients read the file: a slow
 * reader holds a file descriptor, never a database snapshot, so it cannot
 * pin the WAL. The answer carries Content-Length, a strong ETag (key and
 * version), Accept-Ranges; Range gives 206 (one range; 416 when it starts
 * past the end; If-Range honoured), If-None-Match gives 304, and a client
 * that accepts gzip (without Range) gets the .gz twin with
 * Content-Encoding: gzip. Building a newer version removes the older files
 * of the same key (open descriptors keep reading them).
 */
#include "export_cache.h"
#include "md_sha256.h"
#include "md_time.h"
#include "negotiate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define KEY_HEX 24

static void options_key(const struct md_export_opts *o, char key[KEY_HEX + 1])
{
    const struct md_query_filter *f = &o->filter;
    char text[1024], hex[MD_SHA256_HEX_LEN];
    snprintf(text, sizeof(text),
             "v1|%d|%d|%d|%d|%s|%s|%s|%s|%s|%d:%" PRId64 "|%d:%" PRId64
             "|%d:%.17g,%.17g,%.17g,%.17g",
             (int)o->layer, o->csv, (int)o->crs, o->tz_offset_min, f->category ? f->category : "",
             f->group ? f->group : "", f->status ? f->status : "", f->district ? f->district : "",
             f->kind ? f->kind : "", f->has_from, f->from, f->has_to, f->to, o->has_box,
             o->box.minx, o->box.miny, o->box.maxx, o->box.maxy);
    md_sha256_hex(text, strlen(text), hex);
    memcpy(key, hex, KEY_HEX);
    key[KEY_HEX] = '\0';
}

static md_err write_all(int fd, const char *p, size_t n, struct md_ctx *ctx)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return md_fail(ctx, errno == ENOSPC ? MD_ENOSPACE : MD_EIO, "export file: %s",
                           strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return MD_OK;
}

static md_err gz_write(z_stream *z, int fd, const char *p, size_t n, int flush, struct md_ctx *ctx)
{
    unsigned char out[64 * 1024];
    md_err rc = MD_OK;
    z->next_in = (unsigned char *)p;
    z->avail_in = (uInt)n;
    do {
        z->next_out = out;
        z->avail_out = sizeof(out);
        int zr = deflate(z, flush);
        if (zr == Z_STREAM_ERROR)
            return md_fail(ctx, MD_EINTERNAL, "export file: deflate");
        rc = write_all(fd, (const char *)out, sizeof(out) - z->avail_out, ctx);
    } while (!rc && z->avail_out == 0);
    return rc;
}

/* Remove the files of `key` other than version `keep` (not temporary files). */
static void remove_old_versions(const char *dir, const char *key, int64_t keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char mine[64], path[4200];
    snprintf(mine, sizeof(mine), "%s-v%" PRId64 ".", key, keep);
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, key, KEY_HEX) != 0 || e->d_name[KEY_HEX] != '-' ||
            strncmp(e->d_name, mine, strlen(mine)) == 0)
            continue;
        int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (n > 0 && (size_t)n < sizeof(path))
            unlink(path);
    }
    if (d)
        closedir(d);
}

/* Build the export into <final> and <final>.gz (through temporary files). */
static md_err build(const char *db_path, const struct md_export_opts *o, const char *dir,
                    const char *key, const char *ext, int64_t *version, struct md_ctx *ctx)
{
    struct md_export *e = NULL;
    struct md_buf chunk;
    char tmp[4200], tmpgz[4210], final[4200], finalgz[4210];
    int fd = -1, gzfd = -1;
    z_stream z = {0};
    bool z_ready = false;
    md_buf_init(&chunk, (size_t)8 << 20);
    md_err rc = md_export_open(db_path, o, &e, ctx);
    if (rc)
        goto out;
    *version = md_export_version(e);
    snprintf(final, sizeof(final), "%s/%s-v%" PRId64 ".%s", dir, key, *version, ext);
    snprintf(finalgz, sizeof(finalgz), "%s.gz", final);
    snprintf(tmp, sizeof(tmp), "%s/.%s-v%" PRId64 ".%ld.%lu.tmp", dir, key, *version,
             (long)getpid(), (unsigned long)pthread_self());
    snprintf(tmpgz, sizeof(tmpgz), "%s.gz", tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    gzfd = fd >= 0 ? open(tmpgz, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (fd < 0 || gzfd < 0) {
        rc = md_fail(ctx, MD_EIO, "export file %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        rc = md_fail(ctx, MD_ENOMEM, "export file: deflateInit2");
        goto out;
    }
    z_ready = true;
    md_err more;
    do { /* the snapshot is held only for this loop, at the server's speed */
        if ((rc = md_ctx_budget(ctx)))
            goto out;
        md_buf_reset(&chunk);
        more = md_export_next(e, &chunk);
        if (more && more != MD_ENOTFOUND) {
            rc = md_fail(ctx, more, "export: %s", md_ctx_message(md_export_error(e)));
            goto out;
        }
        rc = write_all(fd, chunk.data, chunk.len, ctx);
        if (!rc)
            rc = gz_write(&z, gzfd, chunk.data, chunk.len,
                          more == MD_ENOTFOUND ? Z_FINISH : Z_NO_FLUSH, ctx);
    } while (!rc && more == MD_OK);
    md_export_free(e);
    e = NULL;
    if (!rc && (fsync(fd) || fsync(gzfd)))
        rc = md_fail(ctx, MD_EIO, "export file: fsync: %s", strerror(errno));
    if (!rc && (rename(tmpgz, finalgz) || rename(tmp, final)))
        rc = md_fail(ctx, MD_EIO, "export file %s: %s", final, strerror(errno));
    if (!rc)
        remove_old_versions(dir, key, *version);
out:
    if (rc && fd >= 0) {
        unlink(tmp);
        unlink(tmpgz);
    }
    if (fd >= 0)
        close(fd);
    if (gzfd >= 0)
        close(gzfd);
    if (z_ready)
        deflateEnd(&z);
    md_export_free(e);
    md_buf_free(&chunk);
    return rc;
}

/* "bytes=a-b" | "bytes=a-" | "bytes=-n" against `size`: 1 = a range in
 * [*from, *to], 0 = ignore the header (absent, malformed or several
 * ranges: the whole file is sent), -1 = unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *to)
{
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    char *end = NULL;
    if (*p == '-') {
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end)
            return 0;
        if (n == 0 || size == 0)
            return -1;
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return 1;
    }
    if (*p < '0' || *p > '9')
        return 0;
    unsigned long long a = strtoull(p, &end, 10), b = size ? size - 1 : 0;
    if (*end != '-')
        return 0;
    const char *q = end + 1;
    if (*q) {
        if (*q < '0' || *q > '9')
            return 0;
        b = strtoull(q, &end, 10);
        if (*end || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b >= size ? size - 1 : b;
    return 1;
}

static bool accepts_gzip(const char *h)
{
    return md_negotiate_accepts_gzip(h);
}

static bool etag_listed(const char *h, const char *etag)
{
    return md_negotiate_etag_matches(h, etag);
}

md_err md__export_serve(struct md_call *c, const struct md_export_opts *o, const char *ext)
{
    const struct md_config *cfg = c->api->cfg;
    const char *db = cfg->db_path ? cfg->db_path : md_store_path(c->w->store);
    char dir[4000], key[KEY_HEX + 1], path[4200], etag[96], value[96];
    struct md_layer_info info;
    struct stat sb;
    if (md_store_path_is_pg(db)) /* its scans are SQLite's only (and no <db>.exports beside a URI) */
        return md_fail(c->ctx, MD_ENOTIMPL, "exports: not yet on PostgreSQL");
    if (cfg->export_dir)
        snprintf(dir, sizeof(dir), "%s", cfg->export_dir);
    else
        snprintf(dir, sizeof(dir), "%s.exports", db);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return md_fail(c->ctx, MD_EIO, "export directory %s: %s", dir, strerror(errno));
    options_key(o, key);
    md_err rc = md_store_layer_info(c->w->store, o->layer, &info, c->ctx);
    if (rc)
        return rc;
    int64_t version = info.version;
    snprintf(path, sizeof(path), "%s/%s-v%" PRId64 ".%s", dir, key, version, ext);
    if (stat(path, &sb) != 0) {
        rc = build(db, o, dir, key, ext, &version, c->ctx);
        if (rc)
            return rc;
        snprintf(path, sizeof(path), "%s/%s-v%" PRId64 ".%s", dir, key, version, ext);
    }
    snprintf(etag, sizeof(etag), "\"%s-v%" PRId64 "\"", key, version);
    const char *range = md_request_header(c->req, "Range");
    const char *if_range = md_request_header(c->req, "If-Range");
    if (if_range && strcmp(if_range, etag) != 0)
        range = NULL; /* the client's part is of another version: send it all */
    bool gz = !range && accepts_gzip(md_request_header(c->req, "Accept-Encoding"));
    if (gz) {
        snprintf(path + strlen(path), sizeof(path) - strlen(path), ".gz");
        snprintf(etag, sizeof(etag), "\"%s-v%" PRId64 "-gz\"", key, version);
    }
    MD_IGNORE(md_response_header(c->res, c->req->pool, "ETag", etag));
    MD_IGNORE(md_response_header(c->res, NULL, "Accept-Ranges", "bytes"));
    MD_IGNORE(md_response_header(c->res, NULL, "Vary", "Accept-Encoding"));
    MD_IGNORE(md_response_header(c->res, NULL, "Cache-Control", "no-cache"));
    if (etag_listed(md_request_header(c->req, "If-None-Match"), etag)) {
        c->res->status = 304;
        return MD_OK;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        return md_fail(c->ctx, MD_EBUSY,
                       "export file %s went away (a newer version replaced it):"
                       " retry",
                       path);
    }
    uint64_t size = (uint64_t)sb.st_size, from = 0, to = size ? size - 1 : 0;
    int r = parse_range(range, size, &from, &to);
    if (r < 0) {
        close(fd);
        snprintf(value, sizeof(value), "bytes */%" PRIu64, size);
        MD_IGNORE(md_response_header(c->res, c->req->pool, "Content-Range", value));
        return md_fail(c->ctx, MD_ERANGE, "Range '%.60s' starts past the end (%" PRIu64 " bytes)",
                       range, size);
    }
    if (gz)
        MD_IGNORE(md_response_header(c->res, NULL, "Content-Encoding", "gzip"));
    if (r > 0) {
        c->res->status = 206;
        snprintf(value, sizeof(value), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from, to, size);
        MD_IGNORE(md_response_header(c->res, c->req->pool, "Content-Range", value));
    }
    c->res->has_file = true;
    c->res->file_fd = fd;
    c->res->file_offset = from;
    c->res->file_length = size ? to - from + 1 : 0;
    return MD_OK;
}
