// ras/kernels/cuda/memory.cuh — the Cuda backend of kernels/memory.hpp.
#pragma once

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/memory.hpp"

namespace ras::kernels::cuda {

template <class S>
inline void run_kernel(Tag, op::Fill, Index n, S value, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = value; }, "fill");
}

template <class S>
inline void run_kernel(Tag, op::Tile, Index copies, Index m, const S* src, S* dst) {
  if (m <= 0) return;
  for_each_index(copies * m, [=] __device__(Index k) { dst[k] = src[k % m]; }, "tile");
}

template <class S>
inline void run_kernel(Tag, op::GatherRows, Index n, Index row, const Index* idx, const S* src, S* dst) {
  if (row <= 0) return;
  for_each_index(n * row, [=] __device__(Index k) { dst[k] = src[idx[k / row] * row + k % row]; }, "gather_rows");
}

// One thread per column j walks the rows in index order: repeated indices accumulate exactly as
// the reference (no atomics, deterministic).
template <class S>
inline void run_kernel(Tag, op::ScatterAddRows, Index n, Index row, const Index* idx, const S* src, S* dst) {
  if (n <= 0) return;
  for_each_index(row, [=] __device__(Index j) {
    for (Index i = 0; i < n; ++i) dst[idx[i] * row + j] += src[i * row + j];
  }, "scatter_add_rows");
}

}  // namespace ras::kernels::cuda
