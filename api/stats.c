/* stats.c - planner statistics over reports: /api/v1/stats and
 * /api/v1/hotspots.
 *
 * Both read the filtered reports once (md_store_stats_reports: one
 * statement, one snapshot, a callback per row) and aggregate in C.
 *
 * stats: groups by up to three of category (service code), group (大类),
 * district, status, kind, channel, day, week (ISO, starting Monday), month
 * - days in the city's time zone - and gives per group: count; open (not
 * yet handled: reported, filed, dispatched, in_progress); overdue (open and
 * past expected_at at `at`, default now); closed; closed_late (closed after
 * expected_at); and for closed reports the mean and p90 hours from
 * created_at to closed_at. p90 is the nearest-rank percentile: the
 * ceil(0.9 n)-th smallest.
 *
 * hotspots: counts on a grid of square or hexagonal cells `cell` metres
 * across, as GeoJSON polygons. The grid lives on a plane that is an affine
 * map of lon/lat around a reference point (lon0, lat0) - whole degrees,
 * from the area's centre - scaled by the WGS84 radii of curvature there:
 *     x = (lon - lon0) kx, y = (lat - lat0) ky,
 *     kx = N(lat0) cos(lat0) pi/180, ky = M(lat0) pi/180   (metres/degree).
 * Cells are therefore `cell` metres on the ground at lat0 (within ~1% over
 * a city) and their edges are straight lines in lon/lat, so a cell's
 * polygon holds exactly the points counted in it. Squares are
 * [i s, (i+1) s) x [j s, (j+1) s); hexagons are pointy-top with side s,
 * indexed by axial coordinates (q, r) with cube rounding.
 */
#include "queries.h"
#include "stats_read.h"
#include "workflow.h"
#include "geodesic.h"
#include "md_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 200000
#define MAX_DIMS 3

static md_err handle_stats(struct md_call *c);
static md_err handle_hotspots(struct md_call *c);

#define SCOPE_PARAMS                                                                               \
    "crs", "bbox", "category", "status", "district", "group", "kind", "from", "to"
static const char *const stats_params[] = {SCOPE_PARAMS, "by", "at", NULL};
static const char *const hotspots_params[] = {SCOPE_PARAMS, "cell", "shape", "limit", NULL};

const struct md_route md__stats_routes[] = {
    {"GET", "/api/v1/stats", false, handle_stats, "stats", NULL},
    {"GET", "/api/v1/hotspots", false, handle_hotspots, "hotspots", NULL},
};
const size_t md__stats_routes_count = sizeof(md__stats_routes) / sizeof(md__stats_routes[0]);

/* Common parameters: which reports (filters and an optional bbox, in
 * WGS84) and the CRS of the request. */
struct scope {
    struct md_stats_scope reports;
    enum md_crs crs;
};

static md_err parse_scope(struct md_call *c, struct scope *sc)
{
    struct md_stats_scope *r = &sc->reports;
    md_err rc = md__param_crs(c, &sc->crs);
    if (!rc)
        rc = md__param_filter(c, MD_LAYER_REPORTS, &r->filter);
    if (!rc)
        rc = md__param_bbox(c, "bbox", &r->box, &r->has_box);
    if (!rc && r->has_box && sc->crs != MD_CRS_WGS84) {
        struct md_bbox b = r->box;
        md_crs_to_wgs84(sc->crs, b.minx, b.miny, &r->box.minx, &r->box.miny);
        md_crs_to_wgs84(sc->crs, b.maxx, b.maxy, &r->box.maxx, &r->box.maxy);
    }
    return rc;
}

/* ---- a small string-keyed hash table of groups */

struct group {
    char *key; /* dims joined by '\x1f' */
    int64_t count, open, overdue, closed, closed_late;
    double close_sum_h;
    float *close_h; /* closed durations, hours */
    size_t nclose, capclose;
};

