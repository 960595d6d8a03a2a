/* schema.c - creating the schema, the change-tracking triggers, bulk mode.
 *
 * Invariants kept by the triggers of each layer table T (layer id L):
 *   - layers.version of L grows by >= 1 on every INSERT/UPDATE/DELETE of T;
 *   - change_log gets the lon/lat bbox of every old and new row state;
 *   - layers.row_count = count(*) of T;
 *   - for point layers, cluster_cells(L, z, cell, category) = count and
 *     lon/lat sums of T's rows in that cell, for every z < cluster zoom;
 *   - report_status_counts = count of reports per status.
 * Bulk mode drops the triggers inside a transaction and re-establishes every
 * invariant from the table before it commits.
 */
#include "md_buf.h"
#include "md_time.h"
#include "schema_sql.h"
#include "store_int.h"
#include "pg_city.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cell index of a lon/lat at zoom column `z`: 2^(z+3) cells per axis. */
#define CELL_X(lon) "CAST(((" lon ") + 180.0) / 360.0 * (1 << (z + 3)) AS INTEGER)"
#define CELL_Y(lat)                                                                            \
    "CAST((1.0 - ln(tan(radians(max(-85.0511, min(85.0511, " lat "))))"                        \
    " + 1.0 / cos(radians(max(-85.0511, min(85.0511, " lat "))))) / pi()) / 2.0"               \
    " * (1 << (z + 3)) AS INTEGER)"
#define NOW_SQL "CAST(strftime('%%s', 'now') AS INTEGER)"
/* tkey of a lon/lat: its z18 tile as y * 2^18 + x (see schema_sql.h). */
#define TKEY(lon, lat)                                                                        \
    "(CAST((1.0 - ln(tan(radians(max(-85.0511, min(85.0511, " lat "))))"                      \
    " + 1.0 / cos(radians(max(-85.0511, min(85.0511, " lat "))))) / pi()) / 2.0 * 262144"     \
    " AS INTEGER) * 262144 + CAST((" lon " + 180.0) / 360.0 * 262144 AS INTEGER))"

struct layer_def {
    const char *table;
    const char *category;    /* NULL for polygon layers */
    const char *tiles;       /* side table of tile fields (point layers) */
    const char *tile_fields; /* its columns after tkey, id, lon, lat */
};

static const struct layer_def layer_defs[MD_LAYER__COUNT] = {
    {"facilities", "category", "facility_tiles", "category, status, name"},
    {"reports", "service_code", "report_tiles",
     "service_code, status, kind, created_at, expected_at, supporters"},
    {"districts", NULL, NULL, NULL},
    {"grids", NULL, NULL, NULL},
    {"basemap", NULL, NULL, NULL}};

/* "NEW.a, NEW.b" from "a, b" (prefix NEW or OLD). */
static void prefixed(char *out, size_t n, const char *prefix, const char *fields)
{
    size_t used = 0;
    out[0] = '\0';
    const char *p = fields;
    while (*p && used < n) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int w = snprintf(out + used, n - used, "%s%s.%.*s", used ? ", " : "", prefix, (int)len, p);
        used += w > 0 ? (size_t)w : 0;
        p += len;
        while (*p == ',' || *p == ' ')
            p++;
    }
}

/* Keep the layer's tile side table in step with its rows. */
static md_err tile_side_triggers(struct md_buf *b, const struct layer_def *d)
{
    char newf[256];
    prefixed(newf, sizeof(newf), "NEW", d->tile_fields);
    return md_buf_printf(
        b,
        "CREATE TRIGGER %1$s_tiles_i AFTER INSERT ON %1$s BEGIN\n"
        "  INSERT INTO %2$s(tkey, id, lon, lat, %3$s) VALUES (" TKEY("NEW.lon", "NEW.lat") ",\n"
        "    NEW.id, NEW.lon, NEW.lat, %4$s);\n"
        "END;\n"
        "CREATE TRIGGER %1$s_tiles_u AFTER UPDATE ON %1$s BEGIN\n"
        "  DELETE FROM %2$s WHERE tkey = " TKEY("OLD.lon", "OLD.lat") " AND id = OLD.id;\n"
        "  INSERT INTO %2$s(tkey, id, lon, lat, %3$s) VALUES (" TKEY("NEW.lon", "NEW.lat") ",\n"
        "    NEW.id, NEW.lon, NEW.lat, %4$s);\n"
        "END;\n"
        "CREATE TRIGGER %1$s_tiles_d AFTER DELETE ON %1$s BEGIN\n"
        "  DELETE FROM %2$s WHERE tkey = " TKEY("OLD.lon", "OLD.lat") " AND id = OLD.id;\n"
        "END;\n",
        d->table, d->tiles, d->tile_fields, newf);
}

