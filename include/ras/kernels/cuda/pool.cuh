// ras/kernels/cuda/pool.cuh — the Cuda backend of kernels/pool.hpp: average pooling forward one
// thread per output window, backward one thread per input pixel gathering the windows that
// contain it (no atomics). Window clipping and divisors as detail::pool_window / pool_divisor.
#pragma once

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/pool.hpp"

namespace ras::kernels::cuda {

namespace pool_detail {
struct Window {
  Index begin, end, padded;
};
__device__ inline Window window(Index o, Index kernel, Index stride, Index pad, Index in) {
  Index begin = o * stride - pad;
  Index end = begin + kernel < in + pad ? begin + kernel : in + pad;
  const Index padded = end - begin;
  begin = begin > 0 ? begin : 0;
  end = end < in ? end : in;
  return {begin, end, padded};
}
__device__ inline Index divisor(const Window& h, const Window& w, bool count_include_pad) {
  return count_include_pad ? h.padded * w.padded : (h.end - h.begin) * (w.end - w.begin);
}
struct Geo {
  Index H, W, OH, OW, kh, kw, sh, sw, ph, pw;
  bool include_pad;
};
}  // namespace pool_detail

template <class S>
inline Tensor<S, 4, Cuda> run_kernel(Tag, op::AvgPool2dForward, const Tensor<S, 4, Cuda>& x, const Pool2dArgs& a) {
  const auto [OH, OW] = avg_pool2d_output_size(x.shape(), a);
  auto y = Tensor<S, 4, Cuda>::uninitialized({x.dim(0), x.dim(1), OH, OW});
  const pool_detail::Geo q{x.dim(2), x.dim(3), OH, OW, a.kernel_h, a.kernel_w, a.stride_h, a.stride_w,
                           a.pad_h,  a.pad_w,  a.count_include_pad};
  const S* xd = x.data();
  S* yd = y.data();
  for_each_index(y.numel(), [=] __device__(Index t) {
    const Index j = t % q.OW, i = (t / q.OW) % q.OH, nc = t / (q.OW * q.OH);
    const auto wh = pool_detail::window(i, q.kh, q.sh, q.ph, q.H);
    const auto ww = pool_detail::window(j, q.kw, q.sw, q.pw, q.W);
    const S* plane = xd + nc * q.H * q.W;
    S sum = S(0);
    for (Index h = wh.begin; h < wh.end; ++h)
      for (Index w = ww.begin; w < ww.end; ++w) sum += plane[h * q.W + w];
    const Index d = pool_detail::divisor(wh, ww, q.include_pad);
    yd[t] = d > 0 ? sum / S(d) : S(0);
  }, "avg_pool2d_forward");
  return y;
}

template <class S>
inline void run_kernel(Tag, op::AvgPool2dBackward, const Tensor<S, 4, Cuda>& dy, Tensor<S, 4, Cuda>& dx,
                       const Pool2dArgs& a) {
  const auto [OH, OW] = avg_pool2d_output_size(dx.shape(), a);
  check_same_shape<4>({dx.dim(0), dx.dim(1), OH, OW}, dy.shape(), "avg_pool2d_backward: dy");
  const pool_detail::Geo q{dx.dim(2), dx.dim(3), OH, OW, a.kernel_h, a.kernel_w, a.stride_h, a.stride_w,
                           a.pad_h,   a.pad_w,   a.count_include_pad};
  const S* dyd = dy.data();
  S* dxd = dx.data();
  for_each_index(dx.numel(), [=] __device__(Index t) {
    const Index w = t % q.W, h = (t / q.W) % q.H, nc = t / (q.W * q.H);
    // windows i with i*s - pad <= h < i*s - pad + k, i.e. (h + pad - k) / s < i <= (h + pad) / s
    const Index ti = h + q.ph - q.kh, tj = w + q.pw - q.kw;
    const Index i0 = ti < 0 ? 0 : ti / q.sh + 1, i1 = (h + q.ph) / q.sh < q.OH - 1 ? (h + q.ph) / q.sh : q.OH - 1;
    const Index j0 = tj < 0 ? 0 : tj / q.sw + 1, j1 = (w + q.pw) / q.sw < q.OW - 1 ? (w + q.pw) / q.sw : q.OW - 1;
    const S* plane = dyd + nc * q.OH * q.OW;
    S sum = S(0);
    for (Index i = i0; i <= i1; ++i) {
      const auto wh = pool_detail::window(i, q.kh, q.sh, q.ph, q.H);
      if (h < wh.begin || h >= wh.end) continue;
      for (Index j = j0; j <= j1; ++j) {
        const auto ww = pool_detail::window(j, q.kw, q.sw, q.pw, q.W);
        if (w < ww.begin || w >= ww.end) continue;
        const Index d = pool_detail::divisor(wh, ww, q.include_pad);
        if (d > 0) sum += plane[i * q.OW + j] / S(d);
      }
    }
    dxd[t] += sum;
  }, "avg_pool2d_backward");
}

}  // namespace ras::kernels::cuda
