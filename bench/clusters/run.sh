#!/usr/bin/env bash
# bench/clusters: clustered point tiles, mapd against supercluster, side by
# side in one interleaved run.
#   supercluster 9.1.0 (npm, pinned in package.json) + vt-pbf, in memory,
#     served by a tiny Node http server (server.mjs) - the peer;
#   mapd serve --tile-cache-mb 0 --threads 1 - every tile rendered afresh
#     (its cluster index is warm, as supercluster's is after load()).
# Same data (the sample city, FAC facilities and REP reports), same seeded
# tile lists (tiles under every 997th report, per zoom), same cluster zooms
# (from mapd's layers table; supercluster radius 40 px of 512 = mapd's).
# Servers pinned to SERVER_CPU, wrk (1 thread, 1 connection) to CLIENT_CPU.
# Each cell runs ROUNDS times, alternating which system goes first; the
# table gives the median tiles/s. Needs a quiet machine for real figures.
#
# Usage: bench/clusters/run.sh
#   env: SECS=10 ROUNDS=3 ZOOMS="8 9 10 11 12 13 14 15 16" NTILES=100
#        LAYERS="reports facilities" FAC=100000 REP=200000 DB=...
#        SERVER_CPU=0 CLIENT_CPU=1
source "$(dirname "$0")/../lib/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
FAC=${FAC:-100000}
REP=${REP:-200000}
DB=${DB:-$OUT/sample-$FAC-$REP.sqlite}
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-3}
ZOOMS=${ZOOMS:-"8 9 10 11 12 13 14 15 16"}
NTILES=${NTILES:-100}
LAYERS=${LAYERS:-"reports facilities"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SC_PORT=${SC_PORT:-58090}
W=$OUT/clusters
mkdir -p "$W"

bench_build
bench_sample "$DB" "$FAC" "$REP"
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)

sqlite3 -csv "$DB" "SELECT lon, lat, service_code FROM reports" >"$W/reports.csv"
sqlite3 -csv "$DB" "SELECT lon, lat, category FROM facilities" >"$W/facilities.csv"
zc() { sqlite3 "$DB" "SELECT cluster_below_zoom FROM layers WHERE name = '$1'"; }

# The seeded tile lists: tiles under every 997th report, unique, per zoom.
for z in $ZOOMS; do
  sqlite3 -separator ' ' "$DB" "SELECT lon, lat FROM reports WHERE id % 997 = 17 ORDER BY id" |
    awk -v z="$z" 'BEGIN { pi = atan2(0, -1); n = 2 ^ z }
      { r = $2 * pi / 180; x = int(($1 + 180) / 360 * n);
        y = int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n); print z "/" x "/" y }' |
    awk '!seen[$0]++' | head -n "$NTILES" >"$W/tiles-z$z.txt"
  for l in $LAYERS; do
    sed "s|^|/tiles/$l/|; s|$|.mvt|" "$W/tiles-z$z.txt" >"$W/paths-$l-z$z.txt"
  done
done

log "starting supercluster (cpu $SERVER_CPU)"
taskset -c "$SERVER_CPU" node "$HERE/server.mjs" "$SC_PORT" \
  "reports=$W/reports.csv:$(zc reports)" "facilities=$W/facilities.csv:$(zc facilities)" \
  >"$W/supercluster.out" 2>"$W/supercluster.log" &
SC_PID=$!
log "starting mapd (cpu $SERVER_CPU)"
fifo=$(mktemp -u); mkfifo "$fifo"
taskset -c "$SERVER_CPU" "$MAPD" serve --db "$DB" --port 0 --quiet --tile-cache-mb 0 --threads 1 \
  >"$fifo" 2>"$W/mapd.log" &
MAPD_PID=$!
read -r line <"$fifo"; rm -f "$fifo"
MAPD_URL=$(printf '%s' "$line" | grep -o 'http://[^/]*')
trap 'kill "$SC_PID" 2>/dev/null; mapd_stop; true' EXIT
for _ in $(seq 1 600); do grep -q listening "$W/supercluster.out" 2>/dev/null && break; sleep 0.1; done
SC_URL=http://127.0.0.1:$SC_PORT
cat "$W/supercluster.log" >&2

# Warm both (mapd builds its cluster index on the first clustered tile) and
# note the bytes each sends.
declare -A BYTES RPS
for l in $LAYERS; do
  for z in $ZOOMS; do
    for sys in sc mapd; do
      base=$SC_URL; [ $sys = mapd ] && base=$MAPD_URL
      sum=0; n=0
      while read -r p; do
        b=$(curl -s -o /dev/null -w '%{size_download}' "$base$p"); sum=$((sum + b)); n=$((n + 1))
      done <"$W/paths-$l-z$z.txt"
      BYTES[$sys,$l,$z]=$((n ? sum / n : 0))
    done
  done
done

rps() { # rps BASE PATHS
  PATHS_FILE=$2 taskset -c "$CLIENT_CPU" wrk -t1 -c1 -d"${SECS}s" -s "$BENCH_ROOT/lib/paths.lua" "$1" \
    >"$W/wrk.last" 2>&1
  awk '/Requests\/sec/ {print $2}' "$W/wrk.last"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for r in $(seq 1 "$ROUNDS"); do
  for l in $LAYERS; do
    for z in $ZOOMS; do
      order="sc mapd"; [ $((r % 2)) = 0 ] && order="mapd sc"
      for sys in $order; do
        base=$SC_URL; [ $sys = mapd ] && base=$MAPD_URL
        v=$(rps "$base" "$W/paths-$l-z$z.txt")
        RPS[$sys,$l,$z]="${RPS[$sys,$l,$z]:-} $v"
        log "round $r $l z$z $sys: $v tiles/s"
      done
    done
  done
done

{
  echo "Clustered tiles/s, one connection, server on cpu $SERVER_CPU, client on cpu $CLIENT_CPU," \
    "${SECS}s per cell, median of $ROUNDS interleaved rounds, $FAC facilities / $REP reports," \
    "$(date -u +%F)."
  echo
  echo "| layer / zoom | supercluster 9.1 (Node) | mapd uncached, 1 thread | mapd / supercluster | avg bytes supercluster / mapd |"
  echo "|---|---:|---:|---:|---:|"
  for l in $LAYERS; do
    for z in $ZOOMS; do
      s=$(echo "${RPS[sc,$l,$z]}" | median); m=$(echo "${RPS[mapd,$l,$z]}" | median)
      awk -v l="$l" -v z="$z" -v s="$s" -v m="$m" -v bs="${BYTES[sc,$l,$z]}" -v bm="${BYTES[mapd,$l,$z]}" \
        'BEGIN { printf "| %s z%d | %.0f | %.0f | %.2f× | %d / %d |\n", l, z, s, m, (s > 0 ? m / s : 0), bs, bm }'
    done
  done
} | tee "$OUT/clusters.md"
