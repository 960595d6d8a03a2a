/* test_geodesic.c - WGS84 distances (against PROJ's `geod` command), search
 * boxes (against geod_direct) and the box distance lower bound (against
 * sampled and refined true distances). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodesic.h"
#include "geo_test.h"

/* splitmix64: deterministic, so a failure can be replayed. */
static uint64_t rng_state = 0x6d617064u;

static double uniform(double lo, double hi)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return lo + (hi - lo) * ((double)(z >> 11) / 9007199254740992.0);
}

static void known_distances(void **state)
{
    (void)state;
    /* One degree of longitude on the equator: a·π/180. */
    assert_close(md_geod_distance(0.0, 0.0, 1.0, 0.0), 111319.490793, 1e-6);
    assert_close(md_geod_distance(0.0, 0.0, 1.0, 0.0), MD_WGS84_A * M_PI / 180.0, 1e-6);
    /* Values from `geod -I +ellps=WGS84 -F %.6f`. */
    assert_close(md_geod_distance(0.0, 0.0, 0.0, 1.0), 110574.388558, 1e-6);
    assert_close(md_geod_distance(116.391, 39.907, 121.4737, 31.2304), 1066761.336094, 1e-6);
    assert_close(md_geod_distance(0.0, 0.0, 180.0, 0.0), 20003931.458625, 1e-6);
    assert_close(md_geod_distance(0.0, 0.0, 179.7, 0.5), 19944127.420750, 1e-6);
    assert_close(md_geod_distance(179.9, 10.0, -179.9, 10.0),
                 md_geod_distance(-0.1, 10.0, 0.1, 10.0), 1e-8);
    assert_true(md_geod_distance(116.391, 39.907, 116.391, 39.907) == 0.0);
    assert_true(isnan(md_geod_distance(NAN, 0.0, 1.0, 1.0)));
    assert_true(isnan(md_geod_distance(0.0, 91.0, 1.0, 1.0)));

    double lon, lat;
    md_geod_direct(0.0, 0.0, 90.0, 111319.490793, &lon, &lat);
    assert_close(lon, 1.0, 1e-11);
    assert_close(lat, 0.0, 1e-11);
    md_geod_direct(179.5, 0.0, 90.0, 111319.490793, &lon, &lat);
    assert_close(lon, -179.5, 1e-11);
}

/* A pair as text, read back so that geod and mapd see the same numbers. */
struct pair {
    double lon1, lat1, lon2, lat2;
};

static void add_pair(FILE *f, struct pair *p, double lon1, double lat1, double lon2, double lat2)
{
    char line[256];
    lat1 = fmax(-90.0, fmin(90.0, lat1));
    lat2 = fmax(-90.0, fmin(90.0, lat2));
    lon1 = remainder(lon1, 360.0);
    lon2 = remainder(lon2, 360.0);
    snprintf(line, sizeof(line), "%.12f %.12f %.12f %.12f\n", lat1, lon1, lat2, lon2);
    assert_int_equal(sscanf(line, "%lf %lf %lf %lf", &p->lat1, &p->lon1, &p->lat2, &p->lon2), 4);
    fputs(line, f);
}

#define GEOD_PAIRS 400