static md_err point_triggers(struct md_buf *b, int L, const char *t, const char *cat)
{
    const char *status_ins = L == MD_LAYER_REPORTS
                                 ? "  UPDATE report_status_counts SET n = n + 1 WHERE status = NEW.status;\n"
                                 : "";
    const char *status_del = L == MD_LAYER_REPORTS
                                 ? "  UPDATE report_status_counts SET n = n - 1 WHERE status = OLD.status;\n"
                                 : "";
    md_err rc = md_buf_printf(
        b,
        "CREATE TRIGGER %1$s_geom_check BEFORE INSERT ON %1$s\n"
        " WHEN ST_SRID(NEW.geom) IS NOT 4326 OR GeometryType(NEW.geom) IS NOT 'POINT'\n"
        "   OR abs(ST_X(NEW.geom) - NEW.lon) > 1e-9 OR abs(ST_Y(NEW.geom) - NEW.lat) > 1e-9\n"
        " BEGIN SELECT RAISE(ABORT, '%1$s: geom must be a POINT in SRID 4326 at lon/lat'); END;\n"
        "CREATE TRIGGER %1$s_geom_check_u BEFORE UPDATE OF lon, lat, geom ON %1$s\n"
        " WHEN ST_SRID(NEW.geom) IS NOT 4326 OR GeometryType(NEW.geom) IS NOT 'POINT'\n"
        "   OR abs(ST_X(NEW.geom) - NEW.lon) > 1e-9 OR abs(ST_Y(NEW.geom) - NEW.lat) > 1e-9\n"
        " BEGIN SELECT RAISE(ABORT, '%1$s: geom must be a POINT in SRID 4326 at lon/lat'); END;\n"
        "CREATE TRIGGER %1$s_track_i AFTER INSERT ON %1$s BEGIN\n"
        "  INSERT INTO change_log(layer, feature_id, minx, miny, maxx, maxy, at)\n"
        "    VALUES (%2$d, NEW.id, NEW.lon, NEW.lat, NEW.lon, NEW.lat, " NOW_SQL ");\n"
        "  UPDATE layers SET version = version + 1, row_count = row_count + 1 WHERE id = %2$d;\n"
        "%4$s"
        "  INSERT INTO cluster_cells(layer, z, cx, cy, category, n, sum_lon, sum_lat)\n"
        "    SELECT %2$d, z, " CELL_X("NEW.lon") ", " CELL_Y("NEW.lat") ", NEW.%3$s, 1, NEW.lon, NEW.lat\n"
        "    FROM cluster_zooms WHERE layer = %2$d AND true\n"
        "    ON CONFLICT DO UPDATE SET n = n + 1, sum_lon = sum_lon + excluded.sum_lon,\n"
        "      sum_lat = sum_lat + excluded.sum_lat;\n"
        "END;\n"
        "CREATE TRIGGER %1$s_track_u AFTER UPDATE ON %1$s BEGIN\n"
        "  INSERT INTO change_log(layer, feature_id, minx, miny, maxx, maxy, at)\n"
        "    VALUES (%2$d, OLD.id, OLD.lon, OLD.lat, OLD.lon, OLD.lat, " NOW_SQL "),\n"
        "           (%2$d, NEW.id, NEW.lon, NEW.lat, NEW.lon, NEW.lat, " NOW_SQL ");\n"
        "  UPDATE layers SET version = version + 1 WHERE id = %2$d;\n"
        "END;\n",
        t, L, cat, status_ins);
    /* Moving a point or changing its category moves it between cells. */
    if (!rc)
        rc = md_buf_printf(
            b,
            "CREATE TRIGGER %1$s_cells_u AFTER UPDATE OF lon, lat, %3$s ON %1$s BEGIN\n"
            "  UPDATE cluster_cells SET n = n - 1, sum_lon = sum_lon - OLD.lon,\n"
            "    sum_lat = sum_lat - OLD.lat\n"
            "    WHERE layer = %2$d AND category = OLD.%3$s AND (z, cx, cy) IN\n"
            "      (SELECT z, " CELL_X("OLD.lon") ", " CELL_Y("OLD.lat") " FROM cluster_zooms\n"
            "       WHERE layer = %2$d);\n"
            "  DELETE FROM cluster_cells WHERE layer = %2$d AND category = OLD.%3$s AND n <= 0;\n"
            "  INSERT INTO cluster_cells(layer, z, cx, cy, category, n, sum_lon, sum_lat)\n"
            "    SELECT %2$d, z, " CELL_X("NEW.lon") ", " CELL_Y("NEW.lat") ", NEW.%3$s, 1, NEW.lon,\n"
            "      NEW.lat FROM cluster_zooms WHERE layer = %2$d AND true\n"
            "    ON CONFLICT DO UPDATE SET n = n + 1, sum_lon = sum_lon + excluded.sum_lon,\n"
            "      sum_lat = sum_lat + excluded.sum_lat;\n"
            "END;\n"
            "CREATE TRIGGER %1$s_track_d AFTER DELETE ON %1$s BEGIN\n"
            "  INSERT INTO change_log(layer, feature_id, minx, miny, maxx, maxy, at)\n"
            "    VALUES (%2$d, OLD.id, OLD.lon, OLD.lat, OLD.lon, OLD.lat, " NOW_SQL ");\n"
            "  UPDATE layers SET version = version + 1, row_count = row_count - 1 WHERE id = %2$d;\n"
            "%4$s"
            "  UPDATE cluster_cells SET n = n - 1, sum_lon = sum_lon - OLD.lon,\n"
            "    sum_lat = sum_lat - OLD.lat\n"
            "    WHERE layer = %2$d AND category = OLD.%3$s AND (z, cx, cy) IN\n"
            "      (SELECT z, " CELL_X("OLD.lon") ", " CELL_Y("OLD.lat") " FROM cluster_zooms\n"
            "       WHERE layer = %2$d);\n"
            "  DELETE FROM cluster_cells WHERE layer = %2$d AND category = OLD.%3$s AND n <= 0;\n"
            "END;\n",
            t, L, cat, status_del);
    if (!rc && L == MD_LAYER_REPORTS)
        rc = md_buf_printf(
            b, "CREATE TRIGGER reports_status_u AFTER UPDATE OF status ON reports\n"
               " WHEN OLD.status <> NEW.status BEGIN\n"
               "  UPDATE report_status_counts SET n = n - 1 WHERE status = OLD.status;\n"
               "  UPDATE report_status_counts SET n = n + 1 WHERE status = NEW.status;\n"
               "END;\n");
    return rc;
}

