// ras/report/html.hpp — the evaluation report as ONE self-contained HTML page: inline CSS, inline SVG
// plots (ras/report/svg.hpp), images as base64 data: URIs, no script and no network access, so the
// file opens from a USB stick in any browser. It mirrors what anomalib's visualiser and metrics
// callbacks give its users, on one page: the metric table; per class and overlaid for all classes:
// ROC (image and pixel), PRO up to FPR 0.3 with its area, precision-recall; the image-score
// histogram (normal vs anomalous) with the threshold; the training loss (and test AUROCs per epoch
// from --eval-every); a gallery of heatmap overlays, worst false positives and negatives first.
// Plain data in (ReportData), a string out; ras/report/collect.hpp fills ReportData from scores.
// Element ids (tests look for them): metrics-table, summary-image-roc, summary-pixel-roc,
// summary-pro, summary-pr, train-loss, train-auroc, and per class c<i>-image-roc, c<i>-pixel-roc,
// c<i>-pro, c<i>-pr, c<i>-hist, c<i>-gallery (i = 0, 1, ... in class order).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ras/config.hpp"
#include "ras/eval/curves.hpp"
#include "ras/report/svg.hpp"

namespace ras::report {

// RFC 4648 base64 with padding.
inline std::string base64(const std::vector<std::uint8_t>& bytes) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t(bytes[i]) << 16) | (std::uint32_t(bytes[i + 1]) << 8) | bytes[i + 2];
    out += tbl[(v >> 18) & 63], out += tbl[(v >> 12) & 63], out += tbl[(v >> 6) & 63], out += tbl[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const std::uint32_t v = std::uint32_t(bytes[i]) << 16;
    out += tbl[(v >> 18) & 63], out += tbl[(v >> 12) & 63], out += "==";
  } else if (i + 2 == bytes.size()) {
    const std::uint32_t v = (std::uint32_t(bytes[i]) << 16) | (std::uint32_t(bytes[i + 1]) << 8);
    out += tbl[(v >> 18) & 63], out += tbl[(v >> 12) & 63], out += tbl[(v >> 6) & 63], out += '=';
  }
  return out;
}

// One row of the metric table (the numbers of pipeline::ClassMetrics).
struct MetricRow {
  std::string name;
  long long normal = 0, anomalous = 0;
  double image_auroc = 0, pixel_auroc = 0, aupro = 0, image_ap = 0, pixel_ap = 0, image_f1 = 0, pixel_f1 = 0;
};

struct GalleryItem {
  std::string kind;                 // "false positive", "false negative", "normal", "anomalous"
  std::string name;                 // defect type / file name
  double score = 0;
  std::vector<std::uint8_t> png;    // the overlay as PNG bytes
};

struct ClassReport {
  MetricRow metrics;
  eval::Curve image_roc, pixel_roc, image_pr, pixel_pr, pro;  // points to draw (thinned, exact)
  std::size_t pixel_curve_points = 0;                         // distinct pixel scores before thinning
  std::vector<double> normal_scores, anomalous_scores;        // image scores of the test images
  double threshold = 0;                                       // image threshold drawn and used for FP/FN
  std::string threshold_source;                               // e.g. "calibrated (F1-max on val/)"
  std::vector<GalleryItem> gallery;
  double map_min = 0, map_max = 1;                            // the overlays' colour scale
  std::string map_scale_source;
};

// train_log.csv of `ras train`: epoch,mean_loss,train_seconds,test_image_auroc,test_pixel_auroc.
struct TrainLog {
  std::vector<double> epoch, loss;
  std::vector<double> eval_epoch, image_auroc, pixel_auroc;  // rows with test AUROCs (--eval-every)
};

