// ras/report/svg.hpp — a small SVG plot writer with one job: the line plots and histograms of the
// HTML report (ras/report/html.hpp) as inline <svg> text. Linear axes with "nice" ticks (1, 2, 5 x
// 10^k, like matplotlib's MaxNLocator), polylines with optional dots, histograms as rectangles,
// vertical marker lines, a legend below the plot; no JavaScript, no fonts beyond the browser's
// sans-serif. It mirrors what the report needs from matplotlib's plot/hist/axvline and nothing more:
// Debian's C++ plotting libraries (gnuplot-iostream, matplot++) drive gnuplot as a separate program,
// while inline SVG needs nothing at run time. Every value is checked (finite), every text is
// XML-escaped.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "ras/config.hpp"

namespace ras::report {

// Text for XML content and attribute values.
inline std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A number with at most `digits` significant digits, without trailing zeros ("0.25", "1e-05").
inline std::string format_number(double v, int digits = 4) {
  RAS_CHECK(std::isfinite(v), "format_number: expected a finite value but got ", v);
  if (v == 0.0) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Ticks inside [lo, hi] at the smallest step of 1, 2 or 5 x 10^k that gives at most target + 1 of them.
inline std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  RAS_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi, "nice_ticks: expected finite lo < hi but got lo = ",
            lo, ", hi = ", hi);
  RAS_CHECK(target >= 1, "nice_ticks: expected target >= 1 but got ", target);
  const double mag = std::pow(10.0, std::floor(std::log10((hi - lo) / target)));
  const double eps = 1e-9;
  double step = 10.0 * mag;
  for (double m : {1.0, 2.0, 5.0}) {
    const double n = std::floor(hi / (m * mag) + eps) - std::ceil(lo / (m * mag) - eps) + 1;
    if (n <= target + 1) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> t;
  for (double k = std::ceil(lo / step - eps); k * step <= hi + eps * step; k += 1.0) t.push_back(k == 0.0 ? 0.0 : k * step);
  return t;
}

struct Line {
  std::string label;              // legend entry (empty: none)
  std::vector<double> x, y;       // data coordinates, same length
  std::string color = "#1f77b4";
  double width = 1.8;
  std::string dash;               // SVG stroke-dasharray, e.g. "4 3"
  bool dots = false;              // also a dot at every point (short series: one point is still seen)
};

struct Bars {                     // a histogram: counts[i] over [edges[i], edges[i+1])
  std::string label;
  std::vector<double> edges, counts;
  std::string color = "#1f77b4";
  double opacity = 0.55;
};

struct Marker {                   // a vertical line at x (e.g. a threshold)
  double x;
  std::string label;
  std::string color = "#d62728";
};

struct PlotOptions {
  std::string id;                 // the <svg> element's id (tests and links find plots by it)
  std::string title, xlabel, ylabel;
  int width = 320, height = 280;
  // Axis ranges; NaN = from the data.
  double x_min = NAN, x_max = NAN, y_min = NAN, y_max = NAN;
  bool diagonal = false;          // dotted y = x (chance line of a ROC plot)
};

class Plot {
 public:
  explicit Plot(PlotOptions opt) : opt_(std::move(opt)) {
    RAS_CHECK(opt_.width >= 100 && opt_.height >= 80, "Plot: expected at least 100x80 pixels but got ", opt_.width,
              "x", opt_.height);
  }

  Plot& line(Line l) {
    RAS_CHECK(l.x.size() == l.y.size(), "Plot '", opt_.id, "': line '", l.label, "' has ", l.x.size(), " x but ",
              l.y.size(), " y values");
    check_finite(l.x, "x of line '" + l.label + "'");
    check_finite(l.y, "y of line '" + l.label + "'");
    lines_.push_back(std::move(l));
    return *this;
  }
  Plot& bars(Bars b) {
    RAS_CHECK(b.edges.size() == b.counts.size() + 1, "Plot '", opt_.id, "': bars '", b.label, "' need ",
              b.counts.size() + 1, " edges for ", b.counts.size(), " counts but got ", b.edges.size());
    check_finite(b.edges, "edges of bars '" + b.label + "'");
    check_finite(b.counts, "counts of bars '" + b.label + "'");
    for (std::size_t i = 1; i < b.edges.size(); ++i)
      RAS_CHECK(b.edges[i] > b.edges[i - 1], "Plot '", opt_.id, "': bar edges must increase but edge ", i, " is ",
                b.edges[i], " after ", b.edges[i - 1]);
    bars_.push_back(std::move(b));
    return *this;
  }
  Plot& marker(Marker m) {
    RAS_CHECK(std::isfinite(m.x), "Plot '", opt_.id, "': marker '", m.label, "' at non-finite x = ", m.x);
    markers_.push_back(std::move(m));
    return *this;
  }

