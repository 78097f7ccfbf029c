// ras/kernels/layout.hpp — layout kernels: axis permutation (Tensor.permute made contiguous) and
// its gradient, and block copies along one axis (torch.cat / narrow and their gradients).
// Front-end: dispatches to the device backend.
#pragma once

#include <array>

#include "ras/config.hpp"
#include "ras/kernels/backend.hpp"
#include "ras/shape.hpp"

namespace ras::kernels {

// in: in_shape -> out = in.permute(perm) (out extent k = in extent perm[k]; both contiguous)
template <class S, int R, class D = Cpu>
inline void permute_gather(const Shape<R>& in_shape, const std::array<int, R>& perm, const S* in, S* out) {
  dispatch<op::PermuteGather, D>(in_shape, perm, in, out);
}

// Gradient of permute_gather: gin[f(o)] += gout[o] (f is a bijection).
template <class S, int R, class D = Cpu>
inline void permute_scatter_acc(const Shape<R>& in_shape, const std::array<int, R>& perm, const S* gout,
                                S* gin) {
  dispatch<op::PermuteScatterAcc, D>(in_shape, perm, gout, gin);
}

// dst[o, dst_off + l, i] (+)= src[o, src_off + l, i] for l < len, with src and dst of extents
// src_len / dst_len along the axis: an (outer, *, inner) layout.
template <class S, class D = Cpu>
inline void axis_block_copy(Index outer, Index inner, Index len, const S* src, Index src_len, Index src_off,
                            S* dst, Index dst_len, Index dst_off, bool accumulate) {
  dispatch<op::AxisBlockCopy, D>(outer, inner, len, src, src_len, src_off, dst, dst_len, dst_off, accumulate);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/layout.hpp"
#include "ras/kernels/reference/layout.hpp"
