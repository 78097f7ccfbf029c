// ras/kernels/cpu/memory.hpp — the Cpu backend of kernels/memory.hpp.
#pragma once

#include <algorithm>

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/memory.hpp"

namespace ras::kernels::cpu {

template <class S>
inline void run_kernel(Tag, op::Fill, Index n, S value, S* y) {
  for_each_index(n, [=](Index i) { y[i] = value; });
}

template <class S>
inline void run_kernel(Tag, op::Tile, Index copies, Index m, const S* src, S* dst) {
#pragma omp parallel for schedule(static) if (copies * m >= parallel_grain && copies > 1)
  for (Index k = 0; k < copies; ++k) std::copy(src, src + m, dst + k * m);
}

template <class S>
inline void run_kernel(Tag, op::GatherRows, Index n, Index row, const Index* idx, const S* src, S* dst) {
#pragma omp parallel for schedule(static) if (n * row >= parallel_grain)
  for (Index i = 0; i < n; ++i) std::copy(src + idx[i] * row, src + (idx[i] + 1) * row, dst + i * row);
}

// Serial over rows (repeated indices write the same row), vectorised along the row.
template <class S>
inline void run_kernel(Tag, op::ScatterAddRows, Index n, Index row, const Index* idx, const S* src, S* dst) {
  for (Index i = 0; i < n; ++i) {
    S* d = dst + idx[i] * row;
    const S* s = src + i * row;
#pragma omp simd
    for (Index j = 0; j < row; ++j) d[j] += s[j];
  }
}

}  // namespace ras::kernels::cpu
