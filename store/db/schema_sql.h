/* schema_sql.h - the DDL of schema version 1 (private to store/).
 *
 * Time columns are UTC epoch seconds. Point layers keep lon/lat beside the
 * SpatiaLite geometry: the geometry feeds the R*Tree and spatial SQL, the
 * plain columns feed the tile encoder without parsing blobs; both are written
 * together by the store API (and checked by a trigger).
 *
 * cluster_cells holds, per point layer and every other zoom below the layer's
 * cluster zoom (cluster_zooms: zc-1, zc-3, ...; the zooms between are read by
 * summing 2 x 2 children of the next finer level, see tile_render.c),
 * cell (1/8 of a tile on each axis) and category: the member count and the
 * sums of lon/lat. Triggers keep it exact on every insert, update and delete,
 * so a low-zoom tile is a read of a few hundred rows whatever the data size.
 *
 * Enumerations on the written tables (facilities, reports) are checked with
 * OR chains, not IN lists: SQLite builds an ephemeral b-tree for an IN list
 * of 3+ constants on every execution of an INSERT (a fifth of the CPU of
 * importing a row).
 */
#ifndef MD_SCHEMA_SQL_H
#define MD_SCHEMA_SQL_H

#define MD_CLUSTER_CELLS_PER_TILE_LOG2 3

/* facility_tiles / report_tiles: the public tile fields of each point,
 * keyed by tkey = its z18 Web Mercator tile (y * 2^18 + x) and id, kept by
 * triggers. A raw-point tile reads a few contiguous key ranges of this narrow
 * table instead of random rows of the wide one. */
#define MD_TKEY_ZOOM 18

