// ras/testing/tiny_ras.hpp — a tiny RAS configuration (C_org 16, hidden 32, 4 heads, 5x5 grid, 1 + 2
// layers) and random features for it: what the trainer and threading tests train in milliseconds.
#pragma once

#include <cstdint>

#include "ras/model/ras_config.hpp"
#include "ras/random.hpp"
#include "ras/tensor.hpp"

namespace ras::testing {

inline nn::RasConfig tiny_ras_config() {
  nn::RasConfig cfg;
  cfg.channels = 16;
  cfg.hidden = 32;
  cfg.heads = 4;
  cfg.ffn = 64;
  cfg.feature_h = cfg.feature_w = 5;
  cfg.neighbor_h = cfg.neighbor_w = 3;
  cfg.encoder_layers = 1;
  cfg.decoder_layers = 2;
  return cfg;
}

// n feature maps (n, 16, 5, 5) of N(0, 1) values drawn from `seed`.
inline Tensor<float, 4> tiny_ras_features(Index n, std::uint64_t seed) {
  Tensor<float, 4> f({n, 16, 5, 5});
  Rng rng(seed);
  fill_normal(f, rng);
  return f;
}

}  // namespace ras::testing
