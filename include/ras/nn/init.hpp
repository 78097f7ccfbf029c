// ras/nn/init.hpp — parameter initialisers with PyTorch's defaults, drawn from a seeded ras::Rng
// (mirrors torch.nn.init: uniform_, normal_, constant_, zeros_, ones_, xavier_uniform_,
// kaiming_uniform_, kaiming_normal_, and _calculate_fan_in_and_fan_out). The layer helpers
// linear_default_ / conv_default_ reproduce nn.Linear / nn.Conv2d reset_parameters():
// kaiming_uniform_(weight, a=sqrt(5)) (= U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and the bias from
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Values come from ras::Rng, so they match PyTorch in
// distribution, not bit for bit.
#pragma once

#include <cmath>
#include <string>
#include <utility>

#include "ras/random.hpp"
#include "ras/tensor.hpp"

namespace ras::nn::init {

// Fan-in / fan-out of a weight of shape (out, in, *receptive) as PyTorch computes them.
// shape: (out, in, ...) with rank >= 2
template <int R>
inline std::pair<Index, Index> fan_in_and_fan_out(const Shape<R>& shape) {
  static_assert(R >= 2, "fan_in_and_fan_out: a weight needs at least 2 dimensions (out, in, ...)");
  Index receptive = 1;
  for (int i = 2; i < R; ++i) receptive *= shape[static_cast<std::size_t>(i)];
  return {shape[1] * receptive, shape[0] * receptive};
}

// torch.nn.init.calculate_gain for "linear"/"conv"/"sigmoid" (1), "tanh" (5/3), "relu" (sqrt 2),
// "leaky_relu" (sqrt(2 / (1 + a^2))), "selu" (3/4).
inline double calculate_gain(const std::string& nonlinearity, double a = 0.01) {
  if (nonlinearity == "linear" || nonlinearity == "conv2d" || nonlinearity == "conv" ||
      nonlinearity == "sigmoid")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + a * a));
  if (nonlinearity == "selu") return 0.75;
  ::ras::detail::throw_error(
      "calculate_gain: expected one of linear, conv, sigmoid, tanh, relu, leaky_relu, selu but got '",
      nonlinearity, "'");
}

// t ~ U(lo, hi)
template <class S, int R, class D>
inline void uniform_(Tensor<S, R, D>& t, Rng& rng, double lo = 0.0, double hi = 1.0) {
  RAS_CHECK(lo <= hi, "uniform_: expected lo <= hi but got lo=", lo, " hi=", hi);
  fill_uniform(t, rng, lo, hi);
}

// t ~ N(mean, std^2)
template <class S, int R, class D>
inline void normal_(Tensor<S, R, D>& t, Rng& rng, double mean = 0.0, double std = 1.0) {
  RAS_CHECK(std >= 0.0, "normal_: expected std >= 0 but got ", std);
  fill_normal(t, rng, mean, std);
}

template <class S, int R, class D>
inline void constant_(Tensor<S, R, D>& t, double value) {
  t.fill(static_cast<S>(value));
}
template <class S, int R, class D>
inline void zeros_(Tensor<S, R, D>& t) {
  t.fill(S(0));
}
template <class S, int R, class D>
inline void ones_(Tensor<S, R, D>& t) {
  t.fill(S(1));
}

// Glorot: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)). t: (out, in, ...)
template <class S, int R, class D>
inline void xavier_uniform_(Tensor<S, R, D>& t, Rng& rng, double gain = 1.0) {
  auto [fan_in, fan_out] = fan_in_and_fan_out<R>(t.shape());
  RAS_CHECK(fan_in + fan_out > 0, "xavier_uniform_: expected a non-empty weight but got shape ",
            shape_string(t.shape()));
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  fill_uniform(t, rng, -bound, bound);
}

// Glorot: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)). t: (out, in, ...)
template <class S, int R, class D>
inline void xavier_normal_(Tensor<S, R, D>& t, Rng& rng, double gain = 1.0) {
  auto [fan_in, fan_out] = fan_in_and_fan_out<R>(t.shape());
  RAS_CHECK(fan_in + fan_out > 0, "xavier_normal_: expected a non-empty weight but got shape ",
            shape_string(t.shape()));
  fill_normal(t, rng, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

enum class FanMode { fan_in, fan_out };

namespace detail {
template <int R>
inline double kaiming_std(const Shape<R>& shape, double a, FanMode mode, const std::string& nonlinearity,
                          const char* what) {
  auto [fan_in, fan_out] = fan_in_and_fan_out<R>(shape);
  const Index fan = mode == FanMode::fan_in ? fan_in : fan_out;
  RAS_CHECK(fan > 0, what, ": expected a non-empty weight but got shape ", shape_string(shape));
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}
}  // namespace detail

// He: U(-b, b), b = sqrt(3) * gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).
// t: (out, in, ...)
template <class S, int R, class D>
inline void kaiming_uniform_(Tensor<S, R, D>& t, Rng& rng, double a = 0.0, FanMode mode = FanMode::fan_in,
                             const std::string& nonlinearity = "leaky_relu") {
  const double bound = std::sqrt(3.0) * detail::kaiming_std<R>(t.shape(), a, mode, nonlinearity, "kaiming_uniform_");
  fill_uniform(t, rng, -bound, bound);
}

// He: N(0, std^2), std = gain / sqrt(fan). t: (out, in, ...)
template <class S, int R, class D>
inline void kaiming_normal_(Tensor<S, R, D>& t, Rng& rng, double a = 0.0, FanMode mode = FanMode::fan_in,
                            const std::string& nonlinearity = "leaky_relu") {
  fill_normal(t, rng, 0.0, detail::kaiming_std<R>(t.shape(), a, mode, nonlinearity, "kaiming_normal_"));
}

// nn.Linear / nn.Conv2d reset_parameters(): weight by kaiming_uniform_(a = sqrt(5)), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias (when given) from the same bound.
// weight: (out, in, ...), bias: (out) or nullptr
template <class S, int R, class D>
inline void layer_default_(Tensor<S, R, D>& weight, Tensor<S, 1, D>* bias, Rng& rng) {
  kaiming_uniform_(weight, rng, std::sqrt(5.0));
  if (bias) {
    RAS_CHECK(bias->dim(0) == weight.dim(0), "layer_default_: expected bias of shape (", weight.dim(0),
              ",) but got ", shape_string(bias->shape()));
    const Index fan_in = fan_in_and_fan_out<R>(weight.shape()).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    fill_uniform(*bias, rng, -bound, bound);
  }
}

}  // namespace ras::nn::init