inline TrainLog read_train_log(const std::filesystem::path& path) {
  std::ifstream in(path);
  RAS_CHECK(in.good(), "train log '", path.string(), "': cannot open the file");
  std::string line;
  std::getline(in, line);
  const std::string expected = "epoch,mean_loss,train_seconds,test_image_auroc,test_pixel_auroc";
  RAS_CHECK(line == expected, "train log '", path.string(), "': expected the header '", expected, "' but got '", line,
            "'");
  TrainLog log;
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    if (!line.empty() && line.back() == ',') f.push_back("");
    RAS_CHECK(f.size() == 5, "train log '", path.string(), "' line ", row, ": expected 5 fields but got ", f.size());
    auto number = [&](const std::string& s, const char* what) {
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(s, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      RAS_CHECK(used == s.size() && used > 0 && std::isfinite(v), "train log '", path.string(), "' line ", row,
                ": expected a finite number for ", what, " but got '", s, "'");
      return v;
    };
    log.epoch.push_back(number(f[0], "epoch"));
    log.loss.push_back(number(f[1], "mean_loss"));
    if (!f[3].empty() && !f[4].empty()) {
      log.eval_epoch.push_back(log.epoch.back());
      log.image_auroc.push_back(number(f[3], "test_image_auroc"));
      log.pixel_auroc.push_back(number(f[4], "test_pixel_auroc"));
    }
  }
  return log;
}

struct ReportData {
  std::string title;
  std::vector<std::pair<std::string, std::string>> info;  // shown as a list under the title
  std::vector<ClassReport> classes;
  std::optional<MetricRow> mean;                          // the mean row (more than one class)
  std::optional<TrainLog> train_log;
};

namespace detail {
inline const std::array<const char*, 8> palette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                   "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
inline std::string fmt(double v, const char* f = "%.4f") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
inline Line curve_line(const eval::Curve& c, std::string label, std::string color) {
  Line l;
  l.label = std::move(label);
  l.x = c.x;
  l.y = c.y;
  l.color = std::move(color);
  return l;
}
// 30 equal bins over the range of both score sets.
inline std::string histogram_svg(const std::string& id, const ClassReport& c) {
  std::vector<double> all = c.normal_scores;
  all.insert(all.end(), c.anomalous_scores.begin(), c.anomalous_scores.end());
  double lo = *std::min_element(all.begin(), all.end()), hi = *std::max_element(all.begin(), all.end());
  lo = std::min(lo, c.threshold), hi = std::max(hi, c.threshold);
  if (!(hi > lo)) hi = lo + 1.0;
  const int bins = 30;
  std::vector<double> edges(bins + 1);
  for (int i = 0; i <= bins; ++i) edges[i] = lo + (hi - lo) * i / bins;
  auto counts = [&](const std::vector<double>& v) {
    std::vector<double> n(bins, 0.0);
    for (double s : v) n[std::min(bins - 1, static_cast<int>((s - lo) / (hi - lo) * bins))] += 1;
    return n;
  };
  Plot p({id, "Image scores: " + c.metrics.name, "image score", "test images"});
  p.bars({"normal (" + std::to_string(c.normal_scores.size()) + ")", edges, counts(c.normal_scores), "#2ca02c"});
  p.bars({"anomalous (" + std::to_string(c.anomalous_scores.size()) + ")", edges, counts(c.anomalous_scores),
          "#d62728"});
  p.marker({c.threshold, "threshold " + format_number(c.threshold, 4), "#000000"});
  return p.svg();
}
}  // namespace detail

