// ras/kernels/reference/elementwise.hpp — the reference backend of kernels/elementwise.hpp: plain
// scalar loops, one element at a time (single thread, no vectorisation).
#pragma once

#include <algorithm>
#include <cmath>

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/elementwise.hpp"

namespace ras::kernels::reference {

// ---- arithmetic -----------------------------------------------------------------------------

template <class S>
inline void run_kernel(Tag, op::Add, Index n, const S* a, const S* b, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

template <class S>
inline void run_kernel(Tag, op::Sub, Index n, const S* a, const S* b, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = a[i] - b[i];
}

template <class S>
inline void run_kernel(Tag, op::Mul, Index n, const S* a, const S* b, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

template <class S>
inline void run_kernel(Tag, op::Div, Index n, const S* a, const S* b, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = a[i] / b[i];
}

template <class S>
inline void run_kernel(Tag, op::AddScalar, Index n, const S* x, S c, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = x[i] + c;
}

template <class S>
inline void run_kernel(Tag, op::Scale, Index n, const S* x, S c, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = c * x[i];
}

template <class S>
inline void run_kernel(Tag, op::AxpyAcc, Index n, S alpha, const S* x, S* y) {
  for (Index i = 0; i < n; ++i) y[i] += alpha * x[i];
}

template <class S>
inline void run_kernel(Tag, op::SubAcc, Index n, S alpha, const S* a, const S* b, S* y) {
  for (Index i = 0; i < n; ++i) y[i] += alpha * (a[i] - b[i]);
}

template <class S>
inline void run_kernel(Tag, op::MulAcc, Index n, S alpha, const S* a, const S* b, S* y) {
  for (Index i = 0; i < n; ++i) y[i] += alpha * a[i] * b[i];
}

template <class S>
inline void run_kernel(Tag, op::DivAcc, Index n, const S* a, const S* b, S* y) {
  for (Index i = 0; i < n; ++i) y[i] += a[i] / b[i];
}

// d(a / b) / db = -a / b^2
template <class S>
inline void run_kernel(Tag, op::DivBackwardBAcc, Index n, const S* dy, const S* a, const S* b, S* gb) {
  for (Index i = 0; i < n; ++i) gb[i] -= dy[i] * a[i] / (b[i] * b[i]);
}

// ---- activations ----------------------------------------------------------------------------

// NaN -> 0 (the comparison is false), as the Cpu backend.
template <class S>
inline void run_kernel(Tag, op::ReluForward, Index n, const S* x, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = x[i] > S(0) ? x[i] : S(0);
}

template <class S>
inline void run_kernel(Tag, op::ReluBackwardAcc, Index n, const S* y, const S* dy, S* dx) {
  for (Index i = 0; i < n; ++i)
    if (y[i] > S(0)) dx[i] += dy[i];
}

// min(max(x, 0), 6); NaN stays NaN.
template <class S>
inline void run_kernel(Tag, op::Relu6Forward, Index n, const S* x, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = std::min(std::max(x[i], S(0)), S(6));
}

template <class S>
inline void run_kernel(Tag, op::Relu6BackwardAcc, Index n, const S* x, const S* dy, S* dx) {
  for (Index i = 0; i < n; ++i)
    if (x[i] > S(0) && x[i] < S(6)) dx[i] += dy[i];
}

template <class S>
inline void run_kernel(Tag, op::SigmoidForward, Index n, const S* x, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = S(1) / (S(1) + std::exp(-x[i]));
}

template <class S>
inline void run_kernel(Tag, op::SigmoidBackwardAcc, Index n, const S* y, const S* dy, S* dx) {
  for (Index i = 0; i < n; ++i) dx[i] += y[i] * (S(1) - y[i]) * dy[i];
}

template <class S>
inline void run_kernel(Tag, op::SiluForward, Index n, const S* x, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = x[i] / (S(1) + std::exp(-x[i]));
}

template <class S>
inline void run_kernel(Tag, op::SiluBackwardAcc, Index n, const S* x, const S* dy, S* dx) {
  for (Index i = 0; i < n; ++i) {
    const S s = S(1) / (S(1) + std::exp(-x[i]));
    dx[i] += s * (S(1) + x[i] * (S(1) - s)) * dy[i];
  }
}

template <class S>
inline void run_kernel(Tag, op::SqrtForward, Index n, const S* x, S* y) {
  for (Index i = 0; i < n; ++i) y[i] = std::sqrt(x[i]);
}

template <class S>
inline void run_kernel(Tag, op::SqrtBackwardAcc, Index n, const S* y, const S* dy, S* dx) {
  for (Index i = 0; i < n; ++i) dx[i] += dy[i] / (S(2) * y[i]);
}

// ---- broadcasts over (outer, C, inner) ------------------------------------------------------

template <class S>
inline void run_kernel(Tag, op::ChannelAdd, Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  for (Index o = 0; o < outer; ++o)
    for (Index c = 0; c < C; ++c)
      for (Index i = 0; i < inner; ++i) {
        const Index k = (o * C + c) * inner + i;
        y[k] = x[k] + v[c];
      }
}

template <class S>
inline void run_kernel(Tag, op::ChannelMul, Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  for (Index o = 0; o < outer; ++o)
    for (Index c = 0; c < C; ++c)
      for (Index i = 0; i < inner; ++i) {
        const Index k = (o * C + c) * inner + i;
        y[k] = x[k] * v[c];
      }
}

template <class S>
inline void run_kernel(Tag, op::ChannelMulAcc, Index outer, Index C, Index inner, const S* dy, const S* v, S* dx) {
  for (Index o = 0; o < outer; ++o)
    for (Index c = 0; c < C; ++c)
      for (Index i = 0; i < inner; ++i) {
        const Index k = (o * C + c) * inner + i;
        dx[k] += dy[k] * v[c];
      }
}

template <class S>
inline void run_kernel(Tag, op::ChannelSumAcc, Index outer, Index C, Index inner, const S* g, const S* a, S* gv) {
  for (Index c = 0; c < C; ++c) {
    S sum = S(0);
    for (Index o = 0; o < outer; ++o)
      for (Index i = 0; i < inner; ++i) {
        const Index k = (o * C + c) * inner + i;
        sum += a ? g[k] * a[k] : g[k];
      }
    gv[c] += sum;
  }
}

}  // namespace ras::kernels::reference
