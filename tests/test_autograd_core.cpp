// Tests for the tape, Var, inference mode and the linear-algebra ops (gradient checks in double).
#include <doctest/doctest.h>

#include "ras/testing/gradcheck.hpp"
#include "ras/testing/random_var.hpp"
#include "ras/ras.hpp"

namespace ag = ras::autograd;
using ras::Index;

namespace {
using ras::testing::random_var;
}  // namespace

TEST_CASE("tape: nothing recorded without requires_grad or in inference mode") {
  ag::current_tape().clear();
  auto a = random_var<2>({3, 4}, 1, false);
  auto b = random_var<2>({4, 2}, 2, false);
  auto y = ag::matmul(a, b);
  CHECK(!y.requires_grad());
  CHECK(ag::current_tape().size() == 0);
  b.set_requires_grad(true);
  {
    ag::InferenceMode no_grad;
    auto z = ag::matmul(a, b);
    CHECK(!z.requires_grad());
    CHECK(ag::current_tape().size() == 0);
  }
  auto z = ag::matmul(a, b);
  CHECK(z.requires_grad());
  CHECK(ag::current_tape().size() == 1);
  ag::current_tape().clear();
}

TEST_CASE("tape: discarded forward passes are pruned") {
  ag::current_tape().clear();
  auto w = random_var<2>({4, 4}, 3);
  auto x = random_var<2>({2, 4}, 4, false);
  for (int i = 0; i < 1000; ++i) {
    auto y = ag::matmul(x, w);
    (void)y;
  }
  CHECK(ag::current_tape().size() < 200);
  ag::current_tape().clear();
}

TEST_CASE("gradcheck: matmul, bmm, linear") {
  auto a = random_var<2>({3, 5}, 1), b = random_var<2>({5, 4}, 2);
  auto r = ag::gradcheck([](auto& x, auto& y) { return ag::matmul(x, y); }, a, b);
  CHECK_MESSAGE(r.ok, r.message);

  auto p = random_var<3>({2, 3, 4}, 3), q = random_var<3>({2, 4, 5}, 4);
  r = ag::gradcheck([](auto& x, auto& y) { return ag::bmm(x, y); }, p, q);
  CHECK_MESSAGE(r.ok, r.message);

  auto x = random_var<3>({2, 3, 6}, 5);
  auto w = random_var<2>({4, 6}, 6);
  auto bias = random_var<1>({4}, 7);
  r = ag::gradcheck([](auto& xx, auto& ww, auto& bb) { return ag::linear(xx, ww, bb); }, x, w, bias);
  CHECK_MESSAGE(r.ok, r.message);
  r = ag::gradcheck([](auto& xx, auto& ww) { return ag::linear(xx, ww); }, x, w);
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("gradients: the first contribution is written, later ones are added (linear, add)") {
  // x feeds two linears and an add, w two linears: their gradients are first written (no
  // zero-fill), then added to. Each must equal the sum of the separate contributions.
  auto x = random_var<2>({3, 5}, 11), w = random_var<2>({4, 5}, 12), v = random_var<2>({3, 5}, 13);
  auto u1 = random_var<2>({3, 4}, 14, false), u2 = random_var<2>({3, 4}, 15, false);
  auto u3 = random_var<2>({3, 5}, 16, false);
  auto weighted = [](const ag::Var<double, 2>& y, const ag::Var<double, 2>& u) { return ag::sum(ag::mul(y, u)); };
  auto loss = ag::add(ag::add(weighted(ag::linear(x, w), u1), weighted(ag::linear(x, w), u2)),
                      weighted(ag::add(x, v), u3));
  ag::backward(loss);
  // dL/dx = u1 W + u2 W + u3, dL/dw = u1^T x + u2^T x, dL/dv = u3
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 5; ++j) {
      double gx = u3.value()(i, j);
      for (Index o = 0; o < 4; ++o) gx += (u1.value()(i, o) + u2.value()(i, o)) * w.value()(o, j);
      CHECK(x.grad()(i, j) == doctest::Approx(gx).epsilon(1e-12));
      CHECK(v.grad()(i, j) == doctest::Approx(u3.value()(i, j)).epsilon(1e-12));
    }
  for (Index o = 0; o < 4; ++o)
    for (Index j = 0; j < 5; ++j) {
      double gw = 0;
      for (Index i = 0; i < 3; ++i) gw += (u1.value()(i, o) + u2.value()(i, o)) * x.value()(i, j);
      CHECK(w.grad()(o, j) == doctest::Approx(gw).epsilon(1e-12));
    }
}

TEST_CASE("gradcheck detects a wrong backward") {
  // A deliberately broken op: forward y = 2x, backward claims dy/dx = 3.
  auto x = random_var<1>({5}, 9);
  auto broken = [](auto& v) {
    auto y = ras::Tensor<double, 1>::uninitialized(v.shape());
    for (Index i = 0; i < y.numel(); ++i) y.data()[i] = 2 * v.value().data()[i];
    auto out = ag::make_output(std::move(y), v);
    ag::record(out, [v](const ras::Tensor<double, 1>& dy) mutable {
      for (Index i = 0; i < dy.numel(); ++i) v.grad().data()[i] += 3 * dy.data()[i];
    });
    return out;
  };
  auto r = ag::gradcheck(broken, x);
  CHECK(!r.ok);
}

TEST_CASE("linear: shape errors name both shapes") {
  auto x = random_var<2>({2, 5}, 1);
  auto w = random_var<2>({4, 6}, 2);
  CHECK_THROWS_WITH_AS(ag::linear(x, w), doctest::Contains("(4, 6)"), ras::Error);
}
