// Tests for the nn layer: initialisers, modules and their visitor names, train/eval, freezing,
// parameter counts, the optimisers' bookkeeping and clip_grad_norm, and a small MLP trained with
// AdamW. The comparisons with PyTorch are in test_reference_layers.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/nn/activation.hpp"
#include "ras/nn/attention.hpp"
#include "ras/nn/batchnorm.hpp"
#include "ras/nn/conv2d.hpp"
#include "ras/nn/embedding.hpp"
#include "ras/nn/init.hpp"
#include "ras/nn/layernorm.hpp"
#include "ras/nn/linear.hpp"
#include "ras/nn/module.hpp"
#include "ras/nn/optim.hpp"

namespace ag = ras::autograd;
namespace nn = ras::nn;
namespace optim = ras::optim;
using ras::Index;

namespace {
struct Moments {
  double mean = 0, var = 0, max_abs = 0;
};
template <class T>
Moments moments(const T& t) {
  Moments m;
  const Index n = t.numel();
  for (Index i = 0; i < n; ++i) m.mean += t.data()[i];
  m.mean /= static_cast<double>(n);
  for (Index i = 0; i < n; ++i) {
    const double d = t.data()[i] - m.mean;
    m.var += d * d;
    m.max_abs = std::max(m.max_abs, std::abs(static_cast<double>(t.data()[i])));
  }
  m.var /= static_cast<double>(n);
  return m;
}

template <class M>
std::vector<std::string> param_names(M& m) {
  std::vector<std::string> names;
  for (auto& p : nn::named_parameters<float>(m)) names.push_back(p.name);
  return names;
}

// A two-layer perceptron: fc2(relu(fc1(x))).
struct Mlp {
  nn::Linear<float> fc1, fc2;
  Mlp(Index in, Index hidden, Index out, ras::Rng& rng) : fc1(in, hidden, rng), fc2(hidden, out, rng) {}
  ag::Var<float, 2> operator()(const ag::Var<float, 2>& x) const { return fc2(ag::relu(fc1(x))); }
  template <class V>
  void visit(V& v) {
    v.module("fc1", fc1);
    v.module("fc2", fc2);
  }
};

// Nested modules with a list, as nn.ModuleList: names "blocks.0.weight", ...
struct Stack {
  std::vector<nn::Linear<float>> blocks;
  nn::BatchNorm2d<float> bn;
  nn::ReLU act;
  template <class V>
  void visit(V& v) {
    v.modules("blocks", blocks);
    v.module("bn", bn);
    v.module("act", act);
  }
};
}  // namespace

TEST_CASE("nn.init: fans, bounds and moments of the PyTorch initialisers") {
  ras::Rng rng(42);
  auto [fin, fout] = nn::init::fan_in_and_fan_out<4>({64, 32, 3, 3});
  CHECK(fin == 32 * 9);
  CHECK(fout == 64 * 9);

  // kaiming_uniform_(a = sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  ras::Tensor<float, 4> w({64, 32, 3, 3});
  nn::init::kaiming_uniform_(w, rng, std::sqrt(5.0));
  const double bound = 1.0 / std::sqrt(288.0);
  auto m = moments(w);
  CHECK(m.max_abs <= bound);
  CHECK(m.max_abs > 0.99 * bound);
  CHECK(std::abs(m.mean) < 0.02 * bound);
  CHECK(m.var == doctest::Approx(bound * bound / 3).epsilon(0.03));

  // kaiming_normal_ with relu gain: std = sqrt(2 / fan_in).
  nn::init::kaiming_normal_(w, rng, 0.0, nn::init::FanMode::fan_out, "relu");
  CHECK(moments(w).var == doctest::Approx(2.0 / 576).epsilon(0.03));

  ras::Tensor<double, 2> x({200, 300});
  nn::init::xavier_uniform_(x, rng, 2.0);
  const double xb = 2.0 * std::sqrt(6.0 / 500);
  m = moments(x);
  CHECK(m.max_abs <= xb);
  CHECK(m.var == doctest::Approx(xb * xb / 3).epsilon(0.03));

  nn::init::normal_(x, rng, 1.5, 0.5);
  m = moments(x);
  CHECK(m.mean == doctest::Approx(1.5).epsilon(0.01));
  CHECK(std::sqrt(m.var) == doctest::Approx(0.5).epsilon(0.02));

  nn::init::uniform_(x, rng, -3.0, -2.0);
  m = moments(x);
  CHECK(m.mean == doctest::Approx(-2.5).epsilon(0.01));
  CHECK(m.max_abs <= 3.0);

  nn::init::ones_(x);
  CHECK(moments(x).mean == 1.0);
  nn::init::zeros_(x);
  CHECK(moments(x).max_abs == 0.0);
  CHECK(nn::init::calculate_gain("tanh") == doctest::Approx(5.0 / 3.0));
  CHECK_THROWS_WITH_AS(nn::init::calculate_gain("gelu"), doctest::Contains("gelu"), ras::Error);
}

