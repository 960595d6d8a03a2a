/* feature_query.c - OGC feature pages: CQL2 tree -> SQL, keyset paging (feature_query.h).
 *
 * One statement per page, assembled from constant fragments and the
 * caller's allow-listed column names; every literal is bound (struct binds).
 * Shape:  SELECT key[, sort] FROM <table> t WHERE <box> AND <time> AND
 *         <filter> AND <after cursor> ORDER BY [sort,] key LIMIT limit+1
 * The extra row tells whether a next page exists. Boxes on point layers:
 * when the R*Tree holds at most MD_FEATURES_SMALL_BOX entries in them, the
 * ids come from the R*Tree (t.id IN (...)), otherwise the rows are read in
 * key order and tested on lon/lat (a big box matches often, so a page
 * stops early). Polygon layers always go through their R*Tree and
 * ST_Intersects.
 */
#include "feature_query.h"
#include "md_buf.h"
#include "md_time.h"
#include "store_int.h"

#include <math.h>
#include <string.h>

struct layer_def {
    const char *table, *key;
    bool point;
    const char
        *box_ids; /* R*Tree ids in a box: xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ? */
    const char *box_count; /* ?1..?4 = minx, miny, maxx, maxy; counts at most SMALL_BOX + 1 */
};

static const char fac_box_count[] =
    "SELECT count(*) FROM (SELECT 1 FROM idx_facilities_geom WHERE xmax >= ?1 AND xmin <= ?3"
    " AND ymax >= ?2 AND ymin <= ?4 LIMIT 4097)";
static const char rep_box_count[] =
    "SELECT count(*) FROM (SELECT 1 FROM idx_reports_geom WHERE xmax >= ?1 AND xmin <= ?3"
    " AND ymax >= ?2 AND ymin <= ?4 LIMIT 4097)";

static const struct layer_def layer_defs[MD_LAYER__COUNT] = {
    {"facilities", "id", true, "SELECT pkid FROM idx_facilities_geom WHERE", fac_box_count},
    {"reports", "id", true, "SELECT pkid FROM idx_reports_geom WHERE", rep_box_count},
    {"districts", "code", false, "SELECT pkid FROM idx_districts_geom WHERE", NULL},
    {"grids", "code", false, "SELECT pkid FROM idx_grids_geom WHERE", NULL},
};

enum bind_type { BIND_INT, BIND_REAL, BIND_TEXT };

struct bind {
    enum bind_type type;
    int64_t i;
    double r;
    const char *s;
};

struct builder {
    struct md_buf sql;
    struct bind *binds;
    int nbinds, capbinds;
    const struct md_feature_query *q;
    struct md_pool *pool;
    struct md_ctx *ctx;
};

static md_err put(struct builder *b, const char *s)
{
    return md_buf_puts(&b->sql, s) ? md_fail(b->ctx, MD_ETOOBIG, "filter too large") : MD_OK;
}

static md_err bind_add(struct builder *b, struct bind v)
{
    if (b->nbinds == b->capbinds) {
        int cap = b->capbinds ? b->capbinds * 2 : 16;
        struct bind *nb = md_pool_alloc(b->pool, (size_t)cap * sizeof(*nb));
        if (!nb)
            return md_fail(b->ctx, MD_ENOMEM, "filter: out of memory");
        if (b->nbinds)
            memcpy(nb, b->binds, (size_t)b->nbinds * sizeof(*nb));
        b->binds = nb;
        b->capbinds = cap;
    }
    b->binds[b->nbinds++] = v;
    return put(b, "?");
}

static md_err bind_int(struct builder *b, int64_t v)
{
    return bind_add(b, (struct bind){.type = BIND_INT, .i = v});
}

static md_err bind_real(struct builder *b, double v)
{
    return bind_add(b, (struct bind){.type = BIND_REAL, .r = v});
}

static md_err bind_text(struct builder *b, const char *v)
{
    return bind_add(b, (struct bind){.type = BIND_TEXT, .s = v});
}

