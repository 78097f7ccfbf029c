// ras/nn/attention.hpp — nn::MultiheadAttention with batch_first (B, L, E) inputs (mirrors
// torch.nn.MultiheadAttention(E, num_heads, batch_first=True) with dropout 0, need_weights=False
// and no key_padding_mask):
// parameters "in_proj_weight" (3E, E) (xavier_uniform_), "in_proj_bias" (3E) (zeros),
// "out_proj.weight" (E, E) (Linear default) and "out_proj.bias" (E) (zeros); an optional additive
// float mask (Lq, Lk) that may hold -inf. The input projections (linear), then the fused attention
// op softmax((Q / sqrt(E/H)) K^T + mask) V per head (autograd/ops_attention.hpp), then out_proj.
#pragma once

#include <cmath>

#include "ras/autograd/ops_attention.hpp"
#include "ras/autograd/ops_elementwise.hpp"
#include "ras/autograd/ops_linalg.hpp"
#include "ras/autograd/ops_reduce.hpp"
#include "ras/autograd/ops_shape.hpp"
#include "ras/nn/linear.hpp"

namespace ras::nn {

template <class S, class D = Cpu>
class MultiheadAttention {
 public:
  autograd::Var<S, 2, D> in_proj_weight;  // (3E, E): rows [0, E) query, [E, 2E) key, [2E, 3E) value
  autograd::Var<S, 1, D> in_proj_bias;    // (3E); undefined when built without bias
  Linear<S, D> out_proj;                  // weight (E, E), bias (E)

  MultiheadAttention() = default;
  MultiheadAttention(Index embed_dim, Index num_heads, Rng& rng, bool bias = true) : num_heads_(num_heads) {
    RAS_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0,
              "MultiheadAttention: expected embed_dim divisible by num_heads but got embed_dim=", embed_dim,
              " num_heads=", num_heads);
    Tensor<S, 2, D> w({3 * embed_dim, embed_dim});
    init::xavier_uniform_(w, rng);
    in_proj_weight = autograd::Var<S, 2, D>::parameter(std::move(w));
    out_proj = Linear<S, D>(embed_dim, embed_dim, rng, bias);
    if (bias) {
      in_proj_bias = autograd::Var<S, 1, D>::parameter(Tensor<S, 1, D>({3 * embed_dim}));
      out_proj.bias.value().fill(S(0));
    }
  }

  Index embed_dim() const { return in_proj_weight.dim(1); }
  Index num_heads() const { return num_heads_; }
  Index head_dim() const { return embed_dim() / num_heads_; }

  // query: (B, Lq, E), key: (B, Lk, E), value: (B, Lk, E), attn_mask: (Lq, Lk) additive or nullptr
  // -> (B, Lq, E)
  autograd::Var<S, 3, D> forward(const autograd::Var<S, 3, D>& query, const autograd::Var<S, 3, D>& key,
                                 const autograd::Var<S, 3, D>& value,
                                 const Tensor<S, 2, D>* attn_mask = nullptr) const {
    check_inputs(query.dim(0), query.dim(1), query.dim(2), key, value, attn_mask, shape_string(query.shape()));
    return attend(project(query, 0), key, value, attn_mask);
  }

  // The same attention for a query shared by every sample of the batch (the decoder's context
  // embedding c_t + position): its projection runs once on (Lq, E) instead of B times and is
  // broadcast over the batch (exact: each sample's projected query is the same product).
  // query: (Lq, E), key: (B, Lk, E), value: (B, Lk, E), attn_mask: (Lq, Lk) or nullptr -> (B, Lq, E)
  autograd::Var<S, 3, D> forward_shared_query(const autograd::Var<S, 2, D>& query, const autograd::Var<S, 3, D>& key,
                                              const autograd::Var<S, 3, D>& value,
                                              const Tensor<S, 2, D>* attn_mask = nullptr) const {
    check_inputs(key.dim(0), query.dim(0), query.dim(1), key, value, attn_mask,
                 "(shared) " + shape_string(query.shape()));
    return attend(autograd::expand_leading(project(query, 0), key.dim(0)), key, value, attn_mask);
  }

