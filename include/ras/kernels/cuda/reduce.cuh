// ras/kernels/cuda/reduce.cuh — the Cuda backend of kernels/reduce.hpp: full sums as deterministic
// two-pass reductions in acc_t<S> (returned on the host), axis sums one thread per output (the
// axis walked in order), softmax one block per row (largest finite entry, -inf -> 0, no finite
// entry -> NaN row, as the reference).
#pragma once

#include <cmath>
#include <limits>

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/reduce.hpp"

namespace ras::kernels::cuda {

template <class S>
inline S run_kernel(Tag, op::SumAll, Index n, const S* x) {
  using A = acc_t<S>;
  return static_cast<S>(reduce_sum_to_host<A>(n, [=] __device__(Index i) { return static_cast<A>(x[i]); }, "sum_all"));
}

template <class S>
inline S run_kernel(Tag, op::SquaredDiffSum, Index n, const S* a, const S* b) {
  using A = acc_t<S>;
  return static_cast<S>(reduce_sum_to_host<A>(n, [=] __device__(Index i) {
    const A d = static_cast<A>(a[i]) - static_cast<A>(b[i]);
    return d * d;
  }, "squared_diff_sum"));
}

template <class S>
inline void run_kernel(Tag, op::SumAxis, Index outer, Index len, Index inner, S alpha, const S* x, S* y,
                       bool accumulate) {
  using A = acc_t<S>;
  if (inner <= 0) return;
  for_each_index(outer * inner, [=] __device__(Index k) {
    const Index o = k / inner, i = k % inner;
    A sum = 0;
    for (Index l = 0; l < len; ++l) sum += static_cast<A>(x[(o * len + l) * inner + i]);
    y[k] = (accumulate ? y[k] : S(0)) + alpha * static_cast<S>(sum);
  }, "sum_axis");
}

template <class S>
inline void run_kernel(Tag, op::BroadcastAxisAcc, Index outer, Index len, Index inner, S alpha, const S* dy, S* dx) {
  if (inner <= 0 || len <= 0) return;
  for_each_index(outer * len * inner, [=] __device__(Index k) {
    const Index i = k % inner, o = k / (inner * len);
    dx[k] += alpha * dy[o * inner + i];
  }, "broadcast_axis_acc");
}

template <class S>
__global__ void softmax_forward_kernel(Index rows, Index L, const S* x, const S* mask, Index mask_rows, S* y) {
  constexpr S inf = std::numeric_limits<S>::infinity();
  for (Index r = blockIdx.x; r < rows; r += gridDim.x) {
    const S* xr = x + r * L;
    const S* mr = mask ? mask + (r % mask_rows) * L : nullptr;
    S* yr = y + r * L;
    // 1. the largest finite entry of z = x + mask (NaN and +inf never count)
    S m = -inf;
    for (Index j = threadIdx.x; j < L; j += blockDim.x) {
      const S z = mr ? xr[j] + mr[j] : xr[j];
      if (z > m && z != inf) m = z;
    }
    m = block_max(m);
    if (m == -inf) {
      for (Index j = threadIdx.x; j < L; j += blockDim.x) yr[j] = std::numeric_limits<S>::quiet_NaN();
      continue;
    }
    // 2. e_j = exp(z_j - m) (0 for z_j = -inf); each thread reads x[j] before writing y[j] (alias ok)
    S local = S(0);
    for (Index j = threadIdx.x; j < L; j += blockDim.x) {
      const S z = mr ? xr[j] + mr[j] : xr[j];
      const S e = z == -inf ? S(0) : exp(z - m);
      yr[j] = e;
      local += e;
    }
    const S total = block_sum(local);
    // 3. normalise (each thread its own entries)
    for (Index j = threadIdx.x; j < L; j += blockDim.x) yr[j] /= total;
  }
}

template <class S>
inline void run_kernel(Tag, op::SoftmaxForward, Index rows, Index L, const S* x, const S* mask, Index mask_rows,
                       S* y) {
  if (rows <= 0 || L <= 0) return;
  softmax_forward_kernel<S><<<static_cast<unsigned>(std::min<Index>(rows, 65535)), block_threads, 0, stream()>>>(
      rows, L, x, mask, mask_rows, y);
  check_launch("softmax_forward");
}

template <class S>
__global__ void softmax_backward_kernel(Index rows, Index L, const S* y, const S* dy, S* dx) {
  for (Index r = blockIdx.x; r < rows; r += gridDim.x) {
    S local = S(0);
    for (Index k = threadIdx.x; k < L; k += blockDim.x) local += dy[r * L + k] * y[r * L + k];
    const S dot = block_sum(local);
    for (Index j = threadIdx.x; j < L; j += blockDim.x) dx[r * L + j] += y[r * L + j] * (dy[r * L + j] - dot);
  }
}

template <class S>
inline void run_kernel(Tag, op::SoftmaxBackwardAcc, Index rows, Index L, const S* y, const S* dy, S* dx) {
  if (rows <= 0 || L <= 0) return;
  softmax_backward_kernel<S><<<static_cast<unsigned>(std::min<Index>(rows, 65535)), block_threads, 0, stream()>>>(
      rows, L, y, dy, dx);
  check_launch("softmax_backward_acc");
}

template <class S>
inline void run_kernel(Tag, op::L2NormForward, Index outer, Index len, Index inner, const S* x, S* y) {
  if (inner <= 0) return;
  for_each_index(outer * inner, [=] __device__(Index k) {
    const Index o = k / inner, i = k % inner;
    S sum = S(0);
    for (Index l = 0; l < len; ++l) {
      const S v = x[(o * len + l) * inner + i];
      sum += v * v;
    }
    y[k] = sqrt(sum);
  }, "l2_norm_forward");
}

template <class S>
inline void run_kernel(Tag, op::L2NormBackwardAcc, Index outer, Index len, Index inner, const S* x, const S* y,
                       const S* dy, S* dx) {
  if (inner <= 0 || len <= 0) return;
  for_each_index(outer * len * inner, [=] __device__(Index k) {
    const Index i = k % inner, o = k / (inner * len);
    const S norm = y[o * inner + i];
    if (norm > S(0)) dx[k] += dy[o * inner + i] * x[k] / norm;
  }, "l2_norm_backward_acc");
}

// The number of NaN / +-inf values: a fixed-shape block-tree count (no atomics).
template <class S>
inline Index run_kernel(Tag, op::CountNonFinite, Index n, const S* x) {
  return reduce_sum_to_host<Index>(n, [=] __device__(Index i) { return isfinite(x[i]) ? Index(0) : Index(1); },
                                   "count_non_finite");
}

}  // namespace ras::kernels::cuda
