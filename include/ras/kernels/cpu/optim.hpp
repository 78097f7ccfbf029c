// ras/kernels/cpu/optim.hpp — the Cpu backend of kernels/optim.hpp (OpenMP over elements).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

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

// Deterministic whatever the thread count: partial sums over fixed blocks of 65536 elements (in
// parallel), added in block order (the gradient norm of clipping must not depend on the threads).
template <class S>
inline double run_kernel(Tag, op::SumSquares, Index n, const S* x) {
  constexpr Index block = 65536;
  const Index blocks = (n + block - 1) / block;
  if (blocks <= 1) {
    double s = 0.0;
    for (Index i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    return s;
  }
  std::vector<double> partial(static_cast<std::size_t>(blocks));
#pragma omp parallel for schedule(static)
  for (Index b = 0; b < blocks; ++b) {
    double s = 0.0;
    const Index end = std::min(n, (b + 1) * block);
    for (Index i = b * block; i < end; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    partial[static_cast<std::size_t>(b)] = s;
  }
  double s = 0.0;
  for (double p : partial) s += p;
  return s;
}

}  // namespace ras::kernels::cpu
