// ras/kernels/elementwise.hpp — raw element-wise kernels on contiguous buffers: arithmetic,
// activations (forward and backward, PyTorch's derivative conventions: relu' = x > 0,
// relu6' = 0 < x < 6 as hardtanh_backward) and per-channel broadcasts over an (outer, C, inner)
// layout (a row vector is inner = 1; a (N, C) scale of (N, C, H, W) maps is outer = 1, C' = N*C).
// No autograd here. Kernels whose name ends in _acc ADD into their output (backward contract);
// the others overwrite it. Outputs may alias an input only where a kernel says so.
// OpenMP parallelises over the written index once the work is large enough.
#pragma once

#include <algorithm>
#include <cmath>

#include "ras/config.hpp"
#include "ras/device.hpp"
#include "ras/kernels/vmath.hpp"

namespace ras::kernels {

// Below this many elements an element-wise loop runs on one thread (fork/join costs more).
inline constexpr Index parallel_grain = Index(1) << 15;

// f(i) for every i in [0, n), on all threads once n >= parallel_grain (vectorised where f allows).
// Iterations must be independent and write index i only; f must not throw.
template <class F>
inline void for_each_index(Index n, F f) {
  // f is firstprivate: each thread's copy keeps the captured pointers in registers (vectorisable)
#pragma omp parallel for simd schedule(static) firstprivate(f) if (parallel: n >= parallel_grain)
  for (Index i = 0; i < n; ++i) f(i);
}

// ---- arithmetic (y may alias a or b) --------------------------------------------------------

// y[i] = a[i] + b[i]
template <class S, class D = Cpu>
inline void add(Index n, const S* a, const S* b, S* y) {
  static_assert(is_cpu_device<D>, "kernels::add: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] = a[i] + b[i]; });
}
// y[i] = a[i] - b[i]
template <class S, class D = Cpu>
inline void sub(Index n, const S* a, const S* b, S* y) {
  static_assert(is_cpu_device<D>, "kernels::sub: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] = a[i] - b[i]; });
}
// y[i] = a[i] * b[i]
template <class S, class D = Cpu>
inline void mul(Index n, const S* a, const S* b, S* y) {
  static_assert(is_cpu_device<D>, "kernels::mul: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] = a[i] * b[i]; });
}
// y[i] = a[i] / b[i]
template <class S, class D = Cpu>
inline void div(Index n, const S* a, const S* b, S* y) {
  static_assert(is_cpu_device<D>, "kernels::div: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] = a[i] / b[i]; });
}
// y[i] = x[i] + c
template <class S, class D = Cpu>
inline void add_scalar(Index n, const S* x, S c, S* y) {
  static_assert(is_cpu_device<D>, "kernels::add_scalar: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] = x[i] + c; });
}
// y[i] = c * x[i]
template <class S, class D = Cpu>
inline void scale(Index n, const S* x, S c, S* y) {
  static_assert(is_cpu_device<D>, "kernels::scale: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] = c * x[i]; });
}
// y[i] += alpha * x[i]
template <class S, class D = Cpu>
inline void axpy_acc(Index n, S alpha, const S* x, S* y) {
  static_assert(is_cpu_device<D>, "kernels::axpy_acc: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] += alpha * x[i]; });
}
// y[i] += alpha * (a[i] - b[i])
template <class S, class D = Cpu>
inline void sub_acc(Index n, S alpha, const S* a, const S* b, S* y) {
  static_assert(is_cpu_device<D>, "kernels::sub_acc: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] += alpha * (a[i] - b[i]); });
}
// y[i] += alpha * a[i] * b[i]
template <class S, class D = Cpu>
inline void mul_acc(Index n, S alpha, const S* a, const S* b, S* y) {
  static_assert(is_cpu_device<D>, "kernels::mul_acc: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] += alpha * a[i] * b[i]; });
}
// y[i] += a[i] / b[i]
template <class S, class D = Cpu>
inline void div_acc(Index n, const S* a, const S* b, S* y) {
  static_assert(is_cpu_device<D>, "kernels::div_acc: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] += a[i] / b[i]; });
}
// Gradient of a / b with respect to b: gb[i] -= dy[i] * a[i] / (b[i] * b[i])
template <class S, class D = Cpu>
inline void div_backward_b_acc(Index n, const S* dy, const S* a, const S* b, S* gb) {
  static_assert(is_cpu_device<D>, "kernels::div_backward_b_acc: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { gb[i] -= dy[i] * a[i] / (b[i] * b[i]); });
}

// ---- activations: forward (y = f(x), may alias) and backward (dx += f'(.) * dy) --------------

template <class S, class D = Cpu>
inline void relu_forward(Index n, const S* x, S* y) {
  static_assert(is_cpu_device<D>, "kernels::relu_forward: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] = x[i] > S(0) ? x[i] : S(0); });
}
// From the output y (y > 0 exactly where x > 0): dx += (y > 0) * dy
template <class S, class D = Cpu>
inline void relu_backward_acc(Index n, const S* y, const S* dy, S* dx) {
  static_assert(is_cpu_device<D>, "kernels::relu_backward_acc: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { dx[i] += y[i] > S(0) ? dy[i] : S(0); });
}

template <class S, class D = Cpu>
inline void relu6_forward(Index n, const S* x, S* y) {
  static_assert(is_cpu_device<D>, "kernels::relu6_forward: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] = std::min(std::max(x[i], S(0)), S(6)); });
}
// From the input x: dx += (0 < x < 6) * dy
template <class S, class D = Cpu>
inline void relu6_backward_acc(Index n, const S* x, const S* dy, S* dx) {
  static_assert(is_cpu_device<D>, "kernels::relu6_backward_acc: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { dx[i] += (x[i] > S(0) && x[i] < S(6)) ? dy[i] : S(0); });
}

template <class S, class D = Cpu>
inline void sigmoid_forward(Index n, const S* x, S* y) {
  static_assert(is_cpu_device<D>, "kernels::sigmoid_forward: only the Cpu device is implemented");
  sigmoid_vec(n, x, y);
}
// From the output y: dx += y (1 - y) dy
template <class S, class D = Cpu>
inline void sigmoid_backward_acc(Index n, const S* y, const S* dy, S* dx) {
  static_assert(is_cpu_device<D>, "kernels::sigmoid_backward_acc: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { dx[i] += y[i] * (S(1) - y[i]) * dy[i]; });
}

// y = x * sigmoid(x)
template <class S, class D = Cpu>
inline void silu_forward(Index n, const S* x, S* y) {
  static_assert(is_cpu_device<D>, "kernels::silu_forward: only the Cpu device is implemented");
  silu_vec(n, x, y);
}
// From the input x: dx += s (1 + x (1 - s)) dy, s = sigmoid(x)
template <class S, class D = Cpu>
inline void silu_backward_acc(Index n, const S* x, const S* dy, S* dx) {
  static_assert(is_cpu_device<D>, "kernels::silu_backward_acc: only the Cpu device is implemented");
  silu_backward_acc_vec(n, x, dy, dx);
}

template <class S, class D = Cpu>
inline void sqrt_forward(Index n, const S* x, S* y) {
  static_assert(is_cpu_device<D>, "kernels::sqrt_forward: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { y[i] = std::sqrt(x[i]); });
}
// From the output y: dx += dy / (2 y)   (inf at y = 0, as PyTorch)
template <class S, class D = Cpu>
inline void sqrt_backward_acc(Index n, const S* y, const S* dy, S* dx) {
  static_assert(is_cpu_device<D>, "kernels::sqrt_backward_acc: only the Cpu device is implemented");
  for_each_index(n, [=](Index i) { dx[i] += dy[i] / (S(2) * y[i]); });
}

// ---- broadcasts over an (outer, C, inner) layout --------------------------------------------
// x, y: (outer, C, inner) contiguous; v: (C)

// y[o, c, i] = op(x[o, c, i], v[c])   (y may alias x); the body of channel_add / channel_mul
template <class S, class Op>
inline void channel_map(Index outer, Index C, Index inner, const S* x, const S* v, S* y, Op op) {
  const Index rows = outer * C;
#pragma omp parallel for schedule(static) if (rows * inner >= parallel_grain)
  for (Index r = 0; r < rows; ++r) {
    const S b = v[r % C];
    const S* xr = x + r * inner;
    S* yr = y + r * inner;
#pragma omp simd
    for (Index i = 0; i < inner; ++i) yr[i] = op(xr[i], b);
  }
}
// y[o, c, i] = x[o, c, i] + v[c]   (y may alias x)
template <class S, class D = Cpu>
inline void channel_add(Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  static_assert(is_cpu_device<D>, "kernels::channel_add: only the Cpu device is implemented");
  channel_map(outer, C, inner, x, v, y, [](S a, S b) { return a + b; });
}
// y[o, c, i] = x[o, c, i] * v[c]   (y may alias x)
template <class S, class D = Cpu>
inline void channel_mul(Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  static_assert(is_cpu_device<D>, "kernels::channel_mul: only the Cpu device is implemented");
  channel_map(outer, C, inner, x, v, y, [](S a, S b) { return a * b; });
}
// dx[o, c, i] += dy[o, c, i] * v[c]
template <class S, class D = Cpu>
inline void channel_mul_acc(Index outer, Index C, Index inner, const S* dy, const S* v, S* dx) {
  static_assert(is_cpu_device<D>, "kernels::channel_mul_acc: only the Cpu device is implemented");
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
// gv[c] += sum over o, i of g[o, c, i] * (a ? a[o, c, i] : 1)   (a may be nullptr)
// Parallel over c (inner > 1) or over blocks of columns (inner == 1, row-vector case).
template <class S, class D = Cpu>
inline void channel_sum_acc(Index outer, Index C, Index inner, const S* g, const S* a, S* gv) {
  static_assert(is_cpu_device<D>, "kernels::channel_sum_acc: only the Cpu device is implemented");
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

}  // namespace ras::kernels
