// Tests for conv2d (pointwise GEMM, im2col, depthwise), avg_pool2d and interpolate_bilinear:
// kernels and backward passes against naive double references at odd shapes, gradient checks in
// double, values recorded from PyTorch 1.13, error messages and a float smoke test.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "ras/testing/gradcheck.hpp"
#include "ras/autograd/ops_conv.hpp"
#include "ras/autograd/ops_pool.hpp"

namespace ag = ras::autograd;
namespace kn = ras::kernels;
using ras::Index;
using T1 = ras::Tensor<double, 1>;
using T4 = ras::Tensor<double, 4>;
using V1 = ag::Var<double, 1>;
using V4 = ag::Var<double, 4>;

namespace {
template <class S, int R>
ras::Tensor<S, R> random_tensor(const ras::Shape<R>& shape, std::uint64_t seed) {
  ras::Rng rng(seed);
  auto t = ras::Tensor<S, R>::uninitialized(shape);
  ras::fill_normal(t, rng);
  return t;
}
template <int R>
ag::Var<double, R> random_var(const ras::Shape<R>& shape, std::uint64_t seed,
                              bool requires_grad = true) {
  return ag::Var<double, R>(random_tensor<double, R>(shape, seed), requires_grad);
}
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (Index i = 0; i < a.numel(); ++i)
    m = std::max(m, std::abs(double(a.data()[i]) - double(b.data()[i])));
  return m;
}

// Calls body(n, o, oy, ox, c, ky, kx, iy, ix) for every in-bounds tap of torch's conv2d.
template <class F>
void for_each_tap(const ras::Shape<4>& xs, const ras::Shape<4>& ws, const kn::Conv2dArgs& a,
                  Index ho, Index wo, F&& body) {
  const Index og = ws[0] / a.groups, cg = ws[1];
  for (Index n = 0; n < xs[0]; ++n)
    for (Index o = 0; o < ws[0]; ++o)
      for (Index oy = 0; oy < ho; ++oy)
        for (Index ox = 0; ox < wo; ++ox)
          for (Index ci = 0; ci < cg; ++ci)
            for (Index ky = 0; ky < ws[2]; ++ky)
              for (Index kx = 0; kx < ws[3]; ++kx) {
                const Index iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
                const Index ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
                if (iy >= 0 && iy < xs[2] && ix >= 0 && ix < xs[3])
                  body(n, o, oy, ox, (o / og) * cg + ci, ci, ky, kx, iy, ix);
              }
}

ras::Shape<4> conv_out_shape(const ras::Shape<4>& xs, const ras::Shape<4>& ws,
                             const kn::Conv2dArgs& a) {
  return {xs[0], ws[0],
          (xs[2] + a.pad_top + a.pad_bottom - a.dilation_h * (ws[2] - 1) - 1) / a.stride_h + 1,
          (xs[3] + a.pad_left + a.pad_right - a.dilation_w * (ws[3] - 1) - 1) / a.stride_w + 1};
}

// Naive conv2d forward and its gradients (dx, dw, db) for a cotangent dy.
T4 conv2d_ref(const T4& x, const T4& w, const T1* b, const kn::Conv2dArgs& a) {
  T4 y(conv_out_shape(x.shape(), w.shape(), a));
  for_each_tap(x.shape(), w.shape(), a, y.dim(2), y.dim(3),
               [&](Index n, Index o, Index oy, Index ox, Index c, Index ci, Index ky, Index kx,
                   Index iy, Index ix) { y(n, o, oy, ox) += x(n, c, iy, ix) * w(o, ci, ky, kx); });
  if (b)
    for (Index i = 0; i < y.numel(); ++i)
      y.data()[i] += b->data()[(i / (y.dim(2) * y.dim(3))) % y.dim(1)];
  return y;
}
void conv2d_ref_backward(const T4& x, const T4& w, const T4& dy, const kn::Conv2dArgs& a, T4& dx,
                         T4& dw, T1& db) {
  for_each_tap(x.shape(), w.shape(), a, dy.dim(2), dy.dim(3),
               [&](Index n, Index o, Index oy, Index ox, Index c, Index ci, Index ky, Index kx,
                   Index iy, Index ix) {
                 dx(n, c, iy, ix) += dy(n, o, oy, ox) * w(o, ci, ky, kx);
                 dw(o, ci, ky, kx) += dy(n, o, oy, ox) * x(n, c, iy, ix);
               });
  for (Index i = 0; i < dy.numel(); ++i)
    db.data()[(i / (dy.dim(2) * dy.dim(3))) % dy.dim(1)] += dy.data()[i];
}