 private:
  void check_inputs(Index B, Index Lq, Index Eq, const autograd::Var<S, 3, D>& key, const autograd::Var<S, 3, D>& value,
                    const Tensor<S, 2, D>* attn_mask, const std::string& query_shape) const {
    const Index E = embed_dim(), Lk = key.dim(1);
    RAS_CHECK(Eq == E && key.dim(2) == E && value.dim(2) == E && key.dim(0) == B && value.dim(0) == B &&
                  value.dim(1) == Lk,
              "MultiheadAttention: expected query (B, Lq, ", E, "), key and value (B, Lk, ", E, ") but got ",
              query_shape, ", ", shape_string(key.shape()), ", ", shape_string(value.shape()));
    if (attn_mask)
      RAS_CHECK(attn_mask->dim(0) == Lq && attn_mask->dim(1) == Lk, "MultiheadAttention: expected attn_mask (",
                Lq, ", ", Lk, ") but got ", shape_string(attn_mask->shape()));
  }

  // Input projection `part` (0 query, 1 key, 2 value) of x (..., E) -> (..., E): the heads side by
  // side in the columns.
  template <int R>
  autograd::Var<S, R, D> project(const autograd::Var<S, R, D>& x, Index part) const {
    namespace ag = autograd;
    const Index E = embed_dim();
    auto w = ag::slice(in_proj_weight, 0, part * E, (part + 1) * E);
    if (in_proj_bias.defined()) {
      auto b = ag::slice(in_proj_bias, 0, part * E, (part + 1) * E);
      return ag::linear(x, w, &b);
    }
    return ag::linear(x, w);
  }

  // q: the projected query (B, Lq, E); key, value: (B, Lk, E) -> out_proj(attention) (B, Lq, E).
  // The fused attention (autograd/ops_attention.hpp): no head split/merge copies, no stored (Lq, Lk)
  // probabilities.
  autograd::Var<S, 3, D> attend(const autograd::Var<S, 3, D>& q_proj, const autograd::Var<S, 3, D>& key,
                                const autograd::Var<S, 3, D>& value, const Tensor<S, 2, D>* attn_mask) const {
    namespace ag = autograd;
    [[maybe_unused]] const Index E = embed_dim(), H = num_heads_, B = q_proj.dim(0), Lq = q_proj.dim(1);
    const S scale = static_cast<S>(1.0 / std::sqrt(static_cast<double>(E / H)));
    if constexpr (!std::is_same_v<D, Cuda>) {
      auto ctx = ag::multi_head_attention(q_proj, project(key, 1), project(value, 2), H, attn_mask, scale);
      return out_proj(ctx);
    } else {
      // The CUDA backend has no fused attention kernel yet: heads split, batched products, softmax.
      auto heads = [&](const ag::Var<S, 3, D>& y) {  // (B, L, E) -> (B * H, L, E / H)
        const Index L = y.dim(1);
        return ag::reshape<3>(ag::permute(ag::reshape<4>(y, {B, L, H, E / H}), {0, 2, 1, 3}), {B * H, L, E / H});
      };
      auto q = ag::mul_scalar(heads(q_proj), scale);
      auto k = heads(project(key, 1));
      auto v = heads(project(value, 2));
      auto attn = ag::softmax(ag::bmm(q, ag::transpose(k, 1, 2)), attn_mask);  // (B * H, Lq, Lk)
      auto ctx = ag::bmm(attn, v);                                             // (B * H, Lq, E / H)
      auto merged = ag::permute(ag::reshape<4>(ctx, {B, H, Lq, E / H}), {0, 2, 1, 3});
      return out_proj(ag::reshape<3>(merged, {B, Lq, E}));
    }
  }
 public:
  autograd::Var<S, 3, D> operator()(const autograd::Var<S, 3, D>& query, const autograd::Var<S, 3, D>& key,
                                    const autograd::Var<S, 3, D>& value,
                                    const Tensor<S, 2, D>* attn_mask = nullptr) const {
    return forward(query, key, value, attn_mask);
  }

  template <class V>
  void visit(V& v) {
    v.param("in_proj_weight", in_proj_weight);
    if (in_proj_bias.defined()) v.param("in_proj_bias", in_proj_bias);
    v.module("out_proj", out_proj);
  }

 private:
  Index num_heads_ = 1;
};

}  // namespace ras::nn
