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
  return dispatch<op::SumAll, D>(n, x);
}

// sum of (a[i] - b[i])^2 over [0, n)
template <class S, class D = Cpu>
inline S squared_diff_sum(Index n, const S* a, const S* b) {
  return dispatch<op::SquaredDiffSum, D>(n, a, b);
}

// x: (outer, len, inner) -> y: (outer, inner)
// y[o, i] = (accumulate ? y[o, i] : 0) + alpha * sum_l x[o, l, i]
// Parallel over (o, block of i); each task writes its own slice of y.
template <class S, class D = Cpu>
inline void sum_axis(Index outer, Index len, Index inner, S alpha, const S* x, S* y, bool accumulate) {
  dispatch<op::SumAxis, D>(outer, len, inner, alpha, x, y, accumulate);
}

// dy: (outer, inner) -> dx: (outer, len, inner);  dx[o, l, i] += alpha * dy[o, i]
template <class S, class D = Cpu>
inline void broadcast_axis_acc(Index outer, Index len, Index inner, S alpha, const S* dy, S* dx) {
  dispatch<op::BroadcastAxisAcc, D>(outer, len, inner, alpha, dy, dx);
}

// x, y: (rows, L); mask: (mask_rows, L) or nullptr, row r uses mask row r % mask_rows.
// y[r, :] = softmax(x[r, :] + mask[r % mask_rows, :]). The row maximum is taken over the finite
// entries, so -inf entries become exact zeros. A row with no finite entry (all -inf) becomes NaN,
// as in PyTorch. y may alias x.
template <class S, class D = Cpu>
inline void softmax_forward(Index rows, Index L, const S* x, const S* mask, Index mask_rows, S* y) {
  dispatch<op::SoftmaxForward, D>(rows, L, x, mask, mask_rows, y);
}

// y, dy, dx: (rows, L);  dx[r, j] += y[r, j] * (dy[r, j] - sum_k dy[r, k] y[r, k])
template <class S, class D = Cpu>
inline void softmax_backward_acc(Index rows, Index L, const S* y, const S* dy, S* dx) {
  dispatch<op::SoftmaxBackwardAcc, D>(rows, L, y, dy, dx);
}

// x: (outer, len, inner) -> y: (outer, inner);  y[o, i] = sqrt(sum_l x[o, l, i]^2)
template <class S, class D = Cpu>
inline void l2_norm_forward(Index outer, Index len, Index inner, const S* x, S* y) {
  dispatch<op::L2NormForward, D>(outer, len, inner, x, y);
}

// dx[o, l, i] += dy[o, i] * x[o, l, i] / y[o, i], and nothing where y[o, i] == 0 (subgradient 0)
template <class S, class D = Cpu>
inline void l2_norm_backward_acc(Index outer, Index len, Index inner, const S* x, const S* y,
                                 const S* dy, S* dx) {
  dispatch<op::L2NormBackwardAcc, D>(outer, len, inner, x, y, dy, dx);
}

// The number of NaN / +-inf values in x[0..n) (validation of maps, features and loaded state).
template <class S, class D = Cpu>
inline Index count_non_finite(Index n, const S* x) {
  return dispatch<op::CountNonFinite, D>(n, x);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/reduce.hpp"
#include "ras/kernels/reference/reduce.hpp"
