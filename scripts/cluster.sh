#!/usr/bin/env bash
# A mapd cluster on loopback in one command (make cluster-demo): a PostgreSQL 15
# + PostGIS primary and one streaming replica (scripts/pg_cluster.sh), the
# sample city loaded into the primary, three `mapd serve` nodes over the
# primary and a private nginx balancing them. See docs/scaling.md.
#
#   scripts/cluster.sh up       start everything, print the web map's URL
#   scripts/cluster.sh down     stop exactly what `up` started, remove CLUSTER_DIR
#   scripts/cluster.sh status   what runs, with pids, and the replication state
#   scripts/cluster.sh failover kill -9 the primary, promote the replica; the nodes
#                               reconnect to it by themselves (multi-host --db)
#
# Everything lives under CLUSTER_DIR (default /tmp/mapd-cluster): the two
# PostgreSQL clusters (pg/primary, pg/replica), each node's log (node-PORT/),
# nginx's config, pid file, logs and temp dirs (nginx/), the pids of all of
# them (pids/) and the ports used (cluster.env). Environment:
#   CLUSTER_DIR          state directory                       /tmp/mapd-cluster
#   CLUSTER_PORT         nginx (the URL to open)               8090
#   CLUSTER_NODE_PORTS   the mapd nodes, one each              "8091 8092 8093"
#   CLUSTER_PG_PORT      PostgreSQL primary                    55450
#   CLUSTER_REPLICA_PORT PostgreSQL streaming replica          55451
#   CLUSTER_SAMPLE_ARGS  extra `mapd sample` flags, e.g. "--facilities 2000 --reports 4000"
#   CLUSTER_NODE_ARGS    extra `mapd serve` flags of every node
#   CLUSTER_READ_REPLICA 1: nodes read tiles from the replica (--read-db), 0: all from the primary   1
#   CLUSTER_DURABILITY   local, or replicated: the replica is the primary's synchronous
#                        standby and the nodes run --durability replicated (a 201 only once
#                        the replica has the report on disk; writes wait while it is down)   local
#   MAPD_BIN             the mapd binary                       build/release/mapd/mapd
#   CLUSTER_WEB          the web map's files                   web/
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

DIR=${CLUSTER_DIR:-/tmp/mapd-cluster}
NGINX_PORT=${CLUSTER_PORT:-8090}
NODE_PORTS=${CLUSTER_NODE_PORTS:-8091 8092 8093}
PG_PORT=${CLUSTER_PG_PORT:-55450}
REPLICA_PORT=${CLUSTER_REPLICA_PORT:-55451}
SAMPLE_ARGS=${CLUSTER_SAMPLE_ARGS:-}
NODE_ARGS=${CLUSTER_NODE_ARGS:-}
READ_REPLICA=${CLUSTER_READ_REPLICA:-1}
DURABILITY=${CLUSTER_DURABILITY:-local}
MAPD=${MAPD_BIN:-$root/build/release/mapd/mapd}
WEB=${CLUSTER_WEB:-$root/web}
NGINX=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
BIND=127.0.0.1

say() { echo "cluster: $*"; }
die() { echo "cluster: $*" >&2; exit 1; }

usage() {
  echo "usage: scripts/cluster.sh up|down|status|failover   (environment: see the top of this file)" >&2
  exit 2
}

port_ok() {
  case $2 in ''|*[!0-9]*) die "$1 '$2' is not a port number" ;; esac
  [ "$2" -ge 1 ] && [ "$2" -le 65535 ] || die "$1 '$2' is not a port number"
}

# port_busy PORT: true when a socket other than one in TIME-WAIT holds PORT
# locally - a listener, or a client connection that took it as its ephemeral
# port (55450 is inside Linux's default 32768-60999: a server cannot bind it
# then) - or when something answers on loopback.
port_busy() {
  if command -v ss >/dev/null; then
    ss -Htan "sport = :$1" 2>/dev/null | grep -qv '^TIME-WAIT' && return 0
  fi
  (exec 3<>"/dev/tcp/$BIND/$1") 2>/dev/null
}

# alive PID: the process runs (a zombie - exited, not yet reaped by its parent - does not).
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  case $(ps -o stat= -p "$1" 2>/dev/null) in Z*|'') return 1 ;; esac
}

# wait_http URL SECONDS PID: until URL answers 200 (false when PID dies or time runs out).
wait_http() {
  local url=$1 n=$(( $2 * 10 )) pid=${3:-}
  while [ "$n" -gt 0 ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null)" = 200 ] && return 0
    if [ -n "$pid" ] && ! alive "$pid"; then return 1; fi
    sleep 0.1; n=$((n - 1))
  done
  return 1
}

