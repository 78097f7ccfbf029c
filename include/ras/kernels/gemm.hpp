// ras/kernels/gemm.hpp — the library's single matrix-product entry point (BLAS sgemm semantics on
// row-major storage). Every matmul, linear layer, 1x1 convolution, im2col convolution and attention
// product goes through gemm()/gemm_batched(), so the heavy Eigen product is instantiated only here
// (4 transpose combinations per scalar type). CPU: Eigen/Core GEMM, threaded with OpenMP.
#pragma once

#include <Eigen/Core>

#include "ras/config.hpp"
#include "ras/device.hpp"

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
}  // namespace detail

namespace detail {
inline void check_gemm_args(bool trans_a, bool trans_b, Index m, Index n, Index k, Index lda,
                            Index ldb, Index ldc) {
  RAS_CHECK(m >= 0 && n >= 0 && k >= 0, "gemm: expected non-negative sizes but got m=", m, " n=", n,
            " k=", k);
  RAS_CHECK(lda >= (trans_a ? m : k) && ldb >= (trans_b ? k : n) && ldc >= n,
            "gemm: leading dimensions too small: lda=", lda, " ldb=", ldb, " ldc=", ldc, " for m=", m,
            " n=", n, " k=", k, (trans_a ? " (A transposed)" : ""), (trans_b ? " (B transposed)" : ""));
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

// C(m, n) = alpha * op(A)(m, k) * op(B)(k, n) + beta * C, all row-major.
// op(A) = A (stored m x k, leading dimension lda) or A^T (stored k x m); likewise B.
// Requires: C does not alias A or B. beta == 0 overwrites C (NaNs in C are not propagated).
template <class S, class D = Cpu>
inline void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, S alpha, const S* a, Index lda,
                 const S* b, Index ldb, S beta, S* c, Index ldc) {
  static_assert(is_cpu_device<D>, "gemm: only the Cpu device is implemented in this build");
  detail::check_gemm_args(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  detail::gemm_cpu<S>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// batch independent products: C_i = alpha * op(A_i) * op(B_i) + beta * C_i, where X_i starts at
// x + i * stride_x. A stride of 0 broadcasts one matrix over the batch.
// Parallel over the batch when it has at least as many items as threads; otherwise each product
// is threaded internally.
template <class S, class D = Cpu>
inline void gemm_batched(bool trans_a, bool trans_b, Index batch, Index m, Index n, Index k, S alpha,
                         const S* a, Index lda, Index stride_a, const S* b, Index ldb, Index stride_b,
                         S beta, S* c, Index ldc, Index stride_c) {
  RAS_CHECK(batch >= 0, "gemm_batched: expected batch >= 0 but got ", batch);
  RAS_CHECK(stride_c != 0 || batch <= 1, "gemm_batched: output stride 0 would race");
  static_assert(is_cpu_device<D>, "gemm_batched: only the Cpu device is implemented in this build");
  detail::check_gemm_args(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  const bool parallel_outer = batch >= D::num_threads() && D::num_threads() > 1;
#pragma omp parallel for schedule(static) if (parallel_outer)
  for (Index i = 0; i < batch; ++i)
    detail::gemm_cpu<S>(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb,
                        beta, c + i * stride_c, ldc);
}

}  // namespace ras::kernels
