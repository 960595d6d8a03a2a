#!/usr/bin/env bash
# bench/queries: location queries side by side in one run, and import time.
#   mapd over HTTP (wrk): /api/v1/nearest?k=10 and /api/v1/within?radius=500
#     (geodesic metres, sorted, first 100 with the total count);
#   PostGIS 3 / PostgreSQL 15 through pgbench (-M prepared) on the same rows:
#     nearest-10 = ORDER BY geom <-> p LIMIT 10 (plus geodesic distances),
#     radius-500 = ST_DWithin on geography with a geography GiST index
#     (sorted by distance, first 100, count(*) OVER ()).
# Same 1000 query points on both sides (a fixed formula over Beijing's core),
# same concurrency. mapd runs twice: as served (feature cache warm: the 1000
# points' answers are all cached) and with --feature-cache-mb 0 (every
# answer's rows read from SQLite). Beside them, the ceiling of HTTP on this
# machine: nginx serving one answer of each query as a static file through
# the same wrk. Then `mapd import` of 1M report points from CSV.
# Prints a Markdown table and writes it to bench/out/queries.md.
#
# Usage: bench/queries/run.sh   (env: SECS=10 CONNS="1 16" FAC=100000 REP=1000000 DB=...)
source "$(dirname "$0")/../lib/common.sh"
DB=${DB:-$OUT/sample-100k-1m.sqlite}
SECS=${SECS:-10}
CONNS=${CONNS:-"1 16"}
NPOINTS=1000

bench_build
bench_sample "$DB" "${FAC:-100000}" "${REP:-1000000}"
log "loading PostGIS"
pg_start
trap 'pg_stop; mapd_stop 2>/dev/null; true' EXIT
pg_load_sample "$DB"
log "PostGIS geography indexes"
psql_q <<'SQL'
CREATE INDEX facilities_geog ON facilities USING gist ((geom::geography));
CREATE INDEX reports_geog ON reports USING gist ((geom::geography));
ANALYZE facilities;
ANALYZE reports;
SQL

# Query point i (0..999): the same formula in awk (mapd paths) and pgbench.
#   lon = 116.25 + ((i * 7919) % 1000) * 0.0003, lat = 39.80 + ((i * 104729) % 1000) * 0.00025
points() {
  awk -v n="$NPOINTS" 'BEGIN { for (i = 0; i < n; i++)
    printf "%.6f %.6f\n", 116.25 + ((i * 7919) % 1000) * 0.0003, 39.80 + ((i * 104729) % 1000) * 0.00025 }'
}
points | awk '{ printf "/api/v1/nearest?layer=facilities&k=10&lon=%s&lat=%s\n", $1, $2 }' >"$OUT/q-nearest-fac.txt"
points | awk '{ printf "/api/v1/nearest?layer=reports&k=10&lon=%s&lat=%s\n", $1, $2 }' >"$OUT/q-nearest-rep.txt"
points | awk '{ printf "/api/v1/within?layer=facilities&radius=500&limit=100&offset=0&lon=%s&lat=%s\n", $1, $2 }' >"$OUT/q-radius-fac.txt"
points | awk '{ printf "/api/v1/within?layer=reports&radius=500&limit=100&offset=0&lon=%s&lat=%s\n", $1, $2 }' >"$OUT/q-radius-rep.txt"

pg_script() { # NAME SQL: a pgbench script over the same points
  cat >"$OUT/q-$1.sql" <<EOF
\set i random(0, $((NPOINTS - 1)))
\set lon 116.25 + ((:i * 7919) % 1000) * 0.0003
\set lat 39.80 + ((:i * 104729) % 1000) * 0.00025
$2
EOF
}
for t in facilities reports; do
  pg_script "nearest-$t" "SELECT id, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) FROM $t ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT 10;"
  pg_script "radius-$t" "SELECT id, d, count(*) OVER () FROM (SELECT id, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d FROM $t WHERE ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, 500)) s ORDER BY d, id LIMIT 100;"
done

