/* test_idempotency.c - Idempotency-Key records (store/domain/idempotency)
 * and the writer that records them with their report (write/ingest): a
 * record reads back; a live key is refused (MD_ECONFLICT) and an expired
 * one replaced; the prune deletes only expired records; through the
 * writer, a key recorded once fails its second ticket and writes no
 * second report, and the recorded answer is the one the ticket gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "idempotency.h"
#include "ingest.h"
#include "md_time.h"
#include "unit_store.h"

static struct md_idem_new key_of(const char *scope, const char *key, const char *fp)
{
    struct md_idem_new k = {0};
    snprintf(k.scope, sizeof(k.scope), "%s", scope);
    snprintf(k.key, sizeof(k.key), "%s", key);
    snprintf(k.fingerprint, sizeof(k.fingerprint), "%s", fp);
    return k;
}

static void put_get_conflict_expire_prune(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("idem");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_idem_new k = key_of("POST /api/v1/reports anonymous", "k1", "aa");
    struct md_idem_answer a = {.status = 201, .content_type = "application/json",
                               .body = "{\"id\":7}"};
    int64_t t0 = 1000000;
    assert_int_equal(md_idem_put(s, &k, 7, &a, t0, &ctx), MD_OK);
    struct md_idem_row row;
    assert_int_equal(md_idem_get(s, k.scope, "k1", t0 + 10, &row, &ctx), MD_OK);
    assert_string_equal(row.fingerprint, "aa");
    assert_int_equal(row.report_id, 7);
    assert_int_equal(row.answer.status, 201);
    assert_string_equal(row.answer.content_type, "application/json");
    assert_string_equal(row.answer.body, "{\"id\":7}");
    md_idem_row_clear(&row);
    /* another caller's scope does not see it */
    assert_int_equal(md_idem_get(s, "POST /api/v1/reports token:1", "k1", t0, &row, &ctx),
                     MD_ENOTFOUND);
    md_ctx_init(&ctx);
    /* a live key: the primary key refuses it */
    assert_int_equal(md_idem_put(s, &k, 8, &a, t0 + 5, &ctx), MD_ECONFLICT);
    assert_non_null(strstr(md_ctx_message(&ctx), "Idempotency-Key"));
    md_ctx_init(&ctx);
    /* expired: not read back, and replaced by a new record */
    int64_t later = t0 + MD_IDEM_TTL_S;
    assert_int_equal(md_idem_get(s, k.scope, "k1", later, &row, &ctx), MD_ENOTFOUND);
    md_ctx_init(&ctx);
    struct md_idem_new k2 = key_of("POST /api/v1/reports anonymous", "k2", "bb");
    assert_int_equal(md_idem_put(s, &k2, 9, &a, t0 + 100, &ctx), MD_OK);
    assert_int_equal(md_idem_put(s, &k, 8, &a, later, &ctx), MD_OK);
    assert_int_equal(md_idem_get(s, k.scope, "k1", later, &row, &ctx), MD_OK);
    assert_int_equal(row.report_id, 8);
    md_idem_row_clear(&row);
    /* the prune: k2 (t0 + 100) has expired at later + 100, k1 (later) not */
    int64_t deleted = -1;
    assert_int_equal(md_idem_prune(s, later + 100, &deleted, &ctx), MD_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(md_idem_get(s, k.scope, "k1", later + 100, &row, &ctx), MD_OK);
    md_idem_row_clear(&row);
    unit_store_drop(s);
}

static int renders, frees;

static md_err render(const void *arg, const struct md_report_created *cr,
                     struct md_idem_answer *out)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "{\"id\":%lld,\"tag\":\"%s\"}", (long long)cr->id,
             (const char *)arg);
    out->status = 201;
    snprintf(out->content_type, sizeof(out->content_type), "application/json");
    out->body = strdup(buf);
    renders++;
    return out->body ? MD_OK : MD_ENOMEM;
}

static void free_arg(void *arg)
{
    free(arg);
    frees++;
}

static int64_t count(struct md_store *s, const char *sql)
{
    int64_t n = -1;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_store_scalar(s, sql, &n, &ctx), MD_OK);
    return n;
}

/* Submit keyed, wait; the ticket's result and answer. */
static md_err keyed_create(struct md_ingest *g, const struct md_report_input *in,
                           const char *tag, struct md_idem_answer *answer, int64_t *id)
{
    struct md_idem_new k = key_of("POST /api/v1/reports anonymous", "w1", "ff");
    k.render = render;
    k.render_arg = strdup(tag);
    k.render_free = free_arg;
    struct md_ingest_ticket *t = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_err rc = md_ingest_submit_keyed(g, in, &k, &t, &ctx);
    assert_int_equal(rc, MD_OK);
    md_err err = MD_OK;
    struct md_report_created cr;
    for (int i = 0; i < 5000 && !md_ingest_ticket_done(t, &err, &cr, &ctx); i++)
        usleep(1000);
    assert_true(md_ingest_ticket_done(t, &err, &cr, &ctx));
    answer->body = NULL;
    if (!err) {
        *id = cr.id;
        assert_true(md_ingest_ticket_answer(t, answer));
        assert_false(md_ingest_ticket_answer(t, answer + 1)); /* taken once */
    }
    md_ingest_ticket_free(t);
    return err;
}

static void writer_records_key_with_report(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("idemw");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_ingest *g = NULL;
    assert_int_equal(md_ingest_start(md_store_path(s), 480, 0, NULL, NULL, &g, &ctx), MD_OK);
    struct md_report_input in = {.kind = "problem", .service_code = "200102",
                                 .description = "idem", .lon = 116.397, .lat = 39.909,
                                 .district = "110101", .channel = "app",
                                 .actor_role = MD_ROLE_PUBLIC, .actor_id = "anonymous"};
    int64_t before = count(s, "SELECT count(*) FROM reports");
    struct md_idem_answer a[2], b[2];
    int64_t id = 0, id2 = 0;
    renders = frees = 0;
    assert_int_equal(keyed_create(g, &in, "first", a, &id), MD_OK);
    char want[64];
    snprintf(want, sizeof(want), "{\"id\":%lld,\"tag\":\"first\"}", (long long)id);
    assert_string_equal(a[0].body, want);
    assert_int_equal(keyed_create(g, &in, "second", b, &id2), MD_ECONFLICT);
    assert_int_equal(count(s, "SELECT count(*) FROM reports"), before + 1);
    assert_int_equal(count(s, "SELECT count(*) FROM idempotency_keys"), 1);
    struct md_idem_row row;
    assert_int_equal(md_idem_get(s, "POST /api/v1/reports anonymous", "w1", md_time_now(), &row,
                                 &ctx),
                     MD_OK);
    assert_string_equal(row.answer.body, want);
    assert_int_equal(row.report_id, id);
    md_idem_row_clear(&row);
    free(a[0].body);
    md_ingest_stop(g);
    assert_int_equal(renders, 2);
    assert_int_equal(frees, 2); /* each render argument freed once, by the writer's side */
    unit_store_drop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_conflict_expire_prune),
        cmocka_unit_test(writer_records_key_with_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
