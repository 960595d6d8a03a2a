/* md_cql2.c - a recursive-descent parser for CQL2 text (md_cql2.h).
 *
 * Grammar (precedence low to high), after OGC 21-065 clause 8 (text):
 *   or   := and { OR and }
 *   and  := not { AND not }
 *   not  := NOT not | prim
 *   prim := '(' or ')' | TRUE | FALSE | spatial | temporal | pred
 *   pred := prop ( cmp literal | [NOT] LIKE string | [NOT] IN '(' literal {',' literal} ')'
 *               | [NOT] BETWEEN literal AND literal | IS [NOT] NULL )
 * The lexer is on demand (peek/take on the byte cursor); every error names
 * the byte position where the unexpected token starts. Depth is counted on
 * the way down so that no input can exhaust the stack.
 */
#include "md_cql2.h"
#include "md_buf.h"
#include "md_time.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parser {
    const char *s;
    size_t len, at;
    int depth;
    int tz;
    struct md_pool *pool;
    struct md_ctx *ctx;
};

static md_err parse_or(struct parser *p, struct md_cql_node **out);

static void skip_space(struct parser *p)
{
    while (p->at < p->len && isspace((unsigned char)p->s[p->at]))
        p->at++;
}

static size_t pos1(const struct parser *p)
{
    return p->at + 1;
}

static md_err fail_at(struct parser *p, const char *what)
{
    skip_space(p);
    if (p->at >= p->len)
        return md_fail(p->ctx, MD_EINVAL, "filter: %s at position %zu (end of text)", what,
                       pos1(p));
    char near[13];
    size_t n = 0;
    for (; n < 12 && p->at + n < p->len; n++) { /* printable ASCII only: it goes into JSON */
        unsigned char ch = (unsigned char)p->s[p->at + n];
        near[n] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    near[n] = '\0';
    return md_fail(p->ctx, MD_EINVAL, "filter: %s at position %zu (near '%s')", what, pos1(p),
                   near);
}

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == ':';
}

/* True (and consumed) when the next token is the keyword `kw` (case-insensitive,
 * not followed by an identifier character). */
static bool take_kw(struct parser *p, const char *kw)
{
    skip_space(p);
    size_t n = strlen(kw);
    if (p->len - p->at < n || strncasecmp(p->s + p->at, kw, n) != 0)
        return false;
    if (p->at + n < p->len && is_ident_char(p->s[p->at + n]))
        return false;
    p->at += n;
    return true;
}

static bool peek_kw(struct parser *p, const char *kw)
{
    size_t at = p->at;
    bool yes = take_kw(p, kw);
    p->at = at;
    return yes;
}

static bool take_char(struct parser *p, char c)
{
    skip_space(p);
    if (p->at < p->len && p->s[p->at] == c) {
        p->at++;
        return true;
    }
    return false;
}

static md_err expect_char(struct parser *p, char c, const char *what)
{
    return take_char(p, c) ? MD_OK : fail_at(p, what);
}

static struct md_cql_node *new_node(struct parser *p, enum md_cql_kind kind, size_t pos)
{
    struct md_cql_node *n = md_pool_calloc(p->pool, 1, sizeof(*n));
    if (n) {
        n->kind = kind;
        n->pos = pos;
    }
    return n;
}

static md_err no_memory(struct parser *p)
{
    return md_fail(p->ctx, MD_ENOMEM, "filter: out of memory");
}

/* A 'quoted string' ('' is a quote) into the pool. */
static md_err take_string(struct parser *p, const char **out)
{
    skip_space(p);
    if (p->at >= p->len || p->s[p->at] != '\'')
        return fail_at(p, "expected a 'quoted string'");
    size_t start = p->at;
    char *v = md_pool_alloc(p->pool, p->len - start);
    if (!v)
        return no_memory(p);
    size_t n = 0;
    p->at++;
    for (;;) {
        if (p->at >= p->len) {
            p->at = start;
            return md_fail(p->ctx, MD_EINVAL, "filter: string not closed at position %zu",
                           start + 1);
        }
        char c = p->s[p->at++];
        if (c == '\'') {
            if (p->at < p->len && p->s[p->at] == '\'') {
                v[n++] = '\'';
                p->at++;
                continue;
            }
            break;
        }
        if (c == '\0') {
            p->at--;
            return fail_at(p, "NUL byte in a string");
        }
        v[n++] = c;
    }
    v[n] = '\0';
    *out = v;
    return MD_OK;
}