static void distances_match_geod_cli(void **state)
{
    (void)state;
    static struct pair pairs[GEOD_PAIRS];
    char path[] = "/tmp/mapd_geod_pairs_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    int n = 0;
    for (; n < 100; n++) /* anywhere */
        add_pair(f, &pairs[n], uniform(-180, 180), uniform(-90, 90), uniform(-180, 180),
                 uniform(-90, 90));
    for (; n < 200; n++) { /* inside China, city to city scale */
        double lon = uniform(73.5, 135.0), lat = uniform(18.0, 53.5);
        add_pair(f, &pairs[n], lon, lat, lon + uniform(-2, 2), lat + uniform(-2, 2));
    }
    for (; n < 260; n++) { /* street scale: centimetres to a kilometre */
        double lon = uniform(-180, 180), lat = uniform(-89, 89), d = pow(10.0, uniform(-7, -2));
        add_pair(f, &pairs[n], lon, lat, lon + uniform(-d, d), lat + uniform(-d, d));
    }
    for (; n < 320; n++) { /* nearly antipodal: the hard case for geodesics */
        double lon = uniform(-180, 180), lat = uniform(-30, 30);
        add_pair(f, &pairs[n], lon, lat, lon + 180.0 + uniform(-0.7, 0.7),
                 -lat + uniform(-0.7, 0.7));
    }
    for (; n < 360; n++) { /* across the antimeridian */
        add_pair(f, &pairs[n], uniform(175, 180), uniform(-60, 60), uniform(-180, -175),
                 uniform(-60, 60));
    }
    for (; n < GEOD_PAIRS; n++) { /* near and at the poles */
        double s = n % 2 ? 1.0 : -1.0;
        add_pair(f, &pairs[n], uniform(-180, 180), s * uniform(85, 90), uniform(-180, 180),
                 n % 4 < 2 ? s * 90.0 : s * uniform(80, 90));
    }
    assert_int_equal(fclose(f), 0);

    const char *geod = getenv("MAPD_GEOD");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s -I +ellps=WGS84 -f %%.6f -F %%.6f < %s", geod ? geod : "geod",
             path);
    FILE *out = popen(cmd, "r");
    assert_non_null(out);
    double worst = 0.0;
    int read = 0;
    char line[256];
    while (read < GEOD_PAIRS && fgets(line, sizeof(line), out)) {
        double az1, az2, dist;
        assert_int_equal(sscanf(line, "%lf %lf %lf", &az1, &az2, &dist), 3);
        const struct pair *p = &pairs[read++];
        double d = fabs(md_geod_distance(p->lon1, p->lat1, p->lon2, p->lat2) - dist);
        if (!(d <= 1e-3))
            fail_msg("pair %d (%s): mapd %.6f, geod %.6f", read - 1, line,
                     md_geod_distance(p->lon1, p->lat1, p->lon2, p->lat2), dist);
        worst = fmax(worst, d);
    }
    int status = pclose(out);
    unlink(path);
    assert_int_equal(status, 0);
    assert_int_equal(read, GEOD_PAIRS);
    printf("# %d pairs vs geod: worst difference %.3g m\n", read, worst);
}

/* Is (lon, lat) in the box, counting lon -180 and 180 as the same meridian? */
static int in_box(const struct md_bbox *b, double lon, double lat)
{
    if (!(lat >= b->miny && lat <= b->maxy))
        return 0;
    if (lon >= b->minx && lon <= b->maxx)
        return 1;
    return (lon == -180.0 && b->maxx == 180.0) || (lon == 180.0 && b->minx == -180.0);
}

