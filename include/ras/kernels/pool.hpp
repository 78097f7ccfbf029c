// ras/kernels/pool.hpp — 2-D average pooling on NCHW, exactly as torch.nn.functional.avg_pool2d
// with ceil_mode=False and no divisor_override (aten/src/ATen/native/cpu/AvgPoolKernel.cpp): the
// window [h0, h0 + kh) x [w0, w0 + kw) with h0 = oh * stride - pad is clipped to the padded image
// for the count_include_pad divisor and to the real image for the sum and the other divisor.
// OpenMP over the N * C planes (each writes its own plane, forward and backward).
#pragma once

#include <algorithm>

#include "ras/kernels/conv2d.hpp"

namespace ras::kernels {

struct Pool2dArgs {
  Index kernel_h = 1, kernel_w = 1;
  Index stride_h = 1, stride_w = 1;
  Index pad_h = 0, pad_w = 0;
  bool count_include_pad = true;

  // nn.AvgPool2d(kernel, stride, padding, count_include_pad=...) with square arguments.
  static Pool2dArgs square(Index kernel, Index stride, Index pad = 0,
                           bool count_include_pad = true) {
    return Pool2dArgs{kernel, kernel, stride, stride, pad, pad, count_include_pad};
  }
};

// x: (N, C, H, W) -> (H', W'), validated as PyTorch does (pad at most half the kernel).
inline std::pair<Index, Index> avg_pool2d_output_size(const Shape<4>& x, const Pool2dArgs& a) {
  RAS_CHECK(a.kernel_h >= 1 && a.kernel_w >= 1 && a.stride_h >= 1 && a.stride_w >= 1,
            "avg_pool2d: expected kernel and stride >= 1 but got kernel (", a.kernel_h, ", ",
            a.kernel_w, "), stride (", a.stride_h, ", ", a.stride_w, ")");
  RAS_CHECK(a.pad_h >= 0 && a.pad_w >= 0 && a.pad_h <= a.kernel_h / 2 && a.pad_w <= a.kernel_w / 2,
            "avg_pool2d: expected padding between 0 and half the kernel (", a.kernel_h / 2, ", ",
            a.kernel_w / 2, ") but got (", a.pad_h, ", ", a.pad_w, ")");
  const Index oh = conv2d_output_size(x[2], a.kernel_h, a.stride_h, a.pad_h, a.pad_h);
  const Index ow = conv2d_output_size(x[3], a.kernel_w, a.stride_w, a.pad_w, a.pad_w);
  RAS_CHECK(oh >= 1 && ow >= 1, "avg_pool2d: expected an output of at least 1x1 but got ", oh, "x",
            ow, " for input shape ", shape_string(x), " and kernel (", a.kernel_h, ", ", a.kernel_w,
            ")");
  return {oh, ow};
}

namespace detail {
// Clipped window of output position o along one axis and its divisor contribution.
struct PoolWindow {
  Index begin, end, padded_count;
};
inline PoolWindow pool_window(Index o, Index kernel, Index stride, Index pad, Index in) {
  Index begin = o * stride - pad;
  Index end = std::min(begin + kernel, in + pad);
  const Index padded = end - begin;
  begin = std::max(begin, Index(0));
  end = std::min(end, in);
  return {begin, end, padded};
}
inline Index pool_divisor(const PoolWindow& h, const PoolWindow& w, bool count_include_pad) {
  return count_include_pad ? h.padded_count * w.padded_count
                           : (h.end - h.begin) * (w.end - w.begin);
}
}  // namespace detail

// x: (N, C, H, W) -> (N, C, H', W')
template <class S, class D>
inline Tensor<S, 4, D> avg_pool2d_forward(const Tensor<S, 4, D>& x, const Pool2dArgs& a) {
  return dispatch<op::AvgPool2dForward, D>(x, a);
}

// dy: (N, C, H', W') -> dx: (N, C, H, W), ADDED into dx.
template <class S, class D>
inline void avg_pool2d_backward(const Tensor<S, 4, D>& dy, Tensor<S, 4, D>& dx,
                                const Pool2dArgs& a) {
  const auto [oh, ow] = avg_pool2d_output_size(dx.shape(), a);
  check_same_shape<4>({dx.dim(0), dx.dim(1), oh, ow}, dy.shape(), "avg_pool2d_backward: dy");
  dispatch<op::AvgPool2dBackward, D>(dy, dx, a);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/pool.hpp"
#include "ras/kernels/reference/pool.hpp"
