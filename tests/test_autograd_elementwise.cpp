// Tests for the element-wise, reduction and loss autograd ops (ops_elementwise.hpp,
// ops_reduce.hpp): forward values against hand-computed or naive loops, gradient checks in double
// (which also verify that backward adds into existing gradients), float smoke tests, and errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ras/testing/gradcheck.hpp"
#include "ras/autograd/ops_elementwise.hpp"
#include "ras/autograd/ops_reduce.hpp"

namespace ag = ras::autograd;
using ras::Index;
template <int R>
using V = ag::Var<double, R>;
template <int R>
using T = ras::Tensor<double, R>;

namespace {
template <int R>
V<R> random_var(const ras::Shape<R>& shape, std::uint64_t seed, bool requires_grad = true,
                double lo = -2.0, double hi = 2.0) {
  ras::Rng rng(seed);
  auto t = T<R>::uninitialized(shape);
  ras::fill_uniform(t, rng, lo, hi);
  return V<R>(std::move(t), requires_grad);
}
template <int R>
V<R> var_from(const ras::Shape<R>& shape, const std::vector<double>& values, bool requires_grad = true) {
  return V<R>(T<R>::from(shape, values), requires_grad);
}
// Random values kept at least `gap` away from each kink.
V<2> away_from(const std::vector<double>& kinks, std::uint64_t seed, double gap = 0.1) {
  auto v = random_var<2>({4, 5}, seed, true, -1.0, 7.0);
  for (Index i = 0; i < v.numel(); ++i) {
    double& x = v.value().data()[i];
    for (double k : kinks)
      if (std::abs(x - k) < gap) x = k + (x < k ? -gap : gap);
  }
  return v;
}
template <class Var>
void check_values(const Var& v, const std::vector<double>& expected, double tol = 1e-12) {
  REQUIRE(v.numel() == static_cast<Index>(expected.size()));
  for (Index i = 0; i < v.numel(); ++i)
    CHECK(v.value().data()[i] == doctest::Approx(expected[static_cast<std::size_t>(i)]).epsilon(tol));
}
#define GRADCHECK(...)                               \
  do {                                               \
    auto report_ = ag::gradcheck(__VA_ARGS__);       \
    CHECK_MESSAGE(report_.ok, report_.message);      \
  } while (0)
}  // namespace

TEST_CASE("autograd elementwise: add, sub, mul, div values and gradients") {
  auto a = var_from<2>({2, 2}, {1, 2, 3, 4});
  auto b = var_from<2>({2, 2}, {0.5, -1, 2, 8});
  check_values(ag::add(a, b), {1.5, 1, 5, 12});
  check_values(ag::sub(a, b), {0.5, 3, 1, -4});
  check_values(ag::mul(a, b), {0.5, -2, 6, 32});
  check_values(ag::div(a, b), {2, -2, 1.5, 0.5});

  auto x = random_var<3>({2, 3, 4}, 1), y = random_var<3>({2, 3, 4}, 2);
  auto yp = random_var<3>({2, 3, 4}, 3, true, 0.5, 2.0);  // keep the divisor away from 0
  GRADCHECK([](auto& p, auto& q) { return ag::add(p, q); }, x, y);
  GRADCHECK([](auto& p, auto& q) { return ag::sub(p, q); }, x, y);
  GRADCHECK([](auto& p, auto& q) { return ag::mul(p, q); }, x, y);
  GRADCHECK([](auto& p, auto& q) { return ag::div(p, q); }, x, yp);
  // The same variable on both sides: both contributions accumulate.
  GRADCHECK([](auto& p) { return ag::mul(p, p); }, x);
  GRADCHECK([](auto& p) { return ag::sub(ag::add(p, p), ag::div(p, p)); }, yp);
  // One input held constant receives no gradient.
  auto c = random_var<3>({2, 3, 4}, 4, false);
  GRADCHECK([&c](auto& p) { return ag::mul(p, c); }, x);
  CHECK(!c.has_grad());
}

