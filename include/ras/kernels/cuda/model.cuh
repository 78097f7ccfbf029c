// ras/kernels/cuda/model.cuh — the Cuda backend of kernels/model.hpp: the feature jitter (one block
// per token row: the row norm in double, then the update), the channel distance (one thread per
// position, double sums) and row maxima (one block per row).
#pragma once

#include <cmath>

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/model.hpp"

namespace ras::kernels::cuda {

template <class S>
__global__ void jitter_add_kernel(Index rows, Index C, const double* noise, double alpha, S* x) {
  for (Index r = blockIdx.x; r < rows; r += gridDim.x) {
    double sq = 0;
    for (Index c = threadIdx.x; c < C; c += blockDim.x) sq += double(x[r * C + c]) * double(x[r * C + c]);
    sq = block_sum(sq);  // every read of the row happens before this barrier
    const double scale = sqrt(sq) / double(C) * alpha;
    for (Index c = threadIdx.x; c < C; c += blockDim.x) x[r * C + c] += static_cast<S>(noise[r * C + c] * scale);
  }
}

// noise: (rows, C) on the device.
template <class S>
inline void run_kernel(Tag, op::JitterAdd, Index rows, Index C, const double* noise, double alpha, S* x) {
  if (rows <= 0 || C <= 0) return;
  jitter_add_kernel<S><<<static_cast<unsigned>(std::min<Index>(rows, 65535)), block_threads, 0, stream()>>>(
      rows, C, noise, alpha, x);
  check_launch("jitter_add");
}

template <class S>
inline void run_kernel(Tag, op::ChannelDistance, Index B, Index C, Index L, const S* a, const S* b, S* out) {
  if (L <= 0) return;
  for_each_index(B * L, [=] __device__(Index k) {
    const Index n = k / L, l = k % L;
    double sq = 0;
    for (Index c = 0; c < C; ++c) {
      const double d = double(a[(n * C + c) * L + l]) - double(b[(n * C + c) * L + l]);
      sq += d * d;
    }
    out[k] = static_cast<S>(sqrt(sq));
  }, "channel_distance");
}

// The reference walks the row with `if (best < x) best = x` from x[0]: the result is x[0] when
// x[0] is NaN, else the largest non-NaN entry (NaN later in the row never wins). The block takes
// the NaN-ignoring maximum and then applies the rule for x[0].
template <class S>
__global__ void row_max_kernel(Index rows, Index len, const S* x, S* out) {
  for (Index r = blockIdx.x; r < rows; r += gridDim.x) {
    const S* xr = x + r * len;
    S best = -std::numeric_limits<S>::infinity();
    for (Index j = threadIdx.x; j < len; j += blockDim.x)
      if (xr[j] > best) best = xr[j];
    best = block_max(best);
    if (threadIdx.x == 0) out[r] = xr[0] != xr[0] ? xr[0] : (xr[0] > best ? xr[0] : best);
  }
}

template <class S>
inline void run_kernel(Tag, op::RowMax, Index rows, Index len, const S* x, S* out) {
  if (rows <= 0) return;
  row_max_kernel<S><<<static_cast<unsigned>(std::min<Index>(rows, 65535)), block_threads, 0, stream()>>>(rows, len, x,
                                                                                                           out);
  check_launch("row_max");
}

}  // namespace ras::kernels::cuda
