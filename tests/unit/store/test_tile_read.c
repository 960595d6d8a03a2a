/* store/tile_read: the points, polygons and label points of a tile, read
 * from a real SpatiaLite file, by both point paths (tile keys, R*Tree). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "tile_read.h"
#include "unit_store.h"

/* Around Tiananmen: three points inside, one far outside. */
static const struct md_bbox box = {116.390, 39.900, 116.410, 39.920};

#define MAX_ROWS 8

struct got {
    size_t n;
    struct {
        int64_t id;
        double lon, lat;
        char category[32], name[32], status[32], kind[32], code[32], name_en[32], district[32];
        int64_t created_at, expected_at, supporters;
        size_t wkb_len;
        unsigned char wkb_head[5];
    } row[MAX_ROWS];
    struct md_store *interrupt; /* sqlite3_interrupt after the first row */
    md_err fail_with;           /* returned by the callback (0 = go on) */
};

static void copy(char *dst, const char *src)
{
    assert_non_null(src);
    snprintf(dst, 32, "%s", src);
}

static md_err after_row(struct got *g)
{
    if (g->interrupt)
        sqlite3_interrupt(md_store_db(g->interrupt));
    return g->fail_with;
}

static md_err on_point(const struct md_tile_point *p, void *userdata)
{
    struct got *g = userdata;
    assert_true(g->n < MAX_ROWS);
    g->row[g->n].id = p->id;
    g->row[g->n].lon = p->lon;
    g->row[g->n].lat = p->lat;
    copy(g->row[g->n].category, p->category);
    copy(g->row[g->n].name, p->name);
    copy(g->row[g->n].status, p->status);
    copy(g->row[g->n].kind, p->kind);
    g->row[g->n].created_at = p->created_at;
    g->row[g->n].expected_at = p->expected_at;
    g->row[g->n].supporters = p->supporters;
    g->n++;
    return after_row(g);
}

static md_err on_polygon(const struct md_tile_polygon *p, void *userdata)
{
    struct got *g = userdata;
    assert_true(g->n < MAX_ROWS);
    g->row[g->n].id = p->id;
    copy(g->row[g->n].code, p->code);
    copy(g->row[g->n].name, p->name);
    copy(g->row[g->n].name_en, p->name_en);
    copy(g->row[g->n].district, p->district_code);
    g->row[g->n].wkb_len = p->wkb_len;
    assert_non_null(p->wkb);
    assert_true(p->wkb_len >= 5);
    memcpy(g->row[g->n].wkb_head, p->wkb, 5);
    g->n++;
    return after_row(g);
}

static md_err on_label(const struct md_tile_label *l, void *userdata)
{
    struct got *g = userdata;
    assert_true(g->n < MAX_ROWS);
    g->row[g->n].id = l->id;
    copy(g->row[g->n].code, l->code);
    copy(g->row[g->n].name, l->name);
    copy(g->row[g->n].name_en, l->name_en);
    g->row[g->n].lon = l->lon;
    g->row[g->n].lat = l->lat;
    g->n++;
    return after_row(g);
}

/* The z18 tiles covering `b` (what tiles/tile_math.c computes). */
static struct md_store_tile_span span_of(const struct md_bbox *b)
{
    double n = (double)(1u << MD_STORE_TILE_KEY_ZOOM);
    double x0 = (b->minx + 180.0) / 360.0 * n, x1 = (b->maxx + 180.0) / 360.0 * n;
    double y0 = (1.0 - asinh(tan(b->maxy * M_PI / 180.0)) / M_PI) / 2.0 * n;
    double y1 = (1.0 - asinh(tan(b->miny * M_PI / 180.0)) / M_PI) / 2.0 * n;
    return (struct md_store_tile_span){(uint32_t)x0, (uint32_t)y0, (uint32_t)x1, (uint32_t)y1};
}

static int by_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted ids of g, the points' order being the index's. */
static void ids(const struct got *g, int64_t *out)
{
    for (size_t i = 0; i < g->n; i++)
        out[i] = g->row[i].id;
    qsort(out, g->n, sizeof(*out), by_id);
}

