// ras/kernels/reference/layout.hpp — the reference backend of kernels/layout.hpp: plain scalar
// loops; permutations map every output element's multi-index back to its input offset.
#pragma once

#include <array>
#include <cstddef>

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/layout.hpp"

namespace ras::kernels::reference {

// The input offset of element `flat` (row-major) of in.permute(perm): output axis k has extent
// in_shape[perm[k]] and walks input axis perm[k].
template <std::size_t R>
inline Index permuted_input_offset(const Shape<R>& in_shape, const std::array<int, R>& perm, Index flat) {
  const auto in_strides = row_major_strides(in_shape);
  Index offset = 0;
  for (std::size_t k = R; k-- > 0;) {
    const auto axis = static_cast<std::size_t>(perm[k]);
    const Index extent = in_shape[axis];
    offset += (flat % extent) * in_strides[axis];
    flat /= extent;
  }
  return offset;
}

// R is std::size_t (as in the Cpu backend): Shape<R> is std::array<Index, R>.
// out[o] = in[offset of o]
template <class S, std::size_t R>
inline void run_kernel(Tag, op::PermuteGather, const Shape<R>& in_shape, const std::array<int, R>& perm,
                       const S* in, S* out) {
  const Index total = numel(in_shape);
  for (Index o = 0; o < total; ++o) out[o] = in[permuted_input_offset<R>(in_shape, perm, o)];
}

// gin[offset of o] += gout[o]
template <class S, std::size_t R>
inline void run_kernel(Tag, op::PermuteScatterAcc, const Shape<R>& in_shape, const std::array<int, R>& perm,
                       const S* gout, S* gin) {
  const Index total = numel(in_shape);
  for (Index o = 0; o < total; ++o) gin[permuted_input_offset<R>(in_shape, perm, o)] += gout[o];
}

// dst[o, dst_off + l, i] = (or +=) src[o, src_off + l, i]
template <class S>
inline void run_kernel(Tag, op::AxisBlockCopy, Index outer, Index inner, Index len, const S* src, Index src_len,
                       Index src_off, S* dst, Index dst_len, Index dst_off, bool accumulate) {
  for (Index o = 0; o < outer; ++o)
    for (Index l = 0; l < len; ++l)
      for (Index i = 0; i < inner; ++i) {
        const S v = src[(o * src_len + src_off + l) * inner + i];
        S& d = dst[(o * dst_len + dst_off + l) * inner + i];
        d = accumulate ? d + v : v;
      }
}

}  // namespace ras::kernels::reference
