#!/usr/bin/env bash
# Builds the tests and examples with clang's AddressSanitizer and
# UndefinedBehaviorSanitizer in build-sanitize/, runs the whole suite (the
# e2e tests run the example programs), then fuzzes each file reader for
# FUZZ_SECONDS (default 60) on a copy of its seed corpus (tests/fuzz/corpus).
# Fails on any test failure, sanitizer report or fuzzer finding. On Debian 12
# as root it installs what is missing (clang-14, its runtimes, libomp).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-2}

packages=(cmake make g++ clang-14 libclang-rt-14-dev libomp-14-dev libeigen3-dev doctest-dev libstb-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "sanitize.sh needs these Debian packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

start=$SECONDS
# -O1 keeps Eigen fast enough for the e2e runs while compiling quickly; no
# debug info (the sanitizers' traces still name the functions).
sanitize="-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
# The suite is built with g++ (SANITIZE_CXX): clang 14 cannot compile
# tests/e2e/test_programs.cpp, whose lambdas capture structured bindings.
CXX=${SANITIZE_CXX:-g++} cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="-O1 -g0 $sanitize" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DTINYGAN_BUILD_TESTS=ON -DTINYGAN_BUILD_EXAMPLES=ON -DTINYGAN_BUILD_BENCH=OFF >/dev/null
# Only what ctest runs: the unit tests, and the e2e tests with the four
# programs they run (mnist_classifier is not among them).
cmake --build build-sanitize -j"$jobs" --target tinygan_tests tinygan_e2e_tests
# libFuzzer needs clang: the fuzz targets get a build folder of their own.
CXX=clang++-14 cmake -S . -B build-sanitize/fuzz -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="-O1 -g0 $sanitize -Wno-pass-failed" -DTINYGAN_BUILD_TESTS=OFF \
  -DTINYGAN_BUILD_EXAMPLES=OFF -DTINYGAN_BUILD_BENCH=OFF -DTINYGAN_FUZZ=ON >/dev/null
cmake --build build-sanitize/fuzz -j"$jobs"
echo "sanitize.sh: built in $((SECONDS - start)) s"

# Any report stops the program with a non-zero status: the test fails.
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-sanitize --output-on-failure -j"$jobs"
echo "sanitize.sh: tests passed after $((SECONDS - start)) s"

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
status=0
for reader in idx safetensors npy checkpoint; do
  cp -r "tests/fuzz/corpus/$reader" "$corpus/$reader"
  log="build-sanitize/fuzz/fuzz_$reader.log"
  # A finding writes crash-/leak-/oom-/timeout-<hash> into build-sanitize/fuzz/ and exits non-zero.
  if build-sanitize/fuzz/tests/fuzz/fuzz_$reader "$corpus/$reader" -max_total_time="$fuzz_seconds" \
      -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -artifact_prefix=build-sanitize/fuzz/ >"$log" 2>&1; then
    echo "fuzz_$reader: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log")"
  else
    echo "fuzz_$reader: FOUND A PROBLEM (log: $log)" >&2
    grep -E "ERROR|runtime error|SUMMARY|deadly|Test unit written" "$log" >&2 || tail -30 "$log" >&2
    status=1
  fi
done
echo "sanitize.sh: done in $((SECONDS - start)) s"
exit $status
