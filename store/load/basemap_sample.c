/* basemap_sample.c - the sample city's synthetic base map of Beijing
 * (basemap_sample.h).
 *
 * No OSM extract can be fetched where the sample is built, so this draws an
 * approximate one from a few hundred numbers: the 2nd to 6th ring roads as
 * rounded rectangles at about their real extents, Chang'an Avenue and the
 * central axis, the main radial expressways, two railways and two subway
 * lines, a street grid with buildings inside the 2nd ring, the main rivers,
 * lakes and parks, and place names. Pure arithmetic: no randomness, so the
 * same every time. Its attribution says it is approximate and synthetic.
 */
#include "basemap_sample.h"
#include "md_buf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SAMPLE_ATTRIBUTION                                                                         \
    "Base map: mapd synthetic sample of Beijing (approximate, not survey data)"

struct pt {
    double x, y;
};

struct sample {
    struct md_basemap_load *l;
    struct md_buf wkb;
    struct md_ctx *ctx;
    int serial;
};

/* ---- ISO WKB, little endian ------------------------------------------------- */

static md_err put_u32(struct md_buf *b, uint32_t v)
{
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24)};
    return md_buf_append(b, le, 4);
}

static md_err put_pts(struct md_buf *b, const struct pt *p, size_t n)
{
    md_err rc = put_u32(b, (uint32_t)n);
    for (size_t i = 0; !rc && i < n; i++) {
        double xy[2] = {p[i].x, p[i].y}; /* x86/ARM little endian, as the byte order says */
        rc = md_buf_append(b, xy, sizeof(xy));
    }
    return rc;
}

static md_err add(struct sample *s, const char *kind, const char *klass, const char *name,
                  const char *name_en, int type, const struct pt *p, size_t n)
{
    md_buf_reset(&s->wkb);
    md_err rc = md_buf_putc(&s->wkb, 1);
    if (!rc)
        rc = put_u32(&s->wkb, (uint32_t)type);
    if (type == 1)
        rc = rc ? rc : md_buf_append(&s->wkb, (double[2]){p[0].x, p[0].y}, 16);
    else if (type == 2)
        rc = rc ? rc : put_pts(&s->wkb, p, n);
    else if (!rc) {
        rc = put_u32(&s->wkb, 1); /* one ring, closed */
        if (!rc)
            rc = put_pts(&s->wkb, p, n);
    }
    if (rc)
        return md_fail(s->ctx, MD_ENOMEM, "sample base map geometry");
    struct md_bbox bb = {p[0].x, p[0].y, p[0].x, p[0].y};
    for (size_t i = 1; i < n; i++) {
        bb.minx = fmin(bb.minx, p[i].x);
        bb.maxx = fmax(bb.maxx, p[i].x);
        bb.miny = fmin(bb.miny, p[i].y);
        bb.maxy = fmax(bb.maxy, p[i].y);
    }
    char key[32];
    snprintf(key, sizeof(key), "sample:%d", ++s->serial);
    struct md_basemap_feature f = {.src_key = key,
                                   .kind = kind,
                                   .klass = klass,
                                   .name = name,
                                   .name_en = name_en,
                                   .wkb = (const unsigned char *)s->wkb.data,
                                   .wkb_len = s->wkb.len,
                                   .bbox = bb};
    f.min_zoom = md_basemap_min_zoom(kind, klass, &bb);
    return md_store_basemap_put(s->l, &f, s->ctx);
}

static md_err line(struct sample *s, const char *kind, const char *klass, const char *name,
                   const char *en, const struct pt *p, size_t n)
{
    return add(s, kind, klass, name, en, 2, p, n);
}

/* A closed rounded rectangle (ring roads, parks) or ellipse (lakes, r = 1). */
#define SHAPE_PTS 97
static void rounded(struct pt c, double rx, double ry, double corner, struct pt out[SHAPE_PTS])
{
    for (int i = 0; i < SHAPE_PTS - 1; i++) {
        double a = 2 * M_PI * i / (SHAPE_PTS - 1);
        double ca = cos(a), sa = sin(a);
        /* superellipse |x|^p + |y|^p = 1: p = 2 ellipse, larger = squarer */
        double p = 2.0 / corner;
        double x = copysign(pow(fabs(ca), p), ca), y = copysign(pow(fabs(sa), p), sa);
        out[i] = (struct pt){c.x + rx * x, c.y + ry * y};
    }
    out[SHAPE_PTS - 1] = out[0];
}

