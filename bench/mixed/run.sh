#!/usr/bin/env bash
# bench/mixed: fresh under writes (issue 14). Tile requests from a
# viewport-driven list (a seeded random walk of pans and zooms over the dense
# core, z11-z16, 4x3 tiles per view, the composite tileset the web map asks
# for) by CONNS clients while reports are created at a fixed rate (0, 10,
# 100, 500 per second) by writer.py, which after each 201 fetches the z16
# report tile of the new point once and checks the report is in it.
# Prints tiles/s, tile cache hit ratio, p50/p99 (wrk --latency), creates/s
# achieved, and how many reports were in the first fetch after their 201.
# Server on core 0 (default tile cache), wrk and the writer on core 1.
# Beside it, the peer's freshness cost: supercluster's load() of 200k and
# 1M points (supercluster_load.mjs), the price of showing one new point.
# Usage: bench/mixed/run.sh [MAPD]  (env: SECS=10 CONNS=4 RATES="0 10 100 500" DB=... GZIP=1 PERF=1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
MAPD=${1:-$root/build/release/mapd/mapd}
SECS=${SECS:-10}; CONNS=${CONNS:-4}; RATES=${RATES:-"0 10 100 500"}
out=$root/bench/out; mkdir -p "$out"
DB=${DB:-$out/seam-city.sqlite}
[ -f "$DB" ] || "$MAPD" sample --db "$DB" >/dev/null
work=$(mktemp -d /tmp/mapd-mixed.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# The viewport walk (seeded): pan one or two tiles, sometimes zoom in or out.
awk -v seed=42 'BEGIN {
  srand(seed); z = 13; lon = 116.397; lat = 39.908; pi = 3.14159265358979
  for (v = 0; v < 400; v++) {
    n = 2 ^ z; r = lat * pi / 180
    cx = int((lon + 180) / 360 * n); cy = int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n)
    for (dx = -2; dx <= 1; dx++) for (dy = -1; dy <= 1; dy++)
      printf "/tiles/basemap,districts,grids,facilities,reports/%d/%d/%d.mvt\n", z, cx + dx, cy + dy
    u = rand()
    if (u < 0.15 && z < 16) z++; else if (u < 0.3 && z > 11) z--
    step = 360 / n * (1 + int(rand() * 2))
    lon += (rand() < 0.5 ? -step : step) * (rand() < 0.5 ? 1 : 0)
    lat += (rand() < 0.5 ? -step : step) * 0.75 * (rand() < 0.5 ? 1 : 0)
    if (lon < 116.25 || lon > 116.55) lon = 116.397
    if (lat < 39.80 || lat > 40.02) lat = 39.908
  }}' >"$work/tiles.txt"
sqlite3 -csv "$DB" "SELECT printf('%.6f', lon), printf('%.6f', lat) FROM facilities
  WHERE lon BETWEEN 116.30 AND 116.50 AND lat BETWEEN 39.85 AND 39.98 ORDER BY id LIMIT 5000" >"$work/points.txt"

metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}' | head -1; }
declare -A RPS P50 P99 HIT WR
for rate in $RATES; do
  cp "$DB" "$work/db.sqlite"; rm -f "$work/db.sqlite-wal" "$work/db.sqlite-shm"
  fifo=$(mktemp -u); mkfifo "$fifo"
  taskset -c 0 "$MAPD" serve --db "$work/db.sqlite" --port 0 --quiet --rate-limit 0 \
    --max-per-client 0 >"$fifo" 2>"$work/serve.log" &
  PID=$!
  read -r line <"$fifo"; rm -f "$fifo"
  if [ -n "${PERF:-}" ]; then # PERF=1: a profile of the server per rate (bench/out/mixed-RATE.perf)
    perf record -F 499 -g -p "$PID" -o "$out/mixed-$rate.perf" -- sleep $((SECS + 3)) >/dev/null 2>&1 &
  fi
  URL=$(printf '%s' "$line" | grep -o 'http://[^/]*'); port=${URL##*:}
  # Warm: one pass of the walk.
  gzw=(); [ -n "${GZIP:-}" ] && gzw=(-H "Accept-Encoding: gzip")
  PATHS_FILE=$work/tiles.txt taskset -c 1 wrk -t1 -c"$CONNS" -d2s "${gzw[@]}" -s "$root/bench/lib/paths.lua" "$URL" >/dev/null 2>&1
  h0=$(metric mapd_tile_cache_hits_total); m0=$(metric mapd_tile_cache_misses_total)
  taskset -c 1 python3 "$here/writer.py" 127.0.0.1 "$port" "$rate" "$SECS" "$work/points.txt" >"$work/writer.json" &
  WPID=$!
  gz=(); [ -n "${GZIP:-}" ] && gz=(-H "Accept-Encoding: gzip") # GZIP=1: clients ask gzip, as browsers do
  PATHS_FILE=$work/tiles.txt taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "${gz[@]}" \
    -s "$root/bench/lib/paths.lua" "$URL" >"$work/wrk.out" 2>&1
  wait "$WPID"
  h1=$(metric mapd_tile_cache_hits_total); m1=$(metric mapd_tile_cache_misses_total)
  kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
  RPS[$rate]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/wrk.out")
  P50[$rate]=$(awk '$1 == "50%" {print $2}' "$work/wrk.out")
  P99[$rate]=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
  HIT[$rate]=$(awk -v a="${h0:-0}" -v b="${h1:-0}" -v c="${m0:-0}" -v d="${m1:-0}" \
    'BEGIN {h = b - a; m = d - c; if (h + m > 0) printf "%.2f", h / (h + m); else print "-"}')
  WR[$rate]=$(cat "$work/writer.json")
  log "rate $rate: ${RPS[$rate]} tiles/s, p50 ${P50[$rate]}, p99 ${P99[$rate]}, hit ${HIT[$rate]}, ${WR[$rate]}"
done
{
  echo "## Tiles under writes ($(date -u +%Y-%m-%d), ${SECS}s per rate, $CONNS tile clients${GZIP:+, asking gzip})"
  echo
  echo "| creates/s asked | tiles/s | vs no writes | cache hit ratio | p50 | p99 | creates done | in the first fetch after the 201 | 201 → visible p50 / p99 |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  base=${RPS[$(echo $RATES | awk '{print $1}')]}
  for rate in $RATES; do
    w=${WR[$rate]}
    created=$(echo "$w" | python3 -c 'import json,sys; print(json.load(sys.stdin)["created"])')
    vis=$(echo "$w" | python3 -c 'import json,sys; print(json.load(sys.stdin)["visible_first"])')
    fr=$(echo "$w" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["fresh_ms_p50"], "/", j["fresh_ms_p99"], "ms")')
    ratio=$(awk -v a="${RPS[$rate]}" -v b="$base" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
    echo "| $rate | ${RPS[$rate]} | $ratio | ${HIT[$rate]} | ${P50[$rate]} | ${P99[$rate]} | $created | $vis | $fr |"
  done
  echo
  if [ -d "$root/bench/clusters/node_modules/supercluster" ] || (cd "$root/bench/clusters" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
    sqlite3 -csv "$DB" "SELECT printf('%.6f', lon), printf('%.6f', lat) FROM reports" >"$work/reports.csv"
    echo "The peer's freshness cost: supercluster 9.1.0 rebuilds its index to show a new point;"
    echo "load() on core 0, median of 3:"
    taskset -c 0 node "$here/supercluster_load.mjs" "$work/reports.csv" 200000 1000000 | sed 's/^/    /'
    echo
  fi
  echo "Server: \`mapd serve\` on core 0 (default threads and tile cache); wrk and the writer on core 1. mapd: $MAPD"
} | tee "$out/mixed.md"