static md_err take_number(struct parser *p, double *out)
{
    skip_space(p);
    size_t start = p->at, i = p->at;
    if (i < p->len && (p->s[i] == '-' || p->s[i] == '+'))
        i++;
    size_t digits = 0;
    while (i < p->len && (isdigit((unsigned char)p->s[i]) || p->s[i] == '.')) {
        i++;
        digits++;
    }
    if (!digits)
        return fail_at(p, "expected a number");
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->len && (p->s[i] == '-' || p->s[i] == '+'))
            i++;
        while (i < p->len && isdigit((unsigned char)p->s[i]))
            i++;
    }
    char buf[64];
    if (i - start >= sizeof(buf))
        return fail_at(p, "number too long");
    memcpy(buf, p->s + start, i - start);
    buf[i - start] = '\0';
    char *end = NULL;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v))
        return fail_at(p, "expected a number");
    p->at = i;
    *out = v;
    return MD_OK;
}

/* DATE('...') or TIMESTAMP('...') after the keyword; `is_date` picks which. */
static md_err take_time_call(struct parser *p, bool is_date, struct md_cql_value *v)
{
    md_err rc = expect_char(p, '(', "expected '('");
    skip_space(p);
    size_t at = p->at;
    if (!rc)
        rc = take_string(p, &v->string);
    if (rc)
        return rc;
    size_t n = strlen(v->string);
    struct md_ctx sub;
    md_ctx_init(&sub);
    bool shape_ok = is_date ? n == 10 : n > 10;
    if (!shape_ok || md_time_parse(v->string, p->tz, &v->time, &sub)) {
        p->at = at;
        return fail_at(p,
                       is_date ? "expected a date YYYY-MM-DD" : "expected an RFC 3339 timestamp");
    }
    v->type = is_date ? MD_CQL_DATE : MD_CQL_TIMESTAMP;
    v->time_end = is_date ? v->time + 86399 : v->time;
    return expect_char(p, ')', "expected ')'");
}

/* A scalar literal: number, string, TRUE/FALSE, DATE(...), TIMESTAMP(...). */
static md_err take_literal(struct parser *p, struct md_cql_value *v)
{
    skip_space(p);
    memset(v, 0, sizeof(*v));
    v->pos = pos1(p);
    if (p->at < p->len && p->s[p->at] == '\'') {
        v->type = MD_CQL_STRING;
        return take_string(p, &v->string);
    }
    if (take_kw(p, "TRUE") || take_kw(p, "FALSE")) {
        v->type = MD_CQL_BOOLEAN;
        v->boolean = toupper((unsigned char)p->s[v->pos - 1]) == 'T';
        return MD_OK;
    }
    if (take_kw(p, "DATE"))
        return take_time_call(p, true, v);
    if (take_kw(p, "TIMESTAMP"))
        return take_time_call(p, false, v);
    v->type = MD_CQL_NUMBER;
    if (p->at < p->len && (isdigit((unsigned char)p->s[p->at]) || strchr("+-.", p->s[p->at])))
        return take_number(p, &v->number);
    return fail_at(p, "expected a literal (number, 'string', TRUE, FALSE, DATE or TIMESTAMP)");
}

/* A property name: identifier or "double quoted". */
static md_err take_prop(struct parser *p, const char **out, size_t *pos)
{
    skip_space(p);
    *pos = pos1(p);
    size_t start = p->at;
    if (p->at < p->len && p->s[p->at] == '"') {
        size_t end = start + 1;
        while (end < p->len && p->s[end] != '"' && p->s[end] != '\0')
            end++;
        if (end >= p->len || p->s[end] != '"' || end == start + 1)
            return fail_at(p, "expected a \"quoted property name\"");
        *out = md_pool_strndup(p->pool, p->s + start + 1, end - start - 1);
        p->at = end + 1;
    } else {
        if (p->at >= p->len || !is_ident_start(p->s[p->at]))
            return fail_at(p, "expected a property name");
        while (p->at < p->len && is_ident_char(p->s[p->at]))
            p->at++;
        *out = md_pool_strndup(p->pool, p->s + start, p->at - start);
    }
    return *out ? MD_OK : no_memory(p);
}

/* ---- geometry literals */

struct coord_list {
    double *v;
    size_t n, cap; /* in pairs */
};

