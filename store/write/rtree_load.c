/* rtree_load.c - packing an empty SQLite R*Tree in one pass (store_int.h).
 *
 * Inserting a million entries one by one through the R*Tree virtual table
 * costs ~9 us each (choose-leaf, a 4 KB node rewrite, splits with forced
 * reinsertion): most of a bulk import. When the tree is empty, bulk mode
 * instead builds it bottom-up with Sort-Tile-Recursive packing (Leutenegger
 * et al. 1997) and writes SQLite's three shadow tables directly:
 *   <idx>_node(nodeno INTEGER PRIMARY KEY, data BLOB)  node 1 is the root;
 *   <idx>_rowid(rowid INTEGER PRIMARY KEY, nodeno)      entry -> its leaf;
 *   <idx>_parent(nodeno INTEGER PRIMARY KEY, parentnode) non-root node -> parent.
 * A node's blob has the tree's node size (the root's blob length): big-endian
 * u16 depth (root only: levels below it), u16 cell count, then cells of i64
 * id (child node, or row id in leaves) and f32 xmin, xmax, ymin, ymax.
 * Coordinates are rounded outwards to float exactly as the R*Tree module
 * rounds them (rtreeValueDown/Up), so the tree equals one built by inserts
 * in content, and `rtreecheck()` accepts it (unit/store/store checks).
 * Packed trees also answer queries with less node overlap.
 */
#include "store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RND_TOWARDS (1.0 - 1.0 / 8388608.0) /* as SQLite's rtree.c */
#define RND_AWAY (1.0 + 1.0 / 8388608.0)
#define CELL_BYTES 24

struct rt_entry {
    int64_t id;
    float x0, x1, y0, y1;
};

static float value_down(double d)
{
    float f = (float)d;
    if (f > d)
        f = (float)(d * (d < 0 ? RND_AWAY : RND_TOWARDS));
    return f;
}

static float value_up(double d)
{
    float f = (float)d;
    if (f < d)
        f = (float)(d * (d < 0 ? RND_TOWARDS : RND_AWAY));
    return f;
}

static int cmp_x(const void *pa, const void *pb)
{
    const struct rt_entry *a = pa, *b = pb;
    float ca = a->x0 + a->x1, cb = b->x0 + b->x1;
    return ca < cb ? -1 : ca > cb ? 1 : (a->id > b->id) - (a->id < b->id);
}

static int cmp_y(const void *pa, const void *pb)
{
    const struct rt_entry *a = pa, *b = pb;
    float ca = a->y0 + a->y1, cb = b->y0 + b->y1;
    return ca < cb ? -1 : ca > cb ? 1 : (a->id > b->id) - (a->id < b->id);
}

/* STR order: x-sorted slices of about sqrt(nodes) nodes each, y-sorted inside. */
static void str_sort(struct rt_entry *e, size_t n, size_t per_node)
{
    qsort(e, n, sizeof(*e), cmp_x);
    size_t nodes = (n + per_node - 1) / per_node;
    size_t slices = (size_t)ceil(sqrt((double)nodes));
    size_t per_slice = ((nodes + slices - 1) / slices) * per_node;
    for (size_t i = 0; i < n; i += per_slice)
        qsort(e + i, n - i < per_slice ? n - i : per_slice, sizeof(*e), cmp_y);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_f32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    put_be32(p, u);
}

struct loader {
    struct md_store *s;
    sqlite3_stmt *node, *rowid, *parent;
    unsigned char *blob;
    int node_size;
};

static md_err step(struct loader *l, sqlite3_stmt *st, struct md_ctx *ctx)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(l->s, src, "R*Tree bulk load", ctx);
}