static md_err column(struct builder *b, const char *name)
{
    md_err rc = put(b, "t.");
    return rc ? rc : put(b, name);
}

/* The allow-listed field called `name`; MD_EINVAL naming the position otherwise. */
static md_err find_field(struct builder *b, const char *name, size_t pos,
                         const struct md_field **out)
{
    for (int i = 0; i < b->q->nfields; i++)
        if (strcmp(b->q->fields[i].name, name) == 0) {
            *out = &b->q->fields[i];
            return MD_OK;
        }
    return md_fail(b->ctx, MD_EINVAL,
                   "filter: unknown property '%.40s' at position %zu (see the queryables)", name,
                   pos);
}

static const char *type_name(enum md_field_type t)
{
    static const char *const names[] = {"an integer", "a number", "a string", "a timestamp"};
    return names[t];
}

static md_err wrong_type(struct builder *b, const struct md_field *f, const struct md_cql_value *v)
{
    return md_fail(b->ctx, MD_EINVAL,
                   "filter: property '%s' is %s; the value at position %zu is not", f->name,
                   type_name(f->type), v->pos);
}

/* A time literal: TIMESTAMP, DATE, or a string holding either. */
static md_err time_value(struct builder *b, const struct md_field *f, const struct md_cql_value *v,
                         int64_t *t0, int64_t *t1)
{
    if (v->type == MD_CQL_TIMESTAMP || v->type == MD_CQL_DATE) {
        *t0 = v->time;
        *t1 = v->time_end;
        return MD_OK;
    }
    if (v->type != MD_CQL_STRING)
        return wrong_type(b, f, v);
    struct md_ctx sub;
    md_ctx_init(&sub);
    char day[11];
    const char *text = v->string;
    if (strlen(text) == 11 && text[10] == 'T') { /* "YYYY-MM-DDT": a day, as GDAL 3.6 writes it */
        memcpy(day, text, 10);
        day[10] = '\0';
        text = day;
    }
    if (md_time_parse(text, b->q->tz_offset_min, t0, &sub))
        return md_fail(b->ctx, MD_EINVAL,
                       "filter: property '%s' is a timestamp; '%.40s' at position %zu is not a"
                       " date or an RFC 3339 date-time",
                       f->name, v->string, v->pos);
    *t1 = strlen(text) == 10 ? *t0 + 86399 : *t0;
    return MD_OK;
}

/* Bind one scalar for field f (not a time: see time_value). */
static md_err scalar(struct builder *b, const struct md_field *f, const struct md_cql_value *v)
{
    if (f->type == MD_FIELD_TEXT && v->type == MD_CQL_STRING)
        return bind_text(b, v->string);
    if (f->type == MD_FIELD_INT && v->type == MD_CQL_NUMBER) {
        if (v->number == floor(v->number) && fabs(v->number) < 9e15)
            return bind_int(b, (int64_t)v->number);
        return bind_real(b, v->number);
    }
    if (f->type == MD_FIELD_REAL && v->type == MD_CQL_NUMBER)
        return bind_real(b, v->number);
    if (f->type == MD_FIELD_TIME) {
        int64_t t0, t1;
        md_err rc = time_value(b, f, v, &t0, &t1);
        return rc ? rc : bind_int(b, t0);
    }
    return wrong_type(b, f, v);
}

static md_err cmp_time(struct builder *b, const struct md_field *f, const struct md_cql_node *n)
{
    int64_t t0, t1;
    md_err rc = time_value(b, f, &n->values[0], &t0, &t1);
    if (!rc)
        rc = column(b, f->name);
    if (rc)
        return rc;
    switch (n->op) { /* a date stands for its whole day */
    case MD_CQL_EQ:
    case MD_CQL_NE:
        rc = put(b, n->op == MD_CQL_EQ ? " BETWEEN " : " NOT BETWEEN ");
        if (!rc)
            rc = bind_int(b, t0);
        if (!rc)
            rc = put(b, " AND ");
        return rc ? rc : bind_int(b, t1);
    case MD_CQL_LT:
        rc = put(b, " < ");
        return rc ? rc : bind_int(b, t0);
    case MD_CQL_LE:
        rc = put(b, " <= ");
        return rc ? rc : bind_int(b, t1);
    case MD_CQL_GT:
        rc = put(b, " > ");
        return rc ? rc : bind_int(b, t1);
    case MD_CQL_GE:
        rc = put(b, " >= ");
        return rc ? rc : bind_int(b, t0);
    }
    return MD_EINTERNAL;
}