static md_err area(struct sample *s, const char *kind, const char *klass, const char *name,
                   const char *en, struct pt c, double rx, double ry, double corner)
{
    struct pt p[SHAPE_PTS];
    rounded(c, rx, ry, corner, p);
    return add(s, kind, klass, name, en, 3, p, SHAPE_PTS);
}

static md_err rect(struct sample *s, const char *kind, const char *klass, double x0, double y0,
                   double x1, double y1)
{
    struct pt p[5] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}};
    return add(s, kind, klass, NULL, NULL, 3, p, 5);
}

/* ---- Beijing ------------------------------------------------------------------ */

struct ring {
    const char *name, *en, *klass;
    double x0, y0, x1, y1;
};

static const struct ring rings[] = {
    {"二环路", "2nd Ring Road", "trunk", 116.355, 39.865, 116.440, 39.950},
    {"三环路", "3rd Ring Road", "trunk", 116.305, 39.835, 116.465, 39.968},
    {"四环路", "4th Ring Road", "motorway", 116.270, 39.820, 116.490, 39.990},
    {"五环路", "5th Ring Road", "motorway", 116.205, 39.765, 116.550, 40.025},
    {"六环路", "6th Ring Road", "motorway", 116.050, 39.680, 116.720, 40.180},
};

struct path {
    const char *kind, *klass, *name, *en;
    struct pt p[6];
};

/* Radial expressways, the two axes, railways, subways, rivers (0,0 ends a list). */
static const struct path paths[] = {
    {"road",
     "primary",
     "长安街",
     "Chang'an Avenue",
     {{116.220, 39.9075}, {116.3975, 39.9075}, {116.580, 39.9075}}},
    {"road", "primary", "中轴路", "Central Axis Road", {{116.3975, 39.855}, {116.3975, 39.898}}},
    {"road",
     "primary",
     "鼓楼外大街",
     "Central Axis (north)",
     {{116.3975, 39.940}, {116.3975, 40.005}}},
    {"road", "primary", "平安大街", "Ping'an Avenue", {{116.355, 39.935}, {116.440, 39.935}}},
    {"road", "primary", "两广路", "Liangguang Road", {{116.355, 39.885}, {116.440, 39.885}}},
    {"road",
     "motorway",
     "京藏高速",
     "Jingzang Expressway",
     {{116.375, 39.968}, {116.330, 40.040}, {116.200, 40.180}}},
    {"road",
     "motorway",
     "京承高速",
     "Jingcheng Expressway",
     {{116.470, 39.990}, {116.530, 40.070}, {116.620, 40.180}}},
    {"road",
     "motorway",
     "机场高速",
     "Airport Expressway",
     {{116.445, 39.960}, {116.520, 40.010}, {116.590, 40.070}}},
    {"road",
     "motorway",
     "京哈高速",
     "Jingha Expressway",
     {{116.490, 39.890}, {116.600, 39.880}, {116.720, 39.860}}},
    {"road",
     "motorway",
     "京津塘高速",
     "Jingjintang Expressway",
     {{116.465, 39.850}, {116.560, 39.780}, {116.650, 39.700}}},
    {"road",
     "motorway",
     "京开高速",
     "Jingkai Expressway",
     {{116.370, 39.835}, {116.350, 39.760}, {116.330, 39.680}}},
    {"road",
     "motorway",
     "京港澳高速",
     "Jinggang'ao Expressway",
     {{116.305, 39.860}, {116.220, 39.780}, {116.120, 39.700}}},
    {"road",
     "trunk",
     "阜石路",
     "Fushi Road",
     {{116.305, 39.928}, {116.180, 39.935}, {116.050, 39.950}}},
    {"road",
     "trunk",
     "京通快速路",
     "Jingtong Expressway",
     {{116.465, 39.905}, {116.580, 39.905}, {116.720, 39.905}}},
    {"rail",
     "rail",
     "京广铁路",
     "Beijing-Guangzhou Railway",
     {{116.322, 39.894}, {116.200, 39.800}, {116.100, 39.650}}},
    {"rail",
     "rail",
     "京哈铁路",
     "Beijing-Harbin Railway",
     {{116.427, 39.903}, {116.550, 39.898}, {116.720, 39.880}}},
    {"rail", "subway", "地铁1号线", "Subway Line 1", {{116.180, 39.9065}, {116.680, 39.9065}}},
    {"waterway",
     "river",
     "永定河",
     "Yongding River",
     {{115.950, 40.020},
      {116.100, 39.950},
      {116.180, 39.850},
      {116.250, 39.720},
      {116.350, 39.550}}},
    {"waterway",
     "river",
     "温榆河",
     "Wenyu River",
     {{116.400, 40.150}, {116.550, 40.050}, {116.680, 39.920}, {116.750, 39.780}}},
    {"waterway",
     "canal",
     "通惠河",
     "Tonghui River",
     {{116.440, 39.9085}, {116.550, 39.9055}, {116.680, 39.9000}}},
    {"waterway",
     "river",
     "凉水河",
     "Liangshui River",
     {{116.300, 39.860}, {116.400, 39.840}, {116.520, 39.800}, {116.650, 39.760}}},
    {"waterway",
     "river",
     "清河",
     "Qing River",
     {{116.280, 40.030}, {116.400, 40.032}, {116.500, 40.000}}},
    {"waterway",
     "canal",
     "京密引水渠",
     "Jingmi Canal",
     {{116.270, 40.000}, {116.300, 39.950}, {116.310, 39.920}}},
};