/* `update_of`: "" (any column) or " OF col, ..." (the columns tiles draw). */
static md_err polygon_triggers(struct md_buf *b, int L, const char *t, const char *update_of)
{
    return md_buf_printf(
        b,
        "CREATE TRIGGER %1$s_track_i AFTER INSERT ON %1$s BEGIN\n"
        "  INSERT INTO change_log(layer, feature_id, minx, miny, maxx, maxy, at)\n"
        "    VALUES (%2$d, NEW.rowid, MbrMinX(NEW.geom), MbrMinY(NEW.geom), MbrMaxX(NEW.geom),\n"
        "            MbrMaxY(NEW.geom), " NOW_SQL ");\n"
        "  UPDATE layers SET version = version + 1, row_count = row_count + 1 WHERE id = %2$d;\n"
        "END;\n"
        "CREATE TRIGGER %1$s_track_u AFTER UPDATE%3$s ON %1$s BEGIN\n"
        "  INSERT INTO change_log(layer, feature_id, minx, miny, maxx, maxy, at)\n"
        "    VALUES (%2$d, OLD.rowid, MbrMinX(OLD.geom), MbrMinY(OLD.geom), MbrMaxX(OLD.geom),\n"
        "            MbrMaxY(OLD.geom), " NOW_SQL "),\n"
        "           (%2$d, NEW.rowid, MbrMinX(NEW.geom), MbrMinY(NEW.geom), MbrMaxX(NEW.geom),\n"
        "            MbrMaxY(NEW.geom), " NOW_SQL ");\n"
        "  UPDATE layers SET version = version + 1 WHERE id = %2$d;\n"
        "END;\n"
        "CREATE TRIGGER %1$s_track_d AFTER DELETE ON %1$s BEGIN\n"
        "  INSERT INTO change_log(layer, feature_id, minx, miny, maxx, maxy, at)\n"
        "    VALUES (%2$d, OLD.rowid, MbrMinX(OLD.geom), MbrMinY(OLD.geom), MbrMaxX(OLD.geom),\n"
        "            MbrMaxY(OLD.geom), " NOW_SQL ");\n"
        "  UPDATE layers SET version = version + 1, row_count = row_count - 1 WHERE id = %2$d;\n"
        "END;\n",
        t, L, update_of);
}

