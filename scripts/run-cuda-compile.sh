#!/usr/bin/env bash
# Compiles the CUDA device (RAS_WITH_CUDA=ON) in its own build folder, for sm_80 and sm_90:
# the Cuda parity test (every kernel, the RAS model and MobileNetV2 instantiated on ras::Cuda) and
# the `ras` CLI with its Cuda trainer. Compile-only: nothing runs, so it works on machines without
# a GPU (CI) and keeps the CUDA path from rotting. Needs the CUDA toolkit (nvcc, cuBLAS).
#   RAS_CUDA_BUILD_DIR   build folder (default build-cuda)
#   RAS_JOBS             parallel jobs (default: all cores)
#   RAS_CUDA_ARCHS       CMAKE_CUDA_ARCHITECTURES (default "80;90"; e.g. 90 or native on a GPU machine)
#   RAS_CUDA_TARGETS     targets to build (default "ras_cuda_parity ras_cli")
#   CUDACXX              nvcc to use (default /usr/local/cuda/bin/nvcc when it exists)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${RAS_CUDA_BUILD_DIR:-build-cuda}
jobs=${RAS_JOBS:-$(nproc)}
archs=${RAS_CUDA_ARCHS:-80;90}
read -r -a targets <<< "${RAS_CUDA_TARGETS:-ras_cuda_parity ras_cli}"
if [[ -z "${CUDACXX:-}" && -x /usr/local/cuda/bin/nvcc ]]; then export CUDACXX=/usr/local/cuda/bin/nvcc; fi
if ! command -v "${CUDACXX:-nvcc}" > /dev/null; then
  echo "run-cuda-compile: no nvcc found (set CUDACXX or install the CUDA toolkit)" >&2
  exit 1
fi
start=$(date +%s)
mkdir -p "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DRAS_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$archs" \
  -DRAS_BUILD_TESTS=ON -DRAS_BUILD_EXAMPLES=ON -DRAS_BUILD_BENCHMARKS=ON > "$dir/configure.log" 2>&1 ||
  { cat "$dir/configure.log"; exit 1; }
cmake --build "$dir" -j "$jobs" --target "${targets[@]}"
echo "run-cuda-compile: ${targets[*]} compiled for CUDA architectures $archs in $(( $(date +%s) - start )) s"
