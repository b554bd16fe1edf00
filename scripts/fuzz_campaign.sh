#!/usr/bin/env bash
# The long fuzz campaign, run by hand outside CI (CI's scripts/sanitize.sh
# fuzzes each reader for a minute). Runs RUNS executions (default 10^6) of
# each reader's libFuzzer target, JOBS at a time (default 2), starting from
# its seed corpus (tests/fuzz/corpus/READER) and what earlier campaigns grew
# (tests/fuzz/grown/READER). Then keeps, in tests/fuzz/grown/READER, the
# inputs that reach code the seeds do not (libFuzzer's -merge=1), so that
# CI's short runs start from there. Prints one line per reader: executions,
# seconds, coverage and the corpus kept; any finding fails the script, its
# input in build-sanitize/. Needs build-sanitize/ (scripts/sanitize.sh builds
# it; `cmake --build build-sanitize --target fuzz_idx ...` refreshes it).
#
#   scripts/fuzz_campaign.sh [READER ...]   READER: idx safetensors npy checkpoint image
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-1000000}
jobs=${JOBS:-2}
readers=("$@")
((${#readers[@]})) || readers=(idx safetensors npy checkpoint image)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

campaign() {
  local reader=$1 fuzzer=build-sanitize/tests/fuzz/fuzz_$1 log=build-sanitize/campaign_$1.log
  [[ -x $fuzzer ]] || { echo "fuzz_campaign.sh: $fuzzer not built (run scripts/sanitize.sh first)" >&2; return 1; }
  mkdir -p "$work/$reader/run" "$work/$reader/kept" "tests/fuzz/grown/$reader"
  cp -r "tests/fuzz/corpus/$reader/." "tests/fuzz/grown/$reader/." "$work/$reader/run/"
  local start=$SECONDS
  if ! "$fuzzer" "$work/$reader/run" -runs="$runs" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    -artifact_prefix=build-sanitize/ -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz_$reader: FOUND A PROBLEM (log: $log)" >&2
    grep -E "ERROR|runtime error|SUMMARY|deadly|Test unit written" "$log" >&2 || tail -30 "$log" >&2
    return 1
  fi
  local seconds=$((SECONDS - start))
  # The seeds first, so that what is kept is only what they do not already reach.
  cp -r "tests/fuzz/corpus/$reader/." "$work/$reader/kept/"
  "$fuzzer" -merge=1 "$work/$reader/kept" "$work/$reader/run" >"$log.merge" 2>&1
  rm -rf "tests/fuzz/grown/$reader" && mkdir -p "tests/fuzz/grown/$reader"
  for f in "$work/$reader/kept"/*; do
    [[ -e "tests/fuzz/corpus/$reader/$(basename "$f")" ]] || cp "$f" "tests/fuzz/grown/$reader/"
  done
  local done_line cov
  done_line=$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  echo "fuzz_$reader: $done_line ($seconds s wall), $cov; kept $(ls "tests/fuzz/grown/$reader" | wc -l) inputs" \
    "($(du -sk "tests/fuzz/grown/$reader" | cut -f1) KB) beyond the $(ls "tests/fuzz/corpus/$reader" | wc -l) seeds"
}

export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export -f campaign
export runs work
# xargs runs JOBS campaigns at a time and fails if any did.
printf '%s\n' "${readers[@]}" | xargs -P "$jobs" -I{} bash -c 'set -euo pipefail; campaign {}'
