// ras/nn/linear.hpp — nn::Linear, y = x W^T + b over the last axis (mirrors torch.nn.Linear:
// parameters "weight" (out, in) and optional "bias" (out), initialised by reset_parameters():
// kaiming_uniform_(a = sqrt(5)) and U(-1/sqrt(in), 1/sqrt(in))).
#pragma once

#include "ras/autograd/ops_linalg.hpp"
#include "ras/nn/init.hpp"

namespace ras::nn {

template <class S, class D = Cpu>
class Linear {
 public:
  autograd::Var<S, 2, D> weight;  // (out_features, in_features)
  autograd::Var<S, 1, D> bias;    // (out_features); undefined when built without bias

  Linear() = default;
  Linear(Index in_features, Index out_features, Rng& rng, bool with_bias = true) {
    RAS_CHECK(in_features > 0 && out_features > 0, "Linear: expected positive sizes but got in_features=",
              in_features, " out_features=", out_features);
    Tensor<S, 2, D> w({out_features, in_features});
    Tensor<S, 1, D> b;
    if (with_bias) b = Tensor<S, 1, D>({out_features});
    init::layer_default_(w, with_bias ? &b : nullptr, rng);
    weight = autograd::Var<S, 2, D>::parameter(std::move(w));
    if (with_bias) bias = autograd::Var<S, 1, D>::parameter(std::move(b));
  }

  Index in_features() const { return weight.dim(1); }
  Index out_features() const { return weight.dim(0); }
  bool has_bias() const { return bias.defined(); }

  // x: (..., in_features) -> (..., out_features)
  template <int R>
  autograd::Var<S, R, D> forward(const autograd::Var<S, R, D>& x) const {
    return autograd::linear(x, weight, has_bias() ? &bias : nullptr);
  }
  template <int R>
  autograd::Var<S, R, D> operator()(const autograd::Var<S, R, D>& x) const {
    return forward(x);
  }

  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
    if (has_bias()) v.param("bias", bias);
  }
};

}  // namespace ras::nn
