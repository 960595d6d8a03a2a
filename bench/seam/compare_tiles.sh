#!/usr/bin/env bash
# bench/seam/compare_tiles.sh: are two mapd binaries' tiles byte-identical?
# (issue 12: moving SQL behind store/ must not change one byte of a tile.)
#
# Serves the same database with each binary in turn and fetches the same
# tile list from both: every tileset of GET /tiles (each layer, the base map
# and the composite), zooms ZOOMS, the tile over LON/LAT and its neighbours
# within RING tiles, plus EXTRA_PATHS. Compares the HTTP status and the
# sha256 of each body; prints the first differences and exits 1 on any.
# Both serve with one --public-url, so answers that carry links (TileJSON,
# styles) compare too.
# Two passes: the sample as made, then a copy with clustering off (every
# zoom draws raw points: the R*Tree read of wide boxes, and thinning).
#
# Usage: bench/seam/compare_tiles.sh BIN_A BIN_B
#   env: DB=... (default: a sample city made by BIN_A under $OUT, reused)
#        ZOOMS="8 ... 16" LON=116.4 LAT=39.9 RING=1 OUT=bench/out/seam
#        EXTRA_PATHS="/tiles/reports/5/26/12.mvt ..." (more paths to compare)
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
ZOOMS=${ZOOMS:-"8 9 10 11 12 13 14 15 16"}
LON=${LON:-116.4}
LAT=${LAT:-39.9}
RING=${RING:-1}
EXTRA_PATHS=${EXTRA_PATHS:-}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ ! -f "$DB" ]; then
  log "making sample $DB"
  "$BIN_A" sample --db "$DB" --quiet
fi

PID=
stop() {
  if [ -n "$PID" ]; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
  fi
}
trap stop EXIT

# start BIN: serve DB on a free port; sets PID and URL.
start() {
  local fifo line
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  "$1" serve --db "$2" --port 0 --quiet --public-url http://mapd.test >"$fifo" 2>>"$OUT/serve.log" &
  PID=$!
  read -r line <"$fifo"
  rm -f "$fifo"
  URL=$(printf '%s' "$line" | grep -o 'http://[^/]*')
}

# The tile list, from the first binary's tilesets.
start "$BIN_A" "$DB"
curl -sf "$URL/tiles" | grep -o '"id":"[^"]*"' | cut -d'"' -f4 >"$OUT/tilesets.txt"
stop
: >"$OUT/paths.txt"
for z in $ZOOMS; do
  read -r cx cy < <(awk -v z="$z" -v lon="$LON" -v lat="$LAT" 'BEGIN {
    pi = atan2(0, -1); n = 2 ^ z; r = lat * pi / 180;
    printf "%d %d\n", int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')
  for set in $(cat "$OUT/tilesets.txt"); do
    for dy in $(seq -"$RING" "$RING"); do
      for dx in $(seq -"$RING" "$RING"); do
        echo "/tiles/$set/$z/$((cx + dx))/$((cy + dy)).mvt" >>"$OUT/paths.txt"
      done
    done
  done
done
for p in $EXTRA_PATHS; do echo "$p" >>"$OUT/paths.txt"; done
log "$(wc -l <"$OUT/paths.txt") tiles: $(tr '\n' ' ' <"$OUT/tilesets.txt")x zooms $ZOOMS"

# fetch BIN DB NAME: "path status sha256 bytes" per tile into $OUT/NAME.sums.
fetch() {
  start "$1" "$2"
  local p body="$OUT/body.$$"
  : >"$OUT/$3.sums"
  while read -r p; do
    local code
    code=$(curl -s -o "$body" -w '%{http_code}' "$URL$p")
    echo "$p $code $(sha256sum <"$body" | cut -c1-64) $(stat -c %s "$body")" >>"$OUT/$3.sums"
  done <"$OUT/paths.txt"
  rm -f "$body"
  stop
}

# compare DB NAME: fetch with both binaries, compare; returns 1 on a difference.
compare() {
  fetch "$BIN_A" "$1" "$2.a"
  fetch "$BIN_B" "$1" "$2.b"
  local a="$OUT/$2.a.sums" b="$OUT/$2.b.sums"
  local n bytes non200 ndiff
  n=$(wc -l <"$a")
  bytes=$(awk '{ s += $4 } END { print s }' "$a")
  non200=$(awk '$2 != 200' "$a" | wc -l)
  if ! diff -q "$a" "$b" >/dev/null; then
    ndiff=$(diff "$a" "$b" | grep -c '^<' || true)
    log "$2: DIFFERENT: $ndiff of $n tiles (first ones below; lists in $a, $b)"
    diff "$a" "$b" | head -20 >&2
    return 1
  fi
  log "$2: identical: $n tiles, $bytes bytes, $non200 not 200 (same status in both)"
}

status=0
compare "$DB" sample || status=1
UNCLUSTERED=$OUT/unclustered.sqlite
if [ ! -f "$UNCLUSTERED" ] || [ "$DB" -nt "$UNCLUSTERED" ]; then
  rm -f "$UNCLUSTERED" "$UNCLUSTERED-wal" "$UNCLUSTERED-shm"
  sqlite3 "$DB" ".backup '$UNCLUSTERED'"
  sqlite3 "$UNCLUSTERED" "UPDATE layers SET cluster_below_zoom = 0"
fi
compare "$UNCLUSTERED" unclustered || status=1
exit $status
