// ras/kernels/cpu/common.hpp — the Cpu backend: its tag, Backend<Cpu>, and the loop helpers its
// kernels share (OpenMP over the written index once the work is large enough, vectorised bodies).
#pragma once

#include "ras/config.hpp"
#include "ras/device.hpp"
#include "ras/kernels/backend.hpp"

namespace ras::kernels {
namespace cpu {
struct Tag {};
}  // namespace cpu

template <>
struct Backend<Cpu> : OverloadBackend<cpu::Tag> {};

namespace cpu {

// Below this many elements an element-wise loop runs on one thread (fork/join costs more).
inline constexpr Index parallel_grain = Index(1) << 15;

// Threads the Cpu kernels use (Cpu::set_num_threads; 1 inside an active parallel region).
inline Index threads() { return Cpu::num_threads(); }

// f(i) for every i in [0, n), on all threads once n >= parallel_grain (vectorised where f allows).
// Iterations must be independent and write index i only; f must not throw.
template <class F>
inline void for_each_index(Index n, F f) {
  // f is firstprivate: each thread's copy keeps the captured pointers in registers (vectorisable)
#pragma omp parallel for simd schedule(static) firstprivate(f) if (parallel: n >= parallel_grain)
  for (Index i = 0; i < n; ++i) f(i);
}

// y[o, c, i] = op(x[o, c, i], v[c]) over an (outer, C, inner) layout (y may alias x).
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

}  // namespace cpu
}  // namespace ras::kernels
