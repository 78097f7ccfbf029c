// ras/kernels/cuda/norm.cuh — the Cuda backend of kernels/norm.hpp: batch-norm statistics and
// backward sums one block per channel (sums in double, two passes as the reference), layer norm
// one block per row (double statistics), its weight / bias gradients one thread per column
// walking the rows in order. No atomics.
#pragma once

#include <cmath>

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/norm.hpp"

namespace ras::kernels::cuda {

template <class S, class A>
__global__ void batch_norm_statistics_kernel(Index N, Index C, Index L, const S* x, S* mean, S* var) {
  const Index M = N * L;
  for (Index c = blockIdx.x; c < C; c += gridDim.x) {
    A sum = A(0);
    for (Index j = threadIdx.x; j < M; j += blockDim.x) sum += A(x[((j / L) * C + c) * L + j % L]);
    const A m = block_sum(sum) / A(M);
    A sq = A(0);
    for (Index j = threadIdx.x; j < M; j += blockDim.x) {
      const A d = A(x[((j / L) * C + c) * L + j % L]) - m;
      sq += d * d;
    }
    sq = block_sum(sq);
    if (threadIdx.x == 0) {
      mean[c] = S(m);
      var[c] = S(sq / A(M));
    }
  }
}

template <class S, int R>
inline void run_kernel(Tag, op::BatchNormStatistics, const Tensor<S, R, Cuda>& x, Tensor<S, 1, Cuda>& mean,
                       Tensor<S, 1, Cuda>& var) {
  static_assert(R >= 2, "batch_norm_statistics: input needs a channel axis");
  Index N, C, L;
  detail::channel_layout<R>(x.shape(), N, C, L);
  check_same_shape<1>({C}, mean.shape(), "batch_norm_statistics: mean");
  check_same_shape<1>({C}, var.shape(), "batch_norm_statistics: var");
  if (C == 0) return;
  batch_norm_statistics_kernel<S, detail::norm_acc_t<S>>
      <<<static_cast<unsigned>(std::min<Index>(C, 65535)), block_threads, 0, stream()>>>(N, C, L, x.data(),
                                                                                         mean.data(), var.data());
  check_launch("batch_norm_statistics");
}

template <class S, int R>
inline Tensor<S, R, Cuda> run_kernel(Tag, op::BatchNormForward, const Tensor<S, R, Cuda>& x,
                                     const Tensor<S, 1, Cuda>& mean, const Tensor<S, 1, Cuda>& rstd,
                                     const Tensor<S, 1, Cuda>* weight, const Tensor<S, 1, Cuda>* bias) {
  Index N, C, L;
  detail::channel_layout<R>(x.shape(), N, C, L);
  check_same_shape<1>({C}, mean.shape(), "batch_norm_forward: mean");
  check_same_shape<1>({C}, rstd.shape(), "batch_norm_forward: rstd");
  if (weight) check_same_shape<1>({C}, weight->shape(), "batch_norm_forward: weight");
  if (bias) check_same_shape<1>({C}, bias->shape(), "batch_norm_forward: bias");
  auto y = Tensor<S, R, Cuda>::uninitialized(x.shape());
  if (L == 0 || C == 0) return y;
  const S* xd = x.data();
  const S* md = mean.data();
  const S* rd = rstd.data();
  const S* wd = weight ? weight->data() : nullptr;
  const S* bd = bias ? bias->data() : nullptr;
  S* yd = y.data();
  for_each_index(y.numel(), [=] __device__(Index k) {
    const Index c = (k / L) % C;
    yd[k] = (xd[k] - md[c]) * rd[c] * (wd ? wd[c] : S(1)) + (bd ? bd[c] : S(0));
  }, "batch_norm_forward");
  return y;
}

template <class S, int R>
inline void run_kernel(Tag, op::BatchNormBackward, const Tensor<S, R, Cuda>& dy, const Tensor<S, R, Cuda>& x,
                       const Tensor<S, 1, Cuda>& mean, const Tensor<S, 1, Cuda>& rstd,
                       const Tensor<S, 1, Cuda>* weight, bool batch_stats, Tensor<S, R, Cuda>* dx,
                       Tensor<S, 1, Cuda>* dweight, Tensor<S, 1, Cuda>* dbias) {
  check_same_shape<R>(x.shape(), dy.shape(), "batch_norm_backward: dy");
  if (dx) check_same_shape<R>(x.shape(), dx->shape(), "batch_norm_backward: dx");
  Index N, C, L;
  detail::channel_layout<R>(x.shape(), N, C, L);
  if (C == 0) return;
  using A = detail::norm_acc_t<S>;
  const A M = A(N * L);
  const S* xd = x.data();
  const S* dyd = dy.data();
  const S* md = mean.data();
  const S* rd = rstd.data();
  // per channel: sums[c] = sum(dy), sums[C + c] = sum(dy * xhat)
  DeviceBuffer<A> sums(2 * C);
  A* sd = sums.get();
  segment_sum<A>(
      2 * C, N * L,
      [=] __device__(Index s, Index j) {
        const Index c = s % C;
        const Index k = ((j / L) * C + c) * L + j % L;
        if (s < C) return A(dyd[k]);
        const S xhat = (xd[k] - md[c]) * rd[c];
        return A(dyd[k]) * A(xhat);
      },
      [=] __device__(Index s, A sum) { sd[s] = sum; }, "batch_norm_backward (sums)");
  S* dbd = dbias ? dbias->data() : nullptr;
  S* dwd = dweight ? dweight->data() : nullptr;
  if (dbd || dwd)
    for_each_index(C, [=] __device__(Index c) {
      if (dbd) dbd[c] += S(sd[c]);
      if (dwd) dwd[c] += S(sd[C + c]);
    }, "batch_norm_backward (weight, bias)");
  if (!dx || L == 0) return;
  const S* wd = weight ? weight->data() : nullptr;
  S* dxd = dx->data();
  for_each_index(x.numel(), [=] __device__(Index k) {
    const Index c = (k / L) % C;
    const S m = md[c], r = rd[c];
    const S w = wd ? wd[c] : S(1);
    const S mean_dy = batch_stats ? S(sd[c] / M) : S(0);
    const S mean_dy_xhat = batch_stats ? S(sd[C + c] / M) : S(0);
    const S xhat = (xd[k] - m) * r;
    dxd[k] += w * r * (dyd[k] - mean_dy - xhat * mean_dy_xhat);
  }, "batch_norm_backward (dx)");
}

template <class S, class A>
__global__ void layer_norm_forward_kernel(Index rows, Index C, const S* x, const S* weight, const S* bias, S eps, S* y,
                                          S* mean, S* rstd) {
  for (Index r = blockIdx.x; r < rows; r += gridDim.x) {
    const S* xr = x + r * C;
    A sum = A(0);
    for (Index i = threadIdx.x; i < C; i += blockDim.x) sum += A(xr[i]);
    const A m = block_sum(sum) / A(C);
    A sq = A(0);
    for (Index i = threadIdx.x; i < C; i += blockDim.x) sq += (A(xr[i]) - m) * (A(xr[i]) - m);
    sq = block_sum(sq);
    const S ms = S(m);
    const S rs = S(A(1) / sqrt(sq / A(C) + A(eps)));
    for (Index i = threadIdx.x; i < C; i += blockDim.x)
      y[r * C + i] = (xr[i] - ms) * rs * (weight ? weight[i] : S(1)) + (bias ? bias[i] : S(0));
    if (threadIdx.x == 0) {
      mean[r] = ms;
      rstd[r] = rs;
    }
  }
}

template <class S, int R>
inline Tensor<S, R, Cuda> run_kernel(Tag, op::LayerNormForward, const Tensor<S, R, Cuda>& x,
                                     const Tensor<S, 1, Cuda>* weight, const Tensor<S, 1, Cuda>* bias, S eps,
                                     Tensor<S, 1, Cuda>& mean, Tensor<S, 1, Cuda>& rstd) {
  const Index C = x.dim(R - 1), rows = C == 0 ? 0 : x.numel() / C;
  check_same_shape<1>({rows}, mean.shape(), "layer_norm_forward: mean");
  check_same_shape<1>({rows}, rstd.shape(), "layer_norm_forward: rstd");
  if (weight) check_same_shape<1>({C}, weight->shape(), "layer_norm_forward: weight");
  if (bias) check_same_shape<1>({C}, bias->shape(), "layer_norm_forward: bias");
  auto y = Tensor<S, R, Cuda>::uninitialized(x.shape());
  if (rows == 0) return y;
  layer_norm_forward_kernel<S, detail::norm_acc_t<S>>
      <<<static_cast<unsigned>(std::min<Index>(rows, 65535)), block_threads, 0, stream()>>>(
          rows, C, x.data(), weight ? weight->data() : nullptr, bias ? bias->data() : nullptr, eps, y.data(),
          mean.data(), rstd.data());
  check_launch("layer_norm_forward");
  return y;
}

template <class S>
__global__ void layer_norm_backward_dx_kernel(Index rows, Index C, const S* dy, const S* x, const S* mean,
                                              const S* rstd, const S* weight, S* dx) {
  for (Index r = blockIdx.x; r < rows; r += gridDim.x) {
    const S m = mean[r], rs = rstd[r];
    S a = S(0), b = S(0);
    for (Index i = threadIdx.x; i < C; i += blockDim.x) {
      const S norm = (x[r * C + i] - m) * rs;
      const S dnorm = dy[r * C + i] * (weight ? weight[i] : S(1));
      a += dnorm;
      b += dnorm * norm;
    }
    const S dnorm_mean = block_sum(a) / S(C);
    const S dnorm_norm_mean = block_sum(b) / S(C);
    for (Index i = threadIdx.x; i < C; i += blockDim.x) {
      const S norm = (x[r * C + i] - m) * rs;
      const S dnorm = dy[r * C + i] * (weight ? weight[i] : S(1));
      dx[r * C + i] += rs * (dnorm - dnorm_mean - norm * dnorm_norm_mean);
    }
  }
}

template <class S, int R>
inline void run_kernel(Tag, op::LayerNormBackward, const Tensor<S, R, Cuda>& dy, const Tensor<S, R, Cuda>& x,
                       const Tensor<S, 1, Cuda>& mean, const Tensor<S, 1, Cuda>& rstd,
                       const Tensor<S, 1, Cuda>* weight, Tensor<S, R, Cuda>* dx, Tensor<S, 1, Cuda>* dweight,
                       Tensor<S, 1, Cuda>* dbias) {
  check_same_shape<R>(x.shape(), dy.shape(), "layer_norm_backward: dy");
  if (dx) check_same_shape<R>(x.shape(), dx->shape(), "layer_norm_backward: dx");
  const Index C = x.dim(R - 1), rows = C == 0 ? 0 : x.numel() / C;
  if (rows == 0) return;
  const S* xd = x.data();
  const S* dyd = dy.data();
  const S* md = mean.data();
  const S* rd = rstd.data();
  if (dx) {
    layer_norm_backward_dx_kernel<S><<<static_cast<unsigned>(std::min<Index>(rows, 65535)), block_threads, 0,
                                       stream()>>>(rows, C, dyd, xd, md, rd, weight ? weight->data() : nullptr,
                                                   dx->data());
    check_launch("layer_norm_backward (dx)");
  }
  S* dwd = dweight ? dweight->data() : nullptr;
  S* dbd = dbias ? dbias->data() : nullptr;
  if (dwd || dbd)
    for_each_index(C, [=] __device__(Index i) {
      S sum_dy_norm = S(0), sum_dy = S(0);
      for (Index r = 0; r < rows; ++r) {
        const S norm = (xd[r * C + i] - md[r]) * rd[r];
        sum_dy_norm += dyd[r * C + i] * norm;
        sum_dy += dyd[r * C + i];
      }
      if (dwd) dwd[i] += sum_dy_norm;
      if (dbd) dbd[i] += sum_dy;
    }, "layer_norm_backward (weight, bias)");
}

template <class S>
inline void run_kernel(Tag, op::BatchNormFinalize, Index C, Index M, bool training, bool track, S eps, S momentum,
                       const S* var, S* mean, S* rstd, S* running_mean, S* running_var) {
  for_each_index(C, [=] __device__(Index c) {
    if (!training) {
      mean[c] = running_mean[c];
      rstd[c] = S(1) / sqrt(running_var[c] + eps);
      return;
    }
    rstd[c] = S(1) / sqrt(var[c] + eps);
    if (track) {
      const S unbiased = var[c] * S(M) / S(M - 1);
      running_mean[c] = (S(1) - momentum) * running_mean[c] + momentum * mean[c];
      running_var[c] = (S(1) - momentum) * running_var[c] + momentum * unbiased;
    }
  }, "batch_norm_finalize");
}

}  // namespace ras::kernels::cuda
