// ras/kernels/reference/gemm.hpp — the reference backend of kernels/gemm.hpp: plain scalar loops,
// the triple loop C(i, j) = beta C(i, j) + alpha sum_p op(A)(i, p) op(B)(p, j) on row-major storage.
#pragma once

#include "ras/kernels/reference/common.hpp"
#include "ras/kernels/gemm.hpp"

namespace ras::kernels::reference {

// One product. beta == 0 overwrites C (a NaN in C does not survive); alpha == 0 or k == 0 leaves
// beta * C (A and B are not read).
template <class S>
inline void gemm_triple_loop(bool trans_a, bool trans_b, Index m, Index n, Index k, S alpha, const S* a,
                             Index lda, const S* b, Index ldb, S beta, S* c, Index ldc) {
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      S& cij = c[i * ldc + j];
      const S scaled = beta == S(0) ? S(0) : beta * cij;
      if (k == 0 || alpha == S(0)) {
        cij = scaled;
        continue;
      }
      S sum = S(0);
      for (Index p = 0; p < k; ++p) {
        const S aip = trans_a ? a[p * lda + i] : a[i * lda + p];  // op(A)(i, p)
        const S bpj = trans_b ? b[j * ldb + p] : b[p * ldb + j];  // op(B)(p, j)
        sum += aip * bpj;
      }
      cij = scaled + alpha * sum;
    }
}

template <class S>
inline void run_kernel(Tag, op::Gemm, bool trans_a, bool trans_b, Index m, Index n, Index k, S alpha, const S* a,
                       Index lda, const S* b, Index ldb, S beta, S* c, Index ldc) {
  gemm_triple_loop<S>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Item i reads A at a + i * stride_a (stride 0: the same matrix for every item), likewise B, C.
template <class S>
inline void run_kernel(Tag, op::GemmBatched, bool trans_a, bool trans_b, Index batch, Index m, Index n, Index k,
                       S alpha, const S* a, Index lda, Index stride_a, const S* b, Index ldb, Index stride_b,
                       S beta, S* c, Index ldc, Index stride_c) {
  for (Index i = 0; i < batch; ++i)
    gemm_triple_loop<S>(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                        c + i * stride_c, ldc);
}

}  // namespace ras::kernels::reference
