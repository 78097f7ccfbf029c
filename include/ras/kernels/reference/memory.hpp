// ras/kernels/reference/memory.hpp — the reference backend of kernels/memory.hpp: plain scalar
// loops, element by element.
#pragma once

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/memory.hpp"

namespace ras::kernels::reference {

template <class S>
inline void run_kernel(Tag, op::Fill, Index n, S value, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = value;
}

// dst[k, i] = src[i]
template <class S>
inline void run_kernel(Tag, op::Tile, Index copies, Index m, const S* src, S* dst) {
  for (Index k = 0; k < copies; ++k)
    for (Index i = 0; i < m; ++i) dst[k * m + i] = src[i];
}

// dst[i, j] = src[idx[i], j]
template <class S>
inline void run_kernel(Tag, op::GatherRows, Index n, Index row, const Index* idx, const S* src, S* dst) {
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < row; ++j) dst[i * row + j] = src[idx[i] * row + j];
}

// dst[idx[i], j] += src[i, j], in index order i = 0, 1, ...
template <class S>
inline void run_kernel(Tag, op::ScatterAddRows, Index n, Index row, const Index* idx, const S* src, S* dst) {
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < row; ++j) dst[idx[i] * row + j] += src[i * row + j];
}

}  // namespace ras::kernels::reference