# pgbench with a per-transaction log: tps, p50 and p99 in ms.
pg_run() { # SCRIPT CLIENTS
  rm -f "$OUT"/pgbench_log.*
  (cd "$OUT" && "$PGBIN/pgbench" -n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -f "$1" -T "$SECS" \
    -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -l --log-prefix=pgbench_log postgres >"$OUT/pgbench.last" 2>&1) ||
    { cat "$OUT/pgbench.last" >&2; return 1; }
  local tps; tps=$(awk '/^tps = / {printf "%.0f", $3}' "$OUT/pgbench.last")
  cat "$OUT"/pgbench_log.* | awk '{ print $3 }' | sort -n >"$OUT/pg.lat"
  local n; n=$(wc -l <"$OUT/pg.lat")
  local p50 p99
  p50=$(awk -v k=$(( (n * 50 + 99) / 100 )) 'NR == k { printf "%.2f", $1 / 1000 }' "$OUT/pg.lat")
  p99=$(awk -v k=$(( (n * 99 + 99) / 100 )) 'NR == k { printf "%.2f", $1 / 1000 }' "$OUT/pg.lat")
  printf '%s %s %s' "$tps" "$p50" "$p99"
}

# wrk: requests/s, p50 and p99 in ms.
mapd_run() { # PATHS CONNS
  PATHS_FILE=$1 wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"${SECS}s" -s "$BENCH_ROOT/lib/paths.lua" --latency \
    "$MAPD_URL" >"$OUT/wrk.last" 2>&1
  local non2xx; non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/wrk.last")
  [ -z "$non2xx" ] || log "warning: $non2xx non-2xx responses"
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
       /Requests\/sec/ { rps = $2 } / 50%/ { p50 = ms($2) } / 99%/ { p99 = ms($2) }
       END { printf "%.0f %.2f %.2f", rps, p50, p99 }' "$OUT/wrk.last"
}

QUERIES="nearest-fac:nearest-facilities radius-fac:radius-facilities nearest-rep:nearest-reports radius-rep:radius-reports"
declare -A MR M50 M99 NR PR P50 P99 XR

# mapd_cells ARRAY_PREFIX: every query x concurrency against the running mapd.
mapd_cells() {
  for q in $QUERIES; do
    m=${q%%:*}
    for c in $CONNS; do
      log "mapd${1:+ ($1)}: $m, $c connection(s)"
      read -r r p50 p99 <<<"$(mapd_run "$OUT/q-$m.txt" "$c")"
      if [ -n "$1" ]; then NR[$m:$c]=$r; else MR[$m:$c]=$r M50[$m:$c]=$p50 M99[$m:$c]=$p99; fi
    done
  done
}

log "starting mapd"
mapd_start "$DB" --threads "$(nproc)"
# Warm both sides' caches once.
for f in "$OUT"/q-*.txt; do head -200 "$f" | while read -r p; do curl -s -o /dev/null "$MAPD_URL$p"; done; done
mapd_cells ""
# The ceiling of any HTTP server here: nginx sending one answer of each
# query as a static file (no query at all), same wrk, same concurrency.
rm -rf "$OUT/www-q" && mkdir -p "$OUT/www-q"
for q in $QUERIES; do
  m=${q%%:*}
  curl -s -o "$OUT/www-q/$m.json" "$MAPD_URL$(head -1 "$OUT/q-$m.txt")"
  echo "/$m.json" >"$OUT/q-static-$m.txt"
done
mapd_stop

log "starting mapd without the feature cache"
mapd_start "$DB" --threads "$(nproc)" --feature-cache-mb 0
for f in "$OUT"/q-*.txt; do head -200 "$f" | while read -r p; do curl -s -o /dev/null "$MAPD_URL$p"; done; done
mapd_cells "no feature cache"
mapd_stop

log "nginx (static answers)"
cat >"$OUT/nginx-q.conf" <<NGX
worker_processes auto;
pid $OUT/nginx-q.pid;
error_log $OUT/nginx-q-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  types { application/geo+json json; }
  server { listen 127.0.0.1:58081; root $OUT/www-q; }
}
NGX
nginx -c "$OUT/nginx-q.conf" -g 'daemon off;' &
NGINX_PID=$!
sleep 0.5
for q in $QUERIES; do
  m=${q%%:*}
  for c in $CONNS; do
    read -r r _ _ <<<"$(MAPD_URL=http://127.0.0.1:58081 mapd_run "$OUT/q-static-$m.txt" "$c")"
    XR[$m:$c]=$r
  done