struct ConvCase {
  const char* name;
  ras::Shape<4> x, w;
  kn::Conv2dArgs args;  // stride_h, stride_w, pad t/b/l/r, dilation_h, dilation_w, groups
};

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {"pointwise", {2, 3, 5, 7}, {4, 3, 1, 1}, {}},
      {"pointwise groups=2", {3, 4, 3, 1}, {6, 2, 1, 1}, {1, 1, 0, 0, 0, 0, 1, 1, 2}},
      {"1x1 stride 2", {1, 3, 7, 6}, {2, 3, 1, 1}, {2, 2, 0, 0, 0, 0, 1, 1, 1}},
      {"3x3 pad 1", {1, 3, 7, 5}, {2, 3, 3, 3}, kn::Conv2dArgs::same_symmetric(1, 1)},
      {"3x3 stride 2 pad (0,1,0,1)", {3, 2, 8, 7}, {5, 2, 3, 3}, {2, 2, 0, 1, 0, 1, 1, 1, 1}},
      {"5x3 stride (2,1) pad (2,2,2,2)", {2, 3, 6, 9}, {4, 3, 5, 3}, {2, 1, 2, 2, 2, 2, 1, 1, 1}},
      {"groups=2", {3, 4, 5, 6}, {6, 2, 3, 3}, kn::Conv2dArgs::same_symmetric(1, 1, 2)},
      {"dilation 2", {2, 3, 7, 8}, {2, 3, 3, 3}, {1, 1, 2, 2, 2, 2, 2, 2, 1}},
      {"stem-like stride 2 asym", {1, 3, 9, 9}, {4, 3, 3, 3}, {2, 2, 0, 1, 0, 1, 1, 1, 1}},
      {"depthwise k3 stride 2 pad (0,1,0,1)",
       {3, 4, 9, 8},
       {4, 1, 3, 3},
       {2, 2, 0, 1, 0, 1, 1, 1, 4}},
      {"depthwise k3 dilation 2", {2, 3, 7, 7}, {3, 1, 3, 3}, {1, 1, 2, 2, 2, 2, 2, 2, 3}},
      {"depthwise k5 pad 2", {3, 3, 6, 7}, {3, 1, 5, 5}, kn::Conv2dArgs::same_symmetric(1, 2, 3)},
      {"depthwise k5 stride 2 pad (1,2,1,2)",
       {1, 2, 9, 10},
       {2, 1, 5, 5},
       {2, 2, 1, 2, 1, 2, 1, 1, 2}},
      {"depthwise k7 generic", {2, 3, 8, 9}, {3, 1, 7, 7}, kn::Conv2dArgs::same_symmetric(1, 3, 3)},
      {"depthwise 3x5 narrow", {1, 2, 5, 3}, {2, 1, 3, 5}, {1, 1, 1, 1, 2, 2, 1, 1, 2}},
      {"single channel", {2, 1, 4, 5}, {1, 1, 3, 3}, kn::Conv2dArgs::same_symmetric(1, 1)},
  };
  return cases;
}
}  // namespace

