// examples/ras/html_report.hpp — the `--report FILE` of `ras eval` and the RUN/report.html of `ras
// train`: collects each class's curves and overlays while evaluate_and_report runs (its ClassHook),
// then writes one self-contained HTML page (ras/report/html.hpp) with the training log when one is
// found next to the model.
#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report.hpp"
#include "ras/report/collect.hpp"

namespace ras_cli {

class HtmlReport {
 public:
  explicit HtmlReport(ras::report::CollectOptions opt) : opt_(std::move(opt)) {}

  ClassHook hook() {
    return [this](const ras::data::ClassDataset& ds, const ras::pipeline::ClassScores& cs,
                  const ras::pipeline::ClassMetrics& m) {
      classes_.push_back(ras::report::collect_class(ds, cs, m, opt_));
      metrics_.push_back(m);
    };
  }

  // train_log: a train_log.csv to plot (skipped when empty or missing).
  void write(const std::filesystem::path& file, const std::string& title, const std::map<std::string, std::string>& info,
             const std::filesystem::path& train_log) {
    ras::report::ReportData d;
    d.title = title;
    for (const auto& [k, v] : info) d.info.push_back({k, v});
    d.classes = std::move(classes_);
    if (metrics_.size() > 1) d.mean = ras::report::metric_row(ras::pipeline::mean_metrics(metrics_));
    if (!train_log.empty() && std::filesystem::exists(train_log)) {
      d.train_log = ras::report::read_train_log(train_log);
      d.info.push_back({"training log", train_log.string()});
    }
    const std::string html = ras::report::render_html(d);
    write_text(file, html);
    std::printf("report: %s (%.1f MB)\n", file.string().c_str(), static_cast<double>(html.size()) / 1e6);
    std::fflush(stdout);
    classes_.clear();
    metrics_.clear();
  }

 private:
  ras::report::CollectOptions opt_;
  std::vector<ras::report::ClassReport> classes_;
  std::vector<ras::pipeline::ClassMetrics> metrics_;
};

// RUN/train_log.csv for a run folder or a model file inside one; empty when there is none.
inline std::filesystem::path train_log_next_to(const std::filesystem::path& model) {
  const auto dir = std::filesystem::is_directory(model) ? model : model.parent_path();
  auto log = (dir.empty() ? std::filesystem::path(".") : dir) / "train_log.csv";
  return std::filesystem::exists(log) ? log : std::filesystem::path();
}

}  // namespace ras_cli
