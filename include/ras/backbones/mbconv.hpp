// ras/backbones/mbconv.hpp — EfficientNet's mobile inverted bottleneck block (MBConv, Tan & Le 2019):
// [1x1 expand conv, BN, swish] -> kxk depthwise conv (stride s), BN, swish -> squeeze-excite ->
// 1x1 project conv, BN (no activation) -> + input when stride 1 and in == out (eval: no drop-connect).
// Two parameter layouts: lukemelas EfficientNet-PyTorch 0.7.1 MBConvBlock (_expand_conv, _bn0,
// _depthwise_conv, _bn1, _se_reduce, _se_expand, _project_conv, _bn2; static SAME padding) and
// torchvision 0.14 MBConv (block.0.0 / block.0.1 expand ... block.3.0 / block.3.1 project; pad k//2).
#pragma once

#include <array>
#include <string>

#include "ras/autograd/ops_elementwise.hpp"
#include "ras/nn/batchnorm.hpp"
#include "ras/nn/conv2d.hpp"
#include "ras/backbones/squeeze_excite.hpp"

namespace ras::nn {

enum class EfficientNetLayout { lukemelas, torchvision };

struct MBConvConfig {
  Index in_channels = 0, out_channels = 0;
  Index expand_ratio = 1;  // 1: no expand conv
  Index kernel = 3, stride = 1;
  Index squeeze_channels = 0;                  // SE width: max(1, int(in_channels * 0.25))
  Index image_size = 0;                        // lukemelas: nominal input size its static padding is for
  std::array<Index, 4> depthwise_padding{};    // (top, bottom, left, right)
  Index stage = 0, index_in_stage = 0;         // position in the stage table (torchvision names)

  Index expanded_channels() const { return in_channels * expand_ratio; }
  bool has_expand() const { return expand_ratio != 1; }
  bool residual() const { return stride == 1 && in_channels == out_channels; }
};

template <class S, class D = Cpu>
class MBConv {
 public:
  MBConvConfig config;
  EfficientNetLayout layout = EfficientNetLayout::lukemelas;
  Conv2d<S, D> expand_conv;     // (E, C, 1, 1), no bias; only when expand_ratio != 1
  BatchNorm2d<S, D> bn0;
  Conv2d<S, D> depthwise_conv;  // (E, 1, k, k), groups E, no bias
  BatchNorm2d<S, D> bn1;
  SqueezeExcite<S, D> se;
  Conv2d<S, D> project_conv;    // (O, E, 1, 1), no bias
  BatchNorm2d<S, D> bn2;

  MBConv() = default;
  MBConv(const MBConvConfig& c, EfficientNetLayout l, const BatchNormOptions& bn, Rng& rng) : config(c), layout(l) {
    RAS_CHECK(c.in_channels > 0 && c.out_channels > 0 && c.expand_ratio >= 1 && c.kernel >= 1 &&
                  (c.stride == 1 || c.stride == 2) && c.squeeze_channels >= 1,
              "MBConv: invalid config in=", c.in_channels, " out=", c.out_channels, " expand=", c.expand_ratio,
              " kernel=", c.kernel, " stride=", c.stride, " squeeze=", c.squeeze_channels);
    const Index e = c.expanded_channels();
    if (c.has_expand()) {
      expand_conv = Conv2d<S, D>(c.in_channels, e, 1, rng, Conv2dOptions{.bias = false});
      bn0 = BatchNorm2d<S, D>(e, bn);
    }
    Conv2dOptions dw{.stride = c.stride, .groups = e, .bias = false};
    dw.padding_tblr = c.depthwise_padding;
    depthwise_conv = Conv2d<S, D>(e, e, c.kernel, rng, dw);
    bn1 = BatchNorm2d<S, D>(e, bn);
    se = SqueezeExcite<S, D>(e, c.squeeze_channels, rng);
    project_conv = Conv2d<S, D>(e, c.out_channels, 1, rng, Conv2dOptions{.bias = false});
    bn2 = BatchNorm2d<S, D>(c.out_channels, bn);
  }

  // x: (N, in_channels, H, W) -> (N, out_channels, H', W'), H' = H / stride (with this padding)
  autograd::Var<S, 4, D> forward(const autograd::Var<S, 4, D>& x) {
    RAS_CHECK(x.dim(1) == config.in_channels, "MBConv: expected input with ", config.in_channels,
              " channels but got shape ", shape_string(x.shape()));
    autograd::Var<S, 4, D> h = x;
    if (config.has_expand()) h = autograd::silu(bn0(expand_conv(h)));
    h = autograd::silu(bn1(depthwise_conv(h)));
    h = se(h);
    h = bn2(project_conv(h));
    return config.residual() ? autograd::add(h, x) : h;
  }
  autograd::Var<S, 4, D> operator()(const autograd::Var<S, 4, D>& x) { return forward(x); }

  template <class V>
  void visit(V& v) {
    if (layout == EfficientNetLayout::lukemelas) {
      if (config.has_expand()) {
        v.module("_expand_conv", expand_conv);
        v.module("_bn0", bn0);
      }
      v.module("_depthwise_conv", depthwise_conv);
      v.module("_bn1", bn1);
      v.module("_se_reduce", se.fc1);
      v.module("_se_expand", se.fc2);
      v.module("_project_conv", project_conv);
      v.module("_bn2", bn2);
    } else {  // torchvision: block = Sequential([expand,] depthwise, se, project), each conv = (conv, bn)
      int i = 0;
      auto at = [&i](const char* sub) { return "block." + std::to_string(i) + sub; };
      if (config.has_expand()) {
        v.module(at(".0"), expand_conv);
        v.module(at(".1"), bn0);
        ++i;
      }
      v.module(at(".0"), depthwise_conv);
      v.module(at(".1"), bn1);
      ++i;
      v.module(at(""), se);
      ++i;
      v.module(at(".0"), project_conv);
      v.module(at(".1"), bn2);
    }
  }
};

}  // namespace ras::nn
