#!/usr/bin/env bash
# Installs the Debian packages mapd needs, only those that are missing.
# Usage: scripts/deps.sh [build|test|bench|fuzz|pg|cluster]   (test adds node/chromium tooling
#   and PostgreSQL + PostGIS for the throwaway clusters of the PostgreSQL tests;
#   cluster adds PostgreSQL + PostGIS and nginx for make cluster-demo / scripts/cluster.sh;
#   fuzz adds clang + libFuzzer for bench/fuzz, valgrind for make test-valgrind)
set -euo pipefail
mode=${1:-build}
pkgs=(cmake make gcc pkg-config libgdal-dev gdal-bin libproj-dev proj-bin libgeos-dev
      libspatialite-dev libsqlite3-mod-spatialite libsqlite3-dev sqlite3 libmicrohttpd-dev
      libprotobuf-c-dev protobuf-c-compiler libjansson-dev libcmocka-dev zlib1g-dev
      libcurl4-openssl-dev curl libpq-dev
      libssl-dev    # webhooks: HMAC-SHA256 signatures (OpenSSL libcrypto)
      libvips-dev   # photos: decoded, stripped of metadata and resized by libvips
      libfreetype-dev fonts-wqy-microhei nodejs npm)  # web map: glyphs from the font, MapLibre via npm
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  pkgs+=(chromium libxml2-utils libvips-tools libimage-exiftool-perl)  # photo tests: vips, exiftool
fi
# PostgreSQL 15 + PostGIS 3 servers: scripts/pg_cluster.sh, the PostgreSQL tests.
if [ "$mode" = test ] || [ "$mode" = bench ] || [ "$mode" = pg ] || [ "$mode" = cluster ]; then
  pkgs+=(postgresql-15-postgis-3)
fi
# nginx in front of the mapd nodes of scripts/cluster.sh (make cluster-demo, tests/cluster_demo.sh);
# it runs as a private instance under the cluster's directory, never as the system service.
if [ "$mode" = test ] || [ "$mode" = cluster ]; then
  pkgs+=(nginx-light)
fi
if [ "$mode" = fuzz ]; then
  pkgs+=(clang libclang-rt-14-dev valgrind)
fi
if [ "$mode" = bench ]; then
  pkgs+=(postgresql-15-postgis-3 postgresql-contrib wrk nginx-light)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from outside Debian on some images: accept any working binaries.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
