// Tests for ras::eval metrics: AUROC / AP / F1-max against scikit-learn and AUPRO against the
// MVTec AD reference algorithm (fixtures from tests/fixtures/make_metric_fixtures.py), plus
// large-n checks against closed forms and the error paths; heatmap colormaps, contours, overlays.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ras/eval/heatmap.hpp"
#include "ras/eval/metrics.hpp"
#include "ras/random.hpp"

namespace ev = ras::eval;
using ras::Index;

namespace {
// One fixture file: `key v v v ...` per line.
struct Fixture {
  std::map<std::string, std::vector<std::string>> fields;

  explicit Fixture(const std::string& name) {
    std::string path = std::string(RAS_SOURCE_DIR) + "/tests/fixtures/metrics/" + name + ".txt";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "missing fixture " << path << " (run /usr/bin/python3 "
                                                  << "tests/fixtures/make_metric_fixtures.py)");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string key, tok;
      ls >> key;
      while (ls >> tok) fields[key].push_back(tok);
    }
  }
  const std::vector<std::string>& raw(const std::string& key) const {
    auto it = fields.find(key);
    REQUIRE_MESSAGE(it != fields.end(), "fixture field " << key << " missing");
    return it->second;
  }
  std::vector<float> floats(const std::string& key) const {  // float32 values, parsed as float
    std::vector<float> v;
    for (const auto& s : raw(key)) v.push_back(std::strtof(s.c_str(), nullptr));
    return v;
  }
  std::vector<double> doubles(const std::string& key) const {
    std::vector<double> v;
    for (const auto& s : raw(key)) v.push_back(std::strtod(s.c_str(), nullptr));
    return v;
  }
  std::vector<std::uint8_t> bytes(const std::string& key) const {
    std::vector<std::uint8_t> v;
    for (const auto& s : raw(key)) v.push_back(static_cast<std::uint8_t>(std::stoi(s)));
    return v;
  }
  std::vector<Index> ints(const std::string& key) const {
    std::vector<Index> v;
    for (const auto& s : raw(key)) v.push_back(std::stoll(s));
    return v;
  }
  double scalar(const std::string& key) const { return doubles(key).at(0); }
};

constexpr double tol = 1e-9;
}  // namespace

TEST_CASE("metrics: AUROC, AP, F1-max and the curve match scikit-learn on the fixtures") {
  for (const char* name : {"sklearn_doc", "ties", "continuous", "all_tied", "inverted", "signed_zero"}) {
    CAPTURE(name);
    Fixture f(std::string("cls_") + name);
    auto scores = f.floats("scores");
    auto labels = f.bytes("labels");
    const double roc = f.scalar("roc_auc"), ap = f.scalar("average_precision"), f1 = f.scalar("f1_max");

    CHECK(std::abs(ev::roc_auc(scores, labels) - roc) < tol);
    CHECK(std::abs(ev::roc_auc_flipped(scores, labels) - f.scalar("roc_auc_flipped")) < tol);
    CHECK(std::abs(ev::average_precision(scores, labels) - ap) < tol);
    CHECK(std::abs(ev::f1_max(scores, labels) - f1) < tol);

    ev::RankedScores<float> r(scores, labels);
    auto best = r.f1_max();
    CHECK(best.threshold == static_cast<double>(f.floats("f1_threshold")[0]));
    auto m = ev::classification_metrics(scores, labels);
    CHECK(std::abs(m.roc_auc - roc) < tol);
    CHECK(std::abs(m.average_precision - ap) < tol);
    CHECK(std::abs(m.f1_max - f1) < tol);

    // sklearn's _binary_clf_curve: one point per distinct score, ties merged (-0 == +0).
    auto curve = r.curve();
    auto thr = f.floats("curve_threshold");
    auto tps = f.ints("curve_tp"), fps = f.ints("curve_fp");
    REQUIRE(curve.size() == thr.size());
    for (std::size_t i = 0; i < thr.size(); ++i) {
      CHECK(curve[i].threshold == static_cast<double>(thr[i]));
      CHECK(curve[i].tp == tps[i]);
      CHECK(curve[i].fp == fps[i]);
    }

    // Same results from double scores and from 0/255 labels.
    std::vector<double> dscores(scores.begin(), scores.end());
    CHECK(std::abs(ev::roc_auc(dscores, labels) - roc) < tol);
    CHECK(std::abs(ev::average_precision(dscores, labels) - ap) < tol);
    CHECK(std::abs(ev::f1_max(dscores, labels) - f1) < tol);
    std::vector<std::uint8_t> labels255(labels);
    for (auto& l : labels255) l = l ? 255 : 0;
    CHECK(std::abs(ev::roc_auc(scores, labels255) - roc) < tol);
  }
}