struct groups {
    struct group *v;
    size_t n, cap;
    size_t *slots; /* index + 1, 0 = empty */
    size_t nslots;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static md_err groups_rehash(struct groups *g, struct md_ctx *ctx)
{
    size_t n = g->nslots ? g->nslots * 2 : 1024;
    size_t *slots = calloc(n, sizeof(*slots));
    if (!slots)
        return md_fail(ctx, MD_ENOMEM, "stats groups");
    for (size_t i = 0; i < g->n; i++) {
        size_t s = hash_str(g->v[i].key) & (n - 1);
        while (slots[s])
            s = (s + 1) & (n - 1);
        slots[s] = i + 1;
    }
    free(g->slots);
    g->slots = slots;
    g->nslots = n;
    return MD_OK;
}

static md_err groups_get(struct groups *g, const char *key, struct group **out, struct md_ctx *ctx)
{
    if (!g->nslots || g->n * 2 >= g->nslots) {
        md_err rc = groups_rehash(g, ctx);
        if (rc)
            return rc;
    }
    size_t s = hash_str(key) & (g->nslots - 1);
    while (g->slots[s]) {
        struct group *e = &g->v[g->slots[s] - 1];
        if (strcmp(e->key, key) == 0) {
            *out = e;
            return MD_OK;
        }
        s = (s + 1) & (g->nslots - 1);
    }
    if (g->n >= MAX_GROUPS)
        return md_fail(ctx, MD_EINVAL, "more than %d groups: group by fewer or coarser fields",
                       MAX_GROUPS);
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        struct group *v = realloc(g->v, cap * sizeof(*v));
        if (!v)
            return md_fail(ctx, MD_ENOMEM, "stats groups");
        g->v = v;
        g->cap = cap;
    }
    struct group *e = &g->v[g->n];
    memset(e, 0, sizeof(*e));
    e->key = strdup(key);
    if (!e->key)
        return md_fail(ctx, MD_ENOMEM, "stats groups");
    g->slots[s] = ++g->n;
    *out = e;
    return MD_OK;
}

static void groups_free(struct groups *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].key);
        free(g->v[i].close_h);
    }
    free(g->v);
    free(g->slots);
}

static int group_cmp(const void *pa, const void *pb)
{
    return strcmp(((const struct group *)pa)->key, ((const struct group *)pb)->key);
}

static int float_cmp(const void *pa, const void *pb)
{
    float a = *(const float *)pa, b = *(const float *)pb;
    return a < b ? -1 : a > b;
}

/* ---- stats */

enum dim { D_CATEGORY, D_GROUP, D_DISTRICT, D_STATUS, D_KIND, D_CHANNEL, D_DAY, D_WEEK, D_MONTH };
static const char *const dim_names[] = {"category", "group", "district", "status", "kind",
                                        "channel", "day", "week", "month"};
#define NDIM_NAMES (sizeof(dim_names) / sizeof(dim_names[0]))

static md_err parse_by(struct md_call *c, enum dim *dims, int *ndims)
{
    const char *v = md__param(c, "by");
    *ndims = 0;
    if (!v || !*v)
        v = "category";
    const char *p = v;
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t i = 0;
        while (i < NDIM_NAMES && !(strlen(dim_names[i]) == n && strncmp(p, dim_names[i], n) == 0))
            i++;
        if (i == NDIM_NAMES)
            return md_fail(c->ctx, MD_EINVAL, "by must list up to %d of category, group, district,"
                                              " status, kind, channel, day, week, month", MAX_DIMS);
        if (*ndims == MAX_DIMS)
            return md_fail(c->ctx, MD_EINVAL, "by takes at most %d fields", MAX_DIMS);
        for (int k = 0; k < *ndims; k++) {
            if (dims[k] == (enum dim)i)
                return md_fail(c->ctx, MD_EINVAL, "by names %s twice", dim_names[i]);
        }
        dims[(*ndims)++] = (enum dim)i;
        p += n;
        if (*p == ',')
            p++;
    }
    return MD_OK;
}

