// Tests for the hardening against hostile files (issue 10): strict metadata fields, checkpoint
// progress validation, RasConfig bounds, refusal of non-finite weights, the pure mask pairing, and a
// trainer stopped by its stop flag (as by SIGINT) that writes a checkpoint and resumes exactly.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "ras/testing/tiny_ras.hpp"
#include "ras/data/dataset.hpp"
#include "ras/io/metadata.hpp"
#include "ras/io/npy.hpp"
#include "ras/io/state_dict.hpp"
#include "ras/nn/linear.hpp"
#include "ras/train/trainer.hpp"

namespace {
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ras::Error& e) {
    return e.what();
  }
  return "";
}
ras::io::Metadata good_checkpoint() {
  ras::io::Metadata m = ras::nn::to_metadata(ras::nn::RasConfig{});
  m["format"] = "ras-checkpoint";
  m["train.batch_size"] = "64";
  m["train.epoch"] = "2";
  m["train.step_in_epoch"] = "1";
  m["train.rng"] = "1 2 3 4";
  m["train.rng_epoch_start"] = "5 6 7 18446744073709551615";
  m["train.loss_sum"] = "1.5";
  m["train.history"] = "1:0.5:2.25;2:0.25:2;";
  return m;
}
}  // namespace

TEST_CASE("hardening: metadata numbers are parsed whole, in range, finite") {
  std::int64_t i = 0;
  CHECK(ras::io::parse_int64("-12", i));
  CHECK(i == -12);
  for (const char* bad : {"", " 1", "1 ", "+1", "1e3", "0x10", "99999999999999999999", "1.0", "abc"})
    CHECK_MESSAGE(!ras::io::parse_int64(bad, i), bad);
  double d = 0;
  CHECK(ras::io::parse_finite_double("1e-4", d));
  CHECK(d == 1e-4);
  for (const char* bad : {"nan", "inf", "-inf", "1e999", "", "1,5", "0.5x"}) CHECK_MESSAGE(!ras::io::parse_finite_double(bad, d), bad);
  const ras::io::Metadata m{{"a", "-3"}, {"b", "7"}};
  const std::string msg = error_of([&] { ras::io::meta_int(m, "a", 0, 10, "checkpoint 'x.safetensors'"); });
  CHECK(msg == "checkpoint 'x.safetensors': metadata field 'a': expected an integer in [0, 10] but found '-3'");
  CHECK(ras::io::meta_int(m, "b", 0, 10, "w") == 7);
  CHECK(error_of([&] { ras::io::meta_string(m, "c", "model 'm'"); }) == "model 'm': metadata field 'c' is missing");
}

TEST_CASE("hardening: checkpoint progress fields are validated against the run") {
  auto p = ras::train::read_checkpoint_progress(good_checkpoint(), "ck", 5, 3);
  CHECK(p.epoch == 2);
  CHECK(p.step_in_epoch == 1);
  CHECK(p.history.size() == 2);
  CHECK(p.rng_epoch_start[3] == std::numeric_limits<std::uint64_t>::max());
  struct Bad {
    const char* key;
    const char* value;
  };
  for (Bad b : {Bad{"train.step_in_epoch", "-1"}, Bad{"train.step_in_epoch", "3"}, Bad{"train.epoch", "-5"},
                Bad{"train.epoch", "6"}, Bad{"train.epoch", "abc"}, Bad{"train.epoch", "99999999999999999999"},
                Bad{"train.batch_size", "0"}, Bad{"train.batch_size", "1e3"}, Bad{"train.rng", "0 0 0 0"},
                Bad{"train.rng", "1 2 3"}, Bad{"train.rng", "1 2 3 4 5"}, Bad{"train.rng", "-1 2 3 4"},
                Bad{"train.loss_sum", "nan"}, Bad{"train.history", "1:0.5:2;"}, Bad{"train.history", "1:x:2;2:0:0;"},
                Bad{"train.history", "2:0.5:2;1:0.5:2;"}, Bad{"format", "ras-model"}}) {
    auto m = good_checkpoint();
    m[b.key] = b.value;
    const std::string msg = error_of([&] { ras::train::read_checkpoint_progress(m, "checkpoint 'c.st'", 5, 3); });
    CAPTURE(b.key);
    CAPTURE(b.value);
    CHECK(msg.find("checkpoint 'c.st'") == 0);
    CHECK(msg.find(b.key) != std::string::npos);
  }
  auto m = good_checkpoint();
  m.erase("train.epoch");
  CHECK(error_of([&] { ras::train::read_checkpoint_progress(m, "ck", 5, 3); }).find("'train.epoch' is missing") !=
        std::string::npos);
}

