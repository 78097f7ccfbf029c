// ras/kernels/cpu/vmath.hpp — vectorised transcendental kernels (exp, sigmoid, SiLU) over contiguous
// ranges, through Eigen's SIMD exp (AVX2/AVX-512 polynomial, about 1 ulp in float); std::exp in a
// loop is not vectorised by g++ without -ffast-math. Chunked over OpenMP threads for large ranges.
#pragma once

#include <Eigen/Core>
#include <algorithm>

#include "ras/config.hpp"
#include "ras/device.hpp"

namespace ras::kernels {

// Below this many elements a chunked loop runs on one thread.
inline constexpr Index chunk_grain = Index(1) << 15;

// f(begin, end) over [0, n) split into one contiguous chunk per thread (one chunk when small).
template <class F>
inline void for_each_chunk(Index n, F f) {
  if (n < chunk_grain) {
    f(Index(0), n);
    return;
  }
#pragma omp parallel
  {
#if defined(_OPENMP)
    const Index t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const Index t = 0, nt = 1;
#endif
    const Index per = (n + nt - 1) / nt;
    const Index b = std::min(n, t * per), e = std::min(n, b + per);
    if (b < e) f(b, e);
  }
}

template <class S>
using ArrayMap = Eigen::Map<Eigen::Array<S, Eigen::Dynamic, 1>>;
template <class S>
using ConstArrayMap = Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>>;

// y = exp(x - shift) on n contiguous values (y may alias x); returns their sum.
template <class S>
inline S exp_shifted_sum(Index n, const S* x, S shift, S* y) {
  ArrayMap<S> out(y, n);
  out = (ConstArrayMap<S>(x, n) - shift).exp();
  return out.sum();
}

// y = 1 / (1 + exp(-x))
template <class S>
inline void sigmoid_vec(Index n, const S* x, S* y) {
  for_each_chunk(n, [=](Index b, Index e) {
    ArrayMap<S>(y + b, e - b) = (S(1) + (-ConstArrayMap<S>(x + b, e - b)).exp()).inverse();
  });
}

// y = x / (1 + exp(-x))
template <class S>
inline void silu_vec(Index n, const S* x, S* y) {
  for_each_chunk(n, [=](Index b, Index e) {
    const auto xs = ConstArrayMap<S>(x + b, e - b);
    ArrayMap<S>(y + b, e - b) = xs / (S(1) + (-xs).exp());
  });
}

// dx += s (1 + x (1 - s)) dy, s = sigmoid(x)
template <class S>
inline void silu_backward_acc_vec(Index n, const S* x, const S* dy, S* dx) {
  for_each_chunk(n, [=](Index b, Index e) {
    const auto xs = ConstArrayMap<S>(x + b, e - b);
    const Eigen::Array<S, Eigen::Dynamic, 1> s = (S(1) + (-xs).exp()).inverse();
    ArrayMap<S>(dx + b, e - b) += s * (S(1) + xs * (S(1) - s)) * ConstArrayMap<S>(dy + b, e - b);
  });
}

}  // namespace ras::kernels