psql_at() { # psql_at PORT SQL: one unaligned answer
  psql -X -A -t -q -h "$BIND" -p "$1" -U postgres -d postgres -c "$2"
}

pg_pid() { [ -f "$1/data/postmaster.pid" ] && head -n1 "$1/data/postmaster.pid" || true; }

record() { echo "$2" >"$DIR/pids/$1"; }

# Everything `up` checks before it starts anything.
preflight() {
  port_ok CLUSTER_PORT "$NGINX_PORT"; port_ok CLUSTER_PG_PORT "$PG_PORT"
  port_ok CLUSTER_REPLICA_PORT "$REPLICA_PORT"
  local p all="$NGINX_PORT $NODE_PORTS $PG_PORT $REPLICA_PORT"
  for p in $NODE_PORTS; do port_ok CLUSTER_NODE_PORTS "$p"; done
  [ -n "$NODE_PORTS" ] || die "CLUSTER_NODE_PORTS is empty"
  case $DURABILITY in local|replicated) ;; *) die "CLUSTER_DURABILITY is local or replicated, not '$DURABILITY'" ;; esac
  [ "$(echo "$all" | tr ' ' '\n' | grep -c .)" = "$(echo "$all" | tr ' ' '\n' | grep . | sort -u | wc -l)" ] ||
    die "the ports must all differ: $all"
  [ -x "$MAPD" ] || die "no mapd binary at $MAPD (make build, or set MAPD_BIN)"
  [ -f "$WEB/index.html" ] || die "no web map at $WEB (make web, or set CLUSTER_WEB)"
  [ -x "$NGINX" ] || die "nginx is not installed (bash scripts/deps.sh cluster)"
  command -v psql >/dev/null || die "psql is not installed (bash scripts/deps.sh cluster)"
  command -v curl >/dev/null || die "curl is not installed (bash scripts/deps.sh cluster)"
  for p in $all; do
    port_busy "$p" && die "port $p is in use (set CLUSTER_PORT, CLUSTER_NODE_PORTS, CLUSTER_PG_PORT or CLUSTER_REPLICA_PORT)"
  done
  return 0
}

write_nginx_conf() {
  local ng=$DIR/nginx p
  mkdir -p "$ng/logs" "$ng/temp"
  {
    cat <<EOF
# Written by scripts/cluster.sh: a private nginx (-p $ng), not the system service.
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log $ng/logs/access.log;
  client_body_temp_path $ng/temp/client_body;
  proxy_temp_path $ng/temp/proxy;
  fastcgi_temp_path $ng/temp/fastcgi;
  uwsgi_temp_path $ng/temp/uwsgi;
  scgi_temp_path $ng/temp/scgi;
  client_max_body_size 25m;   # photo uploads (24 MiB)
  upstream mapd {
EOF
    for p in $NODE_PORTS; do echo "    server $BIND:$p max_fails=1 fail_timeout=5s;"; done
    cat <<EOF
    keepalive 32;
  }
  server {
    listen $BIND:$NGINX_PORT;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$http_host;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_connect_timeout 2s;
    add_header X-Mapd-Node \$upstream_addr always;   # which node answered
    # A node that refuses or does not answer is skipped (a request already
    # sent that is not idempotent, e.g. a POST, is not sent twice).
    proxy_next_upstream error timeout;
    location / {
      proxy_pass http://mapd;
    }
    # Live events (SSE): every event goes out as it comes, the stream stays open.
    location /api/v1/events {
      proxy_pass http://mapd;
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 1h;
    }
  }
}
EOF
  } >"$ng/nginx.conf"
}

