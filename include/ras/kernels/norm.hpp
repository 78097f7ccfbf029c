// ras/kernels/norm.hpp — batch normalisation over axis 1 of (N, C, ...) maps
// (torch.nn.functional.batch_norm: biased variance to normalise) and layer normalisation over the
// last axis (torch.nn.functional.layer_norm, forward/backward as llm.c's layernorm: the forward
// saves the per-row mean and reciprocal standard deviation for the backward pass).
// Sums are accumulated in at least double precision. OpenMP over channels (batch norm) or rows
// (layer norm); the layer-norm parameter gradients use per-chunk partial sums (race-free).
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "ras/kernels/backend.hpp"
#include "ras/tensor.hpp"

namespace ras::kernels {

namespace detail {
template <class S>
using norm_acc_t = std::conditional_t<(sizeof(S) < sizeof(double)), double, S>;

// (N, C, d2, ...) -> (N, C, L)
template <int R>
inline void channel_layout(const Shape<R>& s, Index& N, Index& C, Index& L) {
  N = s[0];
  C = s[1];
  L = 1;
  for (int i = 2; i < R; ++i) L *= s[static_cast<std::size_t>(i)];
}
}  // namespace detail

// x: (N, C, ...) -> mean: (C), var: (C), overwritten; var is the biased variance (divided by
// N * prod(...)), computed in two passes.
template <class S, int R, class D>
inline void batch_norm_statistics(const Tensor<S, R, D>& x, Tensor<S, 1, D>& mean,
                                  Tensor<S, 1, D>& var) {
  static_assert(R >= 2, "batch_norm_statistics: input needs a channel axis");
  check_same_shape<1>({x.dim(1)}, mean.shape(), "batch_norm_statistics: mean");
  check_same_shape<1>({x.dim(1)}, var.shape(), "batch_norm_statistics: var");
  dispatch<op::BatchNormStatistics, D>(x, mean, var);
}

// x: (N, C, ...), mean, rstd, weight, bias: (C) (weight / bias may be nullptr) -> (N, C, ...)
// y = (x - mean[c]) * rstd[c] * weight[c] + bias[c]
template <class S, int R, class D>
inline Tensor<S, R, D> batch_norm_forward(const Tensor<S, R, D>& x, const Tensor<S, 1, D>& mean,
                                          const Tensor<S, 1, D>& rstd,
                                          const Tensor<S, 1, D>* weight,
                                          const Tensor<S, 1, D>* bias) {
  static_assert(R >= 2, "batch_norm_forward: input needs a channel axis");
  const Index C = x.dim(1);
  check_same_shape<1>({C}, mean.shape(), "batch_norm_forward: mean");
  check_same_shape<1>({C}, rstd.shape(), "batch_norm_forward: rstd");
  if (weight) check_same_shape<1>({C}, weight->shape(), "batch_norm_forward: weight");
  if (bias) check_same_shape<1>({C}, bias->shape(), "batch_norm_forward: bias");
  return dispatch<op::BatchNormForward, D>(x, mean, rstd, weight, bias);
}

// dy, x: (N, C, ...); mean, rstd, weight: (C) -> dx: (N, C, ...), dweight, dbias: (C), each ADDED
// into when not nullptr. batch_stats: mean / rstd were computed from this batch (training), so
// the gradient also flows through them; otherwise they are constants (running statistics).
template <class S, int R, class D>
inline void batch_norm_backward(const Tensor<S, R, D>& dy, const Tensor<S, R, D>& x,
                                const Tensor<S, 1, D>& mean, const Tensor<S, 1, D>& rstd,
                                const Tensor<S, 1, D>* weight, bool batch_stats,
                                Tensor<S, R, D>* dx, Tensor<S, 1, D>* dweight,
                                Tensor<S, 1, D>* dbias) {
  static_assert(R >= 2, "batch_norm_backward: input needs a channel axis");
  check_same_shape<R>(x.shape(), dy.shape(), "batch_norm_backward: dy");
  if (dx) check_same_shape<R>(x.shape(), dx->shape(), "batch_norm_backward: dx");
  const Index C = x.dim(1);
  check_same_shape<1>({C}, mean.shape(), "batch_norm_backward: mean");
  check_same_shape<1>({C}, rstd.shape(), "batch_norm_backward: rstd");
  if (weight) check_same_shape<1>({C}, weight->shape(), "batch_norm_backward: weight");
  if (dweight) check_same_shape<1>({C}, dweight->shape(), "batch_norm_backward: dweight");
  if (dbias) check_same_shape<1>({C}, dbias->shape(), "batch_norm_backward: dbias");
  dispatch<op::BatchNormBackward, D>(dy, x, mean, rstd, weight, batch_stats, dx, dweight, dbias);
}

// x: (..., C), weight, bias: (C) or nullptr -> y: (..., C); mean, rstd: (rows) overwritten, where
// rows = numel / C. y = (x - mean) * rstd * weight + bias with rstd = 1 / sqrt(biased var + eps).
template <class S, int R, class D>
inline Tensor<S, R, D> layer_norm_forward(const Tensor<S, R, D>& x, const Tensor<S, 1, D>* weight,
                                          const Tensor<S, 1, D>* bias, S eps, Tensor<S, 1, D>& mean,
                                          Tensor<S, 1, D>& rstd) {
  const Index C = x.dim(R - 1), rows = C == 0 ? 0 : x.numel() / C;
  check_same_shape<1>({rows}, mean.shape(), "layer_norm_forward: mean");
  check_same_shape<1>({rows}, rstd.shape(), "layer_norm_forward: rstd");
  if (weight) check_same_shape<1>({C}, weight->shape(), "layer_norm_forward: weight");
  if (bias) check_same_shape<1>({C}, bias->shape(), "layer_norm_forward: bias");
  return dispatch<op::LayerNormForward, D>(x, weight, bias, eps, mean, rstd);
}

// dy, x: (..., C); mean, rstd: (rows) from layer_norm_forward; weight: (C) or nullptr ->
// dx: (..., C), dweight, dbias: (C), each ADDED into when not nullptr.
template <class S, int R, class D>
inline void layer_norm_backward(const Tensor<S, R, D>& dy, const Tensor<S, R, D>& x,
                                const Tensor<S, 1, D>& mean, const Tensor<S, 1, D>& rstd,
                                const Tensor<S, 1, D>* weight, Tensor<S, R, D>* dx,
                                Tensor<S, 1, D>* dweight, Tensor<S, 1, D>* dbias) {
  check_same_shape<R>(x.shape(), dy.shape(), "layer_norm_backward: dy");
  if (dx) check_same_shape<R>(x.shape(), dx->shape(), "layer_norm_backward: dx");
  dispatch<op::LayerNormBackward, D>(dy, x, mean, rstd, weight, dx, dweight, dbias);
}

// Per-channel statistics -> what batch_norm_forward uses, all (C):
//   training: rstd = 1 / sqrt(var + eps) from the batch's biased variance; when track, the running
//             statistics move by momentum (running_var with the unbiased variance, M values/channel);
//   eval:     mean = running_mean, rstd = 1 / sqrt(running_var + eps) (var unused).
template <class S, class D = Cpu>
inline void batch_norm_finalize(Index C, Index M, bool training, bool track, S eps, S momentum, const S* var,
                                S* mean, S* rstd, S* running_mean, S* running_var) {
  dispatch<op::BatchNormFinalize, D>(C, M, training, track, eps, momentum, var, mean, rstd, running_mean,
                                     running_var);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/norm.hpp"
#include "ras/kernels/reference/norm.hpp"
