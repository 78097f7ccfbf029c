// ras/io/state_dict.hpp — save and load every parameter and buffer of a module (nn/module.hpp)
// as one safetensors file under PyTorch's dotted state_dict names; mirrors
// torch.nn.Module.state_dict() / load_state_dict(strict=...) plus safetensors.torch.save_file.
// Loading checks names, shapes and dtypes of ALL entries before writing anything and throws ONE
// ras::Error listing every missing key, unexpected key and size mismatch (torch's message format);
// only an integer value too large for a narrower buffer (I64 file -> I32 buffer) is found while copying.
// Stored dtypes are converted (F16/BF16/F64 -> F32, I32 -> I64, ...; floats never into integers).
#pragma once

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "ras/io/safetensors.hpp"
#include "ras/nn/module.hpp"

namespace ras::io {

struct LoadOptions {
  // true: missing and unexpected names are errors (torch's strict=True). false: they are
  // returned in the LoadReport. Shape and dtype mismatches are errors in both modes.
  bool strict = true;
  // Only file keys that start with `prefix` are considered, with the prefix removed; other keys
  // are ignored. "module." loads a DataParallel checkpoint, "model." one part of a file that also
  // holds e.g. "optim." entries. Empty: every key.
  std::string prefix;
  // true: a NaN or infinite value in any floating-point entry is an error (checked before anything
  // is written into the module): weights with NaN/Inf give NaN scores that no threshold catches.
  bool require_finite = true;
};

// What a load did not match (names as in the module; unexpected ones as in the file).
struct LoadReport {
  std::vector<std::string> missing;     // module entries absent from the file (module order)
  std::vector<std::string> unexpected;  // file keys with no module entry (file order)
  bool ok() const { return missing.empty() && unexpected.empty(); }
};

// One parameter or buffer of a module, rank- and type-erased.
struct StateEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<Index> shape;
  Index numel = 0;
  void* data = nullptr;
  bool is_parameter = false;
};

// Every parameter and buffer of m (any scalar type), in registration order.
template <class M>
inline std::vector<StateEntry> state_entries(M& m) {
  std::vector<StateEntry> out;
  auto add = [&out](const std::string& name, auto& tensor, bool is_param) {
    using T = std::decay_t<decltype(tensor)>;
    static_assert(is_host_device<typename T::Device>, "state_dict: only host-memory modules can be saved or loaded");
    RAS_CHECK(!tensor.empty() || ras::numel(tensor.shape()) == 0, "state_dict: '", name,
              "' is an unallocated tensor of shape ", shape_string(tensor.shape()));
    StateEntry e;
    e.name = name;
    e.dtype = dtype_v<typename T::Scalar>;
    e.shape.assign(tensor.shape().begin(), tensor.shape().end());
    e.numel = ras::numel(tensor.shape());
    e.data = tensor.data();
    e.is_parameter = is_param;
    out.push_back(std::move(e));
  };
  nn::walk_module(
      m, [&](const std::string& name, auto& var) { add(name, var.value(), true); },
      [&](const std::string& name, auto& tensor) { add(name, tensor, false); }, [](auto&) {});
  std::set<std::string> seen;
  for (const auto& e : out)
    RAS_CHECK(seen.insert(e.name).second, "state_dict: the module registers two entries named '", e.name, "'");
  return out;
}

// Adds every parameter and buffer of m to w under prefix + its dotted name (own dtype).
template <class M>
inline void add_state_dict(SafetensorsWriter& w, M& m, const std::string& prefix = "") {
  for (const auto& e : state_entries(m)) {
    detail::with_scalar(e.dtype, [&](auto tag) {
      using T = decltype(tag);
      w.add(prefix + e.name, static_cast<const T*>(e.data), e.shape);
    });
  }
}

// Writes m's parameters and buffers (and `metadata` as "__metadata__") to a safetensors file, atomically.
template <class M>
inline void save_state_dict(M& m, const std::filesystem::path& path,
                            const std::map<std::string, std::string>& metadata = {}) {
  SafetensorsWriter w;
  for (const auto& [k, v] : metadata) w.set_metadata(k, v);
  add_state_dict(w, m);
  w.write(path);
}

