// ras/kernels/cpu/attention.hpp — the Cpu backend of kernels/attention.hpp. Parallel over (batch,
// head) pairs; per pair, blocks of 64 queries: the block's score rows (64 x Lk) are computed with
// the Cpu GEMM (kernels::detail::gemm_cpu: no argument checks, safe inside OpenMP regions) into a
// per-thread scratch, soft-maxed in place (vectorised exp) and multiplied by V straight into the
// merged output. The backward recomputes each block's probabilities from lse.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ras/kernels/attention.hpp"
#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/cpu/vmath.hpp"
#include "ras/kernels/gemm.hpp"

namespace ras::kernels::cpu {

namespace attention_detail {
inline constexpr Index query_block = 64;

// A per-thread scratch whose start is 64-byte aligned like every tensor: Eigen's vectorised sums
// peel to an alignment boundary, so the summation order (and the last bits of the result) would
// otherwise depend on where malloc put the buffer.
template <class S>
struct AlignedScratch {
  explicit AlignedScratch(Index n) : storage(static_cast<std::size_t>(n) + 64 / sizeof(S)) {
    auto p = reinterpret_cast<std::uintptr_t>(storage.data());
    data = reinterpret_cast<S*>((p + 63) / 64 * 64);
  }
  std::vector<S> storage;
  S* data = nullptr;
};

// row (Lk scores, the mask row already added) -> exp(row - shift), exact zeros where the mask is
// -inf (the vectorised exp clamps its argument). Returns the sum of the row.
template <class S>
inline S exp_row(Index Lk, S* row, S shift, const S* mask_row) {
  S total = exp_shifted_sum(Lk, row, shift, row);
  if (mask_row) {
    constexpr S neg_inf = -std::numeric_limits<S>::infinity();
    S removed = S(0);
#pragma omp simd reduction(+ : removed)
    for (Index j = 0; j < Lk; ++j) {
      const bool masked = mask_row[j] == neg_inf;
      removed += masked ? row[j] : S(0);
      row[j] = masked ? S(0) : row[j];
    }
    total -= removed;
  }
  return total;
}
}  // namespace attention_detail

template <class S>
inline void run_kernel(Tag, op::AttentionForward, const AttentionDims& a, S scale, const S* q, const S* k, const S* v,
                       const S* mask, S* o, S* lse) {
  using namespace attention_detail;
  const Index E = a.embed(), d = a.head_dim, Lq = a.lq, Lk = a.lk, pairs = a.batch * a.heads;
  constexpr S neg_inf = -std::numeric_limits<S>::infinity();
#pragma omp parallel if (pairs > 1)
  {
    AlignedScratch<S> scratch(query_block * Lk);
#pragma omp for schedule(static)
    for (Index p = 0; p < pairs; ++p) {
      const Index b = p / a.heads, h = p % a.heads;
      const S* qh = q + b * Lq * E + h * d;
      const S* kh = k + b * Lk * E + h * d;
      const S* vh = v + b * Lk * E + h * d;
      S* oh = o + b * Lq * E + h * d;
      S* lse_h = lse + p * Lq;
      for (Index i0 = 0; i0 < Lq; i0 += query_block) {
        const Index m = std::min(query_block, Lq - i0);
        S* P = scratch.data;
        ras::kernels::detail::gemm_cpu<S>(false, true, m, Lk, d, scale, qh + i0 * E, E, kh, E, S(0), P, Lk);
        for (Index r = 0; r < m; ++r) {
          S* row = P + r * Lk;
          const S* mr = mask ? mask + (i0 + r) * Lk : nullptr;
          if (mr) {
#pragma omp simd
            for (Index j = 0; j < Lk; ++j) row[j] += mr[j];
          }
          S mx = neg_inf;  // the largest finite-or--inf score (+inf and NaN are skipped), vectorised
          constexpr S pos_inf = std::numeric_limits<S>::infinity();
#if !defined(__clang__)  // (clang 14 cannot vectorise this select-reduction and would warn)
#pragma omp simd reduction(max : mx)
#endif
          for (Index j = 0; j < Lk; ++j) mx = (row[j] > mx && row[j] != pos_inf) ? row[j] : mx;
          if (mx == neg_inf) {  // every score -inf: no distribution (NaN, as PyTorch)
            std::fill(row, row + Lk, std::numeric_limits<S>::quiet_NaN());
            lse_h[i0 + r] = std::numeric_limits<S>::quiet_NaN();
            continue;
          }
          const S total = exp_row(Lk, row, mx, mr);
          const S inv = S(1) / total;
#pragma omp simd
          for (Index j = 0; j < Lk; ++j) row[j] *= inv;
          lse_h[i0 + r] = mx + std::log(total);
        }
        ras::kernels::detail::gemm_cpu<S>(false, false, m, d, Lk, S(1), P, Lk, vh, E, S(0), oh + i0 * E, E);
      }
    }
  }
}

template <class S>
inline void run_kernel(Tag, op::AttentionBackwardAcc, const AttentionDims& a, S scale, const S* q, const S* k,
                       const S* v, const S* mask, const S* o, const S* lse, const S* d_o, S* dq, S* dk, S* dv) {
  using namespace attention_detail;
  const Index E = a.embed(), d = a.head_dim, Lq = a.lq, Lk = a.lk, pairs = a.batch * a.heads;
#pragma omp parallel if (pairs > 1)
  {
    AlignedScratch<S> P_buf(query_block * Lk), dP_buf(query_block * Lk);
    S* const P = P_buf.data;
    S* const dP = dP_buf.data;
#pragma omp for schedule(static)
    for (Index p = 0; p < pairs; ++p) {
      const Index b = p / a.heads, h = p % a.heads, q_off = b * Lq * E + h * d, k_off = b * Lk * E + h * d;
      const S* lse_h = lse + p * Lq;
      for (Index i0 = 0; i0 < Lq; i0 += query_block) {
        const Index m = std::min(query_block, Lq - i0), qi = q_off + i0 * E;
        // P = exp(scale Q K^T + mask - lse): the forward's probabilities, recomputed
        ras::kernels::detail::gemm_cpu<S>(false, true, m, Lk, d, scale, q + qi, E, k + k_off, E, S(0), P, Lk);
        for (Index r = 0; r < m; ++r) {
          S* row = P + r * Lk;
          const S* mr = mask ? mask + (i0 + r) * Lk : nullptr;
          if (mr) {
#pragma omp simd
            for (Index j = 0; j < Lk; ++j) row[j] += mr[j];
          }
          exp_row(Lk, row, lse_h[i0 + r], mr);
        }
        // dV += P^T dO
        if (dv) ras::kernels::detail::gemm_cpu<S>(true, false, Lk, d, m, S(1), P, Lk, d_o + qi, E, S(1), dv + k_off, E);
        if (!dq && !dk) continue;
        // dS = P * (dO V^T - rowsum(dO * O))
        ras::kernels::detail::gemm_cpu<S>(false, true, m, Lk, d, S(1), d_o + qi, E, v + k_off, E, S(0), dP, Lk);
        for (Index r = 0; r < m; ++r) {
          const S* dor = d_o + qi + r * E;
          const S* orow = o + qi + r * E;
          S dot = S(0);
#pragma omp simd reduction(+ : dot)
          for (Index c = 0; c < d; ++c) dot += dor[c] * orow[c];
          S* ds = dP + r * Lk;
          const S* pr = P + r * Lk;
#pragma omp simd
          for (Index j = 0; j < Lk; ++j) ds[j] = pr[j] * (ds[j] - dot);
        }
        // dQ += scale dS K;  dK += scale dS^T Q
        if (dq) ras::kernels::detail::gemm_cpu<S>(false, false, m, d, Lk, scale, dP, Lk, k + k_off, E, S(1), dq + qi, E);
        if (dk) ras::kernels::detail::gemm_cpu<S>(true, false, Lk, d, m, scale, dP, Lk, q + qi, E, S(1), dk + k_off, E);
      }
    }
  }
}

}  // namespace ras::kernels::cpu
