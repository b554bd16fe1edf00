#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer,
# then fuzzing; run by CI. Builds in build-sanitize/ with clang 14 at -O1 the
# unit tests (everything instrumented, Eigen included), the five programs
# (Eigen's own code left out: scripts/sanitize_ignorelist.txt says why), the
# end-to-end tests that drive them and the libFuzzer targets; runs the unit
# and end-to-end tests, then fuzzes each file reader for FUZZ_SECONDS
# (default 60; the five at once) on a copy of its seed corpus
# (tests/fuzz/corpus) and of the corpus the long campaign grew
# (tests/fuzz/grown, scripts/fuzz_campaign.sh). Fails on any test failure,
# sanitizer report or fuzzer finding. On Debian 12 as root it installs what
# is missing (clang-14, its runtimes, libomp).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-2}

scripts/install_packages.sh cmake make g++ clang-14 libclang-rt-14-dev libomp-14-dev libeigen3-dev doctest-dev libstb-dev

start=$SECONDS
# clang, not g++: libFuzzer and ignorelists are clang's, and clang compiles
# instrumented code several times faster. -O1 keeps the programs fast enough;
# no debug info (the sanitizers' traces still name the functions).
sanitize="-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
CXX=clang++-14 cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="-O1 -g0 $sanitize -Wno-pass-failed" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DTINYGAN_PROGRAM_OPTIONS="-fsanitize-ignorelist=$PWD/scripts/sanitize_ignorelist.txt" \
  -DTINYGAN_BUILD_TESTS=ON -DTINYGAN_BUILD_EXAMPLES=ON -DTINYGAN_BUILD_BENCH=OFF -DTINYGAN_FUZZ=ON >/dev/null
# Everything configured (one target at a time would leave a core idle while
# each small fuzz target compiles).
cmake --build build-sanitize -j"$jobs"
echo "sanitize.sh: built in $((SECONDS - start)) s"

# Any report stops the program with a non-zero status: the test fails.
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-sanitize --output-on-failure -j"$jobs"
echo "sanitize.sh: unit and end-to-end tests passed after $((SECONDS - start)) s"

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
# The five fuzzers run at once: each gets its full time on the clock.
pids=()
for reader in idx safetensors npy checkpoint image; do
  cp -r "tests/fuzz/corpus/$reader" "$corpus/$reader"
  # and what scripts/fuzz_campaign.sh's long runs found that reaches further
  [[ -d tests/fuzz/grown/$reader ]] && cp -r "tests/fuzz/grown/$reader/." "$corpus/$reader/"
  # A finding writes crash-/leak-/oom-/timeout-<hash> into build-sanitize/ and exits non-zero.
  build-sanitize/tests/fuzz/fuzz_$reader "$corpus/$reader" -max_total_time="$fuzz_seconds" \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -artifact_prefix=build-sanitize/ \
    >"build-sanitize/fuzz_$reader.log" 2>&1 &
  pids+=($!)
done
status=0
i=0
for reader in idx safetensors npy checkpoint image; do
  log="build-sanitize/fuzz_$reader.log"
  if wait "${pids[$i]}"; then
    echo "fuzz_$reader: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log")"
  else
    echo "fuzz_$reader: FOUND A PROBLEM (log: $log)" >&2
    grep -E "ERROR|runtime error|SUMMARY|deadly|Test unit written" "$log" >&2 || tail -30 "$log" >&2
    status=1
  fi
  i=$((i + 1))
done
echo "sanitize.sh: done in $((SECONDS - start)) s"
exit $status
