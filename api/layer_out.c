/* layer_out.c - public fields of each layer as GeoJSON and CSV (layer_out.h).
 *
 * Each layer has one column list (md_layer_public, store/read/layer_fields.h);
 * the store's SELECT, the GeoJSON properties and the CSV header all come
 * from it, so a column can never be public in one output and private in
 * another. Polygons come from the store as WKB and are walked here, so
 * every vertex goes through the same number formatting and CRS conversion
 * as points.
 */
#include "layer_out.h"
#include "layer_fields.h"
#include "md_text.h"
#include "md_time.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decimal digits of v (< 10^20) right-aligned ending at end; returns the start. */
static char *u64_digits(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static md_err put_i64(struct md_buf *b, int64_t v)
{
    char s[24], *end = s + sizeof(s);
    char *p = u64_digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, end);
    if (v < 0)
        *--p = '-';
    return md_buf_append(b, p, (size_t)(end - p));
}

/* v as integer part and `decimals` digits of f = round(|v| * 10^decimals),
 * trailing zeros (and a bare point) dropped when `trim`. */
static md_err put_fixed(struct md_buf *b, bool negative, uint64_t f, int decimals, bool trim)
{
    char s[48], *end = s + sizeof(s), *p = end;
    int d = decimals;
    if (trim)
        while (d > 0 && f % 10 == 0) {
            f /= 10;
            d--;
        }
    for (int i = 0; i < d; i++) {
        *--p = (char)('0' + f % 10);
        f /= 10;
    }
    if (d > 0)
        *--p = '.';
    p = u64_digits(f, p);
    if (negative)
        *--p = '-';
    return md_buf_append(b, p, (size_t)(end - p));
}

md_err md__put_double(struct md_buf *b, double v)
{
    if (!isfinite(v))
        return md_buf_puts(b, "null");
    /* Every output prints numbers as the REST answers do (jansson with
     * MD_JSON_FLAGS: "%.12g"). Fast path, byte-identical to it: a value of
     * 1..1e5 in magnitude that is exactly the double nearest to a decimal
     * with at most 7 places (coordinates as stored), at most 12 significant
     * digits, printed without trailing zeros. */
    double a = fabs(v);
    if (a >= 1.0 && a < 1e5) {
        double m = a * 1e7, r = nearbyint(m);
        if (r / 1e7 == a)
            return put_fixed(b, v < 0, (uint64_t)r, 7, true);
    }
    char s[40];
    /* As REST prints it when that is exact; otherwise the shortest of 15 or
     * 17 digits that reads back the same double, so an export never loses a
     * coordinate (an export-import round trip is lossless). */
    snprintf(s, sizeof(s), "%.12g", v);
    if (strtod(s, NULL) != v)
        snprintf(s, sizeof(s), "%.15g", v);
    if (strtod(s, NULL) != v)
        snprintf(s, sizeof(s), "%.17g", v);
    return md_buf_puts(b, s);
}

/* Metres with 4 decimals (0.1 mm), as "%.4f" prints them. */
static md_err put_metres(struct md_buf *b, double v)
{
    if (v >= 0 && v < 1e9) {
        double m = v * 1e4, fl = floor(m);
        /* Far from a rounding tie, rounding the product rounds the exact value. */
        if (fabs(m - fl - 0.5) > 1e-3)
            return put_fixed(b, false, (uint64_t)(m - fl < 0.5 ? fl : fl + 1.0), 4, false);
    }
    return md_buf_printf(b, "%.4f", v);
}

/* A JSON string: in one piece when nothing needs escaping (the usual case);
 * otherwise md_buf_json_str, which writes the same bytes for such input. */
static md_err put_str(struct md_buf *b, const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
        if (*p < 0x20 || *p == '"' || *p == '\\')
            return md_buf_json_str(b, s);
    if (!md_utf8_valid(s, n))
        return md_buf_json_str(b, s);
    md_err rc = md_buf_reserve(b, n + 2);
    if (rc)
        return rc;
    b->data[b->len++] = '"';
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
    return MD_OK;
}

