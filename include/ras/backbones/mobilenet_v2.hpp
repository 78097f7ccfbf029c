// ras/backbones/mobilenet_v2.hpp — MobileNetV2 (Sandler et al. 2018, width 1.0) in the layout of the shared
// TF/Keras ImageNet weights (shared/weights/mobilenet_v2_imagenet.safetensors): batch norm folded into
// every conv (weight + bias), names stem.*, blocks.K.{expand,depthwise,project}.*, head.*,
// classifier.* (1001 outputs, index 0 = background); ReLU6 after stem, expand, depthwise and head;
// TensorFlow "SAME" padding computed from the actual input size (extra pixel bottom / right).
// Taps: outputs of blocks 0, 2, 5, 12 (16 / 24 / 32 / 96 channels at strides 2 / 4 / 8 / 16).
// Input: RGB, v / 127.5 - 1.
#pragma once

#include <string>
#include <vector>

#include "ras/autograd/ops_elementwise.hpp"
#include "ras/autograd/ops_reduce.hpp"
#include "ras/backbones/backbone.hpp"
#include "ras/nn/conv2d.hpp"
#include "ras/nn/linear.hpp"

namespace ras::nn {

template <class S, class D = Cpu>
class MobileNetV2 : public BackboneBase<MobileNetV2<S, D>, S, D> {
 public:
  using VarT = autograd::Var<S, 4, D>;

  struct Block {
    Index in_channels = 0, out_channels = 0, expand_ratio = 1, stride = 1;
    Conv2d<S, D> expand;     // (C t, C, 1, 1) + bias; only when t != 1
    Conv2d<S, D> depthwise;  // (C t, 1, 3, 3) + bias, groups C t
    Conv2d<S, D> project;    // (C', C t, 1, 1) + bias

    bool residual() const { return stride == 1 && in_channels == out_channels; }

    template <class V>
    void visit(V& v) {
      if (expand_ratio != 1) v.module("expand", expand);
      v.module("depthwise", depthwise);
      v.module("project", project);
    }
  };

  std::vector<Index> taps;
  Conv2d<S, D> stem;  // (32, 3, 3, 3) + bias, stride 2
  std::vector<Block> blocks;
  Conv2d<S, D> head;  // (1280, 320, 1, 1) + bias
  Linear<S, D> classifier;  // (1001, 1280)

  explicit MobileNetV2(std::vector<Index> tap_blocks = {0, 2, 5, 12}, Index num_classes = 1001)
      : taps(std::move(tap_blocks)) {
    // (expansion t, output channels c, repeats n, first stride s)
    static const Index setting[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                        {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    Rng rng(0);
    stem = Conv2d<S, D>(3, 32, 3, rng, Conv2dOptions{.stride = 2});
    Index in = 32;
    for (const auto& st : setting)
      for (Index j = 0; j < st[2]; ++j) {
        Block b;
        b.in_channels = in, b.out_channels = st[1], b.expand_ratio = st[0], b.stride = j == 0 ? st[3] : 1;
        const Index e = in * st[0];
        if (st[0] != 1) b.expand = Conv2d<S, D>(in, e, 1, rng);
        b.depthwise = Conv2d<S, D>(e, e, 3, rng, Conv2dOptions{.stride = b.stride, .groups = e});
        b.project = Conv2d<S, D>(e, st[1], 1, rng);
        blocks.push_back(std::move(b));
        in = st[1];
      }
    head = Conv2d<S, D>(in, 1280, 1, rng);
    classifier = Linear<S, D>(1280, num_classes, rng);
    const Index nb = static_cast<Index>(blocks.size());
    RAS_CHECK(!taps.empty(), "MobileNetV2: expected at least one tapped block");
    for (std::size_t i = 0; i < taps.size(); ++i)
      RAS_CHECK(taps[i] >= 0 && taps[i] < nb && (i == 0 || taps[i] > taps[i - 1]),
                "MobileNetV2: expected increasing tap block indices in [0, ", nb, ") but got ", taps[i],
                " at position ", i);
  }

  std::string name() const { return "mobilenet_v2"; }
  std::vector<Index> tap_channels() const {
    std::vector<Index> c;
    for (Index t : taps) c.push_back(blocks[static_cast<std::size_t>(t)].out_channels);
    return c;
  }
  std::vector<Index> tap_strides() const {
    std::vector<Index> s;
    Index stride = 2;
    for (std::size_t j = 0, k = 0; k < taps.size(); ++j) {
      stride *= blocks[j].stride;
      if (static_cast<Index>(j) == taps[k]) s.push_back(stride), ++k;
    }
    return s;
  }
  InputPreset input_preset() const { return {InputNormalization::symmetric, 224}; }

  // The whole classifier (no tape): x: (N, 3, H, W) -> (N, 1001) logits (ImageNet class i = i + 1)
  autograd::Var<S, 2, D> logits(const Tensor<S, 4, D>& x) {
    autograd::InferenceMode no_tape;
    VarT h = stem_forward(VarT(x.clone()));
    for (auto& b : blocks) h = block_forward(b, h);
    h = autograd::relu6(head(h));
    return classifier(autograd::global_avg_pool(h));
  }

  template <class V>
  void visit(V& v) {
    v.module("stem", stem);
    v.modules("blocks", blocks);
    v.module("head", head);
    v.module("classifier", classifier);
  }

  // Used by BackboneBase (one chunk -> the tapped levels; eval mode).
  // A 3x3 conv with TF-SAME padding for the input at hand.
  static VarT same_conv(const Conv2d<S, D>& conv, const VarT& x) {
    auto args = same_conv_args(x.dim(2), x.dim(3), conv.weight.dim(2), conv.args.stride_h, conv.args.groups);
    return autograd::conv2d(x, conv.weight, conv.has_bias() ? &conv.bias : nullptr, args);
  }
  VarT stem_forward(const VarT& x) const { return autograd::relu6(same_conv(stem, x)); }
  // x: (N, in, H, W) -> (N, out, H / stride, W / stride)
  static VarT block_forward(const Block& b, const VarT& x) {
    VarT h = x;
    if (b.expand_ratio != 1) h = autograd::relu6(b.expand(h));
    h = autograd::relu6(same_conv(b.depthwise, h));
    h = b.project(h);
    return b.residual() ? autograd::add(h, x) : h;
  }

  std::vector<VarT> forward_taps(const VarT& x) {
    std::vector<VarT> out;
    VarT h = stem_forward(x);
    for (std::size_t j = 0, k = 0; k < taps.size(); ++j) {
      h = block_forward(blocks[j], h);
      if (static_cast<Index>(j) == taps[k]) out.push_back(h), ++k;  // stops after the last tap
    }
    return out;
  }
  void set_eval() {}  // no batch norm (folded)
};

}  // namespace ras::nn