TEST_CASE("nn.Linear and nn.Conv2d: default initialisation, shapes and names") {
  ras::Rng rng(1);
  nn::Linear<float> lin(50, 30, rng);
  CHECK(lin.weight.shape() == ras::Shape<2>{30, 50});
  CHECK(lin.bias.shape() == ras::Shape<1>{30});
  CHECK(moments(lin.weight.value()).max_abs <= 1.0 / std::sqrt(50.0));
  CHECK(moments(lin.bias.value()).max_abs <= 1.0 / std::sqrt(50.0));
  CHECK(moments(lin.bias.value()).max_abs > 0.5 / std::sqrt(50.0));
  CHECK(param_names(lin) == std::vector<std::string>{"weight", "bias"});
  nn::Linear<float> nobias(5, 3, rng, false);
  CHECK(param_names(nobias) == std::vector<std::string>{"weight"});
  auto y = nobias(ag::Var<float, 3>(ras::Tensor<float, 3>({2, 4, 5})));
  CHECK(y.shape() == ras::Shape<3>{2, 4, 3});

  nn::Conv2d<float> conv(8, 12, 3, rng, {.stride = 2, .padding_tblr = {0, 1, 0, 1}, .groups = 4});
  CHECK(conv.weight.shape() == ras::Shape<4>{12, 2, 3, 3});
  CHECK(conv.args.pad_top == 0);
  CHECK(conv.args.pad_bottom == 1);
  CHECK(conv.args.groups == 4);
  CHECK(moments(conv.weight.value()).max_abs <= 1.0 / std::sqrt(18.0));
  auto z = conv(ag::Var<float, 4>(ras::Tensor<float, 4>({1, 8, 9, 9})));
  CHECK(z.shape() == ras::Shape<4>{1, 12, 4, 4});  // floor((9 + 0 + 1 - 3) / 2) + 1
  CHECK_THROWS_WITH_AS(nn::Conv2d<float>(6, 4, 3, rng, {.groups = 4}), doctest::Contains("groups=4"), ras::Error);
}

