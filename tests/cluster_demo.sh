#!/usr/bin/env bash
# integration/cluster_demo: scripts/cluster.sh (make cluster-demo) end to end, on free
# loopback ports and a private CLUSTER_DIR with a small sample city:
#   - `down` with nothing up is a no-op; `up` prints the web map's URL;
#     `up` again says it is up and fails; a second cluster on the same ports
#     fails naming the port and starts nothing;
#   - each node's /health answers 200 directly, and through nginx every node
#     answers (nginx names the node in X-Mapd-Node); a tile, the TileJSON
#     (links through nginx), the web map's index page and the SSE stream
#     come through nginx;
#   - the replica streams (pg_stat_replication on the primary) and holds the
#     city loaded after it started;
#   - a node killed with SIGKILL: requests through nginx keep answering 200;
#   - `down` leaves no process of the cluster (every recorded pid and
#     nginx's workers gone, every port free) and removes nothing outside
#     CLUSTER_DIR.
# MAPD_BIN: the mapd binary (ctest passes the build's); MAPD_SOURCE_DIR: the tree.
set -euo pipefail
src=${MAPD_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
cluster="$src/scripts/cluster.sh"
: "${MAPD_BIN:?MAPD_BIN: the mapd binary}"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# alive PID: runs, and is not a zombie (exited, not yet reaped).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  case $(ps -o stat= -p "$1" 2>/dev/null) in Z*|'') return 1 ;; esac
}
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# Six consecutive free ports from a random base.
base=""
for _ in $(seq 50); do
  b=$(( 20000 + RANDOM % 12000 ))   # below the ephemeral range (32768-)
  all_free=1
  for i in 0 1 2 3 4 5; do port_free $((b + i)) || { all_free=0; break; }; done
  [ "$all_free" = 1 ] && { base=$b; break; }
done
[ -n "$base" ] || fail "no six free ports"
NG=$base; N1=$((base + 1)); N2=$((base + 2)); N3=$((base + 3)); PGP=$((base + 4)); REP=$((base + 5))
PORTS="$NG $N1 $N2 $N3 $PGP $REP"

work=$(mktemp -d /tmp/mapd-cluster-test.XXXXXX)
chmod 755 "$work"   # the postgres user creates its clusters below
export CLUSTER_DIR=$work/cluster CLUSTER_PORT=$NG CLUSTER_NODE_PORTS="$N1 $N2 $N3"
export CLUSTER_PG_PORT=$PGP CLUSTER_REPLICA_PORT=$REP MAPD_BIN
export CLUSTER_SAMPLE_ARGS=${CLUSTER_SAMPLE_ARGS:---facilities 2000 --reports 4000 --seed 7}
echo "untouched" >"$work/sentinel"

