// ras/kernels/cuda/depthwise.cuh — the Cuda backend of kernels/depthwise.hpp (groups == C == O):
// forward one thread per output, backward data one thread per input pixel gathering the taps that
// read it (no atomics), backward weight one block per (c, ky, kx) tap reducing over N x OH x OW.
#pragma once

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/cuda/conv2d.cuh"
#include "ras/kernels/depthwise.hpp"

namespace ras::kernels::cuda {

template <class S>
inline Tensor<S, 4, Cuda> run_kernel(Tag, op::DepthwiseConv2dForward, const Tensor<S, 4, Cuda>& x,
                                     const Tensor<S, 4, Cuda>& w, const Tensor<S, 1, Cuda>* bias,
                                     const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), a);
  detail::depthwise_check(g, "depthwise_conv2d_forward");
  const Index C = g.in_channels;
  if (bias)
    RAS_CHECK(bias->dim(0) == C, "conv2d: expected bias of shape (", C, ",) but got ", shape_string(bias->shape()));
  auto y = Tensor<S, 4, Cuda>::uninitialized({g.batch, C, g.out_h, g.out_w});
  const auto q = conv_detail::geo(g, a);
  const S* xd = x.data();
  const S* wd = w.data();
  const S* bd = bias ? bias->data() : nullptr;
  S* yd = y.data();
  for_each_index(y.numel(), [=] __device__(Index t) {
    const Index ox = t % q.OW, oy = (t / q.OW) % q.OH, nc = t / (q.OW * q.OH), c = nc % q.C;
    const S* plane = xd + nc * q.H * q.W;
    S sum = S(0);
    for (Index ky = 0; ky < q.KH; ++ky) {
      const Index iy = oy * q.sh - q.pt + ky * q.dh;
      if (iy < 0 || iy >= q.H) continue;
      for (Index kx = 0; kx < q.KW; ++kx) {
        const Index ix = ox * q.sw - q.pl + kx * q.dw;
        if (ix < 0 || ix >= q.W) continue;
        sum += wd[(c * q.KH + ky) * q.KW + kx] * plane[iy * q.W + ix];
      }
    }
    yd[t] = (bd ? bd[c] : S(0)) + sum;
  }, "depthwise_conv2d_forward");
  return y;
}

template <class S>
inline void run_kernel(Tag, op::DepthwiseConv2dBackwardData, const Tensor<S, 4, Cuda>& dy,
                       const Tensor<S, 4, Cuda>& w, Tensor<S, 4, Cuda>& dx, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(dx.shape(), w.shape(), a);
  detail::depthwise_check(g, "depthwise_conv2d_backward_data");
  check_same_shape<4>({g.batch, g.in_channels, g.out_h, g.out_w}, dy.shape(), "depthwise_conv2d_backward_data: dy");
  const auto q = conv_detail::geo(g, a);
  const S* dyd = dy.data();
  const S* wd = w.data();
  S* dxd = dx.data();
  for_each_index(dx.numel(), [=] __device__(Index t) {
    const Index ix = t % q.W, iy = (t / q.W) % q.H, nc = t / (q.W * q.H), c = nc % q.C;
    const S* plane = dyd + nc * q.OH * q.OW;
    S sum = S(0);
    for (Index ky = 0; ky < q.KH; ++ky) {
      const Index ty = iy + q.pt - ky * q.dh;
      if (ty < 0 || ty % q.sh != 0 || ty / q.sh >= q.OH) continue;
      for (Index kx = 0; kx < q.KW; ++kx) {
        const Index tx = ix + q.pl - kx * q.dw;
        if (tx < 0 || tx % q.sw != 0 || tx / q.sw >= q.OW) continue;
        sum += wd[(c * q.KH + ky) * q.KW + kx] * plane[(ty / q.sh) * q.OW + tx / q.sw];
      }
    }
    dxd[t] += sum;
  }, "depthwise_conv2d_backward_data");
}

template <class S>
inline void run_kernel(Tag, op::DepthwiseConv2dBackwardWeight, const Tensor<S, 4, Cuda>& dy,
                       const Tensor<S, 4, Cuda>& x, Tensor<S, 4, Cuda>& dw, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), dw.shape(), a);
  detail::depthwise_check(g, "depthwise_conv2d_backward_weight");
  check_same_shape<4>({g.batch, g.in_channels, g.out_h, g.out_w}, dy.shape(),
                      "depthwise_conv2d_backward_weight: dy");
  const auto q = conv_detail::geo(g, a);
  const Index N = g.batch, P = q.OH * q.OW;
  if (N == 0) return;
  const S* dyd = dy.data();
  const S* xd = x.data();
  S* dwd = dw.data();
  // segment s = (c * KH + ky) * KW + kx, element j = (n, oy, ox)
  segment_sum<S>(
      q.C * q.KH * q.KW, N * P,
      [=] __device__(Index s, Index j) {
        const Index kx = s % q.KW, ky = (s / q.KW) % q.KH, c = s / (q.KW * q.KH);
        const Index n = j / P, oy = (j % P) / q.OW, ox = j % q.OW;
        const Index iy = oy * q.sh - q.pt + ky * q.dh, ix = ox * q.sw - q.pl + kx * q.dw;
        if (iy < 0 || iy >= q.H || ix < 0 || ix >= q.W) return S(0);
        return dyd[((n * q.C + c) * q.OH + oy) * q.OW + ox] * xd[((n * q.C + c) * q.H + iy) * q.W + ix];
      },
      [=] __device__(Index s, S sum) { dwd[s] += sum; }, "depthwise_conv2d_backward_weight");
}

}  // namespace ras::kernels::cuda
