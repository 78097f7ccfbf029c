// ras/kernels/reference/model.hpp — the reference backend of kernels/model.hpp: plain scalar loops
// (norms and distances summed in double).
#pragma once

#include <cmath>

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/model.hpp"

namespace ras::kernels::reference {

// x[r, c] += noise[r, c] * (||x[r, :]||_2 / C * alpha), the norm taken before the row changes
template <class S>
inline void run_kernel(Tag, op::JitterAdd, Index rows, Index C, const double* noise, double alpha, S* x) {
  for (Index r = 0; r < rows; ++r) {
    double sq = 0;
    for (Index c = 0; c < C; ++c) sq += double(x[r * C + c]) * double(x[r * C + c]);
    const double scale = std::sqrt(sq) / double(C) * alpha;
    for (Index c = 0; c < C; ++c) x[r * C + c] += static_cast<S>(noise[r * C + c] * scale);
  }
}

// out[n, l] = sqrt(sum_c (a[n, c, l] - b[n, c, l])^2)
template <class S>
inline void run_kernel(Tag, op::ChannelDistance, Index B, Index C, Index L, const S* a, const S* b, S* out) {
  for (Index n = 0; n < B; ++n)
    for (Index l = 0; l < L; ++l) {
      double sq = 0;
      for (Index c = 0; c < C; ++c) {
        const double d = double(a[(n * C + c) * L + l]) - double(b[(n * C + c) * L + l]);
        sq += d * d;
      }
      out[n * L + l] = static_cast<S>(std::sqrt(sq));
    }
}

// out[r] = max of x[r, :] (the first entry wins ties; as std::max_element, a NaN is kept only when
// it is the row's first entry)
template <class S>
inline void run_kernel(Tag, op::RowMax, Index rows, Index len, const S* x, S* out) {
  for (Index r = 0; r < rows; ++r) {
    S best = x[r * len];
    for (Index j = 1; j < len; ++j)
      if (best < x[r * len + j]) best = x[r * len + j];
    out[r] = best;
  }
}

}  // namespace ras::kernels::reference
