// examples/ras/common.hpp — pieces shared by the `ras` subcommands: thread count, backbone
// options, expanding image arguments (files or folders).
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "args.hpp"
#include "ras/data/dataset.hpp"
#include "ras/device.hpp"

namespace ras_cli {

inline OptionSpec threads_option() {
  return {"threads", "CPU threads (default: all cores, or OMP_NUM_THREADS)"};
}
// --threads N (1..65536; above the cores: clamped with a warning, oversubscribed spinning OpenMP
// threads only slow everything down); without it, an OMP_NUM_THREADS above the cores is clamped too.
inline void apply_threads(const Args& a) {
  const long cores = std::max(1L, static_cast<long>(std::thread::hardware_concurrency()));
  long n = 0;
  std::string source;
  if (a.has("threads")) {
    n = a.integer("threads", 1, 65536);
    source = "--threads " + a.get("threads");
  } else if (const char* env = std::getenv("OMP_NUM_THREADS"); env && *env) {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(env, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1) return;  // OpenMP itself handles lists and odd values
    n = v;
    source = std::string("OMP_NUM_THREADS=") + env;
  } else {
    return;
  }
  if (n > cores) {
    std::fprintf(stderr, "ras: warning: %s is more than the %ld cores of this machine; using %ld threads\n",
                 source.c_str(), cores, cores);
    n = cores;
  }
  ras::Cpu::set_num_threads(static_cast<int>(n));
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
