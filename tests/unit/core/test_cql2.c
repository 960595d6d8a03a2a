/* test_cql2.c - the CQL2 text parser (md_cql2.h): the examples of OGC 21-065
 * (CQL2) for the operators implemented, the trees they give, and errors that
 * name the position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "md_cql2.h"

static struct md_pool *pool;
static struct md_ctx ctx;

static struct md_cql_node *parse_ok(const char *text)
{
    struct md_cql_node *n = NULL;
    md_ctx_init(&ctx);
    md_err rc = md_cql2_parse(text, strlen(text), 0, pool, &n, &ctx);
    if (rc)
        fail_msg("'%s': %s", text, ctx.msg);
    assert_non_null(n);
    return n;
}

static const char *parse_err(const char *text)
{
    struct md_cql_node *n = NULL;
    md_ctx_init(&ctx);
    assert_int_not_equal(md_cql2_parse(text, strlen(text), 0, pool, &n, &ctx), MD_OK);
    assert_null(n);
    return ctx.msg;
}

static int setup(void **state)
{
    (void)state;
    pool = md_pool_new(8 << 20);
    return pool ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    md_pool_free(pool);
    return 0;
}

/* Spec examples (basic CQL2): city='Toronto', NOT, IS NULL, comparisons of dates. */
static void basic_examples(void **state)
{
    (void)state;
    struct md_cql_node *n = parse_ok("city='Toronto'");
    assert_int_equal(n->kind, MD_CQL_CMP);
    assert_string_equal(n->prop, "city");
    assert_int_equal(n->op, MD_CQL_EQ);
    assert_int_equal(n->values[0].type, MD_CQL_STRING);
    assert_string_equal(n->values[0].string, "Toronto");

    n = parse_ok("NOT (floors > 5)");
    assert_int_equal(n->kind, MD_CQL_NOT);
    assert_int_equal(n->a->kind, MD_CQL_CMP);
    assert_int_equal(n->a->op, MD_CQL_GT);
    assert_true(n->a->values[0].number == 5);

    n = parse_ok("geometry IS NOT NULL");
    assert_int_equal(n->kind, MD_CQL_ISNULL);
    assert_true(n->negated);

    n = parse_ok("updated >= date('1970-01-01')");
    assert_int_equal(n->values[0].type, MD_CQL_DATE);
    assert_int_equal(n->values[0].time, 0);
    assert_int_equal(n->values[0].time_end, 86399);

    n = parse_ok("updated > TIMESTAMP('1970-01-02T00:00:01Z')");
    assert_int_equal(n->values[0].type, MD_CQL_TIMESTAMP);
    assert_int_equal(n->values[0].time, 86401);

    n = parse_ok("name <> 'O''Neill'"); /* '' is a quote */
    assert_int_equal(n->op, MD_CQL_NE);
    assert_string_equal(n->values[0].string, "O'Neill");

    n = parse_ok("\"name\" = 'x'");
    assert_string_equal(n->prop, "name");
}

/* AND binds tighter than OR; parentheses; keywords in any case. */
static void precedence(void **state)
{
    (void)state;
    struct md_cql_node *n = parse_ok("a = 1 or b = 2 AND c = 3");
    assert_int_equal(n->kind, MD_CQL_OR);
    assert_int_equal(n->b->kind, MD_CQL_AND);
    n = parse_ok("(a = 1 OR b = 2) and c = 3");
    assert_int_equal(n->kind, MD_CQL_AND);
    assert_int_equal(n->a->kind, MD_CQL_OR);
    n = parse_ok("TRUE AND NOT FALSE");
    assert_int_equal(n->a->kind, MD_CQL_BOOL);
    assert_true(n->a->boolean);
    assert_false(n->b->a->boolean);
}

/* Advanced comparison operators: LIKE, BETWEEN, IN (spec examples). */
static void advanced_comparison(void **state)
{
    (void)state;
    struct md_cql_node *n = parse_ok("name LIKE 'Smith%'");
    assert_int_equal(n->kind, MD_CQL_LIKE);
    assert_string_equal(n->values[0].string, "Smith%");
    n = parse_ok("name NOT LIKE 'Sm_th'");
    assert_true(n->negated);

    n = parse_ok("depth BETWEEN 100.0 AND 150.0");
    assert_int_equal(n->kind, MD_CQL_BETWEEN);
    assert_true(n->values[0].number == 100.0 && n->values[1].number == 150.0);

    n = parse_ok("cityName IN ('Toronto','Frankfurt','Tokyo','New York')");
    assert_int_equal(n->kind, MD_CQL_IN);
    assert_int_equal(n->nvalues, 4);
    assert_string_equal(n->values[3].string, "New York");
    n = parse_ok("category NOT IN (1, 2, 3)");
    assert_true(n->negated);
    assert_true(n->values[2].number == 3);
}

