// Tests for the report pieces: the SVG plot writer (ticks, coordinate mapping, escaping, value
// checks), base64, the HTML page (element ids, nothing fetched from the network), the train-log
// reader, and the calibration kept in model metadata (round trip, validation errors, the atomic
// rewrite that keeps every tensor byte, F1-max / quantile thresholds).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ras/pipeline/calibration.hpp"
#include "ras/report/html.hpp"
#include "ras/report/svg.hpp"

namespace rp = ras::report;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("ras_test_report_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "_" +
            std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("svg: nice ticks at 1, 2, 5 x 10^k inside the range") {
  auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]));
  };
  same(rp::nice_ticks(0, 1), {0, 0.2, 0.4, 0.6, 0.8, 1});
  same(rp::nice_ticks(0, 0.3), {0, 0.1, 0.2, 0.3});
  same(rp::nice_ticks(37.2, 45.1), {38, 40, 42, 44});
  same(rp::nice_ticks(-0.05, 1.05), {0, 0.2, 0.4, 0.6, 0.8, 1});
  CHECK_THROWS_WITH(rp::nice_ticks(1, 1), doctest::Contains("expected finite lo < hi but got lo = 1, hi = 1"));
}

TEST_CASE("svg: data coordinates map onto the plot area; text is escaped; ids kept") {
  rp::PlotOptions o{"roc-1", "a<b & \"c\"", "x", "y"};
  o.x_min = 0, o.x_max = 1, o.y_min = 0, o.y_max = 1;
  rp::Plot p(o);
  p.line({"curve", {0, 1}, {0, 1}, "#123456", 1.8, ""});
  p.marker({0.5, "T", "#000000"});
  const std::string s = p.svg();
  // width 320, height 280: plot area x 52..308, y 26..240
  CHECK(s.find("points=\"52.00,240.00 308.00,26.00\"") != std::string::npos);
  CHECK(s.find("x1=\"180.00\" y1=\"26.00\" x2=\"180.00\" y2=\"240.00\"") != std::string::npos);  // marker at 0.5
  CHECK(s.find("height=\"308\"") != std::string::npos);  // 280 + two legend rows below the plot
  CHECK(s.find("id=\"roc-1\"") != std::string::npos);
  CHECK(s.find("a&lt;b &amp; &quot;c&quot;") != std::string::npos);
  CHECK(s.find("a<b") == std::string::npos);
  CHECK(count(s, "<svg") == 1);
  CHECK(count(s, "</svg>") == 1);
  CHECK(s.find(">curve</text>") != std::string::npos);  // legend
}

TEST_CASE("svg: histograms, data-driven ranges and value checks") {
  rp::Plot h({"hist", "scores", "score", "n"});
  h.bars({"normal", {0, 1, 2}, {3, 0}, "#00ff00", 0.5});
  const std::string s = h.svg();
  CHECK(count(s, "class=\"bar\"") == 1);  // empty bins are not drawn
  rp::Plot bad({"bad", "", "", ""});
  CHECK_THROWS_WITH(bad.line({"l", {0, 1}, {0, NAN}, "#000", 1, ""}),
                    doctest::Contains("expected finite values but y of line 'l'[1] is nan"));
  CHECK_THROWS_WITH(bad.line({"l", {0, 1}, {0}, "#000", 1, ""}), doctest::Contains("has 2 x but 1 y values"));
  CHECK_THROWS_WITH(bad.bars({"b", {0, 1}, {1, 2}, "#000", 1}), doctest::Contains("need 3 edges for 2 counts but got 2"));
  CHECK_THROWS_WITH(bad.bars({"b", {0, 0, 1}, {1, 2}, "#000", 1}), doctest::Contains("bar edges must increase"));
  CHECK_THROWS_WITH(rp::Plot({"tiny", "", "", "", 10, 10}), doctest::Contains("at least 100x80 pixels but got 10x10"));
  // one point only: a unit range around it, still a valid plot
  rp::Plot one({"one", "", "", ""});
  one.line({"", {2}, {3}, "#000", 1, ""});
  CHECK(one.svg().find("<polyline") != std::string::npos);
}

TEST_CASE("base64: RFC 4648 test vectors") {
  auto b = [](const std::string& s) { return rp::base64(std::vector<std::uint8_t>(s.begin(), s.end())); };
  CHECK(b("") == "");
  CHECK(b("f") == "Zg==");
  CHECK(b("fo") == "Zm8=");
  CHECK(b("foo") == "Zm9v");
  CHECK(b("foob") == "Zm9vYg==");
  CHECK(b("foobar") == "Zm9vYmFy");
}