up() {
  if [ -f "$DIR/cluster.env" ]; then
    echo "cluster: already up in $DIR (scripts/cluster.sh status; scripts/cluster.sh down first)" >&2
    exit 1
  fi
  if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    die "$DIR exists and is not a cluster's directory: choose another CLUSTER_DIR"
  fi
  preflight
  mkdir -p "$DIR/pids" "$DIR/pg"
  {
    echo "NGINX_PORT='$NGINX_PORT'"; echo "NODE_PORTS='$NODE_PORTS'"
    echo "PG_PORT='$PG_PORT'"; echo "REPLICA_PORT='$REPLICA_PORT'"
  } >"$DIR/cluster.env"
  # From here on a failure (or ^C) stops what was started.
  trap 'echo "cluster: up failed; stopping what was started" >&2; down >/dev/null 2>&1 || true' EXIT
  trap 'exit 130' INT TERM

  say "PostgreSQL primary on $BIND:$PG_PORT"
  bash "$here/pg_cluster.sh" start "$DIR/pg/primary" "$PG_PORT" >/dev/null
  record pg-primary "$(pg_pid "$DIR/pg/primary")"
  say "PostgreSQL streaming replica on $BIND:$REPLICA_PORT (pg_basebackup -R)"
  bash "$here/pg_cluster.sh" standby "$PG_PORT" "$DIR/pg/replica" "$REPLICA_PORT" >/dev/null
  record pg-replica "$(pg_pid "$DIR/pg/replica")"
  if [ "$DURABILITY" = replicated ]; then
    say "the replica is the primary's synchronous standby (synchronous_standby_names)"
    psql_at "$PG_PORT" "ALTER SYSTEM SET synchronous_standby_names = 'standby_$REPLICA_PORT'" >/dev/null
    psql_at "$PG_PORT" "SELECT pg_reload_conf()" >/dev/null
  fi

  local uri="postgresql://postgres@$BIND:$PG_PORT/postgres"
  if [ -n "$SAMPLE_ARGS" ]; then
    say "loading the sample city into the primary (mapd sample $SAMPLE_ARGS)"
  else
    say "loading the sample city into the primary (mapd sample: about a minute)"
  fi
  # shellcheck disable=SC2086
  "$MAPD" sample --db "$uri" $SAMPLE_ARGS --quiet >"$DIR/sample.log" 2>&1 ||
    { cat "$DIR/sample.log" >&2; false; }

  # --reuse-port: a node's port, left in TIME-WAIT by the previous cluster's
  # node (`down; up`), can be bound again at once; preflight has made sure no
  # one listens there.
  # Nodes connect to whichever of the two is the primary (after a promotion
  # too, on their next reconnection).
  local node_uri="postgresql://postgres@$BIND:$PG_PORT,$BIND:$REPLICA_PORT/postgres?target_session_attrs=read-write"
  # Tiles from the replica, unless a client's Mapd-Consistency token (its last
  # write's change number) is newer than the replica has replayed.
  local read_db=()
  [ "$READ_REPLICA" = 0 ] || read_db=(--read-db "postgresql://postgres@$BIND:$REPLICA_PORT/postgres")
  local p pid
  for p in $NODE_PORTS; do
    mkdir -p "$DIR/node-$p"
    # shellcheck disable=SC2086
    setsid "$MAPD" serve --db "$node_uri" --durability "$DURABILITY" --port "$p" --bind "$BIND" --web "$WEB" \
      --public-url "http://$BIND:$NGINX_PORT" --max-per-client 0 --reuse-port "${read_db[@]}" $NODE_ARGS \
      </dev/null >"$DIR/node-$p/stdout.log" 2>"$DIR/node-$p/stderr.log" &
    record "node-$p" $!
  done
  for p in $NODE_PORTS; do
    pid=$(cat "$DIR/pids/node-$p")
    if ! wait_http "http://$BIND:$p/health" 60 "$pid"; then
      echo "cluster: mapd node on port $p did not start:" >&2
      tail -n 20 "$DIR/node-$p/stderr.log" >&2
      false
    fi
    say "mapd node on $BIND:$p (pid $pid)"
  done

  write_nginx_conf
  "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/logs/error.log" -t -q ||
    { echo "cluster: nginx refused its config" >&2; false; }
  "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/logs/error.log"
  local n=50
  while [ ! -s "$DIR/nginx/nginx.pid" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
  record nginx "$(cat "$DIR/nginx/nginx.pid")"
  wait_http "http://$BIND:$NGINX_PORT/health" 20 || { echo "cluster: nginx does not answer" >&2; false; }
  say "nginx on $BIND:$NGINX_PORT balancing $(echo "$NODE_PORTS" | wc -w) nodes"
  trap - EXIT INT TERM
  echo
  echo "  web map:  http://$BIND:$NGINX_PORT/"
  echo "  status:   scripts/cluster.sh status      stop: scripts/cluster.sh down"
}

# stop_pid NAME SIGNAL SECONDS: signal a recorded pid and wait for it to go (KILL after SECONDS).
stop_pid() {
  local f=$DIR/pids/$1 pid n
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if alive "$pid"; then
    kill "-$2" "$pid" 2>/dev/null || true
    n=$(( $3 * 10 ))
    while alive "$pid" && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    if alive "$pid"; then
      echo "cluster: $1 (pid $pid) still runs after $3 s: killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    say "stopped $1 (pid $pid)"
  fi
  rm -f "$f"
}

down() {
  if [ ! -f "$DIR/cluster.env" ]; then
    say "nothing is up in $DIR"
    return 0
  fi
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
  stop_pid nginx TERM 10
  local f
  for f in "$DIR"/pids/node-*; do
    [ -e "$f" ] && stop_pid "$(basename "$f")" TERM 15
  done
  # The replica first, so the primary's shutdown does not leave it retrying.
  local which
  for which in replica primary; do
    if [ -d "$DIR/pg/$which" ]; then
      bash "$here/pg_cluster.sh" stop "$DIR/pg/$which" fast
      say "stopped the PostgreSQL $which"
    fi
    stop_pid "pg-$which" TERM 30
  done
  rm -rf "$DIR/nginx" "$DIR/pg" "$DIR"/node-* "$DIR/pids" "$DIR/sample.log" "$DIR/cluster.env"
  rmdir "$DIR" 2>/dev/null || true
  say "down ($DIR removed)"
}

# The primary's machine lost: its postmaster killed with SIGKILL (its backends
# exit when they see it gone), the replica promoted. Every node's --db names
# both servers with target_session_attrs=read-write, so each reconnects to
# the promoted one by itself; requests in between answer 503.
failover() {
  [ -f "$DIR/cluster.env" ] || die "nothing is up in $DIR"
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
  [ "${PROMOTED:-0}" = 0 ] || die "already failed over: the replica on $REPLICA_PORT is the primary"
  local pid t0 n
  pid=$(cat "$DIR/pids/pg-primary" 2>/dev/null || true)
  alive "$pid" || die "the primary (pid ${pid:-?}) is not running"
  say "killing the primary (SIGKILL, pid $pid, port $PG_PORT)"
  kill -KILL "$pid"
  n=100
  while alive "$pid" && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
  t0=$(date +%s%N)
  say "promoting the replica on $BIND:$REPLICA_PORT"
  bash "$here/pg_cluster.sh" promote "$DIR/pg/replica"
  echo "PROMOTED=1" >>"$DIR/cluster.env"
  n=300
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$BIND:$NGINX_PORT/health")" = 200 ] ||
        [ "$n" -le 0 ]; do sleep 0.1; n=$((n - 1)); done
  say "the replica is the primary; nginx answers /health 200 $(( ($(date +%s%N) - t0) / 1000000 )) ms after the promotion began"
  say "(the nodes reconnect on their next request; CLUSTER_DURABILITY=replicated: no acknowledged report lost)"
}

