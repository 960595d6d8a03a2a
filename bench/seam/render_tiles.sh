#!/usr/bin/env bash
# bench/seam/render_tiles.sh: tile rendering without HTTP, two builds side by
# side (issue 12). Runs each build's api_bench (bench/queries/api_bench.c: the
# API handler in a loop on one thread, no tile cache) pinned to core 0 over
# the tile lists speed_tiles.sh writes, A and B taking turns (A B, then B A),
# ROUNDS rounds of SECS seconds per list. api_bench stops at an answer other
# than 200, so the lists are first cut to their 200 tiles (empty tiles are
# 204) by asking a server (MAPD). Prints the median requests/s and p50 of
# each list with B/A, and writes $OUT/render.md.
#
# Usage: bench/seam/render_tiles.sh API_BENCH_A API_BENCH_B
#   (api_bench is build/release/bench/api_bench of each tree)
#   env: DB=... (default: compare_tiles.sh's sample) SECS=3 ROUNDS=5
#        ZOOMS="12 14 16" LAYERS="reports facilities districts grids"
#        MAPD=... (default: A's build/release/mapd/mapd)
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 API_BENCH_A API_BENCH_B" >&2
  exit 2
fi
declare -A BIN=([A]=$(realpath "$1") [B]=$(realpath "$2"))
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/bench/out/seam}
DB=${DB:-$OUT/sample.sqlite}
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-5}
ZOOMS=${ZOOMS:-"12 14 16"}
LAYERS=${LAYERS:-"reports facilities districts grids"}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

for layer in $LAYERS; do
  for z in $ZOOMS; do
    if [ ! -s "$OUT/speed-$layer-z$z.txt" ]; then
      echo "$0: no $OUT/speed-$layer-z$z.txt: run speed_tiles.sh first (it writes the lists)" >&2
      exit 2
    fi
  done
done

MAPD=${MAPD:-$(dirname "${BIN[A]}")/../mapd/mapd}
fifo=$(mktemp -u)
mkfifo "$fifo"
"$MAPD" serve --db "$DB" --port 0 --quiet >"$fifo" 2>>"$OUT/serve.log" &
PID=$!
trap 'kill -TERM "$PID" 2>/dev/null || true' EXIT
read -r line <"$fifo"
rm -f "$fifo"
URL=$(printf '%s' "$line" | grep -o 'http://[^/]*')
for layer in $LAYERS; do
  for z in $ZOOMS; do
    while read -r p; do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL$p")" = 200 ] && echo "$p"
    done <"$OUT/speed-$layer-z$z.txt" >"$OUT/render-$layer-z$z.txt"
  done
done
kill -TERM "$PID"
wait "$PID" 2>/dev/null || true
trap - EXIT

declare -A RPS P50
for round in $(seq 1 "$ROUNDS"); do
  order="A B"
  [ $((round % 2)) = 0 ] && order="B A"
  for layer in $LAYERS; do
    for z in $ZOOMS; do
      for side in $order; do
        line=$(taskset -c 0 "${BIN[$side]}" "$DB" "$OUT/render-$layer-z$z.txt" "$SECS" 0)
        rps=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) req\/s.*/\1/p')
        p50=$(printf '%s' "$line" | sed -n 's/.*p50 \([0-9]*\) us.*/\1/p')
        RPS[$side,$layer,$z]="${RPS[$side,$layer,$z]:-} $rps"
        P50[$side,$layer,$z]="${P50[$side,$layer,$z]:-} $p50"
        log "round $round $side $layer z$z: $line"
      done
    done
  done
done

median() { tr ' ' '\n' | awk NF | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
{
  echo "Tiles rendered per second without HTTP (api_bench, one thread on core 0, no caches),"
  echo "median of $ROUNDS rounds of ${SECS}s, A and B taking turns, $(date +%F)."
  echo "A = ${BIN[A]}, B = ${BIN[B]}."
  echo
  echo "| layer | zoom | tiles | A tiles/s | B tiles/s | B / A | A p50 µs | B p50 µs |"
  echo "|---|---|---|---|---|---|---|---|"
  for layer in $LAYERS; do
    for z in $ZOOMS; do
      a=$(echo "${RPS[A,$layer,$z]}" | median)
      b=$(echo "${RPS[B,$layer,$z]}" | median)
      pa=$(echo "${P50[A,$layer,$z]}" | median)
      pb=$(echo "${P50[B,$layer,$z]}" | median)
      nt=$(wc -l <"$OUT/render-$layer-z$z.txt")
      awk -v l="$layer" -v z="$z" -v nt="$nt" -v a="$a" -v b="$b" -v pa="$pa" -v pb="$pb" 'BEGIN {
          printf "| %s | %d | %d | %.0f | %.0f | %.3f | %d | %d |\n", l, z, nt, a, b,
            (a > 0 ? b / a : 0), pa, pb }'
    done
  done
} | tee "$OUT/render.md"