static void time_key(enum dim d, int64_t t, int tz_min, char *out, size_t n)
{
    int64_t local = t + (int64_t)tz_min * 60;
    int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    if (d == D_WEEK) /* 1970-01-01 was a Thursday: Monday is days - (days + 3) mod 7 */
        days -= ((days + 3) % 7 + 7) % 7;
    int y;
    unsigned m, day;
    md_civil_from_days(days, &y, &m, &day);
    if (d == D_MONTH)
        snprintf(out, n, "%04d-%02u", y, m);
    else
        snprintf(out, n, "%04d-%02u-%02u", y, m, day);
}

static bool open_status(const char *s)
{
    return strcmp(s, "reported") == 0 || strcmp(s, "filed") == 0 ||
           strcmp(s, "dispatched") == 0 || strcmp(s, "in_progress") == 0;
}

/* The text column each of the first dimensions groups by (enum dim order). */
static const enum md_stats_text dim_text[] = {MD_STATS_CATEGORY, MD_STATS_GROUP, MD_STATS_DISTRICT,
                                              MD_STATS_STATUS,   MD_STATS_KIND,  MD_STATS_CHANNEL};

/* What add_row needs besides the row. */
struct stats_scan {
    struct md_call *c;
    const enum dim *dims;
    int ndims;
    int64_t at;
    struct groups *g;
    unsigned rows;
};

static md_err add_row(const struct md_stats_row *row, void *userdata)
{
    struct stats_scan *scan = userdata;
    struct md_call *c = scan->c;
    const enum dim *dims = scan->dims;
    char key[256];
    size_t len = 0;
    for (int i = 0; i < scan->ndims; i++) {
        char part[64];
        if (dims[i] >= D_DAY)
            time_key(dims[i], row->created_at, c->api->cfg->timezone_offset_min, part,
                     sizeof(part));
        else
            snprintf(part, sizeof(part), "%s", row->text[dim_text[dims[i]]]);
        int n = snprintf(key + len, sizeof(key) - len, "%s%s", i ? "\x1f" : "", part);
        if (n > 0 && (size_t)n < sizeof(key) - len)
            len += (size_t)n;
    }
    key[len] = '\0';
    struct group *e = NULL;
    md_err rc = groups_get(scan->g, key, &e, c->ctx);
    if (rc)
        return rc;
    const char *status = row->text[MD_STATS_STATUS];
    bool has_exp = row->has_expected_at;
    int64_t expected = row->expected_at;
    e->count++;
    if (open_status(status))
        e->open++;
    if (md_workflow_overdue(status, has_exp, expected, scan->at))
        e->overdue++;
    if (strcmp(status, "closed") == 0 && row->has_closed_at) {
        int64_t closed = row->closed_at;
        double hours = (double)(closed - row->created_at) / 3600.0;
        e->closed++;
        if (has_exp && closed > expected)
            e->closed_late++;
        e->close_sum_h += hours;
        if (e->nclose == e->capclose) {
            size_t cap = e->capclose ? e->capclose * 2 : 16;
            float *v = realloc(e->close_h, cap * sizeof(*v));
            if (!v)
                return md_fail(c->ctx, MD_ENOMEM, "stats");
            e->close_h = v;
            e->capclose = cap;
        }
        e->close_h[e->nclose++] = (float)hours;
    }
    return (++scan->rows & 1023) == 0 ? md_ctx_budget(c->ctx) : MD_OK;
}

static md_err write_group(struct md_buf *b, const struct group *e, const enum dim *dims,
                          int ndims)
{
    md_err rc = md_buf_putc(b, '{');
    const char *p = e->key;
    for (int i = 0; !rc && i < ndims; i++) {
        size_t n = strcspn(p, "\x1f");
        char part[64];
        snprintf(part, sizeof(part), "%.*s", (int)n, p);
        rc = md_buf_printf(b, "\"%s\":", dim_names[dims[i]]);
        if (!rc)
            rc = md_buf_json_str(b, part);
        if (!rc)
            rc = md_buf_putc(b, ',');
        p += n + (p[n] ? 1 : 0);
    }
    if (!rc)
        rc = md_buf_printf(b, "\"count\":%lld,\"open\":%lld,\"overdue\":%lld,\"closed\":%lld,"
                              "\"closed_late\":%lld,\"close_hours_mean\":",
                           (long long)e->count, (long long)e->open, (long long)e->overdue,
                           (long long)e->closed, (long long)e->closed_late);
    if (!rc)
        rc = e->nclose ? md_buf_printf(b, "%.4f", e->close_sum_h / (double)e->nclose)
                       : md_buf_puts(b, "null");
    if (!rc)
        rc = md_buf_puts(b, ",\"close_hours_p90\":");
    if (!rc && e->nclose) {
        qsort(e->close_h, e->nclose, sizeof(float), float_cmp);
        size_t rank = (9 * e->nclose + 9) / 10; /* ceil(0.9 n), 1-based */
        rc = md_buf_printf(b, "%.4f", (double)e->close_h[rank - 1]);
    } else if (!rc) {
        rc = md_buf_puts(b, "null");
    }
    return rc ? rc : md_buf_putc(b, '}');
}

