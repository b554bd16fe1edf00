#!/usr/bin/env bash
# Compile time of one translation unit that includes <tinygan/gan.hpp> and
# trains a model (tests/consumer/main.cpp, a small GAN), as a user's build
# compiles it: g++ -std=c++20 -O2 -fopenmp, nothing else. Also an empty main
# that only includes gan.hpp (the cost of parsing it). Prints the median of
# REPEATS (default 3) compilations each, in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${REPEATS:-3}
cxx=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include <tinygan/gan.hpp>\nint main() {}\n' > "$tmp/include_only.cpp"

median_seconds() {  # the source file
  local times=()
  for _ in $(seq "$repeats"); do
    local start=$(date +%s%N)
    "$cxx" -std=c++20 -O2 -fopenmp -Iinclude -I/usr/include/eigen3 -c "$1" -o "$tmp/out.o"
    times+=($(( ($(date +%s%N) - start) / 1000000 )))  # milliseconds
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.1f", a[int((NR + 1) / 2)] / 1000}'
}

echo "compile time, $cxx -O2, median of $repeats ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)):"
echo "  include gan.hpp, empty main:           $(median_seconds "$tmp/include_only.cpp") s"
echo "  tests/consumer/main.cpp (trains a GAN): $(median_seconds tests/consumer/main.cpp) s"
