// ras/pipeline/hash.hpp — FNV-1a 64-bit content hashes of files and strings, used to key the
// feature cache by image content and backbone weights (not by path or timestamp).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ras/config.hpp"

namespace ras::pipeline {

inline std::uint64_t fnv1a64(const void* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ULL) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

inline std::uint64_t hash_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  RAS_CHECK(in.good(), "cannot read ", path.string());
  std::vector<char> buf(1 << 20);
  std::uint64_t h = 0xcbf29ce484222325ULL;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = fnv1a64(buf.data(), static_cast<std::size_t>(in.gcount()), h);
  }
  return h;
}

inline std::string hex64(std::uint64_t h) {
  char s[17];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(h));
  return s;
}

}  // namespace ras::pipeline