static md_err coords_push(struct parser *p, struct coord_list *c, double x, double y)
{
    if (c->n >= MD_CQL2_MAX_COORDS)
        return md_fail(p->ctx, MD_ETOOBIG, "filter: more than %d coordinates in a geometry",
                       MD_CQL2_MAX_COORDS);
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        double *v = md_pool_alloc(p->pool, cap * 2 * sizeof(double));
        if (!v)
            return no_memory(p);
        if (c->n)
            memcpy(v, c->v, c->n * 2 * sizeof(double));
        c->v = v;
        c->cap = cap;
    }
    c->v[2 * c->n] = x;
    c->v[2 * c->n + 1] = y;
    c->n++;
    return MD_OK;
}

static md_err take_position(struct parser *p, struct coord_list *c)
{
    double x, y;
    size_t at = (skip_space(p), p->at);
    md_err rc = take_number(p, &x);
    if (!rc)
        rc = take_number(p, &y);
    if (rc)
        return rc;
    if (x < -180 || x > 180 || y < -90 || y > 90) {
        p->at = at;
        return fail_at(p, "coordinate outside -180,-90,180,90");
    }
    double z;
    skip_space(p);
    if (p->at < p->len && p->s[p->at] != ',' && p->s[p->at] != ')' && (rc = take_number(p, &z)))
        return rc; /* an optional height, dropped */
    return coords_push(p, c, x, y);
}

/* '(' position {',' position} ')' appended to c; *count gets how many. */
static md_err take_position_list(struct parser *p, struct coord_list *c, size_t *count)
{
    size_t before = c->n;
    md_err rc = expect_char(p, '(', "expected '(' before coordinates");
    do {
        if (!rc)
            rc = take_position(p, c);
    } while (!rc && take_char(p, ','));
    if (!rc)
        rc = expect_char(p, ')', "expected ',' or ')' in coordinates");
    *count = c->n - before;
    return rc;
}

struct part_list {
    size_t *v, n, cap;
};

static md_err parts_push(struct parser *p, struct part_list *l, size_t value)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        size_t *v = md_pool_alloc(p->pool, cap * sizeof(size_t));
        if (!v)
            return no_memory(p);
        if (l->n)
            memcpy(v, l->v, l->n * sizeof(size_t));
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = value;
    return MD_OK;
}

/* '(' ring {',' ring} ')': the rings of one polygon; each ring closed, >= 4 positions. */
static md_err take_polygon_body(struct parser *p, struct coord_list *c, struct part_list *parts,
                                size_t *nrings)
{
    md_err rc = expect_char(p, '(', "expected '(' before the rings of a polygon");
    *nrings = 0;
    do {
        size_t n = 0, at = (skip_space(p), p->at);
        if (!rc)
            rc = take_position_list(p, c, &n);
        if (!rc && (n < 4 || c->v[2 * (c->n - n)] != c->v[2 * (c->n - 1)] ||
                    c->v[2 * (c->n - n) + 1] != c->v[2 * (c->n - 1) + 1])) {
            p->at = at;
            rc =
                fail_at(p, "a polygon ring needs 4 or more positions, the last equal to the first");
        }
        if (!rc)
            rc = parts_push(p, parts, n);
        (*nrings)++;
    } while (!rc && take_char(p, ','));
    return rc ? rc : expect_char(p, ')', "expected ',' or ')' after a ring");
}

