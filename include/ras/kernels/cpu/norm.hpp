// ras/kernels/cpu/norm.hpp — the Cpu backend of kernels/norm.hpp (vectorised, OpenMP).
#pragma once

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/norm.hpp"

#include <cmath>
#include <type_traits>

namespace ras::kernels::cpu {

template <class S, int R, class D>
inline void run_kernel(Tag, op::BatchNormStatistics, const Tensor<S, R, D>& x, Tensor<S, 1, D>& mean,
                                  Tensor<S, 1, D>& var) {
  static_assert(R >= 2, "batch_norm_statistics: input needs a channel axis");
  Index N, C, L;
  detail::channel_layout<R>(x.shape(), N, C, L);
  using A = detail::norm_acc_t<S>;
  const A count = A(N * L);
  const S* xd = x.data();
#pragma omp parallel for schedule(static)
  for (Index c = 0; c < C; ++c) {
    A s = A(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) s += A(xd[(n * C + c) * L + i]);
    const A m = s / count;
    A v = A(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) {
        const A d = A(xd[(n * C + c) * L + i]) - m;
        v += d * d;
      }
    mean.data()[c] = S(m);
    var.data()[c] = S(v / count);
  }
}

template <class S, int R, class D>
inline Tensor<S, R, D> run_kernel(Tag, op::BatchNormForward, const Tensor<S, R, D>& x, const Tensor<S, 1, D>& mean,
                                          const Tensor<S, 1, D>& rstd,
                                          const Tensor<S, 1, D>* weight,
                                          const Tensor<S, 1, D>* bias) {
  Index N, C, L;
  detail::channel_layout<R>(x.shape(), N, C, L);
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  const S* xd = x.data();
  S* yd = y.data();
#pragma omp parallel for schedule(static)
  for (Index q = 0; q < N * C; ++q) {
    const Index c = q % C;
    const S scale = rstd.data()[c] * (weight ? weight->data()[c] : S(1));
    const S shift = (bias ? bias->data()[c] : S(0)) - mean.data()[c] * scale;
    for (Index i = 0; i < L; ++i) yd[q * L + i] = xd[q * L + i] * scale + shift;
  }
  return y;
}

template <class S, int R, class D>
inline void run_kernel(Tag, op::BatchNormBackward, const Tensor<S, R, D>& dy, const Tensor<S, R, D>& x,
                                const Tensor<S, 1, D>& mean, const Tensor<S, 1, D>& rstd,
                                const Tensor<S, 1, D>* weight, bool batch_stats,
                                Tensor<S, R, D>* dx, Tensor<S, 1, D>* dweight,
                                Tensor<S, 1, D>* dbias) {
  Index N, C, L;
  detail::channel_layout<R>(x.shape(), N, C, L);
  using A = detail::norm_acc_t<S>;
  const A count = A(N * L);
  const S* xd = x.data();
  const S* dyd = dy.data();
  // With xhat = (x - mean) * rstd and y = w * xhat + b, per channel over its M = N * L values:
  //   dbias += sum(dy), dweight += sum(dy * xhat)
  //   eval:  dx += w * rstd * dy
  //   train: dx += w * rstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)
  // (the last two terms are the gradient through the batch mean and the batch variance).
#pragma omp parallel for schedule(static)
  for (Index c = 0; c < C; ++c) {
    const S m = mean.data()[c], r = rstd.data()[c];
    A sum_dy = A(0), sum_dy_xhat = A(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) {
        const Index k = (n * C + c) * L + i;
        sum_dy += A(dyd[k]);
        sum_dy_xhat += A(dyd[k]) * A((xd[k] - m) * r);
      }
    if (dbias) dbias->data()[c] += S(sum_dy);
    if (dweight) dweight->data()[c] += S(sum_dy_xhat);
    if (!dx) continue;
    const S scale = r * (weight ? weight->data()[c] : S(1));
    const S mean_dy = batch_stats ? S(sum_dy / count) : S(0);
    const S mean_dy_xhat = batch_stats ? S(sum_dy_xhat / count) : S(0);
    S* dxd = dx->data();
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) {
        const Index k = (n * C + c) * L + i;
        const S xhat = (xd[k] - m) * r;
        dxd[k] += scale * (dyd[k] - mean_dy - xhat * mean_dy_xhat);
      }
  }
}

