// ras/kernels/memory.hpp — data-movement kernels: fill, tiling a block, and gathering /
// scatter-adding rows by index (torch.index_select / index_add_ along axis 0, F.embedding and its
// backward). Rows are contiguous runs of `row` elements. Front-end: dispatches to the device backend.
#pragma once

#include "ras/config.hpp"
#include "ras/kernels/backend.hpp"

namespace ras::kernels {

// y[i] = value for i in [0, n)
template <class S, class D = Cpu>
inline void fill(Index n, S value, S* y) {
  dispatch<op::Fill, D>(n, value, y);
}

// dst (copies, m) : dst[k, i] = src[i]   (src: m elements)
template <class S, class D = Cpu>
inline void tile(Index copies, Index m, const S* src, S* dst) {
  dispatch<op::Tile, D>(copies, m, src, dst);
}

// dst (n, row) : dst[i, :] = src[idx[i], :]. idx: n indices on the device, each in range (the
// caller checks them on the host).
template <class S, class D = Cpu>
inline void gather_rows(Index n, Index row, const Index* idx, const S* src, S* dst) {
  dispatch<op::GatherRows, D>(n, row, idx, src, dst);
}

// dst[idx[i], :] += src[i, :] for i in [0, n); repeated indices accumulate in index order.
template <class S, class D = Cpu>
inline void scatter_add_rows(Index n, Index row, const Index* idx, const S* src, S* dst) {
  dispatch<op::ScatterAddRows, D>(n, row, idx, src, dst);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/memory.hpp"
#include "ras/kernels/reference/memory.hpp"