static size_t find(const struct got *g, int64_t id)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->row[i].id == id)
            return i;
    }
    fail_msg("id %lld not read", (long long)id);
    return 0;
}

static void insert_facility(struct md_store *s, int id, const char *name, double lon, double lat)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO facilities(id, category, name, status, updated_at, lon, lat, geom)"
             " VALUES (%d, 'toilet', '%s', 'open', 0, %.6f, %.6f, MakePoint(%.6f, %.6f, 4326))",
             id, name, lon, lat, lon, lat);
    unit_exec(s, sql);
}

/* Read `layer` in box by the R*Tree (no span), by tile keys (its span) and
 * by the R*Tree again (a span too tall for keys): the same rows each time. */
static void read_three_ways(struct md_store *s, enum md_layer layer, struct got *out)
{
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store_tile_span span = span_of(&box), tall = span;
    tall.y1 = tall.y0 + 200;
    struct got by_rtree = {0}, by_keys = {0}, by_tall = {0};
    assert_int_equal(md_store_tile_points(s, layer, &box, NULL, on_point, &by_rtree, &ctx), MD_OK);
    assert_int_equal(md_store_tile_points(s, layer, &box, &span, on_point, &by_keys, &ctx), MD_OK);
    assert_int_equal(md_store_tile_points(s, layer, &box, &tall, on_point, &by_tall, &ctx), MD_OK);
    assert_int_equal(by_keys.n, by_rtree.n);
    assert_int_equal(by_tall.n, by_rtree.n);
    int64_t a[MAX_ROWS], b[MAX_ROWS], c[MAX_ROWS];
    ids(&by_rtree, a);
    ids(&by_keys, b);
    ids(&by_tall, c);
    assert_memory_equal(a, b, by_rtree.n * sizeof(*a));
    assert_memory_equal(a, c, by_rtree.n * sizeof(*a));
    *out = by_keys;
}

static void points_of_facilities(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tile-fac");
    insert_facility(s, 1, "Gate", 116.397, 39.909);
    insert_facility(s, 2, "Hall", 116.401, 39.915);
    insert_facility(s, 3, "Park", 116.409, 39.901);
    insert_facility(s, 4, "Far", 121.47, 31.23);
    struct got g;
    read_three_ways(s, MD_LAYER_FACILITIES, &g);
    assert_int_equal(g.n, 3);
    size_t i = find(&g, 2);
    assert_true(fabs(g.row[i].lon - 116.401) < 1e-9 && fabs(g.row[i].lat - 39.915) < 1e-9);
    assert_string_equal(g.row[i].category, "toilet");
    assert_string_equal(g.row[i].name, "Hall");
    assert_string_equal(g.row[i].status, "open");
    assert_string_equal(g.row[i].kind, ""); /* not a facility field */
    assert_int_equal(g.row[i].created_at, 0);
    assert_int_equal(g.row[i].supporters, 0);

    /* A box with nothing in it, both paths. */
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_bbox empty = {100.0, 10.0, 100.01, 10.01};
    struct md_store_tile_span span = span_of(&empty);
    struct got none = {0};
    assert_int_equal(
        md_store_tile_points(s, MD_LAYER_FACILITIES, &empty, &span, on_point, &none, &ctx), MD_OK);
    assert_int_equal(
        md_store_tile_points(s, MD_LAYER_FACILITIES, &empty, NULL, on_point, &none, &ctx), MD_OK);
    assert_int_equal(none.n, 0);
    unit_store_drop(s);
}

static void points_of_reports(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tile-rep");
    unit_insert_report(s, 116.395, 39.905); /* id 1 */
    unit_insert_report(s, 116.405, 39.918); /* id 2 */
    unit_insert_report(s, 116.60, 40.10);   /* id 3: outside */
    unit_exec(
        s, "UPDATE reports SET kind = 'incident', status = 'dispatched', created_at = 1700000000,"
           " expected_at = 1700086400, supporters = 4 WHERE id = 2");
    struct got g;
    read_three_ways(s, MD_LAYER_REPORTS, &g);
    assert_int_equal(g.n, 2);
    size_t i = find(&g, 2);
    assert_string_equal(g.row[i].category, "200102");
    assert_string_equal(g.row[i].status, "dispatched");
    assert_string_equal(g.row[i].kind, "incident");
    assert_string_equal(g.row[i].name, ""); /* not a report field */
    assert_int_equal(g.row[i].created_at, 1700000000);
    assert_int_equal(g.row[i].expected_at, 1700086400);
    assert_int_equal(g.row[i].supporters, 4);
    i = find(&g, 1);
    assert_string_equal(g.row[i].kind, "problem");
    assert_string_equal(g.row[i].status, "reported");
    assert_int_equal(g.row[i].expected_at, 0); /* NULL: none */
    assert_int_equal(g.row[i].supporters, 0);
    unit_store_drop(s);
}