md_err md__store_create_triggers(struct md_store *s, enum md_layer layer, struct md_ctx *ctx)
{
    struct md_buf b;
    md_buf_init(&b, 1 << 20);
    const struct layer_def *d = &layer_defs[layer];
    md_err rc = d->category
                    ? point_triggers(&b, (int)layer, d->table, d->category)
                    : polygon_triggers(&b, (int)layer, d->table,
                                       layer == MD_LAYER_BASEMAP
                                           ? " OF kind, class, name, name_en, min_zoom, geom"
                                           : "");
    if (!rc && d->tiles)
        rc = tile_side_triggers(&b, d);
    if (rc)
        rc = md_fail(ctx, rc, "building trigger SQL");
    else
        rc = md__store_exec(s, b.data, ctx);
    md_buf_free(&b);
    return rc;
}

md_err md_store_schema_version(struct md_store *s, int *out, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_schema_version(s->pg, out, ctx);
    static const char probe[] = "SELECT count(*) FROM sqlite_master WHERE name = 'meta'";
    static const char sql[] = "SELECT value FROM meta WHERE key = 'schema_version'";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, probe, &st, ctx);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    int have = src == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    *out = 0;
    if (src != SQLITE_ROW)
        return md_store_fail(s, src, "reading the schema version", ctx);
    if (!have)
        return MD_OK;
    rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return src == SQLITE_ROW || src == SQLITE_DONE
               ? MD_OK
               : md_store_fail(s, src, "reading the schema version", ctx);
}

static md_err load_facility_categories(struct md_store *s, json_t *arr, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT OR REPLACE INTO facility_categories(code, name_zh, name_en,"
                              " color, sort) VALUES (?, ?, ?, ?, ?)";
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row)
    {
        const char *code = json_string_value(json_object_get(row, "code"));
        const char *zh = json_string_value(json_object_get(row, "name_zh"));
        const char *en = json_string_value(json_object_get(row, "name_en"));
        const char *color = json_string_value(json_object_get(row, "color"));
        if (!code || !zh || !en)
            return md_fail(ctx, MD_EINVAL, "facility_categories[%zu]: code, name_zh, name_en are required", i);
        sqlite3_stmt *st = NULL;
        md_err rc = md_store_stmt(s, sql, &st, ctx);
        if (rc)
            return rc;
        sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, zh, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, en, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, color ? color : "#888888", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, (int)i);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            return md_store_fail(s, src, "facility category", ctx);
    }
    return MD_OK;
}

static json_t *find_group(json_t *groups, const char *code)
{
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        const char *c = json_string_value(json_object_get(g, "code"));
        if (c && strcmp(c, code) == 0)
            return g;
    }
    return NULL;
}

