#!/usr/bin/env bash
# bench/paging: a page of 10 OGC items on 1M reports, side by side in one
# run: the keyset `next` link (cursor) against the same page by `offset`,
# deep in the answer and for boxes of every size (a 0.01 degree box, a
# district-sized box, the whole city, no box). Server pinned to core 0, the
# client (bench/paging/pages.py: one keep-alive connection, sequential
# requests) to core 1. Target (issue 14): a page of 10 <= 2 ms at any
# offset and any bbox size.
# Prints a Markdown table and writes bench/out/paging.md.
#
# Usage: bench/paging/run.sh   (env: SECS=5 per cell, REP=1000000, DB=...)
source "$(dirname "$0")/../lib/common.sh"
DB=${DB:-$OUT/sample-100k-1m.sqlite}
SECS=${SECS:-5}
bench_build
bench_sample "$DB" 100000 "${REP:-1000000}"
trap 'mapd_stop 2>/dev/null; true' EXIT
mapd_start "$DB" --threads 1
taskset -acp 0 "$MAPD_PID" >/dev/null
log "mapd at $MAPD_URL"
taskset -c 1 python3 "$BENCH_ROOT/paging/pages.py" "$MAPD_URL" "$SECS" | tee "$OUT/paging.md"
