// Tests for ras/interop/xtensor.hpp and ras/interop/eigen.hpp: the views share memory both ways
// (writes through one side are seen on the other, pointers equal), shapes carry over, and a wrong
// rank, a column-major layout or non-contiguous strides are refused with errors naming the values.
#include <doctest/doctest.h>

#include <utility>

#include <xtensor/xview.hpp>

#include "ras/interop/eigen.hpp"
#include "ras/interop/xtensor.hpp"

namespace ri = ras::interop;

TEST_CASE("to_xtensor: a ras tensor seen as an xtensor adaptor, same memory, writable") {
  auto t = ras::Tensor<float, 3>::from({2, 3, 4}, std::vector<float>(24, 0.0f));
  for (ras::Index i = 0; i < 24; ++i) t.data()[i] = static_cast<float>(i);
  auto x = ri::to_xtensor(t);
  REQUIRE(x.dimension() == 3);
  CHECK(x.shape()[0] == 2);
  CHECK(x.shape()[1] == 3);
  CHECK(x.shape()[2] == 4);
  CHECK(x.data() == t.data());
  CHECK(x(1, 2, 3) == 23.0f);
  CHECK(x(0, 1, 2) == t(0, 1, 2));
  x(1, 0, 0) = -5.0f;  // through xtensor ...
  CHECK(t(1, 0, 0) == -5.0f);  // ... into ras
  CHECK(xt::sum(x)() == doctest::Approx(276.0 - 12.0 - 5.0));
  const auto& ct = t;
  auto cx = ri::to_xtensor(ct);
  static_assert(std::is_const_v<std::remove_pointer_t<decltype(cx.data())>>, "a const tensor gives a read-only view");
  CHECK(cx(1, 2, 3) == 23.0f);
}

TEST_CASE("from_xtensor: xtensor and xarray seen as ras views, same memory") {
  xt::xtensor<std::uint8_t, 3> img = xt::zeros<std::uint8_t>({4, 5, 3});
  img(2, 3, 1) = 200;
  auto v = ri::from_xtensor<3>(img);
  CHECK(v.data() == img.data());
  CHECK(v.shape() == ras::Shape<3>{4, 5, 3});
  CHECK(v(2, 3, 1) == 200);
  v(0, 0, 2) = 7;
  CHECK(img(0, 0, 2) == 7);
  auto cv = ri::from_xtensor<3>(std::as_const(img));
  static_assert(std::is_same_v<decltype(cv), ras::TensorView<const std::uint8_t, 3>>);

  xt::xarray<double> a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  auto av = ri::from_xtensor<2>(a);
  CHECK(av(1, 2) == 6.0);
  CHECK(av.shape() == ras::Shape<2>{2, 3});
  // extents of 1 (xtensor stores stride 0 for them) are fine
  xt::xtensor<float, 3> one = xt::ones<float>({1, 3, 1});
  CHECK(ri::from_xtensor<3>(one).numel() == 3);
  // round trip: ras -> xtensor adaptor -> ras
  auto t = ras::Tensor<float, 2>::from({2, 2}, {1, 2, 3, 4});
  auto x = ri::to_xtensor(t);
  auto back = ri::from_xtensor<2>(x);
  CHECK(back.data() == t.data());
}

TEST_CASE("from_xtensor: wrong rank, column-major layout and strided adaptors are refused") {
  xt::xarray<float> a = xt::zeros<float>({2, 3});
  CHECK_THROWS_WITH(ri::from_xtensor<3>(a), doctest::Contains("expected a rank-3 xtensor expression but got rank 2 with shape (2, 3)"));
  xt::xtensor<float, 2, xt::layout_type::column_major> cm = xt::zeros<float>({2, 3});
  CHECK_THROWS_WITH(ri::from_xtensor<2>(cm), doctest::Contains("expected contiguous row-major strides (ras stores "
                                                              "tensors row-major) for shape (2, 3) but axis 1 has "
                                                              "stride 2 instead of 1 (strides (1, 2), column-major"));
  std::vector<float> buf(12, 0.0f);
  std::array<std::size_t, 2> shape{3, 2}, strides{4, 2};  // every other element of a 3 x 4 buffer
  auto strided = xt::adapt(buf.data(), 6, xt::no_ownership(), shape, strides);
  CHECK_THROWS_WITH(ri::from_xtensor<2>(strided),
                    doctest::Contains("axis 1 has stride 2 instead of 1 (strides (4, 2), dynamic layout)"));
  // a dynamic-layout adaptor whose strides are row-major is accepted
  std::array<std::size_t, 2> rm_strides{2, 1};
  auto dense = xt::adapt(buf.data(), 6, xt::no_ownership(), shape, rm_strides);
  CHECK(ri::from_xtensor<2>(dense).data() == buf.data());
}

TEST_CASE("eigen: ras -> Eigen::Map and a row-major Eigen matrix -> ras view share memory") {
  auto t = ras::Tensor<float, 2>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  auto m = ri::matrix_map(t);
  CHECK(m(1, 2) == 6.0f);
  m(0, 1) = 9.0f;
  CHECK(t(0, 1) == 9.0f);

  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rm(2, 3);
  rm << 1, 2, 3, 4, 5, 6;
  auto v = ri::from_eigen(rm);
  CHECK(v.data() == rm.data());
  CHECK(v.shape() == ras::Shape<2>{2, 3});
  CHECK(v(1, 0) == 4.0);
  v(1, 0) = -1;
  CHECK(rm(1, 0) == -1.0);
  const auto& crm = rm;
  static_assert(std::is_same_v<decltype(ri::from_eigen(crm)), ras::TensorView<const double, 2>>);

  Eigen::MatrixXd cm(2, 3);  // Eigen's default: column-major
  CHECK_THROWS_WITH(ri::from_eigen(cm), doctest::Contains("expected a row-major matrix (Eigen::RowMajor, as ras stores "
                                                          "tensors) but got a column-major 2x3 matrix"));
  Eigen::VectorXd col(4);  // one column: the same in both layouts
  CHECK(ri::from_eigen(col).shape() == ras::Shape<2>{4, 1});

  std::vector<float> buf(12, 1.0f);
  using RM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<RM, 0, Eigen::OuterStride<>> strided(buf.data(), 3, 2, Eigen::OuterStride<>(4));
  CHECK_THROWS_WITH(ri::from_eigen(strided), doctest::Contains("row-major 3x2 map with inner stride 1 and outer stride 4"));
  Eigen::Map<RM> dense(buf.data(), 3, 4);
  CHECK(ri::from_eigen(dense).data() == buf.data());
}