/* ,"name": (or without the comma for the first property) */
static md_err put_key(struct md_buf *b, bool first, const char *name)
{
    size_t n = strlen(name);
    md_err rc = md_buf_reserve(b, n + 4);
    if (rc)
        return rc;
    char *p = b->data + b->len;
    if (!first)
        *p++ = ',';
    *p++ = '"';
    memcpy(p, name, n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    *p = '\0';
    b->len = (size_t)(p - b->data);
    return MD_OK;
}

static md_err put_lonlat(struct md_buf *b, enum md_crs crs, double lon, double lat)
{
    double x, y;
    md_crs_from_wgs84(crs, lon, lat, &x, &y);
    md_err rc = md_buf_putc(b, '[');
    if (!rc)
        rc = md__put_double(b, x);
    if (!rc)
        rc = md_buf_putc(b, ',');
    if (!rc)
        rc = md__put_double(b, y);
    return rc ? rc : md_buf_putc(b, ']');
}

/* ---- WKB (ISO/OGC, as SpatiaLite's AsBinary writes it) to GeoJSON or WKT. */

struct wkb {
    const unsigned char *p, *end;
    bool little;
};

static bool wkb_u32(struct wkb *w, uint32_t *out)
{
    if (w->end - w->p < 4)
        return false;
    const unsigned char *p = w->p;
    *out = w->little
               ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
               : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
    w->p += 4;
    return true;
}

static bool wkb_double(struct wkb *w, double *out)
{
    uint32_t a, b;
    if (!wkb_u32(w, &a) || !wkb_u32(w, &b))
        return false;
    uint64_t u = w->little ? (uint64_t)b << 32 | a : (uint64_t)a << 32 | b;
    memcpy(out, &u, sizeof(*out));
    return true;
}

static bool wkb_header(struct wkb *w, uint32_t *type)
{
    if (w->p >= w->end)
        return false;
    w->little = *w->p++ == 1;
    return wkb_u32(w, type);
}

/* One ring: GeoJSON [[x,y],...] or WKT (x y, ...). */
static md_err ring_out(struct wkb *w, struct md_buf *b, enum md_crs crs, bool wkt)
{
    uint32_t npts;
    if (!wkb_u32(w, &npts) || (size_t)(w->end - w->p) < (size_t)npts * 16)
        return MD_EPARSE;
    md_err rc = md_buf_putc(b, wkt ? '(' : '[');
    for (uint32_t i = 0; !rc && i < npts; i++) {
        double x, y;
        if (!wkb_double(w, &x) || !wkb_double(w, &y))
            return MD_EPARSE;
        if (i)
            rc = md_buf_putc(b, ',');
        if (!rc && wkt) {
            double cx, cy;
            md_crs_from_wgs84(crs, x, y, &cx, &cy);
            rc = md__put_double(b, cx);
            if (!rc)
                rc = md_buf_putc(b, ' ');
            if (!rc)
                rc = md__put_double(b, cy);
        } else if (!rc) {
            rc = put_lonlat(b, crs, x, y);
        }
    }
    return rc ? rc : md_buf_putc(b, wkt ? ')' : ']');
}

static md_err polygon_out(struct wkb *w, struct md_buf *b, enum md_crs crs, bool wkt)
{
    uint32_t nrings;
    if (!wkb_u32(w, &nrings))
        return MD_EPARSE;
    md_err rc = md_buf_putc(b, wkt ? '(' : '[');
    for (uint32_t i = 0; !rc && i < nrings; i++) {
        if (i)
            rc = md_buf_putc(b, ',');
        if (!rc)
            rc = ring_out(w, b, crs, wkt);
    }
    return rc ? rc : md_buf_putc(b, wkt ? ')' : ']');
}

/* A Polygon or MultiPolygon (the only polygon types mapd stores). */
static md_err wkb_polygon_out(const void *blob, int len, struct md_buf *b, enum md_crs crs,
                              bool wkt)
{
    struct wkb w = {blob, (const unsigned char *)blob + (len > 0 ? len : 0), true};
    uint32_t type;
    if (!blob || !wkb_header(&w, &type))
        return wkt ? MD_OK : md_buf_puts(b, "null");
    md_err rc;
    if (type == 3) {
        rc = md_buf_puts(b, wkt ? "POLYGON " : "{\"type\":\"Polygon\",\"coordinates\":");
        if (!rc)
            rc = polygon_out(&w, b, crs, wkt);
    } else if (type == 6) {
        uint32_t n;
        if (!wkb_u32(&w, &n))
            return MD_EPARSE;
        rc =
            md_buf_puts(b, wkt ? "MULTIPOLYGON (" : "{\"type\":\"MultiPolygon\",\"coordinates\":[");
        for (uint32_t i = 0; !rc && i < n; i++) {
            uint32_t t;
            if (!wkb_header(&w, &t) || t != 3)
                return MD_EPARSE;
            if (i)
                rc = md_buf_putc(b, ',');
            if (!rc)
                rc = polygon_out(&w, b, crs, wkt);
        }
        if (!rc)
            rc = md_buf_putc(b, wkt ? ')' : ']');
    } else {
        return MD_EPARSE;
    }
    return rc || wkt ? rc : md_buf_putc(b, '}');
}

/* ---- values */

static md_err put_time(struct md_buf *b, const struct md_row *r, int i, int tz, bool quoted)
{
    if (md_row_is_null(r, i))
        return quoted ? md_buf_puts(b, "null") : MD_OK;
    char t[MD_TIME_STR_MAX];
    md_time_format(md_row_int(r, i), tz, t);
    if (!quoted)
        return md_buf_puts(b, t);
    md_err rc = md_buf_putc(b, '"');
    if (!rc)
        rc = md_buf_puts(b, t);
    return rc ? rc : md_buf_putc(b, '"');
}

/* A JSON-text column embedded as JSON (null when absent or not JSON). */
static md_err put_json_text(struct md_buf *b, const char *text)
{
    if (!text)
        return md_buf_puts(b, "null");
    if (strcmp(text, "[]") == 0 || strcmp(text, "{}") == 0)
        return md_buf_puts(b, text); /* what the round trip below gives, without it */
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    if (!j)
        return md_buf_json_str(b, text);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!s)
        return MD_ENOMEM;
    md_err rc = md_buf_puts(b, s);
    free(s);
    return rc;
}

