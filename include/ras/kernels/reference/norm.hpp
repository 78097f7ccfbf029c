// ras/kernels/reference/norm.hpp — the reference backend of kernels/norm.hpp: plain scalar loops
// over the definitions of batch and layer normalisation; batch-norm sums accumulate in double.
#pragma once

#include <cmath>

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/norm.hpp"

namespace ras::kernels::reference {

// Per channel c over its N * L values: mean = sum / M, var = sum (x - mean)^2 / M (two passes).
template <class S, int R, class D>
inline void run_kernel(Tag, op::BatchNormStatistics, const Tensor<S, R, D>& x, Tensor<S, 1, D>& mean,
                       Tensor<S, 1, D>& var) {
  static_assert(R >= 2, "batch_norm_statistics: input needs a channel axis");
  Index N, C, L;
  detail::channel_layout<R>(x.shape(), N, C, L);
  using A = detail::norm_acc_t<S>;
  const A M = A(N * L);
  const S* xd = x.data();
  for (Index c = 0; c < C; ++c) {
    A sum = A(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) sum += A(xd[(n * C + c) * L + i]);
    const A m = sum / M;
    A sq = A(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) {
        const A d = A(xd[(n * C + c) * L + i]) - m;
        sq += d * d;
      }
    mean.data()[c] = S(m);
    var.data()[c] = S(sq / M);
  }
}

// y[n, c, i] = (x[n, c, i] - mean[c]) * rstd[c] * weight[c] + bias[c]  (weight 1 / bias 0 when absent)
template <class S, int R, class D>
inline Tensor<S, R, D> run_kernel(Tag, op::BatchNormForward, const Tensor<S, R, D>& x, const Tensor<S, 1, D>& mean,
                                  const Tensor<S, 1, D>& rstd, const Tensor<S, 1, D>* weight,
                                  const Tensor<S, 1, D>* bias) {
  Index N, C, L;
  detail::channel_layout<R>(x.shape(), N, C, L);
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  const S* xd = x.data();
  S* yd = y.data();
  for (Index n = 0; n < N; ++n)
    for (Index c = 0; c < C; ++c) {
      const S w = weight ? weight->data()[c] : S(1);
      const S b = bias ? bias->data()[c] : S(0);
      for (Index i = 0; i < L; ++i) {
        const Index k = (n * C + c) * L + i;
        yd[k] = (xd[k] - mean.data()[c]) * rstd.data()[c] * w + b;
      }
    }
  return y;
}

// Per channel, with xhat = (x - mean) * rstd, M = N * L values:
//   dbias += sum(dy), dweight += sum(dy * xhat)       (sums in double)
//   running statistics (batch_stats false): dx += w * rstd * dy
//   batch statistics (batch_stats true):    dx += w * rstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)
template <class S, int R, class D>
inline void run_kernel(Tag, op::BatchNormBackward, const Tensor<S, R, D>& dy, const Tensor<S, R, D>& x,
                       const Tensor<S, 1, D>& mean, const Tensor<S, 1, D>& rstd, const Tensor<S, 1, D>* weight,
                       bool batch_stats, Tensor<S, R, D>* dx, Tensor<S, 1, D>* dweight, Tensor<S, 1, D>* dbias) {
  Index N, C, L;
  detail::channel_layout<R>(x.shape(), N, C, L);
  using A = detail::norm_acc_t<S>;
  const A M = A(N * L);
  const S* xd = x.data();
  const S* dyd = dy.data();
  for (Index c = 0; c < C; ++c) {
    const S m = mean.data()[c], r = rstd.data()[c];
    A sum_dy = A(0), sum_dy_xhat = A(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) {
        const Index k = (n * C + c) * L + i;
        const S xhat = (xd[k] - m) * r;
        sum_dy += A(dyd[k]);
        sum_dy_xhat += A(dyd[k]) * A(xhat);
      }
    if (dbias) dbias->data()[c] += S(sum_dy);
    if (dweight) dweight->data()[c] += S(sum_dy_xhat);
    if (!dx) continue;
    const S w = weight ? weight->data()[c] : S(1);
    const S mean_dy = batch_stats ? S(sum_dy / M) : S(0);
    const S mean_dy_xhat = batch_stats ? S(sum_dy_xhat / M) : S(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) {
        const Index k = (n * C + c) * L + i;
        const S xhat = (xd[k] - m) * r;
        dx->data()[k] += w * r * (dyd[k] - mean_dy - xhat * mean_dy_xhat);
      }
  }
}

// Per row of C values: mean, rstd = 1 / sqrt(biased var + eps) (in double, stored as S), then
// y = (x - mean) * rstd * weight + bias with the stored mean and rstd.
template <class S, int R, class D>
inline Tensor<S, R, D> run_kernel(Tag, op::LayerNormForward, const Tensor<S, R, D>& x,
                                  const Tensor<S, 1, D>* weight, const Tensor<S, 1, D>* bias, S eps,
                                  Tensor<S, 1, D>& mean, Tensor<S, 1, D>& rstd) {
  const Index C = x.dim(R - 1), rows = C == 0 ? 0 : x.numel() / C;
  using A = detail::norm_acc_t<S>;
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  const S* xd = x.data();
  S* yd = y.data();
  for (Index r = 0; r < rows; ++r) {
    A sum = A(0);
    for (Index i = 0; i < C; ++i) sum += A(xd[r * C + i]);
    const A m = sum / A(C);
    A sq = A(0);
    for (Index i = 0; i < C; ++i) sq += (A(xd[r * C + i]) - m) * (A(xd[r * C + i]) - m);
    const S ms = S(m);
    const S rs = S(A(1) / std::sqrt(sq / A(C) + A(eps)));
    for (Index i = 0; i < C; ++i) {
      const S w = weight ? weight->data()[i] : S(1);
      const S b = bias ? bias->data()[i] : S(0);
      yd[r * C + i] = (xd[r * C + i] - ms) * rs * w + b;
    }
    mean.data()[r] = ms;
    rstd.data()[r] = rs;
  }
  return y;
}

// Per row, with norm = (x - mean) * rstd and dnorm = dy * weight:
//   dx += rstd * (dnorm - mean_i(dnorm) - norm * mean_i(dnorm * norm))
//   dweight[i] += sum over rows of dy * norm, dbias[i] += sum over rows of dy
template <class S, int R, class D>
inline void run_kernel(Tag, op::LayerNormBackward, const Tensor<S, R, D>& dy, const Tensor<S, R, D>& x,
                       const Tensor<S, 1, D>& mean, const Tensor<S, 1, D>& rstd, const Tensor<S, 1, D>* weight,
                       Tensor<S, R, D>* dx, Tensor<S, 1, D>* dweight, Tensor<S, 1, D>* dbias) {
  const Index C = x.dim(R - 1), rows = C == 0 ? 0 : x.numel() / C;
  const S* xd = x.data();
  const S* dyd = dy.data();
  if (dx) {
    for (Index r = 0; r < rows; ++r) {
      const S m = mean.data()[r], rs = rstd.data()[r];
      S dnorm_mean = S(0), dnorm_norm_mean = S(0);
      for (Index i = 0; i < C; ++i) {
        const S norm = (xd[r * C + i] - m) * rs;
        const S dnorm = dyd[r * C + i] * (weight ? weight->data()[i] : S(1));
        dnorm_mean += dnorm;
        dnorm_norm_mean += dnorm * norm;
      }
      dnorm_mean /= S(C);
      dnorm_norm_mean /= S(C);
      for (Index i = 0; i < C; ++i) {
        const S norm = (xd[r * C + i] - m) * rs;
        const S dnorm = dyd[r * C + i] * (weight ? weight->data()[i] : S(1));
        dx->data()[r * C + i] += rs * (dnorm - dnorm_mean - norm * dnorm_norm_mean);
      }
    }
  }
  for (Index i = 0; i < C; ++i) {
    S sum_dy_norm = S(0), sum_dy = S(0);
    for (Index r = 0; r < rows; ++r) {
      const S norm = (xd[r * C + i] - mean.data()[r]) * rstd.data()[r];
      sum_dy_norm += dyd[r * C + i] * norm;
      sum_dy += dyd[r * C + i];
    }
    if (dweight) dweight->data()[i] += sum_dy_norm;
    if (dbias) dbias->data()[i] += sum_dy;
  }
}

// training: rstd = 1 / sqrt(var + eps); when track, running_mean / running_var move by momentum
//           towards the batch mean and the unbiased variance var * M / (M - 1).
// eval:     mean = running_mean, rstd = 1 / sqrt(running_var + eps).
template <class S>
inline void run_kernel(Tag, op::BatchNormFinalize, Index C, Index M, bool training, bool track, S eps, S momentum,
                       const S* var, S* mean, S* rstd, S* running_mean, S* running_var) {
  for (Index c = 0; c < C; ++c) {
    if (!training) {
      mean[c] = running_mean[c];
      rstd[c] = S(1) / std::sqrt(running_var[c] + eps);
      continue;
    }
    rstd[c] = S(1) / std::sqrt(var[c] + eps);
    if (track) {
      const S unbiased = var[c] * S(M) / S(M - 1);
      running_mean[c] = (S(1) - momentum) * running_mean[c] + momentum * mean[c];
      running_var[c] = (S(1) - momentum) * running_var[c] + momentum * unbiased;
    }
  }
}

}  // namespace ras::kernels::reference
