#!/usr/bin/env bash
# bench/seam: the storage seam costs nothing (issue 12). Two mapd binaries
# (before and after) side by side in one run, interleaved round by round, on
# the same sample database and the same request lists:
#   tiles   - uncached (--tile-cache-mb 0) facilities and reports tiles at
#             z10, z12, z14, z16 under report positions (bench/tiles' cells);
#   queries - nearest (k=20), within a 1 km circle, a small box, an OGC page
#             and one OGC item, at facility positions;
#   ingest  - durable POST /api/v1/reports (group commit, synchronous=FULL).
# The server is pinned to core 0 and wrk to core 1 (taskset), 1 connection
# for reads (4 for ingest), SECS seconds per cell, median of ROUNDS.
# Usage: bench/seam/run.sh OLD_MAPD NEW_MAPD   (env: SECS=5 ROUNDS=3 DB=... CELLS="ingest ...")
set -euo pipefail
old=${1:?old mapd}; new=${2:?new mapd}
SECS=${SECS:-5}; ROUNDS=${ROUNDS:-3}
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
out=$root/bench/out; mkdir -p "$out"
DB=${DB:-$out/seam-city.sqlite}
[ -f "$DB" ] || "$new" sample --db "$DB" >/dev/null
work=$(mktemp -d /tmp/mapd-seam-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Request lists from the data: tiles under every 997th report, queries at
# every 499th facility.
sqlite3 -csv "$DB" "SELECT lon, lat FROM reports WHERE id % 997 = 0 LIMIT 200" >"$work/rpts.csv"
sqlite3 -csv "$DB" "SELECT id, lon, lat FROM facilities WHERE id % 499 = 0 LIMIT 200" >"$work/fpts.csv"
for z in 10 12 14 16; do
  for layer in facilities reports; do
    awk -F, -v z="$z" -v l="$layer" 'function tx(lon){return int((lon+180)/360*2^z)}
      function ty(lat,  r){r=lat*3.14159265358979/180; return int((1-log(sin(r)/cos(r)+1/cos(r))/3.14159265358979)/2*2^z)}
      {print "/tiles/" l "/" z "/" tx($1) "/" ty($2) ".mvt"}' "$work/rpts.csv" | sort -u >"$work/tiles-$layer-$z.txt"
  done
done
awk -F, '{printf "/api/v1/nearest?lon=%s&lat=%s&k=20\n", $2, $3}' "$work/fpts.csv" >"$work/q-nearest.txt"
awk -F, '{printf "/api/v1/within?lon=%s&lat=%s&radius=1000&limit=100\n", $2, $3}' "$work/fpts.csv" >"$work/q-within.txt"
awk -F, '{printf "/api/v1/within?bbox=%.5f,%.5f,%.5f,%.5f&limit=100\n", $2-0.005, $3-0.005, $2+0.005, $3+0.005}' "$work/fpts.csv" >"$work/q-box.txt"
awk -F, '{printf "/ogc/collections/facilities/items?bbox=%.5f,%.5f,%.5f,%.5f&limit=50\n", $2-0.01, $3-0.01, $2+0.01, $3+0.01}' "$work/fpts.csv" >"$work/q-ogc-page.txt"
awk -F, '{printf "/ogc/collections/facilities/items/%s\n", $1}' "$work/fpts.csv" >"$work/q-ogc-item.txt"
awk -F, '{printf "%s,%s\n", $2, $3}' "$work/fpts.csv" >"$work/ingest-points.txt"

cells=()
for z in 10 12 14 16; do for layer in facilities reports; do cells+=("tiles-$layer-$z"); done; done
cells+=(q-nearest q-within q-box q-ogc-page q-ogc-item ingest)
[ -n "${CELLS:-}" ] && read -r -a cells <<<"$CELLS" # e.g. CELLS="ingest q-nearest"

serve() { # binary db extra-args... -> sets PID URL
  local bin=$1 db=$2; shift 2
  local fifo; fifo=$(mktemp -u); mkfifo "$fifo"
  taskset -c 0 "$bin" serve --db "$db" --port 0 --quiet --threads 1 --rate-limit 0 \
    --max-per-client 0 "$@" >"$fifo" 2>"$work/serve.log" &
  PID=$!
  local line; read -r line <"$fifo"; rm -f "$fifo"
  URL=$(printf '%s' "$line" | grep -o 'http://[^/]*')
}
stop() { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }

run_cell() { # binary cell -> prints requests/s
  local bin=$1 cell=$2 rps
  if [ "$cell" = ingest ]; then
    cp "$DB" "$work/ingest.sqlite"; rm -f "$work/ingest.sqlite-wal" "$work/ingest.sqlite-shm"
    serve "$bin" "$work/ingest.sqlite"
    POINTS_FILE=$work/ingest-points.txt taskset -c 1 wrk -t1 -c4 -d"${SECS}s" \
      -s "$root/bench/ingest/post.lua" "$URL" >"$work/wrk.out" 2>&1
    stop
    local n; n=$(sqlite3 "$work/ingest.sqlite" "SELECT count(*) FROM reports WHERE description LIKE 'bench report %'")
    rps=$(awk -v n="$n" -v s="$SECS" 'BEGIN {printf "%.0f", n / s}')
  else
    serve "$bin" "$DB" --tile-cache-mb 0
    # Warm the process (cluster index, page cache) before measuring.
    PATHS_FILE=$work/$cell.txt taskset -c 1 wrk -t1 -c1 -d1s -s "$root/bench/lib/paths.lua" "$URL" >/dev/null 2>&1
    PATHS_FILE=$work/$cell.txt taskset -c 1 wrk -t1 -c1 -d"${SECS}s" -s "$root/bench/lib/paths.lua" "$URL" >"$work/wrk.out" 2>&1
    stop
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/wrk.out")
    if grep -q 'Non-2xx' "$work/wrk.out"; then log "warning: non-2xx answers in $cell"; fi
  fi
  printf '%s' "${rps:-0}"
}

declare -A R
for round in $(seq "$ROUNDS"); do
  for cell in "${cells[@]}"; do
    for side in old new; do
      bin=$old; [ $side = new ] && bin=$new
      R[$side,$cell,$round]=$(run_cell "$bin" "$cell")
      log "round $round $cell $side: ${R[$side,$cell,$round]}/s"
    done
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
{
  echo "## The storage seam, before and after ($(date -u +%Y-%m-%d), ${SECS}s per cell, median of $ROUNDS interleaved rounds)"
  echo
  echo "Server on core 0 (\`--threads 1\`, tile cache off), wrk on core 1; requests/s."
  echo
  echo "| cell | before | after | after / before |"
  echo "|---|---:|---:|---:|"
  for cell in "${cells[@]}"; do
    a=(); b=()
    for round in $(seq "$ROUNDS"); do a+=("${R[old,$cell,$round]}"); b+=("${R[new,$cell,$round]}"); done
    ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
    echo "| $cell | $ma | $mb | $(awk -v a="$ma" -v b="$mb" 'BEGIN {if (a > 0) printf "%.2f", b / a; else print "-"}') |"
  done
  echo
  echo "before: $old; after: $new"
} | tee "$out/seam.md"
