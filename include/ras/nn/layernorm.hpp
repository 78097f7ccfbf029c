// ras/nn/layernorm.hpp — nn::LayerNorm over the last axis (mirrors torch.nn.LayerNorm(C) with a
// one-dimensional normalized_shape: parameters "weight" (C) ones and "bias" (C) zeros, biased
// variance, eps inside the square root).
#pragma once

#include "ras/autograd/ops_norm.hpp"

namespace ras::nn {

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;
};

template <class S, class D = Cpu>
class LayerNorm {
 public:
  autograd::Var<S, 1, D> weight;  // (C); undefined without elementwise_affine
  autograd::Var<S, 1, D> bias;    // (C); undefined without elementwise_affine
  LayerNormOptions options;

  LayerNorm() = default;
  explicit LayerNorm(Index normalized_shape, const LayerNormOptions& o = {}) : options(o), size_(normalized_shape) {
    RAS_CHECK(normalized_shape > 0 && o.eps > 0.0, "LayerNorm: expected normalized_shape > 0 and eps > 0 but got ",
              normalized_shape, " and ", o.eps);
    if (o.elementwise_affine) {
      weight = autograd::Var<S, 1, D>::parameter(Tensor<S, 1, D>::full({normalized_shape}, S(1)));
      bias = autograd::Var<S, 1, D>::parameter(Tensor<S, 1, D>({normalized_shape}));
    }
  }

  Index normalized_shape() const { return size_; }

  // x: (..., C) -> (..., C)
  template <int R>
  autograd::Var<S, R, D> forward(const autograd::Var<S, R, D>& x) const {
    RAS_CHECK(x.dim(R - 1) == size_, "LayerNorm: expected input (..., ", size_, ") but got shape ",
              shape_string(x.shape()));
    const bool affine = weight.defined();
    return autograd::layer_norm(x, affine ? &weight : nullptr, affine ? &bias : nullptr,
                                static_cast<S>(options.eps));
  }
  template <int R>
  autograd::Var<S, R, D> operator()(const autograd::Var<S, R, D>& x) const {
    return forward(x);
  }

  template <class V>
  void visit(V& v) {
    if (weight.defined()) {
      v.param("weight", weight);
      v.param("bias", bias);
    }
  }

 private:
  Index size_ = 0;
};

}  // namespace ras::nn
