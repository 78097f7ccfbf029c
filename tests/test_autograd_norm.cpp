// Tests for batch_norm (train / eval, running statistics) and layer_norm: against naive double
// references and PyTorch 1.13 values, gradient checks in double for every mode, error messages
// and a float smoke test.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "ras/testing/gradcheck.hpp"
#include "ras/testing/random_var.hpp"
#include "ras/autograd/ops_norm.hpp"

namespace ag = ras::autograd;
using ras::Index;
using T1 = ras::Tensor<double, 1>;
using V1 = ag::Var<double, 1>;
using V2 = ag::Var<double, 2>;
using V3 = ag::Var<double, 3>;
using V4 = ag::Var<double, 4>;

namespace {
using ras::testing::random_var;
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (Index i = 0; i < a.numel(); ++i)
    m = std::max(m, std::abs(double(a.data()[i]) - double(b.data()[i])));
  return m;
}

// Naive batch norm over axis 1 with the given per-channel statistics (x viewed as (N, C, L)).
template <int R>
ras::Tensor<double, R> batch_norm_ref(const ras::Tensor<double, R>& x,
                                      const std::vector<double>& mean,
                                      const std::vector<double>& var, const V1* w, const V1* b,
                                      double eps) {
  auto y = ras::Tensor<double, R>::uninitialized(x.shape());
  const Index C = x.dim(1), L = x.numel() / (x.dim(0) * C);
  for (Index i = 0; i < x.numel(); ++i) {
    const auto c = static_cast<std::size_t>((i / L) % C);
    y.data()[i] =
        (x.data()[i] - mean[c]) / std::sqrt(var[c] + eps) * (w ? w->value().data()[c] : 1.0) +
        (b ? b->value().data()[c] : 0.0);
  }
  return y;
}
// Per-channel mean and biased variance.
template <int R>
void channel_stats(const ras::Tensor<double, R>& x, std::vector<double>& mean,
                   std::vector<double>& var) {
  const Index C = x.dim(1), L = x.numel() / (x.dim(0) * C), M = x.numel() / C;
  mean.assign(static_cast<std::size_t>(C), 0.0);
  var.assign(static_cast<std::size_t>(C), 0.0);
  for (Index i = 0; i < x.numel(); ++i)
    mean[static_cast<std::size_t>((i / L) % C)] += x.data()[i] / double(M);
  for (Index i = 0; i < x.numel(); ++i) {
    const auto c = static_cast<std::size_t>((i / L) % C);
    var[c] += (x.data()[i] - mean[c]) * (x.data()[i] - mean[c]) / double(M);
  }
}

// Naive layer norm over the last axis.
template <int R>
ras::Tensor<double, R> layer_norm_ref(const ras::Tensor<double, R>& x, const V1* w, const V1* b,
                                      double eps) {
  auto y = ras::Tensor<double, R>::uninitialized(x.shape());
  const Index C = x.dim(R - 1);
  for (Index r = 0; r < x.numel() / C; ++r) {
    double m = 0, v = 0;
    for (Index i = 0; i < C; ++i) m += x.data()[r * C + i] / double(C);
    for (Index i = 0; i < C; ++i)
      v += (x.data()[r * C + i] - m) * (x.data()[r * C + i] - m) / double(C);
    for (Index i = 0; i < C; ++i)
      y.data()[r * C + i] =
          (x.data()[r * C + i] - m) / std::sqrt(v + eps) * (w ? w->value().data()[i] : 1.0) +
          (b ? b->value().data()[i] : 0.0);
  }
  return y;
}
}  // namespace