static md_err load_category(struct md_store *s, json_t *row, json_t *groups, size_t i,
                            struct md_ctx *ctx)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO categories(code, kind, group_code, group_zh, group_en, name_zh,"
        " name_en, description, deadline_value, deadline_unit, unit_type, dup_radius_m, attributes,"
        " sort) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    const char *code = json_string_value(json_object_get(row, "code"));
    const char *group = json_string_value(json_object_get(row, "group"));
    const char *kind = json_string_value(json_object_get(row, "kind"));
    const char *zh = json_string_value(json_object_get(row, "name_zh"));
    const char *en = json_string_value(json_object_get(row, "name_en"));
    const char *desc = json_string_value(json_object_get(row, "description"));
    const char *unit_type = json_string_value(json_object_get(row, "unit_type"));
    json_t *deadline = json_object_get(row, "deadline");
    json_t *g = group ? find_group(groups, group) : NULL;
    json_t *attrs = json_object_get(row, "attributes");
    if (!code || strlen(code) != 6 || !g || !zh || !en || !unit_type ||
        !json_is_array(deadline) || json_array_size(deadline) != 2 ||
        !json_is_integer(json_array_get(deadline, 0)) ||
        !json_is_string(json_array_get(deadline, 1)))
        return md_fail(ctx, MD_EINVAL,
                       "categories[%zu]: needs a 6-digit code, a known group, name_zh, name_en,"
                       " unit_type and deadline [value, \"hours\"|\"days\"]",
                       i);
    char *attrs_text = attrs ? json_dumps(attrs, JSON_COMPACT) : NULL;
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        goto out;
    json_t *dr = json_object_get(row, "dup_radius_m");
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind ? kind : "problem", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, json_string_value(json_object_get(g, "name_zh")), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, json_string_value(json_object_get(g, "name_en")), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, zh, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, en, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, desc ? desc : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, json_integer_value(json_array_get(deadline, 0)));
    sqlite3_bind_text(st, 10, json_string_value(json_array_get(deadline, 1)), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, unit_type, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 12, json_is_number(dr) ? json_number_value(dr) : 50.0);
    sqlite3_bind_text(st, 13, attrs_text ? attrs_text : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 14, (int)i);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        rc = md_store_fail(s, src, "category", ctx);
out:
    free(attrs_text);
    return rc;
}

/* Load (or reload) categories and facility categories from a JSON file. */
md_err md_store_load_categories(struct md_store *s, const char *path, struct md_ctx *ctx)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return md_fail(ctx, MD_EINVAL, "%s:%d: %s", path, jerr.line, jerr.text);
    md_err rc = MD_OK;
    json_t *fc = json_object_get(root, "facility_categories");
    json_t *groups = json_object_get(root, "groups");
    json_t *cats = json_object_get(root, "categories");
    if (!json_is_array(fc) || !json_is_array(groups) || !json_is_array(cats)) {
        rc = md_fail(ctx, MD_EINVAL,
                     "%s: needs arrays facility_categories, groups and categories", path);
        goto out;
    }
    rc = load_facility_categories(s, fc, ctx);
    size_t i;
    json_t *row;
    json_array_foreach(cats, i, row)
    {
        if (rc)
            break;
        rc = load_category(s, row, groups, i, ctx);
    }
out:
    json_decref(root);
    return rc;
}

md_err md__store_webhooks_ddl(struct md_store *s, struct md_ctx *ctx)
{
    return md__store_exec(s, schema_webhooks_sql, ctx);
}

md_err md__store_idempotency_ddl(struct md_store *s, struct md_ctx *ctx)
{
    return md__store_exec(s, schema_idempotency_sql, ctx);
}

