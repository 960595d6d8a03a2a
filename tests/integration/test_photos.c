/* test_photos.c - photos of reports against the real server: a JPEG with
 * GPS, device, XMP and comment metadata comes back with none of it (read by
 * exiftool, an independent reader); a text file named .jpg is 415; a PNG
 * whose header claims 50000 x 50000 pixels (a decompression bomb: a few
 * hundred bytes) is 422 at once and the server keeps serving; photos are
 * invisible until the centre accepts the report, then served with ETag,
 * 304 and a year's Cache-Control; at most 5 per report (422); over 8 MiB
 * 413; the centre removes one (204, then 404); only the reporter's token or
 * staff may upload (401/403). Photos in the create request itself
 * (multipart POST /api/v1/reports, Open311's media): report and photo in
 * one transaction, so a refused photo (415, 413, 422) or report part (400)
 * leaves no report (counted in the database before and after); Open311's
 * media_url is the photo once accepted; its errors in Open311's form.
 */
#include "harness.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

static struct md_harness H;
static char centre_token[128], officer_token[128], app_token[128];

static int setup(void **state)
{
    (void)state;
    static const char *const args[] = {"--rate-limit", "0", NULL};
    md_harness_start(&H, args);
    char cmd[1024];
    const char *bin = getenv("MAPD_BIN");
    snprintf(cmd, sizeof(cmd), "'%s' token add --db '%s' --role centre", bin, H.db);
    if (!md_sh_first_line(cmd, centre_token, sizeof(centre_token)))
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' token add --db '%s' --role app --label open311", bin, H.db);
    if (!md_sh_first_line(cmd, app_token, sizeof(app_token)))
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' unit add --db '%s' --code DC-HW --name 环卫 >/dev/null", bin,
             H.db);
    if (md_sh("%s", cmd) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' token add --db '%s' --role officer --unit DC-HW --name 张三",
             bin, H.db);
    return md_sh_first_line(cmd, officer_token, sizeof(officer_token)) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return md_harness_stop(&H) == 0 ? 0 : -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

struct form {
    char *data;
    size_t len, cap;
};

/* A part; `ctype` NULL: none. */
static void form_part(struct form *f, const char *name, const char *filename, const char *ctype,
                      const void *bytes, size_t n)
{
    char head[512];
    int h = snprintf(head, sizeof(head),
                     "--mapdTestBoundary\r\nContent-Disposition: form-data; name=\"%s\"%s%s%s\r\n"
                     "%s%s%s\r\n",
                     name, filename ? "; filename=\"" : "", filename ? filename : "",
                     filename ? "\"" : "", ctype ? "Content-Type: " : "", ctype ? ctype : "",
                     ctype ? "\r\n" : "");
    size_t need = f->len + (size_t)h + n + 64;
    if (need > f->cap) {
        f->cap = need * 2;
        f->data = realloc(f->data, f->cap);
        assert_non_null(f->data);
    }
    memcpy(f->data + f->len, head, (size_t)h);
    f->len += (size_t)h;
    memcpy(f->data + f->len, bytes, n);
    f->len += n;
    memcpy(f->data + f->len, "\r\n", 2);
    f->len += 2;
}

/* A field, or a file (sent as image/jpeg) when filename is given. */
static void form_add(struct form *f, const char *name, const char *filename, const void *bytes,
                     size_t n)
{
    form_part(f, name, filename, filename ? "image/jpeg" : NULL, bytes, n);
}

static void form_end(struct form *f)
{
    static const char close[] = "--mapdTestBoundary--\r\n";
    if (f->len + sizeof(close) > f->cap) {
        f->cap = f->len + sizeof(close) + 64;
        f->data = realloc(f->data, f->cap);
        assert_non_null(f->data);
    }
    memcpy(f->data + f->len, close, sizeof(close) - 1);
    f->len += sizeof(close) - 1;
}

/* POST the form to path; returns the status, the body JSON into *out (may
 * be NULL; Open311's error form is a JSON array). */
