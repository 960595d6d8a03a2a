/* sample.c - the deterministic sample city (see sample.h).
 *
 * Randomness: xoshiro256** seeded through splitmix64, so a seed gives the
 * same stream on every machine; no time() or rand() anywhere. Points are
 * drawn from a mixture: 55% a Gaussian around the urban core, 45% a
 * Gaussian around a district's centre (outer districts weighted by size),
 * and redrawn until they fall in a district grid cell.
 *
 * Reports walk the case workflow (reported -> filed -> dispatched ->
 * in_progress -> handled -> closed, with rejections, rework and parking) in
 * time from their creation; the walk stops at the anchor, so old cases are
 * mostly closed and recent ones open, and history rows match the status.
 */
#include "sample.h"
#include "workflow.h"
#include "basemap_sample.h"
#include "areas.h"
#include "calendar.h"
#include "md_buf.h"
#include "store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

/* Standard normal by Box-Muller (one value per call, deterministic). */
static double rng_normal(struct rng *r)
{
    double u1 = rng_unit(r), u2 = rng_unit(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static size_t pick_weighted(struct rng *r, const double *w, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    double x = rng_unit(r) * total;
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

struct place {
    double lon, lat;
    size_t district;
    char grid[MD_GRID_CODE_MAX];
};

struct gen {
    struct md_store *s;
    const struct md_areas *areas;
    const struct md_sample_opts *o;
    struct rng rng;
    double *district_weight;
    struct md_calendar cal;
    /* categories from the store */
    char (*cat_code)[8];
    char (*cat_unit)[8];
    char (*cat_name)[64];
    int *cat_deadline;
    bool *cat_is_correction;
    size_t ncat;
    char (*fcat)[32];
    size_t nfcat;
    /* facility positions, for corrections */
    double *fac_lon, *fac_lat;
    int64_t nfac;
};

static const char *const roads[] = {
    "长安街", "建国路", "朝阳路", "东四环", "西直门外大街", "中关村大街", "学院路", "丰台路",
    "京顺路", "通惠河北路", "阜成路", "广安门内大街", "南三环", "北辰路", "望京街", "双井路",
    "花园路", "复兴路", "新街口外大街", "马甸路", "亦庄路", "良乡大街", "府前街", "鼓楼大街"};
#define NROADS (sizeof(roads) / sizeof(roads[0]))

static void draw_place(struct gen *g, struct place *p)
{
    size_t nd = md_areas_district_count(g->areas);
    for (;;) {
        double lon, lat;
        if (rng_unit(&g->rng) < 0.55) {
            lon = 116.40 + rng_normal(&g->rng) * 0.075;
            lat = 39.91 + rng_normal(&g->rng) * 0.06;
        } else {
            const struct md_district_info *d =
                md_areas_district(g->areas, pick_weighted(&g->rng, g->district_weight, nd));
            lon = d->label_lon + rng_normal(&g->rng) * 0.07;
            lat = d->label_lat + rng_normal(&g->rng) * 0.055;
        }
        /* 1e-6 degrees (~0.1 m) is finer than any phone's GPS; rounding keeps
         * values identical after a text round trip. */
        lon = round(lon * 1e6) / 1e6;
        lat = round(lat * 1e6) / 1e6;
        if (md_areas_locate(g->areas, lon, lat, &p->district, p->grid) == MD_OK && p->grid[0]) {
            p->lon = lon;
            p->lat = lat;
            return;
        }
    }
}

static md_err load_categories(struct gen *g, struct md_ctx *ctx)
{
    static const char csql[] = "SELECT code, deadline_unit, name_zh, deadline_value, kind"
                               " FROM categories ORDER BY code";
    static const char fsql[] = "SELECT code FROM facility_categories ORDER BY sort, code";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(g->s, csql, &st, ctx);
    if (rc)
        return rc;
    size_t cap = 64;
    g->cat_code = calloc(cap, sizeof(*g->cat_code));
    g->cat_unit = calloc(cap, sizeof(*g->cat_unit));
    g->cat_name = calloc(cap, sizeof(*g->cat_name));
    g->cat_deadline = calloc(cap, sizeof(*g->cat_deadline));
    g->cat_is_correction = calloc(cap, sizeof(*g->cat_is_correction));
    g->fcat = calloc(cap, sizeof(*g->fcat));
    if (!g->cat_code || !g->cat_unit || !g->cat_name || !g->cat_deadline ||
        !g->cat_is_correction || !g->fcat)
        return md_fail(ctx, MD_ENOMEM, "categories");
    int src = SQLITE_DONE;
    while (g->ncat < cap && (src = sqlite3_step(st)) == SQLITE_ROW) {
        snprintf(g->cat_code[g->ncat], 8, "%s", sqlite3_column_text(st, 0));
        snprintf(g->cat_unit[g->ncat], 8, "%s", sqlite3_column_text(st, 1));
        snprintf(g->cat_name[g->ncat], 64, "%s", sqlite3_column_text(st, 2));
        g->cat_deadline[g->ncat] = sqlite3_column_int(st, 3);
        g->cat_is_correction[g->ncat] =
            strcmp((const char *)sqlite3_column_text(st, 4), "correction") == 0;
        g->ncat++;
    }
    sqlite3_reset(st);
    if (g->ncat < cap && src != SQLITE_DONE)
        return md_store_fail(g->s, src, "categories", ctx);
    rc = md_store_stmt(g->s, fsql, &st, ctx);
    if (rc)
        return rc;
    while (g->nfcat < cap && (src = sqlite3_step(st)) == SQLITE_ROW)
        snprintf(g->fcat[g->nfcat++], 32, "%s", sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (g->nfcat < cap && src != SQLITE_DONE)
        return md_store_fail(g->s, src, "facility categories", ctx);
    if (g->ncat == 0 || g->nfcat == 0)
        return md_fail(ctx, MD_EINVAL, "no categories in the database: run `mapd init` first");
    return MD_OK;
}

static void progress(struct gen *g, const char *what, int64_t done, int64_t total)
{
    if (g->o->progress && total > 0 && (done % 50000 == 0 || done == total))
        fprintf(g->o->progress, "\r%s: %lld/%lld", what, (long long)done, (long long)total),
            fflush(g->o->progress);
    if (g->o->progress && done == total)
        fputc('\n', g->o->progress);
}

static void grow_bbox(struct md_bbox *b, double lon, double lat, bool first)
{
    if (first) {
        *b = (struct md_bbox){lon, lat, lon, lat};
        return;
    }
    b->minx = fmin(b->minx, lon);
    b->miny = fmin(b->miny, lat);
    b->maxx = fmax(b->maxx, lon);
    b->maxy = fmax(b->maxy, lat);
}

/* Facility category mix: convenience stores and toilets dominate. */
static const double fcat_weights[] = {30, 8, 7, 15, 22, 10, 8};

static void facility_name(struct gen *g, const char *cat, const char *road, char *out, size_t n)
{
    static const char *const stores[] = {"便利蜂", "7-ELEVEn", "好邻居", "物美便利", "全家",
                                         "快客", "罗森", "超市发"};
    static const char *const breakfasts[] = {"庆丰包子铺", "便民早餐", "早餐车", "老北京早点"};
    if (strcmp(cat, "convenience_store") == 0)
        snprintf(out, n, "%s（%s店）", stores[rng_below(&g->rng, 8)], road);
    else if (strcmp(cat, "breakfast") == 0)
        snprintf(out, n, "%s（%s）", breakfasts[rng_below(&g->rng, 4)], road);
    else if (strcmp(cat, "market") == 0)
        snprintf(out, n, "%s农贸市场", road);
    else if (strcmp(cat, "vegetable_stall") == 0)
        snprintf(out, n, "%s便民菜站", road);
    else if (strcmp(cat, "toilet") == 0)
        snprintf(out, n, "%s公共厕所", road);
    else if (strcmp(cat, "kiosk") == 0)
        snprintf(out, n, "%s信息亭", road);
    else if (strcmp(cat, "parking") == 0)
        snprintf(out, n, "%s停车场", road);
    else
        snprintf(out, n, "%s %s", road, cat);
}

static md_err insert_facility(struct gen *g, int64_t id, const struct place *p, struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO facilities(id, category, name, address, phone, opening_hours, district_code,"
        " grid_code, status, source, updated_at, lon, lat, geom)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'sample', ?10, ?11, ?12,"
        " MakePoint(?11, ?12, 4326))";
    size_t nweights = sizeof(fcat_weights) / sizeof(fcat_weights[0]);
    size_t ci = pick_weighted(&g->rng, fcat_weights, g->nfcat < nweights ? g->nfcat : nweights);
    const char *cat = g->fcat[ci];
    const char *road = roads[rng_below(&g->rng, NROADS)];
    const struct md_district_info *d = md_areas_district(g->areas, p->district);
    char name[160], address[200], phone[32];
    facility_name(g, cat, road, name, sizeof(name));
    snprintf(address, sizeof(address), "北京市%s%s%d号", d->name, road,
             (int)rng_below(&g->rng, 300) + 1);
    snprintf(phone, sizeof(phone), "010-%08d", 60000000 + (int)rng_below(&g->rng, 30000000));
    double u = rng_unit(&g->rng);
    const char *status = u < 0.9 ? "open" : u < 0.95 ? "closed" : "unverified";
    const char *hours = strcmp(cat, "toilet") == 0 || strcmp(cat, "parking") == 0 ? "24小时"
                        : strcmp(cat, "breakfast") == 0                           ? "06:00-10:00"
                                                                                  : "07:00-23:00";
    int64_t updated = g->o->anchor - (int64_t)rng_below(&g->rng, 400 * 86400);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(g->s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, cat, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, address, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, phone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, hours, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, d->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, p->grid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, updated);
    sqlite3_bind_double(st, 11, p->lon);
    sqlite3_bind_double(st, 12, p->lat);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(g->s, src, "sample facility", ctx);
}

static md_err gen_facilities(struct gen *g, struct md_ctx *ctx)
{
    struct md_bbox box = {0, 0, 0, 0};
    g->nfac = g->o->facilities;
    g->fac_lon = malloc((size_t)(g->nfac ? g->nfac : 1) * sizeof(double));
    g->fac_lat = malloc((size_t)(g->nfac ? g->nfac : 1) * sizeof(double));
    if (!g->fac_lon || !g->fac_lat)
        return md_fail(ctx, MD_ENOMEM, "facilities");
    md_err rc = md_store_bulk_begin(g->s, MD_LAYER_FACILITIES, ctx);
    if (rc)
        return rc;
    for (int64_t i = 0; !rc && i < g->nfac; i++) {
        struct place p;
        draw_place(g, &p);
        g->fac_lon[i] = p.lon;
        g->fac_lat[i] = p.lat;
        grow_bbox(&box, p.lon, p.lat, i == 0);
        rc = insert_facility(g, i + 1, &p, ctx);
        progress(g, "facilities", i + 1, g->nfac);
    }
    if (rc) {
        md_store_bulk_abort(g->s);
        return rc;
    }
    return md_store_bulk_end(g->s, MD_LAYER_FACILITIES, g->nfac ? &box : NULL, ctx);
}

/* One step of a sampled case: what happened, to which state, when, by whom. */
struct step {
    const char *action, *from, *to, *role;
    char actor[24];
    int64_t at;
    const char *note;
};

#define MAX_STEPS 16

struct walk {
    struct step steps[MAX_STEPS];
    int n;
    const char *status;
    const char *parked_from;
    int64_t expected_at, closed_at, updated_at;
};

static void add_step(struct gen *g, struct walk *w, const char *action, const char *to,
                     const char *role, int64_t at, const char *note)
{
    if (w->n >= MAX_STEPS)
        return;
    struct step *s = &w->steps[w->n++];
    s->action = action;
    s->from = w->n > 1 ? w->status : NULL;
    s->to = to;
    s->role = role;
    if (strcmp(role, "citizen") == 0)
        snprintf(s->actor, sizeof(s->actor), "anonymous");
    else
        snprintf(s->actor, sizeof(s->actor), "%s-%03d", role, (int)rng_below(&g->rng, 60) + 1);
    s->at = at;
    s->note = note;
    unsigned fx = md_workflow_effects(action);
    if (fx & MD_FX_PARK)
        w->parked_from = w->status;
    else if (fx & MD_FX_RESUME_CLOCK)
        w->parked_from = NULL;
    w->status = to;
    w->updated_at = at;
}

/* Hours as seconds, drawn between lo and hi. */
static int64_t hours_between(struct gen *g, double lo, double hi)
{
    return (int64_t)((lo + rng_unit(&g->rng) * (hi - lo)) * 3600.0);
}

static void walk_case(struct gen *g, size_t cat, bool patrol, int64_t created, struct walk *w)
{
    int64_t now = g->o->anchor, t = created;
    memset(w, 0, sizeof(*w));
    w->status = "reported";
    add_step(g, w, "report", "reported", patrol ? "officer" : "citizen", t, "");
    t += hours_between(g, 0.2, 4);
    if (t > now)
        return;
    if (rng_unit(&g->rng) < 0.08) {
        add_step(g, w, "reject", "rejected", "centre", t, "不属于城管受理范围");
        w->closed_at = t;
        return;
    }
    add_step(g, w, "accept", "filed", "centre", t, "立案");
    if (g->cat_is_correction[cat])
        return; /* corrections wait for the data team in the sample */
    t += hours_between(g, 0.1, 2);
    if (t > now)
        return;
    if (rng_unit(&g->rng) < 0.03) {
        add_step(g, w, "park", "parked", "centre", t, "挂账：需协调多部门");
        t += hours_between(g, 24, 24 * 30);
        if (t > now)
            return;
        add_step(g, w, "resume", "filed", "centre", t, "恢复办理");
    }
    add_step(g, w, "dispatch", "dispatched", "centre", t, "派遣至责任单位");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md_calendar_deadline(&g->cal, t, g->cat_deadline[cat], g->cat_unit[cat], &w->expected_at,
                             &ctx) != MD_OK)
        w->expected_at = t + 86400;
    for (int round = 0; round < 3; round++) {
        t += hours_between(g, 0.2, 6);
        if (t > now)
            return;
        add_step(g, w, "start", "in_progress", "officer", t, "开始处置");
        /* Most cases finish within their deadline, some overrun. */
        int64_t span = w->expected_at > t ? w->expected_at - t : 3600;
        t += (int64_t)(span * (0.2 + rng_unit(&g->rng) * 1.1));
        if (t > now)
            return;
        add_step(g, w, "report_back", "handled", "officer", t, "已处置，附照片");
        t += hours_between(g, 0.5, 24);
        if (t > now)
            return;
        if (round < 2 && rng_unit(&g->rng) < 0.06) {
            add_step(g, w, "rework", "dispatched", "centre", t, "核查未通过，返工");
            continue;
        }
        add_step(g, w, "verify", "closed", "centre", t, "核查通过，结案");
        w->closed_at = t;
        return;
    }
}

static md_err insert_history(struct gen *g, int64_t report_id, const struct walk *w,
                             struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO report_history(report_id, action, from_status, to_status,"
                              " actor_role, actor_id, note, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    for (int i = 0; i < w->n; i++) {
        const struct step *s = &w->steps[i];
        sqlite3_stmt *st = NULL;
        md_err rc = md_store_stmt(g->s, sql, &st, ctx);
        if (rc)
            return rc;
        sqlite3_bind_int64(st, 1, report_id);
        sqlite3_bind_text(st, 2, s->action, -1, SQLITE_STATIC);
        if (s->from)
            sqlite3_bind_text(st, 3, s->from, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, s->to, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, s->role, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, s->actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, s->note, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, s->at);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            return md_store_fail(g->s, src, "sample history", ctx);
    }
    return MD_OK;
}

static md_err insert_contact(struct gen *g, int64_t report_id, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO report_contacts(report_id, name, phone, email, device_id)"
                              " VALUES (?, ?, ?, ?, ?)";
    static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄"};
    char name[32], phone[24], email[48], device[40];
    snprintf(name, sizeof(name), "%s先生", surnames[rng_below(&g->rng, 8)]);
    snprintf(phone, sizeof(phone), "1%010llu", (unsigned long long)(3000000000ull + rng_below(&g->rng, 6000000000ull)));
    snprintf(email, sizeof(email), "citizen%llu@example.cn", (unsigned long long)rng_below(&g->rng, 1000000));
    snprintf(device, sizeof(device), "dev-%016llx", (unsigned long long)rng_next(&g->rng));
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(g->s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, report_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, phone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, email, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, device, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(g->s, src, "sample contact", ctx);
}

struct report_row {
    int64_t id;
    const char *kind, *channel;
    size_t cat;
    struct place p;
    int64_t created, facility_id;
    char proposed[96];
    char token[24];
    char description[256];
    char address[160];
    char media[96];
};

static md_err insert_report_row(struct gen *g, const struct report_row *r, const struct walk *w,
                                struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT INTO reports(id, kind, service_code, description, address, district_code,"
        " grid_code, status, parked_from, channel, media_urls, facility_id, proposed_change, token,"
        " created_at, updated_at, expected_at, closed_at, lon, lat, geom) VALUES (?1, ?2, ?3, ?4,"
        " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,"
        " MakePoint(?19, ?20, 4326))";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(g->s, sql, &st, ctx);
    if (rc)
        return rc;
    const struct md_district_info *d = md_areas_district(g->areas, r->p.district);
    sqlite3_bind_int64(st, 1, r->id);
    sqlite3_bind_text(st, 2, r->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, g->cat_code[r->cat], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->description, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->address, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, d->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, r->p.grid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, w->status, -1, SQLITE_STATIC);
    if (w->parked_from && strcmp(w->status, "parked") == 0)
        sqlite3_bind_text(st, 9, w->parked_from, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, r->channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, r->media, -1, SQLITE_STATIC);
    if (r->facility_id)
        sqlite3_bind_int64(st, 12, r->facility_id);
    if (r->proposed[0])
        sqlite3_bind_text(st, 13, r->proposed, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, r->token, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 15, r->created);
    sqlite3_bind_int64(st, 16, w->updated_at);
    if (w->expected_at)
        sqlite3_bind_int64(st, 17, w->expected_at);
    if (w->closed_at)
        sqlite3_bind_int64(st, 18, w->closed_at);
    sqlite3_bind_double(st, 19, r->p.lon);
    sqlite3_bind_double(st, 20, r->p.lat);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(g->s, src, "sample report", ctx);
}

static void make_correction(struct gen *g, struct report_row *r)
{
    static const char *const corr_codes[] = {"900001", "900002", "900003"};
    const char *want = corr_codes[rng_below(&g->rng, 3)];
    for (size_t i = 0; i < g->ncat; i++) {
        if (strcmp(g->cat_code[i], want) == 0)
            r->cat = i;
    }
    int64_t f = (int64_t)rng_below(&g->rng, (uint64_t)g->nfac);
    r->facility_id = f + 1;
    r->p.lon = g->fac_lon[f];
    r->p.lat = g->fac_lat[f];
    if (strcmp(want, "900001") == 0)
        snprintf(r->proposed, sizeof(r->proposed), "{\"status\":\"closed\"}");
    else if (strcmp(want, "900002") == 0)
        snprintf(r->proposed, sizeof(r->proposed), "{\"lon\":%.6f,\"lat\":%.6f}",
                 g->fac_lon[f] + (rng_unit(&g->rng) - 0.5) * 0.004,
                 g->fac_lat[f] + (rng_unit(&g->rng) - 0.5) * 0.003);
    else
        snprintf(r->proposed, sizeof(r->proposed), "{\"name\":\"新名称%d\"}",
                 (int)rng_below(&g->rng, 1000));
}

static md_err gen_report(struct gen *g, int64_t id, struct md_bbox *box, struct md_ctx *ctx)
{
    struct report_row r = {.id = id};
    double u = rng_unit(&g->rng);
    bool correction = u < 0.03 && g->nfac > 0;
    bool patrol = !correction && u < 0.33;
    r.kind = correction ? "correction" : patrol ? "incident" : "problem";
    static const char *const citizen_channels[] = {"app", "app", "web", "hotline", "open311"};
    r.channel = patrol ? "patrol" : correction ? "app" : citizen_channels[rng_below(&g->rng, 5)];
    draw_place(g, &r.p);
    do {
        r.cat = (size_t)rng_below(&g->rng, g->ncat);
    } while (g->cat_is_correction[r.cat]);
    if (correction) {
        make_correction(g, &r);
        size_t district;
        if (md_areas_locate(g->areas, r.p.lon, r.p.lat, &district, r.p.grid) != MD_OK)
            return MD_OK; /* cannot happen: facilities are placed in grid cells */
        r.p.district = district;
    }
    /* Age: skewed towards recent reports; daytime-heavy clock. */
    double age_days = 365.0 * pow(rng_unit(&g->rng), 1.6);
    r.created = g->o->anchor - (int64_t)(age_days * 86400.0);
    snprintf(r.token, sizeof(r.token), "%016llx", (unsigned long long)rng_next(&g->rng));
    const struct md_district_info *d = md_areas_district(g->areas, r.p.district);
    const char *road = roads[rng_below(&g->rng, NROADS)];
    snprintf(r.address, sizeof(r.address), "北京市%s%s%d号附近", d->name, road,
             (int)rng_below(&g->rng, 300) + 1);
    snprintf(r.description, sizeof(r.description), "%s：%s%s附近，请尽快处理。",
             g->cat_name[r.cat], d->name, road);
    if (rng_unit(&g->rng) < 0.3)
        snprintf(r.media, sizeof(r.media), "[\"https://media.example.cn/reports/%lld.jpg\"]",
                 (long long)id);
    else
        snprintf(r.media, sizeof(r.media), "[]");
    struct walk w;
    walk_case(g, r.cat, patrol, r.created, &w);
    grow_bbox(box, r.p.lon, r.p.lat, id == 1);
    md_err rc = insert_report_row(g, &r, &w, ctx);
    if (!rc)
        rc = insert_history(g, id, &w, ctx);
    if (!rc && !patrol && rng_unit(&g->rng) < 0.6)
        rc = insert_contact(g, id, ctx);
    return rc;
}

static md_err gen_reports(struct gen *g, struct md_ctx *ctx)
{
    struct md_bbox box = {0, 0, 0, 0};
    md_err rc = md_store_bulk_begin(g->s, MD_LAYER_REPORTS, ctx);
    if (rc)
        return rc;
    for (int64_t i = 1; !rc && i <= g->o->reports; i++) {
        rc = gen_report(g, i, &box, ctx);
        progress(g, "reports", i, g->o->reports);
    }
    if (rc) {
        md_store_bulk_abort(g->s);
        return rc;
    }
    return md_store_bulk_end(g->s, MD_LAYER_REPORTS, g->o->reports ? &box : NULL, ctx);
}

static void gen_free(struct gen *g)
{
    free(g->district_weight);
    free(g->cat_code);
    free(g->cat_unit);
    free(g->cat_name);
    free(g->cat_deadline);
    free(g->cat_is_correction);
    free(g->fcat);
    free(g->fac_lon);
    free(g->fac_lat);
    md_calendar_free(&g->cal);
}

md_err md_sample_generate(struct md_store *s, struct md_geos *geos, const struct md_sample_opts *o,
                          struct md_ctx *ctx)
{
    struct gen g = {.s = s, .o = o};
    struct md_areas *areas = NULL;
    md_err rc = MD_OK;
    if (o->facilities < 0 || o->reports < 0)
        return md_fail(ctx, MD_EINVAL, "sizes must not be negative");
    rng_seed(&g.rng, o->seed);
    rc = md_calendar_load(s, &g.cal, ctx);
    if (!rc)
        rc = md_areas_load(geos, o->districts_path, o->names_en_path, &areas, ctx);
    /* ~0.01 x 0.0075 degrees: cells of about 850 m x 830 m at Beijing. */
    if (!rc)
        rc = md_areas_make_grids(areas, 0.01, 0.0075, ctx);
    if (!rc)
        rc = md_areas_save(areas, s, o->anchor, ctx);
    if (rc)
        goto out;
    g.areas = areas;
    size_t nd = md_areas_district_count(areas);
    g.district_weight = calloc(nd, sizeof(double));
    if (!g.district_weight) {
        rc = md_fail(ctx, MD_ENOMEM, "weights");
        goto out;
    }
    for (size_t i = 0; i < nd; i++) {
        const struct md_bbox *b = &md_areas_district(areas, i)->bbox;
        g.district_weight[i] = sqrt((b->maxx - b->minx) * (b->maxy - b->miny));
    }
    rc = load_categories(&g, ctx);
    if (!rc)
        rc = gen_facilities(&g, ctx);
    if (!rc)
        rc = gen_reports(&g, ctx);
    if (!rc)
        rc = md_basemap_sample(s, o->anchor, NULL, ctx);
out:
    gen_free(&g);
    md_areas_free(areas);
    return rc;
}
