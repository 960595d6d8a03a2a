#!/usr/bin/env bash
# bench/seam/speed_tiles.sh: uncached tiles/s of two mapd binaries, side by
# side in one run (issue 12: the storage seam must not slow tiles down).
#
# Same database, same seeded tile lists (tiles under every 997th report, per
# layer and zoom, as bench/tiles does), the tile cache off. The server runs
# on core 0 with one worker (taskset), wrk on core 1; both servers stay up
# and take turns per cell (A B, then B A the next round), ROUNDS rounds, each
# cell SECS seconds after one warm-up pass over its list. Prints the median
# tiles/s and server CPU time per tile of each cell with B/A, and writes
# $OUT/speed.md.
#
# Usage: bench/seam/speed_tiles.sh BIN_A BIN_B
#   env: DB=... (default: compare_tiles.sh's sample) SECS=5 ROUNDS=3 CONNS=4
#        ZOOMS="12 14 16" LAYERS="reports facilities districts grids"
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BIN_A BIN_B" >&2
  exit 2
fi
BIN_A=$(realpath "$1")
BIN_B=$(realpath "$2")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/bench/out/seam}
mkdir -p "$OUT"
DB=${DB:-$OUT/sample.sqlite}
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-4}
ZOOMS=${ZOOMS:-"12 14 16"}
LAYERS=${LAYERS:-"reports facilities districts grids"}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ ! -f "$DB" ]; then
  log "making sample $DB"
  "$BIN_A" sample --db "$DB" --quiet
fi

declare -A PID URL
stop() {
  local side
  for side in "${!PID[@]}"; do
    kill -TERM "${PID[$side]}" 2>/dev/null || true
    wait "${PID[$side]}" 2>/dev/null || true
    unset "PID[$side]"
  done
}
trap stop EXIT

# start SIDE BIN: serve DB on a free port on core 0, one worker, no tile cache.
start() {
  local fifo line
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  taskset -c 0 "$2" serve --db "$DB" --port 0 --quiet --threads 1 --tile-cache-mb 0 \
    >"$fifo" 2>>"$OUT/serve.log" &
  PID[$1]=$!
  read -r line <"$fifo"
  rm -f "$fifo"
  URL[$1]=$(printf '%s' "$line" | grep -o 'http://[^/]*')
}

# Server CPU time (user + system, clock ticks) of SIDE.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/${PID[$1]}/stat"; }

for z in $ZOOMS; do
  sqlite3 -separator ' ' "$DB" "SELECT lon, lat FROM reports WHERE id % 997 = 17 ORDER BY id" |
    awk -v z="$z" 'BEGIN { pi = atan2(0, -1); n = 2 ^ z }
      { r = $2 * pi / 180; x = int(($1 + 180) / 360 * n);
        y = int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n); print z "/" x "/" y }' |
    awk '!seen[$0]++' | head -n 100 >"$OUT/speed-tiles-z$z.txt"
  for layer in $LAYERS; do
    sed "s|^|/tiles/$layer/|; s|$|.mvt|" "$OUT/speed-tiles-z$z.txt" >"$OUT/speed-$layer-z$z.txt"
  done
done

declare -A RPS CPU
start A "$BIN_A"
start B "$BIN_B"
HZ=$(getconf CLK_TCK)
for round in $(seq 1 "$ROUNDS"); do
  order="A B"
  [ $((round % 2)) = 0 ] && order="B A"
  for layer in $LAYERS; do
    for z in $ZOOMS; do
      paths=$OUT/speed-$layer-z$z.txt
      for side in $order; do
        while read -r p; do curl -s -o /dev/null "${URL[$side]}$p"; done <"$paths"
        t0=$(cpu_ticks "$side")
        PATHS_FILE=$paths taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" \
          -s "$ROOT/bench/lib/paths.lua" "${URL[$side]}" >"$OUT/wrk.last" 2>&1
        t1=$(cpu_ticks "$side")
        rps=$(awk '/Requests\/sec/ { print $2 }' "$OUT/wrk.last")
        n=$(awk '/requests in/ { print $1 }' "$OUT/wrk.last")
        if grep -q 'Non-2xx' "$OUT/wrk.last"; then
          log "warning: non-2xx answers ($side $layer z$z)"
        fi
        us=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="${n:-0}" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
        RPS[$side,$layer,$z]="${RPS[$side,$layer,$z]:-} ${rps:-0}"
        CPU[$side,$layer,$z]="${CPU[$side,$layer,$z]:-} $us"
        log "round $round $side $layer z$z: $rps tiles/s, $us us server CPU per tile"
      done
    done
  done
done
stop

median() { tr ' ' '\n' | awk NF | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
{
  echo "Uncached tiles: median of $ROUNDS rounds of ${SECS}s (A and B alternating per cell), both servers"
  echo "1 worker on core 0, wrk -c$CONNS on core 1, $(nproc) cores, $(date +%F). Server CPU per tile"
  echo "(user + system from /proc over the wrk run) is the figure least moved by other load."
  echo "A = $BIN_A, B = $BIN_B."
  echo
  echo "| layer | zoom | A tiles/s | B tiles/s | B / A | A CPU µs/tile | B CPU µs/tile | B / A |"
  echo "|---|---|---|---|---|---|---|---|"
  for layer in $LAYERS; do
    for z in $ZOOMS; do
      a=$(echo "${RPS[A,$layer,$z]}" | median)
      b=$(echo "${RPS[B,$layer,$z]}" | median)
      ca=$(echo "${CPU[A,$layer,$z]}" | median)
      cb=$(echo "${CPU[B,$layer,$z]}" | median)
      awk -v l="$layer" -v z="$z" -v a="$a" -v b="$b" -v ca="$ca" -v cb="$cb" 'BEGIN {
          printf "| %s | %d | %.0f | %.0f | %.3f | %.1f | %.1f | %.3f |\n", l, z, a, b,
            (a > 0 ? b / a : 0), ca, cb, (ca > 0 ? cb / ca : 0) }'
    done
  done
} | tee "$OUT/speed.md"
