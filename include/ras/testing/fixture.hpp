// ras/testing/fixture.hpp — test-only reader of the small safetensors fixtures written by
// tests/fixtures/make_fixtures.py (PyTorch references). Trusted input: a minimal parser for the flat
// header {"name": {"dtype": "F32"|"F64"|"I64", "shape": [...], "data_offsets": [b, e]}, ...}
// ("__metadata__" skipped). Not the library's safetensors reader (ras/io/safetensors.hpp).
// load_module() assigns a module's parameters and buffers by their PyTorch names via the visitor.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

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
  struct Entry {
    std::string dtype;
    std::vector<Index> shape;
    std::vector<char> bytes;
  };

  explicit Fixture(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    RAS_CHECK(f.good(), "Fixture: cannot open ", path);
    std::vector<char> all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    RAS_CHECK(all.size() >= 8, "Fixture: ", path, " is shorter than 8 bytes");
    std::uint64_t n = 0;
    std::memcpy(&n, all.data(), 8);
    RAS_CHECK(8 + n <= all.size(), "Fixture: header of ", n, " bytes exceeds the file size ", all.size());
    const std::string h(all.data() + 8, n);
    const char* data = all.data() + 8 + n;
    std::size_t i = 0;
    auto skip = [&] { while (i < h.size() && std::strchr(" \n\r\t,:", h[i])) ++i; };
    auto str = [&] {
      skip();
      std::size_t e = h.find('"', i + 1);
      std::string s = h.substr(i + 1, e - i - 1);
      i = e + 1;
      return s;
    };
    auto ints = [&] {
      skip();
      std::vector<Index> v;
      ++i;  // '['
      for (skip(); h[i] != ']'; skip()) {
        std::size_t used = 0;
        v.push_back(std::stoll(h.substr(i), &used));
        i += used;
      }
      ++i;
      return v;
    };
    skip();
    ++i;  // '{'
    for (skip(); h[i] != '}'; skip()) {
      std::string name = str();
      skip();
      if (name == "__metadata__") {
        i = h.find('}', i) + 1;
        continue;
      }
      ++i;  // '{'
      Entry e;
      std::vector<Index> offsets;
      for (skip(); h[i] != '}'; skip()) {
        std::string key = str();
        if (key == "dtype") e.dtype = str();
        else if (key == "shape") e.shape = ints();
        else offsets = ints();
      }
      ++i;
      e.bytes.assign(data + offsets.at(0), data + offsets.at(1));
      entries_[name] = std::move(e);
    }
  }

  bool has(const std::string& name) const { return entries_.count(name) > 0; }
  const Entry& entry(const std::string& name) const {
    auto it = entries_.find(name);
    RAS_CHECK(it != entries_.end(), "Fixture: no tensor named '", name, "'");
    return it->second;
  }

  // All values of a tensor converted to T (F32, F64 and I64 supported).
  template <class T>
  std::vector<T> values(const std::string& name) const {
    const Entry& e = entry(name);
    const std::size_t n = static_cast<std::size_t>(numel(e.shape));
    std::vector<T> out(n);
    for (std::size_t k = 0; k < n; ++k) {
      if (e.dtype == "F32") out[k] = static_cast<T>(read<float>(e, k));
      else if (e.dtype == "F64") out[k] = static_cast<T>(read<double>(e, k));
      else if (e.dtype == "I64") out[k] = static_cast<T>(read<std::int64_t>(e, k));
      else ::ras::detail::throw_error("Fixture: unsupported dtype ", e.dtype, " of '", name, "'");
    }
    return out;
  }
  template <class T>
  T scalar(const std::string& name, std::size_t k = 0) const {
    return values<T>(name).at(k);
  }

  // A tensor of rank R (checked) converted to S.
  template <class S, int R>
  Tensor<S, R> tensor(const std::string& name) const {
    const Entry& e = entry(name);
    RAS_CHECK(static_cast<int>(e.shape.size()) == R, "Fixture: expected '", name, "' of rank ", R,
              " but it has shape ", shape_string(e.shape));
    Shape<R> shape{};
    for (int d = 0; d < R; ++d) shape[static_cast<std::size_t>(d)] = e.shape[static_cast<std::size_t>(d)];
    return Tensor<S, R>::from(shape, values<S>(name));
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
      const Entry& e = entry(prefix + name);
      std::vector<Index> shape(t.shape().begin(), t.shape().end());
      RAS_CHECK(shape == e.shape, "Fixture: '", prefix + name, "' has shape ", shape_string(e.shape),
                " but the module expects ", shape_string(shape));
      auto v = values<T>(prefix + name);
      std::copy(v.begin(), v.end(), t.data());
    };
    nn::walk_module(
        m, [&](const std::string& name, auto& var) { copy(name, var.value()); }, copy, [](auto&) {});
  }

 private:
  template <class T>
  static T read(const Entry& e, std::size_t k) {
    T v;
    std::memcpy(&v, e.bytes.data() + k * sizeof(T), sizeof(T));
    return v;
  }
  std::map<std::string, Entry> entries_;
};

}  // namespace ras::testing
