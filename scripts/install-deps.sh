#!/usr/bin/env bash
# Installs every Debian package ras needs to build, test and run (as root on Debian bookworm).
# Both README commands call this script. Set RAS_WITH_TORCH=1 to also install PyTorch, which only
# tests/fixtures/make_fixtures.py and the side-by-side benchmarks need. clang-14 + libclang-rt-14-dev:
# libFuzzer for scripts/fuzz.sh; libpng-dev + libjpeg-dev: image decoding (ras::image). libopenmpi-dev +
# openmpi-bin: the optional MPI layer (-DRAS_WITH_MPI=ON), always installed because the test build
# (scripts/run-tests.sh) enables it and runs the mpirun test.
set -euo pipefail
packages=(build-essential cmake pkg-config libeigen3-dev libxtensor-dev xtl-dev doctest-dev libstb-dev
          libpng-dev libjpeg-dev nlohmann-json3-dev libbenchmark-dev python3 python3-matplotlib
          clang-14 libclang-rt-14-dev
          libopenmpi-dev openmpi-bin
          chromium)  # chromium: the report_chromium test renders the HTML report headless
if [ "${RAS_WITH_TORCH:-0}" = 1 ]; then
  packages+=(python3-torch python3-torchvision python3-numpy python3-pil python3-sklearn)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
