// ras/kernels/cpu/resample.hpp — the Cpu backend of kernels/resample.hpp (vectorised, OpenMP).
#pragma once

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/resample.hpp"

namespace ras::kernels::cpu {

template <class S, class D>
inline Tensor<S, 4, D> run_kernel(Tag, op::InterpolateBilinearForward, const Tensor<S, 4, D>& x, Index out_h,
                                                    Index out_w, bool align_corners) {
  const Index H = x.dim(2), W = x.dim(3), NC = x.dim(0) * x.dim(1);
  const auto th = detail::linear_taps<S>(H, out_h, align_corners);
  const auto tw = detail::linear_taps<S>(W, out_w, align_corners);
  auto y = Tensor<S, 4, D>::uninitialized({x.dim(0), x.dim(1), out_h, out_w});
  const S* xd = x.data();
  S* yd = y.data();
#pragma omp parallel for schedule(static)
  for (Index q = 0; q < NC; ++q) {
    const S* xp = xd + q * H * W;
    S* yp = yd + q * out_h * out_w;
    for (Index i = 0; i < out_h; ++i) {
      const auto ki = static_cast<std::size_t>(i);
      const S* r0 = xp + th.i0[ki] * W;
      const S* r1 = xp + th.i1[ki] * W;
      const S a0 = th.l0[ki], a1 = th.l1[ki];
      for (Index j = 0; j < out_w; ++j) {
        const auto kj = static_cast<std::size_t>(j);
        const Index j0 = tw.i0[kj], j1 = tw.i1[kj];
        yp[i * out_w + j] = a0 * (tw.l0[kj] * r0[j0] + tw.l1[kj] * r0[j1]) +
                            a1 * (tw.l0[kj] * r1[j0] + tw.l1[kj] * r1[j1]);
      }
    }
  }
  return y;
}

template <class S, class D>
inline void run_kernel(Tag, op::InterpolateBilinearBackward, const Tensor<S, 4, D>& dy, Tensor<S, 4, D>& dx,
                                          bool align_corners) {
  const Index H = dx.dim(2), W = dx.dim(3), NC = dx.dim(0) * dx.dim(1);
  const Index out_h = dy.dim(2), out_w = dy.dim(3);
  const auto th = detail::linear_taps<S>(H, out_h, align_corners);
  const auto tw = detail::linear_taps<S>(W, out_w, align_corners);
  const S* dyd = dy.data();
  S* dxd = dx.data();
#pragma omp parallel for schedule(static)
  for (Index q = 0; q < NC; ++q) {
    S* xp = dxd + q * H * W;
    const S* yp = dyd + q * out_h * out_w;
    for (Index i = 0; i < out_h; ++i) {
      const auto ki = static_cast<std::size_t>(i);
      S* r0 = xp + th.i0[ki] * W;
      S* r1 = xp + th.i1[ki] * W;
      const S a0 = th.l0[ki], a1 = th.l1[ki];
      for (Index j = 0; j < out_w; ++j) {
        const auto kj = static_cast<std::size_t>(j);
        const Index j0 = tw.i0[kj], j1 = tw.i1[kj];
        const S g = yp[i * out_w + j];
        r0[j0] += a0 * tw.l0[kj] * g;
        r0[j1] += a0 * tw.l1[kj] * g;
        r1[j0] += a1 * tw.l0[kj] * g;
        r1[j1] += a1 * tw.l1[kj] * g;
      }
    }
  }
}

}  // namespace ras::kernels::cpu