static md_err handle_stats(struct md_call *c)
{
    md_err params_rc = md__params_only(c, stats_params);
    if (params_rc)
        return params_rc;
    struct scope sc;
    enum dim dims[MAX_DIMS];
    int ndims = 0;
    int64_t at = md_time_now();
    bool has_at = false;
    struct groups g = {0};
    md_err rc = parse_scope(c, &sc);
    if (!rc)
        rc = parse_by(c, dims, &ndims);
    if (!rc)
        rc = md__param_time(c, "at", &at, &has_at);
    if (rc)
        return rc;
    struct group total = {0};
    /* the times, the status and the text columns grouped by */
    unsigned columns = MD_STATS_COL_TIMES | MD_STATS_COL_TEXT(MD_STATS_STATUS);
    for (int i = 0; i < ndims; i++)
        if (dims[i] < D_DAY)
            columns |= MD_STATS_COL_TEXT(dim_text[dims[i]]);
    struct stats_scan scan = {c, dims, ndims, at, &g, 0};
    rc = md_store_stats_reports(c->w->store, &sc.reports, columns, add_row, &scan, c->ctx);
    if (rc)
        goto out;
    if (g.n > 1) /* g.v is NULL when no report matched: qsort(NULL, 0) is undefined */
        qsort(g.v, g.n, sizeof(*g.v), group_cmp);
    for (size_t i = 0; i < g.n; i++) {
        total.count += g.v[i].count;
        total.open += g.v[i].open;
        total.overdue += g.v[i].overdue;
        total.closed += g.v[i].closed;
        total.closed_late += g.v[i].closed_late;
    }
    struct md_buf *b = &c->res->body;
    char ts[MD_TIME_STR_MAX];
    md_time_format(at, c->api->cfg->timezone_offset_min, ts);
    rc = md_buf_puts(b, "{\"by\":[");
    for (int i = 0; !rc && i < ndims; i++)
        rc = md_buf_printf(b, "%s\"%s\"", i ? "," : "", dim_names[dims[i]]);
    if (!rc)
        rc = md_buf_printf(b, "],\"at\":\"%s\",\"total\":{\"count\":%lld,\"open\":%lld,"
                              "\"overdue\":%lld,\"closed\":%lld,\"closed_late\":%lld},\"groups\":[",
                           ts, (long long)total.count, (long long)total.open,
                           (long long)total.overdue, (long long)total.closed,
                           (long long)total.closed_late);
    for (size_t i = 0; !rc && i < g.n; i++) {
        if (i)
            rc = md_buf_putc(b, ',');
        if (!rc)
            rc = write_group(b, &g.v[i], dims, ndims);
    }
    if (!rc)
        rc = md_buf_puts(b, "]}\n");
    if (rc && !c->ctx->err)
        rc = md_fail(c->ctx, rc, "stats response too large");
out:
    groups_free(&g);
    return rc;
}

/* ---- hotspots */

struct plane {
    double lon0, lat0, kx, ky, s;
    bool hex;
};