struct blob {
    const char *kind, *klass, *name, *en;
    double x, y, rx, ry, corner;
};

static const struct blob blobs[] = {
    {"green", "park", "颐和园", "Summer Palace", 116.270, 39.999, 0.012, 0.011, 1.6},
    {"green", "park", "奥林匹克森林公园", "Olympic Forest Park", 116.390, 40.022, 0.014, 0.012,
     1.6},
    {"green", "park", "天坛公园", "Temple of Heaven Park", 116.410, 39.882, 0.007, 0.007, 1.8},
    {"green", "park", "景山公园", "Jingshan Park", 116.3965, 39.9255, 0.0025, 0.0022, 1.8},
    {"green", "park", "朝阳公园", "Chaoyang Park", 116.478, 39.943, 0.008, 0.008, 1.4},
    {"green", "park", "玉渊潭公园", "Yuyuantan Park", 116.318, 39.917, 0.009, 0.005, 1.4},
    {"water", "lake", "昆明湖", "Kunming Lake", 116.268, 39.996, 0.008, 0.007, 1},
    {"water", "lake", "什刹海", "Shichahai", 116.385, 39.940, 0.004, 0.003, 1},
    {"water", "lake", "北海", "Beihai Lake", 116.389, 39.926, 0.0025, 0.004, 1},
    {"water", "lake", "中南海", "Zhongnanhai", 116.384, 39.913, 0.0022, 0.005, 1},
    {"water", "lake", "玉渊潭", "Yuyuantan Lake", 116.318, 39.917, 0.005, 0.0025, 1},
    {"water", "lake", "龙潭湖", "Longtan Lake", 116.442, 39.878, 0.003, 0.0025, 1},
    {"water", "lake", "奥林匹克湖", "Olympic Lake", 116.392, 40.024, 0.003, 0.005, 1},
};

struct place {
    const char *klass, *name, *en;
    double x, y;
};

static const struct place places[] = {
    {"city", "北京", "Beijing", 116.4074, 39.9042},
    {"suburb", "天安门", "Tiananmen", 116.3975, 39.9087},
    {"suburb", "王府井", "Wangfujing", 116.411, 39.914},
    {"suburb", "国贸", "Guomao", 116.461, 39.909},
    {"suburb", "中关村", "Zhongguancun", 116.316, 39.983},
    {"suburb", "望京", "Wangjing", 116.470, 39.996},
    {"suburb", "西单", "Xidan", 116.374, 39.907},
    {"suburb", "前门", "Qianmen", 116.398, 39.899},
    {"suburb", "三里屯", "Sanlitun", 116.455, 39.937},
    {"suburb", "五道口", "Wudaokou", 116.338, 39.992},
};

static md_err add_rings(struct sample *s)
{
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < sizeof(rings) / sizeof(rings[0]); i++) {
        const struct ring *r = &rings[i];
        struct pt p[SHAPE_PTS];
        rounded((struct pt){(r->x0 + r->x1) / 2, (r->y0 + r->y1) / 2}, (r->x1 - r->x0) / 2,
                (r->y1 - r->y0) / 2, 0.35, p);
        rc = line(s, "road", r->klass, r->name, r->en, p, SHAPE_PTS);
    }
    /* Subway Line 2 runs under the 2nd ring. */
    if (!rc) {
        struct pt p[SHAPE_PTS];
        rounded((struct pt){116.3975, 39.9075}, 0.0405, 0.0405, 0.3, p);
        rc = line(s, "rail", "subway", "地铁2号线", "Subway Line 2", p, SHAPE_PTS);
    }
    return rc;
}

