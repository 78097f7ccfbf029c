// ras/kernels/attention.hpp — fused multi-head attention (flash-attention style on the CPU): the
// heads are read in place from (B, L, H*d) tokens (no split/merge copies), the probabilities of a
// block of queries live only in a per-thread scratch row block, and the output is written merged
// as (B, Lq, H*d). Only the row log-sum-exp (B, H, Lq) is kept for the backward, which recomputes
// the probabilities instead of storing the (Lq, Lk) matrix per head. Front-end: dispatches to the
// device backend.
//   forward:  P = softmax(scale * Q_h K_h^T + mask) per head, O_h = P V_h, lse = log sum exp(row)
//   backward: dV_h += P^T dO_h;  dP = dO_h V_h^T;  dS = P * (dP - rowsum(dO_h * O_h));
//             dQ_h += scale * dS K_h;  dK_h += scale * dS^T Q_h
#pragma once

#include "ras/config.hpp"
#include "ras/kernels/backend.hpp"

namespace ras::kernels {

// Shapes and options shared by the two attention kernels.
struct AttentionDims {
  Index batch = 0, heads = 0, lq = 0, lk = 0, head_dim = 0;
  Index embed() const { return heads * head_dim; }
};

namespace detail {
inline void check_attention_dims(const AttentionDims& a) {
  RAS_CHECK(a.batch >= 0 && a.heads >= 1 && a.lq >= 0 && a.lk >= 1 && a.head_dim >= 1,
            "attention: bad sizes batch=", a.batch, " heads=", a.heads, " lq=", a.lq, " lk=", a.lk,
            " head_dim=", a.head_dim);
}
}  // namespace detail

// q: (B, Lq, H*d), k, v: (B, Lk, H*d), mask: (Lq, Lk) additive (may hold -inf; a row must keep one
// finite entry) or nullptr -> o: (B, Lq, H*d), lse: (B, H, Lq) the log-sum-exp of each score row.
template <class S, class D = Cpu>
inline void attention_forward(const AttentionDims& a, S scale, const S* q, const S* k, const S* v, const S* mask,
                              S* o, S* lse) {
  detail::check_attention_dims(a);
  dispatch<op::AttentionForward, D>(a, scale, q, k, v, mask, o, lse);
}

// The backward of attention_forward from its inputs, its output o, lse and the output gradient do:
// ADDS into dq (B, Lq, H*d), dk and dv (B, Lk, H*d); any of them may be nullptr (not needed).
template <class S, class D = Cpu>
inline void attention_backward_acc(const AttentionDims& a, S scale, const S* q, const S* k, const S* v,
                                   const S* mask, const S* o, const S* lse, const S* d_o, S* dq, S* dk, S* dv) {
  detail::check_attention_dims(a);
  dispatch<op::AttentionBackwardAcc, D>(a, scale, q, k, v, mask, o, lse, d_o, dq, dk, dv);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/attention.hpp"
#include "ras/kernels/reference/attention.hpp"
