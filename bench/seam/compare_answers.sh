#!/usr/bin/env bash
# Byte-identical answers from two mapd binaries on the sample city (issue 12:
# the storage seam changes no answer). Serves one copy of the same sample
# database with each binary in turn and compares the bodies of queries, OGC
# API pages and items, exports, stats and TileJSON, then tiles
# (compare_tiles.sh when present).
# Usage: bench/seam/compare_answers.sh OLD_MAPD NEW_MAPD
# Exit 0 when every answer is identical; prints the URLs that differ.
set -euo pipefail
old=${1:?old mapd binary}; new=${2:?new mapd binary}
work=$(mktemp -d /tmp/mapd-seam.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$new" sample --db "$work/city.sqlite" >/dev/null
port=$((20000 + RANDOM % 20000))
b="http://127.0.0.1:$port"
urls=(
  "/api/v1/nearest?lon=116.40&lat=39.91&k=20"
  "/api/v1/nearest?lon=116.40&lat=39.91&k=50&category=market"
  "/api/v1/nearest?lon=116.40&lat=39.91&k=10&layer=reports&status=reported"
  "/api/v1/within?lon=116.40&lat=39.91&radius=800"
  "/api/v1/within?bbox=116.38,39.90,116.42,39.93&limit=200"
  "/api/v1/within?bbox=116.38,39.90,116.42,39.93&limit=50&offset=50&crs=gcj02"
  "/api/v1/within?layer=reports&bbox=116.30,39.85,116.50,39.99&limit=500"
  "/api/v1/within?layer=reports&district=110101&limit=100"
  "/api/v1/districts/at?lon=116.40&lat=39.91"
  "/api/v1/reports?limit=50"
  "/api/v1/stats?at=2026-06-01T00:00:00%2B08:00"
  "/api/v1/stats?by=district,status&at=2026-06-01T00:00:00%2B08:00"
  "/api/v1/hotspots"
  "/ogc/collections"
  "/ogc/collections/facilities"
  "/ogc/collections/reports"
  "/ogc/collections/districts"
  "/ogc/collections/facilities/items?limit=100"
  "/ogc/collections/facilities/items?limit=100&offset=300"
  "/ogc/collections/facilities/items?bbox=116.38,39.90,116.42,39.93&limit=500"
  "/ogc/collections/reports/items?limit=200&datetime=2026-01-01T00:00:00Z/.."
  "/ogc/collections/reports/items?filter=status%3D%27reported%27&limit=100"
  "/ogc/collections/districts/items"
  "/ogc/collections/grids/items?limit=50"
  "/ogc/collections/facilities/items/1"
  "/ogc/collections/reports/items/7"
  "/ogc/collections/districts/items/110101"
  "/ogc/collections/facilities/items/999999999"
  "/api/v1/export/facilities.geojson"
  "/api/v1/export/facilities.csv?category=market"
  "/api/v1/export/reports.geojson?status=reported,closed"
  "/api/v1/export/reports.csv?bbox=116.38,39.90,116.42,39.93"
  "/api/v1/export/districts.geojson"
  "/api/v1/export/grids.csv"
  "/tiles/facilities,reports.json"
  "/tiles/districts.json"
)
fetch_all() { # binary outdir
  "$1" serve --db "$work/city.sqlite" --port "$port" --bind 127.0.0.1 >"$work/serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -sf "$b/health" >/dev/null 2>&1 && break; sleep 0.1; done
  mkdir -p "$2"
  local i=0
  for u in "${urls[@]}"; do
    curl -s -o "$2/$i.body" -w '%{http_code}\n' "$b$u" >"$2/$i.code"
    i=$((i + 1))
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
fetch_all "$old" "$work/old"
fetch_all "$new" "$work/new"
diffs=0
for i in "${!urls[@]}"; do
  # OGC pages carry the time of the answer: compare without it.
  for side in old new; do
    sed -E 's/"timeStamp":"[^"]*"//' "$work/$side/$i.body" >"$work/$side/$i.cmp"
  done
  if ! cmp -s "$work/old/$i.cmp" "$work/new/$i.cmp" || ! cmp -s "$work/old/$i.code" "$work/new/$i.code"; then
    echo "DIFFERS: ${urls[$i]} ($(cat "$work/old/$i.code") vs $(cat "$work/new/$i.code"))"
    diffs=$((diffs + 1))
  fi
done
echo "compare_answers: ${#urls[@]} answers, $diffs differ"
here=$(dirname "$0")
if [ -x "$here/compare_tiles.sh" ]; then "$here/compare_tiles.sh" "$old" "$new"; fi
[ "$diffs" = 0 ]
