#!/usr/bin/env bash
# Installs what tinygan needs on Debian 12 (when run as root and something is
# missing), then configures and builds everything in build/. Arguments go
# to CMake's configure step (CI: -DTINYGAN_BUILD_BENCH=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_packages.sh cmake g++ make libeigen3-dev doctest-dev libstb-dev

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j"$(nproc)"
