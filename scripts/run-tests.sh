#!/usr/bin/env bash
# Installs the dependencies, builds ras with its tests, examples and benchmarks, and runs every
# test (ctest). This is the README's test command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=${RAS_JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRAS_BUILD_TESTS=ON -DRAS_BUILD_EXAMPLES=ON -DRAS_BUILD_BENCHMARKS=ON
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
