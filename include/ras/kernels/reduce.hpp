// ras/kernels/reduce.hpp — raw reduction kernels: full sums, sums over one axis of an
// (outer, len, inner) layout and their broadcast-back, a row softmax with an additive (Lq, L)
// mask (torch.softmax(x + mask, -1)), and the L2 norm over an axis (torch.linalg.vector_norm).
// No autograd here. Kernels whose name ends in _acc ADD into their output; the others overwrite
// it unless they take an `accumulate` flag. OpenMP parallelises over the written index.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ras/kernels/elementwise.hpp"
#include "ras/shape.hpp"

namespace ras::kernels {

// The (outer, len, inner) view of a row-major shape around one axis: the product of the extents
// before it, its extent, and the product of those after it.
struct AxisSplit {
  Index outer = 1, len = 1, inner = 1;
};
template <std::size_t R>
inline AxisSplit split_at_axis(const std::array<Index, R>& shape, int axis) {
  AxisSplit s;
  for (int i = 0; i < static_cast<int>(R); ++i) {
    const Index e = shape[static_cast<std::size_t>(i)];
    if (i < axis) s.outer *= e;
    else if (i == axis) s.len = e;
    else s.inner *= e;
  }
  return s;
}

// Validates an axis of a rank-R shape, PyTorch-style: -R <= axis < R, negative counts from the end.
// Returns it in [0, R). Throws ras::Error naming the op, the axis and the shape.
template <std::size_t R>
inline int normalize_axis(const char* op, int axis, const std::array<Index, R>& shape) {
  const int rank = static_cast<int>(R);
  RAS_CHECK(axis >= -rank && axis < rank, op, ": axis ", axis, " is out of range for shape ",
            shape_string(shape), " (expected ", -rank, " <= axis < ", rank, ")");
  return axis < 0 ? axis + rank : axis;
}

// Accumulator for full reductions: float sums accumulate in double.
template <class S>
using acc_t = std::conditional_t<std::is_same_v<S, float>, double, S>;

// sum of x[0..n)
template <class S, class D = Cpu>
inline S sum_all(Index n, const S* x) {
  static_assert(is_cpu_device<D>, "kernels::sum_all: only the Cpu device is implemented");
  acc_t<S> acc = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : acc) if (parallel: n >= parallel_grain)
  for (Index i = 0; i < n; ++i) acc += static_cast<acc_t<S>>(x[i]);
  return static_cast<S>(acc);
}

// sum of (a[i] - b[i])^2 over [0, n)
template <class S, class D = Cpu>
inline S squared_diff_sum(Index n, const S* a, const S* b) {
  static_assert(is_cpu_device<D>, "kernels::squared_diff_sum: only the Cpu device is implemented");
  acc_t<S> acc = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : acc) if (parallel: n >= parallel_grain)
  for (Index i = 0; i < n; ++i) {
    const acc_t<S> d = static_cast<acc_t<S>>(a[i]) - static_cast<acc_t<S>>(b[i]);
    acc += d * d;
  }
  return static_cast<S>(acc);
}

// x: (outer, len, inner) -> y: (outer, inner)
// y[o, i] = (accumulate ? y[o, i] : 0) + alpha * sum_l x[o, l, i]
// Parallel over (o, block of i); each task writes its own slice of y.
template <class S, class D = Cpu>
inline void sum_axis(Index outer, Index len, Index inner, S alpha, const S* x, S* y, bool accumulate) {
  static_assert(is_cpu_device<D>, "kernels::sum_axis: only the Cpu device is implemented");
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

// dy: (outer, inner) -> dx: (outer, len, inner);  dx[o, l, i] += alpha * dy[o, i]
template <class S, class D = Cpu>
inline void broadcast_axis_acc(Index outer, Index len, Index inner, S alpha, const S* dy, S* dx) {
  static_assert(is_cpu_device<D>, "kernels::broadcast_axis_acc: only the Cpu device is implemented");
  const Index rows = outer * len;
#pragma omp parallel for schedule(static) if (rows * inner >= parallel_grain)
  for (Index r = 0; r < rows; ++r) {
    const S* g = dy + (r / len) * inner;
    S* xr = dx + r * inner;
#pragma omp simd
    for (Index i = 0; i < inner; ++i) xr[i] += alpha * g[i];
  }
}

// x, y: (rows, L); mask: (mask_rows, L) or nullptr, row r uses mask row r % mask_rows.
// y[r, :] = softmax(x[r, :] + mask[r % mask_rows, :]). The row maximum is taken over the finite
// entries, so -inf entries become exact zeros. A row with no finite entry (all -inf) becomes NaN,
// as in PyTorch. y may alias x.
template <class S, class D = Cpu>
inline void softmax_forward(Index rows, Index L, const S* x, const S* mask, Index mask_rows, S* y) {
  static_assert(is_cpu_device<D>, "kernels::softmax_forward: only the Cpu device is implemented");
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

// y, dy, dx: (rows, L);  dx[r, j] += y[r, j] * (dy[r, j] - sum_k dy[r, k] y[r, k])
template <class S, class D = Cpu>
inline void softmax_backward_acc(Index rows, Index L, const S* y, const S* dy, S* dx) {
  static_assert(is_cpu_device<D>, "kernels::softmax_backward_acc: only the Cpu device is implemented");
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

// x: (outer, len, inner) -> y: (outer, inner);  y[o, i] = sqrt(sum_l x[o, l, i]^2)
template <class S, class D = Cpu>
inline void l2_norm_forward(Index outer, Index len, Index inner, const S* x, S* y) {
  static_assert(is_cpu_device<D>, "kernels::l2_norm_forward: only the Cpu device is implemented");
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

// dx[o, l, i] += dy[o, i] * x[o, l, i] / y[o, i], and nothing where y[o, i] == 0 (subgradient 0)
template <class S, class D = Cpu>
inline void l2_norm_backward_acc(Index outer, Index len, Index inner, const S* x, const S* y,
                                 const S* dy, S* dx) {
  static_assert(is_cpu_device<D>, "kernels::l2_norm_backward_acc: only the Cpu device is implemented");
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

}  // namespace ras::kernels
