// ras/pipeline/backbones.hpp — builds a frozen backbone by name and loads its weights strictly:
//   mobilenet_v2                  the shared TF MobileNetV2 (names stem.*, blocks.K.*), 168 channels
//   efficientnet_b0..b7           lukemelas EfficientNet-PyTorch layout (_conv_stem, _blocks.N...), b4: 272
//   efficientnet_b0..b7_torchvision  torchvision's layout (features.S.B.block...)
// A weights file may hold the backbone under a prefix (an official RAS checkpoint: "backbone.").
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "ras/io/image.hpp"
#include "ras/io/state_dict.hpp"
#include "ras/backbones/efficientnet.hpp"
#include "ras/backbones/efficientnet_torchvision.hpp"
#include "ras/backbones/mobilenet_v2.hpp"

namespace ras::pipeline {

using BackbonePtr = std::unique_ptr<nn::Backbone<float>>;

inline const char* backbone_names_help() {
  return "mobilenet_v2, efficientnet_b0..efficientnet_b7 (lukemelas layout), "
         "efficientnet_b0_torchvision..efficientnet_b7_torchvision";
}

// The architecture without weights (throws for an unknown name).
inline BackbonePtr make_backbone(const std::string& name) {
  if (name == "mobilenet_v2") return std::make_unique<nn::MobileNetV2<float>>();
  const std::string eff = "efficientnet_";
  if (name.rfind(eff, 0) == 0 && name.size() >= eff.size() + 2) {
    std::string variant = name.substr(eff.size(), 2);
    const std::string rest = name.substr(eff.size() + 2);
    if (variant[0] == 'b' && variant[1] >= '0' && variant[1] <= '7') {
      if (rest.empty()) return std::make_unique<nn::EfficientNet<float>>(nn::efficientnet_lukemelas<float>(variant));
      if (rest == "_torchvision")
        return std::make_unique<nn::EfficientNet<float>>(nn::efficientnet_torchvision<float>(variant));
    }
  }
  ::ras::detail::throw_error("unknown backbone '", name, "'; known: ", backbone_names_help());
}

// Loads weights into a backbone made by make_backbone. Keys outside the backbone (a classifier
// head the taps never reach is still part of the module and must be present) are reported.
inline void load_backbone_weights(nn::Backbone<float>& backbone, const std::string& name,
                                  const std::filesystem::path& weights, const std::string& prefix = "") {
  RAS_CHECK(std::filesystem::exists(weights), "backbone weights not found: ", weights.string());
  io::LoadOptions o;
  o.strict = true;
  o.prefix = prefix;
  auto load = [&](auto& net) { io::load_state_dict(net, weights, o); };
  if (auto* m = dynamic_cast<nn::MobileNetV2<float>*>(&backbone)) load(*m);
  else if (auto* e = dynamic_cast<nn::EfficientNet<float>*>(&backbone)) load(*e);
  else ::ras::detail::throw_error("load_backbone_weights: unsupported backbone type for '", name, "'");
}

inline BackbonePtr load_backbone(const std::string& name, const std::filesystem::path& weights,
                                 const std::string& prefix = "") {
  auto b = make_backbone(name);
  load_backbone_weights(*b, name, weights, prefix);
  return b;
}

inline io::Normalization input_normalization(const nn::Backbone<float>& b) {
  return b.input_preset().normalization == nn::InputNormalization::symmetric ? io::Normalization::symmetric
                                                                             : io::Normalization::imagenet;
}

}  // namespace ras::pipeline
