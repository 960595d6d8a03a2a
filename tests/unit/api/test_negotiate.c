/* negotiate: the Accept-Encoding and If-None-Match grammars, which answers
 * are compressed (types, threshold, files and tiles left alone), that a
 * gzip'd body inflates to the original, and the ETag/304 per representation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "negotiate.h"

static void accept_encoding_grammar(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        bool gzip;
    } cases[] = {
        {NULL, false},
        {"", false},
        {"gzip", true},
        {"GZip", true},
        {"x-gzip", true},
        {"gzip;q=0", false},
        {"gzip;q=0.", false},
        {"gzip;q=0.000", false},
        {"gzip;q=0.001", true},
        {"gzip ; q=1.000", true},
        {"gzip;q=1.001", false},
        {"gzip;q=2", false},
        {"gzip;q=0.5x", false},
        {"gzip;q=", false},
        {"gzip;q=.5", false},
        {"gzip;q=0.0001", false},
        {"gzip;Q=0.5", true},
        {"deflate, br", false},
        {"gzipx", false},
        {"identity", false},
        {"*", true},
        {"*;q=0", false},
        {"br, *;q=0.2", true},
        {"gzip;q=0, *", false},
        {"*, gzip;q=0", false},
        {"identity;q=1, *;q=0", false},
        {"gzip;q=0, gzip;q=0.5", true},
        {"deflate,gzip", true},
        {" ,, gzip ,", true},
        {"gzip;level=9;q=0", false},
        {"gzip;q=0;level=9", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (md_negotiate_accepts_gzip(cases[i].value) != cases[i].gzip)
            fail_msg("Accept-Encoding \"%s\": want %s", cases[i].value ? cases[i].value : "(none)",
                     cases[i].gzip ? "gzip" : "no gzip");
    }
}

static void if_none_match_grammar(void **state)
{
    (void)state;
    const char *tag = "\"abc\"";
    assert_false(md_negotiate_etag_matches(NULL, tag));
    assert_false(md_negotiate_etag_matches("", tag));
    assert_true(md_negotiate_etag_matches("\"abc\"", tag));
    assert_true(md_negotiate_etag_matches("W/\"abc\"", tag));
    assert_true(md_negotiate_etag_matches("\"abc\"", "W/\"abc\""));
    assert_true(md_negotiate_etag_matches("\"x\", \"abc\"", tag));
    assert_true(md_negotiate_etag_matches(" \"x\" ,W/\"abc\" ", tag));
    assert_true(md_negotiate_etag_matches("*", tag));
    assert_true(md_negotiate_etag_matches(" * ", tag));
    assert_false(md_negotiate_etag_matches("*, \"x\"", tag));
    assert_false(md_negotiate_etag_matches("\"abcd\"", tag));
    assert_false(md_negotiate_etag_matches("\"ab\"", tag));
    assert_false(md_negotiate_etag_matches("abc", tag));
    assert_false(md_negotiate_etag_matches("\"abc", tag));
    assert_false(md_negotiate_etag_matches("\"abc-gz\"", tag));
    assert_false(md_negotiate_etag_matches("\"x\"junk, \"abc\"", tag));
}

struct answer {
    struct md_pool *pool;
    struct md_kv headers[2];
    struct md_request req;
    struct md_response res;
};

static void answer_init(struct answer *a, const char *ae, const char *inm, const char *type,
                        size_t body_len)
{
    memset(a, 0, sizeof(*a));
    a->pool = md_pool_new(1 << 20);
    assert_non_null(a->pool);
    size_t n = 0;
    if (ae)
        a->headers[n++] = (struct md_kv){"Accept-Encoding", ae};
    if (inm)
        a->headers[n++] = (struct md_kv){"If-None-Match", inm};
    a->req = (struct md_request){
        .method = "GET", .path = "/x", .headers = a->headers, .nheaders = n, .pool = a->pool};
    md_response_init(&a->res);
    a->res.content_type = type;
    for (size_t i = 0; i < body_len; i++)
        assert_int_equal(md_buf_printf(&a->res.body, "%c", "{\"a\":[1,2,3]}"[i % 13]), MD_OK);
}

static void answer_free(struct answer *a)
{
    md_response_free(&a->res);
    md_pool_free(a->pool);
}

static const char *header(const struct md_response *res, const char *name)
{
    for (size_t i = 0; i < res->nheaders; i++) {
        if (strcmp(res->headers[i].key, name) == 0)
            return res->headers[i].value;
    }
    return NULL;
}

static void check_inflates(const struct md_buf *gz, size_t want_len)
{
    unsigned char *out = malloc(want_len + 16);
    assert_non_null(out);
    uLongf got = (uLongf)want_len + 16;
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)gz->data;
    zs.avail_in = (uInt)gz->len;
    zs.next_out = out;
    zs.avail_out = (uInt)got;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, want_len);
    for (size_t i = 0; i < want_len; i++)
        assert_int_equal(out[i], (unsigned char)"{\"a\":[1,2,3]}"[i % 13]);
    inflateEnd(&zs);
    free(out);
}

static void compresses_text_types_above_the_threshold(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        bool compress;
    } types[] = {
        {"application/json", true},
        {"application/geo+json", true},
        {"application/schema+json", true},
        {"text/csv; charset=utf-8", true},
        {"application/xml", true},
        {"text/xml; charset=utf-8", true},
        {"application/vnd.mapbox-vector-tile", false},
        {"image/png", false},
        {"text/event-stream", false},
        {NULL, false},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct answer a;
        answer_init(&a, "gzip", NULL, types[i].type, 5000);
        md_negotiate_response(&a.req, &a.res, false);
        const char *ce = header(&a.res, "Content-Encoding");
        if ((ce != NULL) != types[i].compress)
            fail_msg("%s: compressed %d", types[i].type ? types[i].type : "(none)", ce != NULL);
        if (ce) {
            assert_string_equal(ce, "gzip");
            assert_string_equal(header(&a.res, "Vary"), "Accept-Encoding");
            assert_true(a.res.body.len < 500);
            check_inflates(&a.res.body, 5000);
        }
        assert_null(header(&a.res, "ETag")); /* not asked to validate */
        answer_free(&a);
    }
    struct answer small;
    answer_init(&small, "gzip", NULL, "application/json", MD_NEGOTIATE_GZIP_MIN_BYTES - 1);
    md_negotiate_response(&small.req, &small.res, false);
    assert_null(header(&small.res, "Content-Encoding"));
    assert_null(header(&small.res, "Vary"));
    assert_int_equal(small.res.body.len, MD_NEGOTIATE_GZIP_MIN_BYTES - 1);
    answer_free(&small);
    struct answer refused;
    answer_init(&refused, "gzip;q=0, *", NULL, "application/json", 5000);
    md_negotiate_response(&refused.req, &refused.res, false);
    assert_null(header(&refused.res, "Content-Encoding"));
    assert_string_equal(header(&refused.res, "Vary"), "Accept-Encoding");
    assert_int_equal(refused.res.body.len, 5000);
    answer_free(&refused);
}