TEST_CASE("metrics: one million tied scores against closed forms (Mann-Whitney U, histogram AP)") {
  const Index n = 1'000'000, levels = 997;
  ras::Rng rng(7);
  std::vector<float> scores(n);
  std::vector<std::uint8_t> labels(n);
  std::vector<Index> pos(levels, 0), neg(levels, 0);
  for (Index i = 0; i < n; ++i) {
    bool y = rng.uniform() < 0.05;
    Index level = std::min<Index>(levels - 1, static_cast<Index>(rng.uniform() * 700 + (y ? 297 : 0)));
    scores[i] = static_cast<float>(level) * 0.01f - 3.0f;
    labels[i] = y;
    (y ? pos : neg)[level]++;
  }
  // AUC = P(s+ > s-) + P(s+ == s-)/2, AP = sum over levels (high to low) of dtp/P * precision.
  double u = 0, neg_below = 0, tp = 0, fp = 0, ap = 0, best_f1 = 0, npos = 0, nneg = 0;
  for (Index l = 0; l < levels; ++l) npos += pos[l], nneg += neg[l];
  for (Index l = 0; l < levels; ++l) {
    u += pos[l] * (neg_below + 0.5 * neg[l]);
    neg_below += neg[l];
  }
  for (Index l = levels - 1; l >= 0; --l) {
    tp += pos[l];
    fp += neg[l];
    if (pos[l]) ap += pos[l] / npos * tp / (tp + fp);
    if (tp + fp > 0) best_f1 = std::max(best_f1, 2 * tp / (tp + fp + npos));
  }
  ev::RankedScores<float> r(scores, labels);
  CHECK(r.positives() == static_cast<Index>(npos));
  CHECK(std::abs(r.roc_auc() - u / (npos * nneg)) < 1e-12);
  CHECK(std::abs(r.average_precision() - ap) < 1e-10);
  CHECK(std::abs(r.f1_max().f1 - best_f1) < 1e-12);
  CHECK(r.roc_auc() > 0.6);  // the signal is real
}

TEST_CASE("metrics: radix sort keys order floats and doubles like std::sort") {
  ras::Rng rng(3);
  std::vector<double> d(5000);
  for (auto& v : d) v = rng.normal() * std::pow(10.0, rng.uniform(-30, 30));
  d[0] = 0.0, d[1] = -0.0, d[2] = std::numeric_limits<double>::max(), d[3] = -std::numeric_limits<double>::max();
  d[4] = std::numeric_limits<double>::denorm_min(), d[5] = -std::numeric_limits<double>::denorm_min();
  std::vector<std::uint64_t> keys, tmp;
  for (double v : d) keys.push_back(ev::sort_key(v));
  ev::radix_sort_keys(keys, tmp);
  std::vector<double> expected(d);
  std::sort(expected.begin(), expected.end());
  for (std::size_t i = 0; i < d.size(); ++i) CHECK(ev::from_sort_key<double>(keys[i]) == expected[i]);

  std::vector<std::uint32_t> fkeys, ftmp;
  std::vector<float> f;
  for (double v : d) f.push_back(static_cast<float>(v));
  for (float v : f) fkeys.push_back(ev::sort_key(v));
  ev::radix_sort_keys(fkeys, ftmp);
  std::sort(f.begin(), f.end());
  for (std::size_t i = 0; i < f.size(); ++i) CHECK(ev::from_sort_key<float>(fkeys[i]) == f[i]);
  CHECK(ev::sort_key(-0.0f) == ev::sort_key(0.0f));
}

TEST_CASE("metrics: one class, bad sizes and non-finite scores throw ras::Error") {
  std::vector<float> s = {0.1f, 0.5f, 0.3f};
  std::vector<std::uint8_t> zeros = {0, 0, 0}, ones = {1, 1, 1}, two = {0, 1};
  CHECK_THROWS_AS(ev::roc_auc(s, zeros), ras::Error);
  CHECK_THROWS_WITH_AS(ev::roc_auc(s, ones), doctest::Contains("3 positive and 0 negative"), ras::Error);
  CHECK_THROWS_AS(ev::average_precision(s, zeros), ras::Error);
  CHECK_THROWS_AS(ev::f1_max(s, zeros), ras::Error);
  CHECK(ev::average_precision(s, ones) == 1.0);  // defined without negatives
  CHECK(ev::f1_max(s, ones) == 1.0);
  CHECK_THROWS_WITH_AS(ev::roc_auc(s, two), doctest::Contains("(3) but got 2"), ras::Error);
  CHECK_THROWS_AS(ev::roc_auc(std::vector<float>{}, std::vector<std::uint8_t>{}), ras::Error);
  s[1] = std::nanf("");
  CHECK_THROWS_AS(ev::roc_auc(s, std::vector<std::uint8_t>{0, 1, 0}), ras::Error);
  CHECK(ev::flip_below_half(0.25) == 0.75);
  CHECK(ev::flip_below_half(0.75) == 0.75);
}

