// tests/test_cuda_parity.cu — the Cuda backend against the Reference backend (the parity oracle),
// in the style of ggml's test-backend-ops: every kernel of kernels::AllKernels runs on the same
// random inputs on Reference and on Cuda (inputs copied with to<>), outputs compared with the
// per-kernel tolerances written below; a kernel of AllKernels without a case here fails the test.
// Then the whole RAS model (forward with jitter, MSE loss, backward, clip_grad_norm, one AdamW
// step, anomaly maps and scores) and the MobileNetV2 backbone + neck run on Cuda against Cpu, and
// the Detector moved to the GPU (pipeline/device_compute.hpp: the `ras score|eval|features --device
// cuda` path) against the Cpu detector: features, maps, box-filter scores, original-size maps.
//
// Exit codes: 0 all passed, 1 a failure, 77 "skipped: no CUDA device found" (ctest SKIP_RETURN_CODE).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/backbones/mobilenet_v2.hpp"
#include "ras/kernels/conv2d.hpp"
#include "ras/kernels/depthwise.hpp"
#include "ras/kernels/elementwise.hpp"
#include "ras/kernels/gemm.hpp"
#include "ras/kernels/layout.hpp"
#include "ras/kernels/memory.hpp"
#include "ras/kernels/model.hpp"
#include "ras/kernels/norm.hpp"
#include "ras/kernels/optim.hpp"
#include "ras/kernels/pool.hpp"
#include "ras/kernels/reduce.hpp"
#include "ras/kernels/resample.hpp"
#include "ras/model/ras_model.hpp"
#include "ras/model/scoring.hpp"
#include "ras/nn/optim.hpp"
#include "ras/pipeline/device_compute.hpp"
#include "ras/testing/synthetic_weights.hpp"
#include "ras/cuda.cuh"

