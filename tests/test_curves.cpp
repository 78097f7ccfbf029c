// Tests for ras/eval/curves.hpp: ROC and precision-recall points against scikit-learn's roc_curve /
// precision_recall_curve on small cases worked out by hand, the PRO curve up to an FPR limit
// against aupro(), thinning (kept points are exact curve points, gaps bounded, count capped) and
// numpy-style quantiles.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "ras/eval/curves.hpp"
#include "ras/random.hpp"

namespace ev = ras::eval;

namespace {
ev::RankedScores<double> ranked(const std::vector<double>& s, const std::vector<std::uint8_t>& y) {
  return ev::RankedScores<double>(std::span<const double>(s), std::span<const std::uint8_t>(y));
}
void check_points(const ev::Curve& c, const std::vector<double>& x, const std::vector<double>& y,
                  const std::vector<double>& t) {
  REQUIRE(c.size() == x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    CAPTURE(i);
    CHECK(c.x[i] == doctest::Approx(x[i]).epsilon(1e-12));
    CHECK(c.y[i] == doctest::Approx(y[i]).epsilon(1e-12));
    if (std::isinf(t[i])) CHECK(std::isinf(c.threshold[i]));
    else CHECK(c.threshold[i] == t[i]);
  }
}
const double inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("roc_curve: sklearn's example y=[0,0,1,1], s=[0.1,0.4,0.35,0.8]") {
  // sklearn.metrics.roc_curve(y, s, drop_intermediate=False): fpr [0,0,.5,.5,1], tpr [0,.5,.5,1,1]
  auto r = ranked({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  auto c = ev::roc_curve(r);
  check_points(c, {0, 0, 0.5, 0.5, 1}, {0, 0.5, 0.5, 1, 1}, {inf, 0.8, 0.4, 0.35, 0.1});
  CHECK(ev::trapezoid_area(c) == doctest::Approx(r.roc_auc()));
  CHECK(ev::trapezoid_area(c) == doctest::Approx(0.75));
}

TEST_CASE("roc_curve: tied scores give one point") {
  auto c = ev::roc_curve(ranked({0.5, 0.5, 0.2, 0.9}, {0, 1, 0, 1}));
  check_points(c, {0, 0, 0.5, 1}, {0, 0.5, 1, 1}, {inf, 0.9, 0.5, 0.2});
}

TEST_CASE("pr_curve: sklearn's example, read from the highest threshold") {
  // precision_recall_curve: precision [.5, .667, .5, 1, 1], recall [1, 1, .5, .5, 0], thresholds [.1,.35,.4,.8]
  auto r = ranked({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  auto c = ev::pr_curve(r);
  check_points(c, {0, 0.5, 0.5, 1, 1}, {1, 1, 0.5, 2.0 / 3.0, 0.5}, {inf, 0.8, 0.4, 0.35, 0.1});
  // average precision = sum (R_k - R_{k-1}) P_k over the curve
  double ap = 0;
  for (std::size_t i = 1; i < c.size(); ++i) ap += (c.x[i] - c.x[i - 1]) * c.y[i];
  CHECK(ap == doctest::Approx(r.average_precision()));
  CHECK(ap == doctest::Approx(0.8333333333));
}

TEST_CASE("roc_curve / pr_curve: one class only is an error naming the counts") {
  CHECK_THROWS_WITH(ev::roc_curve(ranked({0.1, 0.2}, {1, 1})),
                    doctest::Contains("expected both classes but got 2 positive and 0 negative"));
  CHECK_THROWS_WITH(ev::pr_curve(ranked({0.1, 0.2}, {0, 0})), doctest::Contains("at least one positive"));
}

TEST_CASE("pro_curve: two one-pixel regions, cut at FPR 0.3 with the interpolated end point") {
  // scores [[.9 .1 .2] [.7 .8 .3]], regions at (0,0) (score .9) and (0,2) (score .2), 4 normal pixels.
  auto maps = ras::Tensor<float, 3>::from({1, 2, 3}, {0.9f, 0.1f, 0.2f, 0.7f, 0.8f, 0.3f});
  auto masks = ras::Tensor<std::uint8_t, 3>::from({1, 2, 3}, {1, 0, 1, 0, 0, 0});
  ev::ProRanking<float> pr(maps.view(), masks.view());
  auto c = ev::pro_curve(pr, 0.3);
  check_points(c, {0, 0, 0.25, 0.3}, {0, 0.5, 0.5, 0.5},
               {inf, double(0.9f), double(0.8f), double(0.7f)});
  CHECK(ev::trapezoid_area(c) / 0.3 == doctest::Approx(pr.aupro(0.3)));
  CHECK(pr.aupro(0.3) == doctest::Approx(0.5));
  // limit 1: the whole curve, no interpolation needed
  auto full = ev::pro_curve(pr, 1.0);
  CHECK(full.x.back() == 1.0);
  CHECK(full.y.back() == 1.0);
  CHECK(ev::trapezoid_area(full) == doctest::Approx(pr.aupro(1.0)));
  CHECK_THROWS_WITH(ev::pro_curve(pr, 0.0), doctest::Contains("expected 0 < fpr_limit <= 1 but got 0"));
}

TEST_CASE("thin_to: a million-point pixel ROC keeps <= 300 exact points, gaps bounded, area kept") {
  ras::Rng rng(7);
  const std::size_t n = 1'000'000;
  std::vector<float> s(n);
  std::vector<std::uint8_t> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = rng.uniform() < 0.1;
    s[i] = static_cast<float>(rng.normal() + (y[i] ? 1.5 : 0.0));
  }
  ev::RankedScores<float> r{std::span<const float>(s), std::span<const std::uint8_t>(y)};
  auto full = ev::roc_curve(r);
  REQUIRE(full.size() > 100'000);
  CHECK(ev::trapezoid_area(full) == doctest::Approx(r.roc_auc()).epsilon(1e-9));
  auto t = ev::thin_to(full, 300);
  CHECK(t.size() <= 300);
  CHECK(t.size() >= 100);  // a monotone curve needs about 2/step points; not collapsed to a few
  CHECK(t.x.front() == 0.0);
  CHECK(t.y.front() == 0.0);
  CHECK(t.x.back() == 1.0);
  CHECK(t.y.back() == 1.0);
  // every kept point is the exact curve point of its threshold
  std::map<double, std::size_t> at;
  for (std::size_t i = 1; i < full.size(); ++i) at[full.threshold[i]] = i;
  for (std::size_t k = 1; k < t.size(); ++k) {
    auto it = at.find(t.threshold[k]);
    REQUIRE(it != at.end());
    CHECK(full.x[it->second] == t.x[k]);
    CHECK(full.y[it->second] == t.y[k]);
  }
  // the drawn polyline's area is within a few steps of the exact AUROC
  CHECK(std::abs(ev::trapezoid_area(t) - r.roc_auc()) < 0.01);
}

TEST_CASE("thin: skipped points stay within step of the last kept point") {
  ev::Curve c;
  for (int i = 0; i <= 1000; ++i) c.push(i / 1000.0, std::sqrt(i / 1000.0), 1000 - i);
  const double step = 0.05;
  auto t = ev::thin(c, step);
  std::size_t k = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (k + 1 < t.size() && c.threshold[i] == t.threshold[k + 1]) {
      ++k;
      continue;
    }
    CHECK(std::abs(c.x[i] - t.x[k]) < step + 1e-12);
    CHECK(std::abs(c.y[i] - t.y[k]) < step + 1e-12);
  }
  CHECK(k + 1 == t.size());
  CHECK(t.size() < 45);  // x + y grow by 2 in total: about 2 / step points
  CHECK_THROWS_WITH(ev::thin(c, 0.0), doctest::Contains("expected a finite step > 0 but got 0"));
  CHECK_THROWS_WITH(ev::thin_to(c, 1), doctest::Contains("expected max_points >= 2 but got 1"));
  CHECK(ev::thin_to(c, 5000).size() == c.size());  // short enough: unchanged
}

TEST_CASE("quantile: numpy's linear interpolation") {
  CHECK(ev::quantile({4, 1, 3, 2}, 0.5) == doctest::Approx(2.5));
  CHECK(ev::quantile({4, 1, 3, 2}, 0.0) == 1);
  CHECK(ev::quantile({4, 1, 3, 2}, 1.0) == 4);
  std::vector<double> v(200);
  for (int i = 0; i < 200; ++i) v[i] = 199 - i;
  CHECK(ev::quantile(v, 0.995) == doctest::Approx(198.005));  // numpy.quantile(arange(200), .995)
  CHECK_THROWS_WITH(ev::quantile({}, 0.5), doctest::Contains("at least one value"));
  CHECK_THROWS_WITH(ev::quantile({1.0}, 1.5), doctest::Contains("expected 0 <= q <= 1 but got 1.5"));
  CHECK_THROWS_WITH(ev::quantile({1.0, NAN}, 0.5), doctest::Contains("value 1 is nan"));
}
