// ras/autograd/ops_pool.hpp — average pooling (torch.nn.functional.avg_pool2d, ceil_mode=False,
// both count_include_pad settings) and bilinear resizing (F.interpolate(mode="bilinear",
// align_corners=..., antialias=False)) on NCHW maps, as autograd ops over kernels/pool.hpp and
// kernels/resample.hpp.
#pragma once

#include "ras/autograd/var.hpp"
#include "ras/kernels/pool.hpp"
#include "ras/kernels/resample.hpp"

namespace ras::autograd {

using kernels::Pool2dArgs;

// x: (N, C, H, W) -> (N, C, H', W')
template <class S, class D>
inline Var<S, 4, D> avg_pool2d(const Var<S, 4, D>& x, const Pool2dArgs& args) {
  auto out = make_output(kernels::avg_pool2d_forward(x.value(), args), x);
  // Each output is the mean of its window: dx += dy / divisor on every pixel of the window.
  record(out, [x, args](const Tensor<S, 4, D>& dy) mutable {
    kernels::avg_pool2d_backward(dy, x.grad(), args);
  });
  return out;
}

// x: (N, C, H, W) -> (N, C, out_h, out_w)
template <class S, class D>
inline Var<S, 4, D> interpolate_bilinear(const Var<S, 4, D>& x, Index out_h, Index out_w,
                                         bool align_corners) {
  auto out =
      make_output(kernels::interpolate_bilinear_forward(x.value(), out_h, out_w, align_corners), x);
  // y[i, j] = sum of the four taps l_h * l_w * x[h, w]: dx[h, w] += l_h * l_w * dy[i, j].
  record(out, [x, align_corners](const Tensor<S, 4, D>& dy) mutable {
    kernels::interpolate_bilinear_backward(dy, x.grad(), align_corners);
  });
  return out;
}

}  // namespace ras::autograd
