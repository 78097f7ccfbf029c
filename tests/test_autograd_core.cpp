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
