// ras/autograd/ops_norm.hpp — batch_norm (torch.nn.functional.batch_norm over axis 1 of
// (N, C, ...): training normalises with the biased batch variance and updates the running stats
// with the unbiased one; eval is a per-channel affine with the running stats) and layer_norm
// (torch.nn.functional.layer_norm over the last axis, llm.c's forward/backward) as autograd ops
// over kernels/norm.hpp. Optional affine parameters are non-deduced pointers (nullptr = none).
#pragma once

#include <cmath>
#include <memory>
#include <optional>
#include <type_traits>

#include "ras/autograd/var.hpp"
#include "ras/kernels/norm.hpp"

namespace ras::autograd {

// x: (N, C, ...), weight, bias: (C) or nullptr, running_mean, running_var: (C) -> (N, C, ...)
// training: normalise with the batch mean and biased variance, then
//   running = (1 - momentum) * running + momentum * batch statistic (unbiased variance);
//   the running tensors may both be empty in training (track_running_stats=False).
// eval: normalise with the running statistics.
template <class S, int R, class D>
inline Var<S, R, D> batch_norm(const Var<S, R, D>& x,
                               const std::type_identity_t<Var<S, 1, D>>* weight,
                               const std::type_identity_t<Var<S, 1, D>>* bias,
                               Tensor<S, 1, D>& running_mean, Tensor<S, 1, D>& running_var,
                               bool training, std::type_identity_t<S> momentum,
                               std::type_identity_t<S> eps) {
  static_assert(R >= 2, "batch_norm: input needs a channel axis (N, C, ...)");
  const Index C = x.dim(1), M = C == 0 ? 0 : x.numel() / C;
  if (weight)
    RAS_CHECK(weight->shape() == Shape<1>{C}, "batch_norm: expected weight of shape (", C,
              ",) but got ", shape_string(weight->shape()), " for input shape ",
              shape_string(x.shape()));
  if (bias)
    RAS_CHECK(bias->shape() == Shape<1>{C}, "batch_norm: expected bias of shape (", C,
              ",) but got ", shape_string(bias->shape()), " for input shape ",
              shape_string(x.shape()));
  const bool track = !(training && running_mean.empty() && running_var.empty());
  if (track)
    RAS_CHECK(running_mean.shape() == Shape<1>{C} && running_var.shape() == Shape<1>{C},
              "batch_norm: expected running_mean and running_var of shape (", C, ",) but got ",
              shape_string(running_mean.shape()), " and ", shape_string(running_var.shape()),
              " for input shape ", shape_string(x.shape()));
  if (training)
    RAS_CHECK(
        M > 1,
        "batch_norm: expected more than 1 value per channel when training but got input shape ",
        shape_string(x.shape()));

  auto mean = std::make_shared<Tensor<S, 1, D>>(Shape<1>{C});
  auto rstd = std::make_shared<Tensor<S, 1, D>>(Shape<1>{C});
  if (training) {
    auto var = Tensor<S, 1, D>(Shape<1>{C});
    kernels::batch_norm_statistics(x.value(), *mean, var);
    kernels::batch_norm_finalize<S, D>(C, M, true, track, eps, momentum, var.data(), mean->data(), rstd->data(),
                                       track ? running_mean.data() : nullptr, track ? running_var.data() : nullptr);
  } else {
    kernels::batch_norm_finalize<S, D>(C, M, false, true, eps, momentum, nullptr, mean->data(), rstd->data(),
                                       running_mean.data(), running_var.data());
  }
  auto y = kernels::batch_norm_forward(x.value(), *mean, *rstd, weight ? &weight->value() : nullptr,
                                       bias ? &bias->value() : nullptr);
  const bool track_grad =
      needs_grad(x) || (weight && needs_grad(*weight)) || (bias && needs_grad(*bias));
  Var<S, R, D> out(std::move(y), track_grad);
  std::optional<Var<S, 1, D>> wv, bv;
  if (weight) wv = *weight;
  if (bias) bv = *bias;
  // xhat = (x - mean) * rstd, y = w * xhat + b. db += sum(dy), dw += sum(dy * xhat) per channel.
  // eval: dx += w * rstd * dy. training (mean, rstd depend on x; M values per channel):
  //   dx += w * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
  record(out, [x, wv, bv, mean, rstd, training](const Tensor<S, R, D>& dy) mutable {
    kernels::batch_norm_backward(dy, x.value(), *mean, *rstd, wv ? &wv->value() : nullptr, training,
                                 x.requires_grad() ? &x.grad() : nullptr,
                                 wv && wv->requires_grad() ? &wv->grad() : nullptr,
                                 bv && bv->requires_grad() ? &bv->grad() : nullptr);
  });
  return out;
}

// x: (..., C), weight, bias: (C) or nullptr -> (..., C), normalised over the last axis
// (biased variance), then scaled and shifted.
template <class S, int R, class D>
inline Var<S, R, D> layer_norm(const Var<S, R, D>& x,
                               const std::type_identity_t<Var<S, 1, D>>* weight,
                               const std::type_identity_t<Var<S, 1, D>>* bias,
                               std::type_identity_t<S> eps = S(1e-5)) {
  static_assert(R >= 1, "layer_norm: input needs at least one dimension");
  const Index C = x.dim(R - 1), rows = C == 0 ? 0 : x.numel() / C;
  if (weight)
    RAS_CHECK(weight->shape() == Shape<1>{C}, "layer_norm: expected weight of shape (", C,
              ",) but got ", shape_string(weight->shape()), " for input shape ",
              shape_string(x.shape()));
  if (bias)
    RAS_CHECK(bias->shape() == Shape<1>{C}, "layer_norm: expected bias of shape (", C,
              ",) but got ", shape_string(bias->shape()), " for input shape ",
              shape_string(x.shape()));
  auto mean = std::make_shared<Tensor<S, 1, D>>(Tensor<S, 1, D>::uninitialized({rows}));
  auto rstd = std::make_shared<Tensor<S, 1, D>>(Tensor<S, 1, D>::uninitialized({rows}));
  auto y = kernels::layer_norm_forward(x.value(), weight ? &weight->value() : nullptr,
                                       bias ? &bias->value() : nullptr, S(eps), *mean, *rstd);
  const bool track_grad =
      needs_grad(x) || (weight && needs_grad(*weight)) || (bias && needs_grad(*bias));
  Var<S, R, D> out(std::move(y), track_grad);
  std::optional<Var<S, 1, D>> wv, bv;
  if (weight) wv = *weight;
  if (bias) bv = *bias;
  // norm = (x - mean) * rstd, dnorm = dy * w (llm.c layernorm_backward):
  //   dx += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) (means over the row)
  //   dw += sum over rows of dy * norm, db += sum over rows of dy
  record(out, [x, wv, bv, mean, rstd](const Tensor<S, R, D>& dy) mutable {
    kernels::layer_norm_backward(dy, x.value(), *mean, *rstd, wv ? &wv->value() : nullptr,
                                 x.requires_grad() ? &x.grad() : nullptr,
                                 wv && wv->requires_grad() ? &wv->grad() : nullptr,
                                 bv && bv->requires_grad() ? &bv->grad() : nullptr);
  });
  return out;
}

}  // namespace ras::autograd