finish() {
  local rc=$?
  if [ -f "$CLUSTER_DIR/cluster.env" ]; then
    if [ "$rc" != 0 ]; then
      for f in "$CLUSTER_DIR"/node-*/stderr.log "$CLUSTER_DIR"/nginx/logs/error.log; do
        [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
      done
    fi
    bash "$cluster" down >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap finish EXIT

psql_at() { psql -X -A -t -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

out=$(bash "$cluster" down) || fail "down with nothing up exits non-zero"
echo "$out" | grep -q "nothing is up" || fail "down with nothing up says: $out"
ok "down with nothing up is a no-op"

t0=$(date +%s)
out=$(bash "$cluster" up 2>&1) || { echo "$out"; fail "up failed"; }
echo "$out"
echo "$out" | grep -q "http://127.0.0.1:$NG/" || fail "up does not print the web map's URL"
ok "up in $(( $(date +%s) - t0 )) s"

if out=$(bash "$cluster" up 2>&1); then fail "up when up succeeded"; fi
echo "$out" | grep -q "already up" || fail "up when up says: $out"
ok "up when up: $out"

if out=$(CLUSTER_DIR=$work/other bash "$cluster" up 2>&1); then fail "a second cluster on the same ports started"; fi
echo "$out" | grep -q "port [0-9]* is in use" || fail "a taken port gives: $out"
[ ! -e "$work/other" ] || fail "a refused up left $work/other"
ok "taken port: $out"

for p in $N1 $N2 $N3; do
  [ "$(code "http://127.0.0.1:$p/health")" = 200 ] || fail "node $p /health"
done
ok "every node's /health answers 200 directly"

seen=""
for _ in $(seq 9); do
  h=$(curl -s -D - -o /dev/null --max-time 5 "http://127.0.0.1:$NG/health")
  echo "$h" | head -n1 | grep -q " 200" || fail "/health through nginx: $h"
  seen+=" $(echo "$h" | tr -d '\r' | sed -n 's/^[Xx]-[Mm]apd-[Nn]ode: *//p')"
done
for p in $N1 $N2 $N3; do
  echo "$seen" | grep -q "127.0.0.1:$p" || fail "node $p never answered through nginx (answered:$seen)"
done
ok "/health 200 through nginx from each node"

tpath=/tiles/facilities/14/13489/6210.mvt
tile="http://127.0.0.1:$NG$tpath"
read -r c ct size < <(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{content_type} %{size_download}\n' "$tile")
[ "$c" = 200 ] && [ "$ct" = application/vnd.mapbox-vector-tile ] && [ "$size" -gt 100 ] ||
  fail "tile through nginx: $c $ct $size bytes"
ok "a tile through nginx ($size bytes)"

if [ "${CLUSTER_READ_REPLICA:-1}" != 0 ]; then
  # No Mapd-Consistency token: the replica answers; a token past every change: the primary.
  from=$(curl -s -D - -o /dev/null --max-time 10 "$tile" | tr -d '\r' | sed -n 's/^[Mm]apd-[Rr]ead-[Ff]rom: *//p')
  [ "$from" = replica ] || fail "a tile without a token read from '$from', not the replica"
  from=$(curl -s -D - -o /dev/null --max-time 10 -H "Mapd-Consistency: 999999999" "$tile" |
         tr -d '\r' | sed -n 's/^[Mm]apd-[Rr]ead-[Ff]rom: *//p')
  [ "$from" = primary ] || fail "a tile with a token the replica lacks read from '$from', not the primary"
  ok "tiles read from the replica, from the primary for a newer token"
fi

tj=$(curl -s --max-time 5 "http://127.0.0.1:$NG/tiles/facilities.json")
echo "$tj" | grep -q "http://127.0.0.1:$NG/tiles/facilities/" || fail "TileJSON links do not go through nginx: $tj"
ok "TileJSON links through nginx"

page=$(curl -s --max-time 5 "http://127.0.0.1:$NG/")
echo "$page" | grep -q "maplibre-gl" || fail "the web map's index page through nginx"
ok "the web map's index page through nginx"

# SSE: the stream's header arrives at once and the stream stays open (curl's
# --max-time ends it: exit 28) instead of nginx buffering it.
set +e
sse=$(curl -s -N -D - -o /dev/null --max-time 3 "http://127.0.0.1:$NG/api/v1/events")
rc=$?
set -e
echo "$sse" | grep -qi "content-type: text/event-stream" && [ "$rc" = 28 ] ||
  fail "SSE through nginx (curl exit $rc): $sse"
ok "SSE stream through nginx"

# A report accepted by node A is in the next tile node B serves and in node
# C's live event stream. Node B reads tiles from the replica: the 201's
# Mapd-Consistency token, sent with the tile request, makes it wait for the
# replica (or read the primary).
rtile="/tiles/reports/16/53957/24832.mvt"
hdr() { tr -d '\r' | sed -n "s/^$1: *//Ip" | head -n1; }
curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$N2$rtile"
e1=$(curl -s -D - -o /dev/null --max-time 10 "http://127.0.0.1:$N2$rtile" | hdr etag)
curl -s -N --max-time 15 "http://127.0.0.1:$N3/api/v1/events" >"$work/sse" 2>/dev/null &
sse_pid=$!
sleep 1
created=$(curl -s -D - --max-time 10 -H "Content-Type: application/json" \
  -d '{"category":"200104","lon":116.3967,"lat":39.9087,"description":"cluster demo"}' \
  "http://127.0.0.1:$N1/api/v1/reports")
echo "$created" | head -n1 | grep -q " 201" || fail "a report through node $N1: $created"
rid=$(echo "$created" | tr -d '\r' | sed -n '$p' | grep -o '"id": *[0-9]*' | head -n1 | grep -o '[0-9]*$')
token=$(echo "$created" | hdr mapd-consistency)
[ -n "$rid" ] || fail "no id in the 201: $created"
# The 201's token is the change number of the write; without one (a server
# that does not send it yet) the primary's newest change number serves.
token_from="the 201's Mapd-Consistency"
[ -n "$token" ] || { token=$(psql_at "$PGP" "SELECT seq FROM change_counter"); token_from="the primary's change_counter"; }
after=$(curl -s -D - -o /dev/null --max-time 10 -H "Mapd-Consistency: $token" "http://127.0.0.1:$N2$rtile")
echo "$after" | head -n1 | grep -q " 200" || fail "the report's tile from node $N2: $after"
e2=$(echo "$after" | hdr etag)
[ -n "$e1" ] && [ "$e1" != "$e2" ] || fail "node $N2's tile did not change after report $rid (etag $e1 -> $e2)"
[ "$(code "http://127.0.0.1:$N2/api/v1/reports/$rid")" = 200 ] || fail "report $rid not readable from node $N2"
n=0
while ! grep -q "\"id\": *$rid\b" "$work/sse" && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
kill "$sse_pid" 2>/dev/null || true
wait "$sse_pid" 2>/dev/null || true
grep -q "report.created" "$work/sse" && grep -q "\"id\": *$rid\b" "$work/sse" ||
  fail "report $rid not in node $N3's event stream: $(head -c 600 "$work/sse")"
rm -f "$work/sse"
ok "report $rid created on node $N1: in node $N2's next tile (token $token from $token_from), readable there, in node $N3's events"

rep=$(psql_at "$PGP" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
[ "$rep" = 1 ] || fail "pg_stat_replication on the primary: $rep streaming"
[ "$(psql_at "$REP" "SELECT pg_is_in_recovery()")" = t ] || fail "the replica is not in recovery"
n=0; want=$(psql_at "$PGP" "SELECT count(*) FROM facilities")
while [ "$(psql_at "$REP" "SELECT count(*) FROM facilities")" != "$want" ] && [ $n -lt 50 ]; do
  sleep 0.2; n=$((n + 1))
done
[ "$(psql_at "$REP" "SELECT count(*) FROM facilities")" = "$want" ] && [ "$want" -gt 0 ] ||
  fail "the replica does not hold the primary's $want facilities"
ok "the replica streams ($want facilities on both)"

pids=$(cat "$CLUSTER_DIR"/pids/*)
master=$(cat "$CLUSTER_DIR/pids/nginx")
workers=$(pgrep -P "$master" || true)
[ -n "$workers" ] || fail "no nginx worker"

victim=$(cat "$CLUSTER_DIR/pids/node-$N2")
kill -KILL "$victim"
while alive "$victim"; do sleep 0.1; done
for _ in $(seq 12); do
  [ "$(code "http://127.0.0.1:$NG/health")" = 200 ] || fail "/health through nginx with node $N2 dead"
done
[ "$(code "$tile")" = 200 ] || fail "tile through nginx with node $N2 dead"
if st=$(bash "$cluster" status 2>&1); then fail "status with a dead node exits 0"; fi
echo "$st" | grep -q "node-$N2 .*DEAD" || fail "status does not show node $N2 dead: $st"
ok "node $N2 killed: requests through nginx still 200, status shows it dead"

if [ "${CLUSTER_READ_REPLICA:-1}" != 0 ]; then
  # The replica stopped: tiles come from the primary.
  as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$CLUSTER_DIR/pg/replica/data" -m immediate -w stop >/dev/null
  for _ in 1 2 3 4; do
    from=$(curl -s -D - -o /dev/null --max-time 10 "$tile" | tr -d '\r' |
           sed -n 's/^[Mm]apd-[Rr]ead-[Ff]rom: *//p')
    [ "$from" = primary ] || fail "a tile with the replica down read from '$from'"
  done
  [ "$(code "http://127.0.0.1:$NG$rtile")" = 200 ] || fail "a reports tile with the replica down"
  ok "replica stopped: tiles through nginx read from the primary"
fi

out=$(bash "$cluster" down) || fail "down failed: $out"
echo "$out"
for pid in $pids $workers; do
  ! alive "$pid" || fail "pid $pid still runs after down"
done
for p in $PORTS; do port_free "$p" || fail "port $p still taken after down"; done
[ ! -e "$CLUSTER_DIR" ] || fail "down left $CLUSTER_DIR"
[ "$(cat "$work/sentinel")" = untouched ] || fail "down touched a file outside CLUSTER_DIR"
[ "$(ls -A "$work")" = sentinel ] || fail "down left or removed files beside CLUSTER_DIR: $(ls -A "$work")"
ok "down: no process, every port free, nothing outside CLUSTER_DIR touched"

out=$(bash "$cluster" down) && echo "$out" | grep -q "nothing is up" || fail "down twice: $out"
ok "down again is a no-op"

# Failover: up again (durability replicated: the replica is the synchronous
# standby), a report, the primary killed with SIGKILL and the replica
# promoted (scripts/cluster.sh failover): through nginx the report is there
# and a new one is accepted, without restarting a node.
t1=$(date +%s)
out=$(CLUSTER_DURABILITY=replicated CLUSTER_SAMPLE_ARGS="--facilities 500 --reports 500 --seed 7" \
      bash "$cluster" up 2>&1) || { echo "$out"; fail "up (replicated) failed"; }
[ "$(psql_at "$PGP" "SELECT sync_state FROM pg_stat_replication")" = sync ] || fail "the replica is not a synchronous standby"
post() {
  curl -s -o "$work/post" -w '%{http_code}' --max-time 10 -H "Content-Type: application/json" \
    -d '{"category":"200104","lon":116.3967,"lat":39.9087,"description":"failover"}' \
    "http://127.0.0.1:$NG/api/v1/reports"
}
[ "$(post)" = 201 ] || fail "a report before the failover: $(cat "$work/post")"
before=$(grep -o '"id": *[0-9]*' "$work/post" | head -n1 | grep -o '[0-9]*$')
pids=$(cat "$CLUSTER_DIR"/pids/*)
out=$(bash "$cluster" failover 2>&1) || { echo "$out"; fail "failover failed"; }
echo "$out"
[ "$(psql_at "$REP" "SELECT pg_is_in_recovery()")" = f ] || fail "the replica was not promoted"
n=0
until [ "$(post)" = 201 ] || [ $n -ge 100 ]; do sleep 0.2; n=$((n + 1)); done
[ -s "$work/post" ] && grep -q '"id"' "$work/post" || fail "no report accepted after the failover: $(cat "$work/post")"
[ "$(code "http://127.0.0.1:$NG/api/v1/reports/$before")" = 200 ] || fail "report $before lost in the failover"
[ "$(code "$tile")" = 200 ] || fail "a tile after the failover"
ok "failover: report $before kept, a new report accepted after $((n / 5)) s of retries, tiles served"
out=$(bash "$cluster" down) || fail "down after the failover: $out"
for pid in $pids; do ! alive "$pid" || fail "pid $pid still runs after down"; done
for p in $PORTS; do port_free "$p" || fail "port $p still taken after down"; done
[ ! -e "$CLUSTER_DIR" ] || fail "down left $CLUSTER_DIR"
rm -f "$work/post"
[ "$(ls -A "$work")" = sentinel ] || fail "files beside CLUSTER_DIR: $(ls -A "$work")"
ok "down after the failover leaves nothing ($(( $(date +%s) - t1 )) s)"
echo "integration/cluster_demo: all passed in $(( $(date +%s) - t0 )) s"
