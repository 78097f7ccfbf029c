// ras/kernels/cpu/optim.hpp — the Cpu backend of kernels/optim.hpp (OpenMP over elements).
#pragma once

#include <cmath>

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/optim.hpp"

namespace ras::kernels::cpu {

template <class S>
inline void run_kernel(Tag, op::AdamStep, Index n, S* w, const S* g, S* m, S* v, const AdamStepArgs<S>& a) {
  const AdamStepArgs<S> o = a;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (Index j = 0; j < n; ++j) {
    S grad = g[j];
    if (o.has_weight_decay) {
      if (o.decoupled) w[j] *= o.decay;  // AdamW: p.mul_(1 - lr * wd)
      else grad += o.l2 * w[j];          // Adam: grad.add(p, alpha=wd)
    }
    m[j] = m[j] * o.beta1 + o.one_minus_beta1 * grad;
    v[j] = v[j] * o.beta2 + o.one_minus_beta2 * grad * grad;
    const S denom = std::sqrt(v[j]) / o.bias_correction2_sqrt + o.eps;
    w[j] -= o.step_size * m[j] / denom;
  }
}

template <class S>
inline void run_kernel(Tag, op::SgdStep, Index n, S* w, const S* g, S* buf, const SgdStepArgs<S>& a) {
  const SgdStepArgs<S> o = a;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (Index j = 0; j < n; ++j) {
    S d = g[j] + o.weight_decay * w[j];
    if (o.has_momentum) {
      buf[j] = o.first_step ? d : o.momentum * buf[j] + o.one_minus_dampening * d;
      d = o.nesterov ? d + o.momentum * buf[j] : buf[j];
    }
    w[j] -= o.lr * d;
  }
}

template <class S>
inline double run_kernel(Tag, op::SumSquares, Index n, const S* x) {
  double s = 0.0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (n > 65536)
  for (Index i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return s;
}

}  // namespace ras::kernels::cpu
