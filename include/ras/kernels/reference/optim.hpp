// ras/kernels/reference/optim.hpp — the reference backend of kernels/optim.hpp: plain scalar loops,
// one parameter at a time (torch.optim single-tensor Adam / AdamW / SGD updates).
#pragma once

#include <cmath>

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/optim.hpp"

namespace ras::kernels::reference {

template <class S>
inline void run_kernel(Tag, op::AdamStep, Index n, S* w, const S* g, S* m, S* v, const AdamStepArgs<S>& a) {
  for (Index j = 0; j < n; ++j) {
    S grad = g[j];
    if (a.has_weight_decay) {
      if (a.decoupled) w[j] *= a.decay;  // AdamW: p *= 1 - lr * wd
      else grad += a.l2 * w[j];          // Adam: g += wd * p
    }
    m[j] = m[j] * a.beta1 + a.one_minus_beta1 * grad;
    v[j] = v[j] * a.beta2 + a.one_minus_beta2 * grad * grad;
    const S denom = std::sqrt(v[j]) / a.bias_correction2_sqrt + a.eps;
    w[j] -= a.step_size * m[j] / denom;
  }
}

template <class S>
inline void run_kernel(Tag, op::SgdStep, Index n, S* w, const S* g, S* buf, const SgdStepArgs<S>& a) {
  for (Index j = 0; j < n; ++j) {
    S d = g[j] + a.weight_decay * w[j];
    if (a.has_momentum) {
      buf[j] = a.first_step ? d : a.momentum * buf[j] + a.one_minus_dampening * d;
      d = a.nesterov ? d + a.momentum * buf[j] : buf[j];
    }
    w[j] -= a.lr * d;
  }
}

template <class S>
inline double run_kernel(Tag, op::SumSquares, Index n, const S* x) {
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return sum;
}

}  // namespace ras::kernels::reference
