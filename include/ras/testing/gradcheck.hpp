// ras/testing/gradcheck.hpp — finite-difference gradient check (in the spirit of
// torch.autograd.gradcheck and dlib's test_layer): compares the analytic gradient of
// dot(f(inputs), cotangent) with central differences at sampled coordinates, in double.
// It also verifies that backward ADDS into existing gradients: each input's gradient is
// pre-filled with random values that must survive the backward pass.
#pragma once

#include <cmath>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "ras/autograd/var.hpp"
#include "ras/random.hpp"

namespace ras::autograd {

struct GradcheckOptions {
  double eps = 1e-6;        // central-difference step
  double atol = 1e-6;       // |numeric - analytic| <= atol + rtol * |numeric|
  double rtol = 1e-5;
  Index max_coords = 300;   // coordinates checked per input (all when the input is smaller)
  std::uint64_t seed = 1234;
};

struct GradcheckReport {
  bool ok = true;
  double max_abs_error = 0.0;
  Index checked = 0;
  std::string message;  // first failures, "input i, coordinate j: numeric x vs analytic y"
};

namespace detail {
template <class Out>
inline double dot_with(const Out& out, const Tensor<double, Out::rank>& cot) {
  double s = 0.0;
  for (Index i = 0; i < cot.numel(); ++i) s += out.value().data()[i] * cot.data()[i];
  return s;
}
}  // namespace detail

// f(inputs...) must return a Var<double, R>. Inputs that do not require grad are held constant.
template <class F, class... Vars>
inline GradcheckReport gradcheck(F&& f, const GradcheckOptions& opt, Vars&... inputs) {
  GradcheckReport report;
  Rng rng(opt.seed);
  current_tape().clear();
  auto out = f(inputs...);
  using Out = decltype(out);
  static_assert(std::is_same_v<typename Out::Scalar, double>, "gradcheck runs in double precision");
  RAS_CHECK(out.requires_grad(), "gradcheck: the output does not require grad");
  auto cot = Tensor<double, Out::rank>::uninitialized(out.shape());
  fill_normal(cot, rng);

  // Pre-fill gradients with random values; backward must add to them.
  std::vector<std::vector<double>> prefill;
  auto prefill_one = [&](auto& x) {
    std::vector<double> g;
    if (x.requires_grad()) {
      auto& gx = x.grad();
      for (Index i = 0; i < gx.numel(); ++i) gx.data()[i] = rng.normal();
      g.assign(gx.data(), gx.data() + gx.numel());
    }
    prefill.push_back(std::move(g));
  };
  (prefill_one(inputs), ...);
  backward(out, cot);

  std::ostringstream msg;
  int failures = 0;
  std::size_t input_index = 0;
  auto check_one = [&](auto& x) {
    const std::size_t which = input_index++;
    if (!x.requires_grad()) return;
    const Index n = x.numel();
    std::vector<Index> coords;
    if (n <= opt.max_coords) {
      for (Index i = 0; i < n; ++i) coords.push_back(i);
    } else {
      for (Index i = 0; i < opt.max_coords; ++i) coords.push_back(static_cast<Index>(rng.below(n)));
    }
    for (Index j : coords) {
      double analytic = x.grad().data()[j] - prefill[which][static_cast<std::size_t>(j)];
      double* v = x.value().data() + j;
      const double saved = *v;
      double plus, minus;
      {
        InferenceMode no_record;
        *v = saved + opt.eps;
        plus = detail::dot_with(f(inputs...), cot);
        *v = saved - opt.eps;
        minus = detail::dot_with(f(inputs...), cot);
      }
      *v = saved;
      const double numeric = (plus - minus) / (2 * opt.eps);
      const double err = std::abs(numeric - analytic);
      report.max_abs_error = std::max(report.max_abs_error, err);
      ++report.checked;
      if (!(err <= opt.atol + opt.rtol * std::abs(numeric))) {
        report.ok = false;
        if (failures++ < 5)
          msg << "input " << which << ", coordinate " << j << ": numeric " << numeric
              << " vs analytic " << analytic << "; ";
      }
    }
  };
  (check_one(inputs), ...);
  report.message = msg.str();
  return report;
}

template <class F, class... Vars>
inline GradcheckReport gradcheck(F&& f, Vars&... inputs) {
  return gradcheck(std::forward<F>(f), GradcheckOptions{}, inputs...);
}

}  // namespace ras::autograd
