#!/usr/bin/env bash
# bench/compare: byte-for-byte comparison of two mapd servers answering the
# same requests over the same sample city - every layer's tiles and the
# composite at every zoom over the dense core and the outskirts, TileJSON,
# style, queries (nearest, within, districts/at), stats, hot spots, report
# lists, OGC pages, Open311 lists, exports.
#
# For changes that promise no change in behaviour (the storage seam, issue
# 12: two git revisions) and for two backends serving the same data (issue
# 13: two URLs).
#
# Usage:
#   bench/compare/run.sh OLD_REV [NEW_REV]   build both revisions (NEW_REV
#       defaults to the work tree), make the sample city with each
#       (FAC=5000 REP=20000 SEED=7), serve both, compare
#   bench/compare/run.sh --urls URL_A URL_B  compare two running servers
#   env: FAC, REP, SEED, KEEP=1 (keep the answers under bench/out/compare)
# Exit 0 when every answer is identical (status, content type, bytes);
# 1 otherwise, the differing requests listed in bench/out/compare/diff.txt.
source "$(dirname "$0")/../lib/common.sh"
CMP=$OUT/compare
FAC=${FAC:-5000}
REP=${REP:-20000}
SEED=${SEED:-7}
PUBLIC=http://mapd.example

# build_rev REV: a release build of REV under bench/out/compare/src-SHA; prints the binary.
build_rev() {
  local rev=$1 sha src
  sha=$(git -C "$REPO_ROOT" rev-parse --short=12 "$rev^{commit}")
  src=$CMP/src-$sha
  if [ ! -x "$src/build/mapd/mapd" ]; then
    rm -rf "$src"; mkdir -p "$src"
    git -C "$REPO_ROOT" archive "$sha" | tar -x -C "$src"
    log "building $rev ($sha)"
    cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$src/build" -j "$(nproc)" --target mapd >/dev/null
  fi
  printf '%s' "$src/build/mapd/mapd"
}

# serve BIN DB SRC: start BIN on DB with SRC's web/styles; prints the base URL; PID in $CMP/pids.
serve() {
  local bin=$1 db=$2 src=$3 fifo line
  fifo=$(mktemp -u); mkfifo "$fifo"
  MAPD_DATA_DIR=$src/sample-data "$bin" serve --db "$db" --port 0 --quiet --threads 2 \
    --tile-cache-mb 0 --public-url "$PUBLIC" --web "$src/web" --styles "$src/styles" \
    >"$fifo" 2>>"$CMP/serve.log" &
  echo $! >>"$CMP/pids"
  read -r line <"$fifo"; rm -f "$fifo"
  printf '%s' "$line" | grep -o 'http://[^/ ]*'
}

stop_all() {
  [ -f "$CMP/pids" ] || return 0
  while read -r p; do kill -TERM "$p" 2>/dev/null || true; done <"$CMP/pids"
  rm -f "$CMP/pids"
}

# tile X Y of lon lat at zoom z.
tile_xy() {
  awk -v z="$1" -v lon="$2" -v lat="$3" 'BEGIN { pi = atan2(0, -1); n = 2 ^ z; r = lat * pi / 180;
    printf "%d %d", int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }'
}

