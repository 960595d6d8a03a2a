#!/usr/bin/env bash
# bench/pg: mapd on PostgreSQL/PostGIS (issue 13) against mapd on SpatiaLite,
# on the same city in one run:
#   tiles    z10..z16 over the seeded tile list (bench/tiles' list): mapd-on-PG
#            and mapd-on-SpatiaLite, tile cache off and warm, and PostGIS's own
#            ST_AsMVT(ST_AsMVTGeom(...)) through pgbench (bench/tiles' function);
#   queries  nearest k=10 and within 500 m (bench/queries' 1000 points) on both
#            backends, feature cache on (as served) and off;
#   nodes    a cached-tile mix through a private nginx in front of 1, 2 and 3
#            mapd nodes over the one PostgreSQL;
#   creates  durable POST /api/v1/reports (bench/ingest/post.lua) at 1, 16 and
#            64 clients: PG --durability local, PG --durability replicated (a
#            synchronous standby started here), SpatiaLite for reference.
# Plus the round trip of a trivial prepared `SELECT 1` through libpq
# (pgbench), the floor under every PostgreSQL read.
#
# The city: `mapd sample` with the same options into the SpatiaLite file and
# into the PG database (same seed = same rows; the row counts are compared and
# the run stops if they differ). Servers (mapd, PostgreSQL, nginx) are pinned
# to core 0 and the load generators (wrk, pgbench) to core 1 with taskset, so
# each side has one core; on a machine shared with other work the figures
# move with the load (the table says the load average at the start).
# Prints a Markdown table and writes it to bench/out/pg.md.
#
# Usage: bench/pg/run.sh
#   env: PARTS="tiles queries nodes creates"  SECS=5  CONNS=16  FAC=100000  REP=200000
#        ZOOMS="10 12 14 16"  NTILES=100  CLIENTS="1 16 64"  THREADS=4  NODES="1 2 3"
#        REPLICATED=1 (0: skip the standby)  SERVER_CPU=0  LOAD_CPU=1
source "$(dirname "$0")/../lib/common.sh"
PARTS=${PARTS:-"tiles queries nodes creates"}
SECS=${SECS:-5}
CONNS=${CONNS:-16}
FAC=${FAC:-100000}
REP=${REP:-200000}
ZOOMS=${ZOOMS:-"10 12 14 16"}
NTILES=${NTILES:-100}
CLIENTS=${CLIENTS:-"1 16 64"}
THREADS=${THREADS:-4}
NODES=${NODES:-"1 2 3"}
REPLICATED=${REPLICATED:-1}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
# free_port: a TCP port nothing listens on now (other benches and tests run here too).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PG_PORT=${PG_PORT:-$(free_port)}
SB_PORT=${SB_PORT:-$(free_port)}
P1=$(free_port); P2=$(free_port); PN=$(free_port)
NPORT=(); for i in 1 2 3 4 5 6 7 8; do NPORT+=("$(free_port)"); done
PG_DIR=${PG_DIR:-/tmp/mapd-bench-pg-primary}
SB_DIR=${SB_DIR:-/tmp/mapd-bench-pg-standby}
DB=${DB:-$OUT/pg-sample-$FAC-$REP.sqlite}
PGURI="postgresql://postgres@127.0.0.1:$PG_PORT/mapd"
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
SRV=(taskset -c "$SERVER_CPU")
LDG=(taskset -c "$LOAD_CPU")
T0=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

PIDS=()
NGINX_DIR=
cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$NGINX_DIR" ] && [ -f "$NGINX_DIR/nginx.pid" ]; then
    kill "$(cat "$NGINX_DIR/nginx.pid")" 2>/dev/null || true
  fi
  bash "$REPO_ROOT/scripts/pg_cluster.sh" stop "$SB_DIR" fast 2>/dev/null || true
  bash "$REPO_ROOT/scripts/pg_cluster.sh" stop "$PG_DIR" fast 2>/dev/null || true
}
trap cleanup EXIT

[ "${SKIP_BUILD:-0}" = 1 ] || bench_build
rm -f "$DB" "$DB-wal" "$DB-shm"
log "sample city ($FAC facilities, $REP reports) into $DB"
"$MAPD" sample --db "$DB" --facilities "$FAC" --reports "$REP" --quiet

