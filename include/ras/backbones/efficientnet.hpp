// ras/backbones/efficientnet.hpp — EfficientNet B0-B7 (Tan & Le 2019) as a frozen feature backbone, in the
// layout of lukemelas EfficientNet-PyTorch 0.7.1 (the RAS / UniAD reference backbone): _conv_stem,
// _bn0, _blocks.N.*, _conv_head, _bn1, _fc; widths / depths from the compound coefficients with
// round_filters / round_repeats exactly as lukemelas; Swish; SE 0.25 of the block input; BN eps 1e-3,
// momentum 0.01; Conv2dStaticSamePadding with the pad computed for the variant's nominal image size
// (380 for B4), which halves (ceil) at each stride-2 block (so at 224 block 6 of B4 pads (2,2,2,2)).
// Taps: block outputs (after _bn2 + skip, no activation), default blocks 1, 5, 9, 21 (RAS levels 1-4).
// The same class holds torchvision's layout (see backbones/efficientnet_torchvision.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/backbones/backbone.hpp"
#include "ras/nn/linear.hpp"
#include "ras/backbones/mbconv.hpp"
#include "ras/nn/module.hpp"

namespace ras::nn {

// Compound scaling coefficients of lukemelas' efficientnet_params (also torchvision's).
struct EfficientNetParams {
  double width = 1.0, depth = 1.0;
  Index image_size = 224;  // nominal resolution (lukemelas computes its static padding for it)
  double dropout = 0.2;    // inactive in eval; kept for completeness
};

// "b4", "efficientnet-b4" or "efficientnet_b4" -> its coefficients (B0-B7).
inline EfficientNetParams efficientnet_params(const std::string& variant) {
  std::string v = variant;
  for (const char* prefix : {"efficientnet-", "efficientnet_"})
    if (v.rfind(prefix, 0) == 0) v = v.substr(std::string(prefix).size());
  static const char* names[] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"};
  static const EfficientNetParams table[] = {{1.0, 1.0, 224, 0.2}, {1.0, 1.1, 240, 0.2}, {1.1, 1.2, 260, 0.3},
                                             {1.2, 1.4, 300, 0.3}, {1.4, 1.8, 380, 0.4}, {1.6, 2.2, 456, 0.4},
                                             {1.8, 2.6, 528, 0.5}, {2.0, 3.1, 600, 0.5}};
  for (int i = 0; i < 8; ++i)
    if (v == names[i]) return table[i];
  ras::detail::throw_error("efficientnet_params: expected a variant b0..b7 (optionally prefixed efficientnet-) but got '",
                      variant, "'");
}

// lukemelas round_filters (= torchvision _make_divisible(filters * width, 8)).
inline Index round_filters(Index filters, double width, Index divisor = 8) {
  const double f = static_cast<double>(filters) * width;
  Index n = std::max<Index>(divisor, static_cast<Index>(f + static_cast<double>(divisor) / 2) / divisor * divisor);
  if (static_cast<double>(n) < 0.9 * f) n += divisor;
  return n;
}

// lukemelas round_repeats (= torchvision adjust_depth): ceil(depth * repeats).
inline Index round_repeats(Index repeats, double depth) {
  return static_cast<Index>(std::ceil(depth * static_cast<double>(repeats)));
}

// Conv2dStaticSamePadding for a square image_size input: (top, bottom, left, right).
inline std::array<Index, 4> static_same_padding(Index image_size, Index kernel, Index stride) {
  const auto p = same_padding(image_size, kernel, stride);
  return {p[0], p[1], p[0], p[1]};
}

// One stage of the B0 table (Table 1 of the paper; lukemelas' blocks_args strings).
struct EfficientNetStage {
  Index repeats, kernel, stride, expand_ratio, in_channels, out_channels;
};
inline const std::vector<EfficientNetStage>& efficientnet_b0_stages() {
  static const std::vector<EfficientNetStage> stages = {{1, 3, 1, 1, 32, 16},   {2, 3, 2, 6, 16, 24},
                                                        {2, 5, 2, 6, 24, 40},   {3, 3, 2, 6, 40, 80},
                                                        {3, 5, 1, 6, 80, 112},  {4, 5, 2, 6, 112, 192},
                                                        {1, 3, 1, 6, 192, 320}};
  return stages;
}

struct EfficientNetConfig {
  std::string variant = "b4";
  EfficientNetLayout layout = EfficientNetLayout::lukemelas;
  Index stem_channels = 0;
  std::array<Index, 4> stem_padding{};  // (top, bottom, left, right)
  std::vector<MBConvConfig> blocks;
  Index num_stages = 0;
  Index head_channels = 0;
  Index num_classes = 1000;
  BatchNormOptions bn{1e-3, 0.01};
};

// The lukemelas architecture of a variant: image size tracked from the nominal resolution
// (ceil-halved after the stem and after each stage's first block when it has stride 2).
inline EfficientNetConfig lukemelas_efficientnet_config(const std::string& variant, Index num_classes = 1000) {
  const auto p = efficientnet_params(variant);
  EfficientNetConfig cfg;
  cfg.variant = variant;
  cfg.layout = EfficientNetLayout::lukemelas;
  cfg.num_classes = num_classes;
  cfg.bn = BatchNormOptions{1e-3, 0.01};
  cfg.stem_channels = round_filters(32, p.width);
  Index image = p.image_size;
  cfg.stem_padding = static_same_padding(image, 3, 2);
  image = (image + 1) / 2;
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
      b.squeeze_channels = std::max<Index>(1, static_cast<Index>(static_cast<double>(b.in_channels) * 0.25));
      b.image_size = image;
      b.depthwise_padding = static_same_padding(image, b.kernel, b.stride);
      b.stage = static_cast<Index>(s);
      b.index_in_stage = j;
      cfg.blocks.push_back(b);
      if (j == 0) image = (image + st.stride - 1) / st.stride;
    }
  }
  cfg.head_channels = round_filters(1280, p.width);
  return cfg;
}

