// ras/kernels/cuda/conv2d.cuh — the Cuda backend of kernels/conv2d.hpp: im2col + cuBLAS GEMM.
// Why not cuDNN: the backbones need asymmetric padding (TensorFlow "SAME", EfficientNet's
// Conv2dStaticSamePadding), which cuDNN's convolution descriptors cannot express without an extra
// padded copy; im2col + GEMM handles stride, dilation, groups and four-sided padding with the same
// geometry as the reference, depends only on cuBLAS, and its results do not depend on an algorithm
// search (cuDNN picks algorithms at run time, some non-deterministic). The depthwise convolutions,
// where cuDNN helps least, have their own kernels (depthwise.cuh). A cuDNN path for the dense 3x3
// convolutions is a possible later speed-up, behind the same run_kernel.
//
//   forward        pointwise (1x1, stride 1, no padding): Y_g = W_g X_g, one strided-batched GEMM
//                  per group over the images; otherwise im2col of a chunk of images, then one
//                  strided-batched GEMM per group over the chunk.
//   backward data  dcol = W_g^T dY_g (GEMM), then col2im written as a gather (each input pixel sums
//                  the taps that read it: no atomics); pointwise: dX_g += W_g^T dY_g directly.
//   backward weight dW_g += dY_g col_g^T, image after image into the same dW (deterministic order).
//   bias           one block per output channel.
#pragma once

#include <algorithm>

#include "ras/kernels/conv2d.hpp"
#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/cuda/gemm.cuh"

