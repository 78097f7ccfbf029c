// ras/pipeline/backbones.hpp — builds a frozen backbone by name and loads its weights strictly:
//   mobilenet_v2                  the shared TF MobileNetV2 (names stem.*, blocks.K.*), 168 channels
//   efficientnet_b0..b7           lukemelas EfficientNet-PyTorch layout (_conv_stem, _blocks.N...), b4: 272
//   efficientnet_b0..b7_torchvision  torchvision's layout (features.S.B.block...)
// A weights file may hold the backbone under a prefix (an official RAS checkpoint: "backbone.").
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <variant>

#include "ras/io/image.hpp"
#include "ras/io/state_dict.hpp"
#include "ras/backbones/efficientnet.hpp"
#include "ras/backbones/efficientnet_torchvision.hpp"
#include "ras/backbones/mobilenet_v2.hpp"

namespace ras::pipeline {

// A backbone chosen at run time: one of the concrete networks in a std::variant, with the
// BackboneBase interface forwarded through std::visit (no virtual base, no dynamic_cast).
class AnyBackbone {
 public:
  using Variant = std::variant<nn::MobileNetV2<float>, nn::EfficientNet<float>>;
  using TensorT = Tensor<float, 4>;

  template <class Net>
    requires std::is_constructible_v<Variant, Net&&>
  explicit AnyBackbone(Net&& net) : net_(std::forward<Net>(net)) {}

  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), net_);
  }
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), net_);
  }

  std::string name() const { return visit([](const auto& b) { return b.name(); }); }
  std::vector<Index> tap_channels() const { return visit([](const auto& b) { return b.tap_channels(); }); }
  std::vector<Index> tap_strides() const { return visit([](const auto& b) { return b.tap_strides(); }); }
  nn::InputPreset input_preset() const { return visit([](const auto& b) { return b.input_preset(); }); }
  Index neck_channels() const { return visit([](const auto& b) { return b.neck_channels(); }); }
  void set_chunk_size(Index n) {
    visit([n](auto& b) { b.chunk_size = n; });
  }
  // x: (N, 3, H, W) -> the tapped levels / the MFCN neck (N, neck_channels(), h, w)
  std::vector<TensorT> features(const TensorT& x) { return visit([&](auto& b) { return b.features(x); }); }
  TensorT neck(const TensorT& x) { return visit([&](auto& b) { return b.neck(x); }); }
  template <class Ext>
  std::vector<TensorT> features(const ShapedTensor<float, Ext>& x) {
    static_assert(extents_compatible<Ext, ImageExtents>, "backbone: expected images of extents (N, 3, H, W)");
    return features(x.tensor());
  }
  template <class Ext>
  TensorT neck(const ShapedTensor<float, Ext>& x) {
    static_assert(extents_compatible<Ext, ImageExtents>, "backbone: expected images of extents (N, 3, H, W)");
    return neck(x.tensor());
  }

  // The concrete network (throws std::bad_variant_access for another type).
  template <class Net>
  Net& get() {
    return std::get<Net>(net_);
  }

 private:
  Variant net_;
};

using BackbonePtr = std::unique_ptr<AnyBackbone>;

inline const char* backbone_names_help() {
  return "mobilenet_v2, efficientnet_b0..efficientnet_b7 (lukemelas layout), "
         "efficientnet_b0_torchvision..efficientnet_b7_torchvision";
}

// The architecture without weights (throws for an unknown name).
inline BackbonePtr make_backbone(const std::string& name) {
  if (name == "mobilenet_v2") return std::make_unique<AnyBackbone>(nn::MobileNetV2<float>());
  const std::string eff = "efficientnet_";
  if (name.rfind(eff, 0) == 0 && name.size() >= eff.size() + 2) {
    std::string variant = name.substr(eff.size(), 2);
    const std::string rest = name.substr(eff.size() + 2);
    if (variant[0] == 'b' && variant[1] >= '0' && variant[1] <= '7') {
      if (rest.empty()) return std::make_unique<AnyBackbone>(nn::efficientnet_lukemelas<float>(variant));
      if (rest == "_torchvision")
        return std::make_unique<AnyBackbone>(nn::efficientnet_torchvision<float>(variant));
    }
  }
  ::ras::detail::throw_error("unknown backbone '", name, "'; known: ", backbone_names_help());
}

// Loads weights into a backbone made by make_backbone. Keys outside the backbone (a classifier
// head the taps never reach is still part of the module and must be present) are reported.
template <class Net>
inline void load_backbone_weights(Net& net, const std::filesystem::path& weights, const std::string& prefix = "") {
  RAS_CHECK(std::filesystem::exists(weights), "backbone weights not found: ", weights.string());
  io::LoadOptions o;
  o.strict = true;
  o.prefix = prefix;
  io::load_state_dict(net, weights, o);
}
inline void load_backbone_weights(AnyBackbone& backbone, const std::filesystem::path& weights,
                                  const std::string& prefix = "") {
  backbone.visit([&](auto& net) { load_backbone_weights(net, weights, prefix); });
}

inline BackbonePtr load_backbone(const std::string& name, const std::filesystem::path& weights,
                                 const std::string& prefix = "") {
  auto b = make_backbone(name);
  load_backbone_weights(*b, weights, prefix);
  return b;
}

inline io::Normalization input_normalization(const AnyBackbone& b) {
  return b.input_preset().normalization == nn::InputNormalization::symmetric ? io::Normalization::symmetric
                                                                             : io::Normalization::imagenet;
}

}  // namespace ras::pipeline
