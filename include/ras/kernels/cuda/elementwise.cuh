// ras/kernels/cuda/elementwise.cuh — the Cuda backend of kernels/elementwise.hpp: one thread per
// element (grid-stride), same formulas as kernels/reference/elementwise.hpp.
#pragma once

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/elementwise.hpp"

namespace ras::kernels::cuda {

// ---- arithmetic -----------------------------------------------------------------------------

template <class S>
inline void run_kernel(Tag, op::Add, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = a[i] + b[i]; }, "add");
}
template <class S>
inline void run_kernel(Tag, op::Sub, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = a[i] - b[i]; }, "sub");
}
template <class S>
inline void run_kernel(Tag, op::Mul, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = a[i] * b[i]; }, "mul");
}
template <class S>
inline void run_kernel(Tag, op::Div, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = a[i] / b[i]; }, "div");
}
template <class S>
inline void run_kernel(Tag, op::AddScalar, Index n, const S* x, S c, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = x[i] + c; }, "add_scalar");
}
template <class S>
inline void run_kernel(Tag, op::Scale, Index n, const S* x, S c, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = c * x[i]; }, "scale");
}
template <class S>
inline void run_kernel(Tag, op::AxpyAcc, Index n, S alpha, const S* x, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] += alpha * x[i]; }, "axpy_acc");
}
template <class S>
inline void run_kernel(Tag, op::SubAcc, Index n, S alpha, const S* a, const S* b, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] += alpha * (a[i] - b[i]); }, "sub_acc");
}
template <class S>
inline void run_kernel(Tag, op::MulAcc, Index n, S alpha, const S* a, const S* b, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] += alpha * a[i] * b[i]; }, "mul_acc");
}
template <class S>
inline void run_kernel(Tag, op::DivAcc, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] += a[i] / b[i]; }, "div_acc");
}
template <class S>
inline void run_kernel(Tag, op::DivBackwardBAcc, Index n, const S* dy, const S* a, const S* b, S* gb) {
  for_each_index(n, [=] __device__(Index i) { gb[i] -= dy[i] * a[i] / (b[i] * b[i]); }, "div_backward_b_acc");
}

// ---- activations ----------------------------------------------------------------------------

template <class S>
inline void run_kernel(Tag, op::ReluForward, Index n, const S* x, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = x[i] > S(0) ? x[i] : S(0); }, "relu_forward");
}
template <class S>
inline void run_kernel(Tag, op::ReluBackwardAcc, Index n, const S* y, const S* dy, S* dx) {
  for_each_index(n, [=] __device__(Index i) { if (y[i] > S(0)) dx[i] += dy[i]; }, "relu_backward_acc");
}
// min(max(x, 0), 6) with std::min / std::max semantics: NaN stays NaN.
template <class S>
inline void run_kernel(Tag, op::Relu6Forward, Index n, const S* x, S* y) {
  for_each_index(n, [=] __device__(Index i) {
    const S v = x[i];
    const S lo = v < S(0) ? S(0) : v;  // std::max(v, 0) returns v when v is NaN
    y[i] = S(6) < lo ? S(6) : lo;      // std::min(lo, 6) returns lo when lo is NaN
  }, "relu6_forward");
}
template <class S>
inline void run_kernel(Tag, op::Relu6BackwardAcc, Index n, const S* x, const S* dy, S* dx) {
  for_each_index(n, [=] __device__(Index i) { if (x[i] > S(0) && x[i] < S(6)) dx[i] += dy[i]; }, "relu6_backward_acc");
}
template <class S>
inline void run_kernel(Tag, op::SigmoidForward, Index n, const S* x, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = S(1) / (S(1) + exp(-x[i])); }, "sigmoid_forward");
}
template <class S>
inline void run_kernel(Tag, op::SigmoidBackwardAcc, Index n, const S* y, const S* dy, S* dx) {
  for_each_index(n, [=] __device__(Index i) { dx[i] += y[i] * (S(1) - y[i]) * dy[i]; }, "sigmoid_backward_acc");
}
template <class S>
inline void run_kernel(Tag, op::SiluForward, Index n, const S* x, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = x[i] / (S(1) + exp(-x[i])); }, "silu_forward");
}
template <class S>
inline void run_kernel(Tag, op::SiluBackwardAcc, Index n, const S* x, const S* dy, S* dx) {
  for_each_index(n, [=] __device__(Index i) {
    const S s = S(1) / (S(1) + exp(-x[i]));
    dx[i] += s * (S(1) + x[i] * (S(1) - s)) * dy[i];
  }, "silu_backward_acc");
}
template <class S>
inline void run_kernel(Tag, op::SqrtForward, Index n, const S* x, S* y) {
  for_each_index(n, [=] __device__(Index i) { y[i] = sqrt(x[i]); }, "sqrt_forward");
}
template <class S>
inline void run_kernel(Tag, op::SqrtBackwardAcc, Index n, const S* y, const S* dy, S* dx) {
  for_each_index(n, [=] __device__(Index i) { dx[i] += dy[i] / (S(2) * y[i]); }, "sqrt_backward_acc");
}

// ---- broadcasts over (outer, C, inner) ------------------------------------------------------

template <class S>
inline void run_kernel(Tag, op::ChannelAdd, Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  for_each_index(outer * C * inner, [=] __device__(Index k) { y[k] = x[k] + v[(k / inner) % C]; }, "channel_add");
}
template <class S>
inline void run_kernel(Tag, op::ChannelMul, Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  for_each_index(outer * C * inner, [=] __device__(Index k) { y[k] = x[k] * v[(k / inner) % C]; }, "channel_mul");
}
template <class S>
inline void run_kernel(Tag, op::ChannelMulAcc, Index outer, Index C, Index inner, const S* dy, const S* v, S* dx) {
  for_each_index(outer * C * inner, [=] __device__(Index k) { dx[k] += dy[k] * v[(k / inner) % C]; },
                 "channel_mul_acc");
}
// gv[c] += sum over (o, i) of g (* a): one block per channel.
template <class S>
inline void run_kernel(Tag, op::ChannelSumAcc, Index outer, Index C, Index inner, const S* g, const S* a, S* gv) {
  if (inner <= 0 || outer <= 0) return;
  segment_sum<S>(
      C, outer * inner,
      [=] __device__(Index c, Index j) {
        const Index k = ((j / inner) * C + c) * inner + j % inner;
        return a ? g[k] * a[k] : g[k];
      },
      [=] __device__(Index c, S sum) { gv[c] += sum; }, "channel_sum_acc");
}

}  // namespace ras::kernels::cuda