TEST_CASE("nn.named_parameters: PyTorch names of attention, nested and listed modules") {
  ras::Rng rng(2);
  nn::MultiheadAttention<float> mha(8, 2, rng);
  CHECK(param_names(mha) ==
        std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"});
  auto params = nn::named_parameters<float>(mha);
  CHECK(params[0].shape == std::vector<Index>{24, 8});
  CHECK(params[1].shape == std::vector<Index>{24});
  CHECK(moments(mha.in_proj_bias.value()).max_abs == 0.0);  // PyTorch zeroes both biases
  CHECK(moments(mha.out_proj.bias.value()).max_abs == 0.0);
  CHECK(moments(mha.in_proj_weight.value()).max_abs <= std::sqrt(6.0 / 32));  // xavier_uniform_

  nn::MultiheadAttention<float> nobias(8, 4, rng, false);
  CHECK(param_names(nobias) == std::vector<std::string>{"in_proj_weight", "out_proj.weight"});

  Stack s;
  s.blocks.emplace_back(4, 4, rng);
  s.blocks.emplace_back(4, 2, rng, false);
  s.bn = nn::BatchNorm2d<float>(3);
  CHECK(param_names(s) ==
        std::vector<std::string>{"blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "bn.weight", "bn.bias"});
  auto buffers = nn::named_buffers(s);
  REQUIRE(buffers.size() == 3);
  CHECK(buffers[0].name == "bn.running_mean");
  CHECK(buffers[1].name == "bn.running_var");
  CHECK(buffers[2].name == "bn.num_batches_tracked");
  CHECK(buffers[2].dtype == ras::DType::I64);
  CHECK(buffers[2].shape.empty());

  nn::Embedding<float> emb(10, 4, rng);
  CHECK(param_names(emb) == std::vector<std::string>{"weight"});
  CHECK(emb({1, 1, 9}).shape() == ras::Shape<2>{3, 4});
  nn::LayerNorm<float> ln(6);
  CHECK(param_names(ln) == std::vector<std::string>{"weight", "bias"});
}

TEST_CASE("nn.Embedding weight as a parameter matrix; activation modules") {
  ras::Rng rng(10);
  nn::Embedding<float> emb(5, 3, rng);
  ag::current_tape().clear();
  auto total = ag::sum(emb.weight);  // used directly, not through forward()
  ag::backward(total);
  CHECK(emb.weight.grad()(4, 2) == 1.0f);
  auto rows = emb({2, 2});
  CHECK(rows.value()(1, 0) == emb.weight.value()(2, 0));

  ag::Var<float, 1> x(ras::Tensor<float, 1>::from({3}, {-1.0f, 0.5f, 7.0f}));
  CHECK(nn::ReLU()(x).value()(0) == 0.0f);
  CHECK(nn::ReLU6()(x).value()(2) == 6.0f);
  CHECK(nn::Sigmoid()(x).value()(1) == doctest::Approx(1.0 / (1.0 + std::exp(-0.5))));
  CHECK(nn::Swish()(x).value()(1) == doctest::Approx(0.5 / (1.0 + std::exp(-0.5))));
}

TEST_CASE("nn.count_parameters: all and trainable only") {
  ras::Rng rng(3);
  nn::Linear<float> lin(5, 4, rng);
  CHECK(nn::count_parameters(lin) == 24);
  nn::MultiheadAttention<float> mha(8, 2, rng);
  CHECK(nn::count_parameters(mha) == 24 * 8 + 24 + 8 * 8 + 8);
  Mlp mlp(3, 7, 2, rng);
  CHECK(nn::count_parameters(mlp) == 3 * 7 + 7 + 7 * 2 + 2);
  mlp.fc1.weight.set_requires_grad(false);
  CHECK(nn::count_parameters(mlp, true) == 7 + 7 * 2 + 2);
}

TEST_CASE("nn.BatchNorm2d: train and eval toggle the statistics used and updated") {
  ras::Rng rng(4);
  nn::BatchNorm2d<float> bn(2, {.eps = 1e-3, .momentum = 0.01});
  CHECK(bn.training());
  auto xt = ras::Tensor<float, 4>::uninitialized({4, 2, 3, 3});
  ras::fill_normal(xt, rng, 3.0, 2.0);
  ag::Var<float, 4> x(std::move(xt));

  nn::eval(bn);
  CHECK(!bn.training());
  auto y_eval = bn(x);
  CHECK(*bn.num_batches_tracked.data() == 0);
  CHECK(bn.running_mean(0) == 0.0f);
  CHECK(bn.running_var(1) == 1.0f);
  // Eval with fresh statistics: y = x / sqrt(1 + eps).
  CHECK(y_eval.value()(1, 0, 2, 2) == doctest::Approx(x.value()(1, 0, 2, 2) / std::sqrt(1.001)));

  nn::train(bn);
  CHECK(bn.training());
  auto y_train = bn(x);
  CHECK(*bn.num_batches_tracked.data() == 1);
  double mean0 = 0;
  for (Index n = 0; n < 4; ++n)
    for (Index i = 0; i < 9; ++i) mean0 += x.value().data()[n * 18 + i] / 36.0;
  CHECK(bn.running_mean(0) == doctest::Approx(0.01 * mean0).epsilon(1e-4));
  // Training output is normalised per channel: mean 0, variance ~1.
  double s = 0;
  for (Index n = 0; n < 4; ++n)
    for (Index i = 0; i < 9; ++i) s += y_train.value().data()[n * 18 + i];
  CHECK(std::abs(s / 36) < 1e-5);

  // The module-level toggle reaches nested modules.
  Stack st;
  st.bn = nn::BatchNorm2d<float>(3);
  nn::eval(st);
  CHECK(!st.bn.training());
  nn::train(st);
  CHECK(st.bn.training());
}

TEST_CASE("nn.freeze: a frozen module records nothing on the tape") {
  ras::Rng rng(5);
  Mlp mlp(4, 8, 3, rng);
  ag::Var<float, 2> x(ras::Tensor<float, 2>::full({2, 4}, 0.5f));
  ag::current_tape().clear();
  {
    auto y = mlp(x);
    CHECK(y.requires_grad());
    CHECK(ag::current_tape().size() == 3);  // linear, relu, linear
  }
  ag::current_tape().clear();
  nn::freeze(mlp);
  CHECK(nn::count_parameters(mlp, true) == 0);
  auto y = mlp(x);
  CHECK(!y.requires_grad());
  CHECK(ag::current_tape().size() == 0);
  nn::set_requires_grad(mlp, true);
  CHECK(nn::count_parameters(mlp, true) == nn::count_parameters(mlp));
}

TEST_CASE("optim.clip_grad_norm: total 2-norm, scaling only above max_norm") {
  ras::Rng rng(6);
  nn::Linear<float> lin(1, 2, rng);  // weight (2, 1), bias (2)
  auto params = nn::named_parameters<float>(lin);
  CHECK(optim::clip_grad_norm(params, 1.0) == 0.0);  // no gradients yet
  lin.weight.grad()(0, 0) = 3.0f;
  lin.weight.grad()(1, 0) = 0.0f;
  lin.bias.grad()(0) = 0.0f;
  lin.bias.grad()(1) = 4.0f;
  CHECK(optim::clip_grad_norm(params, 10.0) == doctest::Approx(5.0));
  CHECK(lin.weight.grad()(0, 0) == 3.0f);  // untouched below max_norm
  CHECK(optim::clip_grad_norm(params, 1.0) == doctest::Approx(5.0));
  CHECK(lin.weight.grad()(0, 0) == doctest::Approx(3.0 / (5.0 + 1e-6)));
  CHECK(lin.bias.grad()(1) == doctest::Approx(4.0 / (5.0 + 1e-6)));
  CHECK(optim::clip_grad_norm(params, 1.0) == doctest::Approx(1.0));
}

TEST_CASE("optim: state names, parameters without gradients are skipped") {
  ras::Rng rng(7);
  nn::Linear<float> lin(3, 2, rng);
  auto bias_before = lin.bias.value().clone();
  auto weight_before = lin.weight.value().clone();
  optim::AdamW<float> opt(nn::named_parameters<float>(lin), {.lr = 0.1});
  auto st = opt.state_tensors();
  REQUIRE(st.size() == 4);
  CHECK(st[0].first == "exp_avg.weight");
  CHECK(st[1].first == "exp_avg_sq.weight");
  CHECK(st[3].first == "exp_avg_sq.bias");
  CHECK(st[0].second->numel() == 6);
  auto sb = opt.state_buffers();
  REQUIRE(sb.size() == 6);
  CHECK(sb[0].shape == std::vector<Index>{2, 3});
  CHECK(sb[2].name == "step.weight");
  CHECK(sb[2].dtype == ras::DType::I64);

  lin.weight.grad().fill(1.0f);  // the bias gets no gradient
  opt.step();
  CHECK(opt.step_count("weight") == 1);
  CHECK(opt.step_count("bias") == 0);
  CHECK(*static_cast<std::int64_t*>(sb[2].data) == 1);
  for (Index i = 0; i < 2; ++i) CHECK(lin.bias.value()(i) == bias_before(i));
  // First AdamW step: p (1 - lr wd) - lr sign(g).
  CHECK(lin.weight.value()(1, 2) == doctest::Approx(weight_before(1, 2) * (1 - 0.1 * 0.01) - 0.1).epsilon(1e-5));
  CHECK((*st[0].second)(0) == doctest::Approx(0.1));   // exp_avg = (1 - beta1) g
  CHECK((*st[1].second)(0) == doctest::Approx(1e-3));  // exp_avg_sq = (1 - beta2) g^2
  CHECK_THROWS_WITH_AS(opt.step_count("nope"), doctest::Contains("nope"), ras::Error);
  opt.zero_grad();
  CHECK(lin.weight.grad()(0, 0) == 0.0f);

  // Plain SGD: p -= lr g; a parameter frozen at construction gets its state on first use.
  lin.bias.set_requires_grad(false);
  optim::SGD<float> sgd(nn::named_parameters<float>(lin), {.lr = 0.5});
  CHECK(sgd.state_buffers().size() == 1);  // step.weight only (no momentum buffer)
  lin.bias.grad().fill(2.0f);
  sgd.step();
  CHECK(lin.bias.value()(0) == doctest::Approx(bias_before(0) - 1.0));
  CHECK(sgd.step_count("bias") == 1);
  CHECK_THROWS_WITH_AS(optim::SGD<float>(nn::named_parameters<float>(lin), {.lr = -1.0}),
                       doctest::Contains("-1"), ras::Error);
}

TEST_CASE("optim: restoring the exposed state continues the run exactly") {
  // Model a takes two Adam steps with one optimiser; model b takes the first step with one
  // optimiser, then its state is copied (by name) into a fresh optimiser that takes the second.
  auto run = [](bool restore) {
    ras::Rng rng(9);
    nn::Linear<float> m(4, 3, rng);
    auto params = nn::named_parameters<float>(m);
    auto set_grads = [&](float v) {
      for (auto& p : params)
        for (Index i = 0; i < p.numel; ++i) p.grad_or_zeros()[i] = v * static_cast<float>(i % 3 + 1) - 0.1f;
    };
    optim::Adam<float> first(params, {.lr = 0.05, .weight_decay = 0.1});
    set_grads(1.0f);
    first.step();
    set_grads(-0.5f);
    if (!restore) {
      first.step();
    } else {
      optim::Adam<float> second(params, {.lr = 0.05, .weight_decay = 0.1});
      auto from = first.state_buffers(), to = second.state_buffers();
      REQUIRE(from.size() == to.size());
      for (std::size_t i = 0; i < from.size(); ++i) {
        REQUIRE(from[i].name == to[i].name);
        std::memcpy(to[i].data, from[i].data, ras::numel(from[i].shape) * ras::dtype_size(from[i].dtype));
      }
      CHECK(second.step_count("weight") == 1);
      second.step();
    }
    return m.weight.value().clone();
  };
  auto a = run(false), b = run(true);
  for (Index i = 0; i < a.numel(); ++i) CHECK(a.data()[i] == b.data()[i]);
}

TEST_CASE("optim.AdamW: a small MLP's loss falls") {
  ras::Rng rng(8);
  Mlp mlp(2, 16, 1, rng);
  // Regress y = sin(2 x0) + x1^2 on 64 fixed points.
  auto xt = ras::Tensor<float, 2>::uninitialized({64, 2});
  ras::fill_uniform(xt, rng, -1.0, 1.0);
  auto yt = ras::Tensor<float, 2>::uninitialized({64, 1});
  for (Index i = 0; i < 64; ++i) yt(i, 0) = std::sin(2 * xt(i, 0)) + xt(i, 1) * xt(i, 1);
  ag::Var<float, 2> x(std::move(xt)), y(std::move(yt));
  optim::AdamW<float> opt(nn::named_parameters<float>(mlp), {.lr = 1e-2, .weight_decay = 1e-4});
  float first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    nn::zero_grad(mlp);
    auto loss = ag::mse_loss(mlp(x), y);
    if (step == 0) first = loss.value().data()[0];
    last = loss.value().data()[0];
    ag::backward(loss);
    optim::clip_grad_norm(nn::named_parameters<float>(mlp), 5.0);
    opt.step();
  }
  MESSAGE("MLP loss " << first << " -> " << last);
  CHECK(last < 0.1f * first);
  CHECK(opt.step_count("fc2.bias") == 300);
}