static void check_box_around(double lon, double lat, double radius)
{
    struct md_bbox box, split[2];
    md_geod_bbox_around(lon, lat, radius, &box);
    int nsplit = md_geod_bboxes_around(lon, lat, radius, split);
    assert_true(box.minx >= -180.0 && box.minx <= box.maxx && box.maxx <= 180.0);
    assert_true(box.miny >= -90.0 && box.miny <= box.maxy && box.maxy <= 90.0);
    assert_true(nsplit == 1 || nsplit == 2);
    if (nsplit == 1)
        assert_memory_equal(&box, &split[0], sizeof(box));

    double lo_lat = lat, hi_lat = lat, max_dlon = 0.0;
    for (double az = -180.0; az < 180.0; az += 0.5) {
        for (double f = 0.5; f <= 1.0; f += 0.5) { /* on the circle and half way */
            double plon, plat;
            md_geod_direct(lon, lat, az, radius * f, &plon, &plat);
            if (!in_box(&box, plon, plat))
                fail_msg("centre (%.9f, %.9f) r %g az %g: (%.12f, %.12f) outside "
                         "[%.12f %.12f %.12f %.12f]",
                         lon, lat, radius, az, plon, plat, box.minx, box.miny, box.maxx, box.maxy);
            if (!in_box(&split[0], plon, plat) && !(nsplit == 2 && in_box(&split[1], plon, plat)))
                fail_msg("split boxes miss (%.12f, %.12f), centre (%g, %g) r %g", plon, plat, lon,
                         lat, radius);
            lo_lat = fmin(lo_lat, plat);
            hi_lat = fmax(hi_lat, plat);
            max_dlon = fmax(max_dlon, fabs(remainder(plon - lon, 360.0)));
        }
    }
    /* Not much bigger than the circle, when it holds no pole: 1% plus ~2 µm. */
    if (box.maxy < 90.0 && box.miny > -90.0) {
        double half_width =
            nsplit == 2 ? (split[0].maxx - split[0].minx + split[1].maxx - split[1].minx) / 2.0
                        : (box.maxx - box.minx) / 2.0;
        const double slack = 2e-11;
        if (box.maxy - lat > 1.01 * (hi_lat - lat) + slack ||
            lat - box.miny > 1.01 * (lat - lo_lat) + slack ||
            half_width > 1.01 * max_dlon + slack / cos(lat * M_PI / 180.0) || half_width < max_dlon)
            fail_msg("centre (%.9f, %.9f) r %g: box [%.12f %.12f %.12f %.12f] vs circle lat "
                     "%.12f..%.12f, dlon %.12f",
                     lon, lat, radius, box.minx, box.miny, box.maxx, box.maxy, lo_lat, hi_lat,
                     max_dlon);
    }
}

static void box_around_holds_the_circle(void **state)
{
    (void)state;
    static const double centres[][2] = {
        {116.391, 39.907}, {0.0, 0.0},       {-70.0, -45.0}, {179.999, 10.0},
        {-179.99, -20.0},  {180.0, 0.0},     {120.0, 80.0},  {30.0, -85.0},
        {45.0, 89.99},     {-45.0, -89.999}, {0.0, 90.0},    {13.0, -90.0},
    };
    static const double radii[] = {0.0, 1e-3, 1.0, 150.0, 5000.0, 80000.0, 500000.0, 3e6, 1.2e7};
    for (size_t i = 0; i < sizeof(centres) / sizeof(centres[0]); i++)
        for (size_t k = 0; k < sizeof(radii) / sizeof(radii[0]); k++)
            check_box_around(centres[i][0], centres[i][1], radii[k]);
    for (int i = 0; i < 300; i++)
        check_box_around(uniform(-180, 180), uniform(-90, 90), pow(10.0, uniform(-1, 6.5)));
}

