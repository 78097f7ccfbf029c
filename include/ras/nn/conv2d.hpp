// ras/nn/conv2d.hpp — nn::Conv2d (mirrors torch.nn.Conv2d: parameters "weight" (O, C/groups, kh, kw)
// and optional "bias" (O), reset_parameters() initialisation), with stride, dilation, groups and
// symmetric or asymmetric (top, bottom, left, right) zero padding. Asymmetric padding is what
// EfficientNet's Conv2dStaticSamePadding (nn.ZeroPad2d then conv) amounts to.
#pragma once

#include <array>

#include "ras/autograd/ops_conv.hpp"
#include "ras/nn/init.hpp"

namespace ras::nn {

struct Conv2dOptions {
  Index stride = 1;
  Index padding = 0;                                 // on all four sides
  std::array<Index, 4> padding_tblr{-1, -1, -1, -1};  // (top, bottom, left, right); overrides `padding`
  Index dilation = 1;
  Index groups = 1;
  bool bias = true;
};

template <class S, class D = Cpu>
class Conv2d {
 public:
  autograd::Var<S, 4, D> weight;  // (out_channels, in_channels / groups, kernel_h, kernel_w)
  autograd::Var<S, 1, D> bias;    // (out_channels); undefined when built without bias
  kernels::Conv2dArgs args;       // stride, padding, dilation, groups (may be changed after construction)

  Conv2d() = default;
  Conv2d(Index in_channels, Index out_channels, Index kernel, Rng& rng, const Conv2dOptions& o = {})
      : Conv2d(in_channels, out_channels, kernel, kernel, rng, o) {}
  Conv2d(Index in_channels, Index out_channels, Index kernel_h, Index kernel_w, Rng& rng,
         const Conv2dOptions& o = {}) {
    RAS_CHECK(in_channels > 0 && out_channels > 0 && kernel_h > 0 && kernel_w > 0 && o.groups > 0,
              "Conv2d: expected positive sizes but got in_channels=", in_channels, " out_channels=",
              out_channels, " kernel=", kernel_h, "x", kernel_w, " groups=", o.groups);
    RAS_CHECK(in_channels % o.groups == 0 && out_channels % o.groups == 0, "Conv2d: expected channels ",
              in_channels, " -> ", out_channels, " divisible by groups=", o.groups);
    const bool asymmetric = o.padding_tblr[0] >= 0;
    RAS_CHECK(o.padding >= 0 && (!asymmetric || (o.padding_tblr[1] >= 0 && o.padding_tblr[2] >= 0 &&
                                                 o.padding_tblr[3] >= 0)),
              "Conv2d: expected non-negative padding but got padding=", o.padding, " padding_tblr=(",
              o.padding_tblr[0], ", ", o.padding_tblr[1], ", ", o.padding_tblr[2], ", ", o.padding_tblr[3], ")");
    args = kernels::Conv2dArgs::same_symmetric(o.stride, o.padding, o.groups);
    if (asymmetric) set_padding(o.padding_tblr[0], o.padding_tblr[1], o.padding_tblr[2], o.padding_tblr[3]);
    args.dilation_h = args.dilation_w = o.dilation;
    Tensor<S, 4, D> w({out_channels, in_channels / o.groups, kernel_h, kernel_w});
    Tensor<S, 1, D> b;
    if (o.bias) b = Tensor<S, 1, D>({out_channels});
    init::layer_default_(w, o.bias ? &b : nullptr, rng);
    weight = autograd::Var<S, 4, D>::parameter(std::move(w));
    if (o.bias) bias = autograd::Var<S, 1, D>::parameter(std::move(b));
  }

  void set_padding(Index top, Index bottom, Index left, Index right) {
    args.pad_top = top, args.pad_bottom = bottom, args.pad_left = left, args.pad_right = right;
  }
  Index in_channels() const { return weight.dim(1) * args.groups; }
  Index out_channels() const { return weight.dim(0); }
  bool has_bias() const { return bias.defined(); }

  // x: (N, in_channels, H, W) -> (N, out_channels, H', W')
  autograd::Var<S, 4, D> forward(const autograd::Var<S, 4, D>& x) const {
    return autograd::conv2d(x, weight, has_bias() ? &bias : nullptr, args);
  }
  autograd::Var<S, 4, D> operator()(const autograd::Var<S, 4, D>& x) const { return forward(x); }

  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
    if (has_bias()) v.param("bias", bias);
  }
};

}  // namespace ras::nn
