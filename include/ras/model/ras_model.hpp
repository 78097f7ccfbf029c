// ras/model/ras_model.hpp — the RAS reconstruction network (paper §3, official
// models/reconstructions/ras.py): feature jitter (Eq. 5, training only) -> input_proj ->
// learned row/column positional embedding (added to queries and keys only) -> post-LN encoder ->
// RASFormer decoder steps -> output_proj of the last step = reconstruction of the input features.
// Parameter names are the official checkpoint's under the prefix "reconstruction.".
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "ras/autograd/ops_elementwise.hpp"
#include "ras/autograd/ops_shape.hpp"
#include "ras/nn/embedding.hpp"
#include "ras/nn/init.hpp"
#include "ras/model/rasformer.hpp"
#include "ras/kernels/layout.hpp"
#include "ras/kernels/model.hpp"
#include "ras/random.hpp"

namespace ras::nn {

// The feature jitter of one forward pass: whether it is applied (the jitter_prob draw) and one seed
// per sample of the batch (a view; OwnedFeatureJitter holds the seeds).
struct FeatureJitter {
  bool apply = false;
  std::span<const std::uint64_t> seeds;
  // The jitter of samples [begin, begin + n) of this batch.
  FeatureJitter samples(Index begin, Index n) const {
    if (!apply) return *this;
    return FeatureJitter{true, seeds.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(n))};
  }
};
struct OwnedFeatureJitter {
  bool apply = false;
  std::vector<std::uint64_t> seeds;
  FeatureJitter view() const { return FeatureJitter{apply, seeds}; }
};

// pos[h*W + w] = concat(col_embed[w], row_embed[h]) (x first, then y), both U[0, 1) initialised.
template <class S, class D = Cpu>
struct PositionEmbedding {
  Embedding<S, D> row_embed, col_embed;
  Index h = 0, w = 0;

  PositionEmbedding() = default;
  PositionEmbedding(Index feature_h, Index feature_w, Index num_feats, Rng& rng)
      : row_embed(feature_h, num_feats, rng), col_embed(feature_w, num_feats, rng), h(feature_h), w(feature_w) {
    init::uniform_(row_embed.weight.value(), rng, 0.0, 1.0);
    init::uniform_(col_embed.weight.value(), rng, 0.0, 1.0);
  }

  template <class V>
  void visit(V& v) {
    v.module("row_embed", row_embed);
    v.module("col_embed", col_embed);
  }

  // -> (H*W, 2F)
  autograd::Var<S, 2, D> operator()() const {
    std::vector<Index> rows, cols;
    rows.reserve(static_cast<std::size_t>(h * w));
    cols.reserve(static_cast<std::size_t>(h * w));
    for (Index i = 0; i < h; ++i)
      for (Index j = 0; j < w; ++j) {
        rows.push_back(i);
        cols.push_back(j);
      }
    return autograd::concat(
        std::vector<autograd::Var<S, 2, D>>{autograd::embedding(col_embed.weight, cols),
                                            autograd::embedding(row_embed.weight, rows)},
        1);
  }
};

template <class S, class D = Cpu>
struct RasEncoder {
  std::vector<EncoderLayer<S, D>> layers;
  template <class V>
  void visit(V& v) {
    v.modules("layers", layers);
  }
};

template <class S, class D = Cpu>
struct RasDecoder {
  std::vector<RasFormerDecoderLayer<S, D>> forward_layers;
  std::vector<Embedding<S, D>> embed_layers;  // context embeddings c_t, (L, E) each
  template <class V>
  void visit(V& v) {
    v.modules("forward_layers", forward_layers);
    v.modules("embed_layers", embed_layers);
  }
};

template <class S, class D = Cpu>
struct RasTransformer {
  RasEncoder<S, D> encoder;
  RasDecoder<S, D> decoder;
  template <class V>
  void visit(V& v) {
    v.module("encoder", encoder);
    v.module("decoder", decoder);
  }
};

// The reconstruction network ("reconstruction." in official checkpoints).
template <class S, class D = Cpu>
class RasReconstruction {
 public:
  PositionEmbedding<S, D> pos_embed;
  RasTransformer<S, D> transformer;
  Linear<S, D> input_proj;