TEST_CASE("batch_norm: training and eval forward match the reference; running stats as PyTorch") {
  auto x = random_var<4>({3, 4, 5, 3}, 1);
  auto w = random_var<1>({4}, 2), b = random_var<1>({4}, 3);
  auto rm = T1::from({4}, {0.1, -0.2, 0.3, 0.0});
  auto rv = T1::from({4}, {1.0, 0.5, 2.0, 1.5});
  const auto rm0 = rm.clone();
  const auto rv0 = rv.clone();
  std::vector<double> mean, var;
  channel_stats(x.value(), mean, var);
  auto y = ag::batch_norm(x, &w, &b, rm, rv, true, 0.1, 1e-3);
  CHECK(max_abs_diff(y.value(), batch_norm_ref(x.value(), mean, var, &w, &b, 1e-3)) < 1e-12);
  const double M = 3 * 5 * 3;
  for (Index c = 0; c < 4; ++c) {
    const auto k = static_cast<std::size_t>(c);
    CHECK(rm(c) == doctest::Approx(0.9 * rm0(c) + 0.1 * mean[k]).epsilon(1e-13));
    CHECK(rv(c) == doctest::Approx(0.9 * rv0(c) + 0.1 * var[k] * M / (M - 1)).epsilon(1e-13));
  }
  // Eval uses the (just updated) running statistics and leaves them alone.
  const auto rm1 = rm.clone();
  auto ye = ag::batch_norm(x, &w, &b, rm, rv, false, 0.1, 1e-3);
  CHECK(max_abs_diff(ye.value(),
                     batch_norm_ref(x.value(), std::vector<double>(rm.data(), rm.data() + 4),
                                    std::vector<double>(rv.data(), rv.data() + 4), &w, &b, 1e-3)) <
        1e-12);
  CHECK(max_abs_diff(rm, rm1) == 0.0);

  // Rank 2 (BatchNorm1d-like) without affine and without running statistics.
  auto x2 = random_var<2>({6, 3}, 4);
  T1 none_m, none_v;
  channel_stats(x2.value(), mean, var);
  auto y2 = ag::batch_norm(x2, nullptr, nullptr, none_m, none_v, true, 0.1, 1e-5);
  CHECK(max_abs_diff(y2.value(), batch_norm_ref(x2.value(), mean, var, nullptr, nullptr, 1e-5)) <
        1e-12);
  CHECK(none_m.empty());
}

TEST_CASE("batch_norm: PyTorch values (training, momentum 0.1, eps 1e-3)") {
  std::vector<double> xv;
  for (int i = 0; i < 24; ++i) xv.push_back(double((i * i * 5) % 13) * 0.5 - 2);
  auto x = V4(ras::Tensor<double, 4>::from({2, 3, 2, 2}, xv));
  auto w = V1(T1::from({3}, {1.5, -1.0, 0.5})), b = V1(T1::from({3}, {0.1, 0.2, 0.3}));
  auto rm = T1::from({3}, {0.1, 0.2, -0.3});
  auto rv = T1::from({3}, {1.0, 0.5, 2.0});
  auto y = ag::batch_norm(x, &w, &b, rm, rv, true, 0.1, 1e-3);
  const std::vector<double> expected = {
      -2.382454034090769, 0.4546362905843956,   1.5894724204544612,   1.0220543555194284,
      1.7209870030216976, 0.023141046160267686, -0.8257819322704473,  -0.8257819322704473,
      0.6057217488285209, -0.4424671042978365,  0.2563254644530684,   0.43102360664079464,
      0.4546362905843956, -2.382454034090769,   0.4546362905843956,   1.5894724204544612,
      0.589089698447411,  1.7209870030216976,   0.023141046160267686, -0.8257819322704473,
      1.1298161753916995, 0.6057217488285209,   -0.4424671042978365,  0.2563254644530684};
  CHECK(max_abs_diff(y.value(), ras::Tensor<double, 4>::from({2, 3, 2, 2}, expected)) < 1e-13);
  CHECK(max_abs_diff(rm, T1::from({3}, {0.10875000000000001, 0.34875, -0.15750000000000003})) <
        1e-15);
  CHECK(max_abs_diff(rv, T1::from({3}, {1.0995535714285714, 0.8066964285714286,
                                        2.0339285714285715})) < 1e-15);
}