static md_err add_paths(struct sample *s)
{
    md_err rc = MD_OK;
    for (size_t i = 0; !rc && i < sizeof(paths) / sizeof(paths[0]); i++) {
        size_t n = 0;
        while (n < 6 && (paths[i].p[n].x != 0 || paths[i].p[n].y != 0))
            n++;
        rc = line(s, paths[i].kind, paths[i].klass, paths[i].name, paths[i].en, paths[i].p, n);
    }
    for (size_t i = 0; !rc && i < sizeof(blobs) / sizeof(blobs[0]); i++) {
        const struct blob *b = &blobs[i];
        rc = area(s, b->kind, b->klass, b->name, b->en, (struct pt){b->x, b->y}, b->rx, b->ry,
                  b->corner);
    }
    for (size_t i = 0; !rc && i < sizeof(places) / sizeof(places[0]); i++) {
        const struct place *p = &places[i];
        rc = add(s, "place", p->klass, p->name, p->en, 1, &(struct pt){p->x, p->y}, 1);
    }
    return rc;
}

/* Inside the 2nd ring: east-west hutong-like streets ("东四三条") every
 * 0.004 degrees, north-south lanes every 0.006, tertiary roads every fourth
 * line, and two small buildings per block, away from the palace and lakes. */
#define CORE_X0 116.358
#define CORE_X1 116.437
#define CORE_Y0 39.868
#define CORE_Y1 39.947
static const char *const numerals[] = {"头", "二", "三", "四", "五", "六", "七", "八", "九", "十"};

static bool in_palace_or_lakes(double x, double y)
{
    return (x > 116.378 && x < 116.402 && y > 39.904 && y < 39.945);
}

static md_err add_grid(struct sample *s)
{
    md_err rc = MD_OK;
    int row = 0;
    char name[64], en[64];
    for (double y = CORE_Y0 + 0.004; !rc && y < CORE_Y1 - 0.002; y += 0.004, row++) {
        bool major = row % 4 == 3;
        for (int side = 0; !rc && side < 2; side++) {
            snprintf(name, sizeof(name), "%s四%s条", side ? "东" : "西", numerals[row % 10]);
            snprintf(en, sizeof(en), "%s Street %d", side ? "East" : "West", row + 1);
            struct pt p[2] = {{side ? 116.4025 : CORE_X0, y}, {side ? CORE_X1 : 116.3925, y}};
            if (fabs(y - 39.9075) < 0.002)
                continue; /* Chang'an Avenue */
            rc = line(s, "road", major ? "tertiary" : "residential", name, en, p, 2);
        }
    }
    int col = 0;
    for (double x = CORE_X0 + 0.006; !rc && x < CORE_X1 - 0.003; x += 0.006, col++) {
        if (fabs(x - 116.3975) < 0.004)
            continue; /* the axis */
        snprintf(name, sizeof(name), "南北%s巷", numerals[col % 10]);
        snprintf(en, sizeof(en), "Lane %d", col + 1);
        struct pt p[2] = {{x, CORE_Y0}, {x, CORE_Y1}};
        rc = line(s, "road", col % 3 == 1 ? "tertiary" : "residential", name, en, p, 2);
    }
    for (double y = CORE_Y0 + 0.0045; !rc && y < CORE_Y1 - 0.004; y += 0.004) {
        for (double x = CORE_X0 + 0.0008; !rc && x < CORE_X1 - 0.006; x += 0.006) {
            if (in_palace_or_lakes(x, y) || fabs(y + 0.0015 - 39.9075) < 0.003)
                continue;
            rc = rect(s, "building", "building", x + 0.0006, y + 0.0005, x + 0.0024, y + 0.0017);
            if (!rc)
                rc =
                    rect(s, "building", "building", x + 0.0032, y + 0.0009, x + 0.0050, y + 0.0027);
        }
    }
    return rc;
}

md_err md_basemap_sample(struct md_store *s, int64_t now, struct md_basemap_summary *out,
                         struct md_ctx *ctx)
{
    struct sample g = {.ctx = ctx};
    md_buf_init(&g.wkb, 1 << 20);
    md_err rc = md_store_basemap_begin(s, SAMPLE_ATTRIBUTION, now, &g.l, ctx);
    if (!rc)
        rc = add_rings(&g);
    if (!rc)
        rc = add_paths(&g);
    if (!rc)
        rc = add_grid(&g);
    if (!rc) {
        rc = md_store_basemap_end(g.l, out, ctx);
        g.l = NULL;
    }
    md_store_basemap_abort(g.l);
    md_buf_free(&g.wkb);
    return rc;
}