# The request list: one path a line, deterministic.
paths() {
  local z xy x y layers
  for layers in facilities reports districts grids facilities,reports,districts,grids; do
    for z in $(seq 0 18); do
      for pt in "116.397 39.909" "116.452 39.934" "116.20 40.20" "115.98 39.72"; do
        xy=$(tile_xy "$z" $pt); x=${xy% *}; y=${xy#* }
        echo "/tiles/$layers/$z/$x/$y.mvt"
        [ "$z" -ge 12 ] && echo "/tiles/$layers/$z/$((x + 1))/$y.mvt"
      done
    done
    echo "/tiles/$layers.json"
  done
  echo /tiles
  echo /styles/mapd.json
  local i lon lat
  for i in $(seq 0 19); do
    lon=$(awk -v i="$i" 'BEGIN { printf "%.5f", 116.30 + (i * 37 % 100) / 500 }')
    lat=$(awk -v i="$i" 'BEGIN { printf "%.5f", 39.85 + (i * 53 % 100) / 700 }')
    echo "/api/v1/nearest?lon=$lon&lat=$lat&k=10"
    echo "/api/v1/nearest?lon=$lon&lat=$lat&k=5&category=toilet"
    echo "/api/v1/nearest?lon=$lon&lat=$lat&k=10&layer=reports"
    echo "/api/v1/within?lon=$lon&lat=$lat&radius=500"
    echo "/api/v1/within?lon=$lon&lat=$lat&radius=800&layer=reports&limit=100"
    echo "/api/v1/districts/at?lon=$lon&lat=$lat"
  done
  echo "/api/v1/within?bbox=116.38,39.90,116.42,39.93"
  echo "/api/v1/within?district=110101&layer=reports&limit=200"
  echo "/api/v1/stats"
  echo "/api/v1/stats?by=district"
  echo "/api/v1/hotspots?cell=1000"
  echo "/api/v1/reports?limit=100"
  echo "/api/v1/reports?status=filed&limit=50"
  echo "/api/v1/reports/1"
  echo "/api/v1/reports/1/history"
  echo "/api/v1/categories"
  echo "/api/v1/facility-categories"
  echo "/ogc/"
  echo "/ogc/conformance"
  echo "/ogc/collections"
  echo "/ogc/collections/facilities/items?limit=100"
  echo "/ogc/collections/reports/items?limit=100&offset=200"
  echo "/ogc/collections/reports/items?bbox=116.38,39.90,116.42,39.93&limit=50"
  echo "/ogc/collections/districts/items"
  echo "/open311/v2/services.json"
  echo "/open311/v2/services.xml"
  echo "/open311/v2/requests.json"
  echo "/open311/v2/requests.xml"
  echo "/api/v1/export/facilities.geojson"
  echo "/api/v1/export/reports.csv"
}

# compare BASE_A BASE_B: fetch every path from both, compare; returns 1 on any difference.
compare() {
  local a=$1 b=$2 n=0 same=0 p i=0 ha hb
  mkdir -p "$CMP/a" "$CMP/b"; : >"$CMP/diff.txt"; : >"$CMP/status.txt"
  paths >"$CMP/paths.txt"
  while read -r p; do
    i=$((i + 1)); n=$((n + 1))
    ha=$(curl -s -o "$CMP/a/$i" -w '%{http_code} %{content_type}' "$a$p")
    hb=$(curl -s -o "$CMP/b/$i" -w '%{http_code} %{content_type}' "$b$p")
    echo "${ha%% *}" >>"$CMP/status.txt"
    if [ "$ha" = "$hb" ] && cmp -s "$CMP/a/$i" "$CMP/b/$i"; then
      same=$((same + 1))
    else
      printf '%s\tA: %s, %s bytes\tB: %s, %s bytes\n' "$p" "$ha" "$(stat -c %s "$CMP/a/$i")" \
        "$hb" "$(stat -c %s "$CMP/b/$i")" >>"$CMP/diff.txt"
    fi
  done <"$CMP/paths.txt"
  log "$same of $n answers identical (statuses of A: $(sort "$CMP/status.txt" | uniq -c | awk '{printf "%s%s x%s", s, $2, $1; s=", "}'))"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$CMP/a" "$CMP/b"
  if [ "$same" != "$n" ]; then
    log "differences ($((n - same))): $CMP/diff.txt"; head -20 "$CMP/diff.txt" >&2
    return 1
  fi
}

mkdir -p "$CMP"; : >"$CMP/serve.log"
if [ "${1:-}" = --urls ]; then
  [ $# = 3 ] || { echo "usage: run.sh --urls URL_A URL_B" >&2; exit 2; }
  compare "$2" "$3"
  exit
fi
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: run.sh OLD_REV [NEW_REV] | --urls URL_A URL_B" >&2; exit 2; }
trap stop_all EXIT
old_bin=$(build_rev "$1"); old_src=$(dirname "$(dirname "$(dirname "$old_bin")")")
if [ -n "${2:-}" ]; then
  new_bin=$(build_rev "$2"); new_src=$(dirname "$(dirname "$(dirname "$new_bin")")")
else
  bench_build; new_bin=$MAPD; new_src=$REPO_ROOT
fi
for side in old new; do
  bin=${side}_bin; src=${side}_src; db=$CMP/$side.sqlite
  rm -f "$db" "$db-wal" "$db-shm"
  MAPD_DATA_DIR=${!src}/sample-data "${!bin}" sample --db "$db" --facilities "$FAC" \
    --reports "$REP" --seed "$SEED" --quiet
done
url_old=$(serve "$old_bin" "$CMP/old.sqlite" "$old_src")
url_new=$(serve "$new_bin" "$CMP/new.sqlite" "$new_src")
log "old $1 at $url_old, new ${2:-work tree} at $url_new"
compare "$url_old" "$url_new"
