// Fused multi-head attention (kernels/attention.hpp, autograd/ops_attention.hpp): the Cpu kernels
// against the Reference kernels (forward and backward, with and without a -inf mask, more queries
// than one block, cross-attention with Lq != Lk), the op's gradient in double against finite
// differences, and the op against the unfused composition (reshape, permute, bmm, softmax).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ras/autograd/ops_attention.hpp"
#include "ras/autograd/ops_linalg.hpp"
#include "ras/autograd/ops_reduce.hpp"
#include "ras/autograd/ops_shape.hpp"
#include "ras/model/rasformer.hpp"
#include "ras/testing/gradcheck.hpp"
#include "ras/random.hpp"
#include "ras/testing/random_var.hpp"

namespace ag = ras::autograd;
using ras::Index;

namespace {
template <class S>
std::vector<S> random_values(Index n, std::uint64_t seed, double scale = 1.0) {
  ras::Rng rng(seed);
  std::vector<S> v(static_cast<std::size_t>(n));
  for (auto& e : v) e = static_cast<S>(scale * rng.normal());
  return v;
}
double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0, top = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    m = std::max(m, double(std::abs(a[i] - b[i])));
    top = std::max(top, double(std::abs(b[i])));
  }
  return m / std::max(top, 1e-30);
}

// Runs forward and backward of one kernel backend on fixed inputs; returns o, lse, dq, dk, dv.
template <class D>
std::vector<std::vector<float>> run_attention(const ras::kernels::AttentionDims& a, const std::vector<float>& mask) {
  const Index E = a.embed();
  const auto q = random_values<float>(a.batch * a.lq * E, 1), k = random_values<float>(a.batch * a.lk * E, 2),
             v = random_values<float>(a.batch * a.lk * E, 3), d_o = random_values<float>(a.batch * a.lq * E, 4);
  std::vector<float> o(q.size()), lse(static_cast<std::size_t>(a.batch * a.heads * a.lq));
  auto dq = random_values<float>(a.batch * a.lq * E, 5), dk = random_values<float>(a.batch * a.lk * E, 6),
       dv = random_values<float>(a.batch * a.lk * E, 7);  // pre-filled: the backward adds
  const float scale = 0.37f;
  const float* m = mask.empty() ? nullptr : mask.data();
  ras::kernels::attention_forward<float, D>(a, scale, q.data(), k.data(), v.data(), m, o.data(), lse.data());
  ras::kernels::attention_backward_acc<float, D>(a, scale, q.data(), k.data(), v.data(), m, o.data(), lse.data(),
                                                 d_o.data(), dq.data(), dk.data(), dv.data());
  return {o, lse, dq, dk, dv};
}

// (B, L, E) -> (B*H, L, d), the unfused head split of the old MultiheadAttention.
template <class S>
ag::Var<S, 3> split_heads(const ag::Var<S, 3>& x, Index H) {
  const Index B = x.dim(0), L = x.dim(1), E = x.dim(2);
  return ag::reshape<3>(ag::permute(ag::reshape<4>(x, {B, L, H, E / H}), {0, 2, 1, 3}), {B * H, L, E / H});
}
}  // namespace

TEST_CASE("attention kernels: Cpu equals Reference, forward and backward") {
  struct Case {
    ras::kernels::AttentionDims dims;
    bool mask;
    const char* name;
  };
  // 4 x 5 grid (L = 20) with a 3 x 3 neighbour mask; 70 queries (two blocks of the Cpu kernel); cross.
  for (const Case& c : {Case{{2, 3, 20, 20, 4}, true, "masked self-attention"},
                        Case{{2, 2, 70, 70, 8}, false, "two query blocks"},
                        Case{{3, 2, 7, 9, 5}, false, "cross-attention Lq != Lk"}}) {
    INFO(c.name);
    std::vector<float> mask;
    if (c.mask) {
      auto t = ras::nn::neighbor_mask<float>(4, 5, 3, 3);
      mask.assign(t.data(), t.data() + t.numel());
      CHECK(std::isinf(mask[0]));
    }
    const auto cpu = run_attention<ras::Cpu>(c.dims, mask);
    const auto ref = run_attention<ras::Reference>(c.dims, mask);
    const char* names[] = {"o", "lse", "dq", "dk", "dv"};
    for (std::size_t i = 0; i < cpu.size(); ++i) {
      INFO(names[i]);
      CHECK(max_rel_diff(cpu[i], ref[i]) < 2e-5);
    }
  }
}

TEST_CASE("attention op: gradient in double, with a -inf mask and without") {
  for (bool masked : {true, false}) {
    INFO("masked ", masked);
    auto q = ras::testing::random_var<3>({2, 20, 6}, 11);
    auto k = ras::testing::random_var<3>({2, 20, 6}, 12);
    auto v = ras::testing::random_var<3>({2, 20, 6}, 13);
    const auto mask = ras::nn::neighbor_mask<double>(4, 5, 3, 3);
    const ras::Tensor<double, 2>* m = masked ? &mask : nullptr;
    auto report = ag::gradcheck(
        [&](ag::Var<double, 3>& a, ag::Var<double, 3>& b, ag::Var<double, 3>& c) {
          return ag::multi_head_attention(a, b, c, 3, m, 0.6);
        },
        q, k, v);
    CHECK_MESSAGE(report.ok, report.message);
    // Cross-attention, Lq != Lk.
    auto qc = ras::testing::random_var<3>({2, 5, 6}, 14);
    auto report2 = ag::gradcheck(
        [&](ag::Var<double, 3>& a, ag::Var<double, 3>& b, ag::Var<double, 3>& c) {
          return ag::multi_head_attention(a, b, c, 2, nullptr, 0.4);
        },
        qc, k, v);
    CHECK_MESSAGE(report2.ok, report2.message);
  }
}