namespace ras::kernels::cuda {

namespace conv_detail {

// Images per im2col chunk: the column buffer stays under 256 MiB (at least one image).
template <class S>
inline Index chunk_images(Index N, Index rows, Index P) {
  const Index per_image = std::max<Index>(1, rows * P * Index(sizeof(S)));
  return std::clamp<Index>((Index(256) << 20) / per_image, 1, std::max<Index>(N, 1));
}

inline bool pointwise(const Conv2dGeometry& g, const Conv2dArgs& a) {
  return g.kernel_h == 1 && g.kernel_w == 1 && a.stride_h == 1 && a.stride_w == 1 && a.pad_top == 0 &&
         a.pad_bottom == 0 && a.pad_left == 0 && a.pad_right == 0;
}

// All the sizes a device lambda needs, by value.
struct Geo {
  Index C, H, W, OH, OW, KH, KW, sh, sw, pt, pl, dh, dw;
};
inline Geo geo(const Conv2dGeometry& g, const Conv2dArgs& a) {
  return {g.in_channels, g.in_h, g.in_w, g.out_h, g.out_w, g.kernel_h, g.kernel_w,
          a.stride_h,    a.stride_w, a.pad_top, a.pad_left, a.dilation_h, a.dilation_w};
}

// col (nb, C*KH*KW, OH*OW): col[n, (c*KH + ky)*KW + kx, oy*OW + ox] = x[n0 + n, c, iy, ix] (0 outside)
template <class S>
inline void im2col(const Geo q, Index nb, const S* x, S* col) {
  const Index P = q.OH * q.OW, R = q.C * q.KH * q.KW;
  for_each_index(nb * R * P, [=] __device__(Index t) {
    const Index p = t % P, r = (t / P) % R, n = t / (P * R);
    const Index c = r / (q.KH * q.KW), ky = (r / q.KW) % q.KH, kx = r % q.KW;
    const Index iy = (p / q.OW) * q.sh - q.pt + ky * q.dh, ix = (p % q.OW) * q.sw - q.pl + kx * q.dw;
    col[t] = (iy < 0 || iy >= q.H || ix < 0 || ix >= q.W) ? S(0) : x[((n * q.C + c) * q.H + iy) * q.W + ix];
  }, "conv2d im2col");
}

// dx[n, c, iy, ix] += sum of dcol over the taps (ky, kx) whose output position (oy, ox) read (iy, ix).
template <class S>
inline void col2im_acc(const Geo q, Index nb, const S* dcol, S* dx) {
  const Index P = q.OH * q.OW, R = q.C * q.KH * q.KW;
  for_each_index(nb * q.C * q.H * q.W, [=] __device__(Index t) {
    const Index ix = t % q.W, iy = (t / q.W) % q.H, c = (t / (q.W * q.H)) % q.C, n = t / (q.W * q.H * q.C);
    S sum = S(0);
    for (Index ky = 0; ky < q.KH; ++ky) {
      const Index ty = iy + q.pt - ky * q.dh;
      if (ty < 0 || ty % q.sh != 0 || ty / q.sh >= q.OH) continue;
      for (Index kx = 0; kx < q.KW; ++kx) {
        const Index tx = ix + q.pl - kx * q.dw;
        if (tx < 0 || tx % q.sw != 0 || tx / q.sw >= q.OW) continue;
        sum += dcol[(n * R + (c * q.KH + ky) * q.KW + kx) * P + (ty / q.sh) * q.OW + tx / q.sw];
      }
    }
    dx[t] += sum;
  }, "conv2d col2im");
}

}  // namespace conv_detail

template <class S>
inline Tensor<S, 4, Cuda> run_kernel(Tag, op::Conv2dForward, const Tensor<S, 4, Cuda>& x, const Tensor<S, 4, Cuda>& w,
                                     const Tensor<S, 1, Cuda>* bias, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, O = g.out_channels, P = g.out_h * g.out_w;
  const Index Cg = g.group_in(), Og = g.group_out(), K = Cg * g.kernel_h * g.kernel_w;
  if (bias)
    RAS_CHECK(bias->dim(0) == O, "conv2d: expected bias of shape (", O, ",) but got ", shape_string(bias->shape()));
  auto y = Tensor<S, 4, Cuda>::uninitialized({N, O, g.out_h, g.out_w});
  if (N == 0 || O == 0) return y;
  const S* xd = x.data();
  const S* wd = w.data();
  S* yd = y.data();
  if (conv_detail::pointwise(g, a)) {
    for (Index gi = 0; gi < g.groups; ++gi)
      gemm_row_major<S>(false, false, N, Og, P, Cg, S(1), wd + gi * Og * Cg, Cg, 0, xd + gi * Cg * P, P, C * P, S(0),
                        yd + gi * Og * P, P, O * P);
  } else {
    const auto q = conv_detail::geo(g, a);
    const Index rows = C * g.kernel_h * g.kernel_w;
    const Index chunk = conv_detail::chunk_images<S>(N, rows, P);
    DeviceBuffer<S> col(chunk * rows * P);
    for (Index n0 = 0; n0 < N; n0 += chunk) {
      const Index nb = std::min(chunk, N - n0);
      conv_detail::im2col<S>(q, nb, xd + n0 * C * g.in_h * g.in_w, col.get());
      for (Index gi = 0; gi < g.groups; ++gi)
        gemm_row_major<S>(false, false, nb, Og, P, K, S(1), wd + gi * Og * K, K, 0, col.get() + gi * K * P, P,
                          rows * P, S(0), yd + n0 * O * P + gi * Og * P, P, O * P);
    }
  }
  if (bias) {
    const S* bd = bias->data();
    for_each_index(N * O * P, [=] __device__(Index k) { yd[k] += bd[(k / P) % O]; }, "conv2d bias");
  }
  return y;
}

template <class S>
inline void run_kernel(Tag, op::Conv2dBackwardData, const Tensor<S, 4, Cuda>& dy, const Tensor<S, 4, Cuda>& w,
                       Tensor<S, 4, Cuda>& dx, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(dx.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, O = g.out_channels, P = g.out_h * g.out_w;
  const Index Cg = g.group_in(), Og = g.group_out(), K = Cg * g.kernel_h * g.kernel_w;
  check_same_shape<4>({N, O, g.out_h, g.out_w}, dy.shape(), "conv2d_backward_data: dy");
  if (N == 0 || C == 0) return;
  const S* dyd = dy.data();
  const S* wd = w.data();
  S* dxd = dx.data();
  if (conv_detail::pointwise(g, a)) {
    for (Index gi = 0; gi < g.groups; ++gi)
      gemm_row_major<S>(true, false, N, Cg, P, Og, S(1), wd + gi * Og * Cg, Cg, 0, dyd + gi * Og * P, P, O * P, S(1),
                        dxd + gi * Cg * P, P, C * P);
    return;
  }
  const auto q = conv_detail::geo(g, a);
  const Index rows = C * g.kernel_h * g.kernel_w;
  const Index chunk = conv_detail::chunk_images<S>(N, rows, P);
  DeviceBuffer<S> dcol(chunk * rows * P);
  for (Index n0 = 0; n0 < N; n0 += chunk) {
    const Index nb = std::min(chunk, N - n0);
    for (Index gi = 0; gi < g.groups; ++gi)
      gemm_row_major<S>(true, false, nb, K, P, Og, S(1), wd + gi * Og * K, K, 0, dyd + n0 * O * P + gi * Og * P, P,
                        O * P, S(0), dcol.get() + gi * K * P, P, rows * P);
    conv_detail::col2im_acc<S>(q, nb, dcol.get(), dxd + n0 * C * g.in_h * g.in_w);
  }
}

template <class S>
inline void run_kernel(Tag, op::Conv2dBackwardWeight, const Tensor<S, 4, Cuda>& dy, const Tensor<S, 4, Cuda>& x,
                       Tensor<S, 4, Cuda>& dw, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), dw.shape(), a);
  const Index N = g.batch, C = g.in_channels, O = g.out_channels, P = g.out_h * g.out_w;
  const Index Cg = g.group_in(), Og = g.group_out(), K = Cg * g.kernel_h * g.kernel_w;
  check_same_shape<4>({N, O, g.out_h, g.out_w}, dy.shape(), "conv2d_backward_weight: dy");
  if (N == 0 || O == 0) return;
  const S* dyd = dy.data();
  const S* xd = x.data();
  S* dwd = dw.data();
  // stride_c 0: the images accumulate into one dW in order (gemm_row_major runs them one by one).
  if (conv_detail::pointwise(g, a)) {
    for (Index gi = 0; gi < g.groups; ++gi)
      gemm_row_major<S>(false, true, N, Og, Cg, P, S(1), dyd + gi * Og * P, P, O * P, xd + gi * Cg * P, P, C * P, S(1),
                        dwd + gi * Og * Cg, Cg, 0);
    return;
  }
  const auto q = conv_detail::geo(g, a);
  const Index rows = C * g.kernel_h * g.kernel_w;
  const Index chunk = conv_detail::chunk_images<S>(N, rows, P);
  DeviceBuffer<S> col(chunk * rows * P);
  for (Index n0 = 0; n0 < N; n0 += chunk) {
    const Index nb = std::min(chunk, N - n0);
    conv_detail::im2col<S>(q, nb, xd + n0 * C * g.in_h * g.in_w, col.get());
    for (Index gi = 0; gi < g.groups; ++gi)
      gemm_row_major<S>(false, true, nb, Og, K, P, S(1), dyd + n0 * O * P + gi * Og * P, P, O * P,
                        col.get() + gi * K * P, P, rows * P, S(1), dwd + gi * Og * K, K, 0);
  }
}

template <class S, int R>
inline void run_kernel(Tag, op::Conv2dBackwardBias, const Tensor<S, R, Cuda>& dy, Tensor<S, 1, Cuda>& db) {
  static_assert(R >= 2, "conv2d_backward_bias: dy needs a channel axis");
  const Index N = dy.dim(0), O = dy.dim(1), L = O == 0 || N == 0 ? 0 : dy.numel() / (N * O);
  check_same_shape<1>({O}, db.shape(), "conv2d_backward_bias: db");
  if (N == 0 || L == 0) return;
  const S* d = dy.data();
  S* out = db.data();
  segment_sum<S>(
      O, N * L, [=] __device__(Index o, Index j) { return d[((j / L) * O + o) * L + j % L]; },
      [=] __device__(Index o, S sum) { out[o] += sum; }, "conv2d_backward_bias");
}

}  // namespace ras::kernels::cuda