static void plane_init(struct plane *p, double clon, double clat, double cell, bool hex)
{
    double phi = round(clat) * M_PI / 180.0;
    double e2 = MD_WGS84_F * (2.0 - MD_WGS84_F);
    double w = sqrt(1.0 - e2 * sin(phi) * sin(phi));
    double n_radius = MD_WGS84_A / w, m_radius = MD_WGS84_A * (1.0 - e2) / (w * w * w);
    p->lon0 = round(clon);
    p->lat0 = round(clat);
    p->kx = n_radius * cos(phi) * M_PI / 180.0;
    p->ky = m_radius * M_PI / 180.0;
    p->s = cell;
    p->hex = hex;
}

/* Cell of a point: squares (i, j); hexagons axial (q, r). */
static void plane_cell(const struct plane *p, double lon, double lat, int64_t *a, int64_t *b)
{
    double x = (lon - p->lon0) * p->kx, y = (lat - p->lat0) * p->ky;
    if (!p->hex) {
        *a = (int64_t)floor(x / p->s);
        *b = (int64_t)floor(y / p->s);
        return;
    }
    double qf = (sqrt(3.0) / 3.0 * x - y / 3.0) / p->s, rf = (2.0 / 3.0 * y) / p->s;
    double sf = -qf - rf;
    double q = round(qf), r = round(rf), s = round(sf);
    double dq = fabs(q - qf), dr = fabs(r - rf), ds = fabs(s - sf);
    if (dq > dr && dq > ds)
        q = -r - s;
    else if (dr > ds)
        r = -q - s;
    *a = (int64_t)q;
    *b = (int64_t)r;
}

static void plane_to_lonlat(const struct plane *p, double x, double y, double *lon, double *lat)
{
    *lon = p->lon0 + x / p->kx;
    *lat = p->lat0 + y / p->ky;
}

struct cell {
    int64_t a, b, count;
};

static int cell_cmp(const void *pa, const void *pb)
{
    const struct cell *x = pa, *y = pb;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return x->b < y->b ? -1 : x->b > y->b;
}

static md_err write_cell(struct md_buf *b, const struct plane *p, const struct cell *cl,
                         enum md_crs crs)
{
    double xs[7], ys[7];
    int nv;
    if (p->hex) {
        double cx = p->s * sqrt(3.0) * ((double)cl->a + (double)cl->b / 2.0);
        double cy = p->s * 1.5 * (double)cl->b;
        for (int i = 0; i < 6; i++) {
            double ang = (60.0 * i - 30.0) * M_PI / 180.0;
            xs[i] = cx + p->s * cos(ang);
            ys[i] = cy + p->s * sin(ang);
        }
        nv = 6;
    } else {
        double x0 = (double)cl->a * p->s, y0 = (double)cl->b * p->s;
        double sx[] = {x0, x0 + p->s, x0 + p->s, x0}, sy[] = {y0, y0, y0 + p->s, y0 + p->s};
        memcpy(xs, sx, sizeof(sx));
        memcpy(ys, sy, sizeof(sy));
        nv = 4;
    }
    md_err rc = md_buf_puts(b, "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\","
                               "\"coordinates\":[[");
    for (int i = 0; !rc && i <= nv; i++) {
        double lon, lat;
        plane_to_lonlat(p, xs[i % nv], ys[i % nv], &lon, &lat);
        md_crs_from_wgs84(crs, lon, lat, &lon, &lat);
        rc = md_buf_puts(b, i ? ",[" : "[");
        if (!rc)
            rc = md__put_double(b, lon);
        if (!rc)
            rc = md_buf_putc(b, ',');
        if (!rc)
            rc = md__put_double(b, lat);
        if (!rc)
            rc = md_buf_putc(b, ']');
    }
    if (!rc)
        rc = md_buf_printf(b, "]]},\"properties\":{\"count\":%lld,\"%s\":%lld,\"%s\":%lld}}",
                           (long long)cl->count, p->hex ? "q" : "i", (long long)cl->a,
                           p->hex ? "r" : "j", (long long)cl->b);
    return rc;
}

/* What count_cell needs besides the row. */
struct hotspot_scan {
    struct md_call *c;
    const struct plane *p;
    struct groups *g;
    int64_t total;
};

