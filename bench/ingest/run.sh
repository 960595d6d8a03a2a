#!/usr/bin/env bash
# bench/ingest: durable report creates per second at 1, 16 and 64 concurrent
# clients, side by side in one run:
#   mapd: POST /api/v1/reports over HTTP (wrk). Each 201 is sent only after
#     the group-commit writer's COMMIT returned (WAL, synchronous=FULL): the
#     report, its contact, its first history row and its event row are on disk.
#   PostGIS 3 / PostgreSQL 15 (synchronous_commit=on, fsync=on): pgbench runs
#     the same write - the report row with its point geometry (GiST-indexed),
#     the contact row and the history row - one transaction per report, over
#     TCP on loopback. No HTTP layer on this side: the peer's rate is an upper
#     bound for any API in front of it.
# Same starting data (the sample city), same points (facility positions).
# Prints a Markdown table and writes it to bench/out/ingest.md.
#
# Usage: bench/ingest/run.sh   (env: SECS=10 CLIENTS="1 16 64" FAC=5000 REP=20000 THREADS=4)
source "$(dirname "$0")/../lib/common.sh"
SECS=${SECS:-10}
CLIENTS=${CLIENTS:-"1 16 64"}
FAC=${FAC:-5000}
REP=${REP:-20000}
THREADS=${THREADS:-4}
BASE_DB=$OUT/sample-ingest-${FAC}-${REP}.sqlite
WORK_DB=$OUT/ingest-work.sqlite

bench_build
bench_sample "$BASE_DB" "$FAC" "$REP"
POINTS=$OUT/ingest-points.txt
sqlite3 -csv "$BASE_DB" "SELECT printf('%.6f', lon), printf('%.6f', lat) FROM facilities ORDER BY id LIMIT 5000" >"$POINTS"

log "starting PostgreSQL (synchronous_commit=on)"
PG_SYNC_COMMIT=on pg_start
trap 'pg_stop; mapd_stop 2>/dev/null; true' EXIT
psql_q <<'SQL'
DROP TABLE IF EXISTS reports, report_contacts, report_history, bench_points;
CREATE TABLE reports (id bigserial PRIMARY KEY, kind text NOT NULL, service_code text NOT NULL,
  description text NOT NULL DEFAULT '', address text NOT NULL DEFAULT '', district_code text,
  grid_code text, status text NOT NULL, channel text NOT NULL, media_urls text NOT NULL DEFAULT '[]',
  token text UNIQUE, created_at bigint NOT NULL, updated_at bigint NOT NULL,
  lon float8 NOT NULL, lat float8 NOT NULL, geom geometry(Point, 4326));
CREATE INDEX reports_geom ON reports USING gist (geom);
CREATE INDEX reports_status ON reports (status);
CREATE INDEX reports_created ON reports (created_at);
CREATE INDEX reports_service ON reports (service_code, status);
CREATE TABLE report_contacts (report_id bigint PRIMARY KEY, phone text);
CREATE TABLE report_history (id bigserial PRIMARY KEY, report_id bigint NOT NULL, action text,
  to_status text, actor_role text, at bigint);
CREATE INDEX report_history_report ON report_history (report_id);
CREATE TABLE bench_points (i int PRIMARY KEY, lon float8, lat float8);
SQL
awk -F, '{print NR-1 "," $1 "," $2}' "$POINTS" | psql_q -c "COPY bench_points FROM STDIN CSV"
# Start from the same rows as mapd's sample.
sqlite3 -csv "$BASE_DB" "SELECT id, kind, service_code, description, address, district_code, grid_code,
  status, channel, media_urls, token, created_at, updated_at, lon, lat FROM reports" |
  psql_q -c "COPY reports (id, kind, service_code, description, address, district_code, grid_code,
  status, channel, media_urls, token, created_at, updated_at, lon, lat) FROM STDIN CSV"
psql_q <<'SQL'
UPDATE reports SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326) WHERE geom IS NULL;
ALTER TABLE reports ALTER COLUMN geom SET NOT NULL;
SELECT setval('reports_id_seq', (SELECT coalesce(max(id), 1) FROM reports)) \gset
VACUUM ANALYZE;
SQL
NPTS=$(wc -l <"$POINTS")
PGSCRIPT=$OUT/ingest.pgbench
cat >"$PGSCRIPT" <<SQL
\set i random(0, $((NPTS - 1)))
BEGIN;
WITH p AS (SELECT lon, lat FROM bench_points WHERE i = :i),
r AS (INSERT INTO reports (kind, service_code, description, district_code, status, channel, token,
        created_at, updated_at, lon, lat, geom)
      SELECT 'problem', '200104', 'bench report', '110101', 'reported', 'app', md5(random()::text),
        extract(epoch from now())::bigint, extract(epoch from now())::bigint, p.lon, p.lat,
        ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) FROM p RETURNING id, created_at),
c AS (INSERT INTO report_contacts (report_id, phone) SELECT id, '13800000000' FROM r)
INSERT INTO report_history (report_id, action, to_status, actor_role, at)
  SELECT id, 'report', 'reported', 'public', created_at FROM r;
COMMIT;
SQL

declare -A MAPD_RPS PG_TPS
for c in $CLIENTS; do
  cp "$BASE_DB" "$WORK_DB"; rm -f "$WORK_DB-wal" "$WORK_DB-shm"
  mapd_start "$WORK_DB" --rate-limit 0 --threads "$THREADS" --max-per-client 0
  t=$(( c < 2 ? 1 : 2 ))
  log "mapd: $c clients, ${SECS}s"
  POINTS_FILE=$POINTS wrk -t"$t" -c"$c" -d"${SECS}s" -s "$BENCH_ROOT/ingest/post.lua" "$MAPD_URL" >"$OUT/wrk.last" 2>&1
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/wrk.last")
  [ -n "$non2xx" ] && log "warning: $non2xx non-201 answers"
  total=$(awk '/requests in/ {print $1}' "$OUT/wrk.last")
  mapd_stop
  # Count what is on disk, not what the client saw: reports created in this run.
  created=$(sqlite3 "$WORK_DB" "SELECT count(*) FROM reports WHERE description LIKE 'bench report %'")
  MAPD_RPS[$c]=$(awk -v n="$created" -v s="$SECS" 'BEGIN {printf "%.0f", n / s}')
  log "mapd: $created reports committed ($total requests, ${non2xx:-0} non-201)"
  log "PostGIS: $c clients, ${SECS}s"
  PG_TPS[$c]=$(pgbench_tps "$PGSCRIPT" "$SECS" "$c")
done

{
  echo "## Durable report ingest (creates/s; sample $FAC facilities / $REP reports; ${SECS}s per cell)"
  echo
  echo "| clients | mapd (HTTP, group commit, synchronous=FULL) | PostGIS (pgbench, synchronous_commit=on) | mapd / PostGIS |"
  echo "|---:|---:|---:|---:|"
  for c in $CLIENTS; do
    ratio=$(awk -v a="${MAPD_RPS[$c]}" -v b="${PG_TPS[$c]}" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
    echo "| $c | ${MAPD_RPS[$c]} | ${PG_TPS[$c]} | $ratio |"
  done
  echo
  echo "Machine: $(nproc) CPUs, $(uname -sr); mapd --threads $THREADS."
} | tee "$OUT/ingest.md"
