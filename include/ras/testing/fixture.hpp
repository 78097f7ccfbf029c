// ras/testing/fixture.hpp — test helper over the PyTorch reference fixtures written by
// tests/fixtures/make_fixtures.py (small safetensors files, read and validated by
// ras/io/safetensors.hpp): typed access to inputs, configuration and references, and load_module(),
// which assigns a module's parameters and buffers by their PyTorch names through the visitor.
#pragma once

#include <string>
#include <vector>

#include "ras/io/safetensors.hpp"
#include "ras/nn/module.hpp"

namespace ras::testing {

// tests/fixtures/<relative> in the source tree.
inline std::string fixture_path(const std::string& relative) {
#ifdef RAS_SOURCE_DIR
  return std::string(RAS_SOURCE_DIR) + "/tests/fixtures/" + relative;
#else
  return "tests/fixtures/" + relative;
#endif
}

class Fixture {
 public:
  explicit Fixture(const std::string& path) : file_(path) {}

  bool has(const std::string& name) const { return file_.has(name); }
  const std::vector<Index>& shape(const std::string& name) const { return file_.info(name).shape; }

  // All values of a tensor, converted to T.
  template <class T>
  std::vector<T> values(const std::string& name) const {
    std::vector<T> out(static_cast<std::size_t>(file_.info(name).numel));
    file_.get_into<T>(name, out.data(), shape(name));
    return out;
  }
  template <class T>
  T scalar(const std::string& name, std::size_t k = 0) const {
    return values<T>(name).at(k);
  }

  // A tensor of rank R (checked), converted to S.
  template <class S, int R>
  Tensor<S, R> tensor(const std::string& name) const {
    return file_.get<S, R>(name);
  }
  template <class S, int R>
  autograd::Var<S, R> var(const std::string& name, bool requires_grad = true) const {
    return autograd::Var<S, R>(tensor<S, R>(name), requires_grad);
  }

  // Copies "<prefix><name>" into every parameter and buffer of `m` (names from the visitor);
  // throws when one is missing or has another shape.
  template <class M>
  void load_module(M& m, const std::string& prefix = "") const {
    auto copy = [&](const std::string& name, auto& t) {
      using T = typename std::decay_t<decltype(t)>::Scalar;
      file_.get_into<T>(prefix + name, t.data(), std::vector<Index>(t.shape().begin(), t.shape().end()));
    };
    nn::walk_module(
        m, [&](const std::string& name, auto& var) { copy(name, var.value()); }, copy, [](auto&) {});
  }

 private:
  io::SafetensorsFile file_;
};

}  // namespace ras::testing