static long post_form_with(const char *path, struct form *f, const char *bearer, const char *header,
                           json_t **out)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer ? bearer : "");
    const char *hdrs[4] = {"Content-Type: multipart/form-data; boundary=mapdTestBoundary", NULL,
                           NULL, NULL};
    int k = 1;
    if (bearer)
        hdrs[k++] = auth;
    if (header)
        hdrs[k++] = header;
    form_end(f);
    struct md_http_res r;
    assert_int_equal(md_http(&H, "POST", path, hdrs, f->data, f->len, &r), 0);
    if (out)
        *out = json_loads(r.body, 0, NULL);
    long st = r.status;
    if (st >= 300)
        fprintf(stderr, "upload -> %ld %s\n", st, r.body);
    md_http_res_free(&r);
    free(f->data);
    memset(f, 0, sizeof(*f));
    return st;
}

static long post_form(const char *path, struct form *f, const char *bearer, json_t **out)
{
    return post_form_with(path, f, bearer, NULL, out);
}

static long upload(int64_t id, struct form *f, const char *bearer, json_t **out)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/photos", (long long)id);
    return post_form(path, f, bearer, out);
}

static json_t *call(const char *method, const char *path, const char *body, const char *bearer,
                    long *st)
{
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer ? bearer : "");
    const char *const hdrs[] = {"Content-Type: application/json", bearer ? auth : NULL, NULL};
    struct md_http_res r;
    assert_int_equal(md_http(&H, method, path, hdrs, body, body ? strlen(body) : 0, &r), 0);
    *st = r.status;
    json_t *j = json_loads(r.body, 0, NULL);
    md_http_res_free(&r);
    return j;
}

