// Layers, ops and optimisers against PyTorch: each fixture in tests/fixtures/layers/ (written by
// tests/fixtures/make_fixtures.py) holds inputs, parameters under their PyTorch names, the output
// and the gradients of sum(out * cot). Parameters are assigned through the module visitor, so a
// wrong name or shape fails the load. Float32 throughout: forward within 1e-5 and gradients within
// 1e-4 (relative, see close()); the optimiser fixtures replay two clipped steps.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "ras/autograd/ops_pool.hpp"
#include "ras/autograd/ops_reduce.hpp"
#include "ras/nn/attention.hpp"
#include "ras/nn/batchnorm.hpp"
#include "ras/nn/conv2d.hpp"
#include "ras/nn/embedding.hpp"
#include "ras/nn/layernorm.hpp"
#include "ras/nn/linear.hpp"
#include "ras/nn/optim.hpp"
#include "ras/testing/fixture.hpp"

namespace ag = ras::autograd;
namespace nn = ras::nn;
namespace optim = ras::optim;
using ras::Index;
using ras::testing::Fixture;

namespace {
constexpr double kForwardTol = 1e-5;
constexpr double kGradTol = 1e-4;

Fixture load(const std::string& name) { return Fixture(ras::testing::fixture_path("layers/" + name + ".safetensors")); }

// |got - ref| <= tol * (|ref| + mean |ref|) element-wise; returns "" or a description of the worst element.
std::string close(const float* got, Index n, const Fixture& f, const std::string& name, double tol) {
  auto ref = f.values<double>(name);
  if (static_cast<Index>(ref.size()) != n) {
    std::ostringstream s;
    s << name << ": expected " << ref.size() << " values but got " << n;
    return s.str();
  }
  double scale = 0;
  for (double r : ref) scale += std::abs(r) / static_cast<double>(n);
  double worst = 0;
  Index at = -1;
  for (Index i = 0; i < n; ++i) {
    const double r = ref[static_cast<std::size_t>(i)];
    double excess = std::abs(got[i] - r) / (std::abs(r) + scale);
    if (std::isnan(excess)) excess = INFINITY;
    if (excess > worst || at < 0) {
      worst = excess;
      at = i;
    }
  }
  if (worst <= tol) return "";
  std::ostringstream s;
  s << name << ": element " << at << " is " << got[at] << " but PyTorch gives " << ref[static_cast<std::size_t>(at)]
    << " (relative error " << worst << " > " << tol << ")";
  return s.str();
}
template <class T>
std::string close(const T& t, const Fixture& f, const std::string& name, double tol) {
  return close(t.data(), t.numel(), f, name, tol);
}

// CHECK_CLOSE(tensor, fixture, name, tol) or CHECK_CLOSE(pointer, count, fixture, name, tol)
#define CHECK_CLOSE(...)                          \
  do {                                            \
    const std::string msg_ = close(__VA_ARGS__);  \
    CHECK_MESSAGE(msg_.empty(), msg_);            \
  } while (0)

// Every parameter's gradient against "grad.<name>".
template <class M>
void check_param_grads(M& m, const Fixture& f) {
  for (auto& p : nn::named_parameters<float>(m)) {
    INFO("parameter ", p.name);
    REQUIRE(p.grad() != nullptr);
    CHECK_CLOSE(p.grad(), p.numel, f, "grad." + p.name, kGradTol);
  }
}
}  // namespace

TEST_CASE("reference: Linear") {
  auto f = load("linear");
  ras::Rng rng(0);
  nn::Linear<float> m(5, 4, rng);
  f.load_module(m);
  auto x = f.var<float, 3>("x");
  auto y = m(x);
  CHECK_CLOSE(y.value(), f, "out", kForwardTol);
  ag::backward(y, f.tensor<float, 3>("cot"));
  CHECK_CLOSE(x.grad(), f, "grad.x", kGradTol);
  check_param_grads(m, f);
}

TEST_CASE("reference: Conv2d with groups, stride 2 and asymmetric padding; depthwise Conv2d") {
  for (const char* name : {"conv2d_groups", "conv2d_depthwise"}) {
    INFO(name);
    auto f = load(name);
    auto pad = f.values<Index>("cfg.pad_tblr");
    auto w_shape = f.shape("weight");
    const Index groups = f.scalar<Index>("cfg.groups");
    ras::Rng rng(0);
    nn::Conv2d<float> m(w_shape[1] * groups, w_shape[0], w_shape[2], w_shape[3], rng,
                        {.stride = f.scalar<Index>("cfg.stride"), .padding_tblr = {pad[0], pad[1], pad[2], pad[3]},
                         .groups = groups});
    f.load_module(m);
    auto x = f.var<float, 4>("x");
    auto y = m(x);
    CHECK_CLOSE(y.value(), f, "out", kForwardTol);
    ag::backward(y, f.tensor<float, 4>("cot"));
    CHECK_CLOSE(x.grad(), f, "grad.x", kGradTol);
    check_param_grads(m, f);
  }
}

