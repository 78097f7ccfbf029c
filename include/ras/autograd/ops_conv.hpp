// ras/autograd/ops_conv.hpp — conv2d as an autograd op: torch.nn.functional.conv2d with stride,
// dilation, groups and asymmetric padding (Conv2dArgs, kernels/conv2d.hpp). Depthwise
// convolutions (groups == C == O) run the direct kernels of kernels/depthwise.hpp, all others
// im2col + GEMM. Layouts: x NCHW, weight OIHW (O, C / groups, kh, kw), bias (O).
#pragma once

#include <optional>
#include <type_traits>

#include "ras/autograd/var.hpp"
#include "ras/kernels/conv2d.hpp"
#include "ras/kernels/depthwise.hpp"

namespace ras::autograd {

using kernels::Conv2dArgs;

// x: (N, C, H, W), weight: (O, C / groups, kh, kw), bias: (O) or nullptr -> (N, O, H', W')
// (bias is a non-deduced pointer so that a literal nullptr works).
template <class S, class D>
inline Var<S, 4, D> conv2d(const Var<S, 4, D>& x, const Var<S, 4, D>& weight,
                           const std::type_identity_t<Var<S, 1, D>>* bias = nullptr,
                           const Conv2dArgs& args = {}) {
  const auto g = kernels::conv2d_geometry(x.shape(), weight.shape(), args);
  if (bias)
    RAS_CHECK(bias->dim(0) == g.out_channels, "conv2d: expected bias of shape (", g.out_channels,
              ",) but got ", shape_string(bias->shape()), " (weight shape ",
              shape_string(weight.shape()), ")");
  const bool depthwise = g.groups == g.in_channels && g.out_channels == g.in_channels;
  const Tensor<S, 1, D>* b = bias ? &bias->value() : nullptr;
  auto y = depthwise ? kernels::depthwise_conv2d_forward(x.value(), weight.value(), b, args)
                     : kernels::conv2d_forward(x.value(), weight.value(), b, args);
  const bool track_grad = needs_grad(x, weight) || (bias && needs_grad(*bias));
  Var<S, 4, D> out(std::move(y), track_grad);
  std::optional<Var<S, 1, D>> bv;
  if (bias) bv = *bias;
  // y = x (*) w + b (cross-correlation). dx += the transposed convolution of dy with w
  // (col2im(W_g^T dY_g), or the depthwise scatter); dw += sum over images of dY_g col_g(x)^T;
  // db += sum of dy over N, H', W'.
  record(out, [x, weight, bv, args, depthwise](const Tensor<S, 4, D>& dy) mutable {
    if (x.requires_grad()) {
      if (depthwise)
        kernels::depthwise_conv2d_backward_data(dy, weight.value(), x.grad(), args);
      else
        kernels::conv2d_backward_data(dy, weight.value(), x.grad(), args);
    }
    if (weight.requires_grad()) {
      if (depthwise)
        kernels::depthwise_conv2d_backward_weight(dy, x.value(), weight.grad(), args);
      else
        kernels::conv2d_backward_weight(dy, x.value(), weight.grad(), args);
    }
    if (bv && bv->requires_grad()) kernels::conv2d_backward_bias(dy, bv->grad());
  });
  return out;
}

template <class S, class D>
inline Var<S, 4, D> conv2d(const Var<S, 4, D>& x, const Var<S, 4, D>& weight,
                           const Var<S, 1, D>& bias, const Conv2dArgs& args = {}) {
  return conv2d(x, weight, &bias, args);
}

}  // namespace ras::autograd