TEST_CASE("hardening: RasConfig from metadata is bounded") {
  auto m = good_checkpoint();
  CHECK(ras::nn::config_from_metadata(m, "model 'm'").hidden == 256);
  for (auto [k, v] : {std::pair<std::string, std::string>{"ras.hidden", "-1"}, {"ras.hidden", "1048576"},
                      {"ras.channels", "abc"}, {"ras.encoder_layers", "1000000"}, {"ras.jitter_scale", "inf"},
                      {"ras.neighbor_mask", "2"}, {"ras.neighbor_h", "2000"}, {"ras.feature_h", "100000"}}) {
    auto bad = m;
    bad[k] = v;
    CAPTURE(k);
    CAPTURE(v);
    CHECK_THROWS_AS(ras::nn::config_from_metadata(bad, "model 'm'"), ras::Error);
  }
  // A neighbour window that covers the whole grid for the central token leaves nothing to attend to.
  ras::nn::RasConfig c;
  c.neighbor_h = c.neighbor_w = 15;
  CHECK(error_of([&] { c.validate(); }).find("covers the whole 14x14 grid") != std::string::npos);
  c.neighbor_h = c.neighbor_w = 13;
  CHECK_NOTHROW(c.validate());
}

TEST_CASE("hardening: NaN or Inf weights are refused before anything is loaded") {
  const auto dir = std::filesystem::temp_directory_path() / "ras_test_hardening_finite";
  std::filesystem::create_directories(dir);
  ras::Rng init(1);
  ras::nn::Linear<float> a(3, 2, init), b(3, 2, init);
  ras::io::save_state_dict(a, dir / "good.safetensors");
  a.weight.value().data()[4] = std::numeric_limits<float>::quiet_NaN();
  ras::io::save_state_dict(a, dir / "nan.safetensors");
  a.weight.value().data()[4] = 0;
  a.bias.value().data()[1] = -std::numeric_limits<float>::infinity();
  ras::io::save_state_dict(a, dir / "inf.safetensors");
  const float before = b.weight.value().data()[0];
  for (const char* f : {"nan.safetensors", "inf.safetensors"}) {
    const std::string msg = error_of([&] { ras::io::load_state_dict(b, dir / f); });
    CAPTURE(msg);
    CHECK(msg.find(f) != std::string::npos);
    CHECK(msg.find("non-finite") != std::string::npos);
    CHECK(b.weight.value().data()[0] == before);  // nothing written
  }
  ras::io::LoadOptions lenient;
  lenient.require_finite = false;
  CHECK_NOTHROW(ras::io::load_state_dict(b, dir / "nan.safetensors", lenient));
  CHECK(std::isnan(b.weight.value().data()[4]));
  CHECK_NOTHROW(ras::io::load_state_dict(b, dir / "good.safetensors"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("hardening: mask pairing is a pure function of the listed names") {
  namespace fs = std::filesystem;
  auto m = ras::data::detail::pair_masks({fs::path("g/000_mask.png"), fs::path("g/001_mask.png"), fs::path("g/002.png")},
                                         "_mask", false);
  CHECK(m.size() == 2);
  CHECK(m.at("000") == fs::path("g/000_mask.png"));
  auto plain = ras::data::detail::pair_masks({fs::path("m/a.png"), fs::path("m/b_mask.bmp")}, "_mask", true);
  CHECK(plain.size() == 2);
  CHECK(plain.at("b") == fs::path("m/b_mask.bmp"));
  const std::string msg = error_of([&] {
    ras::data::detail::pair_masks({fs::path("m/a.png"), fs::path("m/a_mask.png")}, "_mask", true);
  });
  CHECK(msg.find("found two for 'a'") != std::string::npos);
}

TEST_CASE("hardening: a stop request ends at a step boundary with a checkpoint that resumes exactly") {
  auto cfg = ras::testing::tiny_ras_config();
  cfg.decoder_layers = 1;
  ras::Tensor<float, 4> f({10, 16, 5, 5});
  ras::Rng rng(3);
  ras::fill_normal(f, rng);
  const auto dir = std::filesystem::temp_directory_path() / "ras_test_hardening_stop";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ras::train::TrainOptions o;
  o.epochs = 3;
  o.batch_size = 4;
  o.progress = false;

  ras::nn::RasReconstruction<float> full(cfg, 9);
  ras::train::Trainer<float>(full, f, o).run();

  std::atomic<bool> stop{false};
  ras::nn::RasReconstruction<float> part(cfg, 9);
  auto po = o;
  po.checkpoint = dir / "checkpoint.safetensors";
  po.stop = &stop;
  ras::train::Trainer<float> t1(part, f, po);
  t1.on_epoch_end = [&](const ras::train::EpochStats&) { stop = true; };  // stop right after epoch 1
  CHECK_FALSE(t1.run());
  CHECK(t1.stop_requested());
  CHECK(t1.epoch() == 1);
  REQUIRE(std::filesystem::exists(po.checkpoint));

  ras::nn::RasReconstruction<float> resumed(cfg, 123);  // another init: everything comes from the file
  auto ro = o;
  ro.checkpoint = po.checkpoint;
  ras::train::Trainer<float> t2(resumed, f, ro);
  t2.load_checkpoint(po.checkpoint);
  CHECK(t2.epoch() == 1);
  CHECK(t2.run());
  CHECK_FALSE(t2.stop_requested());
  auto pa = ras::nn::named_parameters<float>(full), pb = ras::nn::named_parameters<float>(resumed);
  REQUIRE(pa.size() == pb.size());
  double d = 0;
  for (std::size_t i = 0; i < pa.size(); ++i)
    for (ras::Index j = 0; j < pa[i].numel; ++j) d = std::max(d, double(std::abs(pa[i].value[j] - pb[i].value[j])));
  CHECK(d == 0.0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("hardening: safetensors and npy parse from memory exactly as from a file") {
  const std::string dir = std::string(RAS_SOURCE_DIR) + "/tests/fixtures/io/";
  auto bytes_of = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    REQUIRE(f.is_open());
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  };
  const auto st = bytes_of(dir + "python.safetensors");
  ras::io::SafetensorsFile from_file(dir + "python.safetensors");
  auto from_mem = ras::io::SafetensorsFile::from_bytes(st.data(), st.size(), "mem");
  CHECK(from_mem.keys() == from_file.keys());
  CHECK(from_mem.metadata() == from_file.metadata());
  for (const auto& k : from_file.keys()) {
    CHECK(from_mem.info(k).shape == from_file.info(k).shape);
    CHECK(std::equal(from_mem.raw(k), from_mem.raw(k) + from_mem.info(k).nbytes(), from_file.raw(k)));
  }
  const std::string cut = error_of([&] { ras::io::SafetensorsFile::from_bytes(st.data(), st.size() - 1, "mem 'x'"); });
  CHECK(cut.find("mem 'x'") == 0);

  const auto npy = bytes_of(dir + "python_f4.npy");
  auto a = ras::io::read_npy(dir + "python_f4.npy");
  auto b = ras::io::read_npy_bytes(npy.data(), npy.size(), "mem");
  CHECK(a.shape == b.shape);
  CHECK(a.bytes == b.bytes);
  CHECK(error_of([&] { ras::io::read_npy_bytes(npy.data(), 9, "mem 'y'"); }).find("mem 'y'") == 0);
}