static int64_t file_report(char tok[64])
{
    long st;
    json_t *j = call("POST", "/api/v1/reports",
                     "{\"category\":\"200102\",\"lon\":116.4005,\"lat\":39.9205}", NULL, &st);
    assert_int_equal(st, 201);
    snprintf(tok, 64, "%s", json_string_value(json_object_get(j, "token")));
    int64_t id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void step(int64_t id, const char *body)
{
    char path[96];
    long st;
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/transitions", (long long)id);
    json_decref(call("POST", path, body, centre_token, &st));
    assert_int_equal(st, 200);
}

/* GET a photo; status; the bytes into a file when `save` is given. */
static long get_photo(const char *url, const char *bearer, const char *inm, const char *save,
                      char *etag, char *cache)
{
    char auth[200], ifn[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer ? bearer : "");
    snprintf(ifn, sizeof(ifn), "If-None-Match: %s", inm ? inm : "");
    const char *hdrs[3] = {NULL, NULL, NULL};
    int k = 0;
    if (bearer)
        hdrs[k++] = auth;
    if (inm)
        hdrs[k++] = ifn;
    struct md_http_res r;
    assert_int_equal(md_http(&H, "GET", url, hdrs, NULL, 0, &r), 0);
    if (etag && !md_http_header(&r, "ETag", etag, 128))
        etag[0] = '\0';
    if (cache && !md_http_header(&r, "Cache-Control", cache, 128))
        cache[0] = '\0';
    if (save && r.status == 200) {
        FILE *f = fopen(save, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(r.body, 1, r.len, f), r.len);
        fclose(f);
    }
    long st = r.status;
    md_http_res_free(&r);
    return st;
}

/* exiftool (an independent reader) finds no metadata group at all in the
 * file: no EXIF, GPS, XMP, IPTC, ICC profile, maker notes, comment, make or
 * model. */
static void assert_no_metadata(const char *file)
{
    char cmd[1200], got[64] = "";
    snprintf(cmd, sizeof(cmd),
             "exiftool -s -s -s -EXIF:all -GPS:all -XMP:all -IPTC:all -ICC_Profile:all"
             " -MakerNotes:all -Comment -Make -Model '%s' | wc -c",
             file);
    assert_true(md_sh_first_line(cmd, got, sizeof(got)));
    if (atoi(got) != 0)
        md_sh("exiftool -a -G1 '%s' >&2", file);
    assert_int_equal(atoi(got), 0);
}

static void metadata_is_stripped_and_hidden_until_accepted(void **state)
{
    (void)state;
    char tok[64], src[400], out[400], cmd[1200], got[512] = "";
    snprintf(src, sizeof(src), "%s/gps.jpg", H.dir);
    snprintf(out, sizeof(out), "%s/served.jpg", H.dir);
    /* A photo as phones write it: GPS, make and model, XMP creator, a comment. */
    assert_int_equal(md_sh("vips black '%s' 800 600 --bands 3 && exiftool -q -overwrite_original"
                           " -GPSLatitude=39.9205 -GPSLatitudeRef=N -GPSLongitude=116.4005"
                           " -GPSLongitudeRef=E -Make=TestPhone -Model=X1 -Comment=secret"
                           " -XMP-dc:Creator=someone '%s'",
                           src, src),
                     0);
    snprintf(cmd, sizeof(cmd), "exiftool -s -s -s -GPSLatitude -Make '%s' | tr '\\n' ' '", src);
    assert_true(md_sh_first_line(cmd, got, sizeof(got)));
    assert_non_null(strstr(got, "TestPhone")); /* the input does carry them */

    int64_t id = file_report(tok);
    size_t n;
    char *jpg = slurp(src, &n);
    struct form f = {0};
    form_add(&f, "token", NULL, tok, strlen(tok));
    form_add(&f, "photo", "gps.jpg", jpg, n);
    json_t *j = NULL;
    assert_int_equal(upload(id, &f, NULL, &j), 201);
    free(jpg);
    assert_false(json_is_true(json_object_get(j, "public")));
    json_t *p0 = json_array_get(json_object_get(j, "photos"), 0);
    assert_int_equal(json_integer_value(json_object_get(p0, "width")), 800);
    char url[96], thumb[96];
    snprintf(url, sizeof(url), "%s", json_string_value(json_object_get(p0, "url")));
    snprintf(thumb, sizeof(thumb), "%s", json_string_value(json_object_get(p0, "thumb_url")));
    json_decref(j);

    /* Not accepted yet: invisible to the public, in the report too; staff see it. */
    assert_int_equal(get_photo(url, NULL, NULL, NULL, NULL, NULL), 404);
    assert_int_equal(get_photo(thumb, NULL, NULL, NULL, NULL, NULL), 404);
    assert_int_equal(get_photo(url, centre_token, NULL, NULL, NULL, NULL), 200);
    char path[64];
    long st;
    snprintf(path, sizeof(path), "/api/v1/reports/%lld", (long long)id);
    j = call("GET", path, NULL, NULL, &st);
    assert_int_equal(json_array_size(json_object_get(j, "photos")), 0);
    json_decref(j);

    step(id, "{\"action\":\"accept\"}");
    char etag[128], cache[128];
    assert_int_equal(get_photo(url, NULL, NULL, out, etag, cache), 200);
    assert_true(strlen(etag) == 66 && etag[0] == '"');
    assert_non_null(strstr(cache, "max-age=31536000"));
    assert_int_equal(get_photo(url, NULL, etag, NULL, NULL, NULL), 304);
    assert_int_equal(get_photo(thumb, NULL, NULL, NULL, NULL, NULL), 200);
    j = call("GET", path, NULL, NULL, &st);
    assert_int_equal(json_array_size(json_object_get(j, "photos")), 1);
    json_decref(j);

    /* exiftool finds no metadata group at all in what is served. */
    assert_no_metadata(out);
    snprintf(cmd, sizeof(cmd), "exiftool -s -s -s -FileType -ImageWidth '%s' | tr '\\n' ' '", out);
    assert_true(md_sh_first_line(cmd, got, sizeof(got)));
    assert_string_equal(got, "JPEG 800 ");

    /* The centre removes it: 204, then gone for everyone. Officers may not. */
    char del[64];
    snprintf(del, sizeof(del), "%.*s", (int)(strlen(url) - 4), url);
    json_decref(call("DELETE", del, NULL, officer_token, &st));
    assert_int_equal(st, 403);
    json_decref(call("DELETE", del, NULL, centre_token, &st));
    assert_int_equal(st, 204);
    assert_int_equal(get_photo(url, NULL, NULL, NULL, NULL, NULL), 404);
    assert_int_equal(get_photo(url, centre_token, NULL, NULL, NULL, NULL), 404);
    json_decref(call("DELETE", del, NULL, centre_token, &st));
    assert_int_equal(st, 404);
}

static void not_an_image_is_415(void **state)
{
    (void)state;
    char tok[64];
    int64_t id = file_report(tok);
    struct form f = {0};
    form_add(&f, "token", NULL, tok, strlen(tok));
    static const char text[] = "this is not a photo, only its name ends in .jpg\n";
    form_add(&f, "photo", "holiday.jpg", text, sizeof(text) - 1);
    json_t *j = NULL;
    assert_int_equal(upload(id, &f, NULL, &j), 415);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
               "JPEG, PNG, WebP or HEIC"));
    json_decref(j);
    /* A JPEG's first bytes and then garbage: libvips refuses it too. */
    static const char fake[] = "\xff\xd8\xff\xe0 garbage that is no JPEG at all";
    form_add(&f, "token", NULL, tok, strlen(tok));
    form_add(&f, "photo", "fake.jpg", fake, sizeof(fake) - 1);
    assert_int_equal(upload(id, &f, NULL, NULL), 415);
}

