#!/usr/bin/env bash
# bench/ceiling: mapd against the HTTP ceiling of this machine - nginx
# sending a ready answer from a file - for nearest-10 (facilities, 1000
# query points; nginx sends one of the answers) and a cached tile (the same
# bytes from both). One keep-alive connection (wrk -t1 -c1) on core 1, the
# server on core 0 (mapd --threads 1, nginx one worker), rounds interleaved,
# median of ROUNDS. Target (issue 14): mapd >= 90 % of nginx for both.
# OTHER=path/to/another/mapd adds a column for a second binary (e.g. a build
# before a change), run in the same rounds.
# Prints a Markdown table and writes bench/out/ceiling.md.
#
# Usage: bench/ceiling/run.sh   (env: SECS=5 ROUNDS=3 DB=... OTHER=...)
source "$(dirname "$0")/../lib/common.sh"
DB=${DB:-$OUT/sample-100k-1000000.sqlite}
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
bench_build
bench_sample "$DB" 100000 1000000
trap 'mapd_stop 2>/dev/null; [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null; true' EXIT

sqlite3 -separator ' ' "$DB" "SELECT lon, lat FROM facilities WHERE id % 97 = 5 ORDER BY id LIMIT 1000" |
  awk '{ printf "/api/v1/nearest?lon=%.6f&lat=%.6f&k=10\n", $1 + 0.0003, $2 - 0.0002 }' >"$OUT/ceil-nearest.txt"
TILE=/tiles/facilities/16/53957/24832.mvt
echo "$TILE" >"$OUT/ceil-tile.txt"

# One wrk cell: requests/s of one connection over a list of paths.
cell() {
  PATHS_FILE=$2 taskset -c 1 wrk -t1 -c1 -d"${SECS}s" -s "$BENCH_ROOT/lib/paths.lua" "$1" \
    >"$OUT/wrk.last" 2>&1
  local non2xx; non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/wrk.last")
  [ -z "$non2xx" ] || [ "$non2xx" = 0 ] || log "warning: $non2xx non-2xx responses from $1"
  awk '/Requests\/sec/ {printf "%d", $2}' "$OUT/wrk.last"
}

# The ready answers for nginx.
mapd_start "$DB" --threads 1
rm -rf "$OUT/www-ceil" && mkdir -p "$OUT/www-ceil/tiles/facilities/16/53957"
curl -s -o "$OUT/www-ceil/nearest.json" "$MAPD_URL$(head -1 "$OUT/ceil-nearest.txt")"
curl -s -o "$OUT/www-ceil$TILE" "$MAPD_URL$TILE"
mapd_stop
echo "/nearest.json" >"$OUT/ceil-static.txt"
cat >"$OUT/nginx-ceil.conf" <<NGX
worker_processes 1;
pid $OUT/nginx-ceil.pid;
error_log $OUT/nginx-ceil-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  types { application/geo+json json; application/vnd.mapbox-vector-tile mvt; }
  server { listen 127.0.0.1:58082; root $OUT/www-ceil; }
}
NGX

declare -A R
run_mapd() { # run_mapd LABEL BINARY
  local label=$1 bin=$2
  MAPD=$bin mapd_start "$DB" --threads 1
  taskset -acp 0 "$MAPD_PID" >/dev/null
  while read -r p; do curl -s -o /dev/null "$MAPD_URL$p"; done <"$OUT/ceil-nearest.txt"
  curl -s -o /dev/null "$MAPD_URL$TILE"
  R[$label:nearest]+="$(cell "$MAPD_URL" "$OUT/ceil-nearest.txt") "
  R[$label:tile]+="$(cell "$MAPD_URL" "$OUT/ceil-tile.txt") "
  mapd_stop
}
for round in $(seq "$ROUNDS"); do
  log "round $round"
  taskset -c 0 nginx -c "$OUT/nginx-ceil.conf" -g 'daemon off;' &
  NGINX_PID=$!
  sleep 0.5
  R[nginx:nearest]+="$(cell http://127.0.0.1:58082 "$OUT/ceil-static.txt") "
  R[nginx:tile]+="$(cell http://127.0.0.1:58082 "$OUT/ceil-tile.txt") "
  kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=
  run_mapd mapd "$MAPD"
  [ -z "${OTHER:-}" ] || run_mapd other "$OTHER"
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
{
  printf '| answer | nginx (ready file) req/s | mapd req/s | mapd / nginx |'
  [ -z "${OTHER:-}" ] || printf ' other mapd req/s | other / nginx |'
  printf '\n|---|---:|---:|---:|'
  [ -z "${OTHER:-}" ] || printf -- '---:|---:|'
  printf '\n'
  for q in nearest tile; do
    n=$(median <<<"${R[nginx:$q]}") m=$(median <<<"${R[mapd:$q]}")
    printf '| %s | %s | %s | %s |' "$([ $q = nearest ] && echo "nearest-10 facilities" || echo "cached tile $TILE")" \
      "$n" "$m" "$(awk -v a="$m" -v b="$n" 'BEGIN { printf "%.0f %%", 100 * a / b }')"
    if [ -n "${OTHER:-}" ]; then
      o=$(median <<<"${R[other:$q]}")
      printf ' %s | %s |' "$o" "$(awk -v a="$o" -v b="$n" 'BEGIN { printf "%.0f %%", 100 * a / b }')"
    fi
    printf '\n'
  done
} | tee "$OUT/ceiling.md"
