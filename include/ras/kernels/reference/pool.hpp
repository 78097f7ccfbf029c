// ras/kernels/reference/pool.hpp — the reference backend of kernels/pool.hpp: plain scalar loops
// over each output window (detail::pool_window clips it; count_include_pad picks the divisor).
#pragma once

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/pool.hpp"

namespace ras::kernels::reference {

// y[n, c, i, j] = sum of x over the clipped window / divisor (0 when the divisor is 0)
template <class S, class D>
inline Tensor<S, 4, D> run_kernel(Tag, op::AvgPool2dForward, const Tensor<S, 4, D>& x, const Pool2dArgs& a) {
  const auto [OH, OW] = avg_pool2d_output_size(x.shape(), a);
  const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  auto y = Tensor<S, 4, D>::uninitialized({N, C, OH, OW});
  const S* xd = x.data();
  S* yd = y.data();
  for (Index n = 0; n < N; ++n)
    for (Index c = 0; c < C; ++c)
      for (Index i = 0; i < OH; ++i)
        for (Index j = 0; j < OW; ++j) {
          const auto wh = detail::pool_window(i, a.kernel_h, a.stride_h, a.pad_h, H);
          const auto ww = detail::pool_window(j, a.kernel_w, a.stride_w, a.pad_w, W);
          S sum = S(0);
          for (Index h = wh.begin; h < wh.end; ++h)
            for (Index w = ww.begin; w < ww.end; ++w) sum += xd[((n * C + c) * H + h) * W + w];
          const Index divisor = detail::pool_divisor(wh, ww, a.count_include_pad);
          yd[((n * C + c) * OH + i) * OW + j] = divisor > 0 ? sum / S(divisor) : S(0);
        }
  return y;
}

// dx[n, c, h, w] += dy[n, c, i, j] / divisor for every window (i, j) containing (h, w)
template <class S, class D>
inline void run_kernel(Tag, op::AvgPool2dBackward, const Tensor<S, 4, D>& dy, Tensor<S, 4, D>& dx,
                       const Pool2dArgs& a) {
  const auto [OH, OW] = avg_pool2d_output_size(dx.shape(), a);
  const Index N = dx.dim(0), C = dx.dim(1), H = dx.dim(2), W = dx.dim(3);
  const S* dyd = dy.data();
  S* dxd = dx.data();
  for (Index n = 0; n < N; ++n)
    for (Index c = 0; c < C; ++c)
      for (Index i = 0; i < OH; ++i)
        for (Index j = 0; j < OW; ++j) {
          const auto wh = detail::pool_window(i, a.kernel_h, a.stride_h, a.pad_h, H);
          const auto ww = detail::pool_window(j, a.kernel_w, a.stride_w, a.pad_w, W);
          const Index divisor = detail::pool_divisor(wh, ww, a.count_include_pad);
          if (divisor == 0) continue;
          const S share = dyd[((n * C + c) * OH + i) * OW + j] / S(divisor);
          for (Index h = wh.begin; h < wh.end; ++h)
            for (Index w = ww.begin; w < ww.end; ++w) dxd[((n * C + c) * H + h) * W + w] += share;
        }
}

}  // namespace ras::kernels::reference