static md_err create_schema(struct md_store *s, struct md_ctx *ctx)
{
    md_err rc = md__store_exec(s, "SELECT InitSpatialMetaData(0, 'WGS84')", ctx);
    if (!rc)
        rc = md__store_exec(s, schema_tables_sql, ctx);
    if (!rc)
        rc = md__store_exec(s, schema_units_sql, ctx);
    if (!rc)
        rc = md__store_exec(s, schema_consult_sql, ctx);
    if (!rc)
        rc = md__store_exec(s, schema_admin_sql, ctx);
    if (!rc)
        rc = md__store_exec(s, schema_citizen_sql, ctx);
    if (!rc)
        rc = md__store_webhooks_ddl(s, ctx);
    if (!rc)
        rc = md__store_idempotency_ddl(s, ctx);
    if (!rc)
        rc = md__store_exec(s, schema_geometry_sql, ctx);
    if (!rc)
        rc = md__store_exec(s, schema_point_index_sql, ctx);
    if (!rc)
        rc = md__store_exec(s, schema_basemap_sql, ctx);
    for (int l = 0; !rc && l < MD_LAYER__COUNT; l++)
        rc = md__store_create_triggers(s, (enum md_layer)l, ctx);
    if (rc)
        return rc;
    /* SpatiaLite's functions report failure in their result, not as SQL errors. */
    static const char check_sql[] = "SELECT count(*) FROM geometry_columns WHERE spatial_index_enabled = 1";
    sqlite3_stmt *chk = NULL;
    rc = md_store_stmt(s, check_sql, &chk, ctx);
    if (rc)
        return rc;
    int csrc = sqlite3_step(chk);
    int ngeom = csrc == SQLITE_ROW ? sqlite3_column_int(chk, 0) : 0;
    sqlite3_reset(chk);
    if (csrc != SQLITE_ROW)
        return md_store_fail(s, csrc, "checking the geometry columns", ctx);
    if (ngeom != MD_LAYER__COUNT)
        return md_fail(ctx, MD_EDB, "SpatiaLite did not create the geometry columns (%d of %d)",
                       ngeom, MD_LAYER__COUNT);
    static const char meta_sql[] = "INSERT INTO meta(key, value) VALUES ('schema_version', ?),"
                                   " ('created_at', ?), ('generator', 'mapd')";
    sqlite3_stmt *st = NULL;
    rc = md_store_stmt(s, meta_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, MD_SCHEMA_VERSION);
    sqlite3_bind_int64(st, 2, md_time_now());
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, "meta", ctx);
}

/* A database made before "me too": reports and report_tiles get the
 * supporters column and the reports' tile triggers are made again to copy
 * it (IF NOT EXISTS cannot add a column). */
static md_err add_supporters(struct md_store *s, struct md_ctx *ctx)
{
    static const char probe[] = "SELECT count(*) FROM pragma_table_info('reports')"
                                " WHERE name = 'supporters'";
    int64_t have = 0;
    md_err rc = md_store_scalar(s, probe, &have, ctx);
    if (rc || have)
        return rc;
    rc = md__store_exec(s,
                        "ALTER TABLE reports ADD COLUMN supporters INTEGER NOT NULL DEFAULT 0;\n"
                        "ALTER TABLE report_tiles ADD COLUMN supporters INTEGER NOT NULL DEFAULT 0;\n"
                        "DROP TRIGGER IF EXISTS reports_tiles_i;\n"
                        "DROP TRIGGER IF EXISTS reports_tiles_u;\n"
                        "DROP TRIGGER IF EXISTS reports_tiles_d;\n",
                        ctx);
    struct md_buf b;
    md_buf_init(&b, 1 << 16);
    if (!rc)
        rc = tile_side_triggers(&b, &layer_defs[MD_LAYER_REPORTS]);
    if (!rc)
        rc = md__store_exec(s, b.data, ctx);
    md_buf_free(&b);
    return rc;
}

md_err md_store_init(struct md_store *s, const char *categories_path, struct md_ctx *ctx)
{
    int version = 0;
    md_err rc = md_store_schema_version(s, &version, ctx);
    if (rc)
        return rc;
    if (version > MD_SCHEMA_VERSION)
        return md_fail(ctx, MD_EINVAL,
                       "database schema version %d is newer than this mapd (%d)", version,
                       MD_SCHEMA_VERSION);
    rc = md_store_begin(s, ctx);
    if (rc)
        return rc;
    if (version == 0)
        rc = create_schema(s, ctx);
    else
        rc = md__store_exec(s, schema_units_sql, ctx);
    if (!rc && version != 0)
        rc = md__store_exec(s, schema_consult_sql, ctx);
    if (!rc && version != 0)
        rc = md__store_exec(s, schema_admin_sql, ctx);
    if (!rc && version != 0)
        rc = md__store_exec(s, schema_citizen_sql, ctx);
    if (!rc && version != 0)
        rc = md__store_webhooks_ddl(s, ctx);
    if (!rc && version != 0)
        rc = md__store_idempotency_ddl(s, ctx);
    if (!rc && version != 0)
        rc = add_supporters(s, ctx);
    if (!rc && categories_path)
        rc = md_store_load_categories(s, categories_path, ctx);
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    return rc;
}

/* Tables a layer's bulk load writes: its own and its side tables. */
static const char *const bulk_tables[MD_LAYER__COUNT][4] = {
    {"facilities", "facility_history", NULL},
    {"reports", "report_history", "report_contacts", NULL},
    {"districts", NULL},
    {"grids", NULL},
    {"basemap", NULL},
};