static void put_chunk(unsigned char *out, size_t *len, const char *type, const unsigned char *d,
                      uint32_t n)
{
    unsigned char *p = out + *len;
    p[0] = (unsigned char)(n >> 24);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, d, n);
    uLong crc = crc32(0L, p + 4, 4 + n);
    p[8 + n] = (unsigned char)(crc >> 24);
    p[9 + n] = (unsigned char)(crc >> 16);
    p[10 + n] = (unsigned char)(crc >> 8);
    p[11 + n] = (unsigned char)crc;
    *len += 12 + n;
}

static void decompression_bomb_is_refused_from_its_header(void **state)
{
    (void)state;
    /* PNG: 50000 x 50000 grey (2.5 gigapixels), a few rows of zeros deflated. */
    unsigned char png[4096], ihdr[13] = {0}, raw[2 * 50001] = {0}, z[2048];
    size_t len = 8;
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    const uint32_t w = 50000, h = 50000;
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (unsigned char)(w >> (24 - 8 * i));
        ihdr[4 + i] = (unsigned char)(h >> (24 - 8 * i));
    }
    ihdr[8] = 8; /* bit depth; colour type 0 = grey */
    put_chunk(png, &len, "IHDR", ihdr, 13);
    uLongf zlen = sizeof(z);
    assert_int_equal(compress2(z, &zlen, raw, sizeof(raw), 9), Z_OK);
    put_chunk(png, &len, "IDAT", z, (uint32_t)zlen);
    put_chunk(png, &len, "IEND", NULL, 0);
    char tok[64];
    int64_t id = file_report(tok);
    struct form f = {0};
    form_add(&f, "token", NULL, tok, strlen(tok));
    form_add(&f, "photo", "bomb.png", png, len);
    json_t *j = NULL;
    assert_int_equal(upload(id, &f, NULL, &j), 422);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    assert_non_null(strstr(msg, "50000 x 50000"));
    json_decref(j);
    /* Still serving. */
    long st;
    json_decref(call("GET", "/health", NULL, NULL, &st));
    assert_int_equal(st, 200);
}

static void limits_and_who_may_upload(void **state)
{
    (void)state;
    char tok[64], other[64], src[400];
    int64_t id = file_report(tok);
    file_report(other);
    snprintf(src, sizeof(src), "%s/small.png", H.dir);
    assert_int_equal(md_sh("vips black '%s' 40 30", src), 0);
    size_t n;
    char *png = slurp(src, &n);
    struct form f = {0};
    /* Nobody, another report's token: 401, 403. */
    form_add(&f, "photo", "a.png", png, n);
    assert_int_equal(upload(id, &f, NULL, NULL), 401);
    form_add(&f, "token", NULL, other, strlen(other));
    form_add(&f, "photo", "a.png", png, n);
    assert_int_equal(upload(id, &f, NULL, NULL), 403);
    /* An officer's report back with photos (staff token): 3 now, then 3 more is over 5. */
    for (int i = 0; i < 3; i++)
        form_add(&f, "photo", "a.png", png, n);
    assert_int_equal(upload(id, &f, officer_token, NULL), 201);
    for (int i = 0; i < 3; i++)
        form_add(&f, "photo", "a.png", png, n);
    assert_int_equal(upload(id, &f, officer_token, NULL), 422);
    /* Over 8 MiB in one photo: 413 (the body itself is under the upload limit). */
    size_t big = (9u << 20);
    char *huge = calloc(1, big);
    assert_non_null(huge);
    memcpy(huge, "\xff\xd8\xff\xe0", 4);
    form_add(&f, "token", NULL, tok, strlen(tok));
    form_add(&f, "photo", "big.jpg", huge, big);
    assert_int_equal(upload(id, &f, NULL, NULL), 413);
    free(huge);
    free(png);
    /* Not multipart, no photo part: 415, 400. */
    long st;
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/photos", (long long)id);
    json_decref(call("POST", path, "{}", NULL, &st));
    assert_int_equal(st, 415);
    form_add(&f, "token", NULL, tok, strlen(tok));
    assert_int_equal(upload(id, &f, NULL, NULL), 400);
}