// Loads m's parameters and buffers from an open safetensors file (see LoadOptions).
template <class M>
inline LoadReport load_state_dict(M& m, const SafetensorsFile& file, const LoadOptions& options = {}) {
  const auto entries = state_entries(m);
  // Module name -> file key, for the keys that the prefix selects.
  std::map<std::string, std::string> by_name;
  std::vector<std::string> considered;
  for (const auto& key : file.keys()) {
    if (key.compare(0, options.prefix.size(), options.prefix) != 0) continue;
    by_name[key.substr(options.prefix.size())] = key;
    considered.push_back(key);
  }
  LoadReport report;
  std::vector<std::string> mismatches;
  std::set<std::string> module_names;
  for (const auto& e : entries) {
    module_names.insert(e.name);
    auto it = by_name.find(e.name);
    if (it == by_name.end()) {
      report.missing.push_back(e.name);
      continue;
    }
    const TensorInfo& inf = file.info(it->second);
    if (inf.shape != e.shape)
      mismatches.push_back("size mismatch for " + e.name + ": copying a param with shape " +
                           shape_string(inf.shape) + " from the file, the shape in the module is " +
                           shape_string(e.shape) + ".");
    else if (!can_convert(inf.dtype, e.dtype))
      mismatches.push_back("dtype mismatch for " + e.name + ": the file holds " + dtype_name(inf.dtype) +
                           ", which cannot be converted to the module's " + dtype_name(e.dtype) + ".");
  }
  for (const auto& key : considered)
    if (!module_names.count(key.substr(options.prefix.size()))) report.unexpected.push_back(key);

  const bool name_errors = options.strict && !report.ok();
  if (name_errors || !mismatches.empty()) {
    std::string msg = "Error(s) in loading state_dict from " + file.label() + ":";
    auto list = [&msg](const char* title, const std::vector<std::string>& names) {
      if (names.empty()) return;
      msg += std::string("\n    ") + title + ": ";
      for (std::size_t i = 0; i < names.size(); ++i) msg += (i ? ", \"" : "\"") + names[i] + "\"";
      msg += ".";
    };
    if (name_errors) {
      list("Missing key(s) in state_dict", report.missing);
      list("Unexpected key(s) in state_dict", report.unexpected);
    }
    for (const auto& s : mismatches) msg += "\n    " + s;
    throw Error(msg);
  }
  if (options.require_finite) {
    std::vector<double> values;
    for (const auto& e : entries) {
      auto it = by_name.find(e.name);
      if (it == by_name.end() || !is_floating(file.info(it->second).dtype)) continue;
      values.resize(static_cast<std::size_t>(e.numel));
      file.get_into(it->second, DType::F64, values.data(), e.shape);
      for (std::size_t i = 0; i < values.size(); ++i)
        RAS_CHECK(std::isfinite(values[i]), file.label(), ": tensor '", it->second, "' holds a non-finite value (",
                  values[i], ") at element ", i, "; expected finite weights");
    }
  }
  for (const auto& e : entries) {
    auto it = by_name.find(e.name);
    if (it != by_name.end()) file.get_into(it->second, e.dtype, e.data, e.shape);
  }
  return report;
}

// Opens `path` and loads m from it (see LoadOptions).
template <class M>
inline LoadReport load_state_dict(M& m, const std::filesystem::path& path, const LoadOptions& options = {}) {
  SafetensorsFile file(path);
  return load_state_dict(m, file, options);
}

// Reads the tensor `name` into an existing tensor of the same shape (extra state such as an
// optimiser's moments), converting the stored dtype. dst: any shape, must equal the stored one.
template <class T, int R, class D>
inline void read_into(const SafetensorsFile& file, const std::string& name, Tensor<T, R, D>& dst) {
  static_assert(is_host_device<D>, "read_into: only host tensors can be loaded");
  file.get_into(name, dst.data(), std::vector<Index>(dst.shape().begin(), dst.shape().end()));
}

}  // namespace ras::io