/* Save and drop the secondary indexes and triggers of a table, except the
 * SpatiaLite R*Tree update/delete triggers (giu/gid_*). Indexes rebuilt once
 * from sorted data beat millions of incremental inserts; the R*Tree entries
 * of inserted rows are added in one statement; triggers are re-established
 * by md_store_bulk_end. Bulk mode is for inserts. */
static md_err bulk_strip_table(struct md_store *s, const char *table, struct md_buf *restore,
                               struct md_ctx *ctx)
{
    static const char sql[] = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ?"
                              " AND type IN ('index', 'trigger') AND sql IS NOT NULL"
                              " AND name NOT LIKE 'giu!_%' ESCAPE '!'"
                              " AND name NOT LIKE 'gid!_%' ESCAPE '!' ORDER BY type, name";
    struct md_buf drops;
    md_buf_init(&drops, 1 << 20);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        goto out;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    int src = SQLITE_DONE;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *ddl = (const char *)sqlite3_column_text(st, 2);
        rc = md_buf_printf(restore, "%s;\n", ddl);
        if (!rc)
            rc = md_buf_printf(&drops, "DROP %s \"%s\";\n", strcmp(type, "index") ? "TRIGGER" : "INDEX", name);
    }
    sqlite3_reset(st);
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "reading the schema", ctx);
    else if (rc)
        rc = md_fail(ctx, rc, "saving the schema of %s", table);
    else if (drops.len)
        rc = md__store_exec(s, drops.data, ctx);
out:
    md_buf_free(&drops);
    return rc;
}

static md_err max_rowid(struct md_store *s, enum md_layer layer, int64_t *out, struct md_ctx *ctx)
{
    static const char *const sql[MD_LAYER__COUNT] = {
        "SELECT coalesce(max(rowid), 0) FROM facilities",
        "SELECT coalesce(max(rowid), 0) FROM reports",
        "SELECT coalesce(max(rowid), 0) FROM districts",
        "SELECT coalesce(max(rowid), 0) FROM grids",
        "SELECT coalesce(max(rowid), 0) FROM basemap",
    };
    return md_store_scalar(s, sql[layer], out, ctx);
}

md_err md_store_bulk_begin(struct md_store *s, enum md_layer layer, struct md_ctx *ctx)
{
    struct md_buf restore;
    md_buf_init(&restore, 4 << 20);
    md_err rc = md_store_begin(s, ctx);
    if (!rc)
        rc = max_rowid(s, layer, &s->bulk_first_rowid, ctx);
    for (int i = 0; !rc && bulk_tables[layer][i]; i++)
        rc = bulk_strip_table(s, bulk_tables[layer][i], &restore, ctx);
    if (rc) {
        md_store_rollback(s);
        md_buf_free(&restore);
        return rc;
    }
    free(s->bulk_restore);
    s->bulk_restore = md_buf_steal(&restore, NULL);
    return MD_OK;
}

void md_store_bulk_abort(struct md_store *s)
{
    md_store_rollback(s);
    free(s->bulk_restore);
    s->bulk_restore = NULL;
}

/* cluster_cells for a point layer, from the table: the finest kept zoom by
 * one GROUP BY over the table, each coarser kept zoom (two levels up) from
 * the one before it. */
static md_err rebuild_cells(struct md_store *s, enum md_layer layer, struct md_ctx *ctx)
{
    struct md_layer_info info;
    md_err rc = md_store_layer_info(s, layer, &info, ctx);
    if (rc || info.cluster_below_zoom <= 0)
        return rc;
    const struct layer_def *d = &layer_defs[layer];
    char sql[2048];
    snprintf(sql, sizeof(sql), "DELETE FROM cluster_cells WHERE layer = %d", (int)layer);
    rc = md__store_exec(s, sql, ctx);
    int zmax = info.cluster_below_zoom - 1;
    if (!rc) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO cluster_cells(layer, z, cx, cy, category, n, sum_lon, sum_lat)"
                 " SELECT %d, z, " CELL_X("lon") ", " CELL_Y("lat") ", %s, count(*), sum(lon),"
                 " sum(lat) FROM (SELECT %d AS z, lon, lat, %s FROM %s) GROUP BY 3, 4, 5",
                 (int)layer, d->category, zmax, d->category, d->table);
        rc = md__store_exec(s, sql, ctx);
    }
    for (int z = zmax - 2; !rc && z >= 0; z -= 2) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO cluster_cells(layer, z, cx, cy, category, n, sum_lon, sum_lat)"
                 " SELECT layer, %d, cx >> 2, cy >> 2, category, sum(n), sum(sum_lon),"
                 " sum(sum_lat) FROM cluster_cells WHERE layer = %d AND z = %d"
                 " GROUP BY cx >> 2, cy >> 2, category",
                 z, (int)layer, z + 2);
        rc = md__store_exec(s, sql, ctx);
    }
    return rc;
}