/* Spatial: S_INTERSECTS with POINT, BBOX (4 and 6 numbers, spec example 45), POLYGON. */
static void spatial(void **state)
{
    (void)state;
    struct md_cql_node *n = parse_ok("S_INTERSECTS(geometry,POINT(36.319836 32.288087))");
    assert_int_equal(n->kind, MD_CQL_SPATIAL);
    assert_int_equal(n->geom.type, MD_CQL_GEOM_POINT);
    assert_true(n->geom.minx == 36.319836 && n->geom.maxy == 32.288087);

    n = parse_ok(
        "S_INTERSECTS(\"geometry\", BBOX(-128.098193, -1.1, -99999.0, 180.0, 90.0, 100000.0))");
    assert_int_equal(n->geom.type, MD_CQL_GEOM_BBOX);
    assert_true(n->geom.minx == -128.098193 && n->geom.miny == -1.1);
    assert_true(n->geom.maxx == 180.0 && n->geom.maxy == 90.0);

    n = parse_ok(
        "s_intersects(geometry, POLYGON((116.3 39.9, 116.5 39.9, 116.5 40.0, 116.3 39.9)))");
    assert_int_equal(n->geom.type, MD_CQL_GEOM_POLYGON);
    assert_int_equal(n->geom.ncoords, 4);
    assert_string_equal(n->geom.wkt, "POLYGON((116.3 39.899999999999999,116.5 39.899999999999999,"
                                     "116.5 40,116.3 39.899999999999999))");
    n = parse_ok(
        "S_INTERSECTS(geometry, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((2 2, 3 2, 3 3, 2 2))))");
    assert_int_equal(n->geom.npolygons, 2);
    assert_true(n->geom.maxx == 3);

    assert_non_null(strstr(parse_err("S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1)))"),
                           "4 or more positions"));
    assert_non_null(strstr(parse_err("S_INTERSECTS(geometry, BBOX(1,2,3))"), "4 or 6 numbers"));
    assert_non_null(strstr(parse_err("S_INTERSECTS(geometry, POINT(200 0))"), "outside"));
}

/* Temporal: the spec's T_INTERSECTS example (clause 7.12), open intervals, instants. */
static void temporal(void **state)
{
    (void)state;
    struct md_cql_node *n = parse_ok(
        "T_INTERSECTS(event_time, INTERVAL('1969-07-16T05:32:00Z', '1969-07-24T16:50:35Z'))");
    assert_int_equal(n->kind, MD_CQL_TEMPORAL);
    assert_int_equal(n->top, MD_CQL_T_INTERSECTS);
    assert_true(n->has_from && n->has_to);
    assert_int_equal(n->from, -14581680);
    assert_int_equal(n->to, -13849765);
    n = parse_ok("T_INTERSECTS(created_at, INTERVAL('..', DATE('1970-01-01')))");
    assert_false(n->has_from);
    assert_int_equal(n->to, 86399);
    n = parse_ok("T_BEFORE(created_at, TIMESTAMP('1970-01-01T00:01:00Z'))");
    assert_int_equal(n->top, MD_CQL_T_BEFORE);
    assert_int_equal(n->from, 60);
    assert_non_null(strstr(parse_err("T_INTERSECTS(t, INTERVAL('2001-01-02', '2001-01-01'))"),
                           "ends before it starts"));
}

/* Errors name the 1-based position and what was expected. */
static void errors_name_the_position(void **state)
{
    (void)state;
    assert_non_null(strstr(parse_err("status == 'x'"), "position 9"));
    assert_non_null(strstr(parse_err("status = 'closed' AND"), "position 22 (end of text)"));
    assert_non_null(strstr(parse_err("status = 'closed"), "string not closed at position 10"));
    assert_non_null(strstr(parse_err("a = 1 b = 2"), "expected AND, OR or the end"));
    assert_non_null(strstr(parse_err("a NOT = 1"), "after NOT"));
    assert_non_null(strstr(parse_err("created_at > DATE('2020-13-01')"), "date YYYY-MM-DD"));
    assert_non_null(strstr(parse_err("   "), "empty"));
    assert_non_null(strstr(parse_err("a BETWEEN 1 2"), "AND in BETWEEN"));
}

/* Limits: deep nesting and long lists are refused, not a stack overflow. */
static void limits(void **state)
{
    (void)state;
    char deep[4096];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        deep[n++] = '(';
    memcpy(deep + n, "a=1", 3);
    n += 3;
    for (int i = 0; i < 200; i++)
        deep[n++] = ')';
    deep[n] = '\0';
    assert_non_null(strstr(parse_err(deep), "nested deeper"));
    n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "NOT ");
    snprintf(deep + n, sizeof(deep) - n, "a=1");
    assert_non_null(strstr(parse_err(deep), "nested deeper"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic_examples),
        cmocka_unit_test(precedence),
        cmocka_unit_test(advanced_comparison),
        cmocka_unit_test(spatial),
        cmocka_unit_test(temporal),
        cmocka_unit_test(errors_name_the_position),
        cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
