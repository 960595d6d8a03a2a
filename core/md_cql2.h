/* md_cql2.h - CQL2 text (OGC 21-065) parsed into a syntax tree; pure: no
 * SQL, no database. store/ translates the tree (store/features.h).
 *
 * The subset parsed: comparisons (= <> < <= > >=) of a property with a
 * literal, AND / OR / NOT and parentheses, [NOT] LIKE, [NOT] IN (list),
 * [NOT] BETWEEN a AND b, IS [NOT] NULL, TRUE / FALSE, S_INTERSECTS(property,
 * geometry) with BBOX(4 or 6 numbers), POINT, LINESTRING, POLYGON or
 * MULTIPOLYGON in WKT, and T_INTERSECTS / T_BEFORE / T_AFTER(property,
 * instant or INTERVAL). Literals: numbers, 'strings' ('' escapes a quote),
 * DATE('YYYY-MM-DD'), TIMESTAMP('RFC 3339'). Keywords and function names
 * are case-insensitive; property names are identifiers or "double quoted".
 * Anything else is a syntax error whose message names the byte position
 * (1-based) and what was expected there.
 *
 * Every node, string and coordinate array lives in the caller's pool.
 * Limits (a filter is outside input): MD_CQL2_MAX_TEXT bytes, nesting depth
 * MD_CQL2_MAX_DEPTH, MD_CQL2_MAX_LIST values in one IN list,
 * MD_CQL2_MAX_COORDS coordinates in one geometry.
 */
#ifndef MD_CQL2_H
#define MD_CQL2_H

#include "md_err.h"
#include "md_pool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MD_CQL2_MAX_TEXT 16384
#define MD_CQL2_MAX_DEPTH 48
#define MD_CQL2_MAX_LIST 1000
#define MD_CQL2_MAX_COORDS 4096

enum md_cql_kind {
    MD_CQL_AND,      /* a AND b */
    MD_CQL_OR,       /* a OR b */
    MD_CQL_NOT,      /* NOT a */
    MD_CQL_BOOL,     /* TRUE / FALSE: value.boolean */
    MD_CQL_CMP,      /* prop op values[0] */
    MD_CQL_LIKE,     /* prop [NOT] LIKE values[0] (a string; % and _ wildcards) */
    MD_CQL_IN,       /* prop [NOT] IN (values[0..nvalues)) */
    MD_CQL_BETWEEN,  /* prop [NOT] BETWEEN values[0] AND values[1] */
    MD_CQL_ISNULL,   /* prop IS [NOT] NULL */
    MD_CQL_SPATIAL,  /* S_INTERSECTS(prop, geom) */
    MD_CQL_TEMPORAL, /* T_INTERSECTS / T_BEFORE / T_AFTER(prop, [from, to]) */
};

enum md_cql_op { MD_CQL_EQ, MD_CQL_NE, MD_CQL_LT, MD_CQL_LE, MD_CQL_GT, MD_CQL_GE };

enum md_cql_vtype { MD_CQL_NUMBER, MD_CQL_STRING, MD_CQL_BOOLEAN, MD_CQL_TIMESTAMP, MD_CQL_DATE };

/* A literal. TIMESTAMP: time = time_end = seconds since the epoch. DATE:
 * the whole day, time = its first second, time_end = its last, in the
 * offset given to md_cql2_parse. string: the text as written (unescaped)
 * for STRING, DATE and TIMESTAMP. */
struct md_cql_value {
    enum md_cql_vtype type;
    double number;
    bool boolean;
    const char *string;
    int64_t time, time_end;
    size_t pos; /* 1-based byte position in the filter text */
};

enum md_cql_geom_type {
    MD_CQL_GEOM_BBOX,
    MD_CQL_GEOM_POINT,
    MD_CQL_GEOM_LINESTRING,
    MD_CQL_GEOM_POLYGON,
    MD_CQL_GEOM_MULTIPOLYGON
};

/* A geometry literal in lon/lat: `coords` holds ncoords (x, y) pairs;
 * `parts` the number of pairs in each ring (polygons) or line, nparts of
 * them; polygons of a MULTIPOLYGON are told apart by `polygon_rings` (the
 * ring count of each polygon, npolygons). minx..maxy: its envelope.
 * `wkt`: the geometry rewritten as WKT from the parsed numbers (BBOX as a
 * POLYGON), so that nothing of the input text reaches a database. */
struct md_cql_geom {
    enum md_cql_geom_type type;
    double *coords;
    size_t ncoords;
    size_t *parts, nparts;
    size_t *polygon_rings, npolygons;
    double minx, miny, maxx, maxy;
    const char *wkt;
};

enum md_cql_temporal_op { MD_CQL_T_INTERSECTS, MD_CQL_T_BEFORE, MD_CQL_T_AFTER };

struct md_cql_node {
    enum md_cql_kind kind;
    size_t pos;                /* 1-based byte position where the node starts */
    bool negated;              /* NOT LIKE, NOT IN, NOT BETWEEN, IS NOT NULL */
    struct md_cql_node *a, *b; /* AND/OR: both; NOT: a */
    const char *prop;          /* the property compared (not AND/OR/NOT/BOOL) */
    size_t prop_pos;
    enum md_cql_op op;
    struct md_cql_value *values;
    size_t nvalues;
    bool boolean;                /* BOOL */
    struct md_cql_geom geom;     /* SPATIAL */
    enum md_cql_temporal_op top; /* TEMPORAL */
    bool has_from, has_to;       /* TEMPORAL: bounds of the instant or interval */
    int64_t from, to;            /* inclusive, seconds */
};

/* Parses `len` bytes of CQL2 text (need not be NUL-terminated). Dates and
 * timestamps without an offset are taken at `tz_offset_min` minutes east of
 * UTC. On success *out is the root, owned by `pool`. Errors: MD_EINVAL with
 * "filter: <what> at position N" in ctx; MD_ETOOBIG past a limit;
 * MD_ENOMEM when the pool is full. */
md_err md_cql2_parse(const char *text, size_t len, int tz_offset_min, struct md_pool *pool,
                     struct md_cql_node **out, struct md_ctx *ctx) MD_WUR;

/* Name of a comparison operator ("=", "<>", ...), for messages. */
const char *md_cql2_op_text(enum md_cql_op op);

#endif
