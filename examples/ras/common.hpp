// examples/ras/common.hpp — pieces shared by the `ras` subcommands: thread count, backbone
// options, expanding image arguments (files or folders).
#pragma once

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "args.hpp"
#include "ras/data/dataset.hpp"
#include "ras/device.hpp"

namespace ras_cli {

inline OptionSpec threads_option() {
  return {"threads", "CPU threads (default: all cores, or OMP_NUM_THREADS)"};
}
inline void apply_threads(const Args& a) {
  if (a.has("threads")) ras::Cpu::set_num_threads(static_cast<int>(a.integer("threads")));
}

// Image files given directly or found (recursively, sorted) in given folders.
inline std::vector<std::filesystem::path> expand_images(const std::vector<std::string>& args) {
  std::vector<std::filesystem::path> out;
  for (const auto& a : args) {
    std::filesystem::path p(a);
    RAS_CHECK(std::filesystem::exists(p), "no such file or folder: ", a);
    if (std::filesystem::is_directory(p)) {
      std::vector<std::filesystem::path> found;
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file() && ras::data::is_image_file(e.path())) found.push_back(e.path());
      std::sort(found.begin(), found.end());
      RAS_CHECK(!found.empty(), "no images found in folder ", a);
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(p);
    }
  }
  RAS_CHECK(!out.empty(), "no images given");
  return out;
}

}  // namespace ras_cli