log "PostgreSQL on core $SERVER_CPU, port $PG_PORT"
bash "$REPO_ROOT/scripts/pg_cluster.sh" stop "$SB_DIR" immediate 2>/dev/null || true
bash "$REPO_ROOT/scripts/pg_cluster.sh" stop "$PG_DIR" immediate 2>/dev/null || true
"${SRV[@]}" bash "$REPO_ROOT/scripts/pg_cluster.sh" start "$PG_DIR" "$PG_PORT" \
  -c shared_buffers=1GB -c effective_cache_size=8GB -c work_mem=32MB -c max_connections=300 \
  -c synchronous_commit=on -c fsync=on >/dev/null
pq() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
pq postgres -c "CREATE DATABASE mapd" >/dev/null
pq mapd -c "CREATE EXTENSION postgis" >/dev/null
log "the same city into PostgreSQL (mapd sample --db $PGURI)"
t=$(date +%s.%N)
"$MAPD" sample --db "$PGURI" --facilities "$FAC" --reports "$REP" --quiet
LOAD_SECS=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
pq mapd -c "VACUUM ANALYZE" >/dev/null
COUNTS=""
for tbl in districts grids facilities reports report_history report_contacts categories; do
  a=$(sqlite3 "$DB" "SELECT count(*) FROM $tbl")
  b=$(pq mapd -At -c "SELECT count(*) FROM $tbl")
  [ "$a" = "$b" ] || { log "row counts differ in $tbl: SpatiaLite $a, PostgreSQL $b"; exit 1; }
  COUNTS+="$tbl $a, "
done
log "same row counts: ${COUNTS%, }"

# node_start DB PORT ARGS...: a mapd node on the server core, port PORT.
node_start() {
  local db=$1 port=$2; shift 2
  "${SRV[@]}" "$MAPD" serve --db "$db" --port "$port" --threads "$THREADS" --quiet "$@" \
    >"$OUT/pg-node-$port.out" 2>"$OUT/pg-node-$port.log" &
  PIDS+=($!)
  local i
  for i in $(seq 1 200); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/health" && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$OUT/pg-node-$port.log" >&2; return 1; }
    sleep 0.1
  done
  log "node on $port did not come up"; return 1
}
nodes_stop() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
# warm BASE PATHS: fetch every path once (one curl, one connection).
warm() {
  awk -v b="$1" '{ print "url = \"" b $0 "\"\noutput = \"/dev/null\"" }' "$2" >"$OUT/pg-warm.curl"
  curl -s -K "$OUT/pg-warm.curl" || true
}
# rps BASE PATHS CONNS: wrk requests/s on the load core; non-2xx are logged.
rps() {
  local t=$(( $3 < 2 ? 1 : 2 ))
  PATHS_FILE=$2 "${LDG[@]}" wrk -t"$t" -c"$3" -d"${SECS}s" -s "$BENCH_ROOT/lib/paths.lua" "$1" \
    >"$OUT/wrk.last" 2>&1
  local bad; bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/wrk.last")
  [ -z "$bad" ] || log "warning: $bad non-2xx answers from $1 ($2)"
  local all; all=$(awk '/requests in/ { print $1 }' "$OUT/wrk.last")
  awk '/Requests\/sec/ { printf "%.0f", $2 }' "$OUT/wrk.last"
  [ -z "$bad" ] || printf ' (%s of %s not 2xx)' "$bad" "$all"
}
# tps SCRIPT CLIENTS [DBNAME]: pgbench -M prepared transactions/s on the load core.
tps() {
  "${LDG[@]}" "$PGBIN/pgbench" -n -M prepared -h 127.0.0.1 -p "$PG_PORT" -U postgres -f "$1" \
    -T "$SECS" -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" "${3:-mapd}" >"$OUT/pgbench.last" 2>&1 ||
    { cat "$OUT/pgbench.last" >&2; return 1; }
  awk '/^tps = / { printf "%.0f", $3 }' "$OUT/pgbench.last"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a ~ /^[0-9.]+$/) printf "%.2f", a / b; else print "-" }'; }

# The seeded tile list (bench/tiles): tiles under every STEP-th report, unique, per zoom.
STEP=$(( REP / 1000 > 1 ? REP / 1000 : 1 ))
for z in $ZOOMS; do
  sqlite3 -separator ' ' "$DB" "SELECT lon, lat FROM reports WHERE id % $STEP = 0 ORDER BY id" |
    awk -v z="$z" 'BEGIN { pi = atan2(0, -1); n = 2 ^ z }
      { r = $2 * pi / 180; x = int(($1 + 180) / 360 * n);
        y = int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n); print z, x, y }' |
    awk -v n="$NTILES" '!seen[$0]++ && c++ < n' >"$OUT/pg-tiles-z$z.txt"
  awk '{ printf "/tiles/reports/%d/%d/%d.mvt\n", $1, $2, $3 }' "$OUT/pg-tiles-z$z.txt" >"$OUT/pg-paths-z$z.txt"
