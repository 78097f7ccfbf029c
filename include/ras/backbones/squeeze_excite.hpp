// ras/backbones/squeeze_excite.hpp — squeeze-and-excitation of EfficientNet's MBConv blocks (Hu et al. 2018):
// s = sigmoid(W2 swish(W1 mean_hw(x) + b1) + b2), y = x * s per sample and channel. Mirrors
// torchvision.ops.SqueezeExcitation with activation SiLU (names fc1 / fc2: 1x1 convs with bias) and
// lukemelas EfficientNet-PyTorch's _se_reduce / _se_expand (the block registers fc1 / fc2 under
// those names).
#pragma once

#include "ras/autograd/ops_elementwise.hpp"
#include "ras/autograd/ops_reduce.hpp"
#include "ras/autograd/ops_shape.hpp"
#include "ras/nn/conv2d.hpp"

namespace ras::nn {

template <class S, class D = Cpu>
class SqueezeExcite {
 public:
  Conv2d<S, D> fc1;  // (squeeze, channels, 1, 1) + bias: the reduction
  Conv2d<S, D> fc2;  // (channels, squeeze, 1, 1) + bias: the expansion

  SqueezeExcite() = default;
  SqueezeExcite(Index channels, Index squeeze, Rng& rng) : fc1(channels, squeeze, 1, rng), fc2(squeeze, channels, 1, rng) {}

  Index channels() const { return fc1.in_channels(); }

  // x: (N, C, H, W) -> (N, C, H, W)
  autograd::Var<S, 4, D> forward(const autograd::Var<S, 4, D>& x) const {
    const Index N = x.dim(0), C = x.dim(1);
    RAS_CHECK(C == channels(), "SqueezeExcite: expected input with ", channels(), " channels but got shape ",
              shape_string(x.shape()));
    auto pooled = autograd::reshape<4>(autograd::global_avg_pool(x), {N, C, 1, 1});  // (N, C, 1, 1)
    auto gate = autograd::sigmoid(fc2(autograd::silu(fc1(pooled))));                 // (N, C, 1, 1)
    return autograd::scale_channels(x, autograd::reshape<2>(gate, {N, C}));
  }
  autograd::Var<S, 4, D> operator()(const autograd::Var<S, 4, D>& x) const { return forward(x); }

  template <class V>
  void visit(V& v) {
    v.module("fc1", fc1);
    v.module("fc2", fc2);
  }
};

}  // namespace ras::nn
