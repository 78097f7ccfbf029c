// ras/kernels/optim.hpp — optimiser kernels: the Adam / AdamW and SGD updates of one flat
// parameter (torch.optim single-tensor path, PyTorch 1.13) and the sum of squares behind
// clip_grad_norm. Front-end: dispatches to the device backend.
#pragma once

#include "ras/config.hpp"
#include "ras/kernels/backend.hpp"

namespace ras::kernels {

// Scalars of one Adam step (see nn/optim.hpp for how they derive from lr, betas, eps, t).
template <class S>
struct AdamStepArgs {
  S decay;       // AdamW: 1 - lr * wd
  S l2;          // Adam: wd (added to the gradient)
  S beta1, beta2, one_minus_beta1, one_minus_beta2;
  S step_size;   // lr / (1 - beta1^t)
  S bias_correction2_sqrt;  // sqrt(1 - beta2^t)
  S eps;
  bool decoupled;  // AdamW
  bool has_weight_decay;
};

// w, g, m, v: (n). m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2; w -= step * m / (sqrt(v)/bc2 + eps)
template <class S, class D = Cpu>
inline void adam_step(Index n, S* w, const S* g, S* m, S* v, const AdamStepArgs<S>& a) {
  dispatch<op::AdamStep, D>(n, w, g, m, v, a);
}

template <class S>
struct SgdStepArgs {
  S lr, weight_decay, momentum, one_minus_dampening;
  bool has_momentum, nesterov, first_step;
};

// w, g, buf: (n) (buf may be nullptr without momentum). d = g + wd w; buf = first ? d :
// mu buf + (1 - dampening) d; d = nesterov ? d + mu buf : buf; w -= lr d.
template <class S, class D = Cpu>
inline void sgd_step(Index n, S* w, const S* g, S* buf, const SgdStepArgs<S>& a) {
  dispatch<op::SgdStep, D>(n, w, g, buf, a);
}

// sum of x[i]^2 accumulated in double.
template <class S, class D = Cpu>
inline double sum_squares(Index n, const S* x) {
  return dispatch<op::SumSquares, D>(n, x);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/optim.hpp"
#include "ras/kernels/reference/optim.hpp"