static md_err put_json_value(struct md_buf *b, const struct md_row *r, int i, enum md_col_type type, int tz)
{
    if (md_row_is_null(r, i))
        return md_buf_puts(b, "null");
    switch (type) {
    case MD_COL_INT:
        return put_i64(b, md_row_int(r, i));
    case MD_COL_REAL:
        return md__put_double(b, md_row_double(r, i));
    case MD_COL_TIME:
        return put_time(b, r, i, tz, true);
    case MD_COL_JSON:
        return put_json_text(b, md_row_text(r, i));
    default:
        return put_str(b, md_row_text(r, i));
    }
}

md_err md__point_feature_open(struct md_buf *b, int64_t id, double lon, double lat, enum md_crs crs)
{
    md_err rc = md_buf_puts(b, "{\"type\":\"Feature\",\"id\":");
    if (!rc)
        rc = put_i64(b, id);
    if (!rc)
        rc = md_buf_puts(b, ",\"geometry\":{\"type\":\"Point\",\"coordinates\":");
    if (!rc)
        rc = put_lonlat(b, crs, lon, lat);
    return rc ? rc : md_buf_puts(b, "},\"properties\":{");
}

md_err md__point_feature_close(struct md_buf *b, const double *distance_m)
{
    md_err rc = MD_OK;
    if (distance_m) {
        rc = md_buf_puts(b, ",\"distance_m\":");
        if (!rc)
            rc = put_metres(b, *distance_m);
    }
    return rc ? rc : md_buf_puts(b, "}}");
}

/* The properties (without braces) of the current row: every public column
 * but the id (unless `with_id`) and the geometry. */
static md_err row_props(const struct md_row *r, const struct md_layer_columns *d, bool with_id, int tz,
                        struct md_buf *b)
{
    bool first = true;
    md_err rc = MD_OK;
    if (with_id) {
        rc = md_buf_printf(b, "\"id\":%lld", (long long)md_row_int(r, 0));
        first = false;
    }
    for (int i = d->text_id ? 0 : 1; !rc && i < d->nfeature; i++) {
        enum md_col_type t = d->cols[i].type;
        if (t == MD_COL_LON || t == MD_COL_LAT || t == MD_COL_WKB)
            continue;
        rc = put_key(b, first, d->cols[i].name);
        if (!rc)
            rc = put_json_value(b, r, i, t, tz);
        first = false;
    }
    return rc;
}

md_err md__row_props(const struct md_row *r, enum md_layer layer, int tz_offset_min, struct md_buf *b)
{
    return row_props(r, md_layer_public(layer), false, tz_offset_min, b);
}

