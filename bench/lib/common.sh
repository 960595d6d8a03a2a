# Shared helpers for mapd benchmarks: build, sample data, a throwaway
# PostgreSQL+PostGIS on loopback, wrk URL lists. Source this file.
set -euo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$BENCH_ROOT/.." && pwd)
OUT=${OUT:-$REPO_ROOT/bench/out}
mkdir -p "$OUT"
MAPD=$REPO_ROOT/build/release/mapd/mapd
PGBIN=/usr/lib/postgresql/15/bin
PGPORT=${PGPORT:-55432}
PGDATA_DIR=${PGDATA_DIR:-/tmp/mapd-bench-pg}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_build() {
  bash "$REPO_ROOT/scripts/deps.sh" bench
  cmake -S "$REPO_ROOT" -B "$REPO_ROOT/build/release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$REPO_ROOT/build/release" -j "$(nproc)" >/dev/null
}

# bench_sample DB FACILITIES REPORTS: the deterministic sample city, made once.
bench_sample() {
  local db=$1 fac=$2 rep=$3
  if [ ! -f "$db" ]; then
    log "making sample $db ($fac facilities, $rep reports)"
    "$MAPD" sample --db "$db" --facilities "$fac" --reports "$rep" --quiet
  fi
}

pg_start() {
  pg_stop || true
  rm -rf "$PGDATA_DIR"
  mkdir -p "$PGDATA_DIR"
  chown postgres "$PGDATA_DIR"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/log" -w start \
    -o "-p $PGPORT -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c shared_buffers=2GB \
        -c effective_cache_size=8GB -c work_mem=64MB -c jit=off -c max_connections=200 \
        -c synchronous_commit=${PG_SYNC_COMMIT:-on} -c fsync=on" >/dev/null
  psql_q -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
}

pg_stop() {
  if [ -d "$PGDATA_DIR/data" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

psql_q() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres postgres "$@"; }

# pg_load_sample DB: copy facilities and reports (public fields, same rows) into PostGIS.
pg_load_sample() {
  local db=$1
  psql_q <<'SQL'
DROP TABLE IF EXISTS facilities, reports;
CREATE TABLE facilities (id bigint PRIMARY KEY, category text, name text, status text, lon float8, lat float8);
CREATE TABLE reports (id bigint PRIMARY KEY, service_code text, status text, kind text,
  created_at bigint, expected_at bigint, lon float8, lat float8);
SQL
  sqlite3 -csv "$db" "SELECT id, category, name, status, lon, lat FROM facilities" |
    psql_q -c "COPY facilities FROM STDIN CSV"
  sqlite3 -csv "$db" "SELECT id, service_code, status, kind, created_at, expected_at, lon, lat FROM reports" |
    psql_q -c "COPY reports FROM STDIN CSV"
  psql_q <<'SQL'
ALTER TABLE facilities ADD COLUMN geom geometry(Point, 4326);
UPDATE facilities SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326);
ALTER TABLE reports ADD COLUMN geom geometry(Point, 4326);
UPDATE reports SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326);
CREATE INDEX facilities_geom ON facilities USING gist (geom);
CREATE INDEX reports_geom ON reports USING gist (geom);
VACUUM ANALYZE facilities;
VACUUM ANALYZE reports;
SQL
}

# mapd_start DB ARGS...: start mapd serve on a free port; sets MAPD_PID and MAPD_URL.
mapd_start() {
  local db=$1; shift
  local fifo; fifo=$(mktemp -u); mkfifo "$fifo"
  "$MAPD" serve --db "$db" --port 0 --quiet "$@" >"$fifo" 2>"$OUT/mapd.log" &
  MAPD_PID=$!
  local line; read -r line <"$fifo"; rm -f "$fifo"
  MAPD_URL=$(printf '%s' "$line" | grep -o 'http://[^/]*')
}

mapd_stop() {
  if [ -n "${MAPD_PID:-}" ]; then
    kill -TERM "$MAPD_PID" 2>/dev/null || true
    wait "$MAPD_PID" 2>/dev/null || true
    MAPD_PID=
  fi
}

# wrk_rps URL_BASE PATHS_FILE SECONDS CONNECTIONS [HEADER]: requests/s over a list of paths.
wrk_rps() {
  local base=$1 paths=$2 secs=$3 conns=$4 header=${5:-}
  local args=(-t2 -c"$conns" -d"${secs}s" -s "$BENCH_ROOT/lib/paths.lua" --latency)
  [ -n "$header" ] && args+=(-H "$header")
  PATHS_FILE=$paths wrk "${args[@]}" "$base" >"$OUT/wrk.last" 2>&1
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.last")
  local non2xx; non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/wrk.last")
  if [ -n "$non2xx" ] && [ "$non2xx" != 0 ]; then
    log "warning: $non2xx non-2xx responses ($base)"
  fi
  printf '%s' "${rps:-0}"
}

# pgbench_tps SCRIPT SECONDS CLIENTS: transactions/s of a pgbench custom script.
pgbench_tps() {
  local script=$1 secs=$2 clients=$3
  "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$PGPORT" -U postgres -f "$script" -T "$secs" \
    -c "$clients" -j 2 postgres >"$OUT/pgbench.last" 2>&1 || { cat "$OUT/pgbench.last" >&2; return 1; }
  awk '/^tps = / {printf "%.1f", $3}' "$OUT/pgbench.last"
}
