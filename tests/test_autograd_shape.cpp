// Tests for the shape autograd ops (ops_shape.hpp): reshape, permute, transpose, concat, slice
// and embedding. Forward values against naive index arithmetic, gradient checks in double (which
// also verify that backward adds into existing gradients), a float smoke test, and errors.
#include <doctest/doctest.h>

#include <vector>

#include "ras/testing/gradcheck.hpp"
#include "ras/testing/random_var.hpp"
#include "ras/autograd/ops_elementwise.hpp"
#include "ras/autograd/ops_shape.hpp"

namespace ag = ras::autograd;
using ras::Index;
template <int R>
using V = ag::Var<double, R>;
template <int R>
using T = ras::Tensor<double, R>;

namespace {
using ras::testing::random_var;
// 0, 1, 2, ... so that every element names its own flat index.
template <int R>
V<R> iota_var(const ras::Shape<R>& shape) {
  auto t = T<R>::uninitialized(shape);
  for (Index i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<double>(i);
  return V<R>(std::move(t), true);
}
template <class Var>
void check_values(const Var& v, const std::vector<double>& expected) {
  REQUIRE(v.numel() == static_cast<Index>(expected.size()));
  for (Index i = 0; i < v.numel(); ++i) CHECK(v.value().data()[i] == expected[static_cast<std::size_t>(i)]);
}
#define GRADCHECK(...)                               \
  do {                                               \
    auto report_ = ag::gradcheck(__VA_ARGS__);       \
    CHECK_MESSAGE(report_.ok, report_.message);      \
  } while (0)
}  // namespace

TEST_CASE("autograd shape: reshape") {
  auto x = iota_var<3>({2, 3, 4});
  auto y = ag::reshape<2>(x, {6, 4});
  CHECK(y.shape() == ras::Shape<2>{6, 4});
  CHECK(y.value()(5, 3) == 23.0);
  auto z = ag::reshape<2>(x, {-1, 8});
  CHECK(z.shape() == ras::Shape<2>{3, 8});
  auto flat = ag::reshape<1>(x, {-1});
  CHECK(flat.shape() == ras::Shape<1>{24});
  // The output is a copy: changing it leaves x alone.
  y.value()(0, 0) = 100.0;
  CHECK(x.value()(0, 0, 0) == 0.0);

  auto r = random_var<3>({2, 3, 4}, 1);
  GRADCHECK([](auto& p) { return ag::reshape<2>(p, {4, 6}); }, r);
  GRADCHECK([](auto& p) { return ag::reshape<4>(p, {1, 2, -1, 2}); }, r);

  CHECK_THROWS_WITH_AS(ag::reshape<2>(r, {5, 5}), doctest::Contains("(2, 3, 4)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::reshape<2>(r, {5, 5}), doctest::Contains("(5, 5)"), ras::Error);
  CHECK_THROWS_AS(ag::reshape<2>(r, {-1, -1}), ras::Error);
  CHECK_THROWS_AS(ag::reshape<2>(r, {-1, 5}), ras::Error);
}

TEST_CASE("autograd shape: permute and transpose against naive indexing") {
  auto x = random_var<4>({2, 3, 4, 5}, 2);
  const auto& X = x.value();
  auto p = ag::permute(x, {0, 2, 1, 3});
  auto q = ag::permute(x, {3, 1, 0, 2});
  auto t = ag::transpose(x, -1, 1);
  CHECK(p.shape() == ras::Shape<4>{2, 4, 3, 5});
  CHECK(q.shape() == ras::Shape<4>{5, 3, 2, 4});
  CHECK(t.shape() == ras::Shape<4>{2, 5, 4, 3});
  for (Index a = 0; a < 2; ++a)
    for (Index b = 0; b < 3; ++b)
      for (Index c = 0; c < 4; ++c)
        for (Index d = 0; d < 5; ++d) {
          CHECK(p.value()(a, c, b, d) == X(a, b, c, d));
          CHECK(q.value()(d, b, a, c) == X(a, b, c, d));
          CHECK(t.value()(a, d, c, b) == X(a, b, c, d));
        }
  GRADCHECK([](auto& v) { return ag::permute(v, {0, 2, 1, 3}); }, x);
  GRADCHECK([](auto& v) { return ag::permute(v, {3, 1, 0, 2}); }, x);
  GRADCHECK([](auto& v) { return ag::transpose(v, 0, 3); }, x);
  auto m = random_var<2>({3, 7}, 3);
  GRADCHECK([](auto& v) { return ag::transpose(v, 0, 1); }, m);
  // Permuting back restores the input.
  auto back = ag::permute(q, {2, 1, 3, 0});
  for (Index i = 0; i < x.numel(); ++i) CHECK(back.value().data()[i] == X.data()[i]);

  CHECK_THROWS_WITH_AS(ag::permute(x, {0, 1, 1, 3}), doctest::Contains("not a permutation"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::permute(x, {0, 1, 2, 4}), doctest::Contains("(2, 3, 4, 5)"), ras::Error);
  CHECK_THROWS_AS(ag::permute(x, {0, -1, 2, 3}), ras::Error);
  CHECK_THROWS_WITH_AS(ag::transpose(x, 0, 4), doctest::Contains("axis 4"), ras::Error);
}

TEST_CASE("autograd shape: a large permute takes the threaded path") {
  auto x = random_var<4>({2, 40, 30, 16}, 4);  // 38400 elements
  auto y = ag::permute(x, {0, 2, 1, 3});
  CHECK(y.value()(1, 29, 39, 15) == x.value()(1, 39, 29, 15));
  auto cot = T<4>::uninitialized(y.shape());
  for (Index i = 0; i < cot.numel(); ++i) cot.data()[i] = static_cast<double>(i % 97);
  ag::backward(y, cot);
  CHECK(x.grad()(1, 39, 29, 15) == cot(1, 29, 39, 15));
  CHECK(x.grad()(0, 3, 7, 2) == cot(0, 7, 3, 2));
}

TEST_CASE("autograd shape: concat") {
  auto a = iota_var<2>({2, 2});   // 0 1 / 2 3
  auto b = iota_var<2>({2, 1});   // 0 / 1
  auto c = iota_var<2>({1, 2});   // 0 1
  check_values(ag::concat(std::vector<V<2>>{a, b}, 1), {0, 1, 0, 2, 3, 1});
  check_values(ag::concat(std::vector<V<2>>{a, c, a}, 0), {0, 1, 2, 3, 0, 1, 0, 1, 2, 3});
  check_values(ag::concat(std::vector<V<2>>{b, a}, -1), {0, 0, 1, 1, 2, 3});

  auto x = random_var<3>({2, 3, 4}, 5), y = random_var<3>({2, 1, 4}, 6), z = random_var<3>({2, 2, 4}, 7);
  auto w = random_var<3>({2, 3, 2}, 8);
  GRADCHECK([](auto& p, auto& q, auto& r) { return ag::concat(std::vector<V<3>>{p, q, r}, 1); }, x, y, z);
  GRADCHECK([](auto& p, auto& q) { return ag::concat(std::vector<V<3>>{p, q, p}, -1); }, x, w);
  GRADCHECK([](auto& p) { return ag::concat(std::vector<V<3>>{p, p}, 0); }, x);
  // An input that does not require grad gets none.
  auto k = random_var<3>({2, 3, 4}, 9, false);
  GRADCHECK([&k](auto& p) { return ag::concat(std::vector<V<3>>{k, p}, 0); }, x);
  CHECK(!k.has_grad());

  auto bad = random_var<3>({3, 2, 4}, 10);
  CHECK_THROWS_WITH_AS(ag::concat(std::vector<V<3>>{x, bad}, 1), doctest::Contains("(2, 3, 4)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::concat(std::vector<V<3>>{x, bad}, 1), doctest::Contains("(3, 2, 4)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::concat(std::vector<V<3>>{x, y}, 3), doctest::Contains("axis 3"), ras::Error);
  CHECK_THROWS_AS(ag::concat(std::vector<V<3>>{}, 0), ras::Error);
}

TEST_CASE("autograd shape: slice") {
  auto x = iota_var<2>({3, 4});
  check_values(ag::slice(x, 1, 1, 3), {1, 2, 5, 6, 9, 10});
  check_values(ag::slice(x, 0, 2, 3), {8, 9, 10, 11});
  CHECK(ag::slice(x, -1, 2, 2).shape() == ras::Shape<2>{3, 0});

  auto r = random_var<3>({2, 5, 3}, 11);
  GRADCHECK([](auto& p) { return ag::slice(p, 1, 1, 4); }, r);
  GRADCHECK([](auto& p) { return ag::slice(p, 0, 1, 2); }, r);
  GRADCHECK([](auto& p) { return ag::slice(p, -1, 0, 2); }, r);
  // Slicing a concat gives the parts back.
  auto a = random_var<3>({2, 2, 3}, 12);
  auto cat = ag::concat(std::vector<V<3>>{a, r}, 1);
  auto part = ag::slice(cat, 1, 2, 7);
  for (Index i = 0; i < r.numel(); ++i) CHECK(part.value().data()[i] == r.value().data()[i]);

  CHECK_THROWS_WITH_AS(ag::slice(r, 1, 2, 6), doctest::Contains("stop=6"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::slice(r, 1, 3, 2), doctest::Contains("(2, 5, 3)"), ras::Error);
  CHECK_THROWS_AS(ag::slice(r, 1, -1, 2), ras::Error);
  CHECK_THROWS_WITH_AS(ag::slice(r, 3, 0, 1), doctest::Contains("axis 3"), ras::Error);
}

TEST_CASE("autograd shape: embedding") {
  auto table = iota_var<2>({4, 3});
  auto y = ag::embedding(table, {2, 0, 2});
  CHECK(y.shape() == ras::Shape<2>{3, 3});
  check_values(y, {6, 7, 8, 0, 1, 2, 6, 7, 8});
  // Repeated indices accumulate (scatter-add); unused rows get zero.
  auto cot = T<2>::full({3, 3}, 1.0);
  ag::backward(y, cot);
  check_values(V<2>(table.grad().clone()), {1, 1, 1, 0, 0, 0, 2, 2, 2, 0, 0, 0});

  auto t = random_var<2>({5, 4}, 13);
  GRADCHECK([](auto& p) { return ag::embedding(p, {4, 1, 1, 0, 4, 4}); }, t);
  CHECK(ag::embedding(t, {}).shape() == ras::Shape<2>{0, 4});
  CHECK_THROWS_WITH_AS(ag::embedding(t, {1, 5}), doctest::Contains("index 5"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::embedding(t, {-1}), doctest::Contains("(5, 4)"), ras::Error);
}

TEST_CASE("autograd shape: float smoke test matches double") {
  auto xd = random_var<3>({2, 3, 4}, 14);
  auto xf = ag::Var<float, 3>(ras::Tensor<float, 3>::uninitialized(xd.shape()), true);
  for (Index i = 0; i < xd.numel(); ++i) xf.value().data()[i] = static_cast<float>(xd.value().data()[i]);
  auto f = [](auto& x) {
    using VarT = std::remove_reference_t<decltype(x)>;
    auto t = ag::transpose(x, 1, 2);                              // (2, 4, 3)
    auto c = ag::concat(std::vector<VarT>{t, ag::slice(t, 1, 1, 3)}, 1);  // (2, 6, 3)
    return ag::mul(c, ag::reshape<3>(ag::permute(c, {0, 1, 2}), {2, 6, 3}));
  };
  auto yd = f(xd);
  auto cd = T<3>::full(yd.shape(), 1.0);
  ag::backward(yd, cd);
  auto yf = f(xf);
  auto cf = ras::Tensor<float, 3>::full(yf.shape(), 1.0f);
  ag::backward(yf, cf);
  for (Index i = 0; i < yd.numel(); ++i)
    CHECK(yf.value().data()[i] == doctest::Approx(yd.value().data()[i]).epsilon(1e-5));
  for (Index i = 0; i < xd.numel(); ++i)
    CHECK(xf.grad().data()[i] == doctest::Approx(xd.grad().data()[i]).epsilon(1e-5));
}