  RasReconstruction() = default;
  // Initialised as the reference: xavier-uniform Linear weights with zero bias (in_proj keeps
  // PyTorch's MHA default, xavier-uniform with zero bias), context embeddings N(0, 1) and identical
  // across steps (deep copies), positional embeddings U[0, 1).
  RasReconstruction(const RasConfig& cfg, std::uint64_t seed) : cfg_(cfg) {
    cfg_.validate();
    Rng rng(seed);
    pos_embed = PositionEmbedding<S, D>(cfg.feature_h, cfg.feature_w, cfg.hidden / 2, rng);
    for (Index i = 0; i < cfg.encoder_layers; ++i) transformer.encoder.layers.emplace_back(cfg, rng);
    Embedding<S, D> context(cfg.tokens(), cfg.hidden, rng);
    init::normal_(context.weight.value(), rng, 0.0, 1.0);
    for (Index i = 0; i < cfg.decoder_layers; ++i) {
      transformer.decoder.forward_layers.emplace_back(cfg, rng);
      Embedding<S, D> copy(cfg.tokens(), cfg.hidden, rng);
      copy.weight.value() = context.weight.value().clone();
      transformer.decoder.embed_layers.push_back(std::move(copy));
    }
    input_proj = Linear<S, D>(cfg.channels, cfg.hidden, rng);
    reset_linears(rng);
    share_initial_in_proj();
    if (cfg.neighbor_mask)
      mask_ = neighbor_mask<S, D>(cfg.feature_h, cfg.feature_w, cfg.neighbor_h, cfg.neighbor_w);
  }

  template <class V>
  void visit(V& v) {
    v.module("pos_embed", pos_embed);
    v.module("transformer", transformer);
    v.module("input_proj", input_proj);
  }
  void set_training(bool on) { training_ = on; }
  bool training() const { return training_; }
  const RasConfig& config() const { return cfg_; }
  const Tensor<S, 2, D>* encoder_mask() const { return cfg_.neighbor_mask ? &mask_ : nullptr; }
  // Whether a forward pass adds the feature jitter (training mode and a positive jitter scale).
  bool jitter_active() const { return training_ && cfg_.jitter_scale > 0; }

  // The jitter of one forward pass over `batch` samples, drawn from `rng`: first whether it applies
  // (one uniform draw, only when jitter_prob < 1), then one seed per sample. Nothing is drawn when
  // the jitter is not active.
  OwnedFeatureJitter draw_jitter(Rng& rng, Index batch) const {
    OwnedFeatureJitter j;
    if (!jitter_active()) return j;
    rng.clear_cache();
    j.apply = !(cfg_.jitter_prob < 1.0 && rng.uniform() > cfg_.jitter_prob);
    j.seeds.resize(static_cast<std::size_t>(batch));
    for (auto& s : j.seeds) s = rng.next_u64();
    return j;
  }

  // features: (B, C_org, H, W) -> reconstruction (B, C_org, H, W). In training mode the jitter of
  // Eq. 5 is drawn from `rng` (required then: draw_jitter) and added to the input only.
  autograd::Var<S, 4, D> operator()(const Tensor<S, 4, D>& features, Rng* rng = nullptr) const {
    if (!jitter_active()) return (*this)(features, FeatureJitter{});
    RAS_CHECK(rng != nullptr, "RAS: training mode needs an Rng for the feature jitter");
    const auto jitter = draw_jitter(*rng, features.dim(0));
    return (*this)(features, jitter.view());
  }

