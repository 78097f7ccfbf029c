// ras/model/rasformer.hpp — the transformer of RAS: post-LN encoder layers with (optionally)
// neighbour-masked self-attention, the cross-attention TransformerBlock and the RASFormer decoder
// layer (adaptive gate, transformer, update projection, output norm and projection).
// Mirrors models/reconstructions/ras.py of the official code (TransformerEncoderLayer,
// TransformerBlock, RASformerDecoderLayer) with batch-first tokens (B, L, E); parameter names are
// the checkpoint's. Dropout is 0 in the reference and is omitted.
#pragma once

#include <limits>
#include <vector>

#include "ras/autograd/ops_elementwise.hpp"
#include "ras/autograd/ops_shape.hpp"
#include "ras/nn/attention.hpp"
#include "ras/nn/layernorm.hpp"
#include "ras/nn/linear.hpp"
#include "ras/model/ras_config.hpp"

namespace ras::nn {

// Additive (L, L) mask, L = h*w: -inf on the neighbour_h x neighbour_w window around each query
// (clipped at the border, the query itself included), 0 elsewhere (ras.py generate_mask).
template <class S, class D = Cpu>
inline Tensor<S, 2, D> neighbor_mask(Index h, Index w, Index neighbor_h, Index neighbor_w) {
  const Index L = h * w;
  std::vector<S> mask(static_cast<std::size_t>(L * L), S(0));  // built on the host, then copied
  const S neg_inf = -std::numeric_limits<S>::infinity();
  for (Index h1 = 0; h1 < h; ++h1)
    for (Index w1 = 0; w1 < w; ++w1) {
      const Index h_lo = std::max<Index>(h1 - neighbor_h / 2, 0), h_hi = std::min(h1 + neighbor_h / 2 + 1, h);
      const Index w_lo = std::max<Index>(w1 - neighbor_w / 2, 0), w_hi = std::min(w1 + neighbor_w / 2 + 1, w);
      for (Index h2 = h_lo; h2 < h_hi; ++h2)
        for (Index w2 = w_lo; w2 < w_hi; ++w2) mask[static_cast<std::size_t>((h1 * w + w1) * L + h2 * w + w2)] = neg_inf;
    }
  return Tensor<S, 2, D>::from({L, L}, mask);
}

// Post-LN attention + FFN block, the shape shared by the encoder layer and the decoder's
// TransformerBlock (ras.py TransformerEncoderLayer / TransformerBlock):
//   x = LN1(query + MHA(query + pos, memory + pos, memory, mask));  out = LN2(x + W2 relu(W1 x)).
// The encoder calls it with query == memory (self-attention); the decoder with the context
// embedding as query and the gated latent as memory. Only the attention's name differs
// ("self_attn" / "attn").
template <class S, class D = Cpu>
struct PostLnAttentionBlock {
  MultiheadAttention<S, D> attention;
  Linear<S, D> linear1, linear2;
  LayerNorm<S, D> norm1, norm2;
  const char* attention_name = "attn";

  PostLnAttentionBlock() = default;
  PostLnAttentionBlock(const RasConfig& cfg, Rng& rng, const char* attn_name)
      : attention(cfg.hidden, cfg.heads, rng),
        linear1(cfg.hidden, cfg.ffn, rng),
        linear2(cfg.ffn, cfg.hidden, rng),
        norm1(cfg.hidden),
        norm2(cfg.hidden),
        attention_name(attn_name) {}

  template <class V>
  void visit(V& v) {
    v.module(attention_name, attention);
    v.module("linear1", linear1);
    v.module("linear2", linear2);
    v.module("norm1", norm1);
    v.module("norm2", norm2);
  }

  // query, memory, pos: (B, L, E); mask: (L, L) additive or nullptr -> (B, L, E)
  autograd::Var<S, 3, D> operator()(const autograd::Var<S, 3, D>& query, const autograd::Var<S, 3, D>& memory,
                                    const autograd::Var<S, 3, D>& pos, const Tensor<S, 2, D>* mask) const {
    auto q = autograd::add(query, pos);
    auto k = query.node() == memory.node() ? q : autograd::add(memory, pos);
    auto x = norm1(autograd::add(query, attention(q, k, memory, mask)));
    return feed_forward(x);
  }

  // The decoder's form: a query shared by every sample (the context embedding c_t), so the query's
  // input projection runs once per call, not once per sample (MultiheadAttention::forward_shared_query).
  // query, pos_shared: (L, E); memory, pos: (B, L, E) -> (B, L, E)
  autograd::Var<S, 3, D> shared_query(const autograd::Var<S, 2, D>& query, const autograd::Var<S, 2, D>& pos_shared,
                                      const autograd::Var<S, 3, D>& memory, const autograd::Var<S, 3, D>& pos) const {
    auto q = autograd::add(query, pos_shared);
    auto k = autograd::add(memory, pos);
    auto attended = attention.forward_shared_query(q, k, memory, nullptr);
    auto x = norm1(autograd::add(autograd::expand_leading(query, memory.dim(0)), attended));
    return feed_forward(x);
  }

