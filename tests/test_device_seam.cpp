// The device seam (kernels/backend.hpp): adding a device means specialising kernels::Backend for it
// and nothing else. CountingCpu is a test-only device (host memory, the Cpu kernels, and a count of
// every kernel call by name): the whole RAS model (forward with jitter, loss, backward, clipping,
// AdamW, anomaly maps and scores) and the MobileNetV2 backbone + neck instantiate on it unchanged,
// give bit-identical results to the Cpu device, and every kernel they use is seen going through
// the seam. Also Tensor::to between devices, rows views and element access rules.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/backbones/mobilenet_v2.hpp"
#include "ras/model/ras_model.hpp"
#include "ras/model/scoring.hpp"
#include "ras/nn/optim.hpp"
#include "ras/testing/synthetic_weights.hpp"

namespace {

struct CountingCpu : ras::HostMemory {
  static constexpr const char* name = "counting-cpu";
};

std::map<std::string_view, long>& kernel_calls() {
  static std::map<std::string_view, long> calls;
  return calls;
}

}  // namespace

// The whole device: every kernel is counted, then run by the Cpu backend.
template <>
struct ras::kernels::Backend<CountingCpu> {
  template <class Op, class... Args>
  static decltype(auto) run(Op op, Args&&... args) {
    ++kernel_calls()[Op::name];
    return Backend<ras::Cpu>::run(op, std::forward<Args>(args)...);
  }
};

namespace {

using ras::Index;
namespace ag = ras::autograd;
namespace nn = ras::nn;

nn::RasConfig tiny_config() {
  nn::RasConfig c;
  c.channels = 24;
  c.hidden = 16;
  c.heads = 4;
  c.ffn = 32;
  c.encoder_layers = 2;
  c.decoder_layers = 3;
  c.feature_h = 5;
  c.feature_w = 6;
  c.neighbor_h = 3;
  c.neighbor_w = 3;
  return c;
}

struct StepResult {
  double loss = 0;
  std::vector<std::vector<float>> params;  // after one clipped AdamW step
  std::vector<float> map;                  // (B, 1, 20, 24) anomaly maps after the step
  std::vector<double> scores;
};

// One training step and scoring on device D, from host features.
template <class D>
StepResult train_step_and_score(const ras::Tensor<float, 4>& host_features) {
  nn::RasReconstruction<float, D> model(tiny_config(), 7);
  auto params = nn::named_parameters<float>(model);
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
  for (const auto& p : params) r.params.emplace_back(p.value, p.value + p.numel);
  model.set_training(false);
  ag::InferenceMode no_tape;
  auto rec2 = model(features);
  const auto maps = ras::model::upsample_map(ras::model::anomaly_map_grid(rec2.value(), features), 20, 24);
  const auto host_maps = maps.tensor().template to<ras::Cpu>();
  r.map.assign(host_maps.data(), host_maps.data() + host_maps.numel());
  r.scores = ras::model::image_scores(maps, 4);
  return r;
}

}  // namespace

TEST_CASE("device seam: the RAS model trains and scores on a test-only device, bit-identical to Cpu") {
  ras::Tensor<float, 4> features({3, 24, 5, 6});
  ras::Rng rng(11);
  ras::fill_normal(features, rng);
  kernel_calls().clear();
  const auto on_counting = train_step_and_score<CountingCpu>(features);
  const auto on_cpu = train_step_and_score<ras::Cpu>(features);
  CHECK(on_counting.loss == on_cpu.loss);
  REQUIRE(on_counting.params.size() == on_cpu.params.size());
  for (std::size_t i = 0; i < on_cpu.params.size(); ++i) CHECK(on_counting.params[i] == on_cpu.params[i]);
  CHECK(on_counting.map == on_cpu.map);
  CHECK(on_counting.scores == on_cpu.scores);
  // Everything went through the seam: the kernels of every stage were called on the counting device.
  const auto& calls = kernel_calls();
  for (const char* k : {"gemm", "attention_forward", "attention_backward_acc", "layer_norm_forward",
                        "layer_norm_backward", "permute_gather", "jitter_add", "gather_rows", "scatter_add_rows",
                        "tile", "squared_diff_sum", "sum_squares", "adam_step", "channel_distance",
                        "interpolate_bilinear_forward", "avg_pool2d_forward", "row_max", "fill"}) {
    INFO("kernel ", k);
    CHECK(calls.count(k) == 1);
  }
  // One AdamW update per parameter that received a gradient (the unused output_proj of steps
  // 1..T-1 gets none, as in PyTorch).
  CHECK(calls.at("adam_step") == long(on_cpu.params.size()) - 2 * (tiny_config().decoder_layers - 1));
}

TEST_CASE("device seam: MobileNetV2 backbone + neck on the test-only device equals Cpu") {
  nn::MobileNetV2<float, CountingCpu> counted;
  nn::MobileNetV2<float> plain;
  ras::testing::init_synthetic<float>(counted);
  ras::testing::init_synthetic<float>(plain);
  const auto x = ras::testing::synthetic_tensor<float, 4>("fixture.input.224", {2, 3, 40, 40}, -2.0, 2.0);
  kernel_calls().clear();
  const auto a = counted.neck(x.to<CountingCpu>()).to<ras::Cpu>();
  const auto b = plain.neck(x);
  REQUIRE(a.shape() == b.shape());
  CHECK(std::equal(a.data(), a.data() + a.numel(), b.data()));
  CHECK(kernel_calls().count("conv2d_forward") == 1);
  CHECK(kernel_calls().count("depthwise_conv2d_forward") == 1);
}

TEST_CASE("device seam: to<D>() copies between devices, rows views and slices") {
  auto t = ras::Tensor<float, 2>::from({3, 2}, {1, 2, 3, 4, 5, 6});
  auto r = t.to<ras::Reference>();
  static_assert(std::is_same_v<decltype(r), ras::Tensor<float, 2, ras::Reference>>);
  auto back = r.to<ras::Cpu>();
  CHECK(std::vector<float>(back.data(), back.data() + 6) == std::vector<float>{1, 2, 3, 4, 5, 6});
  const auto rows = t.rows(1, 2);
  CHECK(rows.shape() == ras::Shape<2>{2, 2});
  CHECK(rows(0, 0) == 3.0f);
  const auto s = t.slice_rows(2, 1);
  CHECK(s(0, 1) == 6.0f);
  t.set_rows(0, s);
  CHECK(t(0, 0) == 5.0f);
  CHECK_THROWS_AS(t.rows(2, 2), ras::Error);
  CHECK(ras::Tensor<float, 0>::full({}, 2.5f).item() == 2.5f);
  static_assert(!ras::is_host_device<ras::Cuda>);
  static_assert(ras::kernels::has_backend<ras::Cpu> && ras::kernels::has_backend<ras::Reference>);
}
