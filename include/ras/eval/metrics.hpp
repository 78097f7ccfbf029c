// ras/eval/metrics.hpp — threshold-free detection metrics on (score, label) pairs, exact as
// scikit-learn 1.2 computes them: roc_auc = sklearn.metrics.roc_auc_score (roc_curve + auc,
// thresholds at the distinct score values, trapezoids), average_precision =
// average_precision_score (step-wise, no interpolation), f1_max = max over the
// precision_recall_curve of 2PR/(P+R) (0 where P+R = 0), as the anomaly-detection literature reports.
// Scores are sorted once (radix sort, O(n)) split by label; every metric is then one sweep over
// the distinct thresholds, so ~30 million pixel scores cost well under a second each. A label is
// positive (anomalous) when it is non-zero, so 0/255 masks work as they are. Includes aupro.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "ras/config.hpp"
#include "ras/eval/aupro.hpp"
#include "ras/eval/radix_sort.hpp"

namespace ras::eval {

// One point of sklearn's _binary_clf_curve: predicting "positive" for score >= threshold gives
// tp true and fp false positives.
struct CurvePoint {
  double threshold;
  Index tp;
  Index fp;
};

struct F1Max {
  double f1;         // best F1 over the thresholds
  double threshold;  // the lowest threshold reaching it (np.argmax over the increasing-threshold curve)
};

// Sum with Neumaier's compensation: the result does not depend on n in the way a naive sum does.
struct CompensatedSum {
  double sum = 0.0, comp = 0.0;
  void add(double x) {
    double t = sum + x;
    comp += (std::abs(sum) >= std::abs(x)) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  double value() const { return sum + comp; }
};

// Scores split by label and sorted (S = float or double). Build once, read several metrics.
template <class S>
class RankedScores {
 public:
  using Key = sort_key_t<S>;

  // scores: (n,), labels: (n,) with non-zero = positive. Throws on a size mismatch, n = 0 or a
  // non-finite score (sklearn rejects NaN and inf as well).
  RankedScores(std::span<const S> scores, std::span<const std::uint8_t> labels) {
    static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>,
                  "RankedScores: scores must be float or double");
    RAS_CHECK(scores.size() == labels.size(), "RankedScores: expected as many labels as scores (",
              scores.size(), ") but got ", labels.size());
    RAS_CHECK(!scores.empty(), "RankedScores: expected at least one score but got 0");
    RAS_CHECK(scores.size() <= std::size_t(3'000'000'000), "RankedScores: at most 3e9 scores, got ",
              scores.size());
    std::size_t n_pos = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
      RAS_CHECK(std::isfinite(scores[i]), "RankedScores: expected finite scores but score ", i,
                " is ", scores[i]);
      n_pos += labels[i] != 0;
    }
    pos_.reserve(n_pos);
    neg_.reserve(scores.size() - n_pos);
    for (std::size_t i = 0; i < scores.size(); ++i)
      (labels[i] != 0 ? pos_ : neg_).push_back(sort_key(scores[i]));
    std::vector<Key> tmp;
    radix_sort_keys(pos_, tmp);
    radix_sort_keys(neg_, tmp);
  }

  Index positives() const { return static_cast<Index>(pos_.size()); }
  Index negatives() const { return static_cast<Index>(neg_.size()); }

  // f(threshold S, tp Index, fp Index) at every distinct score, from the highest down: the
  // points of sklearn's _binary_clf_curve (tp, fp are cumulative counts of score >= threshold).
  template <class F>
  void sweep(F&& f) const {
    std::size_t i = pos_.size(), j = neg_.size();
    Index tp = 0, fp = 0;
    while (i > 0 || j > 0) {
      Key k = (i == 0) ? neg_[j - 1] : (j == 0) ? pos_[i - 1] : std::max(pos_[i - 1], neg_[j - 1]);
      while (i > 0 && pos_[i - 1] == k) {
        --i;
        ++tp;
      }
      while (j > 0 && neg_[j - 1] == k) {
        --j;
        ++fp;
      }
      f(from_sort_key<S>(k), tp, fp);
    }
  }

  // The whole curve (one point per distinct score, decreasing thresholds).
  std::vector<CurvePoint> curve() const {
    std::vector<CurvePoint> out;
    sweep([&](S t, Index tp, Index fp) { out.push_back({static_cast<double>(t), tp, fp}); });
    return out;
  }