static md_err geom_wkt(struct parser *p, struct md_cql_geom *g)
{
    struct md_buf b;
    md_buf_init(&b, 256 * 1024);
    static const char *const names[] = {"POLYGON", "POINT", "LINESTRING", "POLYGON",
                                        "MULTIPOLYGON"};
    md_err rc = md_buf_puts(&b, names[g->type]);
    size_t k = 0, part = 0;
    size_t npoly = g->type == MD_CQL_GEOM_MULTIPOLYGON ? g->npolygons : 1;
    bool polygonal = g->type == MD_CQL_GEOM_POLYGON || g->type == MD_CQL_GEOM_MULTIPOLYGON ||
                     g->type == MD_CQL_GEOM_BBOX;
    if (!rc && g->type == MD_CQL_GEOM_MULTIPOLYGON)
        rc = md_buf_putc(&b, '(');
    for (size_t pi = 0; !rc && pi < npoly; pi++) {
        size_t nrings = g->type == MD_CQL_GEOM_MULTIPOLYGON ? g->polygon_rings[pi]
                        : polygonal                         ? g->nparts
                                                            : 1;
        rc = md_buf_puts(&b, pi ? ",(" : "(");
        for (size_t r = 0; !rc && r < nrings; r++) {
            size_t n = polygonal ? g->parts[part++] : g->ncoords;
            if (polygonal)
                rc = md_buf_puts(&b, r ? ",(" : "(");
            for (size_t i = 0; !rc && i < n; i++, k++)
                rc = md_buf_printf(&b, "%s%.17g %.17g", i ? "," : "", g->coords[2 * k],
                                   g->coords[2 * k + 1]);
            if (!rc && polygonal)
                rc = md_buf_putc(&b, ')');
        }
        if (!rc)
            rc = md_buf_putc(&b, ')');
    }
    if (!rc && g->type == MD_CQL_GEOM_MULTIPOLYGON)
        rc = md_buf_putc(&b, ')');
    if (!rc && !(g->wkt = md_pool_strndup(p->pool, b.data, b.len)))
        rc = MD_ENOMEM;
    md_buf_free(&b);
    return rc ? md_fail(p->ctx, rc, "filter: geometry too large") : MD_OK;
}

static void geom_envelope(struct md_cql_geom *g)
{
    g->minx = g->miny = INFINITY;
    g->maxx = g->maxy = -INFINITY;
    for (size_t i = 0; i < g->ncoords; i++) {
        double x = g->coords[2 * i], y = g->coords[2 * i + 1];
        g->minx = x < g->minx ? x : g->minx;
        g->maxx = x > g->maxx ? x : g->maxx;
        g->miny = y < g->miny ? y : g->miny;
        g->maxy = y > g->maxy ? y : g->maxy;
    }
}

/* BBOX(x0, y0, x1, y1) or BBOX(x0, y0, z0, x1, y1, z1) as a closed ring. */
static md_err take_bbox(struct parser *p, struct md_cql_geom *g)
{
    double n[6];
    int count = 0;
    size_t at = (skip_space(p), p->at);
    md_err rc = expect_char(p, '(', "expected '(' after BBOX");
    do {
        if (!rc && count == 6)
            rc = fail_at(p, "BBOX takes 4 or 6 numbers");
        if (!rc)
            rc = take_number(p, &n[count++]);
    } while (!rc && take_char(p, ','));
    if (!rc)
        rc = expect_char(p, ')', "expected ',' or ')' in BBOX");
    if (rc)
        return rc;
    if (count != 4 && count != 6) {
        p->at = at;
        return fail_at(p, "BBOX takes 4 or 6 numbers");
    }
    double x0 = n[0], y0 = n[1], x1 = n[count / 2], y1 = n[count / 2 + 1];
    if (x0 < -180 || x1 > 180 || y0 < -90 || y1 > 90 || x0 > x1 || y0 > y1) {
        p->at = at;
        return fail_at(p, "BBOX must be minx, miny, maxx, maxy within -180,-90,180,90");
    }
    struct coord_list c = {0};
    struct part_list parts = {0};
    double ring[] = {x0, y0, x1, y0, x1, y1, x0, y1, x0, y0};
    for (int i = 0; !rc && i < 5; i++)
        rc = coords_push(p, &c, ring[2 * i], ring[2 * i + 1]);
    if (!rc)
        rc = parts_push(p, &parts, 5);
    g->type = MD_CQL_GEOM_BBOX;
    g->coords = c.v;
    g->ncoords = c.n;
    g->parts = parts.v;
    g->nparts = parts.n;
    return rc;
}

