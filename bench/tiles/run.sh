#!/usr/bin/env bash
# bench/tiles: vector tile throughput, side by side in one run.
#   PostGIS 3 / PostgreSQL 15: ST_AsMVT(ST_AsMVTGeom(...)) - the query Martin and
#     pg_tileserv run for a table source - through pgbench;
#   mapd over HTTP with wrk, tile cache off (uncached) and warm (cached);
#   nginx serving the same tile bytes from disk (the ceiling for a cache).
# Same data (sample city, 100k facilities, 1M reports), same seeded tile list
# per zoom (tiles under report positions, so dense where data is), same
# concurrency. Prints a Markdown table and writes it to bench/out/tiles.md.
#
# Usage: bench/tiles/run.sh   (env: SECS=10 CONNS=16 ZOOMS="10 12 14 16" NTILES=100 FAC=100000 REP=1000000 DB=...)
source "$(dirname "$0")/../lib/common.sh"
DB=${DB:-$OUT/sample-100k-1m.sqlite}
SECS=${SECS:-10}
CONNS=${CONNS:-16}
ZOOMS=${ZOOMS:-"10 12 14 16"}
NTILES=${NTILES:-100}
LAYER=${LAYER:-reports}

bench_build
bench_sample "$DB" "${FAC:-100000}" "${REP:-1000000}"
log "loading PostGIS"
pg_start
trap 'pg_stop; mapd_stop 2>/dev/null; [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null; true' EXIT
pg_load_sample "$DB"

psql_q <<'SQL'
CREATE OR REPLACE FUNCTION tile_reports(z integer, x integer, y integer) RETURNS bytea AS $$
  SELECT ST_AsMVT(tile, 'reports', 4096, 'geom', 'id') FROM (
    SELECT ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom,
           id, service_code, status, kind, created_at
    FROM reports
    WHERE geom && ST_Transform(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096), 4326)
  ) AS tile WHERE geom IS NOT NULL
$$ LANGUAGE sql STABLE PARALLEL SAFE;
DROP TABLE IF EXISTS bench_tiles;
CREATE TABLE bench_tiles (z int, i int, x int, y int, PRIMARY KEY (z, i));
SQL

# The seeded tile list: tiles under every 9973rd report, unique, per zoom.
for z in $ZOOMS; do
  sqlite3 -separator ' ' "$DB" "SELECT lon, lat FROM reports WHERE id % 9973 = 17 ORDER BY id" |
    awk -v z="$z" 'BEGIN { pi = atan2(0, -1); n = 2 ^ z }
      { r = $2 * pi / 180; x = int(($1 + 180) / 360 * n);
        y = int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n); print z, x, y }' |
    awk '!seen[$0]++' | head -n "$NTILES" >"$OUT/tiles-z$z.txt"
  awk '{ printf "/tiles/'"$LAYER"'/%d/%d/%d.mvt\n", $1, $2, $3 }' "$OUT/tiles-z$z.txt" >"$OUT/paths-z$z.txt"
  awk '{ print $1 "," NR "," $2 "," $3 }' "$OUT/tiles-z$z.txt" |
    psql_q -c "COPY bench_tiles (z, i, x, y) FROM STDIN CSV"
done

# Byte sizes, to show what each side sends.
avg_bytes_mapd() {
  local sum=0 n=0 p
  while read -r p; do
    sum=$((sum + $(curl -s -o /dev/null -w '%{size_download}' "$MAPD_URL$p"))); n=$((n + 1))
  done <"$1"
  echo $((sum / n))
}

declare -A PG UNC CAC NGX BM BP
for z in $ZOOMS; do
  n=$(wc -l <"$OUT/tiles-z$z.txt")
  printf '\\set i random(1, %d)\nSELECT tile_reports(z, x, y) FROM bench_tiles WHERE z = %d AND i = :i;\n' \
    "$n" "$z" >"$OUT/pg-z$z.sql"
  log "z$z: PostGIS"
  PG[$z]=$(pgbench_tps "$OUT/pg-z$z.sql" "$SECS" "$CONNS")
  BP[$z]=$(psql_q -At -c "SELECT avg(length(tile_reports(z, x, y)))::int FROM bench_tiles WHERE z = $z")
done
pg_stop

log "mapd uncached"
mapd_start "$DB" --tile-cache-mb 0 --threads 4
for z in $ZOOMS; do
  UNC[$z]=$(wrk_rps "$MAPD_URL" "$OUT/paths-z$z.txt" "$SECS" "$CONNS")
  BM[$z]=$(avg_bytes_mapd "$OUT/paths-z$z.txt")
done
mapd_stop

log "mapd cached (warm) and the tile files for nginx"
rm -rf "$OUT/www"
mapd_start "$DB" --tile-cache-mb 1024 --threads 4
for z in $ZOOMS; do
  while read -r p; do
    mkdir -p "$OUT/www$(dirname "$p")"
    curl -s -o "$OUT/www$p" "$MAPD_URL$p"
  done <"$OUT/paths-z$z.txt"
  CAC[$z]=$(wrk_rps "$MAPD_URL" "$OUT/paths-z$z.txt" "$SECS" "$CONNS")
done
mapd_stop

log "nginx"
cat >"$OUT/nginx.conf" <<NGX
worker_processes auto;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  types { application/vnd.mapbox-vector-tile mvt; }
  server { listen 127.0.0.1:58080; root $OUT/www; }
}
NGX
nginx -c "$OUT/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
sleep 0.5
for z in $ZOOMS; do
  NGX[$z]=$(wrk_rps "http://127.0.0.1:58080" "$OUT/paths-z$z.txt" "$SECS" "$CONNS")
done
kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=

{
  echo "Tiles/s, layer \`$LAYER\`, $CONNS concurrent clients, ${SECS}s per cell, $(nproc) cores, $(date +%F)."
  echo
  echo "| zoom | PostGIS ST_AsMVT | mapd uncached | × PostGIS | mapd cached | nginx (files) | cached / nginx | avg bytes mapd / PostGIS |"
  echo "|---|---|---|---|---|---|---|---|"
  for z in $ZOOMS; do
    awk -v z="$z" -v pg="${PG[$z]}" -v u="${UNC[$z]}" -v c="${CAC[$z]}" -v n="${NGX[$z]}" \
      -v bm="${BM[$z]}" -v bp="${BP[$z]}" 'BEGIN {
        printf "| %d | %.0f | %.0f | %.1f× | %.0f | %.0f | %.0f%% | %d / %d |\n",
          z, pg, u, (pg > 0 ? u / pg : 0), c, n, (n > 0 ? 100 * c / n : 0), bm, bp }'
  done
} | tee "$OUT/tiles.md"
