// Tests for Tensor, TensorView, ShapedTensor, Rng and the GEMM entry point.
#include <doctest/doctest.h>

#include <vector>

#include "ras/ras.hpp"

using ras::Index;

TEST_CASE("tensor: zero-filled, aligned, row-major, move-only") {
  ras::Tensor<float, 3> t({2, 3, 4});
  CHECK(t.numel() == 24);
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  for (Index i = 0; i < t.numel(); ++i) CHECK(t.data()[i] == 0.0f);
  t(1, 2, 3) = 5.0f;
  CHECK(t.data()[1 * 12 + 2 * 4 + 3] == 5.0f);
  auto c = t.clone();
  c(0, 0, 0) = 1.0f;
  CHECK(t(0, 0, 0) == 0.0f);
  auto moved = std::move(t);
  CHECK(moved(1, 2, 3) == 5.0f);
  CHECK(t.empty());
  static_assert(!std::is_copy_constructible_v<ras::Tensor<float, 2>>);
}

TEST_CASE("tensor: reshape moves the buffer, views share it") {
  auto t = ras::Tensor<double, 2>::from({2, 3}, {0, 1, 2, 3, 4, 5});
  const double* p = t.data();
  auto v = t.reshaped<1>({6});
  CHECK(v(4) == 4.0);
  auto r = std::move(t).reshape<3>({3, 1, 2});
  CHECK(r.data() == p);
  CHECK(r(2, 0, 1) == 5.0);
  CHECK_THROWS_AS(r.reshaped<1>({5}), ras::Error);
}

TEST_CASE("tensor: errors name the shapes") {
  using T2 = ras::Tensor<float, 2>;
  using T3 = ras::Tensor<float, 3>;
  CHECK_THROWS_WITH_AS(T2::from({2, 2}, {1, 2, 3}), doctest::Contains("(2, 2)"), ras::Error);
  T2 t({2, 3});
  CHECK_THROWS_WITH_AS(t.at(2, 0), doctest::Contains("(2, 3)"), ras::Error);
  CHECK_THROWS_AS(T2({-1, 3}), ras::Error);
  CHECK_THROWS_AS(T3({1 << 20, 1 << 20, 1 << 20}), ras::Error);
}

TEST_CASE("shaped tensor: fixed extents checked at run time and compile time") {
  using Features = ras::ShapedTensor<float, ras::Extents<ras::dyn, 272, 14, 14>>;
  Features ok(ras::Tensor<float, 4>({2, 272, 14, 14}));
  CHECK(ok.dim(0) == 2);
  static_assert(Features::static_dim<1>() == 272);
  using T4 = ras::Tensor<float, 4>;
  CHECK_THROWS_WITH_AS(Features(T4({2, 168, 14, 14})),
                       doctest::Contains("(?, 272, 14, 14)"), ras::Error);
  using Batch2 = ras::ShapedTensor<float, ras::Extents<2, ras::dyn, 14, 14>>;
  Batch2 b(std::move(ok));  // compatible: (2, 272, 14, 14)
  CHECK(b.dim(1) == 272);
  static_assert(ras::extents_compatible<ras::Extents<ras::dyn, 272>, ras::Extents<4, ras::dyn>>);
  static_assert(!ras::extents_compatible<ras::Extents<ras::dyn, 272>, ras::Extents<ras::dyn, 168>>);
  static_assert(!ras::extents_compatible<ras::Extents<272>, ras::Extents<272, 1>>);
}

TEST_CASE("rng: deterministic and roughly standard normal") {
  ras::Rng a(7), b(7);
  for (int i = 0; i < 10; ++i) CHECK(a.next_u64() == b.next_u64());
  ras::Rng r(1);
  double s = 0, s2 = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    double x = r.normal();
    s += x;
    s2 += x * x;
  }
  CHECK(std::abs(s / n) < 0.02);
  CHECK(std::abs(s2 / n - 1.0) < 0.02);
}

namespace {
// Naive double-precision reference for C = op(A) op(B).
std::vector<double> naive_gemm(bool ta, bool tb, Index m, Index n, Index k, const std::vector<double>& a,
                               const std::vector<double>& b) {
  std::vector<double> c(static_cast<std::size_t>(m * n), 0.0);
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      double s = 0;
      for (Index p = 0; p < k; ++p) s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = s;
    }
  return c;
}
}  // namespace

TEST_CASE("gemm: all transpose combinations, alpha and beta, batched") {
  ras::Rng rng(3);
  const Index m = 7, n = 5, k = 9;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      std::vector<double> a(m * k), b(k * n), c(m * n);
      for (auto& x : a) x = rng.normal();
      for (auto& x : b) x = rng.normal();
      for (auto& x : c) x = rng.normal();
      auto ref = naive_gemm(ta, tb, m, n, k, a, b);
      auto c0 = c;
      ras::kernels::gemm<double>(ta, tb, m, n, k, 2.0, a.data(), ta ? m : k, b.data(), tb ? k : n, 0.5,
                                 c.data(), n);
      for (Index i = 0; i < m * n; ++i) CHECK(c[i] == doctest::Approx(2.0 * ref[i] + 0.5 * c0[i]));
    }
  // batched with a broadcast B (stride 0)
  std::vector<float> a(3 * 4 * 2), b(2 * 3), c(3 * 4 * 3);
  for (auto& x : a) x = static_cast<float>(rng.normal());
  for (auto& x : b) x = static_cast<float>(rng.normal());
  ras::kernels::gemm_batched<float>(false, false, 3, 4, 3, 2, 1.0f, a.data(), 2, 8, b.data(), 3, 0, 0.0f,
                                    c.data(), 3, 12);
  for (Index bi = 0; bi < 3; ++bi)
    for (Index i = 0; i < 4; ++i)
      for (Index j = 0; j < 3; ++j) {
        float s = a[bi * 8 + i * 2] * b[j] + a[bi * 8 + i * 2 + 1] * b[3 + j];
        CHECK(c[bi * 12 + i * 3 + j] == doctest::Approx(s).epsilon(1e-5));
      }
  auto bad_call = [&] {
    ras::kernels::gemm<float>(false, false, 2, 2, 3, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2);
  };
  CHECK_THROWS_AS(bad_call(), ras::Error);
}

#include "ras/tensor_eigen.hpp"

TEST_CASE("tensor: Eigen TensorMap and matrix Map views share the data") {
  auto t = ras::Tensor<float, 3>::from({2, 3, 4}, std::vector<float>(24, 1.0f));
  auto m = ras::eigen_map(t);
  CHECK(m.dimension(2) == 4);
  m(1, 2, 3) = 7.0f;  // row-major: the same element as t(1, 2, 3)
  CHECK(t(1, 2, 3) == 7.0f);
  Eigen::Tensor<float, 0, Eigen::RowMajor> total = m.sum();
  CHECK(total() == doctest::Approx(23.0f + 7.0f));
  auto a = ras::Tensor<double, 2>::from({2, 2}, {1, 2, 3, 4});
  auto mm = ras::matrix_map(a);
  CHECK(mm(1, 0) == 3.0);
  CHECK(mm.sum() == doctest::Approx(10.0));
}