template <class S, class D = Cpu>
class EfficientNet : public BackboneBase<EfficientNet<S, D>, S, D> {
 public:
  using VarT = autograd::Var<S, 4, D>;

  EfficientNetConfig config;
  std::vector<Index> taps;  // tapped block indices, increasing
  Conv2d<S, D> conv_stem;   // (stem, 3, 3, 3), stride 2, no bias
  BatchNorm2d<S, D> bn0;
  std::vector<MBConv<S, D>> blocks;
  Conv2d<S, D> conv_head;   // (head, last, 1, 1), no bias
  BatchNorm2d<S, D> bn1;
  Linear<S, D> fc;          // (num_classes, head)

  // Builds the network with PyTorch-default initial values (load or synthesise weights next).
  explicit EfficientNet(EfficientNetConfig cfg, std::vector<Index> tap_blocks = {1, 5, 9, 21})
      : config(std::move(cfg)), taps(std::move(tap_blocks)) {
    const Index nb = static_cast<Index>(config.blocks.size());
    RAS_CHECK(!taps.empty(), "EfficientNet: expected at least one tapped block");
    for (std::size_t i = 0; i < taps.size(); ++i)
      RAS_CHECK(taps[i] >= 0 && taps[i] < nb && (i == 0 || taps[i] > taps[i - 1]),
                "EfficientNet: expected increasing tap block indices in [0, ", nb, ") but got ", taps[i],
                " at position ", i);
    Rng rng(0);
    Conv2dOptions stem{.stride = 2, .bias = false};
    stem.padding_tblr = config.stem_padding;
    conv_stem = Conv2d<S, D>(3, config.stem_channels, 3, rng, stem);
    bn0 = BatchNorm2d<S, D>(config.stem_channels, config.bn);
    for (const auto& b : config.blocks) blocks.emplace_back(b, config.layout, config.bn, rng);
    conv_head = Conv2d<S, D>(config.blocks.back().out_channels, config.head_channels, 1, rng, Conv2dOptions{.bias = false});
    bn1 = BatchNorm2d<S, D>(config.head_channels, config.bn);
    fc = Linear<S, D>(config.head_channels, config.num_classes, rng);
    nn::eval(*this);
  }

  std::string name() const {
    return std::string(config.layout == EfficientNetLayout::lukemelas ? "efficientnet-" : "torchvision efficientnet_") +
           config.variant;
  }
  std::vector<Index> tap_channels() const {
    std::vector<Index> c;
    for (Index t : taps) c.push_back(config.blocks[static_cast<std::size_t>(t)].out_channels);
    return c;
  }
  std::vector<Index> tap_strides() const {
    std::vector<Index> s;
    Index stride = 2;
    for (std::size_t j = 0, k = 0; k < taps.size(); ++j) {
      stride *= config.blocks[j].stride;
      if (static_cast<Index>(j) == taps[k]) s.push_back(stride), ++k;
    }
    return s;
  }
  InputPreset input_preset() const { return {InputNormalization::imagenet, 224}; }

  // The whole classifier (eval, no tape): x: (N, 3, H, W) -> (N, num_classes)
  autograd::Var<S, 2, D> logits(const Tensor<S, 4, D>& x) {
    autograd::InferenceMode no_tape;
    nn::eval(*this);
    auto h = stem(VarT(x.clone()));
    for (auto& b : blocks) h = b(h);
    h = autograd::silu(bn1(conv_head(h)));
    return fc(autograd::global_avg_pool(h));
  }

  template <class V>
  void visit(V& v) {
    if (config.layout == EfficientNetLayout::lukemelas) {
      v.module("_conv_stem", conv_stem);
      v.module("_bn0", bn0);
      v.modules("_blocks", blocks);
      v.module("_conv_head", conv_head);
      v.module("_bn1", bn1);
      v.module("_fc", fc);
    } else {  // torchvision: features.0 stem, features.(s+1).b blocks, features.(S+1) head, classifier.1
      v.module("features.0.0", conv_stem);
      v.module("features.0.1", bn0);
      for (auto& b : blocks)
        v.module("features." + std::to_string(b.config.stage + 1) + "." + std::to_string(b.config.index_in_stage), b);
      const std::string head = "features." + std::to_string(config.num_stages + 1);
      v.module(head + ".0", conv_head);
      v.module(head + ".1", bn1);
      v.module("classifier.1", fc);
    }
  }

  // Used by BackboneBase (one chunk -> the tapped levels; eval mode).
  VarT stem(const VarT& x) { return autograd::silu(bn0(conv_stem(x))); }

  std::vector<VarT> forward_taps(const VarT& x) {
    std::vector<VarT> out;
    VarT h = stem(x);
    for (std::size_t j = 0, k = 0; k < taps.size(); ++j) {
      h = blocks[j](h);
      if (static_cast<Index>(j) == taps[k]) out.push_back(h), ++k;  // stops after the last tap
    }
    return out;
  }
  void set_eval() { nn::eval(*this); }
};

// lukemelas EfficientNet (RAS backbone by default: efficientnet_lukemelas<float>("b4")).
template <class S, class D = Cpu>
inline EfficientNet<S, D> efficientnet_lukemelas(const std::string& variant = "b4", std::vector<Index> taps = {1, 5, 9, 21},
                                                 Index num_classes = 1000) {
  return EfficientNet<S, D>(lukemelas_efficientnet_config(variant, num_classes), std::move(taps));
}

}  // namespace ras::nn
