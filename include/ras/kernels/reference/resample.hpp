// ras/kernels/reference/resample.hpp — the reference backend of kernels/resample.hpp: plain scalar
// loops; each output pixel blends the two source rows x two source columns of detail::linear_taps.
#pragma once

#include <cstddef>

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/resample.hpp"

namespace ras::kernels::reference {

// y[n, c, i, j] = sum over the row taps (h, a) of i and the column taps (w, b) of j of a * b * x[n, c, h, w]
template <class S, class D>
inline Tensor<S, 4, D> run_kernel(Tag, op::InterpolateBilinearForward, const Tensor<S, 4, D>& x, Index out_h,
                                  Index out_w, bool align_corners) {
  const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const auto rows = detail::linear_taps<S>(H, out_h, align_corners);
  const auto cols = detail::linear_taps<S>(W, out_w, align_corners);
  auto y = Tensor<S, 4, D>::uninitialized({N, C, out_h, out_w});
  const S* xd = x.data();
  S* yd = y.data();
  for (Index n = 0; n < N; ++n)
    for (Index c = 0; c < C; ++c)
      for (Index i = 0; i < out_h; ++i)
        for (Index j = 0; j < out_w; ++j) {
          const auto ki = static_cast<std::size_t>(i), kj = static_cast<std::size_t>(j);
          const Index h0 = rows.i0[ki], h1 = rows.i1[ki], w0 = cols.i0[kj], w1 = cols.i1[kj];
          const S* plane = xd + (n * C + c) * H * W;
          yd[((n * C + c) * out_h + i) * out_w + j] =
              rows.l0[ki] * (cols.l0[kj] * plane[h0 * W + w0] + cols.l1[kj] * plane[h0 * W + w1]) +
              rows.l1[ki] * (cols.l0[kj] * plane[h1 * W + w0] + cols.l1[kj] * plane[h1 * W + w1]);
        }
  return y;
}

// dx[n, c, h, w] += a * b * dy[n, c, i, j] for each of the four taps of every output (i, j)
template <class S, class D>
inline void run_kernel(Tag, op::InterpolateBilinearBackward, const Tensor<S, 4, D>& dy, Tensor<S, 4, D>& dx,
                       bool align_corners) {
  const Index N = dx.dim(0), C = dx.dim(1), H = dx.dim(2), W = dx.dim(3);
  const Index out_h = dy.dim(2), out_w = dy.dim(3);
  const auto rows = detail::linear_taps<S>(H, out_h, align_corners);
  const auto cols = detail::linear_taps<S>(W, out_w, align_corners);
  const S* dyd = dy.data();
  S* dxd = dx.data();
  for (Index n = 0; n < N; ++n)
    for (Index c = 0; c < C; ++c)
      for (Index i = 0; i < out_h; ++i)
        for (Index j = 0; j < out_w; ++j) {
          const auto ki = static_cast<std::size_t>(i), kj = static_cast<std::size_t>(j);
          const Index h0 = rows.i0[ki], h1 = rows.i1[ki], w0 = cols.i0[kj], w1 = cols.i1[kj];
          const S g = dyd[((n * C + c) * out_h + i) * out_w + j];
          S* plane = dxd + (n * C + c) * H * W;
          plane[h0 * W + w0] += rows.l0[ki] * cols.l0[kj] * g;
          plane[h0 * W + w1] += rows.l0[ki] * cols.l1[kj] * g;
          plane[h1 * W + w0] += rows.l1[ki] * cols.l0[kj] * g;
          plane[h1 * W + w1] += rows.l1[ki] * cols.l1[kj] * g;
        }
}

}  // namespace ras::kernels::reference
