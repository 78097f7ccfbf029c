// Tests for the RAS trainer: the loss falls, checkpoints are written atomically and resuming an
// interrupted run (stopped mid-epoch, as by a kill) ends with bit-identical weights.
#include <doctest/doctest.h>

#include <filesystem>

#include "ras/model/scoring.hpp"
#include "ras/testing/tiny_ras.hpp"
#include "ras/train/trainer.hpp"

namespace {
using ras::testing::tiny_ras_config;
using ras::testing::tiny_ras_features;
double max_param_difference(ras::nn::RasReconstruction<float>& a, ras::nn::RasReconstruction<float>& b) {
  auto pa = ras::nn::named_parameters<float>(a), pb = ras::nn::named_parameters<float>(b);
  REQUIRE(pa.size() == pb.size());
  double d = 0;
  for (std::size_t i = 0; i < pa.size(); ++i)
    for (ras::Index j = 0; j < pa[i].numel; ++j) d = std::max(d, double(std::abs(pa[i].value[j] - pb[i].value[j])));
  return d;
}
std::filesystem::path temp_dir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace

TEST_CASE("train: the loss falls on a fixed feature set") {
  auto f = tiny_ras_features(12, 1);
  ras::nn::RasReconstruction<float> model(tiny_ras_config(), 5);
  ras::train::TrainOptions o;
  o.epochs = 6;
  o.batch_size = 4;
  o.progress = false;
  o.lr = 2e-3;
  ras::train::Trainer<float> trainer(model, f, o);
  CHECK(trainer.run());
  REQUIRE(trainer.history().size() == 6);
  CHECK(trainer.history().back().mean_loss < 0.8 * trainer.history().front().mean_loss);
}

TEST_CASE("train: resuming a run killed mid-epoch gives the uninterrupted weights exactly") {
  const auto dir = temp_dir("ras_test_resume");
  auto f = tiny_ras_features(10, 2);
  ras::train::TrainOptions o;
  o.epochs = 3;
  o.batch_size = 4;  // 3 steps per epoch, the last one partial
  o.progress = false;

  ras::nn::RasReconstruction<float> uninterrupted(tiny_ras_config(), 7);
  ras::train::Trainer<float> full(uninterrupted, f, o);
  CHECK(full.run());

  o.checkpoint = dir / "checkpoint.safetensors";
  o.checkpoint_every_steps = 1;
  for (long kill_after : {1L, 4L, 5L}) {  // mid-epoch 1, mid-epoch 2, after a partial batch
    std::filesystem::remove(o.checkpoint);
    ras::nn::RasReconstruction<float> first(tiny_ras_config(), 7);
    o.stop_after_steps = kill_after;
    {
      ras::train::Trainer<float> t(first, f, o);
      CHECK(!t.run());
    }
    REQUIRE(std::filesystem::exists(o.checkpoint));
    // The resumed model starts from different weights: everything must come from the checkpoint.
    ras::nn::RasReconstruction<float> resumed(tiny_ras_config(), 12345);
    o.stop_after_steps = -1;
    ras::train::Trainer<float> t(resumed, f, o);
    t.load_checkpoint(o.checkpoint);
    CHECK(t.run());
    CHECK(max_param_difference(uninterrupted, resumed) == 0.0);
    CHECK(t.history().size() == 3);
  }
  // No temporary file is left next to the checkpoint.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("train: resume refuses a checkpoint of another configuration") {
  const auto dir = temp_dir("ras_test_resume_cfg");
  auto f = tiny_ras_features(4, 3);
  ras::train::TrainOptions o;
  o.epochs = 1;
  o.batch_size = 4;
  o.progress = false;
  o.checkpoint = dir / "c.safetensors";
  ras::nn::RasReconstruction<float> a(tiny_ras_config(), 1);
  ras::train::Trainer<float> t(a, f, o);
  t.run();
  auto other = tiny_ras_config();
  other.decoder_layers = 3;
  ras::nn::RasReconstruction<float> b(other, 1);
  ras::train::Trainer<float> t2(b, f, o);
  CHECK_THROWS_WITH_AS(t2.load_checkpoint(o.checkpoint), doctest::Contains("configuration"), ras::Error);
}

TEST_CASE("scoring: anomaly map is the channel L2 norm, score the max of the box filter") {
  ras::Tensor<float, 4> rec({1, 2, 2, 2}), feat({1, 2, 2, 2});
  rec(0, 0, 1, 1) = 3;
  rec(0, 1, 1, 1) = 4;
  auto grid = ras::model::anomaly_map_grid(rec, feat);
  CHECK(grid(0, 0, 1, 1) == doctest::Approx(5.0));
  CHECK(grid(0, 0, 0, 0) == 0.0f);
  auto up = ras::model::upsample_map(grid, 4, 4);  // align_corners=True: corners are preserved
  CHECK(up(0, 0, 3, 3) == doctest::Approx(5.0));
  CHECK(up(0, 0, 0, 0) == 0.0f);
  auto s = ras::model::image_scores(up, 2);
  // 2x2 windows on the 4x4 map: the bottom-right window holds the largest mean.
  double best = (up(0, 0, 2, 2) + up(0, 0, 2, 3) + up(0, 0, 3, 2) + up(0, 0, 3, 3)) / 4.0;
  CHECK(s[0] == doctest::Approx(best));
}