status() {
  if [ ! -f "$DIR/cluster.env" ]; then
    say "nothing is up in $DIR"
    return 3
  fi
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
  local f name pid port bad=0 code
  for f in "$DIR"/pids/*; do
    [ -e "$f" ] || continue
    name=$(basename "$f"); pid=$(cat "$f")
    if alive "$pid"; then state=running; else state=DEAD; bad=1; fi
    case $name in
      nginx) port=$NGINX_PORT ;; pg-primary) port=$PG_PORT ;; pg-replica) port=$REPLICA_PORT ;;
      node-*) port=${name#node-} ;;
    esac
    code=""
    case $name in nginx|node-*)
      code=" /health $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$BIND:$port/health" || true)" ;;
    esac
    printf '  %-12s pid %-8s %-8s %s:%s%s\n' "$name" "$pid" "$state" "$BIND" "$port" "$code"
  done
  local rep primary=$PG_PORT
  [ "${PROMOTED:-0}" = 0 ] || primary=$REPLICA_PORT
  rep=$(psql_at "$primary" "SELECT application_name || ' ' || state || ' ' || sync_state || ' ' || coalesce(replay_lsn::text, '-')
                             FROM pg_stat_replication" 2>/dev/null || true)
  [ "${PROMOTED:-0}" = 0 ] || echo "  failed over: the primary on $PG_PORT was killed, the replica on $REPLICA_PORT is the primary"
  echo "  replication: ${rep:-none}"
  rep=$(psql_at "$primary" "SELECT coalesce(nullif(current_setting('synchronous_standby_names'), ''), 'none')" 2>/dev/null || true)
  echo "  synchronous standby: ${rep:-?}"
  echo "  web map:     http://$BIND:$NGINX_PORT/"
  return $bad
}

[ $# -eq 1 ] || usage
case $1 in
  up) up ;;
  down) down ;;
  status) status ;;
  failover) failover ;;
  *) usage ;;
esac