/* ---- photos in the create request itself ------------------------------ */

static const char report_json[] =
    "{\"category\":\"200102\",\"lon\":116.4005,\"lat\":39.9205,\"description\":\"with a photo\"}";

static long reports_count(void)
{
    char cmd[600], got[64] = "";
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'SELECT count(*) FROM reports'", H.db);
    assert_true(md_sh_first_line(cmd, got, sizeof(got)));
    return atol(got);
}

/* A JPEG as phones write it (GPS, make and model, XMP creator, a comment). */
static char *gps_jpeg(const char *name, size_t *n)
{
    char src[400];
    snprintf(src, sizeof(src), "%s/%s", H.dir, name);
    assert_int_equal(md_sh("vips black '%s' 640 480 --bands 3 && exiftool -q -overwrite_original"
                           " -GPSLatitude=39.9205 -GPSLatitudeRef=N -GPSLongitude=116.4005"
                           " -GPSLongitudeRef=E -Make=TestPhone -Model=X1 -Comment=secret"
                           " -XMP-dc:Creator=someone '%s'",
                           src, src),
                     0);
    return slurp(src, n);
}

static const char *error_message(json_t *j)
{
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    return m ? m : "";
}

static void create_with_a_photo_stores_both_without_metadata(void **state)
{
    (void)state;
    size_t n;
    char *jpg = gps_jpeg("create.jpg", &n);
    struct form f = {0};
    form_part(&f, "report", NULL, "application/json", report_json, strlen(report_json));
    form_add(&f, "photo", "create.jpg", jpg, n);
    free(jpg);
    json_t *j = NULL;
    long before = reports_count();
    assert_int_equal(post_form("/api/v1/reports", &f, NULL, &j), 201);
    assert_int_equal(reports_count(), before + 1);
    /* The JSON create's answer, plus photos as the photo upload gives them. */
    int64_t id = json_integer_value(json_object_get(j, "id"));
    assert_true(id > 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "reported");
    assert_non_null(json_string_value(json_object_get(j, "token")));
    assert_true(json_is_array(json_object_get(j, "duplicates")));
    json_t *photos = json_object_get(j, "photos");
    assert_int_equal(json_array_size(photos), 1);
    json_t *p0 = json_array_get(photos, 0);
    assert_int_equal(json_integer_value(json_object_get(p0, "width")), 640);
    char url[96], out[400], path[64];
    snprintf(url, sizeof(url), "%s", json_string_value(json_object_get(p0, "url")));
    json_decref(j);
    /* Moderated as any photo: hidden until accepted. */
    assert_int_equal(get_photo(url, NULL, NULL, NULL, NULL, NULL), 404);
    assert_int_equal(get_photo(url, centre_token, NULL, NULL, NULL, NULL), 200);
    long st;
    snprintf(path, sizeof(path), "/api/v1/reports/%lld/history", (long long)id);
    j = call("GET", path, NULL, NULL, &st);
    json_t *h = json_object_get(j, "history");
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "action")),
                        "photo");
    json_decref(j);
    step(id, "{\"action\":\"accept\"}");
    snprintf(out, sizeof(out), "%s/create-served.jpg", H.dir);
    assert_int_equal(get_photo(url, NULL, NULL, out, NULL, NULL), 200);
    assert_no_metadata(out);
    snprintf(path, sizeof(path), "/api/v1/reports/%lld", (long long)id);
    j = call("GET", path, NULL, NULL, &st);
    assert_int_equal(json_array_size(json_object_get(j, "photos")), 1);
    json_decref(j);
}