TEST_CASE("conv2d: forward and backward match the naive reference (1 and 3 threads)") {
  const int saved_threads = ras::Cpu::num_threads();
  for (int threads : {1, 3}) {
    ras::Cpu::set_num_threads(threads);
    std::uint64_t seed = 100;
    for (const auto& cs : conv_cases()) {
      CAPTURE(cs.name);
      CAPTURE(threads);
      auto x = random_var<4>(cs.x, ++seed), w = random_var<4>(cs.w, ++seed);
      auto b = random_var<1>({cs.w[0]}, ++seed);
      auto y = ag::conv2d(x, w, &b, cs.args);
      const T4 ref = conv2d_ref(x.value(), w.value(), &b.value(), cs.args);
      CHECK(max_abs_diff(y.value(), ref) < 1e-12);
      CHECK(max_abs_diff(kn::conv2d_forward(x.value(), w.value(), &b.value(), cs.args), ref) <
            1e-12);

      const T4 dy = random_tensor<double, 4>(y.shape(), ++seed);
      ag::backward(y, dy);
      T4 dx(x.shape()), dw(w.shape());
      T1 db(b.shape());
      conv2d_ref_backward(x.value(), w.value(), dy, cs.args, dx, dw, db);
      CHECK(max_abs_diff(x.grad(), dx) < 1e-12);
      CHECK(max_abs_diff(w.grad(), dw) < 1e-12);
      CHECK(max_abs_diff(b.grad(), db) < 1e-12);
    }
  }
  ras::Cpu::set_num_threads(saved_threads);
}

TEST_CASE("conv2d: output size helper and asymmetric TensorFlow SAME padding") {
  CHECK(kn::conv2d_output_size(224, 3, 2, 0, 1) == 112);
  CHECK(kn::conv2d_output_size(7, 3, 1, 2, 2, 2) == 7);
  CHECK(kn::conv2d_output_size(2, 5, 1, 0, 0) == 0);
  auto x = random_var<4>({1, 1, 4, 4}, 1, false);
  auto w = V4(T4::full({1, 1, 3, 3}, 1.0), false);
  // Pads (0, 1): the first window covers rows/cols 0..2 (9 taps), the last one 2..3 plus padding.
  auto y = ag::conv2d(x, w, nullptr, kn::Conv2dArgs{2, 2, 0, 1, 0, 1});
  REQUIRE(y.shape() == ras::Shape<4>{1, 1, 2, 2});
  double s00 = 0, s11 = 0;
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 3; ++j) s00 += x.value()(0, 0, i, j);
  for (Index i = 2; i < 4; ++i)
    for (Index j = 2; j < 4; ++j) s11 += x.value()(0, 0, i, j);
  CHECK(y.value()(0, 0, 0, 0) == doctest::Approx(s00));
  CHECK(y.value()(0, 0, 1, 1) == doctest::Approx(s11));
}