done
kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true

for q in $QUERIES; do
  m=${q%%:*} p=${q##*:}
  for c in $CONNS; do
    log "PostGIS: $p, $c connection(s)"
    read -r r p50 p99 <<<"$(pg_run "$OUT/q-$p.sql" "$c")"
    PR[$m:$c]=$r P50[$m:$c]=$p50 P99[$m:$c]=$p99
  done
done

# mapd's own work per request: the API handler in a loop on one thread, no
# HTTP (bench/queries/api_bench.c), feature cache on.
declare -A HR
for q in $QUERIES; do
  m=${q%%:*}
  log "handler only: $m"
  HR[$m]=$("$REPO_ROOT/build/release/bench/api_bench" "$DB" "$OUT/q-$m.txt" "$SECS" |
    awk '{ printf "%s req/s, p50 %s us, p99 %s us", $6, $12, $15 }')
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }
TABLE="$OUT/queries.md"
{
  echo "Queries/s, ${SECS}s per cell, $(nproc) cores, $(date +%F). mapd: \`--threads $(nproc)\`, wrk; PostGIS: pgbench -M prepared."
  echo
  echo "| query | conns | mapd req/s | mapd p50 ms | mapd p99 ms | PostGIS tps | PostGIS p50 ms | PostGIS p99 ms | mapd / PostGIS | mapd, no feature cache | nginx, static answer | nginx / PostGIS |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for q in $QUERIES; do
    m=${q%%:*} p=${q##*:}
    case $p in nearest*) label="k=10" ;; *) label="500 m" ;; esac
    for c in $CONNS; do
      k=$m:$c
      echo "| $p ($label) | $c | ${MR[$k]} | ${M50[$k]} | ${M99[$k]} | ${PR[$k]} | ${P50[$k]} | ${P99[$k]} | $(ratio "${MR[$k]}" "${PR[$k]}") | ${NR[$k]} ($(ratio "${NR[$k]}" "${PR[$k]}")) | ${XR[$k]} | $(ratio "${XR[$k]}" "${PR[$k]}") |"
    done
  done
  echo
  echo "mapd's handler alone (parameters, query, rendering, read transaction; no HTTP), one thread:"
  for q in $QUERIES; do echo "- ${q##*:}: ${HR[${q%%:*}]}"; done
} >"$TABLE"

log "import of 1M report points (CSV)"
IMP=$OUT/import-bench
rm -rf "$IMP" && mkdir -p "$IMP"
"$MAPD" export --db "$DB" --layer districts --out "$IMP/districts.geojson" 2>/dev/null
"$MAPD" export --db "$DB" --layer grids --out "$IMP/grids.geojson" 2>/dev/null
"$MAPD" export --db "$DB" --layer reports --format csv --out "$IMP/reports.csv" 2>/dev/null
"$MAPD" init --db "$IMP/db.sqlite" >/dev/null
"$MAPD" import --db "$IMP/db.sqlite" --layer districts --quiet "$IMP/districts.geojson" 2>/dev/null
"$MAPD" import --db "$IMP/db.sqlite" --layer grids --quiet "$IMP/grids.geojson" 2>/dev/null
t0=$(date +%s.%N)
"$MAPD" import --db "$IMP/db.sqlite" --layer reports --quiet "$IMP/reports.csv" 2>"$IMP/import.log"
t1=$(date +%s.%N)
rows=$(sqlite3 "$IMP/db.sqlite" "SELECT count(*) FROM reports")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
{
  echo
  echo "Import: $rows report points from CSV ($(du -h "$IMP/reports.csv" | cut -f1)) in $secs s"
  echo "($(tail -1 "$IMP/import.log"))"
} >>"$TABLE"
rm -rf "$IMP"
cat "$TABLE"