/* A phone's HEIC (GPS and make in its EXIF) is decoded by libvips through
 * libheif and served as a JPEG without any metadata. */
static void heic_is_taken_and_stripped(void **state)
{
    (void)state;
    size_t n;
    char *jpg = gps_jpeg("heic-src.jpg", &n);
    free(jpg);
    char src[400], heic[400], out[400], cmd[1200], got[512] = "";
    snprintf(src, sizeof(src), "%s/heic-src.jpg", H.dir);
    snprintf(heic, sizeof(heic), "%s/phone.heic", H.dir);
    assert_int_equal(md_sh("vips copy '%s' '%s'", src, heic), 0);
    snprintf(cmd, sizeof(cmd), "exiftool -s -s -s -FileType -Make '%s' | tr '\\n' ' '", heic);
    assert_true(md_sh_first_line(cmd, got, sizeof(got)));
    assert_non_null(strstr(got, "HEIC"));
    assert_non_null(strstr(got, "TestPhone")); /* the source does carry metadata */
    char *bytes = slurp(heic, &n);
    struct form f = {0};
    form_part(&f, "report", NULL, "application/json", report_json, strlen(report_json));
    form_add(&f, "photo", "phone.heic", bytes, n);
    free(bytes);
    json_t *j = NULL;
    assert_int_equal(post_form("/api/v1/reports", &f, NULL, &j), 201);
    int64_t id = json_integer_value(json_object_get(j, "id"));
    json_t *p0 = json_array_get(json_object_get(j, "photos"), 0);
    assert_int_equal(json_integer_value(json_object_get(p0, "width")), 640);
    char url[96];
    snprintf(url, sizeof(url), "%s", json_string_value(json_object_get(p0, "url")));
    json_decref(j);
    step(id, "{\"action\":\"accept\"}");
    snprintf(out, sizeof(out), "%s/heic-served.jpg", H.dir);
    assert_int_equal(get_photo(url, NULL, NULL, out, NULL, NULL), 200);
    assert_no_metadata(out);
    snprintf(cmd, sizeof(cmd), "exiftool -s -s -s -FileType '%s'", out);
    assert_true(md_sh_first_line(cmd, got, sizeof(got)));
    assert_non_null(strstr(got, "JPEG"));
}

static void create_with_a_bad_photo_stores_nothing(void **state)
{
    (void)state;
    char src[400];
    snprintf(src, sizeof(src), "%s/tiny.png", H.dir);
    assert_int_equal(md_sh("vips black '%s' 40 30", src), 0);
    size_t n;
    char *png = slurp(src, &n);
    static const char text[] = "this is not a photo, only its name ends in .jpg\n";
    long before = reports_count();
    /* A good photo, then a text file named .jpg (the report part untyped). */
    struct form f = {0};
    form_part(&f, "report", NULL, NULL, report_json, strlen(report_json));
    form_add(&f, "photo", "ok.png", png, n);
    form_add(&f, "photo", "holiday.jpg", text, sizeof(text) - 1);
    json_t *j = NULL;
    assert_int_equal(post_form("/api/v1/reports", &f, NULL, &j), 415);
    assert_non_null(strstr(error_message(j), "JPEG, PNG, WebP or HEIC"));
    json_decref(j);
    assert_int_equal(reports_count(), before);
    /* Six photos: 422, nothing stored. */
    form_part(&f, "report", NULL, NULL, report_json, strlen(report_json));
    for (int i = 0; i < 6; i++)
        form_add(&f, "photo", "ok.png", png, n);
    assert_int_equal(post_form("/api/v1/reports", &f, NULL, &j), 422);
    assert_non_null(strstr(error_message(j), "at most 5 photos"));
    json_decref(j);
    assert_int_equal(reports_count(), before);
    /* Over 8 MiB in one photo: 413, nothing stored. */
    size_t big = (9u << 20);
    char *huge = calloc(1, big);
    assert_non_null(huge);
    memcpy(huge, "\xff\xd8\xff\xe0", 4);
    form_part(&f, "report", NULL, NULL, report_json, strlen(report_json));
    form_add(&f, "photo", "big.jpg", huge, big);
    assert_int_equal(post_form("/api/v1/reports", &f, NULL, NULL), 413);
    free(huge);
    assert_int_equal(reports_count(), before);
    free(png);
}

