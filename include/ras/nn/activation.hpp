// ras/nn/activation.hpp — parameter-free activation modules (mirrors torch.nn.ReLU, ReLU6, SiLU,
// Sigmoid; Swish is EfficientNet's name for SiLU, x * sigmoid(x)). Each is a thin wrapper over the
// functional op in autograd/ops_elementwise.hpp, usable wherever a module is expected (empty
// visit); in code that is not generic over modules, call ras::autograd::relu(x) etc. directly.
#pragma once

#include "ras/autograd/ops_elementwise.hpp"

namespace ras::nn {

// y = max(x, 0). x: (...) -> (...)
struct ReLU {
  template <class S, int R, class D>
  autograd::Var<S, R, D> operator()(const autograd::Var<S, R, D>& x) const {
    return autograd::relu(x);
  }
  template <class V>
  void visit(V&) {}
};

// y = min(max(x, 0), 6). x: (...) -> (...)
struct ReLU6 {
  template <class S, int R, class D>
  autograd::Var<S, R, D> operator()(const autograd::Var<S, R, D>& x) const {
    return autograd::relu6(x);
  }
  template <class V>
  void visit(V&) {}
};

// y = 1 / (1 + exp(-x)). x: (...) -> (...)
struct Sigmoid {
  template <class S, int R, class D>
  autograd::Var<S, R, D> operator()(const autograd::Var<S, R, D>& x) const {
    return autograd::sigmoid(x);
  }
  template <class V>
  void visit(V&) {}
};

// y = x * sigmoid(x). x: (...) -> (...)
struct SiLU {
  template <class S, int R, class D>
  autograd::Var<S, R, D> operator()(const autograd::Var<S, R, D>& x) const {
    return autograd::silu(x);
  }
  template <class V>
  void visit(V&) {}
};

// EfficientNet's MemoryEfficientSwish / Swish: the same function as SiLU.
using Swish = SiLU;

}  // namespace ras::nn
