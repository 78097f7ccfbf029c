// ras/kernels/cpu/gemm.hpp — the Cpu backend of kernels/gemm.hpp (vectorised, OpenMP).
#pragma once

#include "ras/kernels/cpu/common.hpp"
#include <Eigen/Core>

#include "ras/kernels/gemm.hpp"

namespace ras::kernels {
namespace detail {
template <class S, int Order>
using ConstMatMap =
    Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Order>, 0, Eigen::OuterStride<>>;
template <class S>
using RowMatMap = Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                             Eigen::OuterStride<>>;

template <class S, int OrderA, int OrderB>
inline void gemm_product(Index m, Index n, Index k, S alpha, const S* a, Index lda, const S* b,
                         Index ldb, RowMatMap<S>& c) {
  ConstMatMap<S, OrderA> A(a, m, k, Eigen::OuterStride<>(lda));
  ConstMatMap<S, OrderB> B(b, k, n, Eigen::OuterStride<>(ldb));
  c.noalias() += alpha * A * B;
}

// gemm() without argument checks (callable inside OpenMP regions: never throws on valid input).
template <class S>
inline void gemm_cpu(bool trans_a, bool trans_b, Index m, Index n, Index k, S alpha, const S* a,
                     Index lda, const S* b, Index ldb, S beta, S* c, Index ldc) {
  if (m == 0 || n == 0) return;
  RowMatMap<S> C(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == S(0)) {
    C.setZero();
  } else if (beta != S(1)) {
    C *= beta;
  }
  if (k == 0 || alpha == S(0)) return;
  constexpr int R = Eigen::RowMajor, Cm = Eigen::ColMajor;
  // A row-major k x m matrix read as column-major is its m x k transpose, and so on.
  if (!trans_a && !trans_b) gemm_product<S, R, R>(m, n, k, alpha, a, lda, b, ldb, C);
  else if (!trans_a && trans_b) gemm_product<S, R, Cm>(m, n, k, alpha, a, lda, b, ldb, C);
  else if (trans_a && !trans_b) gemm_product<S, Cm, R>(m, n, k, alpha, a, lda, b, ldb, C);
  else gemm_product<S, Cm, Cm>(m, n, k, alpha, a, lda, b, ldb, C);
}
}  // namespace detail
}  // namespace ras::kernels

namespace ras::kernels::cpu {

template <class S>
inline void run_kernel(Tag, op::Gemm, bool trans_a, bool trans_b, Index m, Index n, Index k, S alpha, const S* a, Index lda,
                 const S* b, Index ldb, S beta, S* c, Index ldc) {
  detail::gemm_cpu<S>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <class S>
inline void run_kernel(Tag, op::GemmBatched, bool trans_a, bool trans_b, Index batch, Index m, Index n, Index k, S alpha,
                         const S* a, Index lda, Index stride_a, const S* b, Index ldb, Index stride_b,
                         S beta, S* c, Index ldc, Index stride_c) {
  const bool parallel_outer = batch >= threads() && threads() > 1;
#pragma omp parallel for schedule(static) if (parallel_outer)
  for (Index i = 0; i < batch; ++i)
    detail::gemm_cpu<S>(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb,
                        beta, c + i * stride_c, ldc);
}

}  // namespace ras::kernels::cpu