  // Area under the ROC curve, exact: twice the trapezoid area is an integer sum, divided once.
  double roc_auc() const {
    RAS_CHECK(positives() > 0 && negatives() > 0,
              "roc_auc: expected both classes in the labels but got ", positives(), " positive and ",
              negatives(), " negative; AUROC is undefined");
    std::int64_t twice_area = 0;
    Index prev_tp = 0, prev_fp = 0;
    sweep([&](S, Index tp, Index fp) {
      twice_area += (fp - prev_fp) * (tp + prev_tp);
      prev_tp = tp;
      prev_fp = fp;
    });
    return static_cast<double>(twice_area) /
           (2.0 * static_cast<double>(positives()) * static_cast<double>(negatives()));
  }

  // sum over thresholds of (R_k - R_{k-1}) P_k.
  double average_precision() const {
    RAS_CHECK(positives() > 0, "average_precision: expected at least one positive label but got 0 of ",
              negatives() + positives());
    CompensatedSum acc;
    Index prev_tp = 0;
    sweep([&](S, Index tp, Index fp) {
      if (tp != prev_tp)
        acc.add(static_cast<double>(tp - prev_tp) * static_cast<double>(tp) / static_cast<double>(tp + fp));
      prev_tp = tp;
    });
    return acc.value() / static_cast<double>(positives());
  }

  // max of F1 = 2PR/(P+R) = 2tp / (tp + fp + #positives) over the thresholds.
  F1Max f1_max() const {
    RAS_CHECK(positives() > 0, "f1_max: expected at least one positive label but got 0 of ",
              negatives() + positives());
    F1Max best{0.0, 0.0};
    bool found = false;
    const double npos = static_cast<double>(positives());
    sweep([&](S t, Index tp, Index fp) {
      double f1 = 2.0 * static_cast<double>(tp) / (static_cast<double>(tp + fp) + npos);
      if (!found || f1 >= best.f1) best = {f1, static_cast<double>(t)};
      found = true;
    });
    return best;
  }

 private:
  std::vector<Key> pos_, neg_;  // ascending keys of the positive / negative scores
};

// All three from one sort.
struct ClassificationMetrics {
  double roc_auc;
  double average_precision;
  double f1_max;
};

template <class S>
inline ClassificationMetrics classification_metrics(const RankedScores<S>& r) {
  return {r.roc_auc(), r.average_precision(), r.f1_max().f1};
}
// scores: (n,), labels: (n,).
inline ClassificationMetrics classification_metrics(std::span<const float> scores,
                                                    std::span<const std::uint8_t> labels) {
  return classification_metrics(RankedScores<float>(scores, labels));
}
inline ClassificationMetrics classification_metrics(std::span<const double> scores,
                                                    std::span<const std::uint8_t> labels) {
  return classification_metrics(RankedScores<double>(scores, labels));
}

// scores: (n,), labels: (n,), non-zero = positive. Throws ras::Error with only one class present.
inline double roc_auc(std::span<const float> scores, std::span<const std::uint8_t> labels) {
  return RankedScores<float>(scores, labels).roc_auc();
}
inline double roc_auc(std::span<const double> scores, std::span<const std::uint8_t> labels) {
  return RankedScores<double>(scores, labels).roc_auc();
}

// The RAS/UniAD reference's convention (utils/eval_helper.py): AUROC below 0.5 is reported as
// 1 - AUROC, i.e. max(auc, 1 - auc). Not the default: it hides a score with the wrong sign.
inline double flip_below_half(double auc) { return auc < 0.5 ? 1.0 - auc : auc; }
inline double roc_auc_flipped(std::span<const float> scores, std::span<const std::uint8_t> labels) {
  return flip_below_half(roc_auc(scores, labels));
}
inline double roc_auc_flipped(std::span<const double> scores, std::span<const std::uint8_t> labels) {
  return flip_below_half(roc_auc(scores, labels));
}

// sklearn.metrics.average_precision_score. Throws with no positive label.
inline double average_precision(std::span<const float> scores, std::span<const std::uint8_t> labels) {
  return RankedScores<float>(scores, labels).average_precision();
}
inline double average_precision(std::span<const double> scores, std::span<const std::uint8_t> labels) {
  return RankedScores<double>(scores, labels).average_precision();
}

// Best F1 over all thresholds of precision_recall_curve. Throws with no positive label.
inline double f1_max(std::span<const float> scores, std::span<const std::uint8_t> labels) {
  return RankedScores<float>(scores, labels).f1_max().f1;
}
inline double f1_max(std::span<const double> scores, std::span<const std::uint8_t> labels) {
  return RankedScores<double>(scores, labels).f1_max().f1;
}

}  // namespace ras::eval
