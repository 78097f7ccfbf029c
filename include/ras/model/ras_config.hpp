// ras/model/ras_config.hpp — hyper-parameters of the RAS reconstruction network, with the values the
// official training script really uses (../shared/notes/ras-reference.md §1, §5): d_model 256, 8 heads,
// FFN 1024, 2 encoder + 4 decoder layers, 7x7 neighbour mask in the encoder, jitter alpha 25.
#pragma once

#include <map>
#include <string>

#include <cmath>
#include <cstdio>

#include "ras/config.hpp"
#include "ras/io/metadata.hpp"

namespace ras::nn {

// Which equations the decoder follows.
enum class RasVariant {
  reference,  // official code: l_{t+1} = LayerNorm(l*), o_t = W_o LayerNorm(l*)
  paper,      // paper Eq. 10-11: l_{t+1} = l*, o_t = W_o l* (no output_norm parameters)
};

// Paper Table 4 ablations of the RASFormer block.
enum class RasBlock {
  gate_and_transformer,  // the full block
  gate_only,             // l_tran = l_A (no transformer)
  transformer_only,      // a = 1, so l_A = l (no adaptive gate parameters)
};

struct RasConfig {
  Index channels = 272;        // C_org: 272 for EfficientNet-B4 levels 1-4, 168 for MobileNetV2
  Index hidden = 256;          // C_rec (d_model)
  Index heads = 8;
  Index ffn = 1024;
  Index encoder_layers = 2;    // T_e
  Index decoder_layers = 4;    // T_d
  Index feature_h = 14, feature_w = 14;
  double jitter_scale = 25.0;  // alpha of Eq. 5
  double jitter_prob = 1.0;
  bool neighbor_mask = true;   // 7x7 neighbourhood masked out of the encoder's self-attention
  Index neighbor_h = 7, neighbor_w = 7;
  RasVariant variant = RasVariant::reference;
  RasBlock block = RasBlock::gate_and_transformer;

  Index tokens() const { return feature_h * feature_w; }