TEST_CASE("autograd elementwise: scalar and rank-0 broadcasts") {
  auto a = var_from<1>({3}, {1, -2, 3});
  check_values(ag::add_scalar(a, 0.5), {1.5, -1.5, 3.5});
  check_values(ag::mul_scalar(a, -2), {-2, 4, -6});
  auto s = V<0>(T<0>::from({}, {3.0}), true);
  check_values(ag::mul(a, s), {3, -6, 9});

  auto x = random_var<3>({2, 3, 4}, 5);
  GRADCHECK([](auto& p) { return ag::add_scalar(p, 1.25); }, x);
  GRADCHECK([](auto& p) { return ag::mul_scalar(p, -0.75); }, x);
  GRADCHECK([](auto& p, auto& q) { return ag::mul(p, q); }, x, s);
  // Rank-0 times rank-0 is the same-shape product.
  auto t = V<0>(T<0>::from({}, {-1.5}), true);
  GRADCHECK([](auto& p, auto& q) { return ag::mul(p, q); }, s, t);
}

TEST_CASE("autograd elementwise: row and channel broadcasts against naive loops") {
  auto x = random_var<4>({2, 3, 2, 5}, 6);
  auto v3 = random_var<1>({3}, 7), v5 = random_var<1>({5}, 8);
  auto s = random_var<2>({2, 3}, 9);
  auto row_add = ag::add_rowvec(x, v5), row_mul = ag::mul_rowvec(x, v5);
  auto ch_add = ag::add_channel(x, v3), ch_mul = ag::mul_channel(x, v3);
  auto se = ag::scale_channels(x, s);
  const auto& X = x.value();
  for (Index n = 0; n < 2; ++n)
    for (Index c = 0; c < 3; ++c)
      for (Index h = 0; h < 2; ++h)
        for (Index w = 0; w < 5; ++w) {
          const double xv = X(n, c, h, w);
          CHECK(row_add.value()(n, c, h, w) == doctest::Approx(xv + v5.value()(w)));
          CHECK(row_mul.value()(n, c, h, w) == doctest::Approx(xv * v5.value()(w)));
          CHECK(ch_add.value()(n, c, h, w) == doctest::Approx(xv + v3.value()(c)));
          CHECK(ch_mul.value()(n, c, h, w) == doctest::Approx(xv * v3.value()(c)));
          CHECK(se.value()(n, c, h, w) == doctest::Approx(xv * s.value()(n, c)));
        }
  GRADCHECK([](auto& p, auto& q) { return ag::add_rowvec(p, q); }, x, v5);
  GRADCHECK([](auto& p, auto& q) { return ag::mul_rowvec(p, q); }, x, v5);
  GRADCHECK([](auto& p, auto& q) { return ag::add_channel(p, q); }, x, v3);
  GRADCHECK([](auto& p, auto& q) { return ag::mul_channel(p, q); }, x, v3);
  GRADCHECK([](auto& p, auto& q) { return ag::scale_channels(p, q); }, x, s);
  // Rank-2 channel op (N, C) and a row vector wider than one 64-column block.
  auto x2 = random_var<2>({4, 3}, 10);
  GRADCHECK([](auto& p, auto& q) { return ag::mul_channel(p, q); }, x2, v3);
  auto wide = random_var<2>({3, 70}, 11);
  auto v70 = random_var<1>({70}, 12);
  GRADCHECK([](auto& p, auto& q) { return ag::mul_rowvec(p, q); }, wide, v70);
}

TEST_CASE("autograd elementwise: large broadcasts take the threaded paths") {
  // 300 x 130 = 39000 elements (above kernels::parallel_grain); gradients against naive sums.
  auto x = random_var<2>({300, 130}, 13);
  auto v = random_var<1>({130}, 14);
  auto y = ag::mul_rowvec(x, v);
  auto cot = T<2>::full({300, 130}, 1.0);
  ag::backward(y, cot);
  for (Index c = 0; c < 130; c += 43) {
    double gv = 0;
    for (Index r = 0; r < 300; ++r) gv += x.value()(r, c);
    CHECK(v.grad()(c) == doctest::Approx(gv));
    CHECK(x.grad()(7, c) == doctest::Approx(v.value()(c)));
  }
  auto big = random_var<4>({2, 8, 50, 50}, 15);
  auto g = random_var<1>({8}, 16);
  auto z = ag::sum(ag::add_channel(big, g));
  ag::backward(z);
  CHECK(g.grad()(3) == doctest::Approx(2.0 * 50 * 50));
  CHECK(big.grad()(1, 7, 49, 49) == doctest::Approx(1.0));
}

