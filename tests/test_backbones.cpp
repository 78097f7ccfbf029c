// Tests for the frozen CNN backbones and the MFCN neck against PyTorch references written by
// tests/fixtures/make_backbone_fixtures.py: EfficientNet-B4 in the lukemelas layout (RAS) and the
// torchvision layout, both with synthetic weights generated identically here and in numpy, and the
// shared TF MobileNetV2 with its real ImageNet weights (strict load, real-photo classification).
// Metric: per tensor max|ours - ref| / max|ref| <= 1e-4 (refs computed in float64), plus every element
// within 1e-4 * max|ref| + 1e-3 * |ref|.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ras/io/image.hpp"
#include "ras/io/safetensors.hpp"
#include "ras/io/state_dict.hpp"
#include "ras/backbones/efficientnet.hpp"
#include "ras/backbones/efficientnet_torchvision.hpp"
#include "ras/backbones/mobilenet_v2.hpp"
#include "ras/testing/fixture.hpp"
#include "ras/testing/synthetic_weights.hpp"

using ras::Index;
using T4 = ras::Tensor<float, 4>;

namespace {

std::string fixture(const std::string& name) { return ras::testing::fixture_path("backbones/" + name); }

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream f(fixture(name));
  REQUIRE_MESSAGE(f.good(), "cannot open fixture ", fixture(name), " (run tests/fixtures/make_backbone_fixtures.py)");
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);)
    if (!l.empty() && l[0] != '#') lines.push_back(l);
  return lines;
}

std::vector<Index> parse_shape(const std::string& s) {
  std::vector<Index> shape;
  if (s == "scalar") return shape;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, ',');) shape.push_back(std::stoll(part));
  return shape;
}

// max|a - b| / max|b| (the reported metric) and whether every element is within tolerance.
void check_close(const T4& ours, const T4& ref, const std::string& what, double rtol = 1e-4) {
  INFO(what);
  REQUIRE(ras::shape_string(ours.shape()) == ras::shape_string(ref.shape()));
  double max_ref = 0, max_diff = 0;
  for (Index i = 0; i < ref.numel(); ++i) max_ref = std::max(max_ref, std::fabs(double(ref.data()[i])));
  Index bad = 0;
  for (Index i = 0; i < ref.numel(); ++i) {
    const double d = std::fabs(double(ours.data()[i]) - double(ref.data()[i]));
    max_diff = std::max(max_diff, d);
    if (!(d <= rtol * max_ref + 1e-3 * std::fabs(double(ref.data()[i])))) ++bad;
  }
  INFO("max|diff| / max|ref| = ", max_diff / max_ref, " (max|ref| = ", max_ref, "), elements out of tolerance: ", bad);
  CHECK(max_ref > 0.1);  // a meaningful reference (not all zeros)
  CHECK(max_diff / max_ref <= rtol);
  CHECK(bad == 0);
}

T4 synthetic_input(Index n, Index size) {
  return ras::testing::synthetic_tensor<float, 4>("fixture.input." + std::to_string(size), {n, 3, size, size}, -2.0, 2.0);
}

// Taps and neck of a backbone against a fixture file with small.tap*, small.neck, full.neck.
template <class Net>
void check_backbone(Net& net, const std::string& file) {
  ras::io::SafetensorsFile ref(fixture(file));
  auto x = synthetic_input(2, 48);
  auto taps = net.features(x);
  REQUIRE(taps.size() == 4);
  for (std::size_t l = 0; l < taps.size(); ++l) {
    check_close(taps[l], ref.get<float, 4>("small.tap" + std::to_string(l)), net.name() + " tap " + std::to_string(l));
    CHECK(taps[l].dim(1) == net.tap_channels()[l]);
    CHECK(taps[l].dim(2) == 48 / net.tap_strides()[l]);
  }
  check_close(net.neck(x), ref.get<float, 4>("small.neck"), net.name() + " neck 48");
  net.chunk_size = 2;  // a two-image batch in one pass gives the same numbers
  check_close(net.neck(x), ref.get<float, 4>("small.neck"), net.name() + " neck 48 (chunk 2)");
  net.chunk_size = 1;
  auto full = net.neck(synthetic_input(1, 224));
  CHECK(full.dim(1) == net.neck_channels());
  check_close(full, ref.get<float, 4>("full.neck"), net.name() + " neck 224");
}

