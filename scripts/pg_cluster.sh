#!/usr/bin/env bash
# Throwaway PostgreSQL 15 + PostGIS 3 clusters on loopback, for the tests, the
# benchmarks and the cluster demo. Each cluster lives entirely under DIR
# (data, socket, log); the server runs as the `postgres` user when called as
# root (initdb refuses root). Installs the Debian packages when missing.
#
#   scripts/pg_cluster.sh start DIR PORT [-c name=value ...]
#       initdb + start; prints the libpq connection string on stdout
#   scripts/pg_cluster.sh standby PRIMARY_PORT DIR PORT [-c name=value ...]
#       a streaming replica of the cluster on PRIMARY_PORT (pg_basebackup -R),
#       application_name standby_PORT (for synchronous_standby_names); prints
#       its connection string
#   scripts/pg_cluster.sh promote DIR
#       promote a standby to primary (waits until it accepts writes)
#   scripts/pg_cluster.sh stop DIR [fast|immediate]
#       stop (default fast) and remove DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PGBIN=/usr/lib/postgresql/15/bin

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

usage() {
  echo "usage: pg_cluster.sh start DIR PORT [-c name=value ...] | standby PRIMARY_PORT DIR PORT" \
    "[-c name=value ...] | promote DIR | stop DIR [fast|immediate]" >&2
  exit 2
}

port_ok() {
  case $1 in ''|*[!0-9]*) echo "pg_cluster: port '$1' is not a number" >&2; exit 2 ;; esac
}

# serve DIR PORT [-c name=value ...]: start the server of DIR's data directory.
serve() {
  local dir=$1 port=$2; shift 2
  local opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c jit=off -c max_connections=100"
  opts+=" -c shared_buffers=128MB -c wal_level=replica -c max_wal_senders=5 -c hot_standby=on"
  while [ $# -gt 0 ]; do
    [ "$1" = -c ] && [ $# -ge 2 ] || usage
    opts+=" -c $2"; shift 2
  done
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o "$opts" >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
}

ensure_packages() {
  if [ ! -x "$PGBIN/initdb" ] || [ ! -f /usr/share/postgresql/15/extension/postgis.control ]; then
    bash "$here/deps.sh" pg
  fi
}

start() {
  local dir=$1 port=$2; shift 2
  port_ok "$port"
  ensure_packages
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  serve "$dir" "$port" "$@"
  as_pg psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres postgres \
    -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
}

standby() {
  local pport=$1 dir=$2 port=$3; shift 3
  port_ok "$pport"; port_ok "$port"
  ensure_packages
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$dir/data" -R -X stream -c fast --no-sync \
    >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
  # A name of its own, so that the primary can list it in synchronous_standby_names.
  echo "primary_conninfo = 'host=127.0.0.1 port=$pport user=postgres application_name=standby_$port'" |
    as_pg tee -a "$dir/data/postgresql.auto.conf" >/dev/null
  serve "$dir" "$port" "$@"
  echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
}

promote() {
  as_pg "$PGBIN/pg_ctl" -D "$1/data" -w -t 60 promote >/dev/null
}

stop() {
  local dir=$1 mode=${2:-fast}
  case $mode in fast|immediate) ;; *) usage ;; esac
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m "$mode" -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

[ $# -ge 2 ] || usage
case $1 in
  start) [ $# -ge 3 ] || usage; shift; start "$@" ;;
  standby) [ $# -ge 4 ] || usage; shift; standby "$@" ;;
  promote) promote "$2" ;;
  stop) shift; stop "$@" ;;
  *) usage ;;
esac
