#!/usr/bin/env bash
# bench/seam/compare_stats.sh: /api/v1/stats and /api/v1/hotspots of two mapd
# binaries, byte for byte, over the same sample city (issue 12: the scan of
# reports moved into store/read/stats_read.c must not change one byte).
#
# Both binaries serve a copy of the same database; every request below goes
# to both; the status, the Content-Type and the body must be identical.
# Stats requests name `at=` so that "overdue" and the "at" field do not
# depend on the second each server answers in. Then each server answers
# the heaviest requests TIMES times and the mean wall time of each is shown
# side by side (a sanity check of "no slower", not a benchmark).
#
# Usage: bench/seam/compare_stats.sh OLD_MAPD NEW_MAPD [DB]
#   DB defaults to a sample city made by OLD_MAPD (mapd sample, default
#   size: 100000 facilities, 200000 reports) under $OUT (bench/out/seam).
#   env: OUT, TIMES (default 5), KEEP=1 (keep the answers)
# Exit 0 when every answer is identical, 1 otherwise (differences listed).
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 OLD_MAPD NEW_MAPD [DB]" >&2; exit 2; }
A_BIN=$(realpath "$1")
B_BIN=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/../out/seam}
TIMES=${TIMES:-5}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
DB=${3:-$OUT/stats-sample.sqlite}
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ ! -f "$DB" ]; then
  log "making the sample city $DB with $A_BIN"
  "$A_BIN" sample --db "$DB" --quiet
fi

declare -A PID URL BIN
RESTARTS=0
LAST_SECONDS=0
cleanup() {
  for side in "${!PID[@]}"; do
    kill -TERM "${PID[$side]}" 2>/dev/null || true
    wait "${PID[$side]}" 2>/dev/null || true
  done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$OUT/stats-a" "$OUT/stats-b"
  rm -f "$OUT"/stats-db-a.sqlite* "$OUT"/stats-db-b.sqlite*
}
trap cleanup EXIT

# serve SIDE: serve a copy of DB with BIN[SIDE] on a free port; sets PID and URL.
serve() {
  local side=$1 log_file=$OUT/stats-$1.log
  rm -f "$OUT/stats-db-$side.sqlite"*
  cp "$DB" "$OUT/stats-db-$side.sqlite"
  "${BIN[$side]}" serve --db "$OUT/stats-db-$side.sqlite" --port 0 --quiet --threads 2 \
    --query-budget-ms 0 >"$log_file" 2>&1 &
  PID[$side]=$!
  local url=""
  for _ in $(seq 1 300); do
    url=$(grep -o 'http://[^/ ]*' "$log_file" | head -1 || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "${BIN[$side]} did not start:" >&2; cat "$log_file" >&2; exit 1; }
  URL[$side]=$url
}

# fetch SIDE PATH FILE_PREFIX: one request; a server that died is restarted
# and the request retried (a known crash of the expensive-request pool: the
# pool thread wakes a connection whose request may already be freed,
# api/expensive.c job_run; it hits old and new binaries alike).
fetch() {
  local side=$1 path=$2 prefix=$3 try
  for try in 1 2 3 4; do
    if curl -s -o "$prefix.body" -w '%{http_code} %{content_type}\n%{time_total}\n' \
        "${URL[$side]}$path" >"$prefix.meta" && kill -0 "${PID[$side]}" 2>/dev/null; then
      head -n 1 "$prefix.meta" >"$prefix.head"
      LAST_SECONDS=$(sed -n 2p "$prefix.meta")
      return 0
    fi
    sleep 0.5 # a crashing server may still be alive for a moment
    if kill -0 "${PID[$side]}" 2>/dev/null; then
      log "$side: $path failed on a live server; retrying"
      continue
    fi
    log "$side died ($(tail -n 1 "$OUT/stats-$side.log")); restarting"
    wait "${PID[$side]}" 2>/dev/null || true
    RESTARTS=$((RESTARTS + 1))
    serve "$side"
  done
  echo "$side: $path failed $try times" >&2
  return 1
}