namespace {

using ras::Index;
using ras::Shape;
using Ref = ras::Reference;
using Gpu = ras::Cuda;
namespace k = ras::kernels;

int failures = 0, checks = 0;
std::set<std::string, std::less<>> covered;

// The same random data on both devices.
template <class S, int R>
struct Pair {
  ras::Tensor<S, R, Ref> r;
  ras::Tensor<S, R, Gpu> g;
  ras::Tensor<S, R, Ref>& t(Ref) { return r; }
  ras::Tensor<S, R, Gpu>& t(Gpu) { return g; }
  S* p(Ref) { return r.data(); }
  S* p(Gpu) { return g.data(); }
};

std::mt19937_64& rng() {
  static std::mt19937_64 gen(20261203);
  return gen;
}

template <class S = float, int R = 1>
Pair<S, R> rnd(const Shape<R>& shape, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<S> v(static_cast<std::size_t>(ras::numel(shape)));
  for (auto& x : v) x = static_cast<S>(u(rng()));
  Pair<S, R> p{ras::Tensor<S, R, Ref>::from(shape, v), {}};
  p.g = p.r.template to<Gpu>();
  return p;
}
Pair<float, 1> vec(Index n, double lo = -1.0, double hi = 1.0) { return rnd<float, 1>({n}, lo, hi); }

Pair<Index, 1> indices(Index n, Index range) {
  std::uniform_int_distribution<Index> u(0, range - 1);
  std::vector<Index> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = u(rng());
  Pair<Index, 1> p{ras::Tensor<Index, 1, Ref>::from({n}, v), {}};
  p.g = p.r.to<Gpu>();
  return p;
}

// f(Ref{}) then f(Gpu{}): the kernel call written once for both devices.
template <class F>
void both(F f) {
  f(Ref{});
  f(Gpu{});
  Gpu::synchronize();
}

bool close(double a, double b, double rtol, double atol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= atol + rtol * std::fabs(a);
}

template <class S>
void compare(std::string_view kernel, const std::string& what, const S* ref, const S* got, Index n, double rtol,
             double atol) {
  ++checks;
  Index bad = 0, first = -1;
  for (Index i = 0; i < n; ++i)
    if (!close(double(ref[i]), double(got[i]), rtol, atol)) {
      if (first < 0) first = i;
      ++bad;
    }
  if (bad) {
    ++failures;
    std::printf("FAIL %-32s %s: %lld of %lld values differ; first at %lld: reference %.9g, cuda %.9g\n",
                std::string(kernel).c_str(), what.c_str(), static_cast<long long>(bad), static_cast<long long>(n),
                static_cast<long long>(first), double(ref[first]), double(got[first]));
  }
}

// Compares the Cuda copy of p with its Reference copy.
template <class S, int R>
void check(std::string_view kernel, const std::string& what, Pair<S, R>& p, double rtol, double atol) {
  covered.insert(std::string(kernel));
  const auto host = p.g.template to<Ref>();
  compare(kernel, what, p.r.data(), host.data(), p.r.numel(), rtol, atol);
}
template <class S, int R>
void check(std::string_view kernel, const std::string& what, const ras::Tensor<S, R, Ref>& r,
           const ras::Tensor<S, R, Gpu>& g, double rtol, double atol) {
  covered.insert(std::string(kernel));
  if (r.shape() != g.shape()) {
    ++checks, ++failures;
    std::printf("FAIL %-32s %s: shape %s vs %s\n", std::string(kernel).c_str(), what.c_str(),
                ras::shape_string(r.shape()).c_str(), ras::shape_string(g.shape()).c_str());
    return;
  }
  const auto host = g.template to<Ref>();
  compare(kernel, what, r.data(), host.data(), r.numel(), rtol, atol);
}
void check_scalar(std::string_view kernel, const std::string& what, double ref, double got, double rtol, double atol) {
  covered.insert(std::string(kernel));
  compare(kernel, what, &ref, &got, 1, rtol, atol);
}

constexpr double exact = 0, fp = 2e-6, acc = 2e-5, loose = 2e-4;

// ---- kernels --------------------------------------------------------------------------------

void elementwise_cases() {
  for (Index n : {Index(1), Index(1000), Index(100003)}) {
    const std::string w = "n=" + std::to_string(n);
    auto a = vec(n), b = vec(n, 0.5, 2.0), y = vec(n), x6 = vec(n, -3, 9);
#define BIN(fn, name)                                                                         \
  both([&](auto d) { k::fn<float, decltype(d)>(n, a.p(d), b.p(d), y.p(d)); });              \
  check(name, w, y, fp, 1e-7);
    BIN(add, "add") BIN(sub, "sub") BIN(mul, "mul") BIN(div, "div") BIN(div_acc, "div_acc")
#undef BIN
    both([&](auto d) { k::add_scalar<float, decltype(d)>(n, a.p(d), 0.25f, y.p(d)); });
    check("add_scalar", w, y, fp, 1e-7);
    both([&](auto d) { k::scale<float, decltype(d)>(n, a.p(d), -1.5f, y.p(d)); });
    check("scale", w, y, fp, 1e-7);
    both([&](auto d) { k::axpy_acc<float, decltype(d)>(n, 0.75f, a.p(d), y.p(d)); });
    check("axpy_acc", w, y, fp, 1e-7);
    both([&](auto d) { k::sub_acc<float, decltype(d)>(n, 0.5f, a.p(d), b.p(d), y.p(d)); });
    check("sub_acc", w, y, fp, 1e-6);
    both([&](auto d) { k::mul_acc<float, decltype(d)>(n, 2.0f, a.p(d), b.p(d), y.p(d)); });
    check("mul_acc", w, y, fp, 1e-6);
    both([&](auto d) { k::div_backward_b_acc<float, decltype(d)>(n, a.p(d), x6.p(d), b.p(d), y.p(d)); });
    check("div_backward_b_acc", w, y, fp, 1e-6);
    // activations: forward from x6 (covers relu6's both clamps), backward into y
    auto out = vec(n);
#define ACT(fwd, bwd, from_output)                                                                          \
  both([&](auto d) { k::fwd<float, decltype(d)>(n, x6.p(d), out.p(d)); });                               \
  check(#fwd, w, out, fp, 1e-7);                                                                           \
  both([&](auto d) { k::bwd<float, decltype(d)>(n, (from_output ? out : x6).p(d), a.p(d), y.p(d)); });   \
  check(#bwd, w, y, fp, 1e-6);
    ACT(relu_forward, relu_backward_acc, true)
    ACT(relu6_forward, relu6_backward_acc, false)
    ACT(sigmoid_forward, sigmoid_backward_acc, true)
    ACT(silu_forward, silu_backward_acc, false)
#undef ACT
    auto pos = vec(n, 0.1, 4.0);
    both([&](auto d) { k::sqrt_forward<float, decltype(d)>(n, pos.p(d), out.p(d)); });
    check("sqrt_forward", w, out, fp, 1e-7);
    both([&](auto d) { k::sqrt_backward_acc<float, decltype(d)>(n, out.p(d), a.p(d), y.p(d)); });
    check("sqrt_backward_acc", w, y, fp, 1e-6);
  }
  // NaN rules of relu / relu6
  {
    auto x = vec(4);
    std::vector<float> v = {std::nanf(""), -1.0f, 7.0f, 3.0f};
    x.r = ras::Tensor<float, 1, Ref>::from({4}, v);
    x.g = x.r.to<Gpu>();
    auto y = vec(4);
    both([&](auto d) { k::relu_forward<float, decltype(d)>(4, x.p(d), y.p(d)); });
    check("relu_forward", "NaN", y, exact, 0);
    both([&](auto d) { k::relu6_forward<float, decltype(d)>(4, x.p(d), y.p(d)); });
    check("relu6_forward", "NaN", y, exact, 0);
  }
  for (auto [outer, C, inner] : {std::tuple<Index, Index, Index>{1, 7, 1}, {3, 32, 196}, {64, 272, 1}, {2, 5, 0}}) {
    const std::string w = "(" + std::to_string(outer) + "," + std::to_string(C) + "," + std::to_string(inner) + ")";
    const Index n = outer * C * inner;
    auto x = vec(n), v = vec(C), y = vec(n), gv = vec(C);
    both([&](auto d) { k::channel_add<float, decltype(d)>(outer, C, inner, x.p(d), v.p(d), y.p(d)); });
    check("channel_add", w, y, fp, 1e-7);
    both([&](auto d) { k::channel_mul<float, decltype(d)>(outer, C, inner, x.p(d), v.p(d), y.p(d)); });
    check("channel_mul", w, y, fp, 1e-7);
    both([&](auto d) { k::channel_mul_acc<float, decltype(d)>(outer, C, inner, x.p(d), v.p(d), y.p(d)); });
    check("channel_mul_acc", w, y, fp, 1e-6);
    both([&](auto d) { k::channel_sum_acc<float, decltype(d)>(outer, C, inner, x.p(d), y.p(d), gv.p(d)); });
    check("channel_sum_acc", w + " with a", gv, acc, 1e-5);
    both([&](auto d) { k::channel_sum_acc<float, decltype(d)>(outer, C, inner, x.p(d), nullptr, gv.p(d)); });
    check("channel_sum_acc", w + " without a", gv, acc, 1e-5);
  }
}

void reduce_cases() {
  for (Index n : {Index(0), Index(1), Index(777), Index(1 << 20)}) {
    const std::string w = "n=" + std::to_string(n);
    auto a = vec(std::max<Index>(n, 1)), b = vec(std::max<Index>(n, 1));
    check_scalar("sum_all", w, k::sum_all<float, Ref>(n, a.p(Ref{})), k::sum_all<float, Gpu>(n, a.p(Gpu{})), 1e-6,
                 1e-6);
    check_scalar("squared_diff_sum", w, k::squared_diff_sum<float, Ref>(n, a.p(Ref{}), b.p(Ref{})),
                 k::squared_diff_sum<float, Gpu>(n, a.p(Gpu{}), b.p(Gpu{})), 1e-6, 1e-6);
    check_scalar("sum_squares", w, k::sum_squares<float, Ref>(n, a.p(Ref{})), k::sum_squares<float, Gpu>(n, a.p(Gpu{})),
                 1e-12, 1e-12);
  }
  for (auto [outer, len, inner] : {std::tuple<Index, Index, Index>{1, 1, 1}, {4, 196, 272}, {64, 272, 1}, {3, 0, 5}}) {
    const std::string w = "(" + std::to_string(outer) + "," + std::to_string(len) + "," + std::to_string(inner) + ")";
    auto x = vec(std::max<Index>(outer * len * inner, 1)), y = vec(std::max<Index>(outer * inner, 1));
    auto dx = vec(std::max<Index>(outer * len * inner, 1));
    for (bool accumulate : {false, true}) {
      both([&](auto d) { k::sum_axis<float, decltype(d)>(outer, len, inner, 0.5f, x.p(d), y.p(d), accumulate); });
      check("sum_axis", w + (accumulate ? " acc" : ""), y, acc, 1e-6);
    }
    both([&](auto d) { k::broadcast_axis_acc<float, decltype(d)>(outer, len, inner, 0.5f, y.p(d), dx.p(d)); });
    check("broadcast_axis_acc", w, dx, fp, 1e-6);
    both([&](auto d) { k::l2_norm_forward<float, decltype(d)>(outer, len, inner, x.p(d), y.p(d)); });
    check("l2_norm_forward", w, y, acc, 1e-6);
    auto dy = vec(std::max<Index>(outer * inner, 1));
    both([&](auto d) { k::l2_norm_backward_acc<float, decltype(d)>(outer, len, inner, x.p(d), y.p(d), dy.p(d), dx.p(d)); });
    check("l2_norm_backward_acc", w, dx, acc, 1e-6);
  }
  // softmax with and without a mask (0 / -inf entries, a fully masked row -> NaN), aliasing y = x
  for (auto [rows, L] : {std::pair<Index, Index>{1, 1}, {8 * 196, 196}, {5, 1000}}) {
    const std::string w = "(" + std::to_string(rows) + "," + std::to_string(L) + ")";
    auto x = vec(rows * L, -8, 8), y = vec(rows * L), dx = vec(rows * L), dy = vec(rows * L);
    const Index mask_rows = std::min<Index>(rows, 7);
    std::vector<float> m(static_cast<std::size_t>(mask_rows * L));
    for (Index i = 0; i < mask_rows * L; ++i)
      m[static_cast<std::size_t>(i)] = (i % 3 == 1) ? -INFINITY : 0.0f;
    if (L > 1)
      for (Index j = 0; j < L; ++j) m[static_cast<std::size_t>(j)] = -INFINITY;  // row 0: fully masked
    Pair<float, 1> mask{ras::Tensor<float, 1, Ref>::from({mask_rows * L}, m), {}};
    mask.g = mask.r.to<Gpu>();
    both([&](auto d) { k::softmax_forward<float, decltype(d)>(rows, L, x.p(d), nullptr, 1, y.p(d)); });
    check("softmax_forward", w, y, acc, 1e-7);
    both([&](auto d) { k::softmax_backward_acc<float, decltype(d)>(rows, L, y.p(d), dy.p(d), dx.p(d)); });
    check("softmax_backward_acc", w, dx, acc, 1e-6);
    both([&](auto d) { k::softmax_forward<float, decltype(d)>(rows, L, x.p(d), mask.p(d), mask_rows, x.p(d)); });
    check("softmax_forward", w + " masked, in place", x, acc, 1e-7);
  }
}

void gemm_cases() {
  for (auto [m, n, kk] : {std::tuple<Index, Index, Index>{1, 1, 1}, {196, 272, 272}, {37, 53, 0}, {64, 1, 300}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 1.0f}) {
          const std::string w = "m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(kk) +
                                (ta ? " A^T" : "") + (tb ? " B^T" : "") + " beta=" + std::to_string(int(beta));
          const Index lda = ta ? m + 3 : kk + 2, ldb = tb ? kk + 1 : n + 4, ldc = n + 5;
          auto a = vec((ta ? kk : m) * lda + 1), b = vec((tb ? n : kk) * ldb + 1), c = vec(m * ldc);
          both([&](auto d) {
            k::gemm<float, decltype(d)>(ta, tb, m, n, kk, 1.25f, a.p(d), lda, b.p(d), ldb, beta, c.p(d), ldc);
          });
          check("gemm", w, c, loose, 1e-4);
        }
  }
  // batched: per-item A (attention scores), broadcast B (stride 0), and a shared C (stride 0: accumulates)
  const Index batch = 6, m = 49, n = 32, kk = 40;
  auto a = vec(batch * m * kk), b = vec(batch * kk * n), b0 = vec(kk * n), c = vec(batch * m * n), c0 = vec(m * n);
  both([&](auto d) {
    k::gemm_batched<float, decltype(d)>(false, true, batch, m, n, kk, 1.0f, a.p(d), kk, m * kk, b.p(d), kk, n * kk,
                                        0.0f, c.p(d), n, m * n);
  });
  check("gemm_batched", "per-item", c, loose, 1e-4);
  both([&](auto d) {
    k::gemm_batched<float, decltype(d)>(false, false, batch, m, n, kk, 0.5f, a.p(d), kk, m * kk, b0.p(d), n, 0, 1.0f,
                                        c.p(d), n, m * n);
  });
  check("gemm_batched", "broadcast B", c, loose, 1e-4);
  both([&](auto d) {
    k::gemm_batched<float, decltype(d)>(true, false, batch, kk, n, m, 1.0f, a.p(d), kk, m * kk, c.p(d), n, m * n, 1.0f,
                                        b0.p(d), n, 0);
  });
  check("gemm_batched", "shared C", b0, loose, 1e-3);
}

void conv_cases() {
  struct Case {
    const char* what;
    Shape<4> x, w;
    k::Conv2dArgs a;
    bool bias;
  };
  k::Conv2dArgs same;  // TF "SAME" for stride 2, kernel 3 on an even input: pad (0, 1, 0, 1)
  same.stride_h = same.stride_w = 2, same.pad_bottom = same.pad_right = 1;
  k::Conv2dArgs dil = k::Conv2dArgs::same_symmetric(1, 2);
  dil.dilation_h = dil.dilation_w = 2;
  const std::vector<Case> cases = {
      {"3x3 s2 p1 (stem)", {2, 3, 32, 32}, {16, 3, 3, 3}, k::Conv2dArgs::same_symmetric(2, 1), false},
      {"1x1 pointwise", {3, 32, 14, 14}, {48, 32, 1, 1}, {}, true},
      {"1x1 grouped", {2, 8, 7, 9}, {12, 4, 1, 1}, k::Conv2dArgs::same_symmetric(1, 0, 2), true},
      {"3x3 asymmetric SAME s2", {2, 6, 10, 10}, {5, 6, 3, 3}, same, true},
      {"3x3 dilation 2, groups 2", {1, 4, 9, 11}, {6, 2, 3, 3}, [&] { auto d = dil; d.groups = 2; return d; }(), false},
      {"5x5 s1 p2, batch 1, 1 channel", {1, 1, 5, 5}, {1, 1, 5, 5}, k::Conv2dArgs::same_symmetric(1, 2), true},
  };
  for (const auto& c : cases) {
    auto x = rnd<float, 4>(c.x);
    auto w = rnd<float, 4>(c.w);
    auto bias = vec(c.w[0]);
    auto yr = k::conv2d_forward<float, Ref>(x.r, w.r, c.bias ? &bias.r : nullptr, c.a);
    auto yg = k::conv2d_forward<float, Gpu>(x.g, w.g, c.bias ? &bias.g : nullptr, c.a);
    check("conv2d_forward", c.what, yr, yg, loose, 1e-5);
    auto dy = rnd<float, 4>(yr.shape());
    auto dx = rnd<float, 4>(c.x);
    auto dw = rnd<float, 4>(c.w);
    auto db = vec(c.w[0]);
    both([&](auto d) { k::conv2d_backward_data<float, decltype(d)>(dy.t(d), w.t(d), dx.t(d), c.a); });
    check("conv2d_backward_data", c.what, dx, loose, 1e-5);
    both([&](auto d) { k::conv2d_backward_weight<float, decltype(d)>(dy.t(d), x.t(d), dw.t(d), c.a); });
    check("conv2d_backward_weight", c.what, dw, loose, 1e-4);
    both([&](auto d) { k::conv2d_backward_bias<float, 4, decltype(d)>(dy.t(d), db.t(d)); });
    check("conv2d_backward_bias", c.what, db, acc, 1e-5);
  }
  // depthwise (groups == C == O)
  for (auto [what, x, kh, a] : {std::tuple<const char*, Shape<4>, Index, k::Conv2dArgs>{
                                    "3x3 s1 p1", {2, 32, 14, 14}, 3, k::Conv2dArgs::same_symmetric(1, 1, 32)},
                                {"3x3 s2 SAME", {2, 16, 15, 16}, 3, [] {
                                   k::Conv2dArgs s;
                                   s.stride_h = s.stride_w = 2, s.pad_bottom = s.pad_right = 1, s.groups = 16;
                                   return s;
                                 }()},
                                {"5x5 s2 p2", {1, 24, 28, 28}, 5, k::Conv2dArgs::same_symmetric(2, 2, 24)}}) {
    const Index C = x[1];
    auto xx = rnd<float, 4>(x);
    auto w = rnd<float, 4>({C, 1, kh, kh});
    auto bias = vec(C);
    auto yr = k::depthwise_conv2d_forward<float, Ref>(xx.r, w.r, &bias.r, a);
    auto yg = k::depthwise_conv2d_forward<float, Gpu>(xx.g, w.g, &bias.g, a);
    check("depthwise_conv2d_forward", what, yr, yg, acc, 1e-6);
    auto dy = rnd<float, 4>(yr.shape()), dx = rnd<float, 4>(x), dw = rnd<float, 4>({C, 1, kh, kh});
    both([&](auto d) { k::depthwise_conv2d_backward_data<float, decltype(d)>(dy.t(d), w.t(d), dx.t(d), a); });
    check("depthwise_conv2d_backward_data", what, dx, acc, 1e-6);
    both([&](auto d) { k::depthwise_conv2d_backward_weight<float, decltype(d)>(dy.t(d), xx.t(d), dw.t(d), a); });
    check("depthwise_conv2d_backward_weight", what, dw, loose, 1e-4);
  }
}

void norm_cases() {
  for (Shape<4> s : {Shape<4>{8, 32, 7, 7}, Shape<4>{1, 3, 1, 1}, Shape<4>{2, 16, 14, 15}}) {
    const std::string w = ras::shape_string(s);
    const Index C = s[1], M = s[0] * s[2] * s[3];
    auto x = rnd<float, 4>(s, -2, 3);
    auto mean = vec(C);
    auto var = vec(C);
    auto rstd = vec(C);
    auto weight = vec(C);
    auto bias = vec(C);
    auto rmean = vec(C), rvar = vec(C, 0.5, 2.0);
    both([&](auto d) { k::batch_norm_statistics<float, 4, decltype(d)>(x.t(d), mean.t(d), var.t(d)); });
    check("batch_norm_statistics", w + " mean", mean, acc, 1e-6);
    check("batch_norm_statistics", w + " var", var, acc, 1e-6);
    for (bool training : {true, false}) {
      both([&](auto d) {
        k::batch_norm_finalize<float, decltype(d)>(C, M, training, true, 1e-5f, 0.1f, var.p(d), mean.p(d), rstd.p(d),
                                                   rmean.p(d), rvar.p(d));
      });
      check("batch_norm_finalize", w + (training ? " training" : " eval") + " rstd", rstd, acc, 1e-6);
      check("batch_norm_finalize", w + " running_var", rvar, acc, 1e-6);
    }
    auto yr = k::batch_norm_forward<float, 4, Ref>(x.r, mean.r, rstd.r, &weight.r, &bias.r);
    auto yg = k::batch_norm_forward<float, 4, Gpu>(x.g, mean.g, rstd.g, &weight.g, &bias.g);
    check("batch_norm_forward", w, yr, yg, acc, 1e-6);
    auto dy = rnd<float, 4>(s);
    auto dx = rnd<float, 4>(s);
    auto dw = vec(C);
    auto db = vec(C);
    for (bool batch_stats : {true, false}) {
      both([&](auto d) {
        k::batch_norm_backward<float, 4, decltype(d)>(dy.t(d), x.t(d), mean.t(d), rstd.t(d), &weight.t(d), batch_stats,
                                                      &dx.t(d), &dw.t(d), &db.t(d));
      });
      check("batch_norm_backward", w + " dx", dx, loose, 1e-5);
      check("batch_norm_backward", w + " dweight", dw, loose, 1e-5);
      check("batch_norm_backward", w + " dbias", db, loose, 1e-5);
    }
  }
  for (Shape<3> s : {Shape<3>{4, 196, 272}, Shape<3>{1, 1, 7}, Shape<3>{2, 3, 1000}}) {
    const std::string w = ras::shape_string(s);
    const Index C = s[2], rows = s[0] * s[1];
    auto x = rnd<float, 3>(s, -2, 3);
    auto weight = vec(C);
    auto bias = vec(C);
    auto mean = vec(rows);
    auto rstd = vec(rows);
    auto yr = k::layer_norm_forward<float, 3, Ref>(x.r, &weight.r, &bias.r, 1e-5f, mean.r, rstd.r);
    auto yg = k::layer_norm_forward<float, 3, Gpu>(x.g, &weight.g, &bias.g, 1e-5f, mean.g, rstd.g);
    check("layer_norm_forward", w, yr, yg, acc, 1e-5);
    check("layer_norm_forward", w + " rstd", rstd, acc, 1e-5);
    auto dy = rnd<float, 3>(s);
    auto dx = rnd<float, 3>(s);
    auto dw = vec(C);
    auto db = vec(C);
    both([&](auto d) {
      k::layer_norm_backward<float, 3, decltype(d)>(dy.t(d), x.t(d), mean.t(d), rstd.t(d), &weight.t(d), &dx.t(d),
                                                    &dw.t(d), &db.t(d));
    });
    check("layer_norm_backward", w + " dx", dx, loose, 1e-5);
    check("layer_norm_backward", w + " dweight", dw, loose, 1e-4);
    check("layer_norm_backward", w + " dbias", db, loose, 1e-4);
  }
}

void pool_resample_cases() {
  for (auto [x, a] : {std::pair<Shape<4>, k::Pool2dArgs>{{2, 1, 224, 224}, k::Pool2dArgs::square(16, 1, 0)},
                      {{1, 3, 9, 10}, k::Pool2dArgs::square(3, 2, 1, false)},
                      {{2, 4, 7, 7}, k::Pool2dArgs::square(3, 1, 1, true)},
                      {{1, 2, 5, 6}, k::Pool2dArgs::square(2, 3, 0)}}) {
    const std::string w = ras::shape_string(x) + " k" + std::to_string(a.kernel_h) + " s" + std::to_string(a.stride_h);
    auto xx = rnd<float, 4>(x);
    auto yr = k::avg_pool2d_forward<float, Ref>(xx.r, a);
    auto yg = k::avg_pool2d_forward<float, Gpu>(xx.g, a);
    check("avg_pool2d_forward", w, yr, yg, acc, 1e-6);
    auto dy = rnd<float, 4>(yr.shape()), dx = rnd<float, 4>(x);
    both([&](auto d) { k::avg_pool2d_backward<float, decltype(d)>(dy.t(d), dx.t(d), a); });
    check("avg_pool2d_backward", w, dx, acc, 1e-6);
  }
  for (auto [x, oh, ow] : {std::tuple<Shape<4>, Index, Index>{{2, 1, 14, 14}, 224, 224},
                           {{1, 3, 56, 56}, 14, 14},
                           {{2, 2, 7, 9}, 7, 9},
                           {{1, 1, 1, 1}, 3, 2},
                           {{1, 2, 5, 8}, 11, 3}}) {
    for (bool align : {false, true}) {
      const std::string w = ras::shape_string(x) + " -> " + std::to_string(oh) + "x" + std::to_string(ow) +
                            (align ? " align_corners" : "");
      auto xx = rnd<float, 4>(x);
      auto yr = k::interpolate_bilinear_forward<float, Ref>(xx.r, oh, ow, align);
      auto yg = k::interpolate_bilinear_forward<float, Gpu>(xx.g, oh, ow, align);
      check("interpolate_bilinear_forward", w, yr, yg, acc, 1e-6);
      auto dy = rnd<float, 4>(yr.shape()), dx = rnd<float, 4>(x);
      both([&](auto d) { k::interpolate_bilinear_backward<float, decltype(d)>(dy.t(d), dx.t(d), align); });
      check("interpolate_bilinear_backward", w, dx, loose, 1e-5);
    }
  }
}

void memory_layout_cases() {
  for (Index n : {Index(1), Index(4099)}) {
    auto y = vec(n);
    both([&](auto d) { k::fill<float, decltype(d)>(n, 3.5f, y.p(d)); });
    check("fill", "n=" + std::to_string(n), y, exact, 0);
  }
  auto src = vec(272), tiled = vec(5 * 272);
  both([&](auto d) { k::tile<float, decltype(d)>(5, 272, src.p(d), tiled.p(d)); });
  check("tile", "5 x 272", tiled, exact, 0);
  // gather / scatter with repeated indices
  const Index rows = 10, row = 33, n = 50;
  auto table = vec(rows * row), out = vec(n * row), grad = vec(n * row), acc_into = vec(rows * row);
  auto idx = indices(n, rows);
  both([&](auto d) { k::gather_rows<float, decltype(d)>(n, row, idx.p(d), table.p(d), out.p(d)); });
  check("gather_rows", "50 of 10 rows", out, exact, 0);
  both([&](auto d) { k::scatter_add_rows<float, decltype(d)>(n, row, idx.p(d), grad.p(d), acc_into.p(d)); });
  check("scatter_add_rows", "repeated indices", acc_into, exact, 0);  // same order of additions: bit-identical
  // permutations: NCHW -> tokens, attention heads, rank 5
  {
    const Shape<4> s{2, 272, 14, 14};
    auto in = rnd<float, 4>(s);
    auto outp = vec(ras::numel(s));
    auto gin = rnd<float, 4>(s);
    const std::array<int, 4> perm{0, 2, 3, 1};
    both([&](auto d) { k::permute_gather<float, 4, decltype(d)>(s, perm, in.p(d), outp.p(d)); });
    check("permute_gather", "NCHW -> NHWC", outp, exact, 0);
    both([&](auto d) { k::permute_scatter_acc<float, 4, decltype(d)>(s, perm, outp.p(d), gin.p(d)); });
    check("permute_scatter_acc", "NCHW -> NHWC", gin, exact, 1e-7);
  }
  {
    const Shape<5> s{2, 3, 4, 5, 6};
    auto in = rnd<float, 5>(s);
    auto outp = vec(ras::numel(s));
    auto gin = rnd<float, 5>(s);
    const std::array<int, 5> perm{3, 0, 4, 2, 1};
    both([&](auto d) { k::permute_gather<float, 5, decltype(d)>(s, perm, in.p(d), outp.p(d)); });
    check("permute_gather", "rank 5", outp, exact, 0);
    both([&](auto d) { k::permute_scatter_acc<float, 5, decltype(d)>(s, perm, outp.p(d), gin.p(d)); });
    check("permute_scatter_acc", "rank 5", gin, exact, 1e-7);
  }
  for (bool accumulate : {false, true}) {
    const Index outer = 3, inner = 7, src_len = 5, dst_len = 9, len = 4;
    auto s = vec(outer * src_len * inner), d2 = vec(outer * dst_len * inner);
    both([&](auto d) {
      k::axis_block_copy<float, decltype(d)>(outer, inner, len, s.p(d), src_len, 1, d2.p(d), dst_len, 3, accumulate);
    });
    check("axis_block_copy", accumulate ? "accumulate" : "copy", d2, exact, 1e-7);
  }
}

void optim_model_cases() {
  const Index n = 100003;
  auto w = vec(n), g = vec(n), m = vec(n), v = vec(n, 0, 1e-2);
  for (bool decoupled : {true, false}) {
    k::AdamStepArgs<float> a{};
    a.decay = 1 - 7e-4f * 1e-4f, a.l2 = 1e-2f, a.beta1 = 0.9f, a.beta2 = 0.999f, a.one_minus_beta1 = 0.1f,
    a.one_minus_beta2 = 0.001f, a.step_size = 7e-4f / 0.1f, a.bias_correction2_sqrt = std::sqrt(0.001f), a.eps = 1e-8f;
    a.decoupled = decoupled, a.has_weight_decay = true;
    both([&](auto d) { k::adam_step<float, decltype(d)>(n, w.p(d), g.p(d), m.p(d), v.p(d), a); });
    check("adam_step", decoupled ? "AdamW w" : "Adam w", w, acc, 1e-6);
    check("adam_step", "m", m, fp, 1e-7);
    check("adam_step", "v", v, fp, 1e-9);
  }
  auto buf = vec(n);
  for (bool first : {true, false})
    for (bool nesterov : {false, true}) {
      k::SgdStepArgs<float> a{0.1f, 1e-4f, 0.9f, 1.0f, true, nesterov, first};
      both([&](auto d) { k::sgd_step<float, decltype(d)>(n, w.p(d), g.p(d), buf.p(d), a); });
      check("sgd_step", std::string(first ? "first" : "later") + (nesterov ? " nesterov" : ""), w, fp, 1e-6);
      check("sgd_step", "momentum buffer", buf, fp, 1e-6);
    }
  {
    k::SgdStepArgs<float> a{0.1f, 0.0f, 0.0f, 1.0f, false, false, false};
    both([&](auto d) { k::sgd_step<float, decltype(d)>(n, w.p(d), g.p(d), nullptr, a); });
    check("sgd_step", "plain", w, fp, 1e-6);
  }
  // jitter: tokens (B*L, C) with host-drawn double noise on the device
  {
    const Index rows = 2 * 196, C = 272;
    auto x = vec(rows * C);
    auto noise = rnd<double, 1>({rows * C}, -3, 3);
    both([&](auto d) { k::jitter_add<float, decltype(d)>(rows, C, noise.p(d), 25.0, x.p(d)); });
    check("jitter_add", "(392, 272) alpha 25", x, acc, 1e-5);
  }
  {
    const Index B = 3, C = 272, L = 196;
    auto a = vec(B * C * L), b = vec(B * C * L), out = vec(B * L);
    both([&](auto d) { k::channel_distance<float, decltype(d)>(B, C, L, a.p(d), b.p(d), out.p(d)); });
    check("channel_distance", "(3, 272, 196)", out, fp, 1e-6);
  }
  {
    const Index rows = 5, len = 1000;
    std::vector<float> v(static_cast<std::size_t>(rows * len));
    std::uniform_real_distribution<float> u(-5, 5);
    for (auto& e : v) e = u(rng());
    v[0] = std::nanf("");                  // row 0 starts with NaN: NaN
    v[static_cast<std::size_t>(len + 3)] = std::nanf("");  // row 1: a later NaN never wins
    v[static_cast<std::size_t>(2 * len + 999)] = 100.0f;    // row 2: maximum last
    Pair<float, 1> x{ras::Tensor<float, 1, Ref>::from({rows * len}, v), {}};
    x.g = x.r.to<Gpu>();
    auto out = vec(rows);
    both([&](auto d) { k::row_max<float, decltype(d)>(rows, len, x.p(d), out.p(d)); });
    check("row_max", "NaN rules", out, exact, 0);
  }
}

// ---- the whole model and a backbone: Cuda against Cpu -------------------------------------------

ras::nn::RasConfig tiny_config() {
  ras::nn::RasConfig c;
  c.channels = 24, c.hidden = 16, c.heads = 4, c.ffn = 32, c.encoder_layers = 2, c.decoder_layers = 3;
  c.feature_h = 5, c.feature_w = 6, c.neighbor_h = 3, c.neighbor_w = 3;
  return c;
}

struct StepResult {
  double loss = 0;
  std::vector<std::vector<float>> params;  // after one clipped AdamW step
  std::vector<float> map;
  std::vector<double> scores;
};

template <class D>
StepResult train_step_and_score(const ras::Tensor<float, 4>& host_features) {
  namespace ag = ras::autograd;
  ras::nn::RasReconstruction<float, D> model(tiny_config(), 7);
  auto params = ras::nn::named_parameters<float>(model);
  ras::optim::AdamW<float, D> opt(params, ras::optim::AdamWOptions{7e-4, 0.9, 0.999, 1e-8, 1e-4});
  const auto features = host_features.to<D>();
  ras::Rng rng(333);
  model.set_training(true);
  auto rec = model(features, &rng);
  auto loss = ag::mse_loss(rec, ag::Var<float, 4, D>(features.clone()));
  StepResult r;
  r.loss = loss.value().item();
  ag::backward(loss);
  ras::optim::clip_grad_norm<float, D>(params, 0.1);
  opt.step();
  for (const auto& p : params) {
    std::vector<float> host(static_cast<std::size_t>(p.numel));
    D::copy_to_host(host.data(), p.value, host.size() * sizeof(float));
    r.params.push_back(std::move(host));
  }
  model.set_training(false);
  ag::InferenceMode no_tape;
  auto rec2 = model(features);
  const auto maps = ras::model::upsample_map(ras::model::anomaly_map_grid(rec2.value(), features), 20, 24);
  const auto host_maps = maps.tensor().template to<ras::Cpu>();
  r.map.assign(host_maps.data(), host_maps.data() + host_maps.numel());
  r.scores = ras::model::image_scores(maps, 4);
  return r;
}

void model_cases() {
  ras::Tensor<float, 4> features({3, 24, 5, 6});
  ras::Rng rng(11);
  ras::fill_normal(features, rng);
  const auto gpu = train_step_and_score<Gpu>(features);
  const auto cpu = train_step_and_score<ras::Cpu>(features);
  compare("model", "RAS loss (cuda vs cpu)", &cpu.loss, &gpu.loss, 1, 1e-4, 1e-6);
  if (gpu.params.size() != cpu.params.size()) {
    ++failures;
    std::printf("FAIL model: %zu parameters on cuda, %zu on cpu\n", gpu.params.size(), cpu.params.size());
  } else {
    // One AdamW step moves each weight by about lr * sign(g): a gradient that is rounding noise can
    // take the other sign on the other device, so the parameters agree to 2 lr.
    for (std::size_t i = 0; i < cpu.params.size(); ++i)
      compare("model", "RAS parameter " + std::to_string(i) + " after clip + AdamW", cpu.params[i].data(),
              gpu.params[i].data(), Index(cpu.params[i].size()), 0.0, 1.5e-3);
  }
  compare("model", "RAS anomaly maps after the step", cpu.map.data(), gpu.map.data(), Index(cpu.map.size()), 1e-2,
          1e-3);
  compare("model", "RAS image scores", cpu.scores.data(), gpu.scores.data(), Index(cpu.scores.size()), 1e-2, 1e-3);

  // init_synthetic writes host memory: initialise on Cpu, copy every parameter and buffer over.
  ras::nn::MobileNetV2<float, Gpu> on_gpu;
  ras::nn::MobileNetV2<float> on_cpu;
  ras::testing::init_synthetic<float>(on_cpu);
  {
    auto pg = ras::nn::named_parameters<float>(on_gpu);
    auto pc = ras::nn::named_parameters<float>(on_cpu);
    for (std::size_t i = 0; i < pc.size(); ++i)
      Gpu::copy_from_host(pg[i].value, pc[i].value, static_cast<std::size_t>(pc[i].numel) * sizeof(float));
    auto bg = ras::nn::named_buffers(on_gpu);
    auto bc = ras::nn::named_buffers(on_cpu);
    for (std::size_t i = 0; i < bc.size(); ++i) {
      Index n = 1;
      for (Index e : bc[i].shape) n *= e;
      Gpu::copy_from_host(bg[i].data, bc[i].data, static_cast<std::size_t>(n) * ras::dtype_size(bc[i].dtype));
    }
  }
  const auto x = ras::testing::synthetic_tensor<float, 4>("fixture.input.224", {2, 3, 64, 64}, -2.0, 2.0);
  const auto a = on_gpu.neck(x.to<Gpu>()).template to<ras::Cpu>();
  const auto b = on_cpu.neck(x);
  if (a.shape() != b.shape()) {
    ++failures;
    std::printf("FAIL model: MobileNetV2 neck shapes differ\n");
  } else {
    compare("model", "MobileNetV2 neck (cuda vs cpu)", b.data(), a.data(), b.numel(), 1e-3, 1e-4);
  }
}

// An RGB test pattern of h x w pixels.
ras::io::Image pattern(Index h, Index w, int seed) {
  ras::io::Image img(h, w, 3);
  for (Index y = 0; y < h; ++y)
    for (Index x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img.pixels[static_cast<std::size_t>((y * w + x) * 3 + c)] =
            static_cast<std::uint8_t>((x * (3 + c) + y * (5 + seed) + 40 * c * seed + ((x / 16 + y / 16) % 2) * 60) % 256);
  return img;
}

// The same detector (MobileNetV2 with synthetic weights, a small RAS model on its 168 channels)
// on the Cpu and moved to the GPU with use_device<Cuda>.
void detector_cases() {
  const auto weights = std::filesystem::temp_directory_path() / "ras_cuda_parity_weights.bin";
  std::ofstream(weights) << "synthetic weights";  // hashed into the feature cache id only
  auto make = [&] {
    ras::nn::MobileNetV2<float> net;
    ras::testing::init_synthetic<float>(net);
    ras::nn::RasConfig cfg;
    cfg.channels = 168;
    cfg.hidden = 64, cfg.heads = 4, cfg.ffn = 128;
    cfg.encoder_layers = 1, cfg.decoder_layers = 2;
    cfg.neighbor_h = cfg.neighbor_w = 3;
    return ras::pipeline::Detector(ras::nn::RasReconstruction<float>(cfg, 5),
                                   std::make_unique<ras::pipeline::AnyBackbone>(std::move(net)), "mobilenet_v2", weights);
  };
  auto cpu = make();
  auto gpu = make();
  ras::pipeline::use_device<Gpu>(gpu, /*batch=*/2, /*chunk=*/2);
  std::printf("detector on %s\n", gpu.device_name().c_str());
  const Index N = 3;
  auto feats = ras::Tensor<float, 4>::uninitialized({N, 168, 14, 14});
  for (Index i = 0; i < N; ++i) {
    const auto img = pattern(i == 1 ? 200 : 224, i == 2 ? 250 : 224, int(i));
    const auto a = cpu.extractor().features(img);
    const auto b = gpu.extractor().features(img);
    compare("detector", "features of image " + std::to_string(i) + " (cuda vs cpu)", a.data(), b.data(), a.numel(),
            1e-3, 1e-3);
    feats.set_rows(i, a.reshaped<4>({1, 168, 14, 14}));
    ras::TensorView<const std::uint8_t, 3> rgb(img.pixels.data(), {img.height, img.width, 3});
    const auto sa = cpu.score(rgb, /*original_size=*/true);
    const auto sb = gpu.score(rgb, true);
    compare("detector", "score of image " + std::to_string(i), &sa.score, &sb.score, 1, 1e-2, 1e-3);
    if (sa.map.shape() != sb.map.shape()) {
      ++checks, ++failures;
      std::printf("FAIL detector: original-size map shapes differ\n");
    } else {
      compare("detector", "original-size map of image " + std::to_string(i), sa.map.data(), sb.map.data(),
              sa.map.numel(), 1e-2, 1e-3);
    }
  }
  const auto mc = cpu.maps_and_scores(feats);
  const auto mg = gpu.maps_and_scores(feats);
  compare("detector", "224x224 maps of 3 images (cuda vs cpu)", mc.maps.data(), mg.maps.data(), mc.maps.numel(), 1e-2,
          1e-3);
  if (mc.scores.size() != mg.scores.size()) {
    ++checks, ++failures;
    std::printf("FAIL detector: %zu scores on cuda, %zu on cpu\n", mg.scores.size(), mc.scores.size());
  } else {
    compare("detector", "box-filter image scores", mc.scores.data(), mg.scores.data(), Index(mc.scores.size()), 1e-2,
            1e-3);
  }
  std::error_code ec;
  std::filesystem::remove(weights, ec);
}

}  // namespace

int main() {
  if (ras::cuda_device_count() == 0) {
    std::printf("skipped: no CUDA device found\n");
    return 77;
  }
  std::printf("cuda parity: %s\n", ras::cuda_device_name().c_str());
  try {
    elementwise_cases();
    reduce_cases();
    gemm_cases();
    conv_cases();
    norm_cases();
    pool_resample_cases();
    memory_layout_cases();
    optim_model_cases();
    for (auto name : k::AllKernels::names)
      if (!covered.count(name)) {
        ++failures;
        std::printf("FAIL coverage: kernel '%s' of AllKernels has no Cuda parity case\n", std::string(name).c_str());
      }
    model_cases();
    detector_cases();
  } catch (const std::exception& e) {
    std::printf("FAIL exception: %s\n", e.what());
    return 1;
  }
  std::printf("cuda parity: %d checks, %d failed, %zu of %zu kernels covered\n", checks, failures, covered.size(),
              k::AllKernels::size);
  return failures ? 1 : 0;
}