static md_err cmp(struct builder *b, const struct md_field *f, const struct md_cql_node *n)
{
    if (f->type == MD_FIELD_TIME)
        return cmp_time(b, f, n);
    md_err rc = column(b, f->name);
    if (!rc)
        rc = put(b, " ");
    if (!rc)
        rc = put(b, md_cql2_op_text(n->op));
    if (!rc)
        rc = put(b, " ");
    return rc ? rc : scalar(b, f, &n->values[0]);
}

/* CQL2 LIKE ('%', '_', backslash escapes; case-sensitive) as a GLOB pattern. */
static md_err like(struct builder *b, const struct md_field *f, const struct md_cql_node *n)
{
    const struct md_cql_value *v = &n->values[0];
    if (f->type != MD_FIELD_TEXT)
        return md_fail(b->ctx, MD_EINVAL,
                       "filter: LIKE needs a string property; '%s' is %s"
                       " (position %zu)",
                       f->name, type_name(f->type), n->pos);
    size_t len = strlen(v->string);
    char *glob = md_pool_alloc(b->pool, len * 3 + 1), *o = glob;
    if (!glob)
        return md_fail(b->ctx, MD_ENOMEM, "filter: out of memory");
    for (const char *s = v->string; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
        } else if (*s == '%') {
            *o++ = '*';
            continue;
        } else if (*s == '_') {
            *o++ = '?';
            continue;
        }
        if (*s == '*' || *s == '?' || *s == '[') {
            *o++ = '[';
            *o++ = *s;
            *o++ = ']';
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    md_err rc = put(b, n->negated ? "NOT (" : "(");
    if (!rc)
        rc = column(b, f->name);
    if (!rc)
        rc = put(b, " GLOB ");
    if (!rc)
        rc = bind_text(b, glob);
    return rc ? rc : put(b, ")");
}

static md_err in_list(struct builder *b, const struct md_field *f, const struct md_cql_node *n)
{
    md_err rc = column(b, f->name);
    if (!rc)
        rc = put(b, n->negated ? " NOT IN (" : " IN (");
    for (size_t i = 0; !rc && i < n->nvalues; i++) {
        if (i)
            rc = put(b, ",");
        if (!rc)
            rc = scalar(b, f, &n->values[i]);
    }
    return rc ? rc : put(b, ")");
}

static md_err between(struct builder *b, const struct md_field *f, const struct md_cql_node *n)
{
    md_err rc = column(b, f->name);
    if (!rc)
        rc = put(b, n->negated ? " NOT BETWEEN " : " BETWEEN ");
    if (rc)
        return rc;
    if (f->type == MD_FIELD_TIME) {
        int64_t a0, a1, z0, z1;
        rc = time_value(b, f, &n->values[0], &a0, &a1);
        if (!rc)
            rc = time_value(b, f, &n->values[1], &z0, &z1);
        if (!rc)
            rc = bind_int(b, a0);
        if (!rc)
            rc = put(b, " AND ");
        return rc ? rc : bind_int(b, z1);
    }
    rc = scalar(b, f, &n->values[0]);
    if (!rc)
        rc = put(b, " AND ");
    return rc ? rc : scalar(b, f, &n->values[1]);
}

static bool is_geometry_prop(const char *name)
{
    return strcmp(name, "geometry") == 0 || strcmp(name, "geom") == 0;
}

static md_err spatial(struct builder *b, const struct md_cql_node *n)
{
    const struct layer_def *d = &layer_defs[b->q->layer];
    const struct md_cql_geom *g = &n->geom;
    if (!is_geometry_prop(n->prop))
        return md_fail(b->ctx, MD_EINVAL,
                       "filter: S_INTERSECTS takes the property 'geometry',"
                       " not '%.40s' (position %zu)",
                       n->prop, n->prop_pos);
    md_err rc = MD_OK;
    if (d->point) {
        rc = put(b, "(t.lon BETWEEN ");
        if (!rc)
            rc = bind_real(b, g->minx);
        if (!rc)
            rc = put(b, " AND ");
        if (!rc)
            rc = bind_real(b, g->maxx);
        if (!rc)
            rc = put(b, " AND t.lat BETWEEN ");
        if (!rc)
            rc = bind_real(b, g->miny);
        if (!rc)
            rc = put(b, " AND ");
        if (!rc)
            rc = bind_real(b, g->maxy);
        if (!rc && g->type != MD_CQL_GEOM_BBOX) {
            rc = put(b, " AND ST_Intersects(t.geom, GeomFromText(");
            if (!rc)
                rc = bind_text(b, g->wkt);
            if (!rc)
                rc = put(b, ", 4326)) = 1");
        }
        return rc ? rc : put(b, ")");
    }
    rc = put(b, "(t.rowid IN (");
    if (!rc)
        rc = put(b, d->box_ids);
    if (!rc)
        rc = put(b, " xmax >= ");
    if (!rc)
        rc = bind_real(b, g->minx);
    if (!rc)
        rc = put(b, " AND xmin <= ");
    if (!rc)
        rc = bind_real(b, g->maxx);
    if (!rc)
        rc = put(b, " AND ymax >= ");
    if (!rc)
        rc = bind_real(b, g->miny);
    if (!rc)
        rc = put(b, " AND ymin <= ");
    if (!rc)
        rc = bind_real(b, g->maxy);
    if (!rc)
        rc = put(b, ") AND ST_Intersects(t.geom, GeomFromText(");
    if (!rc)
        rc = bind_text(b, g->wkt);
    return rc ? rc : put(b, ", 4326)) = 1)");
}

/* col >= from AND col <= to (open ends left out). */
static md_err time_range(struct builder *b, const char *col, bool has_from, int64_t from,
                         bool has_to, int64_t to)
{
    md_err rc = put(b, "(");
    if (!rc)
        rc = column(b, col);
    if (!rc)
        rc = put(b, " IS NOT NULL");
    if (!rc && has_from) {
        rc = put(b, " AND ");
        if (!rc)
            rc = column(b, col);
        if (!rc)
            rc = put(b, " >= ");
        if (!rc)
            rc = bind_int(b, from);
    }
    if (!rc && has_to) {
        rc = put(b, " AND ");
        if (!rc)
            rc = column(b, col);
        if (!rc)
            rc = put(b, " <= ");
        if (!rc)
            rc = bind_int(b, to);
    }
    return rc ? rc : put(b, ")");
}

static md_err temporal(struct builder *b, const struct md_field *f, const struct md_cql_node *n)
{
    if (f->type != MD_FIELD_TIME)
        return md_fail(b->ctx, MD_EINVAL,
                       "filter: '%s' at position %zu is not a temporal"
                       " property",
                       f->name, n->prop_pos);
    if (n->top == MD_CQL_T_INTERSECTS)
        return time_range(b, f->name, n->has_from, n->from, n->has_to, n->to);
    bool before = n->top == MD_CQL_T_BEFORE;
    if ((before && !n->has_from) || (!before && !n->has_to))
        return put(b, "0"); /* nothing is before -inf or after +inf */
    md_err rc = column(b, f->name);
    if (!rc)
        rc = put(b, before ? " < " : " > ");
    return rc ? rc : bind_int(b, before ? n->from : n->to);
}

static md_err node_sql(struct builder *b, const struct md_cql_node *n)
{
    const struct md_field *f = NULL;
    md_err rc = MD_OK;
    switch (n->kind) {
    case MD_CQL_AND:
    case MD_CQL_OR:
        rc = put(b, "(");
        if (!rc)
            rc = node_sql(b, n->a);
        if (!rc)
            rc = put(b, n->kind == MD_CQL_AND ? " AND " : " OR ");
        if (!rc)
            rc = node_sql(b, n->b);
        return rc ? rc : put(b, ")");
    case MD_CQL_NOT:
        rc = put(b, "(NOT ");
        if (!rc)
            rc = node_sql(b, n->a);
        return rc ? rc : put(b, ")");
    case MD_CQL_BOOL:
        return put(b, n->boolean ? "1" : "0");
    case MD_CQL_SPATIAL:
        return spatial(b, n);
    case MD_CQL_ISNULL:
        if (is_geometry_prop(n->prop))
            return put(b, n->negated ? "1" : "0"); /* every feature has a geometry */
        break;
    default:
        break;
    }
    rc = find_field(b, n->prop, n->prop_pos, &f);
    if (rc)
        return rc;
    switch (n->kind) {
    case MD_CQL_CMP:
        return cmp(b, f, n);
    case MD_CQL_LIKE:
        return like(b, f, n);
    case MD_CQL_IN:
        return in_list(b, f, n);
    case MD_CQL_BETWEEN:
        return between(b, f, n);
    case MD_CQL_ISNULL:
        rc = column(b, f->name);
        return rc ? rc : put(b, n->negated ? " IS NOT NULL" : " IS NULL");
    case MD_CQL_TEMPORAL:
        return temporal(b, f, n);
    default:
        return md_fail(b->ctx, MD_EINTERNAL, "filter: unexpected node");
    }
}

/* ---- the page statement */

static md_err box_count(struct md_store *s, const struct layer_def *d, const struct md_bbox *box,
                        int64_t *n, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, d->box_count, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_double(st, 1, box->minx);
    sqlite3_bind_double(st, 2, box->miny);
    sqlite3_bind_double(st, 3, box->maxx);
    sqlite3_bind_double(st, 4, box->maxy);
    int src = sqlite3_step(st);
    *n = sqlite3_column_int64(st, 0);
    if (src != SQLITE_ROW)
        rc = md_store_fail(s, src, "box count", ctx);
    sqlite3_reset(st);
    return rc;
}

static md_err lonlat_in(struct builder *b, const struct md_bbox *box)
{
    md_err rc = put(b, "t.lon BETWEEN ");
    if (!rc)
        rc = bind_real(b, box->minx);
    if (!rc)
        rc = put(b, " AND ");
    if (!rc)
        rc = bind_real(b, box->maxx);
    if (!rc)
        rc = put(b, " AND t.lat BETWEEN ");
    if (!rc)
        rc = bind_real(b, box->miny);
    if (!rc)
        rc = put(b, " AND ");
    return rc ? rc : bind_real(b, box->maxy);
}

static md_err rtree_in(struct builder *b, const struct layer_def *d, const struct md_bbox *box)
{
    md_err rc = put(b, d->point ? "t.id IN (" : "t.rowid IN (");
    if (!rc)
        rc = put(b, d->box_ids);
    if (!rc)
        rc = put(b, " xmax >= ");
    if (!rc)
        rc = bind_real(b, box->minx);
    if (!rc)
        rc = put(b, " AND xmin <= ");
    if (!rc)
        rc = bind_real(b, box->maxx);
    if (!rc)
        rc = put(b, " AND ymax >= ");
    if (!rc)
        rc = bind_real(b, box->miny);
    if (!rc)
        rc = put(b, " AND ymin <= ");
    if (!rc)
        rc = bind_real(b, box->maxy);
    return rc ? rc : put(b, ")");
}

/* The boxes of bbox=: see the header comment for the two ways on point layers. */
static md_err boxes_sql(struct md_store *s, struct builder *b, bool small)
{
    const struct layer_def *d = &layer_defs[b->q->layer];
    md_err rc = put(b, " AND (");
    for (int i = 0; !rc && i < b->q->nboxes; i++) {
        const struct md_bbox *box = &b->q->boxes[i];
        rc = put(b, i ? " OR (" : "(");
        if (!rc && (small || !d->point)) {
            rc = rtree_in(b, d, box);
            if (!rc)
                rc = put(b, " AND ");
        }
        if (!rc && d->point) {
            rc = lonlat_in(b, box);
        } else if (!rc) {
            rc = put(b, "ST_Intersects(t.geom, BuildMbr(");
            if (!rc)
                rc = bind_real(b, box->minx);
            if (!rc)
                rc = put(b, ", ");
            if (!rc)
                rc = bind_real(b, box->miny);
            if (!rc)
                rc = put(b, ", ");
            if (!rc)
                rc = bind_real(b, box->maxx);
            if (!rc)
                rc = put(b, ", ");
            if (!rc)
                rc = bind_real(b, box->maxy);
            if (!rc)
                rc = put(b, ", 4326)) = 1");
        }
        if (!rc)
            rc = put(b, ")");
    }
    (void)s;
    return rc ? rc : put(b, ")");
}

static md_err bind_key_value(struct builder *b, const struct md_key_value *v, bool real)
{
    if (v->is_text)
        return bind_text(b, v->s);
    return real ? bind_real(b, v->r) : bind_int(b, v->i);
}

/* Rows after the cursor in the page order. */
static md_err cursor_sql(struct builder *b, const struct md_field *sort)
{
    const struct md_feature_query *q = b->q;
    const struct md_feature_cursor *c = q->after;
    const char *key = layer_defs[q->layer].key;
    const char *lt = q->sort_desc ? " < " : " > ";
    md_err rc = put(b, " AND (");
    if (!rc && sort && !c->sort.is_null) {
        bool real = sort->type == MD_FIELD_REAL;
        rc = column(b, sort->name);
        if (!rc)
            rc = put(b, lt);
        if (!rc)
            rc = bind_key_value(b, &c->sort, real);
        if (!rc)
            rc = put(b, " OR (");
        if (!rc)
            rc = column(b, sort->name);
        if (!rc)
            rc = put(b, " = ");
        if (!rc)
            rc = bind_key_value(b, &c->sort, real);
        if (!rc)
            rc = put(b, " AND ");
    } else if (!rc && sort) { /* after a NULL: NULLs come first ascending, last descending */
        rc = put(b, "(");
        if (!rc)
            rc = column(b, sort->name);
        if (!rc)
            rc = put(b, " IS NULL AND ");
    }
    if (!rc)
        rc = column(b, key);
    if (!rc)
        rc = put(b, lt);
    if (!rc)
        rc = bind_key_value(b, &c->key, false);
    if (!rc && sort) {
        rc = put(b, ")");
        if (!rc && !c->sort.is_null && q->sort_desc) {
            rc = put(b, " OR ");
            if (!rc)
                rc = column(b, sort->name);
            if (!rc)
                rc = put(b, " IS NULL");
        } else if (!rc && c->sort.is_null && !q->sort_desc) {
            rc = put(b, " OR ");
            if (!rc)
                rc = column(b, sort->name);
            if (!rc)
                rc = put(b, " IS NOT NULL");
        }
    }
    return rc ? rc : put(b, ")");
}

/* Every condition but the cursor: " AND ..." pieces after "WHERE 1". */
static md_err conditions_sql(struct md_store *s, struct builder *b, bool small_box)
{
    const struct md_feature_query *q = b->q;
    md_err rc = MD_OK;
    if (q->nboxes)
        rc = boxes_sql(s, b, small_box);
    if (!rc && (q->has_from || q->has_to)) {
        rc = put(b, " AND ");
        if (!rc)
            rc = time_range(b, q->time_field, q->has_from, q->from, q->has_to, q->to);
    }
    if (!rc && q->filter) {
        rc = put(b, " AND ");
        if (!rc)
            rc = node_sql(b, q->filter);
    }
    return rc;
}

static md_err prepare(struct md_store *s, struct builder *b, sqlite3_stmt **st)
{
    int src = sqlite3_prepare_v2(s->db, b->sql.data, (int)b->sql.len, st, NULL);
    if (src != SQLITE_OK)
        return md_store_fail(s, src, "features", b->ctx);
    for (int i = 0; i < b->nbinds; i++) {
        const struct bind *v = &b->binds[i];
        if (v->type == BIND_INT)
            sqlite3_bind_int64(*st, i + 1, v->i);
        else if (v->type == BIND_REAL)
            sqlite3_bind_double(*st, i + 1, v->r);
        else
            sqlite3_bind_text(*st, i + 1, v->s, -1, SQLITE_STATIC);
    }
    return MD_OK;
}

static md_err column_value(sqlite3_stmt *st, int i, struct md_pool *pool, struct md_key_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        v->is_null = true;
        return MD_OK;
    case SQLITE_INTEGER:
        v->i = sqlite3_column_int64(st, i);
        v->r = (double)v->i;
        return MD_OK;
    case SQLITE_FLOAT:
        v->r = sqlite3_column_double(st, i);
        v->i = (int64_t)v->r;
        return MD_OK;
    default:
        v->is_text = true;
        v->s = md_pool_strdup(pool, (const char *)sqlite3_column_text(st, i));
        return v->s ? MD_OK : MD_ENOMEM;
    }
}