static void box_around_shapes(void **state)
{
    (void)state;
    struct md_bbox b, two[2];
    /* 1 km around Tiananmen: ~0.009° of latitude, ~0.0117° of longitude. */
    md_geod_bbox_around(116.391, 39.907, 1000.0, &b);
    assert_close(b.maxy - 39.907, 1000.0 / 111030.0, 1e-4);
    assert_close(b.maxx - 116.391, 1000.0 / 85390.0, 1e-4);
    assert_int_equal(md_geod_bboxes_around(116.391, 39.907, 1000.0, two), 1);
    /* Reaching the north pole: every longitude, up to 90. */
    md_geod_bbox_around(10.0, 89.99, 5000.0, &b);
    assert_true(b.minx == -180.0 && b.maxx == 180.0 && b.maxy == 90.0);
    assert_close(b.miny, 89.99 - 0.045, 0.001);
    /* Crossing the antimeridian: one box spans the world, two boxes do not. */
    md_geod_bbox_around(179.99, -16.5, 10000.0, &b);
    assert_true(b.minx == -180.0 && b.maxx == 180.0);
    assert_int_equal(md_geod_bboxes_around(179.99, -16.5, 10000.0, two), 2);
    assert_true(two[0].maxx == 180.0 && two[0].minx > 179.8 && two[0].minx < 179.99);
    assert_true(two[1].minx == -180.0 && two[1].maxx > -179.95 && two[1].maxx < -179.8);
    assert_true(two[0].miny == two[1].miny && two[0].maxy == two[1].maxy);
    /* Longitudes out of range are normalised. */
    md_geod_bbox_around(116.391 + 360.0, 39.907, 1000.0, &b);
    assert_true(b.minx > 116.37 && b.maxx < 116.41);
    /* Degenerate radii give the point itself (within a micrometre). */
    md_geod_bbox_around(116.391, 39.907, -5.0, &b);
    assert_close(b.minx, 116.391, 1e-10);
    assert_close(b.maxy, 39.907, 1e-10);
    md_geod_bbox_around(116.391, 39.907, NAN, &b);
    assert_close(b.maxx, 116.391, 1e-10);
    md_geod_bbox_around(NAN, 39.907, 10.0, &b);
    assert_true(isnan(b.minx) && isnan(b.maxy));
    /* Half the world and more: everything. */
    md_geod_bbox_around(0.0, 0.0, 2.1e7, &b);
    assert_true(b.minx == -180.0 && b.maxx == 180.0 && b.miny == -90.0 && b.maxy == 90.0);
}

/* Point on a box edge: t in [0, 1] along edge e (0 south, 1 north, 2 west, 3 east). */
static void edge_point(const struct md_bbox *b, int e, double t, double *lon, double *lat)
{
    double width = b->maxx - b->minx;
    if (width < 0)
        width += 360.0;
    switch (e) {
    case 0:
    case 1:
        *lon = remainder(b->minx + t * width, 360.0);
        *lat = e == 0 ? b->miny : b->maxy;
        break;
    default:
        *lon = e == 2 ? b->minx : b->maxx;
        *lat = b->miny + t * (b->maxy - b->miny);
        break;
    }
}

static double edge_distance(const struct md_bbox *b, int e, double t, double lon, double lat)
{
    double qlon, qlat;
    edge_point(b, e, t, &qlon, &qlat);
    return md_geod_distance(lon, lat, qlon, qlat);
}

#define EDGE_SAMPLES 200

/* The true minimum distance from the point to the box's boundary: dense
 * samples, then a golden-section refinement around the best one. Also the
 * largest gap between samples, to judge how tight the bound is. */
static double true_min_distance(const struct md_bbox *b, double lon, double lat, double *spacing)
{
    double best = INFINITY, best_t = 0.0;
    int best_e = 0;
    *spacing = 0.0;
    for (int e = 0; e < 4; e++) {
        for (int i = 0; i <= EDGE_SAMPLES; i++) {
            double t = (double)i / EDGE_SAMPLES;
            double d = edge_distance(b, e, t, lon, lat);
            if (d < best) {
                best = d;
                best_e = e;
                best_t = t;
            }
        }
        double lon0, lat0, lon1, lat1;
        edge_point(b, e, 0.0, &lon0, &lat0);
        edge_point(b, e, 1.0 / EDGE_SAMPLES, &lon1, &lat1);
        *spacing = fmax(*spacing, md_geod_distance(lon0, lat0, lon1, lat1));
    }
    double lo = fmax(0.0, best_t - 1.0 / EDGE_SAMPLES), hi = fmin(1.0, best_t + 1.0 / EDGE_SAMPLES);
    const double golden = (sqrt(5.0) - 1.0) / 2.0;
    for (int it = 0; it < 60; it++) {
        double t1 = hi - golden * (hi - lo), t2 = lo + golden * (hi - lo);
        if (edge_distance(b, best_e, t1, lon, lat) < edge_distance(b, best_e, t2, lon, lat))
            hi = t2;
        else
            lo = t1;
    }
    return fmin(best, edge_distance(b, best_e, (lo + hi) / 2.0, lon, lat));
}