static void points_errors(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tile-err");
    insert_facility(s, 1, "Gate", 116.397, 39.909);
    insert_facility(s, 2, "Hall", 116.401, 39.915);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct got g = {0};
    assert_int_equal(md_store_tile_points(s, MD_LAYER_GRIDS, &box, NULL, on_point, &g, &ctx),
                     MD_EINVAL);
    assert_int_equal(g.n, 0);

    /* The callback's error stops the read and comes back as is. */
    struct md_store_tile_span span = span_of(&box);
    g = (struct got){.fail_with = MD_ENOSPACE};
    assert_int_equal(md_store_tile_points(s, MD_LAYER_FACILITIES, &box, &span, on_point, &g, &ctx),
                     MD_ENOSPACE);
    assert_int_equal(g.n, 1);
    g = (struct got){.fail_with = MD_ENOSPACE};
    assert_int_equal(md_store_tile_points(s, MD_LAYER_FACILITIES, &box, NULL, on_point, &g, &ctx),
                     MD_ENOSPACE);
    assert_int_equal(g.n, 1);

    /* A step that fails is an error, not the end of the rows. */
    md_ctx_init(&ctx);
    g = (struct got){.interrupt = s};
    assert_int_equal(md_store_tile_points(s, MD_LAYER_FACILITIES, &box, NULL, on_point, &g, &ctx),
                     MD_EDB);
    assert_int_equal(g.n, 1);
    assert_non_null(strstr(md_ctx_message(&ctx), "tile points"));

    /* And the statement is usable again afterwards. */
    g = (struct got){0};
    assert_int_equal(md_store_tile_points(s, MD_LAYER_FACILITIES, &box, NULL, on_point, &g, &ctx),
                     MD_OK);
    assert_int_equal(g.n, 2);
    unit_store_drop(s);
}

static void insert_areas(struct md_store *s)
{
    unit_exec(s,
              "INSERT INTO districts(code, name, name_en, label_lon, label_lat, updated_at, geom)"
              " VALUES ('110101', '东城区', 'Dongcheng', 116.40, 39.91, 0, CastToMultiPolygon("
              "GeomFromText('POLYGON((116.38 39.89, 116.42 39.89, 116.42 39.93, 116.38 39.93,"
              " 116.38 39.89))', 4326)))");
    unit_exec(s,
              "INSERT INTO districts(code, name, name_en, label_lon, label_lat, updated_at, geom)"
              " VALUES ('110102', '西城区', 'Xicheng', 116.36, 39.91, 0, CastToMultiPolygon("
              "GeomFromText('POLYGON((116.30 39.89, 116.38 39.89, 116.38 39.93, 116.30 39.93,"
              " 116.30 39.89))', 4326)))");
    unit_exec(s, "INSERT INTO grids(code, district_code, updated_at, geom) VALUES"
                 " ('110101001001001', '110101', 0, CastToMultiPolygon(GeomFromText("
                 "'POLYGON((116.40 39.90, 116.405 39.90, 116.405 39.905, 116.40 39.905,"
                 " 116.40 39.90))', 4326)))");
}