static int count_progress(void *arg)
{
    int *left = arg;
    return --*left <= 0;
}

/* numberMatched within MD_FEATURES_COUNT_STEPS of work; *done false when it ran out. */
static md_err bounded_count(struct md_store *s, struct builder *b, bool small_box, int64_t *n,
                            bool *done)
{
    const struct layer_def *d = &layer_defs[b->q->layer];
    sqlite3_stmt *st = NULL;
    md_buf_reset(&b->sql);
    b->nbinds = 0;
    md_err rc = put(b, "SELECT count(*) FROM ");
    if (!rc)
        rc = put(b, d->table);
    if (!rc)
        rc = put(b, " t WHERE 1");
    if (!rc)
        rc = conditions_sql(s, b, small_box);
    if (!rc)
        rc = prepare(s, b, &st);
    if (rc)
        return rc;
    int left = MD_FEATURES_COUNT_STEPS / 1000;
    sqlite3_progress_handler(s->db, 1000, count_progress, &left);
    int src = sqlite3_step(st);
    sqlite3_progress_handler(s->db, 0, NULL, NULL);
    *done = src == SQLITE_ROW;
    if (*done)
        *n = sqlite3_column_int64(st, 0);
    else if (src != SQLITE_INTERRUPT)
        rc = md_store_fail(s, src, "count", b->ctx);
    sqlite3_finalize(st);
    return rc;
}

