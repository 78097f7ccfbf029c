// ras/kernels/gemm.hpp — the library's single matrix-product entry point (BLAS sgemm semantics on
// row-major storage). Every matmul, linear layer, 1x1 convolution, im2col convolution and attention
// product goes through gemm()/gemm_batched(), so the heavy Eigen product is instantiated only here
// (4 transpose combinations per scalar type). Cpu backend: kernels/cpu/gemm.hpp (Eigen/Core GEMM,
// threaded with OpenMP).
#pragma once

#include "ras/config.hpp"
#include "ras/kernels/backend.hpp"

namespace ras::kernels {


namespace detail {
inline void check_gemm_args(bool trans_a, bool trans_b, Index m, Index n, Index k, Index lda,
                            Index ldb, Index ldc) {
  RAS_CHECK(m >= 0 && n >= 0 && k >= 0, "gemm: expected non-negative sizes but got m=", m, " n=", n,
            " k=", k);
  RAS_CHECK(lda >= (trans_a ? m : k) && ldb >= (trans_b ? k : n) && ldc >= n,
            "gemm: leading dimensions too small: lda=", lda, " ldb=", ldb, " ldc=", ldc, " for m=", m,
            " n=", n, " k=", k, (trans_a ? " (A transposed)" : ""), (trans_b ? " (B transposed)" : ""));
}

}  // namespace detail

// C(m, n) = alpha * op(A)(m, k) * op(B)(k, n) + beta * C, all row-major.
// op(A) = A (stored m x k, leading dimension lda) or A^T (stored k x m); likewise B.
// Requires: C does not alias A or B. beta == 0 overwrites C (NaNs in C are not propagated).
template <class S, class D = Cpu>
inline void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, S alpha, const S* a, Index lda,
                 const S* b, Index ldb, S beta, S* c, Index ldc) {
  detail::check_gemm_args(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  dispatch<op::Gemm, D>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
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
  detail::check_gemm_args(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  dispatch<op::GemmBatched, D>(trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/gemm.hpp"
#include "ras/kernels/reference/gemm.hpp"