static const char schema_tables_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE layers (\n"
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,\n"
    "  version INTEGER NOT NULL DEFAULT 0, row_count INTEGER NOT NULL DEFAULT 0,\n"
    "  cluster_below_zoom INTEGER NOT NULL DEFAULT 0,\n"
    "  min_zoom INTEGER NOT NULL DEFAULT 0, max_zoom INTEGER NOT NULL DEFAULT 22,\n"
    "  cache_seconds INTEGER NOT NULL DEFAULT 0);\n"
    "INSERT INTO layers(id, name, cluster_below_zoom, min_zoom, max_zoom, cache_seconds) VALUES\n"
    "  (0, 'facilities', 13, 0, 22, 60), (1, 'reports', 14, 0, 22, 5),\n"
    "  (2, 'districts', 0, 0, 22, 86400), (3, 'grids', 0, 10, 22, 86400);\n"
    "CREATE TABLE cluster_zooms (layer INTEGER NOT NULL, z INTEGER NOT NULL, PRIMARY KEY (layer, z));\n"
    "WITH RECURSIVE zz(z) AS (SELECT 0 UNION ALL SELECT z + 1 FROM zz WHERE z < 21)\n"
    "  INSERT INTO cluster_zooms SELECT l.id, zz.z FROM layers l, zz\n"
    "  WHERE zz.z < l.cluster_below_zoom AND (l.cluster_below_zoom - 1 - zz.z) % 2 = 0;\n"
    "CREATE TABLE change_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, layer INTEGER NOT NULL,\n"
    "  feature_id INTEGER, minx REAL NOT NULL, miny REAL NOT NULL, maxx REAL NOT NULL,\n"
    "  maxy REAL NOT NULL, at INTEGER NOT NULL);\n"
    "CREATE TABLE cluster_cells (layer INTEGER NOT NULL, z INTEGER NOT NULL, cx INTEGER NOT NULL,\n"
    "  cy INTEGER NOT NULL, category TEXT NOT NULL, n INTEGER NOT NULL, sum_lon REAL NOT NULL,\n"
    "  sum_lat REAL NOT NULL, PRIMARY KEY (layer, z, cx, cy, category)) WITHOUT ROWID;\n"
    "CREATE TABLE facility_categories (code TEXT PRIMARY KEY, name_zh TEXT NOT NULL,\n"
    "  name_en TEXT NOT NULL, color TEXT NOT NULL DEFAULT '#888888', sort INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE categories (code TEXT PRIMARY KEY CHECK (length(code) = 6),\n"
    "  kind TEXT NOT NULL CHECK (kind IN ('problem', 'correction')),\n"
    "  group_code TEXT NOT NULL, group_zh TEXT NOT NULL, group_en TEXT NOT NULL,\n"
    "  name_zh TEXT NOT NULL, name_en TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',\n"
    "  deadline_value INTEGER NOT NULL CHECK (deadline_value > 0),\n"
    "  deadline_unit TEXT NOT NULL CHECK (deadline_unit IN ('hours', 'days')),\n"
    "  unit_type TEXT NOT NULL, dup_radius_m REAL NOT NULL DEFAULT 50,\n"
    "  attributes TEXT NOT NULL DEFAULT '[]', sort INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE districts (code TEXT PRIMARY KEY, name TEXT NOT NULL, name_en TEXT NOT NULL DEFAULT '',\n"
    "  label_lon REAL, label_lat REAL, updated_at INTEGER NOT NULL);\n"
    "CREATE TABLE grids (code TEXT PRIMARY KEY CHECK (length(code) = 15),\n"
    "  district_code TEXT NOT NULL REFERENCES districts(code), updated_at INTEGER NOT NULL);\n"
    "CREATE INDEX grids_district ON grids(district_code);\n"
    "CREATE TABLE facilities (id INTEGER PRIMARY KEY,\n"
    "  category TEXT NOT NULL REFERENCES facility_categories(code),\n"
    "  name TEXT NOT NULL, address TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',\n"
    "  opening_hours TEXT NOT NULL DEFAULT '', district_code TEXT, grid_code TEXT,\n"
    "  status TEXT NOT NULL CHECK (status = 'open' OR status = 'closed' OR status = 'unverified'),\n"
    "  source TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL,\n"
    "  lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),\n"
    "  lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90));\n"
    "CREATE INDEX facilities_category ON facilities(category);\n"
    "CREATE TABLE facility_tiles (tkey INTEGER NOT NULL, id INTEGER NOT NULL, lon REAL NOT NULL,\n"
    "  lat REAL NOT NULL, category TEXT NOT NULL, status TEXT NOT NULL, name TEXT NOT NULL,\n"
    "  PRIMARY KEY (tkey, id)) WITHOUT ROWID;\n"
    "CREATE INDEX facilities_district ON facilities(district_code);\n"
    "CREATE TABLE facility_history (id INTEGER PRIMARY KEY, facility_id INTEGER NOT NULL,\n"
    "  report_id INTEGER, change TEXT NOT NULL, actor_role TEXT NOT NULL, actor_id TEXT NOT NULL,\n"
    "  at INTEGER NOT NULL);\n"
    "CREATE INDEX facility_history_facility ON facility_history(facility_id, id);\n"
    "CREATE TABLE reports (id INTEGER PRIMARY KEY,\n"
    "  kind TEXT NOT NULL CHECK (kind = 'problem' OR kind = 'incident' OR kind = 'correction'),\n"
    "  service_code TEXT NOT NULL REFERENCES categories(code),\n"
    "  description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 4000),\n"
    "  address TEXT NOT NULL DEFAULT '', district_code TEXT NOT NULL, grid_code TEXT,\n"
    "  status TEXT NOT NULL CHECK (status = 'reported' OR status = 'filed' OR status = 'dispatched'\n"
    "    OR status = 'in_progress' OR status = 'handled' OR status = 'closed' OR status = 'rejected'\n"
    "    OR status = 'parked'),\n"
    "  parked_from TEXT, channel TEXT NOT NULL CHECK (channel = 'app' OR channel = 'web'\n"
    "    OR channel = 'hotline' OR channel = 'patrol' OR channel = 'import' OR channel = 'open311'),\n"
    "  media_urls TEXT NOT NULL DEFAULT '[]', attributes TEXT NOT NULL DEFAULT '{}',\n"
    "  facility_id INTEGER, proposed_change TEXT, supporters INTEGER NOT NULL DEFAULT 0,\n"
    "  merged_into INTEGER, token TEXT UNIQUE, created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL, expected_at INTEGER, closed_at INTEGER,\n"
    "  lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),\n"
    "  lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90));\n"
    "CREATE INDEX reports_status ON reports(status, expected_at);\n"
    "CREATE TABLE report_tiles (tkey INTEGER NOT NULL, id INTEGER NOT NULL, lon REAL NOT NULL,\n"
    "  lat REAL NOT NULL, service_code TEXT NOT NULL, status TEXT NOT NULL, kind TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL, expected_at INTEGER, supporters INTEGER NOT NULL DEFAULT 0,\n"
    "  PRIMARY KEY (tkey, id)) WITHOUT ROWID;\n"
    "CREATE INDEX reports_created ON reports(created_at);\n"
    "CREATE INDEX reports_updated ON reports(updated_at);\n"
    "CREATE INDEX reports_service ON reports(service_code, status);\n"
    "CREATE INDEX reports_district ON reports(district_code, created_at);\n"
    "CREATE TABLE report_contacts (report_id INTEGER PRIMARY KEY, name TEXT, phone TEXT,\n"
    "  email TEXT, device_id TEXT, client_addr TEXT);\n"
    "CREATE TABLE report_history (id INTEGER PRIMARY KEY, report_id INTEGER NOT NULL,\n"
    "  action TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL, actor_role TEXT NOT NULL,\n"
    "  actor_id TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL);\n"
    "CREATE INDEX report_history_report ON report_history(report_id, id);\n"
    "CREATE TABLE report_status_counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL);\n"
    "INSERT INTO report_status_counts VALUES ('reported', 0), ('filed', 0), ('dispatched', 0),\n"
    "  ('in_progress', 0), ('handled', 0), ('closed', 0), ('rejected', 0), ('parked', 0);\n"
    "CREATE TABLE tokens (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,\n"
    "  role TEXT NOT NULL CHECK (role IN ('app', 'officer', 'centre', 'admin')),\n"
    "  label TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, revoked_at INTEGER);\n"
    "CREATE TABLE calendar_days (day TEXT PRIMARY KEY,\n"
    "  kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')), note TEXT NOT NULL DEFAULT '');\n"
    "CREATE TABLE events (id INTEGER PRIMARY KEY, type TEXT NOT NULL, report_id INTEGER NOT NULL,\n"
    "  payload TEXT NOT NULL, at INTEGER NOT NULL);\n";

/* Block "units and officers" (units.h) and per-token policy (tokens.h):
 * whom cases are dispatched to, who the officer behind a token is, and an
 * app key's scopes, quota and expiry. IF NOT EXISTS: `mapd init` on a
 * database made before these tables adds them. */
static const char schema_units_sql[] =
    "CREATE TABLE IF NOT EXISTS units (code TEXT PRIMARY KEY, name TEXT NOT NULL,\n"
    "  unit_type TEXT, district_code TEXT, created_at INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS officers (id INTEGER PRIMARY KEY,\n"
    "  unit_code TEXT NOT NULL REFERENCES units(code), name TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS officers_unit ON officers(unit_code);\n"
    "CREATE TABLE IF NOT EXISTS report_assignments (report_id INTEGER PRIMARY KEY,\n"
    "  unit_code TEXT NOT NULL REFERENCES units(code), officer_id INTEGER REFERENCES officers(id),\n"
    "  assigned_at INTEGER NOT NULL, actor_id TEXT NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS report_assignments_unit ON report_assignments(unit_code);\n"
    "CREATE TABLE IF NOT EXISTS token_policy (token_id INTEGER PRIMARY KEY REFERENCES tokens(id),\n"
    "  officer_id INTEGER REFERENCES officers(id), scopes TEXT, quota_per_day INTEGER,\n"
    "  expires_at INTEGER);\n"
    "CREATE TABLE IF NOT EXISTS token_usage (token_id INTEGER NOT NULL, day INTEGER NOT NULL,\n"
    "  n INTEGER NOT NULL, PRIMARY KEY (token_id, day));\n";

/* Block "admin edits": the history of facility categories an admin edits
 * (facilities keep theirs in facility_history). */
static const char schema_admin_sql[] =
    "CREATE TABLE IF NOT EXISTS facility_category_history (id INTEGER PRIMARY KEY,\n"
    "  code TEXT NOT NULL, change TEXT NOT NULL, actor_role TEXT NOT NULL,\n"
    "  actor_id TEXT NOT NULL, at INTEGER NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS facility_category_history_code\n"
    "  ON facility_category_history(code, id);\n";

/* Block "consultations" (城管维基, consult.h): proposals the centre puts to
 * citizens at a place, their votes (one per device token hash, with the
 * voter's district, never their point) and moderated comments. */
static const char schema_consult_sql[] =
    "CREATE TABLE IF NOT EXISTS consultations (id INTEGER PRIMARY KEY, title TEXT NOT NULL,\n"
    "  body TEXT NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL, district_code TEXT,\n"
    "  place TEXT, created_at INTEGER NOT NULL, closes_at INTEGER NOT NULL,\n"
    "  closed_at INTEGER, actor_id TEXT NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS consultations_lonlat ON consultations(lon, lat);\n"
    "CREATE TABLE IF NOT EXISTS consultation_votes (consultation_id INTEGER NOT NULL,\n"
    "  device_hash TEXT NOT NULL, vote TEXT NOT NULL CHECK (vote = 'for' OR vote = 'against'),\n"
    "  district_code TEXT, at INTEGER NOT NULL, PRIMARY KEY (consultation_id, device_hash));\n"
    "CREATE TABLE IF NOT EXISTS consultation_comments (id INTEGER PRIMARY KEY,\n"
    "  consultation_id INTEGER NOT NULL, device_hash TEXT NOT NULL, body TEXT NOT NULL,\n"
    "  status TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (status = 'pending' OR status = 'approved' OR status = 'rejected'),\n"
    "  created_at INTEGER NOT NULL, moderated_at INTEGER, moderator TEXT);\n"
    "CREATE INDEX IF NOT EXISTS consultation_comments_c ON consultation_comments(consultation_id, id);\n";

/* Block "citizens follow a report" (citizen.h): who supports a report
 * ("me too", one row per device token hash; reports.supporters is the
 * count), the reporter's rating of a closed case, and the reports' photos
 * (photos.h: display size and thumbnail as JPEG blobs, so every node
 * serves them). */
static const char schema_citizen_sql[] =
    "CREATE TABLE IF NOT EXISTS report_supports (report_id INTEGER NOT NULL,\n"
    "  device_hash TEXT NOT NULL, at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (report_id, device_hash)) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS report_ratings (report_id INTEGER PRIMARY KEY,\n"
    "  score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5), comment TEXT NOT NULL DEFAULT '',\n"
    "  at INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS report_photos (id INTEGER PRIMARY KEY,\n"
    "  report_id INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'kept'\n"
    "    CHECK (status = 'kept' OR status = 'removed'),\n"
    "  width INTEGER NOT NULL, height INTEGER NOT NULL, upload_bytes INTEGER NOT NULL,\n"
    "  display BLOB, display_etag TEXT NOT NULL, thumb BLOB, thumb_etag TEXT NOT NULL,\n"
    "  actor_role TEXT NOT NULL, created_at INTEGER NOT NULL, removed_at INTEGER);\n"
    "CREATE INDEX IF NOT EXISTS report_photos_report ON report_photos(report_id, id);\n";

/* Block "webhooks" (webhooks.h): subscriptions of apps and the 12345
 * hotline system to report events, their deliveries (pending -> delivered |
 * failed, retried with backoff; next_attempt_ms in epoch milliseconds) and
 * the cursor: the last event the delivery thread has matched. */
static const char schema_webhooks_sql[] =
    "CREATE TABLE IF NOT EXISTS webhooks (id INTEGER PRIMARY KEY, url TEXT NOT NULL,\n"
    "  secret TEXT NOT NULL, report_id INTEGER, district_code TEXT, categories TEXT,\n"
    "  statuses TEXT, owner_token_id INTEGER NOT NULL, after_event INTEGER NOT NULL,\n"
    "  created_at INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1);\n"
    "CREATE INDEX IF NOT EXISTS webhooks_owner ON webhooks(owner_token_id, id);\n"
    "CREATE TABLE IF NOT EXISTS webhook_deliveries (id INTEGER PRIMARY KEY,\n"
    "  webhook_id INTEGER NOT NULL, event_id INTEGER NOT NULL, event_type TEXT NOT NULL,\n"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL,\n"
    "  status TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (status = 'pending' OR status = 'delivered' OR status = 'failed'),\n"
    "  last_http_status INTEGER, last_error TEXT, created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL, UNIQUE (webhook_id, event_id));\n"
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(next_attempt_ms)\n"
    "  WHERE status = 'pending';\n"
    "CREATE TABLE IF NOT EXISTS webhook_cursor (id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  last_event INTEGER NOT NULL);\n";

/* Block "idempotency" (idempotency.h): the answer of each create made with
 * an Idempotency-Key, written in the report's own transaction; (scope, key)
 * is unique, so of two requests with one key only one commits. Kept 24 h
 * (created_at, pruned by the report writer). */
static const char schema_idempotency_sql[] =
    "CREATE TABLE IF NOT EXISTS idempotency_keys (scope TEXT NOT NULL, key TEXT NOT NULL,\n"
    "  fingerprint TEXT NOT NULL, report_id INTEGER NOT NULL, status INTEGER NOT NULL,\n"
    "  content_type TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (scope, key));\n"
    "CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys(created_at);\n";

/* Geometry columns and their R*Tree indexes (SpatiaLite). */
static const char schema_geometry_sql[] =
    "SELECT AddGeometryColumn('districts', 'geom', 4326, 'MULTIPOLYGON', 'XY', 1);\n"
    "SELECT AddGeometryColumn('grids', 'geom', 4326, 'MULTIPOLYGON', 'XY', 1);\n"
    "SELECT AddGeometryColumn('facilities', 'geom', 4326, 'POINT', 'XY', 1);\n"
    "SELECT AddGeometryColumn('reports', 'geom', 4326, 'POINT', 'XY', 1);\n"
    "SELECT CreateSpatialIndex('districts', 'geom');\n"
    "SELECT CreateSpatialIndex('grids', 'geom');\n"
    "SELECT CreateSpatialIndex('facilities', 'geom');\n"
    "SELECT CreateSpatialIndex('reports', 'geom');\n";

/* Point tables are the hot write path (every report). SpatiaLite's own
 * per-row triggers there are replaced by cheaper equivalents: its R*Tree
 * insert trigger (RTreeAlign prepares a statement per row) by a plain insert
 * into the same R*Tree (SQLite rounds float32 boxes outward itself); its
 * geometry-constraint triggers by the type/SRID check in <t>_geom_check; its
 * geometry_columns_time bookkeeping (statistics staleness, unused by mapd,
 * which keeps its own per-layer versions) is dropped. giu/gid stay. */
static const char schema_point_index_sql[] =
    "DROP TRIGGER gii_facilities_geom;\n"
    "CREATE TRIGGER gii_facilities_geom AFTER INSERT ON facilities BEGIN\n"
    "  INSERT INTO idx_facilities_geom(pkid, xmin, xmax, ymin, ymax)\n"
    "    VALUES (NEW.rowid, NEW.lon, NEW.lon, NEW.lat, NEW.lat);\n"
    "END;\n"
    "DROP TRIGGER gii_reports_geom;\n"
    "CREATE TRIGGER gii_reports_geom AFTER INSERT ON reports BEGIN\n"
    "  INSERT INTO idx_reports_geom(pkid, xmin, xmax, ymin, ymax)\n"
    "    VALUES (NEW.rowid, NEW.lon, NEW.lon, NEW.lat, NEW.lat);\n"
    "END;\n"
    "DROP TRIGGER ggi_facilities_geom; DROP TRIGGER ggu_facilities_geom;\n"
    "DROP TRIGGER ggi_reports_geom; DROP TRIGGER ggu_reports_geom;\n"
    "DROP TRIGGER tmi_facilities_geom; DROP TRIGGER tmu_facilities_geom;\n"
    "DROP TRIGGER tmd_facilities_geom;\n"
    "DROP TRIGGER tmi_reports_geom; DROP TRIGGER tmu_reports_geom; DROP TRIGGER tmd_reports_geom;\n";

/* ---- base map (store/load/basemap.h) ----------------------------------------
 * One row per OSM (or synthetic) feature: kind (road, rail, water, waterway,
 * green, landuse, building, place), class (motorway, ..., path; lake, ...),
 * names, the zoom it is first drawn at (min_zoom: by class, later for
 * features too small to see), its lon/lat box (minx..maxy, for the low-zoom
 * read through basemap_zoom) and its geometry (any type, SRID 4326) with an
 * R*Tree. src_key is the source's stable id ("w123" = OSM way 123): a
 * re-import matches rows by it, so only rows that changed are written and
 * logged. gen = the load that last saw the row; rows an import did not see
 * are deleted. Layer id 4; change tracking as for polygon layers, on the
 * drawn columns only (a gen-only touch logs nothing). */
static const char schema_basemap_sql[] =
    "INSERT INTO layers(id, name, cluster_below_zoom, min_zoom, max_zoom, cache_seconds)\n"
    "  VALUES (4, 'basemap', 0, 0, 22, 86400);\n"
    "CREATE TABLE basemap (id INTEGER PRIMARY KEY, src_key TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL, class TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',\n"
    "  name_en TEXT NOT NULL DEFAULT '', min_zoom INTEGER NOT NULL CHECK (min_zoom BETWEEN 0 AND 22),\n"
    "  minx REAL NOT NULL, miny REAL NOT NULL, maxx REAL NOT NULL, maxy REAL NOT NULL,\n"
    "  gen INTEGER NOT NULL, updated_at INTEGER NOT NULL);\n"
    "CREATE UNIQUE INDEX basemap_src_key ON basemap(src_key);\n"
    "CREATE INDEX basemap_zoom ON basemap(min_zoom, minx);\n"
    "SELECT AddGeometryColumn('basemap', 'geom', 4326, 'GEOMETRY', 'XY', 1);\n"
    "SELECT CreateSpatialIndex('basemap', 'geom');\n";

#endif
