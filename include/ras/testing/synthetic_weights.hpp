// ras/testing/synthetic_weights.hpp — deterministic "synthetic" weights that C++ and the Python
// fixture script (tests/fixtures/make_backbone_fixtures.py) generate bit for bit, so a model whose
// real weights cannot be obtained (EfficientNet) can still be compared with PyTorch numerically.
// For a tensor NAME with n elements: key = FNV-1a-64(NAME); element i (0-based):
// z = splitmix64_mix(key + (i + 1) * 0x9E3779B97F4A7C15) (wrapping), u = (z >> 11) * 2^-53,
// value = S(lo + (hi - lo) * u) with the product rounded to double before the sum (no FMA).
// Ranges by name (synthetic_range): BN statistics and affine randomised, conv/linear +-sqrt(3/fan_in).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ras/nn/module.hpp"

namespace ras::testing {

// FNV-1a 64-bit hash of the bytes of `s`.
inline std::uint64_t fnv1a64(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The splitmix64 output finaliser.
inline std::uint64_t splitmix64_mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The 64 random bits of element i of the tensor with hash `key`.
inline std::uint64_t synthetic_bits(std::uint64_t key, Index i) {
  return splitmix64_mix(key + static_cast<std::uint64_t>(i + 1) * 0x9e3779b97f4a7c15ULL);
}

// Element i of a tensor with hash `key`, uniform in [lo, hi), as double.
inline double synthetic_value(std::uint64_t key, Index i, double lo, double hi) {
  const double u = static_cast<double>(synthetic_bits(key, i) >> 11) * 0x1.0p-53;
  // volatile: the product must be rounded to double before the sum, as in numpy (no FMA contraction)
  volatile double t = (hi - lo) * u;
  return lo + t;
}

// Fills data[0, n) with the synthetic values of tensor `name` in [lo, hi).
template <class S>
inline void fill_synthetic(const std::string& name, S* data, Index n, double lo, double hi) {
  const std::uint64_t key = fnv1a64(name);
  for (Index i = 0; i < n; ++i) data[i] = static_cast<S>(synthetic_value(key, i, lo, hi));
}

// A tensor of the given shape filled with the synthetic values of `name`.
template <class S, int R>
inline Tensor<S, R> synthetic_tensor(const std::string& name, const Shape<R>& shape, double lo, double hi) {
  auto t = Tensor<S, R>::uninitialized(shape);
  fill_synthetic(name, t.data(), t.numel(), lo, hi);
  return t;
}

// The value range of a state-dict entry, or nullopt when it is not generated (num_batches_tracked):
// *.running_mean [-0.2, 0.2], *.running_var [0.5, 1.5], rank-1 *.weight [0.5, 1.5] (BatchNorm),
// *.bias [-0.2, 0.2], rank >= 2 *.weight +-sqrt(3 / fan_in), fan_in = numel / shape[0].
inline std::optional<std::pair<double, double>> synthetic_range(const std::string& name,
                                                                const std::vector<Index>& shape) {
  const auto dot = name.rfind('.');
  const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
  if (leaf == "num_batches_tracked") return std::nullopt;
  if (leaf == "running_mean" || leaf == "bias") return std::make_pair(-0.2, 0.2);
  if (leaf == "running_var") return std::make_pair(0.5, 1.5);
  RAS_CHECK(leaf == "weight", "synthetic_range: expected a name ending in weight, bias, running_mean, ",
            "running_var or num_batches_tracked but got ", name);
  if (shape.size() == 1) return std::make_pair(0.5, 1.5);
  RAS_CHECK(!shape.empty() && shape[0] > 0, "synthetic_range: expected a non-empty shape for ", name,
            " but got ", shape_string(shape));
  const Index fan_in = numel(shape) / shape[0];
  const double a = std::sqrt(3.0 / static_cast<double>(fan_in));
  return std::make_pair(-a, a);
}

// Overwrites every parameter (Scalar S) and every floating-point buffer of module `m` with its
// synthetic values (the same as the Python fixtures' load_synthetic on the torch state_dict).
template <class S, class M>
inline void init_synthetic(M& m) {
  for (auto& p : nn::named_parameters<S>(m)) {
    if (auto r = synthetic_range(p.name, p.shape)) fill_synthetic(p.name, p.value, p.numel, r->first, r->second);
  }
  for (auto& b : nn::named_buffers(m)) {
    auto r = synthetic_range(b.name, b.shape);
    if (!r) continue;
    if (b.dtype == DType::F32)
      fill_synthetic(b.name, static_cast<float*>(b.data), numel(b.shape), r->first, r->second);
    else if (b.dtype == DType::F64)
      fill_synthetic(b.name, static_cast<double*>(b.data), numel(b.shape), r->first, r->second);
    else
      ras::detail::throw_error("init_synthetic: buffer ", b.name, " has dtype ", dtype_name(b.dtype),
                          "; expected F32 or F64");
  }
}

}  // namespace ras::testing
