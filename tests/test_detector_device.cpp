// tests/test_detector_device.cpp — the device path of the Detector (pipeline/device_compute.hpp) on
// any build: use_device<Reference> runs the same code as use_device<Cuda> (copies of backbone and
// model on the device, batched features with host decoding overlapped, maps, box filter, scores)
// with the parity oracle's kernels, and must agree with the Cpu detector. The Cuda instantiation
// is compared the same way by tests/test_cuda_parity.cu on a GPU.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "ras/io/image.hpp"
#include "ras/pipeline/device_compute.hpp"
#include "ras/pipeline/evaluate.hpp"
#include "ras/testing/synthetic_weights.hpp"

namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("ras_test_detector_device_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A small RAS model on MobileNetV2's 168 channels, 14x14 grid.
ras::nn::RasConfig small_config() {
  ras::nn::RasConfig cfg;
  cfg.channels = 168;
  cfg.hidden = 32;
  cfg.heads = 4;
  cfg.ffn = 64;
  cfg.encoder_layers = 1;
  cfg.decoder_layers = 1;
  cfg.neighbor_h = cfg.neighbor_w = 3;
  return cfg;
}

// A detector on MobileNetV2 with synthetic weights (the same on every call).
ras::pipeline::Detector make_detector(const fs::path& weights_file) {
  ras::nn::MobileNetV2<float> net;
  ras::testing::init_synthetic<float>(net);
  return ras::pipeline::Detector(ras::nn::RasReconstruction<float>(small_config(), 5),
                                 std::make_unique<ras::pipeline::AnyBackbone>(std::move(net)), "mobilenet_v2",
                                 weights_file);
}

// An RGB test pattern of h x w pixels.
ras::io::Image pattern(ras::Index h, ras::Index w, int seed) {
  ras::io::Image img(h, w, 3);
  for (ras::Index y = 0; y < h; ++y)
    for (ras::Index x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img.pixels[static_cast<std::size_t>((y * w + x) * 3 + c)] =
            static_cast<std::uint8_t>((x * (3 + c) + y * (5 + seed) + 40 * c * seed + ((x / 16 + y / 16) % 2) * 60) % 256);
  return img;
}

double max_abs_diff(const float* a, const float* b, ras::Index n) {
  double m = 0;
  for (ras::Index i = 0; i < n; ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
  return m;
}

}  // namespace

TEST_CASE("detector on a device (Reference) agrees with the Cpu detector: features, maps, scores") {
  TempDir tmp;
  const auto weights = tmp.path / "weights.bin";
  std::ofstream(weights) << "synthetic weights";
  std::vector<fs::path> images;
  for (int i = 0; i < 3; ++i) {
    images.push_back(tmp.path / ("img" + std::to_string(i) + ".png"));
    ras::io::save_png(images.back().string(), pattern(i == 1 ? 200 : 224, i == 2 ? 250 : 224, i));
  }
  auto cpu = make_detector(weights);
  auto dev = make_detector(weights);
  CHECK(dev.device_name() == "cpu");
  ras::pipeline::use_device<ras::Reference>(dev, /*batch=*/2, /*chunk=*/2);
  CHECK(dev.device_name() == "reference");

  // features: 3 images in batches of 2 on the device (the second batch decoded during the first)
  const auto fc = cpu.extractor().features(images);
  const auto fd = dev.extractor().features(images);
  REQUIRE(fc.shape() == fd.shape());
  CHECK(fc.shape() == ras::Shape<4>{3, 168, 14, 14});
  CHECK(max_abs_diff(fc.data(), fd.data(), fc.numel()) < 1e-3);
  CHECK(dev.extractor().computed() == 3);
  const auto again = dev.extractor().features(images);  // from memory now
  CHECK(dev.extractor().computed() == 3);
  CHECK(max_abs_diff(fd.data(), again.data(), fd.numel()) == 0);

  // maps and scores of the same features
  const auto mc = cpu.maps_and_scores(fc);
  const auto md = dev.maps_and_scores(fc);
  REQUIRE(mc.maps.shape() == md.maps.shape());
  CHECK(mc.maps.shape() == ras::Shape<4>{3, 1, 224, 224});
  CHECK(max_abs_diff(mc.maps.data(), md.maps.data(), mc.maps.numel()) < 1e-3);
  REQUIRE(md.scores.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(md.scores[i] == doctest::Approx(mc.scores[i]).epsilon(1e-3));
  const auto maps = dev.maps_from_features(fc);
  CHECK(max_abs_diff(maps.data(), md.maps.data(), maps.numel()) == 0);

  // one image, 224 map and original size
  for (bool original : {false, true}) {
    const auto a = cpu.score(images[2], original);
    const auto b = dev.score(images[2], original);
    REQUIRE(a.map.shape() == b.map.shape());
    CHECK(b.map.shape() == (original ? ras::Shape<2>{224, 250} : ras::Shape<2>{224, 224}));
    CHECK(b.score == doctest::Approx(a.score).epsilon(1e-3));
    CHECK(max_abs_diff(a.map.data(), b.map.data(), a.map.numel()) < 1e-3);
  }
  // an image in memory
  const auto img = pattern(180, 190, 7);
  ras::TensorView<const std::uint8_t, 3> rgb(img.pixels.data(), {180, 190, 3});
  const auto a = cpu.score(rgb, true);
  const auto b = dev.score(rgb, true);
  CHECK(b.map.shape() == ras::Shape<2>{180, 190});
  CHECK(b.score == doctest::Approx(a.score).epsilon(1e-3));
  CHECK(max_abs_diff(a.map.data(), b.map.data(), a.map.numel()) < 1e-3);

  // back to the Cpu
  dev.set_compute(nullptr, nullptr);
  CHECK(dev.device_name() == "cpu");
  CHECK(dev.score(images[0]).score == doctest::Approx(cpu.score(images[0]).score).epsilon(1e-5));
}

TEST_CASE("device features: a broken image among the batches names the file") {
  TempDir tmp;
  const auto weights = tmp.path / "weights.bin";
  std::ofstream(weights) << "synthetic weights";
  std::vector<fs::path> images = {tmp.path / "good.png", tmp.path / "bad.png"};
  ras::io::save_png(images[0].string(), pattern(64, 64, 1));
  std::ofstream(images[1]) << "not a png";
  auto dev = make_detector(weights);
  ras::pipeline::use_device<ras::Reference>(dev, 1, 1);
  std::string msg;
  try {
    dev.extractor().features(images);
  } catch (const ras::Error& e) {
    msg = e.what();
  }
  CHECK(msg.find("bad.png") != std::string::npos);
}