TEST_CASE("render_html: one page with the expected plot ids, images inline, nothing from the network") {
  rp::ReportData d;
  d.title = "t <1>";
  for (int c = 0; c < 2; ++c) {
    rp::ClassReport cr;
    cr.metrics.name = c ? "screw" : "bottle";
    cr.metrics.image_auroc = 0.9;
    for (auto* curve : {&cr.image_roc, &cr.pixel_roc, &cr.image_pr, &cr.pixel_pr, &cr.pro}) {
      curve->push(0, 0, INFINITY);
      curve->push(0.3, 1, 0.5);
    }
    cr.normal_scores = {1, 2, 3};
    cr.anomalous_scores = {4, 5};
    cr.threshold = 3.5;
    cr.gallery.push_back({"false positive", "good/000.png", 3.0, {1, 2, 3}});
    d.classes.push_back(cr);
  }
  d.mean = d.classes[0].metrics;
  d.mean->name = "mean";
  d.train_log = rp::TrainLog{{1, 2, 3}, {5, 4, 3}, {2}, {0.8}, {0.9}};
  const std::string h = rp::render_html(d);
  for (const char* id : {"metrics-table", "summary-image-roc", "summary-pixel-roc", "summary-pro", "summary-pr",
                         "train-loss", "train-auroc", "c0-image-roc", "c0-pixel-roc", "c0-pro", "c0-pr", "c0-hist",
                         "c0-gallery", "c1-hist", "c1-gallery"}) {
    CAPTURE(id);
    CHECK(h.find(std::string("id=\"") + id + "\"") != std::string::npos);
  }
  CHECK(h.find("<title>t &lt;1&gt;</title>") != std::string::npos);
  CHECK(h.find("src=\"data:image/png;base64,AQID\"") != std::string::npos);
  CHECK(count(h, "<tr class=\"mean\">") == 1);
  CHECK(h.find("<script") == std::string::npos);
  CHECK(h.find("src=\"http") == std::string::npos);
  CHECK(h.find("href=\"http") == std::string::npos);
  CHECK(h.find("@import") == std::string::npos);
  d.classes.clear();
  CHECK_THROWS_WITH(rp::render_html(d), doctest::Contains("at least one class"));
}

TEST_CASE("read_train_log: epochs, losses and the optional test AUROCs; malformed lines are errors") {
  TempDir tmp;
  const auto f = tmp.path / "train_log.csv";
  std::ofstream(f) << "epoch,mean_loss,train_seconds,test_image_auroc,test_pixel_auroc\n1,9.5,16,,\n2,7.25,16,0.5,0.75\n";
  auto log = rp::read_train_log(f);
  CHECK(log.epoch == std::vector<double>{1, 2});
  CHECK(log.loss == std::vector<double>{9.5, 7.25});
  CHECK(log.eval_epoch == std::vector<double>{2});
  CHECK(log.image_auroc == std::vector<double>{0.5});
  CHECK(log.pixel_auroc == std::vector<double>{0.75});
  std::ofstream(f) << "epoch,loss\n";
  CHECK_THROWS_WITH(rp::read_train_log(f), doctest::Contains("expected the header"));
  std::ofstream(f) << "epoch,mean_loss,train_seconds,test_image_auroc,test_pixel_auroc\n1,abc,16,,\n";
  CHECK_THROWS_WITH(rp::read_train_log(f), doctest::Contains("line 2: expected a finite number for mean_loss but got 'abc'"));
}

TEST_CASE("calibration: metadata round trip, normalisation, validation errors name the key") {
  ras::pipeline::Calibration c;
  c.image_threshold = 2.5, c.image_min = 1, c.image_max = 5, c.pixel_min = 0.125, c.pixel_max = 3.75;
  c.method = "f1-max", c.source = "val/";
  auto meta = ras::pipeline::to_metadata(c);
  auto back = ras::pipeline::calibration_from_metadata(meta, "m.safetensors");
  REQUIRE(back);
  CHECK(back->image_threshold == 2.5);
  CHECK(back->pixel_max == 3.75);
  CHECK(back->method == "f1-max");
  CHECK(back->normalise(2.5) == 0.5);
  CHECK(back->normalise(3.5) == doctest::Approx(0.75));
  CHECK(back->normalise(100) == 1.0);
  CHECK(back->normalise(-100) == 0.0);
  CHECK_FALSE(ras::pipeline::calibration_from_metadata({{"format", "ras-model"}}, "m"));
  auto partial = meta;
  partial.erase("calibration.pixel_max");
  CHECK_THROWS_WITH(ras::pipeline::calibration_from_metadata(partial, "m.safetensors"),
                    doctest::Contains("m.safetensors: the calibration metadata is incomplete: 'calibration.pixel_max' is missing"));
  auto nan = meta;
  nan["calibration.image_threshold"] = "nan";
  CHECK_THROWS_WITH(ras::pipeline::calibration_from_metadata(nan, "m"),
                    doctest::Contains("'calibration.image_threshold' must be a finite number but is 'nan'"));
  auto text = meta;
  text["calibration.image_min"] = "1.0x";
  CHECK_THROWS_WITH(ras::pipeline::calibration_from_metadata(text, "m"),
                    doctest::Contains("'calibration.image_min' must be a number but is '1.0x'"));
  auto order = meta;
  order["calibration.image_min"] = "6";
  CHECK_THROWS_WITH(ras::pipeline::calibration_from_metadata(order, "m"),
                    doctest::Contains("expected calibration.image_min < calibration.image_max but got 6 and 5"));
}