static md_err take_geometry(struct parser *p, struct md_cql_geom *g)
{
    struct coord_list c = {0};
    struct part_list parts = {0}, rings = {0};
    md_err rc = MD_OK;
    memset(g, 0, sizeof(*g));
    if (take_kw(p, "BBOX")) {
        rc = take_bbox(p, g);
    } else if (take_kw(p, "POINT")) {
        g->type = MD_CQL_GEOM_POINT;
        rc = expect_char(p, '(', "expected '(' after POINT");
        if (!rc)
            rc = take_position(p, &c);
        if (!rc)
            rc = expect_char(p, ')', "expected ')' after the point");
    } else if (take_kw(p, "LINESTRING")) {
        size_t n = 0;
        g->type = MD_CQL_GEOM_LINESTRING;
        rc = take_position_list(p, &c, &n);
        if (!rc && n < 2)
            rc = fail_at(p, "a linestring needs 2 or more positions");
    } else if (take_kw(p, "POLYGON")) {
        size_t nrings = 0;
        g->type = MD_CQL_GEOM_POLYGON;
        rc = take_polygon_body(p, &c, &parts, &nrings);
    } else if (take_kw(p, "MULTIPOLYGON")) {
        g->type = MD_CQL_GEOM_MULTIPOLYGON;
        rc = expect_char(p, '(', "expected '(' after MULTIPOLYGON");
        do {
            size_t nrings = 0;
            if (!rc)
                rc = take_polygon_body(p, &c, &parts, &nrings);
            if (!rc)
                rc = parts_push(p, &rings, nrings);
        } while (!rc && take_char(p, ','));
        if (!rc)
            rc = expect_char(p, ')', "expected ',' or ')' after a polygon");
    } else {
        return fail_at(p, "expected a geometry (BBOX, POINT, LINESTRING, POLYGON or MULTIPOLYGON)");
    }
    if (rc)
        return rc;
    if (g->type != MD_CQL_GEOM_BBOX) {
        g->coords = c.v;
        g->ncoords = c.n;
        g->parts = parts.v;
        g->nparts = parts.n;
        g->polygon_rings = rings.v;
        g->npolygons = rings.n;
    }
    geom_envelope(g);
    return geom_wkt(p, g);
}

/* ---- predicates */

static md_err spatial(struct parser *p, struct md_cql_node *n)
{
    md_err rc = expect_char(p, '(', "expected '(' after S_INTERSECTS");
    if (!rc)
        rc = take_prop(p, &n->prop, &n->prop_pos);
    if (!rc)
        rc = expect_char(p, ',', "expected ',' after the geometry property");
    if (!rc)
        rc = take_geometry(p, &n->geom);
    return rc ? rc : expect_char(p, ')', "expected ')' after the geometry");
}

/* One end of an interval: '..' (open), a date or timestamp string, DATE() or TIMESTAMP(). */
static md_err interval_end(struct parser *p, bool end, bool *has, int64_t *t)
{
    struct md_cql_value v;
    size_t at = (skip_space(p), p->at);
    md_err rc = take_literal(p, &v);
    if (rc)
        return rc;
    if (v.type == MD_CQL_STRING && strcmp(v.string, "..") == 0) {
        *has = false;
        return MD_OK;
    }
    if (v.type == MD_CQL_STRING) {
        struct md_ctx sub;
        md_ctx_init(&sub);
        size_t n = strlen(v.string);
        if (md_time_parse(v.string, p->tz, &v.time, &sub)) {
            p->at = at;
            return fail_at(p, "expected '..', a date or a timestamp");
        }
        v.time_end = n == 10 ? v.time + 86399 : v.time;
    } else if (v.type != MD_CQL_DATE && v.type != MD_CQL_TIMESTAMP) {
        p->at = at;
        return fail_at(p, "expected '..', a date or a timestamp");
    }
    *has = true;
    *t = end ? v.time_end : v.time;
    return MD_OK;
}

static md_err temporal(struct parser *p, struct md_cql_node *n)
{
    md_err rc = expect_char(p, '(', "expected '(' after the temporal operator");
    if (!rc)
        rc = take_prop(p, &n->prop, &n->prop_pos);
    if (!rc)
        rc = expect_char(p, ',', "expected ',' after the temporal property");
    if (rc)
        return rc;
    if (take_kw(p, "INTERVAL")) {
        rc = expect_char(p, '(', "expected '(' after INTERVAL");
        if (!rc)
            rc = interval_end(p, false, &n->has_from, &n->from);
        if (!rc)
            rc = expect_char(p, ',', "expected ',' between the ends of the interval");
        if (!rc)
            rc = interval_end(p, true, &n->has_to, &n->to);
        if (!rc)
            rc = expect_char(p, ')', "expected ')' after the interval");
        if (!rc && n->has_from && n->has_to && n->from > n->to)
            rc = fail_at(p, "the interval ends before it starts");
    } else {
        struct md_cql_value v;
        size_t at = (skip_space(p), p->at);
        rc = take_literal(p, &v);
        if (!rc && v.type != MD_CQL_DATE && v.type != MD_CQL_TIMESTAMP) {
            p->at = at;
            rc = fail_at(p, "expected DATE(...), TIMESTAMP(...) or INTERVAL(...)");
        }
        n->has_from = n->has_to = true;
        n->from = v.time;
        n->to = v.time_end;
    }
    return rc ? rc : expect_char(p, ')', "expected ')' after the temporal operator");
}