TEST_CASE("gradcheck: batch_norm train and eval, with and without affine") {
  auto x = random_var<4>({2, 3, 3, 2}, 5);
  auto w = random_var<1>({3}, 6), b = random_var<1>({3}, 7);
  auto rm = T1::from({3}, {0.2, -0.1, 0.4});
  auto rv = T1::from({3}, {0.8, 1.3, 0.6});
  for (bool training : {true, false}) {
    CAPTURE(training);
    auto r = ag::gradcheck(
        [&](V4& xx, V1& ww, V1& bb) {
          return ag::batch_norm(xx, &ww, &bb, rm, rv, training, 0.1, 1e-3);
        },
        x, w, b);
    CHECK_MESSAGE(r.ok, r.message);
    r = ag::gradcheck(
        [&](V4& xx) { return ag::batch_norm(xx, nullptr, nullptr, rm, rv, training, 0.1, 1e-5); },
        x);
    CHECK_MESSAGE(r.ok, r.message);
  }
  auto x3 = random_var<3>({4, 2, 3}, 8);
  auto w2 = random_var<1>({2}, 9);
  auto rm2 = T1::from({2}, {0.0, 0.0});
  auto rv2 = T1::from({2}, {1.0, 1.0});
  auto r = ag::gradcheck(
      [&](V3& xx, V1& ww) { return ag::batch_norm(xx, &ww, nullptr, rm2, rv2, true, 0.1, 1e-5); },
      x3, w2);
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("batch_norm: errors name the shapes") {
  auto x = random_var<4>({2, 3, 2, 2}, 1);
  auto w4 = random_var<1>({4}, 2);
  auto rm = T1({3}), rv = T1::full({3}, 1.0), rv2 = T1::full({2}, 1.0);
  CHECK_THROWS_WITH_AS(ag::batch_norm(x, &w4, nullptr, rm, rv, true, 0.1, 1e-5),
                       doctest::Contains("expected weight of shape (3,) but got (4,)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::batch_norm(x, nullptr, &w4, rm, rv, false, 0.1, 1e-5),
                       doctest::Contains("expected bias of shape (3,) but got (4,)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::batch_norm(x, nullptr, nullptr, rm, rv2, false, 0.1, 1e-5),
                       doctest::Contains("(2,)"), ras::Error);
  T1 empty_m, empty_v;
  CHECK_THROWS_AS(ag::batch_norm(x, nullptr, nullptr, empty_m, empty_v, false, 0.1, 1e-5),
                  ras::Error);
  auto single = random_var<4>({1, 3, 1, 1}, 3);
  CHECK_THROWS_WITH_AS(ag::batch_norm(single, nullptr, nullptr, rm, rv, true, 0.1, 1e-5),
                       doctest::Contains("more than 1 value per channel"), ras::Error);
}

TEST_CASE("layer_norm: reference, gradcheck with and without affine, errors") {
  auto x = random_var<3>({2, 3, 7}, 11);
  auto w = random_var<1>({7}, 12), b = random_var<1>({7}, 13);
  CHECK(max_abs_diff(ag::layer_norm(x, &w, &b, 1e-5).value(),
                     layer_norm_ref(x.value(), &w, &b, 1e-5)) < 1e-12);
  CHECK(max_abs_diff(ag::layer_norm(x, nullptr, nullptr).value(),
                     layer_norm_ref(x.value(), nullptr, nullptr, 1e-5)) < 1e-12);
  auto x2 = random_var<2>({1, 5}, 14);
  auto w5 = random_var<1>({5}, 15);
  CHECK(max_abs_diff(ag::layer_norm(x2, &w5, nullptr, 1e-6).value(),
                     layer_norm_ref(x2.value(), &w5, nullptr, 1e-6)) < 1e-12);

  auto r = ag::gradcheck([](V3& xx, V1& ww, V1& bb) { return ag::layer_norm(xx, &ww, &bb, 1e-5); },
                         x, w, b);
  CHECK_MESSAGE(r.ok, r.message);
  r = ag::gradcheck([](V3& xx) { return ag::layer_norm(xx, nullptr, nullptr, 1e-5); }, x);
  CHECK_MESSAGE(r.ok, r.message);
  auto x4 = random_var<2>({9, 5}, 16);
  r = ag::gradcheck([](V2& xx, V1& ww) { return ag::layer_norm(xx, &ww, nullptr, 1e-3); }, x4, w5);
  CHECK_MESSAGE(r.ok, r.message);

  CHECK_THROWS_WITH_AS(ag::layer_norm(x, &w5, nullptr),
                       doctest::Contains("expected weight of shape (7,) but got (5,)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::layer_norm(x, nullptr, &w5), doctest::Contains("(2, 3, 7)"), ras::Error);
}

TEST_CASE("batch_norm, layer_norm: float smoke test against double") {
  auto xd = random_var<4>({4, 3, 5, 6}, 21);
  auto xf_t = ras::Tensor<float, 4>::uninitialized(xd.shape());
  for (Index i = 0; i < xd.numel(); ++i) xf_t.data()[i] = float(xd.value().data()[i]);
  auto xf = ag::Var<float, 4>(std::move(xf_t), true);
  auto rmf = ras::Tensor<float, 1>({3});
  auto rvf = ras::Tensor<float, 1>::full({3}, 1.0f);
  auto rmd = T1({3});
  auto rvd = T1::full({3}, 1.0);
  auto yf = ag::batch_norm(xf, nullptr, nullptr, rmf, rvf, true, 0.01f, 1e-3f);
  auto yd = ag::batch_norm(xd, nullptr, nullptr, rmd, rvd, true, 0.01, 1e-3);
  CHECK(max_abs_diff(yf.value(), yd.value()) < 1e-5);
  CHECK(max_abs_diff(rvf, rvd) < 1e-6);
  ag::backward(yf, ras::Tensor<float, 4>::full(yf.shape(), 1.0f));
  // The output is normalised per channel, so a constant cotangent has zero gradient.
  for (Index i = 0; i < xf.numel(); ++i) REQUIRE(std::abs(xf.grad().data()[i]) < 1e-5f);

  auto lf = ag::layer_norm(xf, nullptr, nullptr, 1e-5);
  auto ld = ag::layer_norm(xd, nullptr, nullptr, 1e-5);
  CHECK(max_abs_diff(lf.value(), ld.value()) < 1e-5);
}
