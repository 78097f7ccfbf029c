#!/usr/bin/env bash
# Installs the dependencies, builds ras with its tests, examples and benchmarks, and runs every
# test (ctest). This is the README's test command and what CI runs (.ci/run). After the normal
# tests: the sanitizer leg (scripts/run-sanitizers.sh: the suite under ASan+UBSan) and the fuzz
# replay (scripts/fuzz.sh --replay: committed corpora and regressions, then ~30 s per harness).
# RAS_SKIP_HARDENING=1 runs only the normal build and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=${RAS_JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRAS_BUILD_TESTS=ON -DRAS_BUILD_EXAMPLES=ON -DRAS_BUILD_BENCHMARKS=ON
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
if [ "${RAS_SKIP_HARDENING:-0}" != 1 ]; then
  t0=$(date +%s)
  bash scripts/run-sanitizers.sh
  t1=$(date +%s)
  bash scripts/fuzz.sh --replay "${RAS_FUZZ_SECONDS:-30}"
  t2=$(date +%s)
  echo "hardening legs: sanitizers $((t1 - t0)) s, fuzz replay $((t2 - t1)) s"
fi
