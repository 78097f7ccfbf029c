// benchmarks/peak.hpp — measures this machine's FP32 FMA peak per core with a register-only kernel
// (independent FMA chains, no memory traffic), so GEMM efficiency is reported against what the
// core actually sustains under this VM, alongside the nominal figure from /proc/cpuinfo.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

namespace ras_bench {

// Nominal clock from /proc/cpuinfo in GHz (0 when unknown).
inline double cpuinfo_ghz() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("cpu MHz", 0) == 0) return std::stod(line.substr(line.find(':') + 1)) / 1000.0;
  return 0.0;
}

// FP32 FLOPs per cycle per core for the widest FMA this build targets (2 FMA pipes assumed).
inline int flops_per_cycle() {
#if defined(__AVX512F__)
  return 2 * 16 * 2;
#elif defined(__FMA__)
  return 2 * 8 * 2;
#else
  return 4;
#endif
}

// GFLOP/s one thread sustains on 12 independent FMA chains held in registers (best of `repeats`).
// The empty asm statements keep every chain in a register and stop the compiler folding the loop.
inline double measured_fma_gflops_one_thread(int repeats = 5) {
#if defined(__AVX512F__)
  using V = __m512;
  constexpr int lanes = 16;
#define RAS_FMA(x) x = _mm512_fmadd_ps(x, m, a)
  V m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
#else
  using V = __m256;
  constexpr int lanes = 8;
#define RAS_FMA(x) x = _mm256_fmadd_ps(x, m, a)
  V m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
#endif
  const long iters = 50'000'000;
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    V x0 = m, x1 = m, x2 = m, x3 = m, x4 = m, x5 = m, x6 = m, x7 = m, x8 = m, x9 = m, x10 = m, x11 = m;
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iters; ++i) {
      RAS_FMA(x0); RAS_FMA(x1); RAS_FMA(x2); RAS_FMA(x3); RAS_FMA(x4); RAS_FMA(x5);
      RAS_FMA(x6); RAS_FMA(x7); RAS_FMA(x8); RAS_FMA(x9); RAS_FMA(x10); RAS_FMA(x11);
      asm volatile("" : "+v"(x0), "+v"(x1), "+v"(x2), "+v"(x3), "+v"(x4), "+v"(x5));
      asm volatile("" : "+v"(x6), "+v"(x7), "+v"(x8), "+v"(x9), "+v"(x10), "+v"(x11));
    }
    auto t1 = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(t1 - t0).count();
    best = std::max(best, 2.0 * lanes * 12 * double(iters) / s / 1e9);
  }
#undef RAS_FMA
  return best;
}

// GFLOP/s of AVX512_BF16's vdpbf16ps on 12 independent register chains (2 x 32 FLOPs per
// instruction: 32 bf16 products summed pairwise into 16 float lanes), best of `repeats`; 0 when the
// CPU lacks AVX512_BF16. A bf16 GEMM path pays off only where this clearly exceeds the FP32 FMA
// peak (measured 3 Dec 2026 on the 2-core VM: 79 GFLOP/s against 160 for FP32 FMA, so not here).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline double measured_bf16_dot_gflops_one_thread(
    int repeats = 5) {
  if (!__builtin_cpu_supports("avx512bf16")) return 0.0;
  const __m512bh a = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x3f803f80)), b = a;  // bf16 pairs (1, 1)
  const long iters = 50'000'000;
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    __m512 x[12];
    for (auto& v : x) v = _mm512_setzero_ps();
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iters; ++i) {
      for (auto& v : x) v = _mm512_dpbf16_ps(v, a, b);
      asm volatile("" : "+v"(x[0]), "+v"(x[1]), "+v"(x[2]), "+v"(x[3]), "+v"(x[4]), "+v"(x[5]));
      asm volatile("" : "+v"(x[6]), "+v"(x[7]), "+v"(x[8]), "+v"(x[9]), "+v"(x[10]), "+v"(x[11]));
    }
    auto t1 = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(t1 - t0).count();
    best = std::max(best, 2.0 * 32 * 12 * double(iters) / s / 1e9);
  }
  return best;
}
#else
inline double measured_bf16_dot_gflops_one_thread(int = 5) { return 0.0; }
#endif

}  // namespace ras_bench
