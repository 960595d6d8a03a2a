/* pg_changelog_sql.h - the change log of the PostgreSQL/PostGIS backend
 * (private to store/; the first piece of that backend, issue #13).
 *
 * Caches follow the change log by a watermark: "I have applied every change
 * up to seq N; give me seq > N". On SQLite there is one writer, so sequence
 * numbers are committed in order. On PostgreSQL a sequence (bigserial) is
 * not: a transaction holding seq 1 can commit after one holding seq 2 has
 * committed and been read, and a cache at watermark 2 would never see
 * change 1.
 *
 * Here change numbers come from one counter row, updated by the writing
 * transaction itself (md_log_change). Its row lock is held until that
 * transaction commits, so a second writer's UPDATE waits for the first to
 * commit and then reads the incremented value (READ COMMITTED re-reads the
 * newest row version). Hence:
 *   - numbers are gapless (a rolled-back transaction gives its number back
 *     with its row version) and
 *   - commit order = number order: a transaction only becomes visible
 *     (ProcArrayEndTransaction) before it releases its locks, so any snapshot
 *     that sees change N+1 also sees change N, on the primary and on every
 *     streaming replica (which replays commits in WAL order).
 * The price: writing transactions serialise from their first change to
 * their commit. mapd's writes are short (group commit batches reports into
 * one transaction), so that is one short critical section per batch.
 * Writers must run in READ COMMITTED (in REPEATABLE READ the second writer
 * would fail with a serialization error instead of waiting).
 *
 * Each change also sends NOTIFY mapd_changes with "seq layer minx miny maxx
 * maxy": delivered at commit, in commit order, to every node that LISTENs,
 * which then reads the log (the source of truth; a lost notification only
 * delays a node until its next poll or reconnect).
 */
#ifndef MD_PG_CHANGELOG_SQL_H
#define MD_PG_CHANGELOG_SQL_H

static const char pg_changelog_sql[] =
    "CREATE TABLE layers (id integer PRIMARY KEY, name text NOT NULL UNIQUE,\n"
    "  version bigint NOT NULL DEFAULT 0, row_count bigint NOT NULL DEFAULT 0,\n"
    "  cluster_below_zoom integer NOT NULL DEFAULT 0,\n"
    "  min_zoom integer NOT NULL DEFAULT 0, max_zoom integer NOT NULL DEFAULT 22,\n"
    "  cache_seconds integer NOT NULL DEFAULT 0);\n"
    /* The same layers and settings as schema_sql.h. */
    "INSERT INTO layers(id, name, cluster_below_zoom, min_zoom, max_zoom, cache_seconds) VALUES\n"
    "  (0, 'facilities', 13, 0, 22, 60), (1, 'reports', 14, 0, 22, 5),\n"
    "  (2, 'districts', 0, 0, 22, 86400), (3, 'grids', 0, 10, 22, 86400);\n"
    "CREATE TABLE change_counter (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL);\n"
    "INSERT INTO change_counter VALUES (1, 0);\n"
    "CREATE TABLE change_log (seq bigint PRIMARY KEY, layer integer NOT NULL,\n"
    "  feature_id bigint, minx float8 NOT NULL, miny float8 NOT NULL, maxx float8 NOT NULL,\n"
    "  maxy float8 NOT NULL, at bigint NOT NULL);\n"
    /* One change: the next number, the log row, the layer's version, the
     * notification. Returns the change number. */
    "CREATE FUNCTION md_log_change(p_layer integer, p_feature bigint, p_minx float8,\n"
    "    p_miny float8, p_maxx float8, p_maxy float8) RETURNS bigint\n"
    "LANGUAGE plpgsql AS $$\n"
    "DECLARE s bigint;\n"
    "BEGIN\n"
    "  UPDATE change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq INTO s;\n"
    "  INSERT INTO change_log VALUES (s, p_layer, p_feature, p_minx, p_miny, p_maxx, p_maxy,\n"
    "    extract(epoch FROM clock_timestamp())::bigint);\n"
    "  UPDATE layers SET version = version + 1 WHERE id = p_layer;\n"
    "  PERFORM pg_notify('mapd_changes', format('%s %s %s %s %s %s', s, p_layer, p_minx,\n"
    "    p_miny, p_maxx, p_maxy));\n"
    "  RETURN s;\n"
    "END $$;\n"
    /* Row trigger of a point layer (columns id, lon, lat; TG_ARGV[0] = layer
     * id): one change per row state change covering the old and new point,
     * and the layer's row count. */
    "CREATE FUNCTION md_track_point() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "DECLARE l integer := TG_ARGV[0]::integer;\n"
    "BEGIN\n"
    "  IF TG_OP = 'INSERT' THEN\n"
    "    PERFORM md_log_change(l, NEW.id, NEW.lon, NEW.lat, NEW.lon, NEW.lat);\n"
    "    UPDATE layers SET row_count = row_count + 1 WHERE id = l;\n"
    "    RETURN NEW;\n"
    "  ELSIF TG_OP = 'UPDATE' THEN\n"
    "    PERFORM md_log_change(l, NEW.id, least(OLD.lon, NEW.lon), least(OLD.lat, NEW.lat),\n"
    "      greatest(OLD.lon, NEW.lon), greatest(OLD.lat, NEW.lat));\n"
    "    RETURN NEW;\n"
    "  END IF;\n"
    "  PERFORM md_log_change(l, OLD.id, OLD.lon, OLD.lat, OLD.lon, OLD.lat);\n"
    "  UPDATE layers SET row_count = row_count - 1 WHERE id = l;\n"
    "  RETURN OLD;\n"
    "END $$;\n";

#endif