static void leaves_coded_answers_alone(void **state)
{
    (void)state;
    struct answer a;
    answer_init(&a, "gzip", NULL, "application/json", 5000);
    assert_int_equal(md_response_header(&a.res, NULL, "Content-Encoding", "gzip"), MD_OK);
    md_negotiate_response(&a.req, &a.res, true);
    assert_int_equal(a.res.body.len, 5000);
    assert_int_equal(a.res.nheaders, 1);
    answer_free(&a);
    answer_init(&a, "gzip", NULL, "application/json", 5000);
    a.res.status = 204;
    md_negotiate_response(&a.req, &a.res, true);
    assert_int_equal(a.res.nheaders, 0);
    answer_free(&a);
}

static void etag_and_304_per_representation(void **state)
{
    (void)state;
    struct answer plain, gz;
    answer_init(&plain, NULL, NULL, "application/json", 3000);
    md_negotiate_response(&plain.req, &plain.res, true);
    const char *tag = header(&plain.res, "ETag");
    assert_non_null(tag);
    assert_int_equal(strlen(tag), 34);
    answer_init(&gz, "gzip", NULL, "application/json", 3000);
    md_negotiate_response(&gz.req, &gz.res, true);
    const char *gz_tag = header(&gz.res, "ETag");
    assert_non_null(gz_tag);
    assert_int_equal(strncmp(tag, gz_tag, 33), 0);
    assert_string_equal(gz_tag + 33, "-gz\"");

    struct answer again;
    answer_init(&again, NULL, tag, "application/json", 3000);
    md_negotiate_response(&again.req, &again.res, true);
    assert_int_equal(again.res.status, 304);
    assert_int_equal(again.res.body.len, 0);
    assert_string_equal(header(&again.res, "ETag"), tag);
    answer_free(&again);
    answer_init(&again, "gzip", gz_tag, "application/json", 3000);
    md_negotiate_response(&again.req, &again.res, true);
    assert_int_equal(again.res.status, 304);
    assert_null(header(&again.res, "Content-Encoding"));
    answer_free(&again);
    answer_init(&again, "gzip", tag, "application/json", 3000); /* identity tag, gzip client */
    md_negotiate_response(&again.req, &again.res, true);
    assert_int_equal(again.res.status, 200);
    assert_string_equal(header(&again.res, "Content-Encoding"), "gzip");
    answer_free(&again);
    answer_init(&again, NULL, tag, "application/json", 3001); /* other bytes */
    md_negotiate_response(&again.req, &again.res, true);
    assert_int_equal(again.res.status, 200);
    answer_free(&again);
    answer_init(&again, NULL, tag, "application/json", 3000); /* an error is not validated */
    again.res.status = 404;
    md_negotiate_response(&again.req, &again.res, true);
    assert_int_equal(again.res.status, 404);
    assert_null(header(&again.res, "ETag"));
    answer_free(&again);
    answer_free(&plain);
    answer_free(&gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_encoding_grammar),
        cmocka_unit_test(if_none_match_grammar),
        cmocka_unit_test(compresses_text_types_above_the_threshold),
        cmocka_unit_test(leaves_coded_answers_alone),
        cmocka_unit_test(etag_and_304_per_representation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