TEST_CASE("autograd elementwise: expand_leading") {
  auto x = var_from<2>({1, 2}, {1, 2});
  auto y = ag::expand_leading(x, 3);
  CHECK(y.shape() == ras::Shape<3>{3, 1, 2});
  check_values(y, {1, 2, 1, 2, 1, 2});
  auto r = random_var<2>({3, 4}, 17);
  GRADCHECK([](auto& p) { return ag::expand_leading(p, 5); }, r);
  CHECK_THROWS_AS(ag::expand_leading(r, -1), ras::Error);
}

TEST_CASE("autograd elementwise: activations values and PyTorch boundary gradients") {
  auto x = var_from<1>({6}, {-1, 0, 2, 6, 7, 4});
  check_values(ag::relu(x), {0, 0, 2, 6, 7, 4});
  check_values(ag::relu6(x), {0, 0, 2, 6, 6, 4});
  auto s = ag::sigmoid(x);
  check_values(s, {1 / (1 + std::exp(1.0)), 0.5, 1 / (1 + std::exp(-2.0)), 1 / (1 + std::exp(-6.0)),
                   1 / (1 + std::exp(-7.0)), 1 / (1 + std::exp(-4.0))});
  check_values(ag::silu(x), {-1 / (1 + std::exp(1.0)), 0, 2 / (1 + std::exp(-2.0)),
                             6 / (1 + std::exp(-6.0)), 7 / (1 + std::exp(-7.0)), 4 / (1 + std::exp(-4.0))});
  check_values(ag::square(x), {1, 0, 4, 36, 49, 16});
  auto p = var_from<1>({3}, {4, 0.25, 9});
  check_values(ag::sqrt(p), {2, 0.5, 3});

  // relu'(0) = 0; relu6'(0) = relu6'(6) = 0 (torch: threshold_backward, hardtanh_backward)
  auto r = ag::relu(x);
  ag::backward(r, T<1>::full({6}, 1.0));
  check_values(ag::Var<double, 1>(x.grad().clone()), {0, 0, 1, 1, 1, 1});
  x.clear_grad();
  auto r6 = ag::relu6(x);
  ag::backward(r6, T<1>::full({6}, 1.0));
  check_values(ag::Var<double, 1>(x.grad().clone()), {0, 0, 1, 0, 0, 1});

  auto xr = away_from({0.0}, 18);
  GRADCHECK([](auto& q) { return ag::relu(q); }, xr);
  auto xr6 = away_from({0.0, 6.0}, 19);
  GRADCHECK([](auto& q) { return ag::relu6(q); }, xr6);
  auto xs = random_var<3>({2, 3, 4}, 20, true, -4.0, 4.0);
  GRADCHECK([](auto& q) { return ag::sigmoid(q); }, xs);
  GRADCHECK([](auto& q) { return ag::silu(q); }, xs);
  GRADCHECK([](auto& q) { return ag::square(q); }, xs);
  auto xp = random_var<3>({2, 3, 4}, 21, true, 0.2, 3.0);
  GRADCHECK([](auto& q) { return ag::sqrt(q); }, xp);
  // Chains of ops that save their outputs.
  GRADCHECK([](auto& q) { return ag::sigmoid(ag::sqrt(ag::relu(q))); }, xp);
}

