// tests/fuzz/fuzz_common.hpp — shared by the libFuzzer harnesses: a per-process scratch file (for
// the readers that take a path) and the rule every harness enforces: bad input may only end in
// ras::Error; any other exception, crash, leak or sanitizer report is a finding.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "ras/config.hpp"

namespace ras_fuzz {

// A file in /dev/shm (or $TMPDIR) that holds the current input.
inline const std::string& scratch_path(const char* ext) {
  static const std::string path = [&] {
    std::string dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
    return dir + "/ras_fuzz_" + std::to_string(::getpid()) + ext;
  }();
  return path;
}
inline void write_scratch(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!f) std::abort();
}

// Runs f; ras::Error is the expected way to refuse input, anything else aborts (a finding).
template <class F>
inline void expect_only_ras_errors(F&& f) {
  try {
    f();
  } catch (const ras::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "non-ras exception escaped: %s\n", e.what());
    std::abort();
  }
}

}  // namespace ras_fuzz