/* Write one node of cells e[0..n) as `nodeno`. */
static md_err write_node(struct loader *l, int64_t nodeno, int depth, const struct rt_entry *e,
                         size_t n, struct md_ctx *ctx)
{
    memset(l->blob, 0, (size_t)l->node_size);
    put_be32(l->blob, (uint32_t)(nodeno == 1 ? depth : 0) << 16 | (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        unsigned char *c = l->blob + 4 + i * CELL_BYTES;
        put_be32(c, (uint32_t)((uint64_t)e[i].id >> 32));
        put_be32(c + 4, (uint32_t)e[i].id);
        put_f32(c + 8, e[i].x0);
        put_f32(c + 12, e[i].x1);
        put_f32(c + 16, e[i].y0);
        put_f32(c + 20, e[i].y1);
    }
    sqlite3_bind_int64(l->node, 1, nodeno);
    sqlite3_bind_blob(l->node, 2, l->blob, l->node_size, SQLITE_STATIC);
    return step(l, l->node, ctx);
}

/* Pack level by level. Node numbers: the root is 1; the others are given
 * from 2 upwards, level by level from the leaves. */
static md_err pack(struct loader *l, struct rt_entry *e, size_t n, size_t per_node,
                   struct md_ctx *ctx)
{
    md_err rc = MD_OK;
    int64_t next = 2;
    int height = 0;
    struct rt_entry *level = e; /* owned by the caller at height 0, else by us */
    for (;;) {
        if (n <= per_node) { /* the root */
            rc = write_node(l, 1, height, level, n, ctx);
            for (size_t i = 0; !rc && height > 0 && i < n; i++) {
                sqlite3_bind_int64(l->parent, 1, level[i].id);
                sqlite3_bind_int64(l->parent, 2, 1);
                rc = step(l, l->parent, ctx);
            }
            for (size_t i = 0; !rc && height == 0 && i < n; i++) {
                sqlite3_bind_int64(l->rowid, 1, level[i].id);
                sqlite3_bind_int64(l->rowid, 2, 1);
                rc = step(l, l->rowid, ctx);
            }
            break;
        }
        str_sort(level, n, per_node);
        size_t nodes = (n + per_node - 1) / per_node;
        struct rt_entry *up = malloc(nodes * sizeof(*up));
        if (!up) {
            rc = md_fail(ctx, MD_ENOMEM, "R*Tree bulk load");
            break;
        }
        for (size_t k = 0; !rc && k < nodes; k++) {
            const struct rt_entry *c = level + k * per_node;
            size_t m = n - k * per_node < per_node ? n - k * per_node : per_node;
            struct rt_entry box = {next++, c[0].x0, c[0].x1, c[0].y0, c[0].y1};
            for (size_t i = 0; !rc && i < m; i++) {
                box.x0 = fminf(box.x0, c[i].x0);
                box.x1 = fmaxf(box.x1, c[i].x1);
                box.y0 = fminf(box.y0, c[i].y0);
                box.y1 = fmaxf(box.y1, c[i].y1);
                sqlite3_stmt *link = height == 0 ? l->rowid : l->parent;
                sqlite3_bind_int64(link, 1, c[i].id);
                sqlite3_bind_int64(link, 2, box.id);
                rc = step(l, link, ctx);
            }
            if (!rc)
                rc = write_node(l, box.id, 0, c, m, ctx);
            up[k] = box;
        }
        if (level != e)
            free(level);
        level = up;
        n = nodes;
        height++;
        if (rc)
            break;
    }
    if (level != e)
        free(level);
    return rc;
}

md_err md__rtree_bulk_load(struct md_store *s, const char *table, int64_t first_rowid, bool *done,
                           struct md_ctx *ctx)
{
    char sql[512];
    sqlite3_stmt *st = NULL;
    struct loader l = {.s = s};
    struct rt_entry *e = NULL;
    size_t n = 0, cap = 0;
    md_err rc = MD_OK;
    *done = false;
    /* Only an empty tree whose root is the empty node 1. */
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM (SELECT 1 FROM idx_%s_geom_rowid LIMIT 1)),"
             " (SELECT count(*) FROM idx_%s_geom_node), (SELECT length(data) FROM"
             " idx_%s_geom_node WHERE nodeno = 1)",
             table, table, table);
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW &&
        sqlite3_column_int64(st, 0) == 0 && sqlite3_column_int64(st, 1) == 1)
        l.node_size = sqlite3_column_int(st, 2);
    sqlite3_finalize(st);
    st = NULL;
    if (src != SQLITE_ROW)
        return md_store_fail(s, src, "R*Tree bulk load", ctx);
    size_t per_node = l.node_size > 4 ? (size_t)(l.node_size - 4) / CELL_BYTES : 0;
    if (per_node < 4)
        return MD_OK; /* not empty, or not a 2-D tree we know: insert normally */

    snprintf(sql, sizeof(sql),
             "SELECT rowid, MbrMinX(geom), MbrMaxX(geom), MbrMinY(geom), MbrMaxY(geom) FROM %s"
             " WHERE rowid > %lld AND geom IS NOT NULL",
             table, (long long)first_rowid);
    src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            struct rt_entry *v = realloc(e, cap * sizeof(*v));
            if (!v) {
                rc = md_fail(ctx, MD_ENOMEM, "R*Tree bulk load");
                break;
            }
            e = v;
        }
        e[n++] = (struct rt_entry){sqlite3_column_int64(st, 0),
                                   value_down(sqlite3_column_double(st, 1)),
                                   value_up(sqlite3_column_double(st, 2)),
                                   value_down(sqlite3_column_double(st, 3)),
                                   value_up(sqlite3_column_double(st, 4))};
        src = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "R*Tree bulk load", ctx);
    if (rc || n == 0)
        goto out;

    l.blob = malloc((size_t)l.node_size);
    if (!l.blob) {
        rc = md_fail(ctx, MD_ENOMEM, "R*Tree bulk load");
        goto out;
    }
    snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO idx_%s_geom_node(nodeno, data) VALUES (?1, ?2)",
             table);
    src = sqlite3_prepare_v2(s->db, sql, -1, &l.node, NULL);
    if (src == SQLITE_OK) {
        snprintf(sql, sizeof(sql), "INSERT INTO idx_%s_geom_rowid(rowid, nodeno) VALUES (?1, ?2)",
                 table);
        src = sqlite3_prepare_v2(s->db, sql, -1, &l.rowid, NULL);
    }
    if (src == SQLITE_OK) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO idx_%s_geom_parent(nodeno, parentnode) VALUES (?1, ?2)", table);
        src = sqlite3_prepare_v2(s->db, sql, -1, &l.parent, NULL);
    }
    if (src != SQLITE_OK)
        rc = md_store_fail(s, src, "R*Tree bulk load", ctx);
    if (!rc)
        rc = pack(&l, e, n, per_node, ctx);
    if (!rc)
        *done = true;
out:
    sqlite3_finalize(l.node);
    sqlite3_finalize(l.rowid);
    sqlite3_finalize(l.parent);
    free(l.blob);
    free(e);
    return rc;
}
