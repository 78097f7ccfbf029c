#!/usr/bin/env bash
# Installs ras from the source tree into a temporary prefix, builds the consumer project against
# it with find_package(ras) only, and runs it.   run.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1; work=$2
rm -rf "$work"; mkdir -p "$work"
cmake -S "$src" -B "$work/ras-build" -DRAS_BUILD_TESTS=OFF -DRAS_BUILD_EXAMPLES=OFF -DRAS_BUILD_BENCHMARKS=OFF \
      -DCMAKE_INSTALL_PREFIX="$work/prefix" > "$work/configure.log"
cmake --install "$work/ras-build" > "$work/install.log"
cmake -S "$src/tests/consumer" -B "$work/consumer-build" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=Release > "$work/consumer-configure.log"
cmake --build "$work/consumer-build" > "$work/consumer-build.log"
"$work/consumer-build/mlp_regression"
"$work/consumer-build/image_roundtrip"
