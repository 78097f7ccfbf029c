// ras/kernels/cuda/layout.cuh — the Cuda backend of kernels/layout.hpp: one thread per output
// element; the permutation's extents and strides travel by value in the launch.
#pragma once

#include <array>
#include <cstddef>

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/layout.hpp"

namespace ras::kernels::cuda {

// Output axis k (row-major over out extents) walks input axis perm[k] with input stride stride[k].
struct PermuteMap {
  static constexpr int max_rank = 8;
  int rank = 0;
  Index extent[max_rank] = {};
  Index stride[max_rank] = {};

  __device__ Index input_offset(Index flat) const {
    Index offset = 0;
    for (int k = rank - 1; k >= 0; --k) {
      offset += (flat % extent[k]) * stride[k];
      flat /= extent[k];
    }
    return offset;
  }
};

template <std::size_t R>
inline PermuteMap permute_map(const Shape<R>& in_shape, const std::array<int, R>& perm) {
  static_assert(R <= std::size_t(PermuteMap::max_rank), "permute: at most 8 axes on Cuda");
  const auto in_strides = row_major_strides(in_shape);
  PermuteMap m;
  m.rank = static_cast<int>(R);
  for (std::size_t k = 0; k < R; ++k) {
    const auto axis = static_cast<std::size_t>(perm[k]);
    m.extent[k] = in_shape[axis];
    m.stride[k] = in_strides[axis];
  }
  return m;
}

template <class S, std::size_t R>
inline void run_kernel(Tag, op::PermuteGather, const Shape<R>& in_shape, const std::array<int, R>& perm,
                       const S* in, S* out) {
  const PermuteMap m = permute_map<R>(in_shape, perm);
  for_each_index(numel(in_shape), [=] __device__(Index o) { out[o] = in[m.input_offset(o)]; }, "permute_gather");
}

// The map is a bijection: no two threads write the same element.
template <class S, std::size_t R>
inline void run_kernel(Tag, op::PermuteScatterAcc, const Shape<R>& in_shape, const std::array<int, R>& perm,
                       const S* gout, S* gin) {
  const PermuteMap m = permute_map<R>(in_shape, perm);
  for_each_index(numel(in_shape), [=] __device__(Index o) { gin[m.input_offset(o)] += gout[o]; },
                 "permute_scatter_acc");
}

template <class S>
inline void run_kernel(Tag, op::AxisBlockCopy, Index outer, Index inner, Index len, const S* src, Index src_len,
                       Index src_off, S* dst, Index dst_len, Index dst_off, bool accumulate) {
  if (len <= 0 || inner <= 0) return;
  for_each_index(outer * len * inner, [=] __device__(Index k) {
    const Index i = k % inner, l = (k / inner) % len, o = k / (inner * len);
    const S v = src[(o * src_len + src_off + l) * inner + i];
    S& d = dst[(o * dst_len + dst_off + l) * inner + i];
    d = accumulate ? d + v : v;
  }, "axis_block_copy");
}

}  // namespace ras::kernels::cuda
