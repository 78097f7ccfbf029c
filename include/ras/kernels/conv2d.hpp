// ras/kernels/conv2d.hpp — 2-D convolution (cross-correlation, as torch.nn.functional.conv2d) on
// NCHW inputs and OIHW weights, with stride, dilation, groups and asymmetric padding
// (top, bottom, left, right), which TensorFlow "SAME" and EfficientNet's Conv2dStaticSamePadding
// need. Pointwise (1x1, stride 1, unpadded) convolutions are one GEMM per image and group,
// W_g (O/g, C/g) x X_g (C/g, H*W); the general case is im2col + GEMM per image and group.
// Images are split over OpenMP threads when there are at least as many images as threads.
#pragma once

#include <algorithm>

#include "ras/kernels/backend.hpp"
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


// x: (N, C, H, W), w: (O, C / groups, kh, kw), bias: (O) or nullptr -> (N, O, H', W').
template <class S, class D>
inline Tensor<S, 4, D> conv2d_forward(const Tensor<S, 4, D>& x, const Tensor<S, 4, D>& w,
                                      const Tensor<S, 1, D>* bias, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), a);
  if (bias)
    RAS_CHECK(bias->dim(0) == g.out_channels, "conv2d: expected bias of shape (", g.out_channels, ",) but got ",
              shape_string(bias->shape()));
  return dispatch<op::Conv2dForward, D>(x, w, bias, a);
}

// dy: (N, O, H', W'), w: (O, C / groups, kh, kw) -> dx: (N, C, H, W), ADDED into dx.
// dX = col2im(W_g^T dY_g) per image and group.
template <class S, class D>
inline void conv2d_backward_data(const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& w,
                                 Tensor<S, 4, D>& dx, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(dx.shape(), w.shape(), a);
  check_same_shape<4>({g.batch, g.out_channels, g.out_h, g.out_w}, dy.shape(), "conv2d_backward_data: dy");
  dispatch<op::Conv2dBackwardData, D>(dy, w, dx, a);
}

// dy: (N, O, H', W'), x: (N, C, H, W) -> dw: (O, C / groups, kh, kw), ADDED into dw.
// dW_g += dY_g col_g^T summed over the batch; with several image chunks each chunk sums into its
// own partial buffer and the partials are reduced afterwards (race-free).
template <class S, class D>
inline void conv2d_backward_weight(const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& x,
                                   Tensor<S, 4, D>& dw, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), dw.shape(), a);
  check_same_shape<4>({g.batch, g.out_channels, g.out_h, g.out_w}, dy.shape(), "conv2d_backward_weight: dy");
  dispatch<op::Conv2dBackwardWeight, D>(dy, x, dw, a);
}

// dy: (N, O, ...) -> db: (O), ADDED: db[o] += sum of dy over every axis but 1.
template <class S, int R, class D>
inline void conv2d_backward_bias(const Tensor<S, R, D>& dy, Tensor<S, 1, D>& db) {
  static_assert(R >= 2, "conv2d_backward_bias: dy needs a channel axis");
  check_same_shape<1>({dy.dim(1)}, db.shape(), "conv2d_backward_bias: db");
  dispatch<op::Conv2dBackwardBias, D>(dy, db);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/conv2d.hpp"
#include "ras/kernels/reference/conv2d.hpp"
