#!/usr/bin/env bash
# bench/curve: the cost curve - how uncached tiles (reports layer, z10, z14,
# z16) and nearest-10 grow with the number of reports (200k, 1M, 5M; the
# same 100k facilities). One run, every size in turn: mapd with the tile and
# feature caches off, one worker thread, pinned to core 0; wrk with one
# connection pinned to core 1. Tile lists: tiles under every 9973rd report
# of each database (dense where the data is); nearest: 200 points at those
# reports. Prints a Markdown table and writes bench/out/curve.md.
#
# Usage: bench/curve/run.sh   (env: SECS=10 SIZES="200000 1000000 5000000")
source "$(dirname "$0")/../lib/common.sh"
SECS=${SECS:-10}
SIZES=${SIZES:-"200000 1000000 5000000"}
bench_build
trap 'mapd_stop 2>/dev/null; true' EXIT

# rps1 URL PATHS: requests/s of one connection over a list of paths.
rps1() {
  PATHS_FILE=$2 taskset -c 1 wrk -t1 -c1 -d"${SECS}s" -s "$BENCH_ROOT/lib/paths.lua" --latency "$1" \
    >"$OUT/wrk.last" 2>&1
  local non2xx; non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/wrk.last")
  [ -z "$non2xx" ] || [ "$non2xx" = 0 ] || log "warning: $non2xx non-2xx responses"
  awk '/Requests\/sec/ {printf "%d", $2}' "$OUT/wrk.last"
}

{
  echo "| reports | DB size | z10 tiles/s | z14 tiles/s | z16 tiles/s | nearest-10 req/s |"
  echo "|---:|---:|---:|---:|---:|---:|"
} >"$OUT/curve.md"
for n in $SIZES; do
  db=$OUT/sample-100k-$n.sqlite
  bench_sample "$db" 100000 "$n"
  sqlite3 -separator ' ' "$db" "SELECT lon, lat FROM reports WHERE id % 9973 = 17 ORDER BY id LIMIT 400" \
    >"$OUT/curve-points.txt"
  for z in 10 14 16; do
    awk -v z="$z" 'BEGIN { pi = atan2(0, -1); n = 2 ^ z }
      { r = $2 * pi / 180; x = int(($1 + 180) / 360 * n);
        y = int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n);
        printf "/tiles/reports/%d/%d/%d.mvt\n", z, x, y }' "$OUT/curve-points.txt" |
      awk '!seen[$0]++' | head -n 100 >"$OUT/curve-z$z.txt"
  done
  head -n 200 "$OUT/curve-points.txt" |
    awk '{ printf "/api/v1/nearest?layer=reports&lon=%.6f&lat=%.6f&k=10\n", $1 + 0.0007, $2 - 0.0005 }' \
      >"$OUT/curve-nearest.txt"
  mapd_start "$db" --tile-cache-mb 0 --feature-cache-mb 0 --threads 1
  taskset -acp 0 "$MAPD_PID" >/dev/null
  log "$n reports: mapd at $MAPD_URL"
  # One pass over every list first: the R*Tree and the pages in memory, as
  # on a server that has been up for a while.
  for f in "$OUT"/curve-z10.txt "$OUT"/curve-z14.txt "$OUT"/curve-z16.txt "$OUT"/curve-nearest.txt; do
    while read -r p; do curl -s -o /dev/null "$MAPD_URL$p"; done <"$f"
  done
  z10=$(rps1 "$MAPD_URL" "$OUT/curve-z10.txt")
  z14=$(rps1 "$MAPD_URL" "$OUT/curve-z14.txt")
  z16=$(rps1 "$MAPD_URL" "$OUT/curve-z16.txt")
  near=$(rps1 "$MAPD_URL" "$OUT/curve-nearest.txt")
  mapd_stop
  size=$(du -m "$db" | awk '{print $1}')
  echo "| $n | $size MB | $z10 | $z14 | $z16 | $near |" | tee -a "$OUT/curve.md"
done
cat "$OUT/curve.md"