TEST_CASE("attention op: equals the unfused reshape/permute/bmm/softmax composition (double)") {
  const Index B = 2, L = 20, E = 12, H = 3;
  auto q = ras::testing::random_var<3>({B, L, E}, 21);
  auto k = ras::testing::random_var<3>({B, L, E}, 22);
  auto v = ras::testing::random_var<3>({B, L, E}, 23);
  const auto mask = ras::nn::neighbor_mask<double>(4, 5, 3, 3);
  const double scale = 1.0 / std::sqrt(double(E / H));
  auto cot = ras::testing::random_var<3>({B, L, E}, 24, false).value().clone();
  // Fused: forward and backward (backward runs and clears the whole tape, so one graph at a time).
  auto fused = ag::multi_head_attention(q, k, v, H, &mask, scale);
  ag::backward(fused, cot);
  const auto gq = q.grad().clone(), gk = k.grad().clone(), gv = v.grad().clone();
  q.zero_grad();
  k.zero_grad();
  v.zero_grad();
  // Unfused, as the old MultiheadAttention computed it.
  auto qs = ag::mul_scalar(split_heads(q, H), scale);
  auto probs = ag::softmax(ag::bmm(qs, ag::transpose(split_heads(k, H), 1, 2)), &mask);
  auto ctx = ag::bmm(probs, split_heads(v, H));
  auto unfused = ag::reshape<3>(ag::permute(ag::reshape<4>(ctx, {B, H, L, E / H}), {0, 2, 1, 3}), {B, L, E});
  double d = 0;
  for (Index i = 0; i < fused.numel(); ++i)
    d = std::max(d, std::abs(fused.value().data()[i] - unfused.value().data()[i]));
  CHECK(d < 1e-12);
  ag::backward(unfused, cot);
  double dg = 0;
  for (Index i = 0; i < gq.numel(); ++i) {
    dg = std::max(dg, std::abs(gq.data()[i] - q.grad().data()[i]));
    dg = std::max(dg, std::abs(gk.data()[i] - k.grad().data()[i]));
    dg = std::max(dg, std::abs(gv.data()[i] - v.grad().data()[i]));
  }
  CHECK(dg < 1e-12);
}

TEST_CASE("attention op: shape errors name the shapes") {
  auto q = ras::testing::random_var<3>({2, 5, 6}, 1);
  auto k = ras::testing::random_var<3>({2, 7, 6}, 2);
  auto v = ras::testing::random_var<3>({2, 6, 6}, 3);
  CHECK_THROWS_WITH_AS(ag::multi_head_attention(q, k, v, 2, nullptr, 1.0),
                       doctest::Contains("(2, 6, 6)"), ras::Error);
  CHECK_THROWS_AS(ag::multi_head_attention(q, k, k, 4, nullptr, 1.0), ras::Error);
}

TEST_CASE("MultiheadAttention::forward_shared_query equals forward on the query expanded over the batch (double)") {
  // The decoder projects its context embedding c_t once per call and broadcasts it: the result and every
  // gradient must be those of projecting each sample's copy.
  const Index B = 3, Lq = 5, Lk = 6, E = 8, H = 2;
  ras::Rng rng(31);
  ras::nn::MultiheadAttention<double> mha(E, H, rng);
  ras::fill_uniform(mha.in_proj_bias.value(), rng, -1, 1);  // a non-zero bias, so its broadcast shows
  auto c = ras::testing::random_var<2>({Lq, E}, 32);
  auto k = ras::testing::random_var<3>({B, Lk, E}, 33);
  auto v = ras::testing::random_var<3>({B, Lk, E}, 34);
  auto cot = ras::testing::random_var<3>({B, Lq, E}, 35, false).value().clone();
  auto shared = mha.forward_shared_query(c, k, v);
  const auto out_shared = shared.value().clone();
  ag::backward(shared, cot);
  const auto gc = c.grad().clone();
  const auto gk = k.grad().clone();
  const auto gw = mha.in_proj_weight.grad().clone();
  const auto gb = mha.in_proj_bias.grad().clone();
  c.zero_grad();
  k.zero_grad();
  mha.in_proj_weight.zero_grad();
  mha.in_proj_bias.zero_grad();
  auto expanded = mha.forward(ag::expand_leading(c, B), k, v);
  ag::backward(expanded, cot);
  auto max_diff = [](const auto& a, const auto& b) {
    double d = 0;
    for (Index i = 0; i < a.numel(); ++i) d = std::max(d, std::abs(a.data()[i] - b.data()[i]));
    return d;
  };
  CHECK(max_diff(out_shared, expanded.value()) < 1e-12);
  CHECK(max_diff(gc, c.grad()) < 1e-12);
  CHECK(max_diff(gk, k.grad()) < 1e-12);
  CHECK(max_diff(gw, mha.in_proj_weight.grad()) < 1e-12);
  CHECK(max_diff(gb, mha.in_proj_bias.grad()) < 1e-12);
  // A query of the wrong width is refused with both shapes in the message.
  auto bad = ras::testing::random_var<2>({Lq, E + 1}, 36);
  CHECK_THROWS_WITH_AS(mha.forward_shared_query(bad, k, v), doctest::Contains("(shared) (5, 9)"), ras::Error);
}