static void polygons_of_districts_and_grids(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tile-poly");
    insert_areas(s);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    /* Meets 110101 only (110102 ends at 116.38). */
    struct md_bbox q = {116.39, 39.90, 116.41, 39.92};
    struct got g = {0};
    assert_int_equal(md_store_tile_polygons(s, MD_LAYER_DISTRICTS, &q, on_polygon, &g, &ctx),
                     MD_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.row[0].code, "110101");
    assert_string_equal(g.row[0].name, "东城区");
    assert_string_equal(g.row[0].name_en, "Dongcheng");
    assert_string_equal(g.row[0].district, "");
    assert_int_equal(g.row[0].wkb_head[0], 1); /* little-endian WKB */
    assert_int_equal(g.row[0].wkb_head[1], 6); /* MultiPolygon */
    /* 1 + 4 + 4 (polygons) + 1 + 4 + 4 + 4 (rings) + 5 points * 16 */
    assert_int_equal(g.row[0].wkb_len, 102);

    g = (struct got){0};
    assert_int_equal(md_store_tile_polygons(s, MD_LAYER_GRIDS, &q, on_polygon, &g, &ctx), MD_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.row[0].code, "110101001001001");
    assert_string_equal(g.row[0].district, "110101");
    assert_string_equal(g.row[0].name, "");
    assert_string_equal(g.row[0].name_en, "");

    /* Both districts meet a wider box; none meets a far one. */
    struct md_bbox wide = {116.0, 39.0, 117.0, 41.0}, far = {121.0, 31.0, 121.1, 31.1};
    g = (struct got){0};
    assert_int_equal(md_store_tile_polygons(s, MD_LAYER_DISTRICTS, &wide, on_polygon, &g, &ctx),
                     MD_OK);
    assert_int_equal(g.n, 2);
    g = (struct got){0};
    assert_int_equal(md_store_tile_polygons(s, MD_LAYER_GRIDS, &far, on_polygon, &g, &ctx), MD_OK);
    assert_int_equal(g.n, 0);

    assert_int_equal(md_store_tile_polygons(s, MD_LAYER_REPORTS, &q, on_polygon, &g, &ctx),
                     MD_EINVAL);
    g = (struct got){.fail_with = MD_EGEOS};
    assert_int_equal(md_store_tile_polygons(s, MD_LAYER_DISTRICTS, &wide, on_polygon, &g, &ctx),
                     MD_EGEOS);
    assert_int_equal(g.n, 1);
    md_ctx_init(&ctx);
    g = (struct got){.interrupt = s};
    assert_int_equal(md_store_tile_polygons(s, MD_LAYER_DISTRICTS, &wide, on_polygon, &g, &ctx),
                     MD_EDB);
    assert_non_null(strstr(md_ctx_message(&ctx), "tile polygons"));
    unit_store_drop(s);
}

static void labels_of_districts(void **state)
{
    (void)state;
    struct md_store *s = unit_store_fresh("tile-label");
    insert_areas(s);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    /* 110102's polygon meets this box, but its label point (116.36) does not. */
    struct md_bbox q = {116.37, 39.90, 116.41, 39.92};
    struct got g = {0};
    assert_int_equal(md_store_tile_labels(s, &q, on_label, &g, &ctx), MD_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.row[0].code, "110101");
    assert_string_equal(g.row[0].name, "东城区");
    assert_string_equal(g.row[0].name_en, "Dongcheng");
    assert_true(g.row[0].lon == 116.40 && g.row[0].lat == 39.91);

    /* The label's id is its polygon's. */
    struct got poly = {0};
    assert_int_equal(md_store_tile_polygons(s, MD_LAYER_DISTRICTS, &q, on_polygon, &poly, &ctx),
                     MD_OK);
    assert_int_equal(find(&poly, g.row[0].id) < poly.n, 1);

    /* Bounds are included. */
    struct md_bbox edge = {116.36, 39.91, 116.40, 39.91};
    g = (struct got){0};
    assert_int_equal(md_store_tile_labels(s, &edge, on_label, &g, &ctx), MD_OK);
    assert_int_equal(g.n, 2);

    md_ctx_init(&ctx);
    g = (struct got){.interrupt = s};
    assert_int_equal(md_store_tile_labels(s, &edge, on_label, &g, &ctx), MD_EDB);
    assert_non_null(strstr(md_ctx_message(&ctx), "district labels"));
    unit_store_drop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(points_of_facilities), cmocka_unit_test(points_of_reports),
        cmocka_unit_test(points_errors),        cmocka_unit_test(polygons_of_districts_and_grids),
        cmocka_unit_test(labels_of_districts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