done
cat "$OUT"/pg-paths-z*.txt | awk 'BEGIN { srand(13) } { print rand() "\t" $0 }' | sort -k1,1 |
  cut -f2 >"$OUT/pg-paths-mix.txt"

# The floor under every PostgreSQL read: a prepared SELECT 1 through libpq.
printf 'SELECT 1;\n' >"$OUT/pg-select1.sql"
SEL1_1=$(tps "$OUT/pg-select1.sql" 1)
SEL1_N=$(tps "$OUT/pg-select1.sql" "$CONNS")
log "SELECT 1: $SEL1_1 /s at 1 client, $SEL1_N /s at $CONNS"

declare -A PGM PGU PGC SQU SQC QP QS QP0 QS0 NR CR CX
NR[direct]=""

# ---- tiles -----------------------------------------------------------------
if has tiles; then
  pq mapd <<'SQL' >/dev/null
CREATE OR REPLACE FUNCTION bench_tile_reports(z integer, x integer, y integer) RETURNS bytea AS $$
  SELECT ST_AsMVT(tile, 'reports', 4096, 'geom', 'id') FROM (
    SELECT ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom,
           id, service_code, status, kind, created_at
    FROM reports
    WHERE geom && ST_Transform(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096), 4326)
  ) AS tile WHERE geom IS NOT NULL
