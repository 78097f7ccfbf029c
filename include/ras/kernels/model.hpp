// ras/kernels/model.hpp — kernels of the RAS model and its scoring (official ras.py,
// utils/eval_helper.py): the feature jitter of Eq. 5, the per-position L2 distance over channels
// (the anomaly map) and row maxima (the image score). Front-end: dispatches to the device backend.
#pragma once

#include "ras/config.hpp"
#include "ras/kernels/backend.hpp"

namespace ras::kernels {

// x: (rows, C) tokens, noise: (rows, C) N(0, 1) draws (double, drawn on the host in row order).
// x[r, c] += noise[r, c] * (||x[r, :]||_2 / C * alpha), the norm taken before any update of the row.
template <class S, class D = Cpu>
inline void jitter_add(Index rows, Index C, const double* noise, double alpha, S* x) {
  dispatch<op::JitterAdd, D>(rows, C, noise, alpha, x);
}

// a, b: (B, C, L) -> out: (B, L), out[n, l] = sqrt(sum_c (a[n, c, l] - b[n, c, l])^2) (double sums).
template <class S, class D = Cpu>
inline void channel_distance(Index B, Index C, Index L, const S* a, const S* b, S* out) {
  dispatch<op::ChannelDistance, D>(B, C, L, a, b, out);
}

// x: (rows, len) -> out: (rows), the maximum of each row (len >= 1).
template <class S, class D = Cpu>
inline void row_max(Index rows, Index len, const S* x, S* out) {
  dispatch<op::RowMax, D>(rows, len, x, out);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/model.hpp"
#include "ras/kernels/reference/model.hpp"
