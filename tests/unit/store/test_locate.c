/* store/locate: the one locating rule over its sources - the database
 * (SQL over the spatial indexes) and the in-memory index of an import -
 * which must agree point for point: in a cell (its district), on a shared
 * border (smallest code, or the preferred district's cell), in a district
 * without cells, in a sliver (the nearest within MD_LOCATE_NEAR_DEG), and
 * outside. Real SpatiaLite file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "geos_ctx.h"
#include "locate.h"
#include "store.h"
#include "store_int.h"
#include "unit_store.h"

/* Two districts sharing the border x = 116.40, a 0.002-degree gap (a sliver)
 * between B and C at x = 116.50..116.502, and one grid cell per district. */
static struct md_store *areas(const char *name)
{
    struct md_store *s = unit_store_fresh(name);
    static const char *const sql[] = {
        "INSERT INTO districts(code, name, name_en, updated_at, geom) VALUES"
        " ('110102', 'B', 'B', 0, CastToMulti(GeomFromText('POLYGON((116.40 39.80, 116.50 39.80,"
        " 116.50 39.90, 116.40 39.90, 116.40 39.80))', 4326))),"
        " ('110101', 'A', 'A', 0, CastToMulti(GeomFromText('POLYGON((116.30 39.80, 116.40 39.80,"
        " 116.40 39.90, 116.30 39.90, 116.30 39.80))', 4326))),"
        " ('110105', 'C', 'C', 0, CastToMulti(GeomFromText('POLYGON((116.502 39.80, 116.60 39.80,"
        " 116.60 39.90, 116.502 39.90, 116.502 39.80))', 4326)))",
        "INSERT INTO grids(code, district_code, updated_at, geom) VALUES"
        " ('110101001001001', '110101', 0, CastToMulti(GeomFromText('POLYGON((116.30 39.80,"
        " 116.40 39.80, 116.40 39.90, 116.30 39.90, 116.30 39.80))', 4326))),"
        " ('110102001001001', '110102', 0, CastToMulti(GeomFromText('POLYGON((116.40 39.80,"
        " 116.50 39.80, 116.50 39.90, 116.40 39.90, 116.40 39.80))', 4326)))",
    };
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
        unit_exec(s, sql[i]);
    return s;
}

struct expect {
    double lon, lat;
    const char *pref_district;
    const char *district, *grid;
    bool inside;
};

static void check_both(struct md_store *s, struct md_area_index *ix, const struct expect *e)
{
    struct md_area_source sources[2] = {md_store_areas(s), md_area_index_source(ix)};
    for (int k = 0; k < 2; k++) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        struct md_locate_opts o = {e->pref_district, NULL, false};
        struct md_location at;
        assert_int_equal(md_locate(&sources[k], e->lon, e->lat, &o, &at, &ctx), MD_OK);
        if (strcmp(at.district, e->district) != 0 || strcmp(at.grid, e->grid) != 0 ||
            at.inside != e->inside)
            fail_msg("%s source at %.4f,%.4f: got '%s' '%s' inside=%d, want '%s' '%s' %d",
                     k ? "memory" : "database", e->lon, e->lat, at.district, at.grid, at.inside,
                     e->district, e->grid, e->inside);
    }
}

static void sources_agree_on_the_rule(void **state)
{
    (void)state;
    struct md_store *s = areas("locate_rule");
    struct md_geos *g = md_geos_new();
    struct md_area_index *ix = NULL;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    assert_int_equal(md_area_index_load(s, g, &ix, &ctx), MD_OK);
    assert_int_equal(md_area_index_districts(ix), 3);
    static const struct expect cases[] = {
        {116.35, 39.85, NULL, "110101", "110101001001001", true},     /* inside A */
        {116.45, 39.85, NULL, "110102", "110102001001001", true},     /* inside B */
        {116.40, 39.85, NULL, "110101", "110101001001001", true},     /* on A|B: smallest code */
        {116.40, 39.85, "110102", "110102", "110102001001001", true}, /* preferred B: its cell */
        {116.5007, 39.85, NULL, "110102", "110102001001001", false},  /* in the sliver: nearest */
        {116.55, 39.85, NULL, "110105", "", true},                    /* C has no grid cell */
        {116.20, 39.85, NULL, "", "", false},                         /* far outside */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_both(s, ix, &cases[i]);
    /* no_near_district: the sliver stays outside */
    struct md_area_source src = md_area_index_source(ix);
    struct md_locate_opts keep = {NULL, NULL, true};
    struct md_location at;
    assert_int_equal(md_locate(&src, 116.5007, 39.85, &keep, &at, &ctx), MD_OK);
    assert_string_equal(at.district, "");
    md_area_index_free(ix);
    md_geos_free(g);
    unit_store_drop(s);
}

static void store_locate_names_what_is_outside(void **state)
{
    (void)state;
    struct md_store *s = areas("locate_outside");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    char district[MD_DISTRICT_CODE_MAX], grid[MD_GRID_CODE_MAX];
    assert_int_equal(md_store_locate(s, 116.45, 39.85, district, grid, &ctx), MD_OK);
    assert_string_equal(district, "110102");
    assert_string_equal(grid, "110102001001001");
    assert_int_equal(md_store_locate(s, 121.47, 31.23, district, grid, &ctx), MD_ENOTFOUND);
    assert_string_equal(md_ctx_message(&ctx),
                        "point 121.470000,31.230000 is outside every district");
    /* A database error is an error, not "outside". */
    unit_exec(s, "ALTER TABLE grids RENAME TO grids_gone");
    md_ctx_init(&ctx);
    md_err rc = md_store_locate(s, 116.45, 39.85, district, grid, &ctx);
    assert_true(rc == MD_EDB);
    unit_exec(s, "ALTER TABLE grids_gone RENAME TO grids");
    unit_store_drop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sources_agree_on_the_rule),
        cmocka_unit_test(store_locate_names_what_is_outside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