md_err md_store_bulk_end(struct md_store *s, enum md_layer layer, const struct md_bbox *changed,
                         struct md_ctx *ctx)
{
    char sql[512];
    const char *t = layer_defs[layer].table;
    bool packed = false;
    md_err rc = md__rtree_bulk_load(s, t, s->bulk_first_rowid, &packed, ctx);
    snprintf(sql, sizeof(sql),
             "INSERT INTO idx_%s_geom(pkid, xmin, xmax, ymin, ymax) SELECT rowid, MbrMinX(geom),"
             " MbrMaxX(geom), MbrMinY(geom), MbrMaxY(geom) FROM %s WHERE rowid > %lld"
             " AND geom IS NOT NULL",
             t, t, (long long)s->bulk_first_rowid);
    if (!rc && !packed)
        rc = md__store_exec(s, sql, ctx);
    if (!rc && layer_defs[layer].tiles) {
        /* In key order: appending to the WITHOUT ROWID tree beats random
         * inserts (1M reports: 5.5 -> 2.1 s). */
        char fill[1024];
        snprintf(fill, sizeof(fill),
                 "INSERT INTO %s(tkey, id, lon, lat, %s) SELECT " TKEY("lon", "lat")
                 ", id, lon, lat, %s FROM %s WHERE rowid > %lld ORDER BY 1, 2",
                 layer_defs[layer].tiles, layer_defs[layer].tile_fields,
                 layer_defs[layer].tile_fields, t, (long long)s->bulk_first_rowid);
        rc = md__store_exec(s, fill, ctx);
    }
    if (!rc)
        rc = rebuild_cells(s, layer, ctx);
    if (!rc) {
        snprintf(sql, sizeof(sql),
                 "UPDATE layers SET version = version + 1, row_count = (SELECT count(*) FROM %s)"
                 " WHERE id = %d",
                 layer_defs[layer].table, (int)layer);
        rc = md__store_exec(s, sql, ctx);
    }
    if (!rc && layer == MD_LAYER_REPORTS)
        rc = md__store_exec(s,
                            "UPDATE report_status_counts SET n = (SELECT count(*) FROM reports r"
                            " WHERE r.status = report_status_counts.status)",
                            ctx);
    if (!rc && changed) {
        static const char log_sql[] = "INSERT INTO change_log(layer, feature_id, minx, miny, maxx,"
                                      " maxy, at) VALUES (?, NULL, ?, ?, ?, ?, ?)";
        sqlite3_stmt *st = NULL;
        rc = md_store_stmt(s, log_sql, &st, ctx);
        if (!rc) {
            sqlite3_bind_int(st, 1, (int)layer);
            sqlite3_bind_double(st, 2, changed->minx);
            sqlite3_bind_double(st, 3, changed->miny);
            sqlite3_bind_double(st, 4, changed->maxx);
            sqlite3_bind_double(st, 5, changed->maxy);
            sqlite3_bind_int64(st, 6, md_time_now());
            int src = sqlite3_step(st);
            sqlite3_reset(st);
            if (src != SQLITE_DONE)
                rc = md_store_fail(s, src, "change log", ctx);
        }
    }
    if (!rc && s->bulk_restore)
        rc = md__store_exec(s, s->bulk_restore, ctx);
    free(s->bulk_restore);
    s->bulk_restore = NULL;
    if (!rc)
        rc = md_store_commit(s, ctx);
    else
        md_store_rollback(s);
    return rc;
}