TEST_CASE("write_calibration: atomic rewrite keeps every tensor byte and the other metadata") {
  TempDir tmp;
  const auto file = tmp.path / "model.safetensors";
  ras::io::SafetensorsWriter w;
  w.set_metadata("format", "ras-model");
  w.set_metadata("backbone.name", "mobilenet_v2");
  w.add("reconstruction.w", ras::Tensor<float, 2>::from({2, 3}, {1.5f, -2, 3, 4, 5, 6}));
  w.add("reconstruction.h", ras::Tensor<float, 1>::from({2}, {0.1f, 0.2f}), ras::DType::F16);
  w.add("reconstruction.u", ras::Tensor<std::uint8_t, 1>::from({3}, {7, 8, 9}));
  w.write(file);
  ras::pipeline::Calibration c;
  c.image_threshold = 1.25, c.image_min = 0.5, c.image_max = 2, c.pixel_min = 0, c.pixel_max = 1.5;
  c.method = "quantile 0.995 of 20 normal image scores";
  ras::pipeline::write_calibration(tmp.path, c);  // a run folder means RUN/model.safetensors
  ras::io::SafetensorsFile before_file(file);
  CHECK(before_file.metadata().at("format") == "ras-model");
  CHECK(before_file.metadata().at("backbone.name") == "mobilenet_v2");
  CHECK(before_file.metadata().at("calibration.method") == c.method);
  CHECK(before_file.size() == 3);
  CHECK(before_file.info("reconstruction.h").dtype == ras::DType::F16);
  auto wt = before_file.get<float, 2>("reconstruction.w");
  CHECK(wt(0, 0) == 1.5f);
  CHECK(wt(0, 1) == -2.0f);
  CHECK(before_file.get<std::uint8_t, 1>("reconstruction.u")(2) == 9);
  auto cal = ras::pipeline::read_calibration(file);
  REQUIRE(cal);
  CHECK(cal->image_threshold == 1.25);
  CHECK(cal->pixel_max == 1.5);
  for (const auto& e : fs::directory_iterator(tmp.path)) CHECK(e.path().filename() == "model.safetensors");  // no temp left
  c.pixel_min = 2;  // invalid: nothing written
  CHECK_THROWS_WITH(ras::pipeline::write_calibration(file, c), doctest::Contains("pixel_min < calibration.pixel_max"));
  CHECK(ras::pipeline::read_calibration(file)->pixel_min == 0);
}

TEST_CASE("calibrate: F1-max threshold with anomalies (score > T reproduces it), quantile without") {
  const std::vector<double> s = {0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.8, 0.4};
  const std::vector<std::uint8_t> y = {0, 0, 0, 1, 1, 1, 1, 0};
  const std::vector<float> px = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto c = ras::pipeline::calibrate(s, y, px);
  // F1-max: score >= 0.6 gives tp 3, fp 0 -> F1 6/7; >= 0.35 gives tp 4, fp 1 -> 8/9 (best). The
  // next lower score is 0.3, so T = 0.325 and score > T labels the same images.
  CHECK(c.image_threshold == doctest::Approx(0.325));
  CHECK(c.method.find("f1-max (F1 0.8889 on 4 normal + 4 anomalous images)") == 0);
  CHECK(c.image_min == 0.1);
  CHECK(c.image_max == 0.8);
  CHECK(c.pixel_min == doctest::Approx(0.009));  // numpy.quantile(arange(10), 0.001)
  CHECK(c.pixel_max == doctest::Approx(8.991));
  const std::vector<std::uint8_t> none(8, 0);
  auto q = ras::pipeline::calibrate(s, none, px, 0.5);
  CHECK(q.image_threshold == doctest::Approx(0.375));  // median of the 8 scores
  CHECK(q.method == "quantile 0.5 of 8 normal image scores");
  CHECK_THROWS_WITH(ras::pipeline::calibrate({1, 1}, {0, 0}, px), doctest::Contains("every calibration image has the same score 1"));
  CHECK_THROWS_WITH(ras::pipeline::calibrate(s, y, px, 1.0), doctest::Contains("expected a quantile 0 < q < 1 but got 1"));
  CHECK_THROWS_WITH(ras::pipeline::calibrate(s, {0, 1}, px), doctest::Contains("expected one label per score (8) but got 2"));
}
