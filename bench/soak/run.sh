#!/usr/bin/env bash
# bench/soak/run.sh - a bounded mixed load on loopback (SPEC §9, issue 7):
# 70% tiles, 20% queries, 10% report creates over >= 200 keep-alive
# connections for 10 minutes; no answer other than 2xx/304/429 allowed, p99
# reported, resident memory sampled every minute, every 201 read back.
#
#   bench/soak/run.sh                          # 600 s, 256 connections
#   SOAK_SECONDS=120 SOAK_INTERVAL=20 bench/soak/run.sh
#
# Knobs (env): SOAK_SECONDS (600), CONNECTIONS (256), DRIVER_THREADS (4),
# SERVER_THREADS (4), SOAK_INTERVAL (60 s; RSS and throughput lines),
# FACILITIES/REPORTS (100000/200000: the sample city), RATE_LIMIT (0 = off,
# so creates really write; set e.g. 30 to see 429s), BUILD (build/h-rel).
# Output: bench/out/soak/ (log, rss, driver output) and bench/out/soak.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build/h-rel}
OUT=$ROOT/bench/out/soak
SECS=${SOAK_SECONDS:-600}
CONNS=${CONNECTIONS:-256}
INTERVAL=${SOAK_INTERVAL:-60}
FAC=${FACILITIES:-100000}
REP=${REPORTS:-200000}
mkdir -p "$OUT"

if [ ! -x "$BUILD/mapd/mapd" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DMAPD_NODE_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" -j "${JOBS:-2}" --target mapd >/dev/null
cc -O2 -g -Wall -D_GNU_SOURCE -o "$OUT/soak" bench/soak/soak.c $(pkg-config --cflags --libs libcurl) -lm -lpthread
MAPD=$BUILD/mapd/mapd

CITY=$OUT/city-$FAC-$REP.sqlite
[ -f "$CITY" ] || "$MAPD" sample --db "$CITY" --facilities "$FAC" --reports "$REP" --seed 7 --quiet
DB=$OUT/work.sqlite
rm -f "$DB" "$DB-wal" "$DB-shm"
cp "$CITY" "$DB"

rm -f "$OUT/server.out"
"$MAPD" serve --db "$DB" --port 0 --threads "${SERVER_THREADS:-4}" --max-connections 4096 \
  --max-per-client 0 --rate-limit "${RATE_LIMIT:-0}" --quiet >"$OUT/server.out" 2>"$OUT/server.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; [ -n "${RSSPID:-}" ] && kill $RSSPID 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q http "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's|.*http://[^:]*:\([0-9]*\)/.*|\1|p' "$OUT/server.out")
URL=http://127.0.0.1:$PORT
echo "soak: mapd pid $PID on $URL, $SECS s, $CONNS connections" >&2

rss() { awk '/VmRSS/ {print $2}' /proc/$PID/status; }
# Resident memory, split: anonymous (heap: tile cache, pools, SQLite caches)
# and file-backed (the database pages SQLite reads through mmap, which grow
# with the file as creates add rows).
rss3() { awk '/VmRSS/ {r=$2} /RssAnon/ {a=$2} /RssFile/ {f=$2} END {print r, a, f}' /proc/$PID/status; }
echo "t_s rss_kb anon_kb file_kb" >"$OUT/rss.txt"
( t=0; while kill -0 $PID 2>/dev/null; do echo "$t $(rss3)" >>"$OUT/rss.txt"; sleep "$INTERVAL"; t=$((t + INTERVAL)); done ) &
RSSPID=$!

set +e
SOAK_INTERVAL=$INTERVAL "$OUT/soak" "$URL" "$SECS" "$CONNS" "${DRIVER_THREADS:-4}" "$OUT/created-ids.txt" \
  | tee "$OUT/driver.txt"
drc=${PIPESTATUS[0]}
set -e
final_rss=$(rss)
final_status=$(cat /proc/$PID/status)
kill $RSSPID 2>/dev/null || true
kill -TERM $PID
wait $PID; src=$?
trap - EXIT
integrity=$(sqlite3 "$DB" "PRAGMA integrity_check;" | head -1)
present=$( (echo "SELECT count(*) FROM reports WHERE id IN (0"; sed 's/^/,/' "$OUT/created-ids.txt"; echo ");") |
  sqlite3 "$DB")
acked=$(wc -l <"$OUT/created-ids.txt")

{
  echo "# Soak: $(date -u +%FT%TZ)"
  echo
  echo "mapd \`$BUILD\` (Release), $(nproc) cores shared, sample city $FAC facilities / $REP reports,"
  echo "$CONNS keep-alive connections from $((${DRIVER_THREADS:-4})) driver threads, server --threads ${SERVER_THREADS:-4},"
  echo "--rate-limit ${RATE_LIMIT:-0}, $SECS s; mix 70% tiles / 20% queries / 10% creates."
  echo
  echo "| t (s) | requests | req/s | p50 ms | p99 ms | errors | 429 | RSS MiB | anon MiB | file MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  grep '^interval' "$OUT/driver.txt" | while read -r _ t n rps p50 p99 err rl; do
    r=$(awk -v t="$t" 'NR>1 && $1<=t {r=$2; a=$3; f=$4} END {printf "%.0f | %.0f | %.0f", r/1024, a/1024, f/1024}' "$OUT/rss.txt")
    echo "| $t | $n | $rps | $p50 | $p99 | $err | $rl | $r |"
  done
  echo
  echo "| class | requests | req/s | p50 ms | p99 ms | p99.9 ms | max ms | statuses |"
  echo "|---|---|---|---|---|---|---|---|"
  grep '^class' "$OUT/driver.txt" | while read -r _ k _ n _ rps _ p50 _ p99 _ p999 _ pmax _ te _ st; do
    echo "| $k | $n | $rps | $p50 | $p99 | $p999 | $pmax | $st |"
  done
  echo
  grep -E '^(total|created|result)' "$OUT/driver.txt" | sed 's/^/    /'
  echo
  echo "RSS at the end: $((final_rss / 1024)) MiB ($(awk '/RssAnon/ {printf "%.0f", $2/1024}' <<<"$final_status") MiB anonymous)."
  echo "Database: $(( $(stat -c %s "$CITY") / 1048576 )) MiB before, $(( $(stat -c %s "$DB") / 1048576 )) MiB after. Server exit after SIGTERM: $src."
  echo "After the run: integrity_check $integrity; acknowledged reports present $present of $acked."
} >"$ROOT/bench/out/soak.md"
cat "$ROOT/bench/out/soak.md"
[ "$drc" = 0 ] && [ "$src" = 0 ] && [ "$integrity" = ok ] && [ "$present" = "$acked" ]