TEST_CASE("reference: BatchNorm2d in eval and train mode, with the running statistics after the step") {
  for (bool training : {false, true}) {
    INFO("training ", training);
    auto f = load(training ? "batchnorm_train" : "batchnorm_eval");
    nn::BatchNorm2d<float> m(3, {.eps = f.scalar<double>("cfg.eps"), .momentum = f.scalar<double>("cfg.momentum")});
    f.load_module(m);
    CHECK(*m.num_batches_tracked.data() == 5);
    m.set_training(training);
    auto x = f.var<float, 4>("x");
    auto y = m(x);
    CHECK_CLOSE(y.value(), f, "out", kForwardTol);
    CHECK_CLOSE(m.running_mean, f, "after.running_mean", kForwardTol);
    CHECK_CLOSE(m.running_var, f, "after.running_var", kForwardTol);
    CHECK(*m.num_batches_tracked.data() == f.scalar<std::int64_t>("after.num_batches_tracked"));
    ag::backward(y, f.tensor<float, 4>("cot"));
    CHECK_CLOSE(x.grad(), f, "grad.x", kGradTol);
    check_param_grads(m, f);
  }
}

TEST_CASE("reference: LayerNorm") {
  auto f = load("layernorm");
  nn::LayerNorm<float> m(8, {.eps = f.scalar<double>("cfg.eps")});
  f.load_module(m);
  auto x = f.var<float, 3>("x");
  auto y = m(x);
  CHECK_CLOSE(y.value(), f, "out", kForwardTol);
  ag::backward(y, f.tensor<float, 3>("cot"));
  CHECK_CLOSE(x.grad(), f, "grad.x", kGradTol);
  check_param_grads(m, f);
}

TEST_CASE("reference: MultiheadAttention (batch_first) with an additive mask holding -inf") {
  auto f = load("attention");
  ras::Rng rng(0);
  nn::MultiheadAttention<float> m(8, f.scalar<Index>("cfg.num_heads"), rng);
  f.load_module(m);
  auto q = f.var<float, 3>("query"), k = f.var<float, 3>("key"), v = f.var<float, 3>("value");
  auto mask = f.tensor<float, 2>("attn_mask");
  CHECK(std::isinf(mask(0, 1)));
  auto y = m(q, k, v, &mask);
  CHECK_CLOSE(y.value(), f, "out", kForwardTol);
  ag::backward(y, f.tensor<float, 3>("cot"));
  CHECK_CLOSE(q.grad(), f, "grad.query", kGradTol);
  CHECK_CLOSE(k.grad(), f, "grad.key", kGradTol);
  CHECK_CLOSE(v.grad(), f, "grad.value", kGradTol);
  check_param_grads(m, f);
}

TEST_CASE("reference: Embedding with repeated indices") {
  auto f = load("embedding");
  ras::Rng rng(0);
  nn::Embedding<float> m(10, 4, rng);
  f.load_module(m);
  auto y = m(f.values<Index>("indices"));
  CHECK_CLOSE(y.value(), f, "out", 0.0);
  ag::backward(y, f.tensor<float, 2>("cot"));
  check_param_grads(m, f);
}

TEST_CASE("reference: avg_pool2d with and without count_include_pad") {
  auto f = load("avg_pool2d");
  const Index k = f.scalar<Index>("cfg.kernel"), s = f.scalar<Index>("cfg.stride"), p = f.scalar<Index>("cfg.pad");
  for (bool include : {true, false}) {
    const std::string tag = include ? ".incl" : ".excl";
    INFO(tag);
    auto x = f.var<float, 4>("x");
    auto y = ag::avg_pool2d(x, ag::Pool2dArgs::square(k, s, p, include));
    CHECK_CLOSE(y.value(), f, "out" + tag, kForwardTol);
    ag::backward(y, f.tensor<float, 4>("cot" + tag));
    CHECK_CLOSE(x.grad(), f, "grad.x" + tag, kGradTol);
  }
}

