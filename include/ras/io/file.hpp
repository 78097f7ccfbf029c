// ras/io/file.hpp — the file primitives every serialiser uses: validation of shapes declared in
// files, a binary input file with checked positional reads (sizes are validated against the real
// file size before anything is allocated), and an atomic write (a temporary file in the same
// folder, then std::filesystem::rename, so a crash never leaves a half-written checkpoint).
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "ras/shape.hpp"

namespace ras::io {

// Largest element count and rank accepted for one array declared in a file.
inline constexpr Index max_file_tensor_elements = Index(1) << 40;
inline constexpr int max_file_tensor_rank = 64;

// Element count of a shape read from a file, validated: rank <= 64, every extent in [0, 2^40] and
// the product <= 2^40 (computed without overflow). `what` prefixes the error.
inline Index file_numel(const std::vector<Index>& shape, const std::string& what) {
  RAS_CHECK(shape.size() <= static_cast<std::size_t>(max_file_tensor_rank), what, ": rank ", shape.size(),
            " exceeds the limit of ", max_file_tensor_rank);
  bool has_zero = false;
  for (Index e : shape) {
    RAS_CHECK(e >= 0, what, ": shape ", shape_string(shape), " has a negative extent");
    RAS_CHECK(e <= max_file_tensor_elements, what, ": shape ", shape_string(shape), " has an extent above 2^40");
    has_zero = has_zero || e == 0;
  }
  if (has_zero) return 0;
  Index n = 1;
  for (Index e : shape) {
    RAS_CHECK(n <= max_file_tensor_elements / e, what, ": shape ", shape_string(shape),
              " has more than 2^40 elements");
    n *= e;
  }
  return n;
}

// A file opened for positional reads. `kind` ("safetensors file", "npy file") starts messages.
class BinaryFile {
 public:
  BinaryFile(const std::filesystem::path& path, const std::string& kind)
      : path_(path), label_(kind + " '" + path.string() + "'") {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    RAS_CHECK(!ec && std::filesystem::exists(status), "cannot open ", label_, ": it does not exist");
    RAS_CHECK(std::filesystem::is_regular_file(status), "cannot open ", label_, ": not a regular file");
    size_ = std::filesystem::file_size(path, ec);
    RAS_CHECK(!ec, "cannot open ", label_, ": cannot read its size (", ec.message(), ")");
    in_.open(path, std::ios::binary);
    RAS_CHECK(in_.is_open(), "cannot open ", label_, " for reading");
  }

  const std::filesystem::path& path() const { return path_; }
  // "safetensors file '/path/x.safetensors'": the prefix of every error about this file.
  const std::string& label() const { return label_; }
  std::uint64_t size() const { return size_; }

  // Reads exactly n bytes at offset; `what` names the part (for the error when the file is short).
  void read(std::uint64_t offset, void* dst, std::uint64_t n, const char* what) {
    RAS_CHECK(offset <= size_ && n <= size_ - offset, label_, ": truncated: ", what, " needs bytes [",
              offset, ", ", offset + n, ") but the file has ", size_, " bytes");
    if (n == 0) return;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    RAS_CHECK(in_.good() && static_cast<std::uint64_t>(in_.gcount()) == n, label_, ": could not read ",
              what, " (", n, " bytes at offset ", offset, "); was the file changed while reading?");
  }

 private:
  std::filesystem::path path_;
  std::string label_;
  std::uint64_t size_ = 0;
  std::ifstream in_;
};

// Bytes already in memory with BinaryFile's reading interface (label, size, checked positional
// reads), so that a reader can parse a buffer exactly as it parses a file (the fuzz harnesses do).
class MemoryFile {
 public:
  MemoryFile(const unsigned char* data, std::uint64_t size, std::string label)
      : data_(data), size_(size), label_(std::move(label)) {}
  const std::string& label() const { return label_; }
  std::uint64_t size() const { return size_; }
  void read(std::uint64_t offset, void* dst, std::uint64_t n, const char* what) const {
    RAS_CHECK(offset <= size_ && n <= size_ - offset, label_, ": truncated: ", what, " needs bytes [",
              offset, ", ", offset + n, ") but the file has ", size_, " bytes");
    if (n > 0) std::memcpy(dst, data_ + offset, static_cast<std::size_t>(n));
  }

 private:
  const unsigned char* data_;
  std::uint64_t size_;
  std::string label_;
};

// Writes a file atomically: body(std::ostream&) writes the content into a temporary file next to
// `path`, which then replaces `path` with one rename. On any failure the temporary is removed, an
// existing `path` is left untouched, and ras::Error names the file.
template <class Body>
inline void write_file_atomic(const std::filesystem::path& path, Body&& body) {
  static std::atomic<unsigned> counter{0};
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  std::filesystem::path tmp = path;
  // process id, time and counter: distinct for every writer, also for several processes (MPI ranks
  // filling one feature cache) writing the same entry at once
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(stamp) + "-" + std::to_string(counter.fetch_add(1));
  std::error_code ec;
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      RAS_CHECK(out.is_open(), "cannot write '", path.string(), "': cannot create the temporary file '",
                tmp.string(), "' (does the folder exist and is it writable?)");
      body(static_cast<std::ostream&>(out));
      out.flush();
      RAS_CHECK(out.good(), "cannot write '", path.string(), "': writing the temporary file failed (disk full?)");
      out.close();
      RAS_CHECK(!out.fail(), "cannot write '", path.string(), "': closing the temporary file failed");
    }
    std::filesystem::rename(tmp, path, ec);
    RAS_CHECK(!ec, "cannot write '", path.string(), "': renaming the temporary file failed (", ec.message(), ")");
  } catch (...) {
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

}  // namespace ras::io