md_err md__row_geojson(const struct md_row *r, enum md_layer layer, const struct md_feature_opts *o,
                       const double *distance_m, struct md_buf *b)
{
    const struct md_layer_columns *d = md_layer_public(layer);
    md_err rc = md_buf_puts(b, "{\"type\":\"Feature\",\"id\":");
    if (!rc)
        rc = d->text_id ? md_buf_json_str(b, md_row_text(r, 0))
                        : put_i64(b, md_row_int(r, 0));
    if (!rc)
        rc = md_buf_puts(b, ",\"geometry\":");
    int lon_col = -1;
    for (int i = 0; !rc && i < d->nfeature; i++) {
        if (d->cols[i].type == MD_COL_LON)
            lon_col = i;
        else if (d->cols[i].type == MD_COL_WKB) {
            int wkb_len = 0;
            const void *wkb = md_row_blob(r, i, &wkb_len);
            rc = wkb_polygon_out(wkb, wkb_len, b, o->crs, false);
        }
    }
    if (!rc && lon_col >= 0) {
        rc = md_buf_puts(b, "{\"type\":\"Point\",\"coordinates\":");
        if (!rc)
            rc = put_lonlat(b, o->crs, md_row_double(r, lon_col),
                            md_row_double(r, lon_col + 1));
        if (!rc)
            rc = md_buf_putc(b, '}');
    }
    if (!rc)
        rc = md_buf_puts(b, ",\"properties\":{");
    if (!rc)
        rc = row_props(r, d, o->id_in_properties && !d->text_id, o->tz_offset_min, b);
    if (!rc && distance_m) {
        rc = md_buf_puts(b, ",\"distance_m\":");
        if (!rc)
            rc = put_metres(b, *distance_m);
    }
    if (!rc)
        rc = md_buf_putc(b, '}');
    if (!rc && o->self_base) {
        const char *id = md_row_text(r, 0);
        rc = md_buf_puts(b, ",\"links\":[{\"rel\":\"self\",\"type\":\"application/geo+json\","
                            "\"href\":");
        if (!rc) {
            size_t n = strlen(o->self_base) + strlen(id) + 2;
            char *href = malloc(n);
            if (!href)
                return MD_ENOMEM;
            snprintf(href, n, "%s/%s", o->self_base, id);
            rc = md_buf_json_str(b, href);
            free(href);
        }
        if (!rc && o->collection_url) {
            rc =
                md_buf_puts(b, "},{\"rel\":\"collection\",\"type\":\"application/json\",\"href\":");
            if (!rc)
                rc = md_buf_json_str(b, o->collection_url);
        }
        if (!rc)
            rc = md_buf_puts(b, "}]");
    }
    return rc ? rc : md_buf_putc(b, '}');
}

md_err md__csv_header(enum md_layer layer, struct md_buf *b)
{
    const struct md_layer_columns *d = md_layer_public(layer);
    md_err rc = MD_OK;
    for (int i = 0; !rc && i < d->nfeature; i++)
        rc = md_buf_printf(b, "%s%s", i ? "," : "", d->cols[i].name);
    return rc ? rc : md_buf_puts(b, "\r\n");
}

static md_err csv_field(struct md_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return md_buf_puts(b, s);
    md_err rc = md_buf_putc(b, '"');
    for (; !rc && *s; s++)
        rc = *s == '"' ? md_buf_puts(b, "\"\"") : md_buf_putc(b, *s);
    return rc ? rc : md_buf_putc(b, '"');
}

md_err md__row_csv(const struct md_row *r, enum md_layer layer, const struct md_feature_opts *o,
                   struct md_buf *b)
{
    const struct md_layer_columns *d = md_layer_public(layer);
    md_err rc = MD_OK;
    double lon = 0, lat = 0;
    for (int i = 0; !rc && i < d->nfeature; i++) {
        if (i)
            rc = md_buf_putc(b, ',');
        if (rc)
            break;
        enum md_col_type t = d->cols[i].type;
        if (t == MD_COL_LON) {
            md_crs_from_wgs84(o->crs, md_row_double(r, i),
                              md_row_double(r, i + 1), &lon, &lat);
            rc = md__put_double(b, lon);
        } else if (t == MD_COL_LAT) {
            rc = md__put_double(b, lat);
        } else if (t == MD_COL_WKB) {
            struct md_buf w;
            md_buf_init(&w, b->max);
            int wkb_len = 0;
            const void *wkb = md_row_blob(r, i, &wkb_len);
            rc = wkb_polygon_out(wkb, wkb_len, &w, o->crs, true);
            if (!rc && w.data)
                rc = csv_field(b, w.data);
            md_buf_free(&w);
        } else if (md_row_is_null(r, i)) {
            continue;
        } else if (t == MD_COL_TIME) {
            rc = put_time(b, r, i, o->tz_offset_min, false);
        } else if (t == MD_COL_REAL) {
            rc = md__put_double(b, md_row_double(r, i));
        } else {
            rc = csv_field(b, md_row_text(r, i));
        }
    }
    return rc ? rc : md_buf_puts(b, "\r\n");
}