/* Wrap-aware containment for boxes with minx > maxx across the antimeridian. */
static int point_in_box(const struct md_bbox *b, double lon, double lat)
{
    if (lat < b->miny || lat > b->maxy)
        return 0;
    double width = b->maxx - b->minx;
    if (width < 0)
        width += 360.0;
    double east_of_min = fmod(lon - b->minx, 360.0);
    if (east_of_min < 0)
        east_of_min += 360.0;
    return east_of_min <= width;
}

/* md_geod_near_bounds brackets geod_inverse at every scale, 1 mm to
 * antipodal, near the poles and across the antimeridian, within a/b. */
static void near_bounds_bracket_the_distance(void **state)
{
    (void)state;
    for (int trial = 0; trial < 200000; trial++) {
        double lon = uniform(-180, 180), lat = uniform(-90, 90);
        if (trial % 97 == 3)
            lat = trial % 2 ? 90.0 : -90.0;
        double scale = pow(10.0, -(trial % 10)); /* 1 .. 1e-9 of the globe */
        double lon2 = remainder(lon + uniform(-180, 180) * scale, 360.0);
        double lat2 = fmax(-90.0, fmin(90.0, lat + uniform(-90, 90) * scale));
        struct md_geod_near g;
        md_geod_near_init(&g, lon, lat);
        double lo, hi, d = md_geod_distance(lon, lat, lon2, lat2);
        md_geod_near_bounds(&g, lon2, lat2, &lo, &hi);
        if (!(lo <= d && d <= hi))
            fail_msg("(%.12f %.12f) -> (%.12f %.12f): %.9f not in [%.9f, %.9f]", lon, lat, lon2,
                     lat2, d, lo, hi);
        assert_true(hi <= lo * (MD_WGS84_A / MD_WGS84_B) * (1 + 1e-6) + 3e-6);
    }
}

static void min_distance_is_a_tight_lower_bound(void **state)
{
    (void)state;
    int outside = 0;
    double worst_ratio = 1.0;
    for (int trial = 0; trial < 600; trial++) {
        double clon = uniform(-180, 180), clat = uniform(-89, 89);
        double half_w = pow(10.0, uniform(-4, 1.3)), half_h = pow(10.0, uniform(-4, 0.8));
        struct md_bbox b = {clon - half_w, fmax(-90.0, clat - half_h), clon + half_w,
                            fmin(90.0, clat + half_h)};
        if (b.minx < -180.0)
            b.minx += 360.0; /* now crosses the antimeridian: minx > maxx */
        if (b.maxx > 180.0)
            b.maxx -= 360.0;
        /* Points around the box, a few near it, some far, some at the poles. */
        double reach = trial % 3 == 0 ? 60.0 : 3.0;
        double plon = remainder(clon + uniform(-reach, reach) * fmax(half_w, 0.01), 360.0);
        double plat = fmax(-90.0, fmin(90.0, clat + uniform(-reach, reach) * fmax(half_h, 0.01)));
        if (trial % 50 == 7)
            plat = trial % 100 == 7 ? 90.0 : -90.0;

        double bound = md_geod_min_distance_to_bbox(plon, plat, &b);
        if (point_in_box(&b, plon, plat)) {
            assert_true(bound == 0.0);
            continue;
        }
        outside++;
        double spacing;
        double truth = true_min_distance(&b, plon, plat, &spacing);
        if (bound > truth)
            fail_msg("trial %d: point (%.12f, %.12f) box [%.12f %.12f %.12f %.12f]: bound %.9f "
                     "> true %.9f",
                     trial, plon, plat, b.minx, b.miny, b.maxx, b.maxy, bound, truth);
        /* Tight: within 0.5%, less what sampling may miss. */
        if (bound < 0.995 * (truth - spacing))
            fail_msg("trial %d: bound %.3f is loose against true %.3f (spacing %.3f)", trial, bound,
                     truth, spacing);
        if (truth > 10.0 * spacing)
            worst_ratio = fmin(worst_ratio, bound / truth);
    }
    printf("# %d boxes with the point outside; worst bound/true %.5f\n", outside, worst_ratio);
    assert_true(outside > 300);
}