TEST_CASE("metrics: connected components and AUPRO match the MVTec reference on the fixtures") {
  for (const char* name : {"regions", "ties"}) {
    CAPTURE(name);
    Fixture f(std::string("pro_") + name);
    auto shape = f.ints("shape");
    REQUIRE(shape.size() == 3);
    ras::Shape<3> s3{shape[0], shape[1], shape[2]};
    auto maps = ras::Tensor<float, 3>::from(s3, f.floats("maps"));
    auto masks = ras::Tensor<std::uint8_t, 3>::from(s3, f.bytes("masks"));

    // scipy.ndimage.label(mask, np.ones((3, 3))): same labels, same numbering.
    auto labels = f.ints("labels");
    auto counts = f.ints("region_counts");
    const Index hw = shape[1] * shape[2];
    for (Index i = 0; i < shape[0]; ++i) {
      ras::TensorView<const std::uint8_t, 2> mask(masks.data() + i * hw, {shape[1], shape[2]});
      auto c = ev::connected_components(mask);
      CHECK(c.count() == counts[i]);
      for (Index p = 0; p < hw; ++p) REQUIRE(c.labels.data()[p] == labels[i * hw + p]);
    }

    for (const char* lim : {"0.3", "0.05", "1"}) {
      CAPTURE(lim);
      double expected = f.scalar(std::string("aupro_") + lim);
      CHECK(std::abs(ev::aupro(maps, masks, std::stod(lim)) - expected) < tol);
      // double maps give the same value
      std::vector<double> dm(maps.data(), maps.data() + maps.numel());
      auto dmaps = ras::Tensor<double, 3>::from(s3, dm);
      CHECK(std::abs(ev::aupro(dmaps, masks, std::stod(lim)) - expected) < tol);
    }
    if (f.fields.count("curve_fpr")) {
      auto c = ev::pro_curve(maps.view(), masks.view());
      auto thr = f.floats("curve_threshold");
      auto fpr = f.doubles("curve_fpr"), pro = f.doubles("curve_pro");
      REQUIRE(c.threshold.size() == thr.size());
      for (std::size_t i = 0; i < thr.size(); ++i) {
        CHECK(c.threshold[i] == static_cast<double>(thr[i]));
        CHECK(std::abs(c.fpr[i] - fpr[i]) < 1e-12);
        CHECK(std::abs(c.pro[i] - pro[i]) < 1e-12);
      }
    }
  }
}

TEST_CASE("metrics: AUPRO of a perfect and of an inverted map, and its errors") {
  auto masks = ras::Tensor<std::uint8_t, 3>({2, 6, 7});
  masks(0, 1, 1) = masks(0, 1, 2) = masks(0, 2, 2) = 1;  // one region
  masks(1, 4, 5) = 255;                                   // another (0/255 masks work)
  auto maps = ras::Tensor<float, 3>({2, 6, 7});
  for (Index i = 0; i < maps.numel(); ++i) maps.data()[i] = masks.data()[i] ? 2.0f : 0.5f;
  CHECK(ev::aupro(maps, masks) == doctest::Approx(1.0));
  CHECK(ev::aupro(maps, masks, 0.01) == doctest::Approx(1.0));
  for (Index i = 0; i < maps.numel(); ++i) maps.data()[i] = -maps.data()[i];
  // Inverted: normal pixels first (fpr 0 -> 1 at pro 0), then the regions: area 0.
  CHECK(ev::aupro(maps, masks) == doctest::Approx(0.0));
  CHECK(ev::aupro(maps, masks, 1.0) == doctest::Approx(0.0));

  CHECK_THROWS_AS(ev::aupro(maps, masks, 0.0), ras::Error);
  CHECK_THROWS_AS(ev::aupro(maps, masks, 1.5), ras::Error);
  auto empty = ras::Tensor<std::uint8_t, 3>({2, 6, 7});
  CHECK_THROWS_WITH_AS(ev::aupro(maps, empty), doctest::Contains("at least one anomalous region"), ras::Error);
  auto other = ras::Tensor<std::uint8_t, 3>({2, 7, 6});
  CHECK_THROWS_WITH_AS(ev::aupro(maps, other), doctest::Contains("(2, 6, 7)"), ras::Error);
}

