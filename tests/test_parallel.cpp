// Coarse-grained threading (ras/parallel.hpp): the batch-parallel training step
// (train/batch_parallel.hpp) gives bitwise the same weights at 1 and 2 threads and the gradient of
// the whole batch; per-sample jitter does not depend on the micro-batch partition; image-parallel
// anomaly maps (model/inference.hpp) do not depend on the thread count; thread counts are clamped.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "ras/model/inference.hpp"
#include "ras/testing/tiny_ras.hpp"
#include "ras/train/trainer.hpp"

namespace {
using ras::testing::tiny_ras_config;
using ras::testing::tiny_ras_features;
std::vector<float> flat_parameters(ras::nn::RasReconstruction<float>& m) {
  std::vector<float> v;
  for (auto& p : ras::nn::named_parameters<float>(m)) v.insert(v.end(), p.value, p.value + p.numel);
  return v;
}
std::vector<float> flat_gradients(ras::nn::RasReconstruction<float>& m) {
  std::vector<float> v;
  for (auto& p : ras::nn::named_parameters<float>(m)) {
    // (the output projections of all but the last decoder step get no gradient: their output is unused)
    if (const float* g = p.grad()) v.insert(v.end(), g, g + p.numel);
    else v.push_back(-12345.f);
  }
  return v;
}
}  // namespace

TEST_CASE("parallel: the batch-parallel training step gives bitwise the same weights at 1 and 2 threads") {
  auto f = tiny_ras_features(21, 4);
  std::vector<std::vector<float>> weights;
  std::vector<double> losses;
  for (int threads : {1, 2, 2}) {
    ras::nn::RasReconstruction<float> model(tiny_ras_config(), 9);
    ras::train::TrainOptions o;
    o.epochs = 2;
    o.batch_size = 8;   // 3 steps per epoch, the last one partial (5 samples)
    o.micro_batch = 3;  // micro-batches of 3, 3, 2 (and 3, 2 in the partial batch)
    o.threads = threads;
    o.progress = false;
    ras::train::Trainer<float> t(model, f, o);
    CHECK(t.run());
    if (threads == 2 && ras::Cpu::cores() >= 2) CHECK(t.last_step_workers() == 2);
    weights.push_back(flat_parameters(model));
    losses.push_back(t.history().back().mean_loss);
  }
  CHECK(weights[0] == weights[1]);
  CHECK(weights[1] == weights[2]);
  CHECK(losses[0] == losses[1]);
}

TEST_CASE("parallel: micro-batch gradients sum to the whole batch's gradient and loss") {
  auto f = tiny_ras_features(7, 5);
  ras::nn::RasReconstruction<float> whole(tiny_ras_config(), 3), split(tiny_ras_config(), 3);
  ras::Rng rng(77);
  const auto jitter = whole.draw_jitter(rng, 7);
  CHECK(jitter.apply);
  CHECK(jitter.seeds.size() == 7);
  // The whole batch at once, as the trainer did before micro-batches.
  auto rec = whole(f, jitter.view());
  ras::autograd::Var<float, 4> target(f.clone());
  auto loss = ras::autograd::mse_loss(rec, target);
  const double whole_loss = loss.value().item();
  ras::autograd::backward(loss);
  // Micro-batches of 2 (2, 2, 2, 1), in a shuffled sample order with the seeds following the samples.
  ras::train::BatchParallel<float> bp(split, 2, 2);
  const std::vector<ras::Index> idx{0, 1, 2, 3, 4, 5, 6};
  const double split_loss = bp.forward_backward(f, idx, jitter.view());
  CHECK(split_loss == doctest::Approx(whole_loss).epsilon(1e-5));
  const auto gw = flat_gradients(whole), gs = flat_gradients(split);
  REQUIRE(gw.size() == gs.size());
  double max_abs = 0, max_diff = 0;
  for (std::size_t i = 0; i < gw.size(); ++i) {
    max_abs = std::max(max_abs, double(std::abs(gw[i])));
    max_diff = std::max(max_diff, double(std::abs(gw[i] - gs[i])));
  }
  CHECK(max_diff <= 1e-5 * max_abs);
  // A second call adds into the gradients (as backward does).
  bp.forward_backward(f, idx, jitter.view());
  const auto twice = flat_gradients(split);
  for (std::size_t i = 0; i < gs.size(); i += 97) CHECK(twice[i] == doctest::Approx(2.0 * gs[i]).epsilon(1e-5));
}

