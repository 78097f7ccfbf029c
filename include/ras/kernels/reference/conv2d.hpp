// ras/kernels/reference/conv2d.hpp — the reference backend of kernels/conv2d.hpp: plain scalar
// loops, the direct seven-loop convolution (no im2col, no GEMM) and its two adjoints.
#pragma once

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/conv2d.hpp"

namespace ras::kernels::reference {

// y[n, o, oy, ox] = bias[o] + sum over ci < C/groups, ky, kx of
//   w[o, ci, ky, kx] * x[n, g * C/groups + ci, oy * sh - pad_top + ky * dh, ox * sw - pad_left + kx * dw]
// with g = o / (O/groups) and x read as 0 outside the image.
template <class S, class D>
inline Tensor<S, 4, D> run_kernel(Tag, op::Conv2dForward, const Tensor<S, 4, D>& x, const Tensor<S, 4, D>& w,
                                  const Tensor<S, 1, D>* bias, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, H = g.in_h, W = g.in_w, O = g.out_channels;
  const Index OH = g.out_h, OW = g.out_w, KH = g.kernel_h, KW = g.kernel_w;
  const Index Cg = g.group_in(), Og = g.group_out();
  auto y = Tensor<S, 4, D>::uninitialized({N, O, OH, OW});
  const S* xd = x.data();
  const S* wd = w.data();
  const S* bd = bias ? bias->data() : nullptr;
  S* yd = y.data();
  for (Index n = 0; n < N; ++n)
    for (Index o = 0; o < O; ++o) {
      const Index c0 = (o / Og) * Cg;  // first input channel of o's group
      for (Index oy = 0; oy < OH; ++oy)
        for (Index ox = 0; ox < OW; ++ox) {
          S sum = S(0);
          for (Index ci = 0; ci < Cg; ++ci)
            for (Index ky = 0; ky < KH; ++ky)
              for (Index kx = 0; kx < KW; ++kx) {
                const Index iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
                const Index ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                sum += wd[((o * Cg + ci) * KH + ky) * KW + kx] * xd[((n * C + c0 + ci) * H + iy) * W + ix];
              }
          yd[((n * O + o) * OH + oy) * OW + ox] = (bd ? bd[o] : S(0)) + sum;
        }
    }
  return y;
}

// dx[n, c, iy, ix] += w[o, ci, ky, kx] * dy[n, o, oy, ox] for every (o, oy, ox, ky, kx) of the
// forward sum that read x[n, c, iy, ix] (the scatter adjoint of the forward loop).
template <class S, class D>
inline void run_kernel(Tag, op::Conv2dBackwardData, const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& w,
                       Tensor<S, 4, D>& dx, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(dx.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, H = g.in_h, W = g.in_w, O = g.out_channels;
  const Index OH = g.out_h, OW = g.out_w, KH = g.kernel_h, KW = g.kernel_w;
  const Index Cg = g.group_in(), Og = g.group_out();
  const S* dyd = dy.data();
  const S* wd = w.data();
  S* dxd = dx.data();
  for (Index n = 0; n < N; ++n)
    for (Index o = 0; o < O; ++o) {
      const Index c0 = (o / Og) * Cg;
      for (Index oy = 0; oy < OH; ++oy)
        for (Index ox = 0; ox < OW; ++ox) {
          const S grad = dyd[((n * O + o) * OH + oy) * OW + ox];
          for (Index ci = 0; ci < Cg; ++ci)
            for (Index ky = 0; ky < KH; ++ky)
              for (Index kx = 0; kx < KW; ++kx) {
                const Index iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
                const Index ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                dxd[((n * C + c0 + ci) * H + iy) * W + ix] += wd[((o * Cg + ci) * KH + ky) * KW + kx] * grad;
              }
        }
    }
}

// dw[o, ci, ky, kx] += sum over n, oy, ox of dy[n, o, oy, ox] * x[n, g * C/groups + ci, iy, ix]
template <class S, class D>
inline void run_kernel(Tag, op::Conv2dBackwardWeight, const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& x,
                       Tensor<S, 4, D>& dw, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), dw.shape(), a);
  const Index N = g.batch, C = g.in_channels, H = g.in_h, W = g.in_w, O = g.out_channels;
  const Index OH = g.out_h, OW = g.out_w, KH = g.kernel_h, KW = g.kernel_w;
  const Index Cg = g.group_in(), Og = g.group_out();
  const S* dyd = dy.data();
  const S* xd = x.data();
  S* dwd = dw.data();
  for (Index o = 0; o < O; ++o) {
    const Index c0 = (o / Og) * Cg;
    for (Index ci = 0; ci < Cg; ++ci)
      for (Index ky = 0; ky < KH; ++ky)
        for (Index kx = 0; kx < KW; ++kx) {
          S sum = S(0);
          for (Index n = 0; n < N; ++n)
            for (Index oy = 0; oy < OH; ++oy)
              for (Index ox = 0; ox < OW; ++ox) {
                const Index iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
                const Index ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                sum += dyd[((n * O + o) * OH + oy) * OW + ox] * xd[((n * C + c0 + ci) * H + iy) * W + ix];
              }
          dwd[((o * Cg + ci) * KH + ky) * KW + kx] += sum;
        }
  }
}

// dy: (N, O, ...) -> db[o] += sum of dy[n, o, ...] over n and the trailing axes.
template <class S, int R, class D>
inline void run_kernel(Tag, op::Conv2dBackwardBias, const Tensor<S, R, D>& dy, Tensor<S, 1, D>& db) {
  static_assert(R >= 2, "conv2d_backward_bias: dy needs a channel axis");
  const Index N = dy.dim(0), O = dy.dim(1), L = O == 0 || N == 0 ? 0 : dy.numel() / (N * O);
  const S* d = dy.data();
  S* out = db.data();
  for (Index o = 0; o < O; ++o) {
    S sum = S(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) sum += d[(n * O + o) * L + i];
    out[o] += sum;
  }
}

}  // namespace ras::kernels::reference
