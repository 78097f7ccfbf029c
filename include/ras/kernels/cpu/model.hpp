// ras/kernels/cpu/model.hpp — the Cpu backend of kernels/model.hpp (OpenMP over rows / positions).
#pragma once

#include <algorithm>
#include <cmath>

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/model.hpp"

namespace ras::kernels::cpu {

template <class S>
inline void run_kernel(Tag, op::JitterAdd, Index rows, Index C, const double* noise, double alpha, S* x) {
#pragma omp parallel for schedule(static) if (rows * C >= parallel_grain)
  for (Index r = 0; r < rows; ++r) {
    S* f = x + r * C;
    const double* e = noise + r * C;
    double norm = 0;
    for (Index c = 0; c < C; ++c) norm += double(f[c]) * double(f[c]);
    const double scale = std::sqrt(norm) / double(C) * alpha;
    for (Index c = 0; c < C; ++c) f[c] += static_cast<S>(e[c] * scale);
  }
}

template <class S>
inline void run_kernel(Tag, op::ChannelDistance, Index B, Index C, Index L, const S* a, const S* b, S* out) {
#pragma omp parallel for schedule(static) if (B * C * L >= parallel_grain)
  for (Index q = 0; q < B * L; ++q) {
    const Index n = q / L, l = q % L;
    double s = 0;
    for (Index c = 0; c < C; ++c) {
      const double d = double(a[(n * C + c) * L + l]) - double(b[(n * C + c) * L + l]);
      s += d * d;
    }
    out[q] = static_cast<S>(std::sqrt(s));
  }
}

template <class S>
inline void run_kernel(Tag, op::RowMax, Index rows, Index len, const S* x, S* out) {
  for (Index r = 0; r < rows; ++r) out[r] = *std::max_element(x + r * len, x + (r + 1) * len);
}

}  // namespace ras::kernels::cpu