$$ LANGUAGE sql STABLE PARALLEL SAFE;
DROP TABLE IF EXISTS bench_tiles;
CREATE TABLE bench_tiles (z int, i int, x int, y int, PRIMARY KEY (z, i));
SQL
  for z in $ZOOMS; do
    awk '{ print $1 "," NR "," $2 "," $3 }' "$OUT/pg-tiles-z$z.txt" |
      pq mapd -c "COPY bench_tiles (z, i, x, y) FROM STDIN CSV"
  done
  for z in $ZOOMS; do
    n=$(wc -l <"$OUT/pg-tiles-z$z.txt")
    printf '\\set i random(1, %d)\nSELECT bench_tile_reports(z, x, y) FROM bench_tiles WHERE z = %d AND i = :i;\n' \
      "$n" "$z" >"$OUT/pg-st-z$z.sql"
    log "tiles z$z: PostGIS ST_AsMVT (pgbench)"
    PGM[$z]=$(tps "$OUT/pg-st-z$z.sql" "$CONNS")
  done
  for cfg in "PGU:$PGURI:0" "PGC:$PGURI:1024" "SQU:$DB:0" "SQC:$DB:1024"; do
    name=${cfg%%:*}; rest=${cfg#*:}; mb=${rest##*:}; db=${rest%:*}
    log "tiles: mapd $name (--tile-cache-mb $mb)"
    node_start "$db" $P1 --tile-cache-mb "$mb"
    for z in $ZOOMS; do
      [ "$mb" = 0 ] || warm http://127.0.0.1:$P1 "$OUT/pg-paths-z$z.txt"
      v=$(rps http://127.0.0.1:$P1 "$OUT/pg-paths-z$z.txt" "$CONNS")
      eval "$name[$z]=\$v"
      log "  z$z: $v tiles/s"
    done
    nodes_stop
  done
  # Same bytes from both backends (one tile per zoom, cache off on both).
  node_start "$PGURI" $P1 --tile-cache-mb 0
  node_start "$DB" $P2 --tile-cache-mb 0
  SAME=yes
  for z in $ZOOMS; do
    p=$(sed -n 3p "$OUT/pg-paths-z$z.txt")
    a=$(curl -s "http://127.0.0.1:$P1$p" | md5sum); b=$(curl -s "http://127.0.0.1:$P2$p" | md5sum)
    [ "$a" = "$b" ] || { SAME="no (z$z differs)"; log "tile $p differs between the backends"; }
  done
  nodes_stop
fi

# ---- queries ---------------------------------------------------------------
QUERIES="nearest-fac nearest-rep radius-fac radius-rep"
if has queries; then
  awk 'BEGIN { for (i = 0; i < 1000; i++)
    printf "%.6f %.6f\n", 116.25 + ((i * 7919) % 1000) * 0.0003, 39.80 + ((i * 104729) % 1000) * 0.00025 }' \
    >"$OUT/pg-points.txt"
  awk '{ printf "/api/v1/nearest?layer=facilities&k=10&lon=%s&lat=%s\n", $1, $2 }' "$OUT/pg-points.txt" >"$OUT/pg-q-nearest-fac.txt"
  awk '{ printf "/api/v1/nearest?layer=reports&k=10&lon=%s&lat=%s\n", $1, $2 }' "$OUT/pg-points.txt" >"$OUT/pg-q-nearest-rep.txt"
  awk '{ printf "/api/v1/within?layer=facilities&radius=500&limit=100&offset=0&lon=%s&lat=%s\n", $1, $2 }' "$OUT/pg-points.txt" >"$OUT/pg-q-radius-fac.txt"
  awk '{ printf "/api/v1/within?layer=reports&radius=500&limit=100&offset=0&lon=%s&lat=%s\n", $1, $2 }' "$OUT/pg-points.txt" >"$OUT/pg-q-radius-rep.txt"
  for cfg in "QP:$PGURI:64" "QS:$DB:64" "QP0:$PGURI:0" "QS0:$DB:0"; do
    name=${cfg%%:*}; rest=${cfg#*:}; mb=${rest##*:}; db=${rest%:*}
    log "queries: mapd $name (--feature-cache-mb $mb)"
    node_start "$db" $P1 --feature-cache-mb "$mb"
    for q in $QUERIES; do
      code=$(curl -s -o "$OUT/pg-q-answer.json" -w '%{http_code}' "http://127.0.0.1:$P1$(head -1 "$OUT/pg-q-$q.txt")")
      if [ "$code" != 200 ]; then
        v="HTTP $code"; log "  $q: HTTP $code: $(head -c 200 "$OUT/pg-q-answer.json")"
        eval "$name[\$q]=\$v"; continue
      fi
      head -200 "$OUT/pg-q-$q.txt" >"$OUT/pg-warm-q.txt"; warm http://127.0.0.1:$P1 "$OUT/pg-warm-q.txt"
      v=$(rps http://127.0.0.1:$P1 "$OUT/pg-q-$q.txt" "$CONNS")
      eval "$name[\$q]=\$v"
      log "  $q: $v /s"
    done
    nodes_stop
  done
  # Same answers (a few points, both backends).
  node_start "$PGURI" $P1; node_start "$DB" $P2
  QSAME=yes
  for q in $QUERIES; do
    for p in $(sed -n '1p;500p;999p' "$OUT/pg-q-$q.txt"); do
      code=$(curl -s -o "$OUT/pg-q-a.json" -w '%{http_code}' "http://127.0.0.1:$P1$p")
      curl -s -o "$OUT/pg-q-b.json" "http://127.0.0.1:$P2$p"
      if [ "$code" != 200 ]; then
        case $QSAME in *"HTTP $code"*) ;; *) QSAME="no: PG answers HTTP $code ($q)" ;; esac
      elif ! cmp -s "$OUT/pg-q-a.json" "$OUT/pg-q-b.json"; then
        QSAME="no ($q differs)"; log "answer $p differs between the backends"
      fi
    done
  done
  nodes_stop
fi

# ---- nodes -----------------------------------------------------------------
if has nodes; then
  NGINX_DIR=$OUT/pg-nginx
  rm -rf "$NGINX_DIR"; mkdir -p "$NGINX_DIR/logs"
  for n in $NODES; do
    log "nodes: $n mapd node(s) over one PostgreSQL behind nginx"
    ups=""
    for i in $(seq 1 "$n"); do
      node_start "$PGURI" ${NPORT[i]} --tile-cache-mb 256
      warm "http://127.0.0.1:${NPORT[i]}" "$OUT/pg-paths-mix.txt"
      ups+="    server 127.0.0.1:${NPORT[i]};"$'\n'
    done
    cat >"$NGINX_DIR/nginx.conf" <<NGX
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream mapd {
$ups    keepalive 64;
  }
  server {
    listen 127.0.0.1:$PN;
    location / {
      proxy_pass http://mapd;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
    }
  }
}
NGX
    "${SRV[@]}" nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf"
    sleep 0.3
    [ "$n" = 1 ] && NR[direct]=$(rps "http://127.0.0.1:${NPORT[1]}" "$OUT/pg-paths-mix.txt" "$CONNS")
    NR[$n]=$(rps http://127.0.0.1:$PN "$OUT/pg-paths-mix.txt" "$CONNS")
    log "  $n node(s): ${NR[$n]} tiles/s through nginx${NR[direct]:+ (1 node direct: ${NR[direct]})}"
    kill "$(cat "$NGINX_DIR/nginx.pid")"; sleep 0.3
    nodes_stop
  done
fi

# ---- creates ---------------------------------------------------------------
if has creates; then
  sqlite3 -csv "$DB" "SELECT printf('%.6f', lon), printf('%.6f', lat) FROM facilities ORDER BY id LIMIT 5000" \
    >"$OUT/pg-points.csv"
  # created_count KIND DB: reports the bench has created so far.
  created_count() {
    if [ "$1" = sqlite ]; then sqlite3 "$2" "SELECT count(*) FROM reports WHERE description LIKE 'bench report %'"
    else pq mapd -At -c "SELECT count(*) FROM reports WHERE description LIKE 'bench report %'"; fi
  }
  # creates NAME KIND DB ARGS...: creates/s per client count into CR[NAME:c].
  creates() {
    local name=$1 kind=$2 db=$3; shift 3
    local c before after bad
    for c in $CLIENTS; do
      node_start "$db" $P1 --rate-limit 0 --max-per-client 0 "$@"
      before=$(created_count "$kind" "$db")
      [ "$kind" = pg ] && read -r x0 f0 <<<"$(pq mapd -At -F' ' -c "SELECT xact_commit, wal_sync FROM pg_stat_database, pg_stat_wal WHERE datname = 'mapd'")"
      POINTS_FILE=$OUT/pg-points.csv "${LDG[@]}" wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${SECS}s" \
        -s "$BENCH_ROOT/ingest/post.lua" http://127.0.0.1:$P1 >"$OUT/wrk.last" 2>&1
      nodes_stop
      after=$(created_count "$kind" "$db")
      if [ "$kind" = pg ]; then
        read -r x1 f1 <<<"$(pq mapd -At -F' ' -c "SELECT xact_commit, wal_sync FROM pg_stat_database, pg_stat_wal WHERE datname = 'mapd'")"
        # What PostgreSQL did for them: transactions committed and WAL flushes, per report.
        CX[$name:$c]=$(awk -v n=$((after - before)) -v x=$((x1 - x0)) -v f=$((f1 - f0)) \
          'BEGIN { if (n > 0) printf "%.2f / %.2f", x / n, f / n; else print "-" }')
      fi
      bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/wrk.last")
      CR[$name:$c]=$(awk -v n=$((after - before)) -v s="$SECS" 'BEGIN { printf "%.0f", n / s }')
      log "  creates $name, $c clients: ${CR[$name:$c]} /s ($((after - before)) on disk, ${bad:-0} non-201)"
    done
  }
  log "creates: PostgreSQL --durability local"
  creates local pg "$PGURI" --durability local
  log "creates: SpatiaLite (a copy of the file)"
  cp "$DB" "$OUT/pg-ingest.sqlite"; rm -f "$OUT/pg-ingest.sqlite-wal" "$OUT/pg-ingest.sqlite-shm"
  creates sqlite sqlite "$OUT/pg-ingest.sqlite"
  # An INSERT+COMMIT per transaction straight through pgbench: the disk's
  # flush rate without group commit (what one writer gets per fsync).
  pq mapd -c "DROP TABLE IF EXISTS bench_commit" -c "CREATE TABLE bench_commit (i int PRIMARY KEY, n bigint)" \
    -c "INSERT INTO bench_commit VALUES (1, 0)" >/dev/null
  printf 'UPDATE bench_commit SET n = n + 1 WHERE i = 1;\n' >"$OUT/pg-commit.sql"
  COMMIT1=$(tps "$OUT/pg-commit.sql" 1)
  log "one-row commit, 1 client (pgbench): $COMMIT1 /s"
  if [ "$REPLICATED" = 1 ]; then
    log "creates: synchronous standby on port $SB_PORT"
    "${SRV[@]}" bash "$REPO_ROOT/scripts/pg_cluster.sh" standby "$PG_PORT" "$SB_DIR" "$SB_PORT" \
      -c shared_buffers=1GB -c max_connections=300 >/dev/null
    pq postgres -c "ALTER SYSTEM SET synchronous_standby_names = 'standby_$SB_PORT'" -c "SELECT pg_reload_conf()" >/dev/null
    for i in $(seq 1 100); do
      s=$(pq postgres -At -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby_$SB_PORT'")
      [ "$s" = sync ] && break; sleep 0.1
    done
    log "  standby state: ${s:-none}"
    creates replicated pg "$PGURI" --durability replicated
  fi
fi

# ---- the table -------------------------------------------------------------
TABLE=$OUT/pg.md
{
  echo "mapd on PostgreSQL 15 / PostGIS 3 vs mapd on SpatiaLite, $(date -u '+%F %H:%M') UTC, $(nproc) cores"
  echo "(servers on core $SERVER_CPU, wrk/pgbench on core $LOAD_CPU; load average at start $LOAD_START)."
  echo "City: \`mapd sample --facilities $FAC --reports $REP\` into both (${COUNTS%, });"
  echo "PG copy ${LOAD_SECS}s. ${SECS}s per cell, $CONNS connections unless said, mapd --threads $THREADS."
  echo "Prepared \`SELECT 1\` through libpq (pgbench): $SEL1_1/s at 1 client, $SEL1_N/s at $CONNS."
  if has tiles; then
    echo
    echo "Tiles/s, layer reports (same bytes from both backends: $SAME):"
    echo
    echo "| zoom | PostGIS ST_AsMVT | mapd-PG uncached | × ST_AsMVT (≥ 3) | mapd-SpatiaLite uncached | mapd-PG cached | mapd-SpatiaLite cached | PG / SpatiaLite cached (≥ 0.90) |"
    echo "|---|---|---|---|---|---|---|---|"
    for z in $ZOOMS; do
      echo "| $z | ${PGM[$z]} | ${PGU[$z]} | $(ratio "${PGU[$z]}" "${PGM[$z]}") | ${SQU[$z]} | ${PGC[$z]} | ${SQC[$z]} | $(ratio "${PGC[$z]}" "${SQC[$z]}") |"
    done
  fi
  if has queries; then
    echo
    echo "Queries/s (1000 points over Beijing's core; same answers from both backends: $QSAME):"
    echo
    echo "| query | mapd-PG | mapd-SpatiaLite | PG / SpatiaLite | mapd-PG, no feature cache | mapd-SpatiaLite, no feature cache | PG / SpatiaLite |"
    echo "|---|---|---|---|---|---|---|"
    for q in $QUERIES; do
      case $q in nearest-fac) l="nearest k=10, facilities" ;; nearest-rep) l="nearest k=10, reports" ;;
        radius-fac) l="within 500 m, facilities" ;; *) l="within 500 m, reports" ;; esac
      echo "| $l | ${QP[$q]} | ${QS[$q]} | $(ratio "${QP[$q]}" "${QS[$q]}") | ${QP0[$q]} | ${QS0[$q]} | $(ratio "${QP0[$q]}" "${QS0[$q]}") |"
    done
  fi
  if has nodes; then
    echo
    echo "Cached-tile mix (z${ZOOMS// /, z}, $(wc -l <"$OUT/pg-paths-mix.txt") tiles), mapd nodes over one PostgreSQL behind nginx"
    echo "(all nodes, nginx and PostgreSQL share core $SERVER_CPU; wrk on core $LOAD_CPU): one node direct ${NR[direct]} tiles/s."
    echo
    echo "| nodes | tiles/s through nginx |"
    echo "|---|---|"
    for n in $NODES; do echo "| $n | ${NR[$n]} |"; done
  fi
  if has creates; then
    echo
    echo "Durable creates/s (POST /api/v1/reports, --rate-limit 0, counted on disk; one-row commit through pgbench, 1 client: $COMMIT1/s):"
    echo
    echo "| clients | mapd-PG --durability local | PG commits / WAL flushes per report | mapd-PG --durability replicated | PG commits / WAL flushes per report | mapd-SpatiaLite |"
    echo "|---|---|---|---|---|---|"
    for c in $CLIENTS; do
      echo "| $c | ${CR[local:$c]} | ${CX[local:$c]:--} | ${CR[replicated:$c]:--} | ${CX[replicated:$c]:--} | ${CR[sqlite:$c]} |"
    done
  fi
  echo
  echo "Whole run: $(( $(date +%s) - T0 ))s."
} >"$TABLE"
cat "$TABLE"
