// ras/backbones/efficientnet_torchvision.hpp — torchvision 0.14's EfficientNet B0-B7
// (torchvision/models/efficientnet.py) in the EfficientNet class of backbones/efficientnet.hpp: names
// features.0.0 / features.0.1 (stem conv, BN), features.(s+1).b.block.* (MBConv), features.8.0 /
// features.8.1 (head), classifier.1 (fc); symmetric padding k // 2 (Conv2dNormActivation); BN eps
// 1e-5 / momentum 0.1 for B0-B4 and eps 1e-3 / momentum 0.01 for B5-B7; head width 4 x the last
// stage's channels. Block j of the flattened stage list is lukemelas block j, so the RAS taps 1, 5, 9,
// 21 of B4 are features.1.1, features.2.3, features.3.3, features.5.5.
#pragma once

#include <string>

#include "ras/backbones/efficientnet.hpp"

namespace ras::nn {

inline EfficientNetConfig torchvision_efficientnet_config(const std::string& variant, Index num_classes = 1000) {
  const auto p = efficientnet_params(variant);
  EfficientNetConfig cfg;
  cfg.variant = variant;
  cfg.layout = EfficientNetLayout::torchvision;
  cfg.num_classes = num_classes;
  const bool large = p.width >= 1.6;  // B5, B6, B7 pass norm_layer=BatchNorm2d(eps=1e-3, momentum=0.01)
  cfg.bn = large ? BatchNormOptions{1e-3, 0.01} : BatchNormOptions{1e-5, 0.1};
  cfg.stem_channels = round_filters(32, p.width);
  cfg.stem_padding = {1, 1, 1, 1};
  const auto& stages = efficientnet_b0_stages();
  cfg.num_stages = static_cast<Index>(stages.size());
  for (std::size_t s = 0; s < stages.size(); ++s) {
    const auto& st = stages[s];
    const Index in = round_filters(st.in_channels, p.width), out = round_filters(st.out_channels, p.width);
    const Index reps = round_repeats(st.repeats, p.depth);
    for (Index j = 0; j < reps; ++j) {
      MBConvConfig b;
      b.in_channels = j == 0 ? in : out;
      b.out_channels = out;
      b.expand_ratio = st.expand_ratio;
      b.kernel = st.kernel;
      b.stride = j == 0 ? st.stride : 1;
      b.squeeze_channels = std::max<Index>(1, b.in_channels / 4);
      const Index pad = (st.kernel - 1) / 2;
      b.depthwise_padding = {pad, pad, pad, pad};
      b.stage = static_cast<Index>(s);
      b.index_in_stage = j;
      cfg.blocks.push_back(b);
    }
  }
  cfg.head_channels = 4 * cfg.blocks.back().out_channels;
  return cfg;
}

// torchvision's name of flattened block j ("features.5.5" for B4 block 21).
inline std::string torchvision_block_name(const EfficientNetConfig& cfg, Index j) {
  RAS_CHECK(j >= 0 && j < static_cast<Index>(cfg.blocks.size()), "torchvision_block_name: expected a block index in [0, ",
            cfg.blocks.size(), ") but got ", j);
  const auto& b = cfg.blocks[static_cast<std::size_t>(j)];
  return "features." + std::to_string(b.stage + 1) + "." + std::to_string(b.index_in_stage);
}

// torchvision.models.efficientnet_<variant>() with the RAS taps (same block indices as lukemelas).
template <class S, class D = Cpu>
inline EfficientNet<S, D> efficientnet_torchvision(const std::string& variant = "b4",
                                                   std::vector<Index> taps = {1, 5, 9, 21}, Index num_classes = 1000) {
  return EfficientNet<S, D>(torchvision_efficientnet_config(variant, num_classes), std::move(taps));
}

}  // namespace ras::nn