TEST_CASE("reference: bilinear interpolate with and without align_corners") {
  auto f = load("interpolate_bilinear");
  auto hw = f.values<Index>("cfg.out_hw");
  for (bool align : {true, false}) {
    const std::string tag = align ? ".ac" : ".noac";
    INFO(tag);
    auto x = f.var<float, 4>("x");
    auto y = ag::interpolate_bilinear(x, hw[0], hw[1], align);
    CHECK_CLOSE(y.value(), f, "out" + tag, kForwardTol);
    ag::backward(y, f.tensor<float, 4>("cot" + tag));
    CHECK_CLOSE(x.grad(), f, "grad.x" + tag, kGradTol);
  }
}

TEST_CASE("reference: softmax over the last axis, plain and with an additive -inf mask") {
  auto f = load("softmax");
  auto mask = f.tensor<float, 2>("mask");
  for (bool masked : {false, true}) {
    const std::string tag = masked ? ".masked" : ".plain";
    INFO(tag);
    auto x = f.var<float, 4>("x");
    auto y = ag::softmax(x, masked ? &mask : nullptr);
    CHECK_CLOSE(y.value(), f, "out" + tag, kForwardTol);
    if (masked) CHECK(y.value()(1, 2, 3, 0) == 0.0f);  // a -inf entry is an exact zero
    ag::backward(y, f.tensor<float, 4>("cot" + tag));
    CHECK_CLOSE(x.grad(), f, "grad.x" + tag, kGradTol);
  }
}

namespace {
// Two steps of `opt` on Linear(5, 3), each: gradients of mean((lin(x) - target)^2) (compared with
// PyTorch's, then replaced by them), clip_grad_norm (norm and clipped gradients), step (parameters).
template <class Make>
void replay_optimizer(const std::string& name, Make make) {
  INFO(name);
  auto f = load(name);
  ras::Rng rng(0);
  nn::Linear<float> m(5, 3, rng);
  f.load_module(m, "step1.before.");
  auto params = nn::named_parameters<float>(m);
  auto opt = make(params, f);
  auto x = f.var<float, 2>("x", false), target = f.var<float, 2>("target", false);
  for (int step = 1; step <= 2; ++step) {
    const std::string pre = "step" + std::to_string(step) + ".";
    INFO("step ", step);
    nn::zero_grad(m);
    auto loss = ag::mse_loss(m(x), target);
    CHECK_CLOSE(loss.value(), f, pre + "loss", kForwardTol);
    ag::backward(loss);
    for (auto& p : params) {
      CHECK_CLOSE(p.grad(), p.numel, f, pre + "grad." + p.name, kGradTol);
      auto g = f.values<float>(pre + "grad." + p.name);
      std::copy(g.begin(), g.end(), p.grad());
    }
    const double total = optim::clip_grad_norm(params, f.scalar<double>("cfg.max_norm"));
    CHECK(total == doctest::Approx(f.scalar<double>(pre + "total_norm")).epsilon(1e-6));
    for (auto& p : params) CHECK_CLOSE(p.grad(), p.numel, f, pre + "clipped." + p.name, kForwardTol);
    opt.step();
    for (auto& p : params) CHECK_CLOSE(p.value, p.numel, f, pre + "after." + p.name, kForwardTol);
  }
}
}  // namespace

TEST_CASE("reference: AdamW, Adam and SGD (momentum, dampening, nesterov) steps with clip_grad_norm") {
  replay_optimizer("optim_adamw", [](auto& params, const Fixture& f) {
    auto betas = f.values<double>("cfg.betas");
    return optim::AdamW<float>(params, {.lr = f.scalar<double>("cfg.lr"), .beta1 = betas[0], .beta2 = betas[1],
                                        .eps = f.scalar<double>("cfg.eps"),
                                        .weight_decay = f.scalar<double>("cfg.weight_decay")});
  });
  replay_optimizer("optim_adam", [](auto& params, const Fixture& f) {
    auto betas = f.values<double>("cfg.betas");
    return optim::Adam<float>(params, {.lr = f.scalar<double>("cfg.lr"), .beta1 = betas[0], .beta2 = betas[1],
                                       .eps = f.scalar<double>("cfg.eps"),
                                       .weight_decay = f.scalar<double>("cfg.weight_decay")});
  });
  for (const char* name : {"optim_sgd", "optim_sgd_nesterov"}) {
    replay_optimizer(name, [](auto& params, const Fixture& f) {
      auto opt_or = [&](const char* key, double fallback) {
        return f.has(key) ? f.scalar<double>(key) : fallback;
      };
      return optim::SGD<float>(params, {.lr = f.scalar<double>("cfg.lr"), .momentum = opt_or("cfg.momentum", 0),
                                        .dampening = opt_or("cfg.dampening", 0),
                                        .weight_decay = opt_or("cfg.weight_decay", 0),
                                        .nesterov = opt_or("cfg.nesterov", 0) != 0});
    });
  }
}