TEST_CASE("parallel: a sample's jitter depends on its seed only, not on its batch") {
  auto cfg = tiny_ras_config();
  auto f = tiny_ras_features(5, 6);
  ras::nn::RasReconstruction<float> m(cfg, 2);
  ras::Rng rng(5);
  const auto jitter = m.draw_jitter(rng, 5);
  ras::autograd::InferenceMode no_tape;
  const auto all = m(f, jitter.view()).value().clone();
  const auto tail = m(f.slice_rows(3, 2), jitter.view().samples(3, 2)).value().clone();
  const ras::Index row = all.row_size();
  double max_abs = 0, max_diff = 0;
  for (ras::Index i = 0; i < 2 * row; ++i) {
    max_abs = std::max(max_abs, double(std::abs(all.data()[3 * row + i])));
    max_diff = std::max(max_diff, double(std::abs(all.data()[3 * row + i] - tail.data()[i])));
  }
  CHECK(max_diff <= 1e-5 * max_abs);
  // Other seeds, other noise.
  auto other = m.draw_jitter(rng, 5);
  const auto next = m(f, other.view()).value().clone();
  double d = 0;
  for (ras::Index i = 0; i < next.numel(); ++i) d = std::max(d, double(std::abs(next.data()[i] - all.data()[i])));
  CHECK(d > 1e-3 * max_abs);
  // The Rng* form draws the same way.
  ras::Rng again(5);
  const auto via_rng = m(f, &again).value().clone();
  for (ras::Index i = 0; i < all.numel(); i += 13) CHECK(via_rng.data()[i] == all.data()[i]);
}

TEST_CASE("parallel: anomaly maps over threads equal each other and the one-batch maps") {
  auto f = tiny_ras_features(9, 7);
  ras::nn::RasReconstruction<float> m(tiny_ras_config(), 4);
  m.set_training(false);
  const auto one = ras::model::anomaly_maps(m, f, 20, 20, 2, 1);
  const auto two = ras::model::anomaly_maps(m, f, 20, 20, 2, 2);
  REQUIRE(one.tensor().numel() == 9 * 400);
  for (ras::Index i = 0; i < one.tensor().numel(); ++i) REQUIRE(one.tensor().data()[i] == two.tensor().data()[i]);
  ras::autograd::InferenceMode no_tape;
  const auto rec = m(f);
  const auto ref = ras::model::upsample_map(ras::model::anomaly_map_grid(rec.value(), f), 20, 20);
  for (ras::Index i = 0; i < one.tensor().numel(); i += 7)
    CHECK(one.tensor().data()[i] == doctest::Approx(ref.tensor().data()[i]).epsilon(1e-5));
  m.set_training(true);
  CHECK_THROWS_AS(ras::model::anomaly_maps(m, f, 20, 20), ras::Error);
}

TEST_CASE("parallel: tasks run once each, exceptions come back, thread counts are clamped to the cores") {
  std::vector<std::atomic<int>> runs(37);
  std::atomic<int> bad_worker{0};
  ras::parallel_tasks(37, 2, [&](ras::Index t, int worker) {
    if (worker < 0 || worker >= 2) ++bad_worker;
    runs[static_cast<std::size_t>(t)]++;
  });
  CHECK(bad_worker.load() == 0);
  for (auto& r : runs) CHECK(r.load() == 1);
  CHECK_THROWS_WITH_AS(ras::parallel_tasks(5, 2,
                                           [](ras::Index t, int) {
                                             if (t == 3) throw ras::Error("task 3 failed");
                                           }),
                       "task 3 failed", ras::Error);
  const int cores = ras::Cpu::cores();
  CHECK(cores >= 1);
  CHECK(ras::Cpu::clamp_threads(cores + 3) == cores);
  CHECK(ras::Cpu::clamp_threads(1) == 1);
  CHECK(ras::parallel_workers(3, 64) == std::min(3, cores));
  CHECK(ras::parallel_workers(100, 1) == 1);
}
