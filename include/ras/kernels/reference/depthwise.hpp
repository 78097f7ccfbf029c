// ras/kernels/reference/depthwise.hpp — the reference backend of kernels/depthwise.hpp: plain
// scalar loops, the direct per-channel convolution (groups == C == O) and its two adjoints.
#pragma once

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/depthwise.hpp"

namespace ras::kernels::reference {

// y[n, c, oy, ox] = bias[c] + sum over ky, kx of w[c, 0, ky, kx] * x[n, c, iy, ix],
// iy = oy * sh - pad_top + ky * dh, ix = ox * sw - pad_left + kx * dw (0 outside the image).
template <class S, class D>
inline Tensor<S, 4, D> run_kernel(Tag, op::DepthwiseConv2dForward, const Tensor<S, 4, D>& x,
                                  const Tensor<S, 4, D>& w, const Tensor<S, 1, D>* bias, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, H = g.in_h, W = g.in_w;
  const Index OH = g.out_h, OW = g.out_w, KH = g.kernel_h, KW = g.kernel_w;
  auto y = Tensor<S, 4, D>::uninitialized({N, C, OH, OW});
  const S* xd = x.data();
  const S* wd = w.data();
  const S* bd = bias ? bias->data() : nullptr;
  S* yd = y.data();
  for (Index n = 0; n < N; ++n)
    for (Index c = 0; c < C; ++c)
      for (Index oy = 0; oy < OH; ++oy)
        for (Index ox = 0; ox < OW; ++ox) {
          S sum = S(0);
          for (Index ky = 0; ky < KH; ++ky)
            for (Index kx = 0; kx < KW; ++kx) {
              const Index iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
              const Index ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              sum += wd[(c * KH + ky) * KW + kx] * xd[((n * C + c) * H + iy) * W + ix];
            }
          yd[((n * C + c) * OH + oy) * OW + ox] = (bd ? bd[c] : S(0)) + sum;
        }
  return y;
}

// dx[n, c, iy, ix] += w[c, 0, ky, kx] * dy[n, c, oy, ox] for every tap of the forward sum.
template <class S, class D>
inline void run_kernel(Tag, op::DepthwiseConv2dBackwardData, const Tensor<S, 4, D>& dy,
                       const Tensor<S, 4, D>& w, Tensor<S, 4, D>& dx, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(dx.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, H = g.in_h, W = g.in_w;
  const Index OH = g.out_h, OW = g.out_w, KH = g.kernel_h, KW = g.kernel_w;
  const S* dyd = dy.data();
  const S* wd = w.data();
  S* dxd = dx.data();
  for (Index n = 0; n < N; ++n)
    for (Index c = 0; c < C; ++c)
      for (Index oy = 0; oy < OH; ++oy)
        for (Index ox = 0; ox < OW; ++ox) {
          const S grad = dyd[((n * C + c) * OH + oy) * OW + ox];
          for (Index ky = 0; ky < KH; ++ky)
            for (Index kx = 0; kx < KW; ++kx) {
              const Index iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
              const Index ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              dxd[((n * C + c) * H + iy) * W + ix] += wd[(c * KH + ky) * KW + kx] * grad;
            }
        }
}

// dw[c, 0, ky, kx] += sum over n, oy, ox of dy[n, c, oy, ox] * x[n, c, iy, ix]
template <class S, class D>
inline void run_kernel(Tag, op::DepthwiseConv2dBackwardWeight, const Tensor<S, 4, D>& dy,
                       const Tensor<S, 4, D>& x, Tensor<S, 4, D>& dw, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), dw.shape(), a);
  const Index N = g.batch, C = g.in_channels, H = g.in_h, W = g.in_w;
  const Index OH = g.out_h, OW = g.out_w, KH = g.kernel_h, KW = g.kernel_w;
  const S* dyd = dy.data();
  const S* xd = x.data();
  S* dwd = dw.data();
  for (Index c = 0; c < C; ++c)
    for (Index ky = 0; ky < KH; ++ky)
      for (Index kx = 0; kx < KW; ++kx) {
        S sum = S(0);
        for (Index n = 0; n < N; ++n)
          for (Index oy = 0; oy < OH; ++oy)
            for (Index ox = 0; ox < OW; ++ox) {
              const Index iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
              const Index ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              sum += dyd[((n * C + c) * OH + oy) * OW + ox] * xd[((n * C + c) * H + iy) * W + ix];
            }
        dwd[(c * KH + ky) * KW + kx] += sum;
      }
}

}  // namespace ras::kernels::reference