inline std::string render_html(const ReportData& r) {
  using detail::fmt;
  RAS_CHECK(!r.classes.empty(), "render_html: expected at least one class but got 0");
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + xml_escape(r.title) +
       "</title>\n<style>\n"
       "body{font-family:sans-serif;margin:20px;color:#222;max-width:1600px}\n"
       "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:28px}\n"
       "table.metrics{border-collapse:collapse;font-size:13px}\n"
       "table.metrics td,table.metrics th{border:1px solid #ccc;padding:3px 8px;text-align:right}\n"
       "table.metrics td:first-child,table.metrics th:first-child{text-align:left}\n"
       "tr.mean{font-weight:bold;background:#f3f3f3}\n"
       ".plots{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}\n"
       ".gallery{display:flex;flex-wrap:wrap;gap:10px}\n"
       "figure{margin:0;font-size:12px;width:224px}figure img{width:224px;height:224px;display:block}\n"
       "figcaption .fp,figcaption .fn{color:#b00;font-weight:bold}\n"
       ".note{font-size:12px;color:#555}\n"
       "</style>\n</head>\n<body>\n";
  h += "<h1>" + xml_escape(r.title) + "</h1>\n<ul class=\"note\">\n";
  for (const auto& [k, v] : r.info) h += "<li><b>" + xml_escape(k) + "</b>: " + xml_escape(v) + "</li>\n";
  h += "</ul>\n";

  // metric table
  h += "<h2>Metrics</h2>\n<table class=\"metrics\" id=\"metrics-table\">\n<tr><th>class</th><th>normal</th>"
       "<th>anomalous</th><th>image AUROC</th><th>pixel AUROC</th><th>AUPRO (FPR&le;0.3)</th><th>image AP</th>"
       "<th>pixel AP</th><th>image F1-max</th><th>pixel F1-max</th></tr>\n";
  auto row = [&](const MetricRow& m, bool mean) {
    h += std::string(mean ? "<tr class=\"mean\">" : "<tr>") + "<td>" + xml_escape(m.name) + "</td><td>" +
         std::to_string(m.normal) + "</td><td>" + std::to_string(m.anomalous) + "</td><td>" + fmt(m.image_auroc) +
         "</td><td>" + fmt(m.pixel_auroc) + "</td><td>" + fmt(m.aupro) + "</td><td>" + fmt(m.image_ap) + "</td><td>" +
         fmt(m.pixel_ap) + "</td><td>" + fmt(m.image_f1) + "</td><td>" + fmt(m.pixel_f1) + "</td></tr>\n";
  };
  for (const auto& c : r.classes) row(c.metrics, false);
  if (r.mean) row(*r.mean, true);
  h += "</table>\n<p class=\"note\">Image AUROC/AP/F1 use the image score (max of the 16x16 box-filtered map); "
       "pixel metrics use every 224x224 pixel. Curves below are exact curve points (pixel curves thinned to at most "
       "a few hundred vertices, no interpolation except the PRO end point at FPR 0.3, as in the AUPRO).</p>\n";

  // all classes overlaid
  auto summary = [&](const std::string& id, const std::string& title, const char* xl, const char* yl,
                     auto curve_of, auto value_of, double x_max, bool diag) {
    PlotOptions o{id, title, xl, yl};
    o.x_min = 0, o.x_max = x_max, o.y_min = 0, o.y_max = 1.0;
    o.diagonal = diag;
    Plot p(o);
    for (std::size_t i = 0; i < r.classes.size(); ++i)
      p.line(detail::curve_line(curve_of(r.classes[i]), r.classes[i].metrics.name + " " + fmt(value_of(r.classes[i].metrics), "%.3f"),
                                detail::palette[i % detail::palette.size()]));
    return p.svg();
  };
  h += "<h2>All classes</h2>\n<div class=\"plots\">\n";
  h += summary("summary-image-roc", "Image ROC" + (r.mean ? " (mean AUROC " + fmt(r.mean->image_auroc, "%.3f") + ")" : ""),
               "false positive rate", "true positive rate", [](const ClassReport& c) -> const eval::Curve& { return c.image_roc; },
               [](const MetricRow& m) { return m.image_auroc; }, 1.0, true);
  h += summary("summary-pixel-roc", "Pixel ROC" + (r.mean ? " (mean AUROC " + fmt(r.mean->pixel_auroc, "%.3f") + ")" : ""),
               "false positive rate", "true positive rate", [](const ClassReport& c) -> const eval::Curve& { return c.pixel_roc; },
               [](const MetricRow& m) { return m.pixel_auroc; }, 1.0, true);
  h += summary("summary-pro", "PRO, FPR<=0.3" + (r.mean ? " (mean AUPRO " + fmt(r.mean->aupro, "%.3f") + ")" : ""),
               "false positive rate", "per-region overlap", [](const ClassReport& c) -> const eval::Curve& { return c.pro; },
               [](const MetricRow& m) { return m.aupro; }, 0.3, false);
  h += summary("summary-pr", "Pixel precision-recall" + (r.mean ? " (mean AP " + fmt(r.mean->pixel_ap, "%.3f") + ")" : ""),
               "recall", "precision", [](const ClassReport& c) -> const eval::Curve& { return c.pixel_pr; },
               [](const MetricRow& m) { return m.pixel_ap; }, 1.0, false);
  h += "</div>\n";

  // training
  if (r.train_log && !r.train_log->epoch.empty()) {
    const auto& log = *r.train_log;
    h += "<h2>Training</h2>\n<div class=\"plots\">\n";
    PlotOptions o{"train-loss", "Training loss", "epoch", "mean loss"};
    o.y_min = 0;
    Plot p(o);
    p.line({"mean loss per epoch", log.epoch, log.loss, "#1f77b4", 1.8, "", log.epoch.size() <= 60});
    h += p.svg();
    if (!log.eval_epoch.empty()) {
      PlotOptions a{"train-auroc", "Test AUROC per epoch (monitoring)", "epoch", "AUROC"};
      a.y_min = 0.0, a.y_max = 1.0;
      if (log.epoch.back() > log.epoch.front()) a.x_min = log.epoch.front(), a.x_max = log.epoch.back();  // whole run
      Plot q(a);
      q.line({"image AUROC", log.eval_epoch, log.image_auroc, "#d62728", 1.8, "", true});
      q.line({"pixel AUROC", log.eval_epoch, log.pixel_auroc, "#9467bd", 1.8, "", true});
      h += q.svg();
    }
    h += "</div>\n";
  }

  // per class
  for (std::size_t i = 0; i < r.classes.size(); ++i) {
    const auto& c = r.classes[i];
    const std::string id = "c" + std::to_string(i);
    h += "<h2 id=\"" + id + "\">Class " + xml_escape(c.metrics.name) + "</h2>\n<div class=\"plots\">\n";
    auto roc = [&](const std::string& pid, const std::string& title, const eval::Curve& a, const eval::Curve* b) {
      PlotOptions o{pid, title, "false positive rate", "true positive rate"};
      o.x_min = 0, o.x_max = 1, o.y_min = 0, o.y_max = 1, o.diagonal = true;
      Plot p(o);
      p.line(detail::curve_line(a, "", detail::palette[0]));
      if (b) p.line(detail::curve_line(*b, "", detail::palette[1]));
      return p.svg();
    };
    h += roc(id + "-image-roc", "Image ROC, AUROC " + fmt(c.metrics.image_auroc, "%.4f"), c.image_roc, nullptr);
    h += roc(id + "-pixel-roc", "Pixel ROC, AUROC " + fmt(c.metrics.pixel_auroc, "%.4f"), c.pixel_roc, nullptr);
    {
      PlotOptions o{id + "-pro", "PRO to FPR 0.3, AUPRO " + fmt(c.metrics.aupro, "%.4f"), "false positive rate",
                    "per-region overlap"};
      o.x_min = 0, o.x_max = 0.3, o.y_min = 0, o.y_max = 1;
      h += Plot(o).line(detail::curve_line(c.pro, "", detail::palette[2])).svg();
    }
    {
      PlotOptions o{id + "-pr", "Precision-recall", "recall", "precision"};
      o.x_min = 0, o.x_max = 1, o.y_min = 0, o.y_max = 1;
      Plot p(o);
      p.line(detail::curve_line(c.image_pr, "image, AP " + fmt(c.metrics.image_ap, "%.3f"), detail::palette[0]));
      p.line(detail::curve_line(c.pixel_pr, "pixel, AP " + fmt(c.metrics.pixel_ap, "%.3f"), detail::palette[1]));
      h += p.svg();
    }
    h += detail::histogram_svg(id + "-hist", c);
    h += "</div>\n<p class=\"note\">Threshold " + format_number(c.threshold, 6) + ": " + xml_escape(c.threshold_source) +
         ". Pixel curves drawn from " + std::to_string(c.pixel_roc.size()) + " of " +
         std::to_string(c.pixel_curve_points) + " exact points.</p>\n";
    h += "<h3>Heatmaps (worst false positives and false negatives first)</h3>\n<p class=\"note\">Viridis over " +
         format_number(c.map_min, 4) + " .. " + format_number(c.map_max, 4) + " (" + xml_escape(c.map_scale_source) +
         "), alpha 0.5 over the image; red: ground-truth contour.</p>\n";
    h += "<div class=\"gallery\" id=\"" + id + "-gallery\">\n";
    for (const auto& g : c.gallery) {
      const char* cls = g.kind == "false positive" ? "fp" : g.kind == "false negative" ? "fn" : "ok";
      h += "<figure><img alt=\"" + xml_escape(g.kind + " " + g.name) + "\" src=\"data:image/png;base64," +
           base64(g.png) + "\"><figcaption><span class=\"" + cls + "\">" + xml_escape(g.kind) + "</span>, score " +
           format_number(g.score, 5) + "<br>" + xml_escape(g.name) + "</figcaption></figure>\n";
    }
    h += "</div>\n";
  }
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace ras::report