  void validate() const {
    RAS_CHECK(channels > 0 && hidden > 0 && ffn > 0 && channels <= 65536 && hidden <= 16384 && ffn <= 65536,
              "RasConfig: expected channels in [1, 65536], hidden in [1, 16384] and ffn in [1, 65536] but got ",
              channels, ", ", hidden, ", ", ffn);
    RAS_CHECK(heads > 0 && hidden % heads == 0, "RasConfig: hidden (", hidden,
              ") must be divisible by heads (", heads, ")");
    RAS_CHECK(hidden % 2 == 0, "RasConfig: hidden must be even (row + column embeddings) but got ", hidden);
    RAS_CHECK(encoder_layers >= 0 && decoder_layers >= 1 && encoder_layers <= 64 && decoder_layers <= 64,
              "RasConfig: expected encoder_layers in [0, 64] and decoder_layers in [1, 64] but got ", encoder_layers,
              " and ", decoder_layers);
    RAS_CHECK(feature_h > 0 && feature_w > 0 && feature_h <= 256 && feature_w <= 256,
              "RasConfig: expected a feature size in [1, 256] per side but got ", feature_h, "x", feature_w);
    RAS_CHECK(std::isfinite(jitter_scale) && std::isfinite(jitter_prob) && jitter_scale >= 0 && jitter_prob >= 0 &&
                  jitter_prob <= 1,
              "RasConfig: jitter scale must be finite and >= 0 and prob in [0, 1] but got ", jitter_scale, " and ",
              jitter_prob);
    RAS_CHECK(!neighbor_mask || (neighbor_h > 0 && neighbor_w > 0 && neighbor_h <= 1024 && neighbor_w <= 1024),
              "RasConfig: expected a neighbour size in [1, 1024] per side but got ", neighbor_h, "x", neighbor_w);
    // A window that covers the whole grid for the central token leaves it nothing to attend to (NaN).
    RAS_CHECK(!neighbor_mask || neighbor_h / 2 < feature_h / 2 || neighbor_w / 2 < feature_w / 2,
              "RasConfig: a ", neighbor_h, "x", neighbor_w, " neighbour mask covers the whole ", feature_h, "x",
              feature_w, " grid for the central token; expected at most ", 2 * (feature_h / 2) - 1, " per side");
  }
};

inline const char* to_string(RasVariant v);
inline const char* to_string(RasBlock b);
inline RasVariant parse_variant(const std::string& s);
inline RasBlock parse_block(const std::string& s);

// The configuration as "ras.<field>" -> value strings (stored in checkpoint metadata).
inline std::map<std::string, std::string> to_metadata(const RasConfig& c) {
  auto i = [](Index v) { return std::to_string(v); };
  char jitter[64], prob[64];
  std::snprintf(jitter, sizeof jitter, "%.17g", c.jitter_scale);
  std::snprintf(prob, sizeof prob, "%.17g", c.jitter_prob);
  return {{"ras.channels", i(c.channels)},        {"ras.hidden", i(c.hidden)},
          {"ras.heads", i(c.heads)},              {"ras.ffn", i(c.ffn)},
          {"ras.encoder_layers", i(c.encoder_layers)}, {"ras.decoder_layers", i(c.decoder_layers)},
          {"ras.feature_h", i(c.feature_h)},      {"ras.feature_w", i(c.feature_w)},
          {"ras.jitter_scale", jitter},           {"ras.jitter_prob", prob},
          {"ras.neighbor_mask", c.neighbor_mask ? "1" : "0"},
          {"ras.neighbor_h", i(c.neighbor_h)},    {"ras.neighbor_w", i(c.neighbor_w)},
          {"ras.variant", to_string(c.variant)},  {"ras.block", to_string(c.block)}};
}

// Inverse of to_metadata; every field must be present and well formed. `where` ("model '<path>'")
// starts the error messages.
inline RasConfig config_from_metadata(const std::map<std::string, std::string>& m,
                                      const std::string& where = "RAS checkpoint") {
  auto get = [&](const std::string& k) -> const std::string& { return io::meta_string(m, k, where); };
  auto integer = [&](const std::string& k) { return static_cast<Index>(io::meta_int(m, k, 0, Index(1) << 40, where)); };
  auto real = [&](const std::string& k) { return io::meta_real(m, k, 0, 1e9, where); };
  RasConfig c;
  c.channels = integer("ras.channels");
  c.hidden = integer("ras.hidden");
  c.heads = integer("ras.heads");
  c.ffn = integer("ras.ffn");
  c.encoder_layers = integer("ras.encoder_layers");
  c.decoder_layers = integer("ras.decoder_layers");
  c.feature_h = integer("ras.feature_h");
  c.feature_w = integer("ras.feature_w");
  c.jitter_scale = real("ras.jitter_scale");
  c.jitter_prob = real("ras.jitter_prob");
  c.neighbor_mask = io::meta_int(m, "ras.neighbor_mask", 0, 1, where) != 0;
  c.neighbor_h = integer("ras.neighbor_h");
  c.neighbor_w = integer("ras.neighbor_w");
  c.variant = parse_variant(get("ras.variant"));
  c.block = parse_block(get("ras.block"));
  c.validate();
  return c;
}

inline const char* to_string(RasVariant v) { return v == RasVariant::paper ? "paper" : "reference"; }
inline const char* to_string(RasBlock b) {
  switch (b) {
    case RasBlock::gate_only: return "gate_only";
    case RasBlock::transformer_only: return "transformer_only";
    default: return "gate_and_transformer";
  }
}
inline RasVariant parse_variant(const std::string& s) {
  if (s == "reference") return RasVariant::reference;
  if (s == "paper") return RasVariant::paper;
  ::ras::detail::throw_error("unknown RAS variant '", s, "': expected 'reference' or 'paper'");
}
inline RasBlock parse_block(const std::string& s) {
  if (s == "gate_and_transformer" || s == "full") return RasBlock::gate_and_transformer;
  if (s == "gate_only") return RasBlock::gate_only;
  if (s == "transformer_only") return RasBlock::transformer_only;
  ::ras::detail::throw_error("unknown RASFormer block '", s,
                      "': expected 'gate_and_transformer', 'gate_only' or 'transformer_only'");
}

}  // namespace ras::nn