static md_err page_sql(struct md_store *s, struct builder *b, const struct md_field *sort,
                       bool small_box)
{
    const struct md_feature_query *q = b->q;
    const struct layer_def *d = &layer_defs[q->layer];
    md_err rc = put(b, "SELECT ");
    if (!rc)
        rc = column(b, d->key);
    if (!rc && sort) {
        rc = put(b, ", ");
        if (!rc)
            rc = column(b, sort->name);
    }
    if (!rc)
        rc = put(b, " FROM ");
    if (!rc)
        rc = put(b, d->table);
    if (!rc)
        rc = put(b, " t WHERE 1");
    if (!rc)
        rc = conditions_sql(s, b, small_box);
    if (!rc && q->after)
        rc = cursor_sql(b, sort);
    if (!rc)
        rc = put(b, " ORDER BY ");
    if (!rc && sort) {
        rc = column(b, sort->name);
        if (!rc)
            rc = put(b, q->sort_desc ? " DESC, " : ", ");
    }
    if (!rc)
        rc = column(b, d->key);
    if (!rc)
        rc = put(b, q->sort_desc ? " DESC LIMIT " : " LIMIT ");
    if (!rc)
        rc = bind_int(b, (int64_t)q->limit + 1);
    if (!rc)
        rc = put(b, " OFFSET ");
    return rc ? rc : bind_int(b, q->after ? 0 : q->offset);
}

