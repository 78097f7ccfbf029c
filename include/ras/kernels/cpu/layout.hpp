// ras/kernels/cpu/layout.hpp — the Cpu backend of kernels/layout.hpp: permutations walk the output
// row by row (parallel over rows); block copies are parallel over the outer index.
#pragma once

#include <algorithm>

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/layout.hpp"

namespace ras::kernels::cpu {

// Walks out = in.permute(perm) row by row: f(r, base, last, last_stride) for output row r
// (elements r*last .. r*last+last-1), whose element j sits at input offset base + j * last_stride.
template <int R, class F>
inline void permute_rows(const Shape<R>& in_shape, const std::array<int, R>& perm, F&& f) {
  const auto in_strides = row_major_strides(in_shape);
  Shape<R> out_shape{}, stride{};  // stride[k]: input stride of output axis k
  for (int k = 0; k < R; ++k) {
    out_shape[static_cast<std::size_t>(k)] = in_shape[static_cast<std::size_t>(perm[k])];
    stride[static_cast<std::size_t>(k)] = in_strides[static_cast<std::size_t>(perm[k])];
  }
  const Index last = out_shape[R - 1], last_stride = stride[R - 1];
  const Index total = numel(out_shape);
  const Index rows = last == 0 ? 0 : total / last;
#pragma omp parallel for schedule(static) if (total >= parallel_grain)
  for (Index r = 0; r < rows; ++r) {
    Index rem = r, base = 0;
    for (int k = R - 2; k >= 0; --k) {
      const Index e = out_shape[static_cast<std::size_t>(k)];
      base += (rem % e) * stride[static_cast<std::size_t>(k)];
      rem /= e;
    }
    f(r, base, last, last_stride);
  }
}

// R is std::size_t here: Shape<R> is std::array<Index, R>, whose extent deduces as std::size_t.
template <class S, std::size_t R>
inline void run_kernel(Tag, op::PermuteGather, const Shape<R>& in_shape, const std::array<int, R>& perm,
                       const S* in, S* out) {
  permute_rows<static_cast<int>(R)>(in_shape, perm, [=](Index r, Index base, Index last, Index st) {
    S* o = out + r * last;
    for (Index j = 0; j < last; ++j) o[j] = in[base + j * st];
  });
}

template <class S, std::size_t R>
inline void run_kernel(Tag, op::PermuteScatterAcc, const Shape<R>& in_shape, const std::array<int, R>& perm,
                       const S* gout, S* gin) {
  permute_rows<static_cast<int>(R)>(in_shape, perm, [=](Index r, Index base, Index last, Index st) {
    const S* o = gout + r * last;
    for (Index j = 0; j < last; ++j) gin[base + j * st] += o[j];
  });
}

template <class S>
inline void run_kernel(Tag, op::AxisBlockCopy, Index outer, Index inner, Index len, const S* src, Index src_len,
                       Index src_off, S* dst, Index dst_len, Index dst_off, bool accumulate) {
  const Index chunk = len * inner;
#pragma omp parallel for schedule(static) if (outer * chunk >= parallel_grain && outer > 1)
  for (Index o = 0; o < outer; ++o) {
    const S* s = src + (o * src_len + src_off) * inner;
    S* d = dst + (o * dst_len + dst_off) * inner;
    if (accumulate) {
#pragma omp simd
      for (Index i = 0; i < chunk; ++i) d[i] += s[i];
    } else {
      std::copy(s, s + chunk, d);
    }
  }
}

}  // namespace ras::kernels::cpu