static md_err take_cmp_op(struct parser *p, enum md_cql_op *op)
{
    skip_space(p);
    static const struct {
        const char *text;
        enum md_cql_op op;
    } ops[] = {{"<>", MD_CQL_NE}, {"<=", MD_CQL_LE}, {">=", MD_CQL_GE}, {"!=", MD_CQL_NE},
               {"=", MD_CQL_EQ},  {"<", MD_CQL_LT},  {">", MD_CQL_GT}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i].text);
        if (p->len - p->at >= n && strncmp(p->s + p->at, ops[i].text, n) == 0) {
            p->at += n;
            *op = ops[i].op;
            return MD_OK;
        }
    }
    return fail_at(p, "expected an operator (=, <>, <, <=, >, >=, LIKE, IN, BETWEEN or IS)");
}

static md_err in_list(struct parser *p, struct md_cql_node *n)
{
    md_err rc = expect_char(p, '(', "expected '(' after IN");
    size_t cap = 8;
    n->values = md_pool_alloc(p->pool, cap * sizeof(*n->values));
    if (!n->values)
        return no_memory(p);
    do {
        if (!rc && n->nvalues == MD_CQL2_MAX_LIST)
            rc = md_fail(p->ctx, MD_ETOOBIG, "filter: more than %d values in an IN list",
                         MD_CQL2_MAX_LIST);
        if (!rc && n->nvalues == cap) {
            struct md_cql_value *v = md_pool_alloc(p->pool, cap * 2 * sizeof(*v));
            if (!v)
                return no_memory(p);
            memcpy(v, n->values, cap * sizeof(*v));
            n->values = v;
            cap *= 2;
        }
        if (!rc)
            rc = take_literal(p, &n->values[n->nvalues++]);
    } while (!rc && take_char(p, ','));
    return rc ? rc : expect_char(p, ')', "expected ',' or ')' in the IN list");
}

static md_err predicate(struct parser *p, struct md_cql_node *n)
{
    md_err rc = take_prop(p, &n->prop, &n->prop_pos);
    if (rc)
        return rc;
    if (take_kw(p, "IS")) {
        n->kind = MD_CQL_ISNULL;
        n->negated = take_kw(p, "NOT");
        return take_kw(p, "NULL") ? MD_OK : fail_at(p, "expected NULL");
    }
    size_t at = p->at;
    bool negated = take_kw(p, "NOT");
    if (take_kw(p, "LIKE")) {
        n->kind = MD_CQL_LIKE;
        n->negated = negated;
        n->nvalues = 1;
        n->values = md_pool_calloc(p->pool, 1, sizeof(*n->values));
        if (!n->values)
            return no_memory(p);
        skip_space(p);
        n->values[0].pos = pos1(p);
        n->values[0].type = MD_CQL_STRING;
        return take_string(p, &n->values[0].string);
    }
    if (take_kw(p, "IN")) {
        n->kind = MD_CQL_IN;
        n->negated = negated;
        return in_list(p, n);
    }
    if (take_kw(p, "BETWEEN")) {
        n->kind = MD_CQL_BETWEEN;
        n->negated = negated;
        n->nvalues = 2;
        n->values = md_pool_calloc(p->pool, 2, sizeof(*n->values));
        if (!n->values)
            return no_memory(p);
        rc = take_literal(p, &n->values[0]);
        if (!rc && !take_kw(p, "AND"))
            rc = fail_at(p, "expected AND in BETWEEN");
        return rc ? rc : take_literal(p, &n->values[1]);
    }
    if (negated) {
        p->at = at;
        return fail_at(p, "expected LIKE, IN or BETWEEN after NOT");
    }
    n->kind = MD_CQL_CMP;
    rc = take_cmp_op(p, &n->op);
    n->nvalues = 1;
    n->values = md_pool_calloc(p->pool, 1, sizeof(*n->values));
    if (!rc && !n->values)
        return no_memory(p);
    return rc ? rc : take_literal(p, &n->values[0]);
}