// Parameter and buffer names / shapes in registration order against torch's state_dict() keys.
template <class M>
void check_keys(M& model, const std::string& file) {
  auto lines = fixture_lines(file);
  auto entries = ras::io::state_entries(model);
  REQUIRE(entries.size() == lines.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::stringstream ss(lines[i]);
    std::string name, shape;
    ss >> name >> shape;
    if (entries[i].name != name || entries[i].shape != parse_shape(shape)) {
      if (++mismatches < 5) MESSAGE("entry ", i, ": ours ", entries[i].name, " ", ras::shape_string(entries[i].shape),
                                    ", torch ", name, " ", shape);
    }
  }
  CHECK(mismatches == 0);
}

std::string mobilenet_path() { return std::string(RAS_SHARED_DIR) + "/weights/mobilenet_v2_imagenet.safetensors"; }

ras::nn::MobileNetV2<float> load_mobilenet() {
  const std::string path = mobilenet_path();
  REQUIRE_MESSAGE(std::filesystem::exists(path), "the shared MobileNetV2 weights are required but ", path,
                  " does not exist (RAS_SHARED_DIR must point at the shared folder)");
  ras::nn::MobileNetV2<float> net;
  auto report = ras::io::load_state_dict(net, path);  // strict: every name and shape must match
  CHECK(report.ok());
  return net;
}

