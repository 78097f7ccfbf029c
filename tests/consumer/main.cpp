// Downstream consumer of an installed ras: trains a 2-layer MLP with AdamW on a toy regression
// (y = sin(3 x0) + x1^2) and exits 0 only if the loss fell by at least 10x.
#include <cmath>
#include <cstdio>

#include <ras/ras.hpp>

// A module: parameters are named through visit(), as torch.nn.Module names them.
struct Mlp {
  ras::nn::Linear<float> fc1, fc2;
  template <class V>
  void visit(V& v) {
    v.module("fc1", fc1);
    v.module("fc2", fc2);
  }
};

int main() {
  namespace ag = ras::autograd;
  ras::Rng rng(42);
  const ras::Index n = 256;
  ras::Tensor<float, 2> x({n, 2});
  ras::Tensor<float, 2> y({n, 1});
  for (ras::Index i = 0; i < n; ++i) {
    x(i, 0) = static_cast<float>(rng.uniform(-1, 1));
    x(i, 1) = static_cast<float>(rng.uniform(-1, 1));
    y(i, 0) = std::sin(3 * x(i, 0)) + x(i, 1) * x(i, 1);
  }
  Mlp mlp{ras::nn::Linear<float>(2, 64, rng), ras::nn::Linear<float>(64, 1, rng)};
  ras::optim::AdamW<float> opt(ras::nn::named_parameters<float>(mlp), {.lr = 1e-2, .weight_decay = 1e-4});
  ag::Var<float, 2> input(std::move(x)), target(std::move(y));
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    auto loss = ag::mse_loss(mlp.fc2(ag::relu(mlp.fc1(input))), target);
    last = *loss.value().data();
    if (step == 0) first = last;
    ag::backward(loss);
    opt.step();
    ras::nn::zero_grad(mlp);
  }
  std::printf("mlp_regression: loss %.5f -> %.5f\n", first, last);
  return last < first / 10 ? 0 : 1;
}
