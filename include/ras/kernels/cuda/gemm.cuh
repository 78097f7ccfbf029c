// ras/kernels/cuda/gemm.cuh — the Cuda backend of kernels/gemm.hpp through cuBLAS. Our matrices are
// row-major, cuBLAS's column-major: a row-major (m x n) C is a column-major (n x m) C^T, and
// C^T = op(B)^T op(A)^T, so every call swaps A and B (and m and n) and keeps the leading
// dimensions and transposition flags. Batches are cublas<t>gemmStridedBatched (stride 0 broadcasts
// A or B); a batch that writes one shared C (stride_c 0) runs item by item in order.
// One cuBLAS handle per device, bound to ras::cuda_stream(). Default math mode: FP32 products stay
// FP32 (no TF32), so results match the CPU to float rounding.
#pragma once

#include <cublas_v2.h>

#include <climits>
#include <map>
#include <mutex>

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/gemm.hpp"

namespace ras::kernels::cuda {

inline const char* cublas_status_string(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "unknown cuBLAS status";
  }
}

inline void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) ::ras::detail::throw_error("cuBLAS error in ", what, ": ", cublas_status_string(s));
}

// The cuBLAS handle of the current device, on the library stream (created once, never destroyed).
inline cublasHandle_t cublas_handle() {
  static std::mutex m;
  static auto* handles = new std::map<int, cublasHandle_t>;
  int dev = 0;
  detail_cuda::check(cudaGetDevice(&dev), "cudaGetDevice");
  std::lock_guard<std::mutex> lock(m);
  auto& h = (*handles)[dev];
  if (h == nullptr) {
    check_cublas(cublasCreate(&h), "cublasCreate");
    check_cublas(cublasSetStream(h, stream()), "cublasSetStream");
  }
  return h;
}

inline int cublas_int(Index v, const char* what) {
  RAS_CHECK(v >= 0 && v <= INT_MAX, "gemm (cuda): ", what, " = ", v, " does not fit cuBLAS's int");
  return static_cast<int>(v);
}

inline cublasStatus_t gemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                           int k, const float* alpha, const float* a, int lda, long long sa,
                                           const float* b, int ldb, long long sb, const float* beta, float* c, int ldc,
                                           long long sc, int batch) {
  return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}
inline cublasStatus_t gemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                           int k, const double* alpha, const double* a, int lda, long long sa,
                                           const double* b, int ldb, long long sb, const double* beta, double* c,
                                           int ldc, long long sc, int batch) {
  return cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}

// Row-major C_i = beta C_i + alpha op(A_i) op(B_i) for i < batch (pointers advance by the strides).
// beta == 0 overwrites C (NaN in C does not survive); k == 0 or alpha == 0 leaves beta * C.
template <class S>
inline void gemm_row_major(bool trans_a, bool trans_b, Index batch, Index m, Index n, Index k, S alpha, const S* a,
                           Index lda, Index stride_a, const S* b, Index ldb, Index stride_b, S beta, S* c, Index ldc,
                           Index stride_c) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (stride_c == 0 && batch > 1) {  // items accumulate into one C: in order, one call each
    for (Index i = 0; i < batch; ++i)
      gemm_row_major<S>(trans_a, trans_b, 1, m, n, k, alpha, a + i * stride_a, lda, 0, b + i * stride_b, ldb, 0, beta, c,
                        ldc, 0);
    return;
  }
  if (k == 0 || alpha == S(0)) {  // C = beta C without reading A, B (cuBLAS rejects the degenerate leading dims)
    for_each_index(batch * m * n, [=] __device__(Index t) {
      const Index i = t / (m * n), r = (t / n) % m, col = t % n;
      S& cij = c[i * stride_c + r * ldc + col];
      cij = beta == S(0) ? S(0) : beta * cij;
    }, "gemm (scale C)");
    return;
  }
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  check_cublas(gemm_strided_batched(cublas_handle(), op_b, op_a, cublas_int(n, "n"), cublas_int(m, "m"),
                                    cublas_int(k, "k"), &alpha, b, cublas_int(ldb, "ldb"), stride_b, a,
                                    cublas_int(lda, "lda"), stride_a, &beta, c, cublas_int(ldc, "ldc"), stride_c,
                                    cublas_int(batch, "batch")),
               "cublas<t>gemmStridedBatched");
}

template <class S>
inline void run_kernel(Tag, op::Gemm, bool trans_a, bool trans_b, Index m, Index n, Index k, S alpha, const S* a,
                       Index lda, const S* b, Index ldb, S beta, S* c, Index ldc) {
  gemm_row_major<S>(trans_a, trans_b, 1, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0);
}

template <class S>
inline void run_kernel(Tag, op::GemmBatched, bool trans_a, bool trans_b, Index batch, Index m, Index n, Index k,
                       S alpha, const S* a, Index lda, Index stride_a, const S* b, Index ldb, Index stride_b, S beta,
                       S* c, Index ldc, Index stride_c) {
  gemm_row_major<S>(trans_a, trans_b, batch, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc,
                    stride_c);
}

}  // namespace ras::kernels::cuda