static void create_with_a_bad_report_part_is_400(void **state)
{
    (void)state;
    char src[400];
    snprintf(src, sizeof(src), "%s/tiny2.png", H.dir);
    assert_int_equal(md_sh("vips black '%s' 40 30", src), 0);
    size_t n;
    char *png = slurp(src, &n);
    long before = reports_count();
    static const struct {
        const char *json, *ctype, *filename, *message;
    } cases[] = {
        {"{\"category\":", "application/json", NULL, "the part \"report\" is not valid JSON"},
        {"[1,2]", NULL, NULL, "the part \"report\" must be a JSON object"},
        {"{\"category\":\"200102\",\"lon\":116.4,\"lat\":39.92,\"colour\":1}", NULL, NULL,
         "unknown field 'colour'"},
        {"{\"category\":\"200102\",\"lon\":116.4}", NULL, NULL, "lat is required"},
        {report_json, "text/plain", NULL, "must be JSON text"},
        {report_json, "application/json", "report.json", "not a file"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct form f = {0};
        form_part(&f, "report", cases[i].filename, cases[i].ctype, cases[i].json,
                  strlen(cases[i].json));
        form_add(&f, "photo", "ok.png", png, n);
        json_t *j = NULL;
        assert_int_equal(post_form("/api/v1/reports", &f, NULL, &j), 400);
        if (!strstr(error_message(j), cases[i].message))
            fail_msg("case %zu: '%s' lacks '%s'", i, error_message(j), cases[i].message);
        json_decref(j);
    }
    /* No report part; no photo part. */
    struct form f = {0};
    form_add(&f, "photo", "ok.png", png, n);
    json_t *j = NULL;
    assert_int_equal(post_form("/api/v1/reports", &f, NULL, &j), 400);
    assert_non_null(strstr(error_message(j), "needs a part \"report\""));
    json_decref(j);
    form_part(&f, "report", NULL, NULL, report_json, strlen(report_json));
    assert_int_equal(post_form("/api/v1/reports", &f, NULL, &j), 400);
    assert_non_null(strstr(error_message(j), "no part named \"photo\""));
    json_decref(j);
    assert_int_equal(reports_count(), before);
    free(png);
}

/* A form any site could make a browser send: taken only from this site's pages. */
static void create_from_another_site_is_403(void **state)
{
    (void)state;
    char src[400], origin[128];
    snprintf(src, sizeof(src), "%s/tiny3.png", H.dir);
    assert_int_equal(md_sh("vips black '%s' 40 30", src), 0);
    size_t n;
    char *png = slurp(src, &n);
    long before = reports_count();
    struct form f = {0};
    form_part(&f, "report", NULL, NULL, report_json, strlen(report_json));
    form_add(&f, "photo", "ok.png", png, n);
    json_t *j = NULL;
    assert_int_equal(
        post_form_with("/api/v1/reports", &f, NULL, "Origin: https://elsewhere.example", &j), 403);
    assert_non_null(strstr(error_message(j), "only from this site"));
    json_decref(j);
    assert_int_equal(reports_count(), before);
    snprintf(origin, sizeof(origin), "Origin: %s", H.base); /* this site's page */
    form_part(&f, "report", NULL, NULL, report_json, strlen(report_json));
    form_add(&f, "photo", "ok.png", png, n);
    assert_int_equal(post_form_with("/api/v1/reports", &f, NULL, origin, NULL), 201);
    assert_int_equal(reports_count(), before + 1);
    free(png);
}

/* Open311 fields as multipart parts, the media file last. */
static void o311_fields(struct form *f, const char *service_code)
{
    const char *const fields[][2] = {{"api_key", app_token},
                                     {"service_code", service_code},
                                     {"lat", "39.9205"},
                                     {"long", "116.4005"},
                                     {"description", "垃圾 with a photo"}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        form_add(f, fields[i][0], NULL, fields[i][1], strlen(fields[i][1]));
}

static void open311_media_upload(void **state)
{
    (void)state;
    size_t n;
    char *jpg = gps_jpeg("o311.jpg", &n);
    struct form f = {0};
    o311_fields(&f, "200102");
    form_add(&f, "media", "o311.jpg", jpg, n);
    free(jpg);
    json_t *j = NULL;
    assert_int_equal(post_form("/open311/v2/requests.json", &f, NULL, &j), 201);
    const char *sid =
        json_string_value(json_object_get(json_array_get(j, 0), "service_request_id"));
    assert_non_null(sid);
    char path[96], want[160];
    int64_t id = strtoll(sid, NULL, 10);
    json_decref(j);
    /* media_url: empty until the centre accepts, then the photo on this server. */
    long st;
    snprintf(path, sizeof(path), "/open311/v2/requests/%lld.json", (long long)id);
    j = call("GET", path, NULL, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "media_url")), "");
    json_decref(j);
    step(id, "{\"action\":\"accept\"}");
    j = call("GET", path, NULL, NULL, &st);
    const char *media = json_string_value(json_object_get(json_array_get(j, 0), "media_url"));
    assert_non_null(media);
    snprintf(want, sizeof(want), "%s/api/v1/photos/", H.base);
    if (strncmp(media, want, strlen(want)) != 0 || !strstr(media, ".jpg"))
        fail_msg("media_url %s is not a photo of %s", media, H.base);
    assert_int_equal(get_photo(media + strlen(H.base), NULL, NULL, NULL, NULL, NULL), 200);
    json_decref(j);
    /* XML too. */
    f = (struct form){0};
    o311_fields(&f, "200102");
    jpg = gps_jpeg("o311b.jpg", &n);
    form_add(&f, "media", "o311b.jpg", jpg, n);
    free(jpg);
    assert_int_equal(post_form("/open311/v2/requests.xml", &f, NULL, NULL), 201);
}

