// ras/kernels/cpu/pool.hpp — the Cpu backend of kernels/pool.hpp (vectorised, OpenMP).
#pragma once

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/pool.hpp"

namespace ras::kernels::cpu {

template <class S, class D>
inline Tensor<S, 4, D> run_kernel(Tag, op::AvgPool2dForward, const Tensor<S, 4, D>& x, const Pool2dArgs& a) {
  const auto [oh, ow] = avg_pool2d_output_size(x.shape(), a);
  const Index NC = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3);
  auto y = Tensor<S, 4, D>::uninitialized({x.dim(0), x.dim(1), oh, ow});
  const S* xd = x.data();
  S* yd = y.data();
#pragma omp parallel for schedule(static)
  for (Index q = 0; q < NC; ++q) {
    const S* xp = xd + q * H * W;
    for (Index i = 0; i < oh; ++i) {
      const auto wh = detail::pool_window(i, a.kernel_h, a.stride_h, a.pad_h, H);
      for (Index j = 0; j < ow; ++j) {
        const auto ww = detail::pool_window(j, a.kernel_w, a.stride_w, a.pad_w, W);
        S s = S(0);
        for (Index h = wh.begin; h < wh.end; ++h)
          for (Index w = ww.begin; w < ww.end; ++w) s += xp[h * W + w];
        const Index div = detail::pool_divisor(wh, ww, a.count_include_pad);
        yd[(q * oh + i) * ow + j] = div > 0 ? s / S(div) : S(0);
      }
    }
  }
  return y;
}

template <class S, class D>
inline void run_kernel(Tag, op::AvgPool2dBackward, const Tensor<S, 4, D>& dy, Tensor<S, 4, D>& dx,
                                const Pool2dArgs& a) {
  const auto [oh, ow] = avg_pool2d_output_size(dx.shape(), a);
  const Index NC = dx.dim(0) * dx.dim(1), H = dx.dim(2), W = dx.dim(3);
  const S* dyd = dy.data();
  S* dxd = dx.data();
#pragma omp parallel for schedule(static)
  for (Index q = 0; q < NC; ++q) {
    S* xp = dxd + q * H * W;
    for (Index i = 0; i < oh; ++i) {
      const auto wh = detail::pool_window(i, a.kernel_h, a.stride_h, a.pad_h, H);
      for (Index j = 0; j < ow; ++j) {
        const auto ww = detail::pool_window(j, a.kernel_w, a.stride_w, a.pad_w, W);
        const Index div = detail::pool_divisor(wh, ww, a.count_include_pad);
        if (div == 0) continue;
        const S g = dyd[(q * oh + i) * ow + j] / S(div);
        for (Index h = wh.begin; h < wh.end; ++h)
          for (Index w = ww.begin; w < ww.end; ++w) xp[h * W + w] += g;
      }
    }
  }
}

}  // namespace ras::kernels::cpu