std::string grace_hopper_path() {
  for (const char* p : {"/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                        "/usr/share/matplotlib/sample_data/grace_hopper.jpg"})
    if (std::filesystem::exists(p)) return p;
  std::string found;
  if (FILE* pipe = popen("dpkg -L python3-matplotlib 2>/dev/null | grep grace_hopper.jpg", "r")) {
    char buf[1024];
    if (std::fgets(buf, sizeof buf, pipe)) found = buf;
    pclose(pipe);
  }
  while (!found.empty() && (found.back() == '\n' || found.back() == '\r')) found.pop_back();
  return found;
}

}  // namespace

TEST_CASE("backbones: synthetic weights agree bit for bit with the numpy generator") {
  auto lines = fixture_lines("synthetic_check.txt");
  REQUIRE(lines.size() >= 10);
  for (const auto& line : lines) {
    std::stringstream ss(line);
    std::string name, shape, key_hex, z_hex, bits_hex;
    Index i = 0;
    ss >> name >> shape >> i >> key_hex >> z_hex >> bits_hex;
    INFO(line);
    const std::uint64_t key = ras::testing::fnv1a64(name);
    CHECK(key == std::stoull(key_hex, nullptr, 16));
    CHECK(ras::testing::synthetic_bits(key, i) == std::stoull(z_hex, nullptr, 16));
    double lo = -2.0, hi = 2.0;
    if (name.rfind("fixture.", 0) != 0) {
      auto r = ras::testing::synthetic_range(name, parse_shape(shape));
      REQUIRE(r.has_value());
      lo = r->first, hi = r->second;
    }
    const float v = static_cast<float>(ras::testing::synthetic_value(key, i, lo, hi));
    std::uint32_t bits = 0;
    std::memcpy(&bits, &v, 4);
    CHECK(bits == static_cast<std::uint32_t>(std::stoul(bits_hex, nullptr, 16)));
  }
  CHECK(!ras::testing::synthetic_range("_bn0.num_batches_tracked", {}).has_value());
  CHECK_THROWS_AS(ras::testing::synthetic_range("x.gamma", {3}), ras::Error);
}

TEST_CASE("backbones: SAME padding and the lukemelas architecture of B0-B7") {
  using ras::nn::same_padding;
  CHECK(same_padding(224, 3, 2) == std::array<Index, 2>{0, 1});
  CHECK(same_padding(56, 5, 2) == std::array<Index, 2>{1, 2});
  CHECK(same_padding(95, 5, 2) == std::array<Index, 2>{2, 2});
  CHECK(same_padding(14, 3, 1) == std::array<Index, 2>{1, 1});
  CHECK(ras::nn::round_filters(32, 1.4) == 48);
  CHECK(ras::nn::round_filters(112, 1.4) == 160);
  CHECK(ras::nn::round_repeats(3, 1.8) == 6);
  CHECK_THROWS_AS(ras::nn::efficientnet_params("b9"), ras::Error);

  // B4 at 224: block 6 (first of stage 3, depthwise 5x5 stride 2) pads (2, 2, 2, 2) because its
  // padding is computed for 95 px (380 nominal), where TF-SAME at the actual 56 px would be (1, 2, 1, 2).
  auto b4 = ras::nn::lukemelas_efficientnet_config("b4");
  REQUIRE(b4.blocks.size() == 32);
  CHECK(b4.blocks[6].depthwise_padding == std::array<Index, 4>{2, 2, 2, 2});
  CHECK(b4.blocks[6].image_size == 95);
  CHECK(b4.blocks[6].kernel == 5);
  CHECK(b4.blocks[6].stride == 2);
  CHECK(ras::nn::same_padding(56, 5, 2) != std::array<Index, 2>{2, 2});

  // Every block of every variant against the Python re-implementation of lukemelas.
  std::map<std::string, ras::nn::EfficientNetConfig> cfgs;
  for (const char* v : {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"}) cfgs[v] = ras::nn::lukemelas_efficientnet_config(v);
  Index rows = 0;
  for (const auto& line : fixture_lines("efficientnet_lukemelas_tables.txt")) {
    INFO(line);
    std::stringstream ss(line);
    std::string first, variant;
    ss >> first;
    if (first == "stem") {
      Index c, l, r, t, b;
      ss >> variant >> c >> l >> r >> t >> b;
      CHECK(cfgs[variant].stem_channels == c);
      CHECK(cfgs[variant].stem_padding == std::array<Index, 4>{t, b, l, r});
    } else if (first == "head") {
      Index c;
      ss >> variant >> c;
      CHECK(cfgs[variant].head_channels == c);
    } else if (first == "params") {
      Index count;
      ss >> variant >> count;
      if (variant == "b0" || variant == "b4") {  // building B5-B7 costs memory and time, B0 / B4 suffice
        auto net = ras::nn::efficientnet_lukemelas<float>(variant, {1});
        CHECK(ras::nn::count_parameters(net) == count);
      }
    } else {
      variant = first;
      Index j, in, out, e, k, s, sq, img, l, r, t, b;
      ss >> j >> in >> out >> e >> k >> s >> sq >> img >> l >> r >> t >> b;
      REQUIRE(j < static_cast<Index>(cfgs[variant].blocks.size()));
      const auto& c = cfgs[variant].blocks[static_cast<std::size_t>(j)];
      CHECK(c.in_channels == in);
      CHECK(c.out_channels == out);
      CHECK(c.expand_ratio == e);
      CHECK(c.kernel == k);
      CHECK(c.stride == s);
      CHECK(c.squeeze_channels == sq);
      CHECK(c.image_size == img);
      CHECK(c.depthwise_padding == std::array<Index, 4>{t, b, l, r});
      ++rows;
    }
  }
  Index total = 0;
  for (auto& [v, c] : cfgs) total += static_cast<Index>(c.blocks.size());
  CHECK(rows == total);
}

TEST_CASE("backbones: EfficientNet-B4 parameter names equal torch's state_dict keys") {
  auto luke = ras::nn::efficientnet_lukemelas<float>("b4");
  check_keys(luke, "efficientnet_b4_lukemelas_keys.txt");
  CHECK(ras::nn::count_parameters(luke) == 19341616);
  auto tv = ras::nn::efficientnet_torchvision<float>("b4");
  check_keys(tv, "efficientnet_b4_torchvision_keys.txt");
  CHECK(ras::nn::count_parameters(tv) == 19341616);
  CHECK(ras::nn::torchvision_block_name(tv.config, 21) == "features.5.5");
  CHECK(tv.config.bn.eps == doctest::Approx(1e-5));
  CHECK(ras::nn::torchvision_efficientnet_config("b5").bn.eps == doctest::Approx(1e-3));
}

TEST_CASE("backbones: lukemelas EfficientNet-B4 taps and neck match PyTorch") {
  auto net = ras::nn::efficientnet_lukemelas<float>("b4");
  ras::testing::init_synthetic<float>(net);
  CHECK(net.tap_channels() == std::vector<Index>{24, 32, 56, 160});
  CHECK(net.tap_strides() == std::vector<Index>{2, 4, 8, 16});
  CHECK(net.neck_channels() == 272);
  check_backbone(net, "efficientnet_b4_lukemelas.safetensors");
  // frozen: nothing recorded, BN stays in eval mode even after nn::train
  ras::nn::train(net);
  CHECK(ras::autograd::current_tape().size() == 0);
  auto again = net.features(synthetic_input(2, 48));
  ras::io::SafetensorsFile ref(fixture("efficientnet_b4_lukemelas.safetensors"));
  check_close(again[0], ref.get<float, 4>("small.tap0"), "tap 0 after nn::train");
  CHECK(ras::autograd::current_tape().size() == 0);
}

TEST_CASE("backbones: torchvision EfficientNet-B4 taps and neck match PyTorch") {
  auto net = ras::nn::efficientnet_torchvision<float>("b4");
  ras::testing::init_synthetic<float>(net);
  CHECK(net.tap_channels() == std::vector<Index>{24, 32, 56, 160});
  check_backbone(net, "efficientnet_b4_torchvision.safetensors");
}

TEST_CASE("backbones: MobileNetV2 loads the shared weights strictly and matches PyTorch") {
  auto net = load_mobilenet();
  CHECK(net.tap_channels() == std::vector<Index>{16, 24, 32, 96});
  CHECK(net.tap_strides() == std::vector<Index>{2, 4, 8, 16});
  CHECK(net.neck_channels() == 168);
  check_backbone(net, "mobilenet_v2.safetensors");
  ras::io::SafetensorsFile ref(fixture("mobilenet_v2.safetensors"));
  auto logits = net.logits(synthetic_input(1, 224));
  auto ref_logits = ref.get<float, 2>("full.logits");
  auto as4 = [](const ras::Tensor<float, 2>& t) { return ras::to_tensor(t.reshaped<4>({1, 1, t.dim(0), t.dim(1)})); };
  check_close(as4(logits.value()), as4(ref_logits), "mobilenet logits 224");
}

TEST_CASE("backbones: MobileNetV2 classifies grace_hopper.jpg as military uniform") {
  const std::string path = grace_hopper_path();
  REQUIRE_MESSAGE(!path.empty(), "matplotlib's sample image grace_hopper.jpg was not found (install python3-matplotlib)");
  auto net = load_mobilenet();
  REQUIRE(net.input_preset().normalization == ras::nn::InputNormalization::symmetric);
  auto x = ras::io::load_preprocessed<float>(path, 224, ras::io::Normalization::symmetric);
  auto logits = net.logits(x);
  const float* l = logits.value().data();
  const Index top = std::max_element(l, l + 1001) - l;
  double z = 0;
  for (Index i = 0; i < 1001; ++i) z += std::exp(double(l[i]) - double(l[top]));
  INFO("grace_hopper: top-1 output ", top, " with softmax probability ", 1.0 / z);
  CHECK(top == 653);  // ImageNet class 652 "military uniform" (output 0 is background)
  CHECK(1.0 / z == doctest::Approx(0.6513).epsilon(1e-3));
  // PyTorch on the PIL-decoded image: we decode with libjpeg-turbo as Pillow does, so the input is
  // identical and only float rounding differs (measured 9.6e-7; with stb_image's decoder it was
  // up to 2e-2 and p = 0.651 within 2 %).
  ras::io::SafetensorsFile ref(fixture("mobilenet_v2.safetensors"));
  auto ref_logits = ref.get<float, 2>("grace_hopper.logits");
  double max_ref = 0, max_diff = 0;
  for (Index i = 0; i < 1001; ++i) {
    max_ref = std::max(max_ref, std::fabs(double(ref_logits.data()[i])));
    max_diff = std::max(max_diff, std::fabs(double(l[i]) - double(ref_logits.data()[i])));
  }
  INFO("grace_hopper logits: max|diff| / max|ref| = ", max_diff / max_ref);
  CHECK(max_diff / max_ref < 1e-4);
}