static md_err read_page(struct md_store *s, struct builder *b, const struct md_field *sort,
                        struct md_feature_page *out)
{
    sqlite3_stmt *st = NULL;
    md_err rc = prepare(s, b, &st);
    if (rc)
        return rc;
    int limit = b->q->limit, src;
    out->keys = md_pool_calloc(b->pool, (size_t)limit, sizeof(*out->keys));
    if (!out->keys)
        rc = md_fail(b->ctx, MD_ENOMEM, "features: page too large");
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == limit) {
            out->more = true;
            break;
        }
        struct md_key_value *k = &out->keys[out->n++];
        rc = column_value(st, 0, b->pool, k);
        out->last.key = *k;
        out->last.has_sort = sort != NULL;
        if (!rc && sort)
            rc = column_value(st, 1, b->pool, &out->last.sort);
        if (rc == MD_ENOMEM)
            rc = md_fail(b->ctx, rc, "features: out of memory");
    }
    if (!rc && !out->more && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "features", b->ctx);
    sqlite3_finalize(st);
    return rc;
}

static bool has_conditions(const struct md_feature_query *q)
{
    return q->nboxes || q->has_from || q->has_to || q->filter;
}

static md_err features_in_txn(struct md_store *s, struct builder *b, struct md_feature_page *out)
{
    const struct md_feature_query *q = b->q;
    const struct layer_def *d = &layer_defs[q->layer];
    const struct md_field *sort = NULL;
    bool small_box = false;
    md_err rc = MD_OK;
    if (q->sort_field)
        rc = find_field(b, q->sort_field, 0, &sort);
    if (rc)
        return md_fail(b->ctx, MD_EINVAL, "sortby: unknown property '%.40s'", q->sort_field);
    if (d->point && q->nboxes) {
        int64_t total = 0;
        for (int i = 0; !rc && i < q->nboxes; i++) {
            int64_t n = 0;
            rc = box_count(s, d, &q->boxes[i], &n, b->ctx);
            total += n;
        }
        small_box = total <= MD_FEATURES_SMALL_BOX;
    }
    if (!rc)
        rc = page_sql(s, b, sort, small_box);
    if (!rc)
        rc = read_page(s, b, sort, out);
    if (rc || q->after)
        return rc;
    if (!out->more && (out->n > 0 || q->offset == 0)) {
        out->has_matched = true;
        out->matched = q->offset + out->n;
    } else if (!has_conditions(q)) {
        struct md_layer_info info;
        rc = md_store_layer_info(s, q->layer, &info, b->ctx);
        out->has_matched = !rc;
        out->matched = info.row_count;
    } else {
        rc = bounded_count(s, b, small_box, &out->matched, &out->has_matched);
    }
    return rc;
}

md_err md_store_features(struct md_store *s, const struct md_feature_query *q, struct md_pool *pool,
                         struct md_feature_page *out, struct md_ctx *ctx)
{
    struct builder b = {.q = q, .pool = pool, .ctx = ctx};
    bool began = sqlite3_get_autocommit(s->db) != 0;
    memset(out, 0, sizeof(*out));
    if (q->layer < 0 || q->layer > MD_LAYER_GRIDS || q->limit < 1)
        return md_fail(ctx, MD_EINVAL, "features: bad query");
    md_buf_init(&b.sql, 1024 * 1024);
    md_err rc = began ? md_store_read_begin(s, ctx) : MD_OK;
    if (!rc)
        rc = features_in_txn(s, &b, out);
    if (began)
        md_store_read_end(s);
    md_buf_free(&b.sql);
    return rc;
}