TEST_CASE("gradcheck: conv2d (groups, asymmetric pad, bias, dilation, depthwise, pointwise)") {
  struct G {
    ras::Shape<4> x, w;
    kn::Conv2dArgs a;
  };
  const std::vector<G> cases = {
      {{2, 4, 5, 6},
       {4, 2, 3, 3},
       {2, 2, 0, 1, 0, 1, 1, 1, 2}},  // groups + asymmetric pad + stride
      {{1, 2, 6, 5}, {3, 2, 3, 2}, {1, 1, 2, 2, 2, 2, 2, 1, 1}},  // dilation, non-square kernel
      {{2, 3, 4, 3}, {2, 3, 1, 1}, {}},                           // pointwise GEMM
      {{2, 3, 6, 5}, {3, 1, 3, 3}, {2, 2, 0, 1, 0, 1, 1, 1, 3}},  // depthwise k3, asymmetric pad
      {{1, 2, 7, 6}, {2, 1, 5, 5}, {1, 1, 2, 2, 2, 2, 1, 1, 2}},  // depthwise k5
      {{1, 2, 5, 6}, {2, 1, 3, 4}, {1, 2, 1, 1, 2, 1, 2, 1, 2}},  // depthwise generic, dilation
  };
  std::uint64_t seed = 7;
  for (const auto& c : cases) {
    auto x = random_var<4>(c.x, ++seed), w = random_var<4>(c.w, ++seed);
    auto b = random_var<1>({c.w[0]}, ++seed);
    const auto a = c.a;
    auto r =
        ag::gradcheck([a](V4& xx, V4& ww, V1& bb) { return ag::conv2d(xx, ww, bb, a); }, x, w, b);
    CHECK_MESSAGE(r.ok, r.message);
    r = ag::gradcheck([a](V4& xx, V4& ww) { return ag::conv2d(xx, ww, nullptr, a); }, x, w);
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("conv2d: shape errors name the shapes") {
  auto x = random_var<4>({2, 6, 5, 5}, 1);
  auto w_bad_groups = random_var<4>({4, 6, 3, 3}, 2);
  CHECK_THROWS_WITH_AS(
      ag::conv2d(x, w_bad_groups, nullptr, kn::Conv2dArgs::same_symmetric(1, 1, 4)),
      doctest::Contains("not divisible by groups=4"), ras::Error);
  auto w5 = random_var<4>({5, 3, 3, 3}, 3);
  CHECK_THROWS_WITH_AS(ag::conv2d(x, w5, nullptr, kn::Conv2dArgs::same_symmetric(1, 1, 2)),
                       doctest::Contains("O=5"), ras::Error);
  auto w_cin = random_var<4>({4, 4, 3, 3}, 4);
  CHECK_THROWS_WITH_AS(ag::conv2d(x, w_cin, nullptr, kn::Conv2dArgs::same_symmetric(1, 1, 2)),
                       doctest::Contains("weight shape (4, 4, 3, 3)"), ras::Error);
  auto w_big = random_var<4>({4, 6, 7, 7}, 5);
  CHECK_THROWS_WITH_AS(ag::conv2d(x, w_big), doctest::Contains("input shape (2, 6, 5, 5)"),
                       ras::Error);
  auto w = random_var<4>({4, 6, 3, 3}, 6);
  auto b = random_var<1>({3}, 7);
  CHECK_THROWS_WITH_AS(ag::conv2d(x, w, b),
                       doctest::Contains("expected bias of shape (4,) but got (3,)"), ras::Error);
  CHECK_THROWS_AS(ag::conv2d(x, w, nullptr, kn::Conv2dArgs{0, 1}), ras::Error);
}

namespace {
// Naive avg_pool2d: the mean of the window over the zero-padded image, divided either by the
// number of taps that land inside the padded image or by those inside the real image.
T4 avg_pool_ref(const T4& x, const kn::Pool2dArgs& a) {
  const Index H = x.dim(2), W = x.dim(3);
  const Index ho = (H + 2 * a.pad_h - a.kernel_h) / a.stride_h + 1,
              wo = (W + 2 * a.pad_w - a.kernel_w) / a.stride_w + 1;
  T4 y({x.dim(0), x.dim(1), ho, wo});
  for (Index n = 0; n < x.dim(0); ++n)
    for (Index c = 0; c < x.dim(1); ++c)
      for (Index i = 0; i < ho; ++i)
        for (Index j = 0; j < wo; ++j) {
          double s = 0, inside = 0, padded = 0;
          for (Index ky = 0; ky < a.kernel_h; ++ky)
            for (Index kx = 0; kx < a.kernel_w; ++kx) {
              const Index h = i * a.stride_h - a.pad_h + ky, w = j * a.stride_w - a.pad_w + kx;
              if (h < H + a.pad_h && w < W + a.pad_w) ++padded;
              if (h >= 0 && h < H && w >= 0 && w < W) s += x(n, c, h, w), ++inside;
            }
          y(n, c, i, j) = s / (a.count_include_pad ? padded : inside);
        }
  return y;
}
}  // namespace

TEST_CASE("avg_pool2d: reference, PyTorch values and gradcheck") {
  const std::vector<kn::Pool2dArgs> cases = {
      {3, 3, 2, 2, 1, 1, true},  {3, 3, 2, 2, 1, 1, false}, {3, 2, 1, 2, 1, 1, true},
      {3, 2, 1, 2, 1, 1, false}, {2, 2, 2, 2, 0, 0, true},  {1, 3, 1, 3, 0, 1, false},
  };
  for (const auto& a : cases) {
    auto x = random_var<4>({2, 3, 7, 5}, 11);
    CHECK(max_abs_diff(ag::avg_pool2d(x, a).value(), avg_pool_ref(x.value(), a)) < 1e-13);
    auto small = random_var<4>({1, 2, 5, 4}, 12);
    auto r = ag::gradcheck([a](V4& v) { return ag::avg_pool2d(v, a); }, small);
    CHECK_MESSAGE(r.ok, r.message);
  }
  // torch.nn.functional.avg_pool2d on x = (3 i^2 mod 11) - 5, i = 0..29, shape (1, 1, 5, 6).
  std::vector<double> xv;
  for (int i = 0; i < 30; ++i) xv.push_back(double((i * i * 3) % 11 - 5));
  auto x = V4(T4::from({1, 1, 5, 6}, xv));
  const std::vector<double> incl = {-0.4444444444444444, -1.2222222222222223, -0.8888888888888888,
                                    -0.4444444444444444, -1.7777777777777777, -1.4444444444444444,
                                    -0.5555555555555556, -0.3333333333333333, -0.2222222222222222};
  const std::vector<double> excl = {-1.0,
                                    -1.8333333333333333,
                                    -1.3333333333333333,
                                    -0.6666666666666666,
                                    -1.7777777777777777,
                                    -1.4444444444444444,
                                    -1.25,
                                    -0.5,
                                    -0.3333333333333333};
  CHECK(max_abs_diff(ag::avg_pool2d(x, kn::Pool2dArgs::square(3, 2, 1, true)).value(),
                     T4::from({1, 1, 3, 3}, incl)) < 1e-14);
  CHECK(max_abs_diff(ag::avg_pool2d(x, kn::Pool2dArgs::square(3, 2, 1, false)).value(),
                     T4::from({1, 1, 3, 3}, excl)) < 1e-14);
  const std::vector<double> rect = {-0.5,
                                    -1.75,
                                    -1.75,
                                    -0.5,
                                    -1.0,
                                    -1.8333333333333333,
                                    -0.6666666666666666,
                                    1.0,
                                    0.3333333333333333,
                                    -1.5,
                                    -1.6666666666666667,
                                    -1.0,
                                    -2.3333333333333335,
                                    -1.5,
                                    0.6666666666666666,
                                    0.3333333333333333,
                                    -2.5,
                                    -1.25,
                                    0.25,
                                    -1.5};
  CHECK(max_abs_diff(ag::avg_pool2d(x, kn::Pool2dArgs{3, 2, 1, 2, 1, 1, false}).value(),
                     T4::from({1, 1, 5, 4}, rect)) < 1e-14);

  CHECK_THROWS_WITH_AS(ag::avg_pool2d(x, kn::Pool2dArgs::square(3, 1, 2)),
                       doctest::Contains("but got (2, 2)"), ras::Error);
  CHECK_THROWS_WITH_AS(ag::avg_pool2d(x, kn::Pool2dArgs::square(7, 1)),
                       doctest::Contains("(1, 1, 5, 6)"), ras::Error);
}

TEST_CASE("interpolate_bilinear: PyTorch values, identity, gradcheck") {
  // F.interpolate(x, size, mode="bilinear") on x = (i^2 mod 7) - 3, i = 0..11, shape (1, 1, 3, 4).
  std::vector<double> xv;
  for (int i = 0; i < 12; ++i) xv.push_back(double((i * i) % 7 - 3));
  auto x = V4(T4::from({1, 1, 3, 4}, xv));
  struct Expected {
    Index h, w;
    bool align_corners;
    std::vector<double> values;
  };
  const std::vector<Expected> expected = {
      {4,
       5,
       false,
       {-3.0,
        -2.3,
        -0.5,
        0.39999999999999947,
        -1.0,
        -1.75,
        -0.6124999999999998,
        -0.5,
        -1.2875000000000003,
        -2.25,
        -1.375,
        0.2875000000000002,
        -0.3125,
        -1.8125,
        -2.2500000000000004,
        -2.0,
        0.10000000000000016,
        0.0,
        -1.0,
        -1.0}},
      {4,
       5,
       true,
       {-3.0,
        -2.25,
        -0.5,
        0.5,
        -1.0,
        -1.6666666666666665,
        -0.41666666666666663,
        -0.5,
        -1.3333333333333333,
        -2.333333333333333,
        -1.3333333333333333,
        0.41666666666666663,
        -0.33333333333333337,
        -1.8333333333333333,
        -2.333333333333333,
        -2.0,
        0.25,
        0.0,
        -1.0,
        -1.0}},
      {2,
       3,
       false,
       {-2.291666666666667, -0.5, -1.2083333333333328, -1.2916666666666667, -0.125,
        -1.4583333333333333}},
      {2, 3, true, {-3.0, -0.5, -1.0, -2.0, 0.0, -1.0}},
  };
  for (const auto& e : expected) {
    CAPTURE(e.align_corners);
    auto y = ag::interpolate_bilinear(x, e.h, e.w, e.align_corners);
    CHECK(max_abs_diff(y.value(), T4::from({1, 1, e.h, e.w}, e.values)) < 1e-13);
  }
  auto same = ag::interpolate_bilinear(x, 3, 4, false);
  CHECK(max_abs_diff(same.value(), x.value()) == 0.0);

  auto v = random_var<4>({2, 2, 3, 4}, 21);
  for (bool ac : {false, true})
    for (auto hw : {std::pair<Index, Index>{7, 5}, {2, 3}, {1, 1}, {5, 2}}) {
      CAPTURE(ac);
      CAPTURE(hw.first);
      auto r = ag::gradcheck(
          [=](V4& t) { return ag::interpolate_bilinear(t, hw.first, hw.second, ac); }, v);
      CHECK_MESSAGE(r.ok, r.message);
    }
  CHECK_THROWS_WITH_AS(ag::interpolate_bilinear(v, 0, 3, true), doctest::Contains("0x3"),
                       ras::Error);
}

TEST_CASE("conv, pool, bilinear: float smoke test against the double reference") {
  using F4 = ras::Tensor<float, 4>;
  auto to_float = [](const T4& t) {
    auto f = F4::uninitialized(t.shape());
    for (Index i = 0; i < t.numel(); ++i) f.data()[i] = float(t.data()[i]);
    return f;
  };
  for (const auto& cs : conv_cases()) {
    CAPTURE(cs.name);
    const T4 x = random_tensor<double, 4>(cs.x, 31), w = random_tensor<double, 4>(cs.w, 32);
    auto xf = ag::Var<float, 4>(to_float(x), true);
    auto wf = ag::Var<float, 4>(to_float(w), true);
    auto y = ag::conv2d(xf, wf, nullptr, cs.args);
    CHECK(max_abs_diff(y.value(), conv2d_ref(x, w, nullptr, cs.args)) < 1e-4);
    ag::backward(y, ras::Tensor<float, 4>::full(y.shape(), 1.0f));
    CHECK(wf.has_grad());
  }
  const T4 x = random_tensor<double, 4>({2, 3, 6, 5}, 33);
  auto xf = ag::Var<float, 4>(to_float(x));
  const auto pa = kn::Pool2dArgs::square(3, 2, 1, false);
  CHECK(max_abs_diff(ag::avg_pool2d(xf, pa).value(), avg_pool_ref(x, pa)) < 1e-5);
  auto up_f = ag::interpolate_bilinear(xf, 11, 9, true);
  auto up_d = ag::interpolate_bilinear(V4(x.clone()), 11, 9, true);
  CHECK(max_abs_diff(up_f.value(), up_d.value()) < 1e-5);
}
