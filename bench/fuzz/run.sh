#!/usr/bin/env bash
# bench/fuzz/run.sh - run every libFuzzer target of fuzz/ for a while, one
# after the other (nice 19), and record what they did.
#
#   bench/fuzz/run.sh                    # every target, 300 s each
#   SECONDS_PER_TARGET=3600 bench/fuzz/run.sh api_reports import
#
# Builds build/h-fuzz (clang, -DMAPD_FUZZ=ON, ASan+UBSan) when needed. Each
# target starts from its seeds in tests/fuzz/<target>/ plus a working
# corpus in bench/fuzz/out/corpus/<target>/ (kept between runs, not
# committed). Crashes, timeouts and OOMs are copied into tests/fuzz/<target>/
# (they then replay in `make test`) and fail the run. The API targets run on
# a small sample city (300 facilities, 1,000 reports) made once in
# bench/fuzz/out/. Results: bench/fuzz/out/summary.md (appended) and
# bench/fuzz/out/<target>.log. MERGE=1 also merges the working corpus,
# minimised, into tests/fuzz/<target>/min-* (coverage seeds for CI).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build/h-fuzz}
SECS=${SECONDS_PER_TARGET:-300}
OUT=$ROOT/bench/fuzz/out
ALL=(api_tiles api_queries api_reports api_open311 api_within crs mvt_decode import)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
mkdir -p "$OUT"

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  bash scripts/deps.sh fuzz
  cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMAPD_FUZZ=ON -DMAPD_ASAN=ON -DMAPD_UBSAN=ON -DMAPD_WERROR=OFF -DBUILD_TESTING=OFF \
    -DMAPD_NODE_TESTS=OFF >/dev/null
fi
nice -n 19 cmake --build "$BUILD" -j "${JOBS:-2}" --target mapd $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

DB=$OUT/fuzz-city.sqlite
if [ ! -f "$DB" ]; then
  "$BUILD/mapd/mapd" sample --db "$DB" --facilities 300 --reports 1000 --seed 7 --quiet
fi
export MAPD_FUZZ_DB=$DB
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
for t in "${targets[@]}"; do
  corpus=$OUT/corpus/$t
  art=$OUT/artifacts/$t/
  rm -rf "$art"; mkdir -p "$corpus" "$art" # earlier findings are in tests/fuzz/$t already
  log=$OUT/$t.log
  echo "fuzz: $t for ${SECS}s (log $log)" >&2
  start=$(date +%s)
  set +e
  nice -n 19 "$BUILD/fuzz/fuzz_$t" -max_total_time="$SECS" -timeout=60 -rss_limit_mb=3072 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$art" \
    "$corpus" "$ROOT/tests/fuzz/$t" >"$log" 2>&1
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  cov=$(grep -aoE '(INITED|#[0-9]+).*cov: [0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || true)
  # crash/timeout/oom/leak fail the run and join the regression corpus;
  # slow-unit-* (over 10 s, usually a loaded machine) are only listed.
  found=$(ls "$art" 2>/dev/null | grep -vc '^slow-unit-' || true)
  for f in "$art"*; do
    [ -e "$f" ] || continue
    case $(basename "$f") in slow-unit-*) echo "fuzz: $t slow input $f" >&2; continue;; esac
    cp "$f" "$ROOT/tests/fuzz/$t/$(basename "$f")"
    echo "fuzz: $t found $(basename "$f") -> tests/fuzz/$t/" >&2
  done
  if [ "${MERGE:-0}" = 1 ] && [ $rc = 0 ]; then
    tmp=$(mktemp -d)
    nice -n 19 "$BUILD/fuzz/fuzz_$t" -merge=1 "$tmp" "$ROOT/tests/fuzz/$t" "$corpus" >/dev/null 2>&1 || true
    for f in "$tmp"/*; do [ -e "$f" ] && cp "$f" "$ROOT/tests/fuzz/$t/min-$(basename "$f")"; done
    rm -rf "$tmp"
  fi
  result=ok; [ $rc = 0 ] && [ "$found" = 0 ] || { result="FAILED (exit $rc, $found artifacts)"; status=1; }
  printf '| %s | %s | %s s | %s | %s | %s |\n' "$(date -u +%FT%TZ)" "$t" "$took" "$execs" "$cov" \
    "$result" | tee -a "$OUT/summary.md"
done
exit $status
