// ras/kernels/reference/attention.hpp — the reference backend of kernels/attention.hpp: the textbook
// per-row loops (scores, softmax in double, weighted sums), written for reading.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "ras/kernels/attention.hpp"
#include "ras/kernels/reference/common.hpp"

namespace ras::kernels::reference {

namespace attention_ref {
// Element (b, i, h, c) of a (B, L, H*d) token tensor.
inline Index at(const AttentionDims& a, Index L, Index b, Index i, Index h, Index c) {
  return (b * L + i) * a.embed() + h * a.head_dim + c;
}
// p[j] = softmax_j(scale * q_i . k_j + mask[i, j]) for one (b, h, i); returns the log-sum-exp.
template <class S>
inline double attention_row(const AttentionDims& a, S scale, const S* q, const S* k, const S* mask, Index b, Index h,
                            Index i, std::vector<double>& p) {
  p.assign(static_cast<std::size_t>(a.lk), 0.0);
  double m = -std::numeric_limits<double>::infinity();
  for (Index j = 0; j < a.lk; ++j) {
    double s = 0;
    for (Index c = 0; c < a.head_dim; ++c)
      s += double(q[at(a, a.lq, b, i, h, c)]) * double(k[at(a, a.lk, b, j, h, c)]);
    s = double(scale) * s + (mask ? double(mask[i * a.lk + j]) : 0.0);
    p[static_cast<std::size_t>(j)] = s;
    m = std::max(m, s);
  }
  double total = 0;
  for (auto& e : p) total += (e = std::exp(e - m));
  for (auto& e : p) e /= total;
  return m + std::log(total);
}
}  // namespace attention_ref

template <class S>
inline void run_kernel(Tag, op::AttentionForward, const AttentionDims& a, S scale, const S* q, const S* k, const S* v,
                       const S* mask, S* o, S* lse) {
  std::vector<double> p;
  for (Index b = 0; b < a.batch; ++b)
    for (Index h = 0; h < a.heads; ++h)
      for (Index i = 0; i < a.lq; ++i) {
        lse[(b * a.heads + h) * a.lq + i] = static_cast<S>(attention_ref::attention_row(a, scale, q, k, mask, b, h, i, p));
        for (Index c = 0; c < a.head_dim; ++c) {
          double acc = 0;
          for (Index j = 0; j < a.lk; ++j) acc += p[static_cast<std::size_t>(j)] * double(v[attention_ref::at(a, a.lk, b, j, h, c)]);
          o[attention_ref::at(a, a.lq, b, i, h, c)] = static_cast<S>(acc);
        }
      }
}

template <class S>
inline void run_kernel(Tag, op::AttentionBackwardAcc, const AttentionDims& a, S scale, const S* q, const S* k,
                       const S* v, const S* mask, const S* o, const S* /*lse*/, const S* d_o, S* dq, S* dk, S* dv) {
  std::vector<double> p, ds(static_cast<std::size_t>(a.lk));
  for (Index b = 0; b < a.batch; ++b)
    for (Index h = 0; h < a.heads; ++h)
      for (Index i = 0; i < a.lq; ++i) {
        attention_ref::attention_row(a, scale, q, k, mask, b, h, i, p);
        double row_dot = 0;  // sum_c dO[i, c] O[i, c]
        for (Index c = 0; c < a.head_dim; ++c)
          row_dot += double(d_o[attention_ref::at(a, a.lq, b, i, h, c)]) * double(o[attention_ref::at(a, a.lq, b, i, h, c)]);
        for (Index j = 0; j < a.lk; ++j) {
          double dp = 0;  // dP[i, j] = dO[i] . V[j]
          for (Index c = 0; c < a.head_dim; ++c)
            dp += double(d_o[attention_ref::at(a, a.lq, b, i, h, c)]) * double(v[attention_ref::at(a, a.lk, b, j, h, c)]);
          ds[static_cast<std::size_t>(j)] = p[static_cast<std::size_t>(j)] * (dp - row_dot);
        }
        for (Index j = 0; j < a.lk; ++j)
          for (Index c = 0; c < a.head_dim; ++c) {
            const Index qi = attention_ref::at(a, a.lq, b, i, h, c), kj = attention_ref::at(a, a.lk, b, j, h, c);
            const double dsj = ds[static_cast<std::size_t>(j)], pj = p[static_cast<std::size_t>(j)];
            if (dq) dq[qi] += static_cast<S>(double(scale) * dsj * double(k[kj]));
            if (dk) dk[kj] += static_cast<S>(double(scale) * dsj * double(q[qi]));
            if (dv) dv[kj] += static_cast<S>(pj * double(d_o[qi]));
          }
      }
}

}  // namespace ras::kernels::reference
