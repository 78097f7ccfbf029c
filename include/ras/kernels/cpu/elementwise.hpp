// ras/kernels/cpu/elementwise.hpp — the Cpu backend of kernels/elementwise.hpp (vectorised, OpenMP).
#pragma once

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/cpu/vmath.hpp"
#include "ras/kernels/elementwise.hpp"

namespace ras::kernels::cpu {

template <class S>
inline void run_kernel(Tag, op::Add, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=](Index i) { y[i] = a[i] + b[i]; });
}

template <class S>
inline void run_kernel(Tag, op::Sub, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=](Index i) { y[i] = a[i] - b[i]; });
}

template <class S>
inline void run_kernel(Tag, op::Mul, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=](Index i) { y[i] = a[i] * b[i]; });
}

template <class S>
inline void run_kernel(Tag, op::Div, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=](Index i) { y[i] = a[i] / b[i]; });
}

template <class S>
inline void run_kernel(Tag, op::AddScalar, Index n, const S* x, S c, S* y) {
  for_each_index(n, [=](Index i) { y[i] = x[i] + c; });
}

template <class S>
inline void run_kernel(Tag, op::Scale, Index n, const S* x, S c, S* y) {
  for_each_index(n, [=](Index i) { y[i] = c * x[i]; });
}

template <class S>
inline void run_kernel(Tag, op::AxpyAcc, Index n, S alpha, const S* x, S* y) {
  for_each_index(n, [=](Index i) { y[i] += alpha * x[i]; });
}

template <class S>
inline void run_kernel(Tag, op::SubAcc, Index n, S alpha, const S* a, const S* b, S* y) {
  for_each_index(n, [=](Index i) { y[i] += alpha * (a[i] - b[i]); });
}

template <class S>
inline void run_kernel(Tag, op::MulAcc, Index n, S alpha, const S* a, const S* b, S* y) {
  for_each_index(n, [=](Index i) { y[i] += alpha * a[i] * b[i]; });
}

template <class S>
inline void run_kernel(Tag, op::DivAcc, Index n, const S* a, const S* b, S* y) {
  for_each_index(n, [=](Index i) { y[i] += a[i] / b[i]; });
}

template <class S>
inline void run_kernel(Tag, op::DivBackwardBAcc, Index n, const S* dy, const S* a, const S* b, S* gb) {
  for_each_index(n, [=](Index i) { gb[i] -= dy[i] * a[i] / (b[i] * b[i]); });
}

template <class S>
inline void run_kernel(Tag, op::ReluForward, Index n, const S* x, S* y) {
  for_each_index(n, [=](Index i) { y[i] = x[i] > S(0) ? x[i] : S(0); });
}

template <class S>
inline void run_kernel(Tag, op::ReluBackwardAcc, Index n, const S* y, const S* dy, S* dx) {
  for_each_index(n, [=](Index i) { dx[i] += y[i] > S(0) ? dy[i] : S(0); });
}

template <class S>
inline void run_kernel(Tag, op::Relu6Forward, Index n, const S* x, S* y) {
  for_each_index(n, [=](Index i) { y[i] = std::min(std::max(x[i], S(0)), S(6)); });
}

template <class S>
inline void run_kernel(Tag, op::Relu6BackwardAcc, Index n, const S* x, const S* dy, S* dx) {
  for_each_index(n, [=](Index i) { dx[i] += (x[i] > S(0) && x[i] < S(6)) ? dy[i] : S(0); });
}

template <class S>
inline void run_kernel(Tag, op::SigmoidForward, Index n, const S* x, S* y) {
  sigmoid_vec(n, x, y);
}

template <class S>
inline void run_kernel(Tag, op::SigmoidBackwardAcc, Index n, const S* y, const S* dy, S* dx) {
  for_each_index(n, [=](Index i) { dx[i] += y[i] * (S(1) - y[i]) * dy[i]; });
}

template <class S>
inline void run_kernel(Tag, op::SiluForward, Index n, const S* x, S* y) {
  silu_vec(n, x, y);
}

template <class S>
inline void run_kernel(Tag, op::SiluBackwardAcc, Index n, const S* x, const S* dy, S* dx) {
  silu_backward_acc_vec(n, x, dy, dx);
}

template <class S>
inline void run_kernel(Tag, op::SqrtForward, Index n, const S* x, S* y) {
  for_each_index(n, [=](Index i) { y[i] = std::sqrt(x[i]); });
}

template <class S>
inline void run_kernel(Tag, op::SqrtBackwardAcc, Index n, const S* y, const S* dy, S* dx) {
  for_each_index(n, [=](Index i) { dx[i] += dy[i] / (S(2) * y[i]); });
}

template <class S>
inline void run_kernel(Tag, op::ChannelAdd, Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  channel_map(outer, C, inner, x, v, y, [](S a, S b) { return a + b; });
}

template <class S>
inline void run_kernel(Tag, op::ChannelMul, Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  channel_map(outer, C, inner, x, v, y, [](S a, S b) { return a * b; });
}

template <class S>
inline void run_kernel(Tag, op::ChannelMulAcc, Index outer, Index C, Index inner, const S* dy, const S* v, S* dx) {
  const Index rows = outer * C;
#pragma omp parallel for schedule(static) if (rows * inner >= parallel_grain)
  for (Index r = 0; r < rows; ++r) {
    const S b = v[r % C];
    const S* gr = dy + r * inner;
    S* xr = dx + r * inner;
#pragma omp simd
    for (Index i = 0; i < inner; ++i) xr[i] += gr[i] * b;
  }
}

template <class S>
inline void run_kernel(Tag, op::ChannelSumAcc, Index outer, Index C, Index inner, const S* g, const S* a, S* gv) {
  const bool big = outer * C * inner >= parallel_grain;
  if (inner == 1) {
    constexpr Index block = 64;
    const Index nblocks = (C + block - 1) / block;
#pragma omp parallel for schedule(static) if (big && nblocks > 1)
    for (Index bk = 0; bk < nblocks; ++bk) {
      const Index c0 = bk * block, c1 = std::min(C, c0 + block);
      S acc[block] = {};
      for (Index o = 0; o < outer; ++o) {
        const S* gr = g + o * C;
        if (a) {
          const S* ar = a + o * C;
#pragma omp simd
          for (Index c = c0; c < c1; ++c) acc[c - c0] += gr[c] * ar[c];
        } else {
#pragma omp simd
          for (Index c = c0; c < c1; ++c) acc[c - c0] += gr[c];
        }
      }
      for (Index c = c0; c < c1; ++c) gv[c] += acc[c - c0];
    }
    return;
  }
#pragma omp parallel for schedule(static) if (big && C > 1)
  for (Index c = 0; c < C; ++c) {
    S acc = S(0);
    for (Index o = 0; o < outer; ++o) {
      const S* gr = g + (o * C + c) * inner;
      if (a) {
        const S* ar = a + (o * C + c) * inner;
#pragma omp simd reduction(+ : acc)
        for (Index i = 0; i < inner; ++i) acc += gr[i] * ar[i];
      } else {
#pragma omp simd reduction(+ : acc)
        for (Index i = 0; i < inner; ++i) acc += gr[i];
      }
    }
    gv[c] += acc;
  }
}

}  // namespace ras::kernels::cpu
