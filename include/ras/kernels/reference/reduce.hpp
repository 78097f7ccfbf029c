// ras/kernels/reference/reduce.hpp — the reference backend of kernels/reduce.hpp: plain scalar
// loops over the definitions; full sums (and float sums over an axis) accumulate in acc_t<S>.
#pragma once

#include <cmath>
#include <limits>

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/reduce.hpp"

namespace ras::kernels::reference {

template <class S>
inline S run_kernel(Tag, op::SumAll, Index n, const S* x) {
  acc_t<S> sum = 0;
  for (Index i = 0; i < n; ++i) sum += static_cast<acc_t<S>>(x[i]);
  return static_cast<S>(sum);
}

template <class S>
inline S run_kernel(Tag, op::SquaredDiffSum, Index n, const S* a, const S* b) {
  acc_t<S> sum = 0;
  for (Index i = 0; i < n; ++i) {
    const acc_t<S> d = static_cast<acc_t<S>>(a[i]) - static_cast<acc_t<S>>(b[i]);
    sum += d * d;
  }
  return static_cast<S>(sum);
}

// y[o, i] = (accumulate ? y[o, i] : 0) + alpha * sum_l x[o, l, i]
template <class S>
inline void run_kernel(Tag, op::SumAxis, Index outer, Index len, Index inner, S alpha, const S* x, S* y,
                       bool accumulate) {
  for (Index o = 0; o < outer; ++o)
    for (Index i = 0; i < inner; ++i) {
      acc_t<S> sum = 0;
      for (Index l = 0; l < len; ++l) sum += static_cast<acc_t<S>>(x[(o * len + l) * inner + i]);
      S& out = y[o * inner + i];
      out = (accumulate ? out : S(0)) + alpha * static_cast<S>(sum);
    }
}

// dx[o, l, i] += alpha * dy[o, i]
template <class S>
inline void run_kernel(Tag, op::BroadcastAxisAcc, Index outer, Index len, Index inner, S alpha, const S* dy, S* dx) {
  for (Index o = 0; o < outer; ++o)
    for (Index l = 0; l < len; ++l)
      for (Index i = 0; i < inner; ++i) dx[(o * len + l) * inner + i] += alpha * dy[o * inner + i];
}

// y[r, :] = softmax(x[r, :] + mask[r % mask_rows, :]), shifted by the largest finite entry; -inf
// entries give exact zeros; a row without a finite entry is all NaN. y may alias x: entry j is
// read before it is written.
template <class S>
inline void run_kernel(Tag, op::SoftmaxForward, Index rows, Index L, const S* x, const S* mask, Index mask_rows,
                       S* y) {
  constexpr S inf = std::numeric_limits<S>::infinity();
  for (Index r = 0; r < rows; ++r) {
    const S* xr = x + r * L;
    const S* mr = mask ? mask + (r % mask_rows) * L : nullptr;
    S* yr = y + r * L;
    // 1. the largest finite entry of z = x + mask
    S m = -inf;
    for (Index j = 0; j < L; ++j) {
      const S z = mr ? xr[j] + mr[j] : xr[j];
      if (z > m && z != inf) m = z;
    }
    if (m == -inf) {
      for (Index j = 0; j < L; ++j) yr[j] = std::numeric_limits<S>::quiet_NaN();
      continue;
    }
    // 2. e_j = exp(z_j - m) (exactly 0 for z_j = -inf) and their sum
    S total = S(0);
    for (Index j = 0; j < L; ++j) {
      const S z = mr ? xr[j] + mr[j] : xr[j];
      yr[j] = z == -inf ? S(0) : std::exp(z - m);
      total += yr[j];
    }
    // 3. normalise
    for (Index j = 0; j < L; ++j) yr[j] /= total;
  }
}

// dx[r, j] += y[r, j] * (dy[r, j] - sum_k dy[r, k] y[r, k])
template <class S>
inline void run_kernel(Tag, op::SoftmaxBackwardAcc, Index rows, Index L, const S* y, const S* dy, S* dx) {
  for (Index r = 0; r < rows; ++r) {
    S dot = S(0);
    for (Index k = 0; k < L; ++k) dot += dy[r * L + k] * y[r * L + k];
    for (Index j = 0; j < L; ++j) dx[r * L + j] += y[r * L + j] * (dy[r * L + j] - dot);
  }
}

// y[o, i] = sqrt(sum_l x[o, l, i]^2)
template <class S>
inline void run_kernel(Tag, op::L2NormForward, Index outer, Index len, Index inner, const S* x, S* y) {
  for (Index o = 0; o < outer; ++o)
    for (Index i = 0; i < inner; ++i) {
      S sum = S(0);
      for (Index l = 0; l < len; ++l) {
        const S v = x[(o * len + l) * inner + i];
        sum += v * v;
      }
      y[o * inner + i] = std::sqrt(sum);
    }
}

// dx[o, l, i] += dy[o, i] * x[o, l, i] / y[o, i]; nothing where y[o, i] == 0 (subgradient 0)
template <class S>
inline void run_kernel(Tag, op::L2NormBackwardAcc, Index outer, Index len, Index inner, const S* x, const S* y,
                       const S* dy, S* dx) {
  for (Index o = 0; o < outer; ++o)
    for (Index l = 0; l < len; ++l)
      for (Index i = 0; i < inner; ++i) {
        const S norm = y[o * inner + i];
        if (!(norm > S(0))) continue;
        const Index k = (o * len + l) * inner + i;
        dx[k] += dy[o * inner + i] * x[k] / norm;
      }
}

template <class S>
inline Index run_kernel(Tag, op::CountNonFinite, Index n, const S* x) {
  Index bad = 0;
  for (Index i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) ++bad;
  return bad;
}

}  // namespace ras::kernels::reference
