// ras/nn/batchnorm.hpp — nn::BatchNorm2d (mirrors torch.nn.BatchNorm2d: parameters "weight",
// "bias" (C) and buffers "running_mean", "running_var" (C) and "num_batches_tracked" (int64,
// rank 0)). Training mode (the default, as in PyTorch) normalises with batch statistics and
// updates the running ones (running = (1 - momentum) running + momentum batch, unbiased variance);
// eval mode uses the running statistics. eps and momentum are options: EfficientNet uses
// 1e-3 / 0.01 where PyTorch's defaults are 1e-5 / 0.1.
#pragma once

#include <cstdint>

#include "ras/autograd/ops_norm.hpp"

namespace ras::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;  // learnable weight and bias
};

template <class S, class D = Cpu>
class BatchNorm2d {
 public:
  autograd::Var<S, 1, D> weight;  // (C), ones; undefined when affine = false
  autograd::Var<S, 1, D> bias;    // (C), zeros; undefined when affine = false
  Tensor<S, 1, D> running_mean;   // (C), zeros
  Tensor<S, 1, D> running_var;    // (C), ones
  Tensor<std::int64_t, 0, D> num_batches_tracked;  // ()
  BatchNormOptions options;

  BatchNorm2d() = default;
  explicit BatchNorm2d(Index num_features, const BatchNormOptions& o = {}) : options(o) {
    RAS_CHECK(num_features > 0, "BatchNorm2d: expected num_features > 0 but got ", num_features);
    RAS_CHECK(o.eps > 0.0 && o.momentum >= 0.0 && o.momentum <= 1.0,
              "BatchNorm2d: expected eps > 0 and 0 <= momentum <= 1 but got eps=", o.eps,
              " momentum=", o.momentum);
    if (o.affine) {
      weight = autograd::Var<S, 1, D>::parameter(Tensor<S, 1, D>::full({num_features}, S(1)));
      bias = autograd::Var<S, 1, D>::parameter(Tensor<S, 1, D>({num_features}));
    }
    running_mean = Tensor<S, 1, D>({num_features});
    running_var = Tensor<S, 1, D>::full({num_features}, S(1));
    num_batches_tracked = Tensor<std::int64_t, 0, D>(Shape<0>{});
  }

  Index num_features() const { return running_mean.dim(0); }
  // Writes only on a change, so concurrent eval() calls on an already-eval frozen backbone (one
  // image per thread) only read the flag.
  void set_training(bool on) {
    if (training_ != on) training_ = on;
  }
  bool training() const { return training_; }

  // x: (N, C, H, W) -> (N, C, H, W); in training mode also updates the running statistics.
  autograd::Var<S, 4, D> forward(const autograd::Var<S, 4, D>& x) {
    RAS_CHECK(x.dim(1) == num_features(), "BatchNorm2d: expected input with ", num_features(),
              " channels but got shape ", shape_string(x.shape()));
    const bool affine = weight.defined();
    auto y = autograd::batch_norm(x, affine ? &weight : nullptr, affine ? &bias : nullptr, running_mean,
                                  running_var, training_, static_cast<S>(options.momentum),
                                  static_cast<S>(options.eps));
    if (training_) {
      if constexpr (is_host_device<D>) ++*num_batches_tracked.data();
      else num_batches_tracked.fill(num_batches_tracked.item() + 1);  // device memory: no host access
    }
    return y;
  }
  autograd::Var<S, 4, D> operator()(const autograd::Var<S, 4, D>& x) { return forward(x); }

  template <class V>
  void visit(V& v) {
    if (weight.defined()) {
      v.param("weight", weight);
      v.param("bias", bias);
    }
    v.buffer("running_mean", running_mean);
    v.buffer("running_var", running_var);
    v.buffer("num_batches_tracked", num_batches_tracked);
  }

 private:
  bool training_ = true;
};

}  // namespace ras::nn