paths() {
  local at=at=2026-10-20T12:00:00%2B08:00
  for by in category group district status kind channel day week month \
            group,status district,month category,kind,channel status,week,district \
            month,channel day,group; do
    echo "/api/v1/stats?by=$by&$at"
  done
  echo "/api/v1/stats?$at"
  echo "/api/v1/stats?by=category&at=2026-06-01"
  echo "/api/v1/stats?by=category&at=2030-01-01T00:00:00Z"
  echo "/api/v1/stats?by=status&category=200102,200103&$at"
  echo "/api/v1/stats?by=category&status=closed,handled&$at"
  echo "/api/v1/stats?by=group,status&district=110105&$at"
  echo "/api/v1/stats?by=district&group=05&kind=incident&$at"
  echo "/api/v1/stats?by=kind&kind=problem&$at"
  echo "/api/v1/stats?by=district,month&from=2026-03-01&to=2026-08-31T23:59:59%2B08:00&$at"
  echo "/api/v1/stats?by=day&bbox=116.3,39.85,116.5,39.98&category=200102&$at"
  echo "/api/v1/stats?by=week&crs=gcj02&bbox=116.3,39.85,116.5,39.98&$at"
  echo "/api/v1/stats?by=status&crs=bd09&bbox=116.3,39.85,116.5,39.98&$at"
  echo "/api/v1/stats?by=category&bbox=0,0,1,1&$at"
  echo "/api/v1/stats?by=category&district=999999&$at"
  echo "/api/v1/stats?by=colour"
  echo "/api/v1/stats?by=day,day"
  echo "/api/v1/stats?by=a,b,c,d"
  echo "/api/v1/stats?from=2026-13-01"
  echo "/api/v1/stats?category=nope"
  echo "/api/v1/stats?bbox=117,40,116,39"
  echo "/api/v1/stats?nonsense=1"
  echo "/api/v1/hotspots"
  echo "/api/v1/hotspots?cell=1000"
  echo "/api/v1/hotspots?shape=square&cell=750&bbox=116.2,39.8,116.6,40.05&limit=100000"
  echo "/api/v1/hotspots?shape=hex&cell=400&group=05&limit=60"
  echo "/api/v1/hotspots?shape=square&cell=100&status=reported,filed&limit=500"
  echo "/api/v1/hotspots?cell=2000&crs=gcj02&bbox=116.2,39.8,116.6,40.05"
  echo "/api/v1/hotspots?cell=300&from=2026-05-01&to=2026-06-30&district=110108"
  echo "/api/v1/hotspots?cell=50&kind=incident&limit=1"
  echo "/api/v1/hotspots?bbox=0,0,1,1"
  echo "/api/v1/hotspots?cell=1"
  echo "/api/v1/hotspots?shape=circle"
  echo "/api/v1/hotspots?cell=-5"
  echo "/api/v1/hotspots?crs=mars"
}

BIN[a]=$A_BIN
BIN[b]=$B_BIN
serve a
serve b
log "old ${BIN[a]} at ${URL[a]}, new ${BIN[b]} at ${URL[b]}"
mkdir -p "$OUT/stats-a" "$OUT/stats-b"
fails=0 n=0
while read -r p; do
  n=$((n + 1))
  fetch a "$p" "$OUT/stats-a/$n"
  fetch b "$p" "$OUT/stats-b/$n"
  if cmp -s "$OUT/stats-a/$n.head" "$OUT/stats-b/$n.head" &&
     cmp -s "$OUT/stats-a/$n.body" "$OUT/stats-b/$n.body"; then
    printf 'same  %s %7d bytes  %s\n' "$(cut -d' ' -f1 "$OUT/stats-a/$n.head")" \
      "$(stat -c %s "$OUT/stats-a/$n.body")" "$p"
  else
    fails=$((fails + 1))
    printf 'DIFF  %s\n' "$p"
  fi
done < <(paths)

# Mean wall time of the heaviest requests, each server TIMES times, alternating.
printf '\n%-60s %10s %10s\n' "request (mean of $TIMES)" "old ms" "new ms"
for p in "/api/v1/stats?by=category,kind,channel&at=2026-10-20" \
         "/api/v1/stats?by=district,month&at=2026-10-20" \
         "/api/v1/hotspots?cell=100&limit=1" "/api/v1/hotspots?shape=square&cell=750"; do
  declare -A total=([a]=0 [b]=0)
  for _ in $(seq 1 "$TIMES"); do
    for side in a b; do
      fetch "$side" "$p" "$OUT/stats-$side/timing"
      total[$side]=$(awk -v x="${total[$side]}" -v y="$LAST_SECONDS" 'BEGIN { print x + y }')
    done
  done
  printf '%-60s %10.1f %10.1f\n' "$p" \
    "$(awk -v x="${total[a]}" -v n="$TIMES" 'BEGIN { print x * 1000 / n }')" \
    "$(awk -v x="${total[b]}" -v n="$TIMES" 'BEGIN { print x * 1000 / n }')"
done

echo
[ "$RESTARTS" -eq 0 ] || echo "($RESTARTS server restarts after crashes, see fetch())"
if [ "$fails" -eq 0 ]; then
  echo "all $n answers identical"
  exit 0
fi
echo "$fails of $n answers differ (answers kept under $OUT/stats-a, stats-b with KEEP=1)"
exit 1
