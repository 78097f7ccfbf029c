// ras/kernels/cpu/reduce.hpp — the Cpu backend of kernels/reduce.hpp (vectorised, OpenMP).
#pragma once

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/cpu/vmath.hpp"
#include "ras/kernels/reduce.hpp"

namespace ras::kernels::cpu {

template <class S>
inline S run_kernel(Tag, op::SumAll, Index n, const S* x) {
  acc_t<S> acc = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : acc) if (parallel: n >= parallel_grain)
  for (Index i = 0; i < n; ++i) acc += static_cast<acc_t<S>>(x[i]);
  return static_cast<S>(acc);
}

template <class S>
inline S run_kernel(Tag, op::SquaredDiffSum, Index n, const S* a, const S* b) {
  acc_t<S> acc = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : acc) if (parallel: n >= parallel_grain)
  for (Index i = 0; i < n; ++i) {
    const acc_t<S> d = static_cast<acc_t<S>>(a[i]) - static_cast<acc_t<S>>(b[i]);
    acc += d * d;
  }
  return static_cast<S>(acc);
}

template <class S>
inline void run_kernel(Tag, op::SumAxis, Index outer, Index len, Index inner, S alpha, const S* x, S* y, bool accumulate) {
  constexpr Index block = 256;
  const Index nblocks = (inner + block - 1) / block;
  const Index tasks = outer * nblocks;
  const bool big = outer * len * inner >= parallel_grain;
#pragma omp parallel for schedule(static) if (big && tasks > 1)
  for (Index t = 0; t < tasks; ++t) {
    const Index o = t / nblocks, i0 = (t % nblocks) * block, i1 = std::min(inner, i0 + block);
    S* yr = y + o * inner;
    const S* xo = x + o * len * inner;
    if (inner == 1) {
      acc_t<S> acc = 0;
#pragma omp simd reduction(+ : acc)
      for (Index l = 0; l < len; ++l) acc += static_cast<acc_t<S>>(xo[l]);
      yr[0] = (accumulate ? yr[0] : S(0)) + alpha * static_cast<S>(acc);
      continue;
    }
    S acc[block] = {};
    for (Index l = 0; l < len; ++l) {
      const S* xr = xo + l * inner;
#pragma omp simd
      for (Index i = i0; i < i1; ++i) acc[i - i0] += xr[i];
    }
    for (Index i = i0; i < i1; ++i) yr[i] = (accumulate ? yr[i] : S(0)) + alpha * acc[i - i0];
  }
}

template <class S>
inline void run_kernel(Tag, op::BroadcastAxisAcc, Index outer, Index len, Index inner, S alpha, const S* dy, S* dx) {
  const Index rows = outer * len;
#pragma omp parallel for schedule(static) if (rows * inner >= parallel_grain)
  for (Index r = 0; r < rows; ++r) {
    const S* g = dy + (r / len) * inner;
    S* xr = dx + r * inner;
#pragma omp simd
    for (Index i = 0; i < inner; ++i) xr[i] += alpha * g[i];
  }
}

template <class S>
inline void run_kernel(Tag, op::SoftmaxForward, Index rows, Index L, const S* x, const S* mask, Index mask_rows, S* y) {
  constexpr S neg_inf = -std::numeric_limits<S>::infinity();
#pragma omp parallel for schedule(static) if (rows * L >= parallel_grain / 4)
  for (Index r = 0; r < rows; ++r) {
    const S* xr = x + r * L;
    const S* mr = mask ? mask + (r % mask_rows) * L : nullptr;
    S* yr = y + r * L;
    S m = neg_inf;
    for (Index j = 0; j < L; ++j) {
      const S z = mr ? xr[j] + mr[j] : xr[j];
      yr[j] = z;
      if (z > m && z != std::numeric_limits<S>::infinity()) m = z;
    }
    if (m == neg_inf) {  // every entry is -inf (or NaN): no distribution, like PyTorch
      for (Index j = 0; j < L; ++j) yr[j] = std::numeric_limits<S>::quiet_NaN();
      continue;
    }
    // Vectorised exp; Eigen's exp clamps its argument, so -inf entries are zeroed explicitly.
    S total = exp_shifted_sum(L, yr, m, yr);
    for (Index j = 0; j < L; ++j) {
      const S z = mr ? xr[j] + mr[j] : xr[j];
      if (z == neg_inf) total -= yr[j], yr[j] = S(0);
    }
    const S inv = S(1) / total;
#pragma omp simd
    for (Index j = 0; j < L; ++j) yr[j] *= inv;
  }
}

template <class S>
inline void run_kernel(Tag, op::SoftmaxBackwardAcc, Index rows, Index L, const S* y, const S* dy, S* dx) {
#pragma omp parallel for schedule(static) if (rows * L >= parallel_grain)
  for (Index r = 0; r < rows; ++r) {
    const S* yr = y + r * L;
    const S* gr = dy + r * L;
    S* xr = dx + r * L;
    S dot = S(0);
#pragma omp simd reduction(+ : dot)
    for (Index j = 0; j < L; ++j) dot += gr[j] * yr[j];
#pragma omp simd
    for (Index j = 0; j < L; ++j) xr[j] += yr[j] * (gr[j] - dot);
  }
}

template <class S>
inline void run_kernel(Tag, op::L2NormForward, Index outer, Index len, Index inner, const S* x, S* y) {
#pragma omp parallel for schedule(static) if (outer * len * inner >= parallel_grain && outer > 1)
  for (Index o = 0; o < outer; ++o) {
    S* yr = y + o * inner;
    std::fill(yr, yr + inner, S(0));
    for (Index l = 0; l < len; ++l) {
      const S* xr = x + (o * len + l) * inner;
#pragma omp simd
      for (Index i = 0; i < inner; ++i) yr[i] += xr[i] * xr[i];
    }
#pragma omp simd
    for (Index i = 0; i < inner; ++i) yr[i] = std::sqrt(yr[i]);
  }
}

template <class S>
inline void run_kernel(Tag, op::L2NormBackwardAcc, Index outer, Index len, Index inner, const S* x, const S* y,
                                 const S* dy, S* dx) {
  const Index rows = outer * len;
#pragma omp parallel for schedule(static) if (rows * inner >= parallel_grain)
  for (Index r = 0; r < rows; ++r) {
    const Index o = r / len;
    const S* yr = y + o * inner;
    const S* gr = dy + o * inner;
    const S* xr = x + r * inner;
    S* dr = dx + r * inner;
#pragma omp simd
    for (Index i = 0; i < inner; ++i) dr[i] += yr[i] > S(0) ? gr[i] * xr[i] / yr[i] : S(0);
  }
}

template <class S>
inline Index run_kernel(Tag, op::CountNonFinite, Index n, const S* x) {
  Index bad = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : bad) if (parallel: n >= parallel_grain)
  for (Index i = 0; i < n; ++i) bad += (x[i] - x[i] != S(0)) ? 1 : 0;  // NaN and inf give NaN
  return bad;
}

}  // namespace ras::kernels::cpu