static void min_distance_cases(void **state)
{
    (void)state;
    struct md_bbox beijing = {116.3, 39.8, 116.5, 40.0};
    assert_true(md_geod_min_distance_to_bbox(116.391, 39.907, &beijing) == 0.0);
    assert_true(md_geod_min_distance_to_bbox(116.3, 40.0, &beijing) == 0.0); /* corner */
    /* Due south of the box: the meridian arc to its southern edge. */
    double d = md_geod_distance(116.4, 39.7, 116.4, 39.8);
    double bound = md_geod_min_distance_to_bbox(116.4, 39.7, &beijing);
    assert_true(bound <= d && bound > 0.995 * d);
    /* East of the box: nearer the eastern edge's closest point than its corners. */
    d = md_geod_distance(117.0, 39.9, 116.5, 39.9);
    bound = md_geod_min_distance_to_bbox(117.0, 39.9, &beijing);
    assert_true(bound <= d && bound > 0.99 * d);

    /* Near the pole, where the bound is tightest. */
    struct md_bbox cap = {10.0, 89.0, 20.0, 89.5};
    d = md_geod_distance(15.0, 89.9, 15.0, 89.5);
    bound = md_geod_min_distance_to_bbox(15.0, 89.9, &cap);
    assert_true(bound <= d && bound > 0.9999 * d);
    d = md_geod_distance(-165.0, 89.9, 20.0, 89.5); /* across the pole to the nearer corner */
    bound = md_geod_min_distance_to_bbox(-165.0, 89.9, &cap);
    assert_true(bound <= d && bound > 0.999 * d);

    /* A box across the antimeridian (minx > maxx). */
    struct md_bbox fiji = {177.0, -19.0, -178.0, -15.0};
    assert_true(md_geod_min_distance_to_bbox(180.0, -17.0, &fiji) == 0.0);
    assert_true(md_geod_min_distance_to_bbox(-179.0, -17.0, &fiji) == 0.0);
    d = md_geod_distance(-179.0, -20.0, -179.0, -19.0);
    bound = md_geod_min_distance_to_bbox(-179.0, -20.0, &fiji);
    assert_true(bound <= d && bound > 0.99 * d);
    d = md_geod_distance(170.0, -17.0, 177.0, -17.05);
    bound = md_geod_min_distance_to_bbox(170.0, -17.0, &fiji);
    assert_true(bound > 0.99 * md_geod_distance(170.0, -17.0, 177.0, -17.0) - 1.0);
    assert_true(bound <= d);

    /* Whole-world and invalid boxes. */
    struct md_bbox world = {-180.0, -90.0, 180.0, 90.0};
    assert_true(md_geod_min_distance_to_bbox(33.0, -12.0, &world) == 0.0);
    struct md_bbox empty = {0.0, 10.0, 1.0, 5.0};
    assert_true(md_geod_min_distance_to_bbox(33.0, -12.0, &empty) == 0.0);
    struct md_bbox nan_box = {NAN, 0.0, 1.0, 1.0};
    assert_true(md_geod_min_distance_to_bbox(33.0, -12.0, &nan_box) == 0.0);
    assert_true(md_geod_min_distance_to_bbox(NAN, -12.0, &beijing) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_distances),
        cmocka_unit_test(distances_match_geod_cli),
        cmocka_unit_test(box_around_holds_the_circle),
        cmocka_unit_test(box_around_shapes),
        cmocka_unit_test(min_distance_is_a_tight_lower_bound),
        cmocka_unit_test(near_bounds_bracket_the_distance),
        cmocka_unit_test(min_distance_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
