/* store/address: address_string looked up in the database's own names -
 * facility name, facility address, district (zh, short zh, with the city
 * before it, English), a street of the facility addresses in one district,
 * a district named inside a longer address - and what is not found, not
 * unique, or a database error. Real SpatiaLite file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "store.h"
#include "store_int.h"
#include "unit_store.h"

static struct md_store *city(const char *name)
{
    struct md_store *s = unit_store_fresh(name);
    static const char *const sql[] = {
        "INSERT INTO districts(code, name, name_en, label_lon, label_lat, updated_at, geom) VALUES"
        " ('110101', '东城区', 'Dongcheng', 116.41, 39.93, 0, CastToMulti(GeomFromText("
        "'POLYGON((116.38 39.85, 116.45 39.85, 116.45 39.97, 116.38 39.97, 116.38 39.85))', "
        "4326))),"
        " ('110105', '朝阳区', 'Chaoyang', NULL, NULL, 0, CastToMulti(GeomFromText("
        "'POLYGON((116.45 39.85, 116.60 39.85, 116.60 39.97, 116.45 39.97, 116.45 39.85))', "
        "4326)))",
        "INSERT INTO facilities(id, category, name, address, district_code, status, updated_at,"
        " lon, lat, geom) VALUES"
        " (1, 'market', '东四菜市场', '北京市东城区东四北大街10号', '110101', 'open', 0, 116.417, "
        "39.93,"
        "  MakePoint(116.417, 39.93, 4326)),"
        " (2, 'toilet', '公共厕所', '北京市东城区东四北大街20号', '110101', 'open', 0, 116.418, "
        "39.94,"
        "  MakePoint(116.418, 39.94, 4326)),"
        " (3, 'toilet', '公共厕所', '北京市朝阳区京顺路5号', '110105', 'open', 0, 116.50, 39.95,"
        "  MakePoint(116.50, 39.95, 4326)),"
        " (4, 'market', '三元里市场', '北京市朝阳区京顺路5号', '110105', 'open', 0, 116.51, 39.96,"
        "  MakePoint(116.51, 39.96, 4326)),"
        " (5, 'market', '建国门市场', '北京市朝阳区建国路1号', '110105', 'open', 0, 116.46, 39.90,"
        "  MakePoint(116.46, 39.90, 4326)),"
        " (6, 'market', '建国路市场', '北京市东城区建国路9号', '110101', 'open', 0, 116.44, 39.90,"
        "  MakePoint(116.44, 39.90, 4326))",
    };
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
        unit_exec(s, sql[i]);
    return s;
}

static struct md_address_hit look(struct md_store *s, const char *text)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_address_hit hit;
    if (md_address_lookup(s, text, &hit, &ctx))
        fail_msg("%s: %s", text, md_ctx_message(&ctx));
    return hit;
}

static void facilities_by_unique_name_or_address(void **state)
{
    (void)state;
    struct md_store *s = city("address_facility");
    struct md_address_hit h = look(s, "东四菜市场");
    assert_int_equal(h.match, MD_ADDRESS_FACILITY_NAME);
    assert_int_equal(h.facility_id, 1);
    assert_float_equal(h.lon, 116.417, 1e-9);
    assert_float_equal(h.lat, 39.93, 1e-9);
    h = look(s, "北京市东城区东四北大街20号");
    assert_int_equal(h.match, MD_ADDRESS_FACILITY_ADDRESS);
    assert_int_equal(h.facility_id, 2);
    assert_string_equal(md_address_match_name(h.match), "facility address");
    /* Two facilities named so: not unique. Two at this address, both in
     * one district: the street step takes the first. */
    h = look(s, "公共厕所");
    assert_int_equal(h.match, MD_ADDRESS_NONE);
    assert_int_equal(h.ambiguous, 2);
    h = look(s, "北京市朝阳区京顺路5号");
    assert_int_equal(h.match, MD_ADDRESS_STREET);
    assert_int_equal(h.facility_id, 3);
    /* An address nobody has, with a district in it. */
    h = look(s, "朝阳区某某胡同8号");
    assert_int_equal(h.match, MD_ADDRESS_DISTRICT_IN_TEXT);
    assert_string_equal(h.district, "110105");
    unit_store_drop(s);
}

static void districts_by_their_names(void **state)
{
    (void)state;
    struct md_store *s = city("address_district");
    static const char *const names[] = {"东城区", "东城", "北京市东城区", "Dongcheng",
                                        "dongcheng district"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct md_address_hit h = look(s, names[i]);
        assert_int_equal(h.match, MD_ADDRESS_DISTRICT);
        assert_string_equal(h.district, "110101");
        assert_float_equal(h.lon, 116.41, 1e-9); /* the label point */
        assert_float_equal(h.lat, 39.93, 1e-9);
    }
    /* No label point: a point on the district's surface. */
    struct md_address_hit h = look(s, "朝阳区");
    assert_int_equal(h.match, MD_ADDRESS_DISTRICT);
    assert_string_equal(h.district, "110105");
    assert_true(h.lon > 116.45 && h.lon < 116.60 && h.lat > 39.85 && h.lat < 39.97);
    unit_store_drop(s);
}

static void streets_in_one_district_only(void **state)
{
    (void)state;
    struct md_store *s = city("address_street");
    struct md_address_hit h = look(s, "东四北大街");
    assert_int_equal(h.match, MD_ADDRESS_STREET);
    assert_int_equal(h.facility_id, 1); /* the first facility on it */
    assert_int_equal(h.street_districts, 1);
    h = look(s, "建国路"); /* in two districts */
    assert_int_equal(h.match, MD_ADDRESS_NONE);
    assert_int_equal(h.street_districts, 2);
    h = look(s, "路"); /* one character is no street */
    assert_int_equal(h.match, MD_ADDRESS_NONE);
    assert_int_equal(h.street_districts, 0);
    h = look(s, "王府井大街");
    assert_int_equal(h.match, MD_ADDRESS_NONE);
    assert_int_equal(h.ambiguous, 0);
    assert_float_equal(h.lon, 0, 0);
    unit_store_drop(s);
}

static void a_database_error_is_an_error(void **state)
{
    (void)state;
    struct md_store *s = city("address_error");
    (void)look(s, "东四菜市场"); /* statements prepared and cached */
    unit_exec(s, "CREATE TABLE facilities_kept AS SELECT * FROM facilities");
    unit_exec(s, "DROP TABLE facilities");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_address_hit h;
    md_err rc = md_address_lookup(s, "东四菜市场", &h, &ctx);
    assert_int_not_equal(rc, MD_OK);
    assert_int_equal(rc, MD_EDB);
    unit_store_drop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(facilities_by_unique_name_or_address),
        cmocka_unit_test(districts_by_their_names),
        cmocka_unit_test(streets_in_one_district_only),
        cmocka_unit_test(a_database_error_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