template <class S, int R, class D>
inline Tensor<S, R, D> run_kernel(Tag, op::LayerNormForward, const Tensor<S, R, D>& x, const Tensor<S, 1, D>* weight,
                                          const Tensor<S, 1, D>* bias, S eps, Tensor<S, 1, D>& mean,
                                          Tensor<S, 1, D>& rstd) {
  const Index C = x.dim(R - 1), rows = C == 0 ? 0 : x.numel() / C;
  using A = detail::norm_acc_t<S>;
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  const S* xd = x.data();
  S* yd = y.data();
  const S* w = weight ? weight->data() : nullptr;
  const S* b = bias ? bias->data() : nullptr;
  // Vectorised reductions (omp simd): the sums run in a fixed lane order, in double for float.
  auto normalize_rows = [&](auto has_affine) {
    constexpr bool affine = decltype(has_affine)::value;
#pragma omp parallel for schedule(static)
    for (Index r = 0; r < rows; ++r) {
      const S* xr = xd + r * C;
      A s = A(0);
#pragma omp simd reduction(+ : s)
      for (Index i = 0; i < C; ++i) s += A(xr[i]);
      const A m = s / A(C);
      A v = A(0);
#pragma omp simd reduction(+ : v)
      for (Index i = 0; i < C; ++i) v += (A(xr[i]) - m) * (A(xr[i]) - m);
      const S rs = S(A(1) / std::sqrt(v / A(C) + A(eps)));
      const S ms = S(m);
      S* yr = yd + r * C;
      if constexpr (affine) {
#pragma omp simd
        for (Index i = 0; i < C; ++i) yr[i] = (xr[i] - ms) * rs * w[i] + b[i];
      } else {
#pragma omp simd
        for (Index i = 0; i < C; ++i) yr[i] = (xr[i] - ms) * rs;
      }
      mean.data()[r] = ms;
      rstd.data()[r] = rs;
    }
  };
  if (w && b) {
    normalize_rows(std::true_type{});
  } else if (!w && !b) {
    normalize_rows(std::false_type{});
  } else {  // one of the two affine parameters: the general (scalar) form
#pragma omp parallel for schedule(static)
    for (Index r = 0; r < rows; ++r) {
      const S* xr = xd + r * C;
      A s = A(0);
      for (Index i = 0; i < C; ++i) s += A(xr[i]);
      const A m = s / A(C);
      A v = A(0);
      for (Index i = 0; i < C; ++i) v += (A(xr[i]) - m) * (A(xr[i]) - m);
      const S rs = S(A(1) / std::sqrt(v / A(C) + A(eps)));
      const S ms = S(m);
      S* yr = yd + r * C;
      for (Index i = 0; i < C; ++i) yr[i] = (xr[i] - ms) * rs * (w ? w[i] : S(1)) + (b ? b[i] : S(0));
      mean.data()[r] = ms;
      rstd.data()[r] = rs;
    }
  }
  return y;
}

template <class S, int R, class D>
inline void run_kernel(Tag, op::LayerNormBackward, const Tensor<S, R, D>& dy, const Tensor<S, R, D>& x,
                                const Tensor<S, 1, D>& mean, const Tensor<S, 1, D>& rstd,
                                const Tensor<S, 1, D>* weight, Tensor<S, R, D>* dx,
                                Tensor<S, 1, D>* dweight, Tensor<S, 1, D>* dbias) {
  const Index C = x.dim(R - 1), rows = C == 0 ? 0 : x.numel() / C;
  const Index chunks = std::max(Index(1), std::min<Index>(threads(), rows));
  const bool param_grads = dweight || dbias;
  // Per-chunk partial sums of dy * norm (first C) and dy (next C), reduced after the loop.
  auto partial = Tensor<S, 2, D>({param_grads ? chunks : 0, 2 * C});
  const S* xd = x.data();
  const S* dyd = dy.data();
  const S* w = weight ? weight->data() : nullptr;
  // llm.c layernorm_backward: with norm = (x - mean) * rstd and dnorm = dy * weight,
  //   dx += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
  //   dweight += sum over rows of dy * norm, dbias += sum over rows of dy
  auto rows_backward = [&](auto has_weight, auto has_param_grads) {
    constexpr bool weighted = decltype(has_weight)::value, accumulate = decltype(has_param_grads)::value;
#pragma omp parallel for schedule(static)
    for (Index t = 0; t < chunks; ++t) {
      S* pw = accumulate ? partial.data() + t * 2 * C : nullptr;
      for (Index r = t * rows / chunks; r < (t + 1) * rows / chunks; ++r) {
        const S* xr = xd + r * C;
        const S* dyr = dyd + r * C;
        const S m = mean.data()[r], rs = rstd.data()[r];
        S dnorm_mean = S(0), dnorm_norm_mean = S(0);
#pragma omp simd reduction(+ : dnorm_mean, dnorm_norm_mean)
        for (Index i = 0; i < C; ++i) {
          const S norm = (xr[i] - m) * rs;
          const S dnorm = weighted ? dyr[i] * w[i] : dyr[i];
          dnorm_mean += dnorm;
          dnorm_norm_mean += dnorm * norm;
          if constexpr (accumulate) {
            pw[i] += dyr[i] * norm;
            pw[C + i] += dyr[i];
          }
        }
        dnorm_mean /= S(C);
        dnorm_norm_mean /= S(C);
        if (!dx) continue;
        S* dxr = dx->data() + r * C;
#pragma omp simd
        for (Index i = 0; i < C; ++i) {
          const S norm = (xr[i] - m) * rs;
          const S dnorm = weighted ? dyr[i] * w[i] : dyr[i];
          dxr[i] += rs * (dnorm - dnorm_mean - norm * dnorm_norm_mean);
        }
      }
    }
  };
  // The sums over a row are vectorised (omp simd): a fixed lane order, not the sequential one.
  if (w && param_grads) rows_backward(std::true_type{}, std::true_type{});
  else if (w) rows_backward(std::true_type{}, std::false_type{});
  else if (param_grads) rows_backward(std::false_type{}, std::true_type{});
  else rows_backward(std::false_type{}, std::false_type{});
  if (!param_grads) return;
#pragma omp parallel for schedule(static)
  for (Index i = 0; i < C; ++i) {
    S sw = S(0), sb = S(0);
    for (Index t = 0; t < chunks; ++t) {
      sw += partial.data()[t * 2 * C + i];
      sb += partial.data()[t * 2 * C + C + i];
    }
    if (dweight) dweight->data()[i] += sw;
    if (dbias) dbias->data()[i] += sb;
  }
}

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
    if (!track) continue;
    const S unbiased = var[c] * S(M) / S(M - 1);
    running_mean[c] = (S(1) - momentum) * running_mean[c] + momentum * mean[c];
    running_var[c] = (S(1) - momentum) * running_var[c] + momentum * unbiased;
  }
}

}  // namespace ras::kernels::cpu
