#!/usr/bin/env bash
# bench/faults/run.sh - the long fault tests of SPEC §9 (the quick ones are
# tests/integration/test_faults.c in `make test`):
#  1. kill -9 at a random moment during the mixed load (bench/soak's driver:
#     70% tiles, 20% queries, 10% creates, 200 connections), ROUNDS times
#     (10) on the same database: after each, PRAGMA integrity_check is ok,
#     every report answered 201 is there, and the server starts again;
#  2. full disk: the database on a small tmpfs that fills up during the load:
#     creates answer 507 (never 500), reads keep working, and once space
#     returns creates succeed again; integrity_check ok afterwards;
#  3. a read-only database (read-only mount) is refused at start.
# Needs root (mounts). Results: bench/out/faults.md.
#
#   bench/faults/run.sh            ROUNDS=3 bench/faults/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build/h-rel}
OUT=$ROOT/bench/out/faults
ROUNDS=${ROUNDS:-10}
FAC=${FACILITIES:-20000}
REP=${REPORTS:-100000}
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "faults: needs root (tmpfs mounts)" >&2; exit 2; }

if [ ! -x "$BUILD/mapd/mapd" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DMAPD_NODE_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" -j "${JOBS:-2}" --target mapd >/dev/null
cc -O2 -g -Wall -D_GNU_SOURCE -o "$OUT/soak" bench/soak/soak.c $(pkg-config --cflags --libs libcurl) -lm -lpthread
MAPD=$BUILD/mapd/mapd
CITY=$OUT/city-$FAC-$REP.sqlite
[ -f "$CITY" ] || "$MAPD" sample --db "$CITY" --facilities "$FAC" --reports "$REP" --seed 7 --quiet

PID=
start_server() { # db log
  rm -f "$OUT/server.out"
  "$MAPD" serve --db "$1" --port 0 --threads 4 --max-connections 4096 --max-per-client 0 \
    --rate-limit 0 --quiet >"$OUT/server.out" 2>>"$2" &
  PID=$!
  for _ in $(seq 300); do grep -q http "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(sed -n 's|.*http://[^:]*:\([0-9]*\)/.*|\1|p' "$OUT/server.out")
  [ -n "$PORT" ] || { echo "faults: server did not start" >&2; cat "$2" >&2; exit 1; }
  URL=http://127.0.0.1:$PORT
}
present_of() { # db ids-file -> count of those ids in reports
  (echo "SELECT count(*) FROM reports WHERE id IN (0"; sed 's/^/,/' "$2"; echo ");") | sqlite3 "$1"
}
statuses() { grep "^class $1 " "$OUT/driver.txt" | sed 's/.*statuses//'; }

REPORT=$ROOT/bench/out/faults.md
{
  echo "# Fault tests: $(date -u +%FT%TZ)"
  echo
  echo "mapd \`$BUILD\`, sample city $FAC facilities / $REP reports, load: bench/soak driver"
  echo "(70% tiles / 20% queries / 10% creates, 200 connections, rate limit off)."
  echo
  echo "## kill -9 during the load ($ROUNDS rounds, one database)"
  echo
  echo "| round | killed after (s) | 201s before the kill | integrity_check | acknowledged present | restart |"
  echo "|---|---|---|---|---|---|"
} >"$REPORT"

status=0
DB=$OUT/kill.sqlite
rm -f "$DB" "$DB-wal" "$DB-shm"; cp "$CITY" "$DB"
for round in $(seq "$ROUNDS"); do
  start_server "$DB" "$OUT/kill-server.log"
  secs=$((4 + RANDOM % 10))
  kill_at=$(awk -v s=$secs -v r=$RANDOM 'BEGIN {printf "%.1f", 1 + (s - 2) * r / 32768}')
  SOAK_NO_VERIFY=1 SOAK_INTERVAL=1000 "$OUT/soak" "$URL" "$secs" 200 4 "$OUT/ids-$round.txt" \
    >"$OUT/driver.txt" 2>/dev/null &
  DRIVER=$!
  sleep "$kill_at"
  kill -9 "$PID"; wait "$PID" 2>/dev/null || true
  wait "$DRIVER" || true
  acked=$(wc -l <"$OUT/ids-$round.txt")
  ic=$(sqlite3 "$DB" "PRAGMA integrity_check;" | head -1)
  present=$(present_of "$DB" "$OUT/ids-$round.txt")
  start_server "$DB" "$OUT/kill-server.log"
  health=$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")
  kill -TERM "$PID"; wait "$PID" || true
  ok=ok; [ "$ic" = ok ] && [ "$present" = "$acked" ] && [ "$health" = 200 ] || { ok=FAILED; status=1; }
  echo "| $round | $kill_at | $acked | $ic | $present / $acked | /health $health ($ok) |" | tee -a "$REPORT"
done

# Full disk.
MNT=$(mktemp -d /tmp/mapd-faults-full-XXXXXX)
size_mb=$(( $(stat -c %s "$CITY") / 1048576 + 256 )) # room for the WAL once space is back
mount -t tmpfs -o size=${size_mb}m tmpfs "$MNT"
cp "$CITY" "$MNT/db.sqlite"
start_server "$MNT/db.sqlite" "$OUT/full-server.log"
avail=$(df -k "$MNT" | tail -1 | awk '{print $4}')
dd if=/dev/zero of="$MNT/filler" bs=1k count=$((avail - 1024)) 2>/dev/null
SOAK_NO_VERIFY=1 SOAK_INTERVAL=1000 "$OUT/soak" "$URL" 20 200 4 "$OUT/ids-full.txt" >"$OUT/driver.txt" 2>/dev/null || true
full_tiles=$(statuses tiles); full_queries=$(statuses queries); full_creates=$(statuses creates)
acked_full=$(wc -l <"$OUT/ids-full.txt")
rm -f "$MNT/filler"
SOAK_NO_VERIFY=1 SOAK_INTERVAL=1000 "$OUT/soak" "$URL" 10 200 4 "$OUT/ids-after.txt" >"$OUT/driver.txt" 2>/dev/null || true
after_creates=$(statuses creates)
kill -TERM "$PID"; wait "$PID"; stop_rc=$?
cat "$OUT/ids-full.txt" "$OUT/ids-after.txt" >"$OUT/ids-all.txt"
ic_full=$(sqlite3 "$MNT/db.sqlite" "PRAGMA integrity_check;" | head -1)
present_full=$(present_of "$MNT/db.sqlite" "$OUT/ids-all.txt")
all_full=$(wc -l <"$OUT/ids-all.txt")
umount "$MNT"; rmdir "$MNT"
full_ok=ok
echo "$full_creates" | grep -q ' 507:' || full_ok=FAILED
echo "$full_tiles $full_queries $full_creates $after_creates" | grep -q ' 500:' && full_ok=FAILED
echo "$after_creates" | grep -q ' 201:' || full_ok=FAILED
[ "$ic_full" = ok ] && [ "$present_full" = "$all_full" ] && [ "$stop_rc" = 0 ] || full_ok=FAILED
[ $full_ok = ok ] || status=1
{
  echo
  echo "## Full disk (tmpfs of ${size_mb} MiB, filled to 1 MiB free during 20 s of load, then freed)"
  echo
  echo "| phase | tiles | queries | creates |"
  echo "|---|---|---|---|"
  echo "| disk full | $full_tiles | $full_queries | $full_creates |"
  echo "| space back (10 s) | | | $after_creates |"
  echo
  echo "integrity_check $ic_full; acknowledged present $present_full / $all_full; clean SIGTERM exit $stop_rc: **$full_ok**"
} | tee -a "$REPORT"

# Read-only database.
MNT=$(mktemp -d /tmp/mapd-faults-ro-XXXXXX)
mount -t tmpfs -o size=$(( $(stat -c %s "$CITY") / 1048576 + 8 ))m tmpfs "$MNT"
cp "$CITY" "$MNT/db.sqlite"; mount -o remount,ro "$MNT"
set +e
msg=$("$MAPD" serve --db "$MNT/db.sqlite" --port 0 --quiet 2>&1 >/dev/null); rc=$?
set -e
umount "$MNT"; rmdir "$MNT"
ro_ok=ok; [ $rc = 1 ] && echo "$msg" | grep -q read-only || { ro_ok=FAILED; status=1; }
{
  echo
  echo "## Read-only database at start"
  echo
  echo "exit $rc: \`$msg\` (**$ro_ok**)"
} | tee -a "$REPORT"
exit $status
