// ras/kernels/conv2d.hpp — 2-D convolution (cross-correlation, as torch.nn.functional.conv2d) on
// NCHW inputs and OIHW weights, with stride, dilation, groups and asymmetric padding
// (top, bottom, left, right), which TensorFlow "SAME" and EfficientNet's Conv2dStaticSamePadding
// need. Pointwise (1x1, stride 1, unpadded) convolutions are one GEMM per image and group,
// W_g (O/g, C/g) x X_g (C/g, H*W); the general case is im2col + GEMM per image and group.
// Images are split over OpenMP threads when there are at least as many images as threads.
#pragma once

#include <algorithm>

#include "ras/kernels/gemm.hpp"
#include "ras/kernels/im2col.hpp"
#include "ras/tensor.hpp"

namespace ras::kernels {

struct Conv2dArgs {
  Index stride_h = 1, stride_w = 1;
  Index pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  Index dilation_h = 1, dilation_w = 1;
  Index groups = 1;

  // Same stride and padding on both axes and all four sides (nn.Conv2d(stride=s, padding=p)).
  static Conv2dArgs same_symmetric(Index stride, Index pad, Index groups = 1) {
    Conv2dArgs a;
    a.stride_h = a.stride_w = stride;
    a.pad_top = a.pad_bottom = a.pad_left = a.pad_right = pad;
    a.groups = groups;
    return a;
  }
};

// Output extent of a convolution or pooling window along one axis (0 when the window never fits):
// floor((in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride) + 1.
inline Index conv2d_output_size(Index in, Index kernel, Index stride, Index pad_begin,
                                Index pad_end, Index dilation = 1) {
  const Index span = in + pad_begin + pad_end - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// All sizes of one convolution, validated.
struct Conv2dGeometry {
  Index batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  Index out_channels = 0, kernel_h = 0, kernel_w = 0, out_h = 0, out_w = 0, groups = 1;

  Index group_in() const { return in_channels / groups; }
  Index group_out() const { return out_channels / groups; }
};

// x: (N, C, H, W), w: (O, C / groups, kh, kw). Throws ras::Error naming both shapes when they
// do not form a valid convolution with these arguments.
inline Conv2dGeometry conv2d_geometry(const Shape<4>& x, const Shape<4>& w, const Conv2dArgs& a) {
  const std::string shapes =
      " (input shape " + shape_string(x) + ", weight shape " + shape_string(w) + ")";
  RAS_CHECK(a.stride_h >= 1 && a.stride_w >= 1 && a.dilation_h >= 1 && a.dilation_w >= 1,
            "conv2d: expected stride and dilation >= 1 but got stride (", a.stride_h, ", ",
            a.stride_w, "), dilation (", a.dilation_h, ", ", a.dilation_w, ")");
  RAS_CHECK(a.pad_top >= 0 && a.pad_bottom >= 0 && a.pad_left >= 0 && a.pad_right >= 0,
            "conv2d: expected non-negative padding but got (top, bottom, left, right) = (",
            a.pad_top, ", ", a.pad_bottom, ", ", a.pad_left, ", ", a.pad_right, ")");
  RAS_CHECK(a.groups >= 1, "conv2d: expected groups >= 1 but got ", a.groups);
  Conv2dGeometry g;
  g.batch = x[0], g.in_channels = x[1], g.in_h = x[2], g.in_w = x[3];
  g.out_channels = w[0], g.kernel_h = w[2], g.kernel_w = w[3], g.groups = a.groups;
  RAS_CHECK(g.kernel_h >= 1 && g.kernel_w >= 1, "conv2d: expected a kernel of at least 1x1",
            shapes);
  RAS_CHECK(g.in_channels % a.groups == 0, "conv2d: input channels C=", g.in_channels,
            " are not divisible by groups=", a.groups, shapes);
  RAS_CHECK(g.out_channels % a.groups == 0, "conv2d: output channels O=", g.out_channels,
            " are not divisible by groups=", a.groups, shapes);
  RAS_CHECK(w[1] == g.in_channels / a.groups,
            "conv2d: expected weight in-channels C/groups=", g.in_channels / a.groups, " but got ",
            w[1], shapes);
  g.out_h =
      conv2d_output_size(g.in_h, g.kernel_h, a.stride_h, a.pad_top, a.pad_bottom, a.dilation_h);
  g.out_w =
      conv2d_output_size(g.in_w, g.kernel_w, a.stride_w, a.pad_left, a.pad_right, a.dilation_w);
  RAS_CHECK(g.out_h >= 1 && g.out_w >= 1, "conv2d: expected an output of at least 1x1 but got ",
            g.out_h, "x", g.out_w, " with padding (", a.pad_top, ", ", a.pad_bottom, ", ",
            a.pad_left, ", ", a.pad_right, ") and dilation (", a.dilation_h, ", ", a.dilation_w,
            ")", shapes);
  return g;
}

namespace detail {
inline bool conv2d_is_pointwise(const Conv2dGeometry& g, const Conv2dArgs& a) {
  return g.kernel_h == 1 && g.kernel_w == 1 && a.stride_h == 1 && a.stride_w == 1 &&
         a.pad_top == 0 && a.pad_bottom == 0 && a.pad_left == 0 && a.pad_right == 0;
}

inline Im2colGeometry conv2d_im2col_geometry(const Conv2dGeometry& g, const Conv2dArgs& a) {
  Im2colGeometry ig;
  ig.channels = g.group_in(), ig.height = g.in_h, ig.width = g.in_w;
  ig.kernel_h = g.kernel_h, ig.kernel_w = g.kernel_w;
  ig.stride_h = a.stride_h, ig.stride_w = a.stride_w;
  ig.pad_top = a.pad_top, ig.pad_left = a.pad_left;
  ig.dilation_h = a.dilation_h, ig.dilation_w = a.dilation_w;
  ig.out_h = g.out_h, ig.out_w = g.out_w;
  return ig;
}

// Images go to `chunks` contiguous blocks; chunks > 1 only when there are enough images for every
// thread (each GEMM is then single-threaded: Eigen does not nest inside an active OpenMP region).
template <class D>
inline Index conv2d_chunks(Index batch) {
  const Index threads = D::num_threads();
  return threads > 1 && batch >= threads ? threads : 1;
}
}  // namespace detail

// x: (N, C, H, W), w: (O, C / groups, kh, kw), bias: (O) or nullptr -> (N, O, H', W').
template <class S, class D>
inline Tensor<S, 4, D> conv2d_forward(const Tensor<S, 4, D>& x, const Tensor<S, 4, D>& w,
                                      const Tensor<S, 1, D>* bias, const Conv2dArgs& a) {
  static_assert(is_cpu_device<D>,
                "conv2d_forward: only the Cpu device is implemented in this build");
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, O = g.out_channels, P = g.out_h * g.out_w;
  const Index Cg = g.group_in(), Og = g.group_out(), K = Cg * g.kernel_h * g.kernel_w;
  const Index HW = g.in_h * g.in_w;
  if (bias)
    RAS_CHECK(bias->dim(0) == O, "conv2d: expected bias of shape (", O, ",) but got ",
              shape_string(bias->shape()));
  auto y = Tensor<S, 4, D>::uninitialized({N, O, g.out_h, g.out_w});
  const S* bd = bias ? bias->data() : nullptr;
#pragma omp parallel for schedule(static)
  for (Index p = 0; p < N * O; ++p)
    std::fill(y.data() + p * P, y.data() + (p + 1) * P, bd ? bd[p % O] : S(0));

  const bool pointwise = detail::conv2d_is_pointwise(g, a);
  const Im2colGeometry ig = detail::conv2d_im2col_geometry(g, a);
  const Index chunks = detail::conv2d_chunks<D>(N);
  const bool outer = chunks > 1;
  auto cols = Tensor<S, 2, D>::uninitialized({pointwise ? 0 : chunks, K * P});
  const S* xd = x.data();
  const S* wd = w.data();
  S* yd = y.data();
  // Y_g (Og, P) += W_g (Og, K) x col_g (K, P), per image and group.
#pragma omp parallel for schedule(static) if (outer)
  for (Index t = 0; t < chunks; ++t) {
    S* col = pointwise ? nullptr : cols.data() + t * K * P;
    for (Index n = t * N / chunks; n < (t + 1) * N / chunks; ++n) {
      for (Index gr = 0; gr < g.groups; ++gr) {
        const S* xs = xd + (n * C + gr * Cg) * HW;
        if (!pointwise) im2col(xs, ig, col, !outer);
        detail::gemm_cpu<S>(false, false, Og, P, K, S(1), wd + gr * Og * K, K, pointwise ? xs : col,
                            P, S(1), yd + (n * O + gr * Og) * P, P);
      }
    }
  }
  return y;
}

// dy: (N, O, H', W'), w: (O, C / groups, kh, kw) -> dx: (N, C, H, W), ADDED into dx.
// dX = col2im(W_g^T dY_g) per image and group.
template <class S, class D>
inline void conv2d_backward_data(const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& w,
                                 Tensor<S, 4, D>& dx, const Conv2dArgs& a) {
  static_assert(is_cpu_device<D>, "conv2d_backward_data: only the Cpu device is implemented");
  const Conv2dGeometry g = conv2d_geometry(dx.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, O = g.out_channels, P = g.out_h * g.out_w;
  const Index Cg = g.group_in(), Og = g.group_out(), K = Cg * g.kernel_h * g.kernel_w;
  const Index HW = g.in_h * g.in_w;
  check_same_shape<4>({N, O, g.out_h, g.out_w}, dy.shape(), "conv2d_backward_data: dy");
  const bool pointwise = detail::conv2d_is_pointwise(g, a);
  const Im2colGeometry ig = detail::conv2d_im2col_geometry(g, a);
  const Index chunks = detail::conv2d_chunks<D>(N);
  const bool outer = chunks > 1;
  auto cols = Tensor<S, 2, D>::uninitialized({pointwise ? 0 : chunks, K * P});
  const S* dyd = dy.data();
  const S* wd = w.data();
  S* dxd = dx.data();
#pragma omp parallel for schedule(static) if (outer)
  for (Index t = 0; t < chunks; ++t) {
    S* col = pointwise ? nullptr : cols.data() + t * K * P;
    for (Index n = t * N / chunks; n < (t + 1) * N / chunks; ++n) {
      for (Index gr = 0; gr < g.groups; ++gr) {
        const S* wg = wd + gr * Og * K;
        const S* dys = dyd + (n * O + gr * Og) * P;
        S* dxs = dxd + (n * C + gr * Cg) * HW;
        if (pointwise) {
          detail::gemm_cpu<S>(true, false, Cg, P, Og, S(1), wg, K, dys, P, S(1), dxs, P);
        } else {
          detail::gemm_cpu<S>(true, false, K, P, Og, S(1), wg, K, dys, P, S(0), col, P);
          col2im_add(col, ig, dxs, !outer);
        }
      }
    }
  }
}

// dy: (N, O, H', W'), x: (N, C, H, W) -> dw: (O, C / groups, kh, kw), ADDED into dw.
// dW_g += dY_g col_g^T summed over the batch; with several image chunks each chunk sums into its
// own partial buffer and the partials are reduced afterwards (race-free).
template <class S, class D>
inline void conv2d_backward_weight(const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& x,
                                   Tensor<S, 4, D>& dw, const Conv2dArgs& a) {
  static_assert(is_cpu_device<D>, "conv2d_backward_weight: only the Cpu device is implemented");
  const Conv2dGeometry g = conv2d_geometry(x.shape(), dw.shape(), a);
  const Index N = g.batch, C = g.in_channels, O = g.out_channels, P = g.out_h * g.out_w;
  const Index Cg = g.group_in(), Og = g.group_out(), K = Cg * g.kernel_h * g.kernel_w;
  const Index HW = g.in_h * g.in_w, wsize = O * K;
  check_same_shape<4>({N, O, g.out_h, g.out_w}, dy.shape(), "conv2d_backward_weight: dy");
  const bool pointwise = detail::conv2d_is_pointwise(g, a);
  const Im2colGeometry ig = detail::conv2d_im2col_geometry(g, a);
  const Index chunks = detail::conv2d_chunks<D>(N);
  const bool outer = chunks > 1;
  auto cols = Tensor<S, 2, D>::uninitialized({pointwise ? 0 : chunks, K * P});
  auto partial = Tensor<S, 2, D>({outer ? chunks : 0, wsize});
  const S* dyd = dy.data();
  const S* xd = x.data();
#pragma omp parallel for schedule(static) if (outer)
  for (Index t = 0; t < chunks; ++t) {
    S* col = pointwise ? nullptr : cols.data() + t * K * P;
    S* target = outer ? partial.data() + t * wsize : dw.data();
    for (Index n = t * N / chunks; n < (t + 1) * N / chunks; ++n) {
      for (Index gr = 0; gr < g.groups; ++gr) {
        const S* xs = xd + (n * C + gr * Cg) * HW;
        if (!pointwise) im2col(xs, ig, col, !outer);
        detail::gemm_cpu<S>(false, true, Og, K, P, S(1), dyd + (n * O + gr * Og) * P, P,
                            pointwise ? xs : col, P, S(1), target + gr * Og * K, K);
      }
    }
  }
  if (outer) {
    S* dwd = dw.data();
#pragma omp parallel for schedule(static)
    for (Index i = 0; i < wsize; ++i) {
      S s = S(0);
      for (Index t = 0; t < chunks; ++t) s += partial.data()[t * wsize + i];
      dwd[i] += s;
    }
  }
}

// dy: (N, O, ...) -> db: (O), ADDED: db[o] += sum of dy over every axis but 1.
template <class S, int R, class D>
inline void conv2d_backward_bias(const Tensor<S, R, D>& dy, Tensor<S, 1, D>& db) {
  static_assert(R >= 2, "conv2d_backward_bias: dy needs a channel axis");
  const Index N = dy.dim(0), O = dy.dim(1), L = O == 0 || N == 0 ? 0 : dy.numel() / (N * O);
  check_same_shape<1>({O}, db.shape(), "conv2d_backward_bias: db");
  const S* d = dy.data();
  S* out = db.data();
#pragma omp parallel for schedule(static)
  for (Index o = 0; o < O; ++o) {
    S s = S(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) s += d[(n * O + o) * L + i];
    out[o] += s;
  }
}

}  // namespace ras::kernels
