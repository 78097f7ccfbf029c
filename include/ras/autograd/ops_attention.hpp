// ras/autograd/ops_attention.hpp — fused multi-head scaled-dot-product attention on merged-head
// tokens (kernels/attention.hpp): the core of torch.nn.MultiheadAttention between the input and
// output projections, without the head split/merge copies and without storing the (Lq, Lk)
// probabilities: the backward recomputes them from the saved row log-sum-exp.
#pragma once

#include <memory>
#include <type_traits>

#include "ras/autograd/var.hpp"
#include "ras/kernels/attention.hpp"

namespace ras::autograd {

// q: (B, Lq, E), k, v: (B, Lk, E) with E = heads * d; mask: (Lq, Lk) additive (may hold -inf, every
// row must keep a finite entry) or nullptr; it must outlive the backward.
// -> (B, Lq, E): for each head h (columns [h d, (h + 1) d)), softmax(scale q_h k_h^T + mask) v_h.
template <class S, class D>
inline Var<S, 3, D> multi_head_attention(const Var<S, 3, D>& q, const Var<S, 3, D>& k, const Var<S, 3, D>& v,
                                         Index heads, const std::type_identity_t<Tensor<S, 2, D>>* mask, S scale) {
  const Index B = q.dim(0), Lq = q.dim(1), E = q.dim(2), Lk = k.dim(1);
  RAS_CHECK(heads >= 1 && E % heads == 0, "multi_head_attention: embedding ", E, " not divisible by ", heads,
            " heads");
  RAS_CHECK(k.dim(0) == B && v.dim(0) == B && k.dim(2) == E && v.dim(2) == E && v.dim(1) == Lk && Lk >= 1,
            "multi_head_attention: expected q (B, Lq, E), k and v (B, Lk, E) but got q ", shape_string(q.shape()),
            ", k ", shape_string(k.shape()), ", v ", shape_string(v.shape()));
  if (mask)
    RAS_CHECK(mask->dim(0) == Lq && mask->dim(1) == Lk, "multi_head_attention: expected mask (", Lq, ", ", Lk,
              ") but got ", shape_string(mask->shape()));
  const kernels::AttentionDims dims{B, heads, Lq, Lk, E / heads};
  auto y = Tensor<S, 3, D>::uninitialized({B, Lq, E});
  Tensor<S, 3, D> lse = Tensor<S, 3, D>::uninitialized({B, heads, Lq});
  const S* m = mask ? mask->data() : nullptr;
  kernels::attention_forward<S, D>(dims, scale, q.value().data(), k.value().data(), v.value().data(), m, y.data(),
                                   lse.data());
  auto out = make_output(std::move(y), q, k, v);
  if (!out.requires_grad()) return out;
  std::weak_ptr<typename Var<S, 3, D>::Node> wy = out.node();
  auto saved_lse = std::make_shared<Tensor<S, 3, D>>(std::move(lse));
  // dV += P^T dO;  dS = P * (dO V^T - rowsum(dO * O));  dQ += scale dS K;  dK += scale dS^T Q  (per head)
  record(out, [q, k, v, wy, saved_lse, dims, m, scale](const Tensor<S, 3, D>& dy) {
    auto ynode = wy.lock();
    kernels::attention_backward_acc<S, D>(dims, scale, q.value().data(), k.value().data(), v.value().data(), m,
                                          ynode->value.data(), saved_lse->data(), dy.data(),
                                          q.requires_grad() ? q.grad().data() : nullptr,
                                          k.requires_grad() ? k.grad().data() : nullptr,
                                          v.requires_grad() ? v.grad().data() : nullptr);
  });
  return out;
}

}  // namespace ras::autograd