static md_err parse_primary(struct parser *p, struct md_cql_node **out)
{
    skip_space(p);
    size_t pos = pos1(p);
    if (take_char(p, '(')) {
        md_err rc = parse_or(p, out);
        return rc ? rc : expect_char(p, ')', "expected ')'");
    }
    if (peek_kw(p, "TRUE") || peek_kw(p, "FALSE")) {
        struct md_cql_node *n = new_node(p, MD_CQL_BOOL, pos);
        if (!n)
            return no_memory(p);
        n->boolean = take_kw(p, "TRUE");
        if (!n->boolean)
            (void)take_kw(p, "FALSE");
        *out = n;
        return MD_OK;
    }
    static const struct {
        const char *name;
        enum md_cql_temporal_op op;
    } tops[] = {{"T_INTERSECTS", MD_CQL_T_INTERSECTS},
                {"T_BEFORE", MD_CQL_T_BEFORE},
                {"T_AFTER", MD_CQL_T_AFTER}};
    struct md_cql_node *n = new_node(p, MD_CQL_CMP, pos);
    if (!n)
        return no_memory(p);
    *out = n;
    if (take_kw(p, "S_INTERSECTS")) {
        n->kind = MD_CQL_SPATIAL;
        return spatial(p, n);
    }
    for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
        if (take_kw(p, tops[i].name)) {
            n->kind = MD_CQL_TEMPORAL;
            n->top = tops[i].op;
            return temporal(p, n);
        }
    return predicate(p, n);
}

static md_err parse_not(struct parser *p, struct md_cql_node **out)
{
    if (++p->depth > MD_CQL2_MAX_DEPTH)
        return md_fail(p->ctx, MD_ETOOBIG, "filter: nested deeper than %d at position %zu",
                       MD_CQL2_MAX_DEPTH, pos1(p));
    skip_space(p);
    size_t pos = pos1(p);
    md_err rc;
    if (take_kw(p, "NOT")) {
        struct md_cql_node *n = new_node(p, MD_CQL_NOT, pos);
        if (!n)
            return no_memory(p);
        rc = parse_not(p, &n->a);
        *out = n;
    } else {
        rc = parse_primary(p, out);
    }
    p->depth--;
    return rc;
}

static md_err parse_binary(struct parser *p, bool is_or, struct md_cql_node **out)
{
    md_err rc = is_or ? parse_binary(p, false, out) : parse_not(p, out);
    while (!rc) {
        skip_space(p);
        size_t pos = pos1(p);
        if (!take_kw(p, is_or ? "OR" : "AND"))
            break;
        struct md_cql_node *n = new_node(p, is_or ? MD_CQL_OR : MD_CQL_AND, pos);
        if (!n)
            return no_memory(p);
        n->a = *out;
        rc = is_or ? parse_binary(p, false, &n->b) : parse_not(p, &n->b);
        *out = n;
    }
    return rc;
}

static md_err parse_or(struct parser *p, struct md_cql_node **out)
{
    if (++p->depth > MD_CQL2_MAX_DEPTH)
        return md_fail(p->ctx, MD_ETOOBIG, "filter: nested deeper than %d at position %zu",
                       MD_CQL2_MAX_DEPTH, pos1(p));
    md_err rc = parse_binary(p, true, out);
    p->depth--;
    return rc;
}

md_err md_cql2_parse(const char *text, size_t len, int tz_offset_min, struct md_pool *pool,
                     struct md_cql_node **out, struct md_ctx *ctx)
{
    struct parser p = {.s = text, .len = len, .tz = tz_offset_min, .pool = pool, .ctx = ctx};
    *out = NULL;
    if (len > MD_CQL2_MAX_TEXT)
        return md_fail(ctx, MD_ETOOBIG, "filter: longer than %d bytes", MD_CQL2_MAX_TEXT);
    skip_space(&p);
    if (p.at == len)
        return md_fail(ctx, MD_EINVAL, "filter: empty");
    md_err rc = parse_or(&p, out);
    if (!rc) {
        skip_space(&p);
        if (p.at < p.len)
            rc = fail_at(&p, "expected AND, OR or the end of the filter");
    }
    if (rc)
        *out = NULL;
    return rc;
}

const char *md_cql2_op_text(enum md_cql_op op)
{
    static const char *const text[] = {"=", "<>", "<", "<=", ">", ">="};
    return text[op];
}