static md_err count_cell(const struct md_stats_row *row, void *userdata)
{
    struct hotspot_scan *scan = userdata;
    md_err rc;
    if ((scan->total & 1023) == 1023 && (rc = md_ctx_budget(scan->c->ctx)))
        return rc;
    int64_t a, bb;
    plane_cell(scan->p, row->lon, row->lat, &a, &bb);
    char key[48];
    snprintf(key, sizeof(key), "%lld,%lld", (long long)a, (long long)bb);
    struct group *e = NULL;
    rc = groups_get(scan->g, key, &e, scan->c->ctx);
    if (!rc)
        e->count++;
    scan->total++;
    return rc;
}

static md_err handle_hotspots(struct md_call *c)
{
    md_err params_rc = md__params_only(c, hotspots_params);
    if (params_rc)
        return params_rc;
    struct scope sc;
    double cell = 500;
    const char *shape = "hex";
    int64_t max_cells = 10000;
    md_err rc = parse_scope(c, &sc);
    if (!rc)
        rc = md__param_double(c, "cell", false, &cell);
    if (!rc && !(cell >= 10 && cell <= 100000))
        rc = md_fail(c->ctx, MD_EINVAL, "cell must be between 10 and 100000 metres, got %g", cell);
    if (!rc)
        rc = md__param_str(c, "shape", false, 8, &shape);
    if (!rc && strcmp(shape, "hex") != 0 && strcmp(shape, "square") != 0)
        rc = md_fail(c->ctx, MD_EINVAL, "shape must be hex or square");
    if (!rc)
        rc = md__param_int(c, "limit", false, 1, 100000, &max_cells);
    if (rc)
        return rc;
    /* The reference point: the bbox's centre, else Beijing's centre of data. */
    struct plane p;
    const struct md_stats_scope *r = &sc.reports;
    double clon = r->has_box ? (r->box.minx + r->box.maxx) / 2 : 116.4;
    double clat = r->has_box ? (r->box.miny + r->box.maxy) / 2 : 39.9;
    plane_init(&p, clon, clat, cell, strcmp(shape, "hex") == 0);

    struct groups g = {0};
    struct hotspot_scan scan = {c, &p, &g, 0};
    rc = md_store_stats_reports(c->w->store, &sc.reports, MD_STATS_COL_POINT, count_cell, &scan,
                                c->ctx);
    int64_t total = scan.total;
    struct cell *cells = NULL;
    if (!rc && g.n) {
        cells = malloc(g.n * sizeof(*cells));
        if (!cells)
            rc = md_fail(c->ctx, MD_ENOMEM, "hotspots");
    }
    for (size_t i = 0; !rc && i < g.n; i++) {
        long long a, bb;
        sscanf(g.v[i].key, "%lld,%lld", &a, &bb);
        cells[i] = (struct cell){a, bb, g.v[i].count};
    }
    if (rc)
        goto out;
    if (g.n > 1)
        qsort(cells, g.n, sizeof(*cells), cell_cmp);
    struct md_buf *b = &c->res->body;
    size_t n = g.n < (size_t)max_cells ? g.n : (size_t)max_cells;
    rc = md_buf_printf(b, "{\"type\":\"FeatureCollection\",\"shape\":\"%s\",\"cell_m\":%g,"
                          "\"origin\":[%g,%g],\"scale_m_per_deg\":[%.17g,%.17g],\"total\":%lld,"
                          "\"cells\":%zu,\"numberReturned\":%zu,\"crs_name\":\"%s\",\"features\":[",
                       shape, cell, p.lon0, p.lat0, p.kx, p.ky, (long long)total, g.n, n,
                       md_crs_name(sc.crs));
    for (size_t i = 0; !rc && i < n; i++) {
        if (i)
            rc = md_buf_putc(b, ',');
        if (!rc)
            rc = write_cell(b, &p, &cells[i], sc.crs);
    }
    if (!rc)
        rc = md_buf_puts(b, "]}\n");
    if (rc && !c->ctx->err)
        rc = md_fail(c->ctx, rc, "hotspots response too large: use bigger cells or a limit");
    if (!rc)
        c->res->content_type = "application/geo+json";
out:
    free(cells);
    groups_free(&g);
    return rc;
}
