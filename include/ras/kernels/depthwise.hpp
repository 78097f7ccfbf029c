// ras/kernels/depthwise.hpp — depthwise 2-D convolution (torch conv2d with groups == C == O, depth
// multiplier 1), the memory-bound workhorse of every EfficientNet MBConv block. Direct loops with
// OpenMP over the N * C planes. Forward with dilation 1 and stride 1 or 2 (every EfficientNet /
// MobileNetV2 depthwise conv): each plane is copied once into zero-padded stride x stride phase
// planes, so that every tap is one contiguous, vectorised stream over the output (depthwise_flat_*).
// Otherwise, and in the backward passes, square 3x3 and 5x5 kernels get compile-time kernel sizes
// (the tap loop unrolls), everything else (7x7, non-square) takes the generic path; each output row
// is split into border columns (bounds-checked) and interior columns (whole window inside the row).
#pragma once

#include <algorithm>
#include <vector>

#include "ras/kernels/conv2d.hpp"

namespace ras::kernels {

namespace detail {

struct DepthwisePlane {
  Index in_h, in_w, out_h, out_w, kernel_h, kernel_w;
  Index stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  // Output columns whose whole window lies inside the input row: [interior_lo, interior_hi).
  Index interior_lo, interior_hi;
};

inline DepthwisePlane depthwise_plane(const Conv2dGeometry& g, const Conv2dArgs& a) {
  DepthwisePlane p{g.in_h,       g.in_w,       g.out_h,    g.out_w,   g.kernel_h,
                   g.kernel_w,   a.stride_h,   a.stride_w, a.pad_top, a.pad_left,
                   a.dilation_h, a.dilation_w, 0,          0};
  // Interior: ox * sw - pl >= 0 and ox * sw - pl + (kw - 1) * dw <= W - 1.
  const Index last = g.in_w - 1 + a.pad_left - (g.kernel_w - 1) * a.dilation_w;
  p.interior_lo = std::min(g.out_w, (a.pad_left + a.stride_w - 1) / a.stride_w);
  p.interior_hi =
      std::max(p.interior_lo, std::min(g.out_w, last < 0 ? Index(0) : last / a.stride_w + 1));
  return p;
}

inline void depthwise_check(const Conv2dGeometry& g, const char* what) {
  RAS_CHECK(g.groups == g.in_channels && g.out_channels == g.in_channels, what,
            ": expected groups == C == O (depth multiplier 1) but got groups=", g.groups,
            ", C=", g.in_channels, ", O=", g.out_channels);
}

}  // namespace detail

// x: (N, C, H, W), w: (C, 1, kh, kw), bias: (C) or nullptr -> (N, C, H', W').
// Requires groups == C == O.
template <class S, class D>
inline Tensor<S, 4, D> depthwise_conv2d_forward(const Tensor<S, 4, D>& x, const Tensor<S, 4, D>& w,
                                                const Tensor<S, 1, D>* bias, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), a);
  detail::depthwise_check(g, "depthwise_conv2d_forward");
  if (bias)
    RAS_CHECK(bias->dim(0) == g.in_channels, "conv2d: expected bias of shape (", g.in_channels, ",) but got ",
              shape_string(bias->shape()));
  return dispatch<op::DepthwiseConv2dForward, D>(x, w, bias, a);
}

// dy: (N, C, H', W'), w: (C, 1, kh, kw) -> dx: (N, C, H, W), ADDED into dx.
template <class S, class D>
inline void depthwise_conv2d_backward_data(const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& w,
                                           Tensor<S, 4, D>& dx, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(dx.shape(), w.shape(), a);
  detail::depthwise_check(g, "depthwise_conv2d_backward_data");
  check_same_shape<4>({g.batch, g.in_channels, g.out_h, g.out_w}, dy.shape(), "depthwise_conv2d_backward_data: dy");
  dispatch<op::DepthwiseConv2dBackwardData, D>(dy, w, dx, a);
}

// dy: (N, C, H', W'), x: (N, C, H, W) -> dw: (C, 1, kh, kw), ADDED into dw.
// dw[c, ky, kx] += sum over n, oy, ox of dy[n, c, oy, ox] * x[n, c, iy, ix]; parallel over c.
template <class S, class D>
inline void depthwise_conv2d_backward_weight(const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& x,
                                             Tensor<S, 4, D>& dw, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), dw.shape(), a);
  detail::depthwise_check(g, "depthwise_conv2d_backward_weight");
  check_same_shape<4>({g.batch, g.in_channels, g.out_h, g.out_w}, dy.shape(), "depthwise_conv2d_backward_weight: dy");
  dispatch<op::DepthwiseConv2dBackwardWeight, D>(dy, x, dw, a);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/depthwise.hpp"
#include "ras/kernels/reference/depthwise.hpp"