TEST_CASE("autograd reduce: sum, mean, sum_axis, mean_axis against naive sums") {
  auto x = random_var<3>({2, 3, 4}, 22);
  const auto& X = x.value();
  double total = 0;
  for (Index i = 0; i < x.numel(); ++i) total += X.data()[i];
  CHECK(ag::sum(x).value().data()[0] == doctest::Approx(total));
  CHECK(ag::mean(x).value().data()[0] == doctest::Approx(total / 24));

  auto s0 = ag::sum_axis(x, 0), s1 = ag::sum_axis(x, 1), s2 = ag::sum_axis(x, -1);
  auto m1 = ag::mean_axis(x, -2);
  CHECK(s0.shape() == ras::Shape<2>{3, 4});
  CHECK(s1.shape() == ras::Shape<2>{2, 4});
  CHECK(s2.shape() == ras::Shape<2>{2, 3});
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 3; ++j)
      for (Index k = 0; k < 4; ++k) {
        double a0 = 0, a1 = 0, a2 = 0;
        for (Index t = 0; t < 2; ++t) a0 += X(t, j, k);
        for (Index t = 0; t < 3; ++t) a1 += X(i, t, k);
        for (Index t = 0; t < 4; ++t) a2 += X(i, j, t);
        CHECK(s0.value()(j, k) == doctest::Approx(a0));
        CHECK(s1.value()(i, k) == doctest::Approx(a1));
        CHECK(s2.value()(i, j) == doctest::Approx(a2));
        CHECK(m1.value()(i, k) == doctest::Approx(a1 / 3));
      }
  GRADCHECK([](auto& p) { return ag::sum(p); }, x);
  GRADCHECK([](auto& p) { return ag::mean(p); }, x);
  for (int axis : {0, 1, 2, -1}) {
    GRADCHECK([axis](auto& p) { return ag::sum_axis(p, axis); }, x);
    GRADCHECK([axis](auto& p) { return ag::mean_axis(p, axis); }, x);
  }
  // A wide inner extent (more than one 256-column block) and a rank-1 input (-> rank 0).
  auto w = random_var<2>({3, 300}, 23);
  GRADCHECK([](auto& p) { return ag::sum_axis(p, 0); }, w);
  auto v = random_var<1>({5}, 24);
  GRADCHECK([](auto& p) { return ag::mean_axis(p, 0); }, v);

  CHECK_THROWS_WITH_AS(ag::sum_axis(x, 3), doctest::Contains("(2, 3, 4)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::mean_axis(x, -4), doctest::Contains("axis -4"), ras::Error);
}

TEST_CASE("autograd reduce: softmax values, stability and gradients") {
  auto x = var_from<2>({2, 3}, {1, 2, 3, 1000, 1000, 1000});
  auto y = ag::softmax(x);
  const double e1 = std::exp(-2.0), e2 = std::exp(-1.0), z = e1 + e2 + 1;
  check_values(y, {e1 / z, e2 / z, 1 / z, 1.0 / 3, 1.0 / 3, 1.0 / 3});

  auto r = random_var<4>({2, 2, 3, 5}, 25);
  GRADCHECK([](auto& p) { return ag::softmax(p); }, r);
  auto r1 = random_var<1>({6}, 26);
  GRADCHECK([](auto& p) { return ag::softmax(p); }, r1);
}

TEST_CASE("autograd reduce: softmax with an additive -inf mask") {
  const double inf = std::numeric_limits<double>::infinity();
  // (Lq, L) = (3, 4): a causal-like mask with a finite bias in one entry.
  auto mask = T<2>::from({3, 4}, {0, -inf, -inf, -inf,  //
                                  0, 0.5, -inf, -inf,   //
                                  0, 0, 0, -inf});
  auto x = random_var<4>({2, 2, 3, 4}, 27);
  auto y = ag::softmax(x, &mask);
  const auto& X = x.value();
  for (Index b = 0; b < 2; ++b)
    for (Index h = 0; h < 2; ++h)
      for (Index q = 0; q < 3; ++q) {
        double total = 0, ref_z = 0;
        for (Index l = 0; l <= q; ++l) ref_z += std::exp(X(b, h, q, l) + mask(q, l));
        for (Index l = 0; l < 4; ++l) {
          const double yv = y.value()(b, h, q, l);
          total += yv;
          if (l > q) {
            CHECK(yv == 0.0);
          } else {
            CHECK(yv == doctest::Approx(std::exp(X(b, h, q, l) + mask(q, l)) / ref_z));
          }
        }
        CHECK(total == doctest::Approx(1.0));
      }
  GRADCHECK([&mask](auto& p) { return ag::softmax(p, &mask); }, x);
  // Masked positions get exactly zero gradient.
  x.clear_grad();
  auto y2 = ag::softmax(x, mask);
  auto cot = T<4>::full(y2.shape(), 1.0);
  cot(0, 0, 1, 0) = 3.0;
  ag::backward(y2, cot);
  CHECK(x.grad()(0, 0, 0, 3) == 0.0);
  CHECK(x.grad()(1, 1, 1, 2) == 0.0);
  CHECK(std::isfinite(x.grad()(0, 0, 1, 0)));

  // Documented behaviour: a row whose entries are all -inf becomes NaN (as PyTorch).
  auto full_mask = T<2>::from({2, 2}, {-inf, -inf, 0, -inf});
  auto xs = var_from<2>({2, 2}, {0.3, -0.1, 0.7, 0.2});
  auto ys = ag::softmax(xs, &full_mask);
  CHECK(std::isnan(ys.value()(0, 0)));
  CHECK(std::isnan(ys.value()(0, 1)));
  CHECK(ys.value()(1, 0) == 1.0);
  CHECK(ys.value()(1, 1) == 0.0);

  auto bad = T<2>({4, 4});
  CHECK_THROWS_WITH_AS(ag::softmax(x, &bad), doctest::Contains("(3, 4)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::softmax(x, &bad), doctest::Contains("(4, 4)"), ras::Error);
}

TEST_CASE("autograd reduce: l2_norm, global_avg_pool, mse_loss") {
  auto x = var_from<2>({2, 3}, {3, 4, 0, 0, 0, 0});
  auto n1 = ag::l2_norm(x, 1);
  check_values(n1, {5, 0});
  check_values(ag::l2_norm(x, 0), {3, 4, 0});
  // Zero norm: gradient 0, not NaN.
  ag::backward(n1, T<1>::full({2}, 1.0));
  check_values(ag::Var<double, 2>(x.grad().clone()), {0.6, 0.8, 0, 0, 0, 0});
  auto r = random_var<3>({2, 3, 4}, 28);
  for (int axis : {0, 1, -1}) GRADCHECK([axis](auto& p) { return ag::l2_norm(p, axis); }, r);
  CHECK_THROWS_AS(ag::l2_norm(r, 3), ras::Error);

  auto img = random_var<4>({2, 3, 4, 5}, 29);
  auto g = ag::global_avg_pool(img);
  CHECK(g.shape() == ras::Shape<2>{2, 3});
  for (Index n = 0; n < 2; ++n)
    for (Index c = 0; c < 3; ++c) {
      double s = 0;
      for (Index h = 0; h < 4; ++h)
        for (Index w = 0; w < 5; ++w) s += img.value()(n, c, h, w);
      CHECK(g.value()(n, c) == doctest::Approx(s / 20));
    }
  GRADCHECK([](auto& p) { return ag::global_avg_pool(p); }, img);

  auto a = var_from<2>({2, 2}, {1, 2, 3, 4});
  auto b = var_from<2>({2, 2}, {1, 0, 5, 1});
  CHECK(ag::mse_loss(a, b).value().data()[0] == doctest::Approx((0 + 4 + 4 + 9) / 4.0));
  auto p = random_var<3>({2, 3, 4}, 30), q = random_var<3>({2, 3, 4}, 31);
  GRADCHECK([](auto& u, auto& v) { return ag::mse_loss(u, v); }, p, q);
  auto q2 = random_var<3>({2, 4, 3}, 32);
  CHECK_THROWS_WITH_AS(ag::mse_loss(p, q2), doctest::Contains("(2, 3, 4)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::mse_loss(p, q2), doctest::Contains("(2, 4, 3)"), ras::Error);
}

TEST_CASE("autograd elementwise: shape errors name both shapes") {
  auto a = random_var<2>({2, 3}, 1), b = random_var<2>({3, 2}, 2);
  for (auto f : {+[](const V<2>& p, const V<2>& q) { return ag::add(p, q); },
                 +[](const V<2>& p, const V<2>& q) { return ag::sub(p, q); },
                 +[](const V<2>& p, const V<2>& q) { return ag::mul(p, q); },
                 +[](const V<2>& p, const V<2>& q) { return ag::div(p, q); }}) {
    CHECK_THROWS_WITH_AS(f(a, b), doctest::Contains("(2, 3)"), ras::Error);
    CHECK_THROWS_WITH_AS(f(a, b), doctest::Contains("(3, 2)"), ras::Error);
  }
  auto v4 = random_var<1>({4}, 3);
  CHECK_THROWS_WITH_AS(ag::add_rowvec(a, v4), doctest::Contains("(4,)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::mul_rowvec(a, v4), doctest::Contains("(2, 3)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::add_channel(a, v4), doctest::Contains("(3,)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::mul_channel(a, v4), doctest::Contains("(4,)"), ras::Error);
  auto x = random_var<4>({2, 3, 2, 2}, 4);
  CHECK_THROWS_WITH_AS(ag::scale_channels(x, b), doctest::Contains("(3, 2)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::scale_channels(x, b), doctest::Contains("(2, 3, 2, 2)"), ras::Error);
}

TEST_CASE("autograd elementwise: nothing is recorded without requires_grad") {
  ag::current_tape().clear();
  auto x = random_var<2>({3, 4}, 5, false);
  auto y = ag::sum(ag::softmax(ag::silu(ag::mul_scalar(x, 2.0))));
  CHECK(!y.requires_grad());
  CHECK(ag::current_tape().size() == 0);
}

TEST_CASE("autograd elementwise: float smoke test matches double") {
  auto xd = random_var<3>({2, 3, 5}, 33);
  auto vd = random_var<1>({5}, 34);
  auto xf = ag::Var<float, 3>(ras::Tensor<float, 3>::uninitialized(xd.shape()), true);
  auto vf = ag::Var<float, 1>(ras::Tensor<float, 1>::uninitialized(vd.shape()), true);
  for (Index i = 0; i < xd.numel(); ++i) xf.value().data()[i] = static_cast<float>(xd.value().data()[i]);
  for (Index i = 0; i < vd.numel(); ++i) vf.value().data()[i] = static_cast<float>(vd.value().data()[i]);
  auto loss_d = [&] {
    auto h = ag::silu(ag::mul_rowvec(xd, vd));
    auto sm = ag::softmax(ag::add_scalar(h, 0.5));
    auto t = ag::sigmoid(xd.detach());
    return ag::add(ag::mean(ag::sum_axis(ag::square(sm), 1)), ag::mse_loss(ag::relu6(h), t));
  }();
  ag::backward(loss_d);  // backward runs (and clears) the whole tape: one graph at a time
  auto loss_f = [&] {
    auto h = ag::silu(ag::mul_rowvec(xf, vf));
    auto sm = ag::softmax(ag::add_scalar(h, 0.5f));
    auto t = ag::sigmoid(xf.detach());
    return ag::add(ag::mean(ag::sum_axis(ag::square(sm), 1)), ag::mse_loss(ag::relu6(h), t));
  }();
  CHECK(loss_f.value().data()[0] == doctest::Approx(loss_d.value().data()[0]).epsilon(1e-5));
  ag::backward(loss_f);
  for (Index i = 0; i < xd.numel(); ++i)
    CHECK(xf.grad().data()[i] == doctest::Approx(xd.grad().data()[i]).epsilon(1e-4).scale(1.0));
  for (Index i = 0; i < vd.numel(); ++i)
    CHECK(vf.grad().data()[i] == doctest::Approx(vd.grad().data()[i]).epsilon(1e-4).scale(1.0));
}