static void open311_bad_media_in_open311_form(void **state)
{
    (void)state;
    long before = reports_count();
    static const char text[] = "not a photo at all\n";
    struct form f = {0};
    o311_fields(&f, "200102");
    form_add(&f, "media", "fake.jpg", text, sizeof(text) - 1);
    json_t *j = NULL;
    assert_int_equal(post_form("/open311/v2/requests.json", &f, NULL, &j), 400);
    json_t *e = json_array_get(j, 0);
    assert_int_equal(json_integer_value(json_object_get(e, "code")), 400);
    assert_non_null(
        strstr(json_string_value(json_object_get(e, "description")), "JPEG, PNG, WebP or HEIC"));
    json_decref(j);
    /* In Chinese with the form's locale. */
    o311_fields(&f, "200102");
    form_add(&f, "locale", NULL, "zh", 2);
    form_add(&f, "media", "fake.jpg", text, sizeof(text) - 1);
    assert_int_equal(post_form("/open311/v2/requests.json", &f, NULL, &j), 400);
    e = json_array_get(j, 0);
    assert_non_null(strstr(json_string_value(json_object_get(e, "description")), "照片必须是"));
    json_decref(j);
    /* A bad field of a multipart POST: Open311's form too. */
    o311_fields(&f, "20010x");
    assert_int_equal(post_form("/open311/v2/requests.json", &f, NULL, &j), 400);
    e = json_array_get(j, 0);
    assert_non_null(strstr(json_string_value(json_object_get(e, "description")), "6-digit"));
    json_decref(j);
    assert_int_equal(reports_count(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metadata_is_stripped_and_hidden_until_accepted),
        cmocka_unit_test(not_an_image_is_415),
        cmocka_unit_test(decompression_bomb_is_refused_from_its_header),
        cmocka_unit_test(limits_and_who_may_upload),
        cmocka_unit_test(create_with_a_photo_stores_both_without_metadata),
        cmocka_unit_test(heic_is_taken_and_stripped),
        cmocka_unit_test(create_with_a_bad_photo_stores_nothing),
        cmocka_unit_test(create_with_a_bad_report_part_is_400),
        cmocka_unit_test(create_from_another_site_is_403),
        cmocka_unit_test(open311_media_upload),
        cmocka_unit_test(open311_bad_media_in_open311_form),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