  // Plot area in pixels.
  static constexpr double left = 52, right = 12, top = 26, bottom = 40;

  std::string svg() const {
    double x0 = opt_.x_min, x1 = opt_.x_max, y0 = opt_.y_min, y1 = opt_.y_max;
    data_range(x0, x1, y0, y1);
    const double pw = opt_.width - left - right, ph = opt_.height - top - bottom;
    auto X = [&](double v) { return left + (v - x0) / (x1 - x0) * pw; };
    auto Y = [&](double v) { return top + (1.0 - (v - y0) / (y1 - y0)) * ph; };
    // legend entries go below the plot (one row each), so they never hide data
    std::vector<std::pair<std::string, std::string>> legend;
    for (const auto& b : bars_)
      if (!b.label.empty()) legend.push_back({b.label, b.color});
    for (const auto& l : lines_)
      if (!l.label.empty()) legend.push_back({l.label, l.color});
    for (const auto& m : markers_)
      if (!m.label.empty()) legend.push_back({m.label, m.color});
    const std::string total_h = std::to_string(opt_.height + 14 * static_cast<int>(legend.size()));
    std::string s;
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + xml_escape(opt_.id) + "\" class=\"plot\" width=\"" +
         std::to_string(opt_.width) + "\" height=\"" + total_h + "\" viewBox=\"0 0 " + std::to_string(opt_.width) +
         " " + total_h + "\" font-family=\"sans-serif\" font-size=\"11\">\n";
    s += "<title>" + xml_escape(opt_.title) + "</title>\n";
    s += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(opt_.width) + "\" height=\"" + total_h +
         "\" fill=\"white\"/>\n";
    s += "<text x=\"" + num(left + pw / 2) + "\" y=\"16\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\">" +
         xml_escape(opt_.title) + "</text>\n";
    // grid and ticks
    for (double t : nice_ticks(x0, x1)) {
      s += "<line x1=\"" + num(X(t)) + "\" y1=\"" + num(top) + "\" x2=\"" + num(X(t)) + "\" y2=\"" + num(top + ph) +
           "\" stroke=\"#e6e6e6\"/>\n";
      s += "<text x=\"" + num(X(t)) + "\" y=\"" + num(top + ph + 14) + "\" text-anchor=\"middle\">" +
           format_number(t, 3) + "</text>\n";
    }
    for (double t : nice_ticks(y0, y1)) {
      s += "<line x1=\"" + num(left) + "\" y1=\"" + num(Y(t)) + "\" x2=\"" + num(left + pw) + "\" y2=\"" + num(Y(t)) +
           "\" stroke=\"#e6e6e6\"/>\n";
      s += "<text x=\"" + num(left - 4) + "\" y=\"" + num(Y(t) + 4) + "\" text-anchor=\"end\">" +
           format_number(t, 3) + "</text>\n";
    }
    s += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
         "\" fill=\"none\" stroke=\"#444\"/>\n";
    s += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(opt_.height - 6) + "\" text-anchor=\"middle\">" +
         xml_escape(opt_.xlabel) + "</text>\n";
    s += "<text transform=\"translate(12," + num(top + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
         xml_escape(opt_.ylabel) + "</text>\n";
    // data, clipped to the plot area
    const std::string clip = opt_.id + "-clip";
    s += "<clipPath id=\"" + xml_escape(clip) + "\"><rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" +
         num(pw) + "\" height=\"" + num(ph) + "\"/></clipPath>\n<g clip-path=\"url(#" + xml_escape(clip) + ")\">\n";
    if (opt_.diagonal)
      s += "<line x1=\"" + num(X(std::max(x0, y0))) + "\" y1=\"" + num(Y(std::max(x0, y0))) + "\" x2=\"" +
           num(X(std::min(x1, y1))) + "\" y2=\"" + num(Y(std::min(x1, y1))) +
           "\" stroke=\"#999\" stroke-dasharray=\"2 3\"/>\n";
    for (const auto& b : bars_)
      for (std::size_t i = 0; i < b.counts.size(); ++i) {
        if (b.counts[i] <= 0) continue;
        s += "<rect class=\"bar\" x=\"" + num(X(b.edges[i])) + "\" y=\"" + num(Y(b.counts[i])) + "\" width=\"" +
             num(X(b.edges[i + 1]) - X(b.edges[i])) + "\" height=\"" + num(Y(y0) - Y(b.counts[i])) + "\" fill=\"" +
             xml_escape(b.color) + "\" fill-opacity=\"" + num(b.opacity) + "\"/>\n";
      }
    std::string dots;
    for (const auto& l : lines_) {
      if (l.x.empty()) continue;
      s += "<polyline fill=\"none\" stroke=\"" + xml_escape(l.color) + "\" stroke-width=\"" + num(l.width) + "\"";
      if (!l.dash.empty()) s += " stroke-dasharray=\"" + xml_escape(l.dash) + "\"";
      s += " points=\"";
      for (std::size_t i = 0; i < l.x.size(); ++i) s += (i ? " " : "") + num(X(l.x[i])) + "," + num(Y(l.y[i]));
      s += "\"/>\n";
      if (l.dots)  // outside the clip (a dot on the axis is drawn whole), only for points inside the ranges
        for (std::size_t i = 0; i < l.x.size(); ++i)
          if (l.x[i] >= x0 && l.x[i] <= x1 && l.y[i] >= y0 && l.y[i] <= y1)
            dots += "<circle cx=\"" + num(X(l.x[i])) + "\" cy=\"" + num(Y(l.y[i])) + "\" r=\"3\" fill=\"" +
                    xml_escape(l.color) + "\"/>\n";
    }
    for (const auto& m : markers_)
      s += "<line class=\"marker\" x1=\"" + num(X(m.x)) + "\" y1=\"" + num(top) + "\" x2=\"" + num(X(m.x)) +
           "\" y2=\"" + num(top + ph) + "\" stroke=\"" + xml_escape(m.color) + "\" stroke-width=\"1.5\" "
           "stroke-dasharray=\"5 3\"/>\n";
    s += "</g>\n" + dots;
    double ly = opt_.height + 8;
    for (const auto& [text, color] : legend) {
      s += "<rect x=\"" + num(left) + "\" y=\"" + num(ly - 8) + "\" width=\"14\" height=\"8\" fill=\"" +
           xml_escape(color) + "\"/><text x=\"" + num(left + 20) + "\" y=\"" + num(ly) + "\">" + xml_escape(text) +
           "</text>\n";
      ly += 14;
    }
    s += "</svg>\n";
    return s;
  }

 private:
  static std::string num(double v) {  // pixel coordinates: 2 decimals are plenty
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
  }
  void check_finite(const std::vector<double>& v, const std::string& what) const {
    for (std::size_t i = 0; i < v.size(); ++i)
      RAS_CHECK(std::isfinite(v[i]), "Plot '", opt_.id, "': expected finite values but ", what, "[", i, "] is ",
                v[i]);
  }
  // Fills NaN limits from the data (with 5 % padding where the data set the limit).
  void data_range(double& x0, double& x1, double& y0, double& y1) const {
    double dx0 = INFINITY, dx1 = -INFINITY, dy0 = INFINITY, dy1 = -INFINITY;
    for (const auto& l : lines_)
      for (std::size_t i = 0; i < l.x.size(); ++i) {
        dx0 = std::min(dx0, l.x[i]), dx1 = std::max(dx1, l.x[i]);
        dy0 = std::min(dy0, l.y[i]), dy1 = std::max(dy1, l.y[i]);
      }
    for (const auto& b : bars_) {
      dx0 = std::min(dx0, b.edges.front()), dx1 = std::max(dx1, b.edges.back());
      dy0 = std::min(dy0, 0.0);
      for (double c : b.counts) dy1 = std::max(dy1, c);
    }
    for (const auto& m : markers_) dx0 = std::min(dx0, m.x), dx1 = std::max(dx1, m.x);
    auto fill = [](double& lo, double& hi, double dlo, double dhi) {
      const bool set_lo = std::isnan(lo), set_hi = std::isnan(hi);
      if (set_lo) lo = std::isfinite(dlo) ? dlo : 0.0;
      if (set_hi) hi = std::isfinite(dhi) ? dhi : 1.0;
      if (!(hi > lo)) {  // one value or no data: a unit-wide range around it
        if (set_hi) hi = lo + 1.0;
        else lo = hi - 1.0;
      }
      const double pad = 0.05 * (hi - lo);
      if (set_lo && lo != 0.0) lo -= pad;
      if (set_hi) hi += pad;
    };
    fill(x0, x1, dx0, dx1);
    fill(y0, y1, dy0, dy1);
    RAS_CHECK(std::isfinite(x0) && std::isfinite(x1) && x0 < x1 && std::isfinite(y0) && std::isfinite(y1) && y0 < y1,
              "Plot '", opt_.id, "': expected finite axis ranges with min < max but got x [", x0, ", ", x1, "], y [",
              y0, ", ", y1, "]");
  }

  PlotOptions opt_;
  std::vector<Line> lines_;
  std::vector<Bars> bars_;
  std::vector<Marker> markers_;
};

}  // namespace ras::report