 private:
  // x: (B, L, E) -> LN2(x + W2 relu(W1 x))
  autograd::Var<S, 3, D> feed_forward(const autograd::Var<S, 3, D>& x) const {
    auto ff = linear2(autograd::relu(linear1(x)));
    return norm2(autograd::add(x, ff));
  }
};

// Encoder layer: self-attention ("self_attn") masked by the neighbour mask.
template <class S, class D = Cpu>
struct EncoderLayer : PostLnAttentionBlock<S, D> {
  EncoderLayer() = default;
  EncoderLayer(const RasConfig& cfg, Rng& rng) : PostLnAttentionBlock<S, D>(cfg, rng, "self_attn") {}
  // x, pos: (B, L, E) -> (B, L, E)
  autograd::Var<S, 3, D> operator()(const autograd::Var<S, 3, D>& x, const autograd::Var<S, 3, D>& pos,
                                    const Tensor<S, 2, D>* mask) const {
    return PostLnAttentionBlock<S, D>::operator()(x, x, pos, mask);
  }
};

// The decoder's cross-attention block ("attn"), no mask.
template <class S, class D = Cpu>
struct TransformerBlock : PostLnAttentionBlock<S, D> {
  TransformerBlock() = default;
  TransformerBlock(const RasConfig& cfg, Rng& rng) : PostLnAttentionBlock<S, D>(cfg, rng, "attn") {}
  // query (context c_t), pos_shared: (L, E); memory (gated latent), pos: (B, L, E) -> (B, L, E)
  autograd::Var<S, 3, D> operator()(const autograd::Var<S, 2, D>& query, const autograd::Var<S, 2, D>& pos_shared,
                                    const autograd::Var<S, 3, D>& memory, const autograd::Var<S, 3, D>& pos) const {
    return PostLnAttentionBlock<S, D>::shared_query(query, pos_shared, memory, pos);
  }
};

// One decoding step t of Eq. 6-11 (official RASformerDecoderLayer):
//   a = sigmoid(W_A [c; l]);  l_A = a * l;  l_tran = TransformerBlock(c, l_A);
//   l* = (update_proj(l) + l_tran) / 2;  l_next = LN(l*) (reference) or l* (paper);  o = W_o l_next.
template <class S, class D = Cpu>
struct RasFormerDecoderLayer {
  TransformerBlock<S, D> output_transBlock;
  Linear<S, D> adaptive_gate;  // (E, 2E), no bias
  Linear<S, D> update_proj;    // (E, E)
  Linear<S, D> output_proj;    // (C_org, E)
  LayerNorm<S, D> output_norm;
  RasVariant variant = RasVariant::reference;
  RasBlock block = RasBlock::gate_and_transformer;

  RasFormerDecoderLayer() = default;
  RasFormerDecoderLayer(const RasConfig& cfg, Rng& rng)
      : output_transBlock(cfg, rng),
        adaptive_gate(2 * cfg.hidden, cfg.hidden, rng, false),
        update_proj(cfg.hidden, cfg.hidden, rng),
        output_proj(cfg.hidden, cfg.channels, rng),
        output_norm(cfg.hidden),
        variant(cfg.variant),
        block(cfg.block) {}

  template <class V>
  void visit(V& v) {
    if (block != RasBlock::gate_only) v.module("output_transBlock", output_transBlock);
    if (block != RasBlock::transformer_only) v.module("adaptive_gate", adaptive_gate);
    v.module("update_proj", update_proj);
    v.module("output_proj", output_proj);
    if (variant == RasVariant::reference) v.module("output_norm", output_norm);
  }

  // c: (L, E) context embedding (the same for every sample), latent: (B, L, E), pos: (B, L, E) and
  // pos_shared (L, E) (pos is pos_shared expanded over the batch) -> next latent (B, L, E).
  // Every product with c runs once per call, not once per sample: the gate W_A [c; l] is computed as
  // W_A[:, :E] c + W_A[:, E:] l (the first term broadcast over the batch), the transformer block's
  // query projection likewise (TransformerBlock). Mathematically the reference's computation; the
  // rounding differs from one GEMM over the concatenation.
  autograd::Var<S, 3, D> step(const autograd::Var<S, 2, D>& c, const autograd::Var<S, 3, D>& latent,
                              const autograd::Var<S, 3, D>& pos, const autograd::Var<S, 2, D>& pos_shared) const {
    const Index B = latent.dim(0), E = latent.dim(2);
    autograd::Var<S, 3, D> gated = latent;
    if (block != RasBlock::transformer_only) {
      const auto& w = adaptive_gate.weight;  // (E, 2E): columns [0, E) act on c, [E, 2E) on l
      auto from_c = autograd::expand_leading(autograd::linear(c, autograd::slice(w, 1, 0, E)), B);
      auto from_l = autograd::linear(latent, autograd::slice(w, 1, E, 2 * E));
      auto a = autograd::sigmoid(autograd::add(from_c, from_l));
      gated = autograd::mul(a, latent);
    }
    auto l_tran = block == RasBlock::gate_only ? gated : output_transBlock(c, pos_shared, gated, pos);
    auto l_star = autograd::mul_scalar(autograd::add(update_proj(latent), l_tran), S(0.5));
    return variant == RasVariant::reference ? output_norm(l_star) : l_star;
  }

  // latent: (B, L, E) -> o: (B, L, C_org)
  autograd::Var<S, 3, D> output(const autograd::Var<S, 3, D>& latent) const { return output_proj(latent); }
};

}  // namespace ras::nn