TEST_CASE("heatmap: colormap tables and matplotlib's lookup rule") {
  using ev::Colormap;
  auto eq = [](ev::Rgb c, int r, int g, int b) { return c[0] == r && c[1] == g && c[2] == b; };
  // Values from matplotlib 3.6: colormaps[name](t, bytes=True).
  CHECK(eq(ev::colormap_rgb(Colormap::Viridis, 0.0), 68, 1, 84));
  CHECK(eq(ev::colormap_rgb(Colormap::Viridis, 1.0), 253, 231, 36));
  CHECK(eq(ev::colormap_rgb(Colormap::Viridis, 0.5), 32, 144, 140));
  CHECK(eq(ev::colormap_rgb(Colormap::Viridis, 1.0 / 256), 68, 2, 85));
  CHECK(eq(ev::colormap_rgb(Colormap::Inferno, 0.0), 0, 0, 3));
  CHECK(eq(ev::colormap_rgb(Colormap::Inferno, 1.0), 252, 254, 164));
  CHECK(eq(ev::colormap_rgb(Colormap::Inferno, 0.5), 187, 55, 84));
  CHECK(ev::colormap_index(-3.0) == 0);
  CHECK(ev::colormap_index(7.0) == 255);
  CHECK(ev::colormap_index(0.999) == 255);
  CHECK(ev::colormap_index(std::nan("")) == 0);

  // Normalisation by a given range: vmin -> first colour, vmax and above -> last.
  auto map = ras::Tensor<float, 2>::from({1, 4}, {2.0f, 6.0f, 4.0f, 9.0f});
  auto rgb = ev::colorize(map.view(), 2.0, 6.0);
  auto px = [&](Index x) { return ev::Rgb{rgb(0, x, 0), rgb(0, x, 1), rgb(0, x, 2)}; };
  CHECK(eq(px(0), 68, 1, 84));
  CHECK(eq(px(1), 253, 231, 36));
  CHECK(eq(px(2), 32, 144, 140));
  CHECK(eq(px(3), 253, 231, 36));
  auto range = ev::value_range(std::span<const float>(map.data(), 4));
  CHECK(range.min == 2.0);
  CHECK(range.max == 9.0);
  CHECK_THROWS_AS(ev::colorize(map.view(), 3.0, 1.0), ras::Error);
}

TEST_CASE("heatmap: mask contour and overlay on a tiny synthetic mask") {
  const Index h = 5, w = 6;
  auto mask = ras::Tensor<std::uint8_t, 2>({h, w});
  for (Index y = 1; y <= 3; ++y)
    for (Index x = 1; x <= 3; ++x) mask(y, x) = 255;
  mask(0, 5) = mask(1, 5) = 1;  // touches the border
  auto contour = ev::mask_contour(mask.view());
  const char* expected[] = {"000001",  //
                            "011101",  //
                            "010100",  //
                            "011100",  //
                            "000000"};
  for (Index y = 0; y < h; ++y)
    for (Index x = 0; x < w; ++x) CHECK(contour(y, x) == expected[y][x] - '0');

  auto image = ras::Tensor<std::uint8_t, 3>({h, w, 3});
  for (Index i = 0; i < h * w; ++i)
    for (int c = 0; c < 3; ++c) image.data()[3 * i + c] = static_cast<std::uint8_t>(10 * (c + 1));
  auto map = ras::Tensor<float, 2>({h, w});
  map(2, 2) = 1.0f;
  auto out = ev::heatmap_overlay(image, map, 0.0, 1.0, mask);
  CHECK(out.shape() == ras::Shape<3>{h, w, 3});
  // (68, 1, 84) and (10, 20, 30) blended half and half, rounded half away from zero.
  CHECK(out(0, 0, 0) == 39);
  CHECK(out(0, 0, 1) == 11);
  CHECK(out(0, 0, 2) == 57);
  // The inside pixel (2, 2) carries the top colour (253, 231, 36) blended.
  CHECK(out(2, 2, 0) == 132);
  CHECK(out(2, 2, 1) == 126);
  CHECK(out(2, 2, 2) == 33);
  // Contour pixels are pure red.
  CHECK((out(1, 1, 0) == 255 && out(1, 1, 1) == 0 && out(1, 1, 2) == 0));
  CHECK((out(0, 5, 0) == 255 && out(0, 5, 1) == 0));
  // No mask: no contour.
  auto plain = ev::heatmap_overlay(image, map, 0.0, 1.0, ras::Tensor<std::uint8_t, 2>());
  CHECK(plain(1, 1, 0) == 39);

  // The same from an io::Image, and back to one for io::save_png.
  auto img = ev::rgb_to_image(image);
  CHECK((img.height == h && img.width == w && img.channels == 3 && img(4, 5, 2) == 30));
  auto out2 = ev::heatmap_overlay(img, map.view(), 0.0, 1.0, mask.view());
  CHECK(std::equal(out.data(), out.data() + out.numel(), out2.data()));

  auto wrong = ras::Tensor<std::uint8_t, 3>({h, w + 1, 3});
  CHECK_THROWS_WITH_AS(ev::heatmap_overlay(wrong, map, 0.0, 1.0, mask), doctest::Contains("(5, 6, 3)"),
                       ras::Error);
}
