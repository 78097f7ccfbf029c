// ras/kernels/cuda/optim.cuh — the Cuda backend of kernels/optim.hpp: the Adam / AdamW and SGD
// updates one thread per parameter element (the step's scalars travel by value), and the sum of
// squares behind clip_grad_norm as a deterministic two-pass double reduction.
#pragma once

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/optim.hpp"

namespace ras::kernels::cuda {

template <class S>
inline void run_kernel(Tag, op::AdamStep, Index n, S* w, const S* g, S* m, S* v, const AdamStepArgs<S>& args) {
  const AdamStepArgs<S> a = args;
  for_each_index(n, [=] __device__(Index j) {
    S grad = g[j];
    S wj = w[j];
    if (a.has_weight_decay) {
      if (a.decoupled) wj *= a.decay;
      else grad += a.l2 * wj;
    }
    const S mj = m[j] * a.beta1 + a.one_minus_beta1 * grad;
    const S vj = v[j] * a.beta2 + a.one_minus_beta2 * grad * grad;
    m[j] = mj;
    v[j] = vj;
    const S denom = sqrt(vj) / a.bias_correction2_sqrt + a.eps;
    w[j] = wj - a.step_size * mj / denom;
  }, "adam_step");
}

template <class S>
inline void run_kernel(Tag, op::SgdStep, Index n, S* w, const S* g, S* buf, const SgdStepArgs<S>& args) {
  const SgdStepArgs<S> a = args;
  for_each_index(n, [=] __device__(Index j) {
    S d = g[j] + a.weight_decay * w[j];
    if (a.has_momentum) {
      const S b = a.first_step ? d : a.momentum * buf[j] + a.one_minus_dampening * d;
      buf[j] = b;
      d = a.nesterov ? d + a.momentum * b : b;
    }
    w[j] -= a.lr * d;
  }, "sgd_step");
}

template <class S>
inline double run_kernel(Tag, op::SumSquares, Index n, const S* x) {
  return reduce_sum_to_host<double>(n, [=] __device__(Index i) { return double(x[i]) * double(x[i]); }, "sum_squares");
}

}  // namespace ras::kernels::cuda
