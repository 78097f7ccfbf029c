#!/usr/bin/env bash
# Installs the dependencies, builds ras with its tests, examples and benchmarks, and runs every
# test (ctest). This is the README's test command and what CI runs (.ci/run). After the normal
# tests: the CUDA compile leg (where nvcc is installed), the sanitizer leg (scripts/run-sanitizers.sh: the suite under ASan+UBSan) and the fuzz
# replay (scripts/fuzz.sh --replay: committed corpora and regressions, then ~30 s per harness).
# RAS_SKIP_HARDENING=1 runs only the normal build and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=${RAS_JOBS:-$(nproc)}
# RAS_WITH_MPI: the MPI layer is built into the same ras (it behaves as a plain build unless started by
# mpirun) and tested by the cli_mpi entry (tests/cli/mpi.sh, mpirun -np 2 on loopback)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRAS_BUILD_TESTS=ON -DRAS_BUILD_EXAMPLES=ON -DRAS_BUILD_BENCHMARKS=ON \
  -DRAS_WITH_MPI=ON
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
# The CUDA device, compile-only (sm_80 and sm_90) wherever the toolkit is installed, so the CUDA path
# cannot rot on our GPU-less machines (scripts/run-cuda-compile.sh; RAS_SKIP_CUDA=1 skips it).
if [ "${RAS_SKIP_CUDA:-0}" != 1 ]; then
  if [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc > /dev/null; then
    RAS_JOBS="$jobs" ./scripts/run-cuda-compile.sh
  else
    echo "run-tests: no CUDA toolkit (nvcc) found: the CUDA compile leg is skipped"
  fi
fi
if [ "${RAS_SKIP_HARDENING:-0}" != 1 ]; then
  t0=$(date +%s)
  bash scripts/run-sanitizers.sh
  t1=$(date +%s)
  bash scripts/fuzz.sh --replay "${RAS_FUZZ_SECONDS:-30}"
  t2=$(date +%s)
  echo "hardening legs: sanitizers $((t1 - t0)) s, fuzz replay $((t2 - t1)) s"
fi