  // The same with the jitter given as per-sample seeds (FeatureJitter): sample b's noise depends
  // only on jitter.seeds[b], so a batch split into micro-batches gets exactly the noise it would
  // get whole. jitter.seeds must hold one seed per sample when jitter.apply is set.
  autograd::Var<S, 4, D> operator()(const Tensor<S, 4, D>& features, const FeatureJitter& jitter) const {
    const Index B = features.dim(0), C = features.dim(1), H = features.dim(2), W = features.dim(3);
    RAS_CHECK(C == cfg_.channels && H == cfg_.feature_h && W == cfg_.feature_w,
              "RAS: expected features of shape (B, ", cfg_.channels, ", ", cfg_.feature_h, ", ",
              cfg_.feature_w, ") but got ", shape_string(features.shape()));
    const Index L = H * W;
    // (B, C, H, W) -> tokens (B, L, C)
    auto tokens = Tensor<S, 3, D>::uninitialized({B, L, C});
    kernels::permute_gather<S, 3, D>(Shape<3>{B, C, L}, std::array<int, 3>{0, 2, 1}, features.data(), tokens.data());
    if (jitter_active() && jitter.apply) {
      RAS_CHECK(static_cast<Index>(jitter.seeds.size()) == B, "RAS: the feature jitter needs one seed per sample (",
                B, ") but got ", jitter.seeds.size());
      add_jitter(tokens, jitter.seeds);
    }
    autograd::Var<S, 3, D> x = input_proj(autograd::Var<S, 3, D>(std::move(tokens)));
    const auto pos_shared = pos_embed();  // (L, E)
    auto pos = autograd::expand_leading(pos_shared, B);
    for (const auto& layer : transformer.encoder.layers) x = layer(x, pos, encoder_mask());
    auto latent = x;
    const auto& steps = transformer.decoder.forward_layers;
    // c_t (L, E) is the same for every sample: the steps compute its products once per call.
    for (std::size_t t = 0; t < steps.size(); ++t)
      latent = steps[t].step(transformer.decoder.embed_layers[t].weight, latent, pos, pos_shared);
    // Only the last step's output is used (o_1..o_{T-1} are discarded by the reference too).
    auto out = steps.back().output(latent);                          // (B, L, C)
    auto chw = autograd::permute(out, std::array<int, 3>{0, 2, 1});  // (B, C, L)
    return autograd::reshape<4>(chw, Shape<4>{B, C, H, W});
  }

 private:
  // f <- f + eps * (||f||_2 / C) * alpha per token, eps ~ N(0, 1). Sample b's draws come from
  // Rng(seeds[b]) in (token, channel) order, made on the host and applied on the device.
  void add_jitter(Tensor<S, 3, D>& tokens, std::span<const std::uint64_t> seeds) const {
    const Index B = tokens.dim(0), per_sample = tokens.dim(1) * tokens.dim(2), C = tokens.dim(2);
    std::vector<double> noise(static_cast<std::size_t>(B * per_sample));
    for (Index b = 0; b < B; ++b) {
      Rng r(seeds[static_cast<std::size_t>(b)]);
      double* e = noise.data() + b * per_sample;
      for (Index i = 0; i < per_sample; ++i) e[i] = r.normal();
    }
    if constexpr (is_host_device<D>) {  // the draws are already in memory the kernel can read
      kernels::jitter_add<S, D>(B * tokens.dim(1), C, noise.data(), cfg_.jitter_scale, tokens.data());
    } else {
      auto noise_d = Tensor<double, 2, D>::from({B * tokens.dim(1), C}, noise);
      kernels::jitter_add<S, D>(B * tokens.dim(1), C, noise_d.data(), cfg_.jitter_scale, tokens.data());
    }
  }

  void reset_linears(Rng& rng) {
    auto reset = [&](Linear<S, D>& l) {
      init::xavier_uniform_(l.weight.value(), rng);
      if (l.has_bias()) init::zeros_(l.bias.value());
    };
    reset(input_proj);
    for (auto& e : transformer.encoder.layers) {
      reset(e.attention.out_proj);
      reset(e.linear1);
      reset(e.linear2);
    }
    for (auto& d : transformer.decoder.forward_layers) {
      reset(d.output_transBlock.attention.out_proj);
      reset(d.output_transBlock.linear1);
      reset(d.output_transBlock.linear2);
      reset(d.adaptive_gate);
      reset(d.update_proj);
      reset(d.output_proj);
    }
  }

  // The reference builds one layer and deep-copies it, and its initialiser only touches nn.Linear:
  // every encoder layer (and every decoder block) starts with the same MHA in_proj weights.
  void share_initial_in_proj() {
    auto copy_attn = [](const MultiheadAttention<S, D>& from, MultiheadAttention<S, D>& to) {
      to.in_proj_weight.value() = from.in_proj_weight.value().clone();
      to.in_proj_bias.value() = from.in_proj_bias.value().clone();
    };
    auto& enc = transformer.encoder.layers;
    for (std::size_t i = 1; i < enc.size(); ++i) copy_attn(enc[0].attention, enc[i].attention);
    auto& dec = transformer.decoder.forward_layers;
    for (std::size_t i = 1; i < dec.size(); ++i)
      copy_attn(dec[0].output_transBlock.attention, dec[i].output_transBlock.attention);
  }

  RasConfig cfg_;
  Tensor<S, 2, D> mask_;
  bool training_ = true;
};

}  // namespace ras::nn
