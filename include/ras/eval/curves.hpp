// ras/eval/curves.hpp — the curves behind the metrics, as point lists for plotting: ROC (FPR, TPR)
// like sklearn.metrics.roc_curve (drop_intermediate=False, starting at (0, 0)), precision-recall
// (recall, precision) like sklearn.metrics.precision_recall_curve (read from the highest threshold
// down, starting at (0, 1)), and the PRO curve (FPR, PRO) of aupro.hpp up to an FPR limit.
// Pixel curves have one point per distinct score (millions); `thin` keeps a subset of those exact
// points so that no two consecutive kept points are further apart than `step` in x or y (the
// L-infinity distance), plus the first and the last point: every plotted vertex is a point of the
// exact curve, and a monotone curve of length <= 2 keeps at most about 2 / step points.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "ras/config.hpp"
#include "ras/eval/aupro.hpp"
#include "ras/eval/metrics.hpp"

namespace ras::eval {

// Points of a curve in sweep order (decreasing threshold); threshold[i] is the score at which
// point i is reached (predicted positive when score >= threshold); the start point has +inf.
struct Curve {
  std::vector<double> x, y, threshold;
  std::size_t size() const { return x.size(); }
  void push(double px, double py, double t) {
    x.push_back(px);
    y.push_back(py);
    threshold.push_back(t);
  }
};

// Keeps point 0, the last point, and every point whose x or y differs by >= step from the last kept
// point. The kept points are a subsequence of the input (exact points, nothing interpolated).
inline Curve thin(const Curve& c, double step) {
  RAS_CHECK(step > 0.0 && std::isfinite(step), "thin: expected a finite step > 0 but got ", step);
  RAS_CHECK(c.x.size() == c.y.size() && c.x.size() == c.threshold.size(), "thin: expected x, y, threshold of one "
            "length but got ", c.x.size(), ", ", c.y.size(), ", ", c.threshold.size());
  Curve out;
  if (c.size() == 0) return out;
  out.push(c.x[0], c.y[0], c.threshold[0]);
  for (std::size_t i = 1; i + 1 < c.size(); ++i)
    if (std::abs(c.x[i] - out.x.back()) >= step || std::abs(c.y[i] - out.y.back()) >= step)
      out.push(c.x[i], c.y[i], c.threshold[i]);
  if (c.size() > 1) out.push(c.x.back(), c.y.back(), c.threshold.back());
  return out;
}

// thin() with the smallest step of 1/max_points, 2/max_points, 4/max_points, ... that leaves at most
// max_points points (max_points >= 2). A curve already that short is returned as it is.
inline Curve thin_to(const Curve& c, std::size_t max_points) {
  RAS_CHECK(max_points >= 2, "thin_to: expected max_points >= 2 but got ", max_points);
  if (c.size() <= max_points) return c;
  for (double step = 1.0 / static_cast<double>(max_points);; step *= 2.0) {
    Curve t = thin(c, step);
    if (t.size() <= max_points) return t;
  }
}

// ROC curve: (FPR, TPR) from (0, 0) at threshold +inf through one point per distinct score.
template <class S>
inline Curve roc_curve(const RankedScores<S>& r) {
  RAS_CHECK(r.positives() > 0 && r.negatives() > 0, "roc_curve: expected both classes but got ", r.positives(),
            " positive and ", r.negatives(), " negative scores");
  const double P = static_cast<double>(r.positives()), N = static_cast<double>(r.negatives());
  Curve c;
  c.push(0.0, 0.0, std::numeric_limits<double>::infinity());
  r.sweep([&](S t, Index tp, Index fp) { c.push(static_cast<double>(fp) / N, static_cast<double>(tp) / P, t); });
  return c;
}

// Precision-recall curve: (recall, precision), starting at (0, 1) (sklearn's appended end point),
// then one point per distinct score from the highest down.
template <class S>
inline Curve pr_curve(const RankedScores<S>& r) {
  RAS_CHECK(r.positives() > 0, "pr_curve: expected at least one positive score but got 0 of ", r.negatives());
  const double P = static_cast<double>(r.positives());
  Curve c;
  c.push(0.0, 1.0, std::numeric_limits<double>::infinity());
  r.sweep([&](S t, Index tp, Index fp) {
    c.push(static_cast<double>(tp) / P, static_cast<double>(tp) / static_cast<double>(tp + fp), t);
  });
  return c;
}

// PRO curve (FPR, PRO) from (0, 0) up to FPR = fpr_limit: every sweep point with FPR <= fpr_limit,
// then the point at exactly fpr_limit linearly interpolated as aupro() does (its threshold is that of
// the first point past the limit). The trapezoid area of the full (unthinned) result divided by
// fpr_limit is aupro(fpr_limit).
template <class S>
inline Curve pro_curve(const ProRanking<S>& r, double fpr_limit = 0.3) {
  RAS_CHECK(fpr_limit > 0.0 && fpr_limit <= 1.0, "pro_curve: expected 0 < fpr_limit <= 1 but got ", fpr_limit);
  Curve c;
  c.push(0.0, 0.0, std::numeric_limits<double>::infinity());
  bool done = false;
  r.sweep([&](S t, double x, double y) {
    if (done) return;
    if (x <= fpr_limit) {
      c.push(x, y, t);
    } else {
      const double px = c.x.back(), py = c.y.back();
      c.push(fpr_limit, py + (y - py) * (fpr_limit - px) / (x - px), t);
      done = true;
    }
  });
  return c;
}

// Trapezoid area under (x, y) over the points as given.
inline double trapezoid_area(const Curve& c) {
  double a = 0.0;
  for (std::size_t i = 1; i < c.size(); ++i) a += 0.5 * (c.y[i] + c.y[i - 1]) * (c.x[i] - c.x[i - 1]);
  return a;
}

// numpy.quantile(sorted, q) with the default linear interpolation, on already ascending values.
inline double quantile_sorted(const std::vector<double>& sorted, double q) {
  RAS_CHECK(!sorted.empty(), "quantile: expected at least one value but got 0");
  RAS_CHECK(q >= 0.0 && q <= 1.0, "quantile: expected 0 <= q <= 1 but got ", q);
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

// numpy.quantile(values, q) (linear interpolation); 0 <= q <= 1, values finite and not empty.
inline double quantile(std::vector<double> values, double q) {
  for (std::size_t i = 0; i < values.size(); ++i)
    RAS_CHECK(std::isfinite(values[i]), "quantile: expected finite values but value ", i, " is ", values[i]);
  std::sort(values.begin(), values.end());
  return quantile_sorted(values, q);
}

}  // namespace ras::eval
