// ras/io/npy.hpp — read and write numpy's .npy format (numpy.lib.format, versions 1.0, 2.0, 3.0):
//   "\x93NUMPY" | major | minor | header length (2 bytes LE in 1.0, 4 in 2.0/3.0)
//   | "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded with spaces, '\n' | data
// Little-endian, C-order arrays of '<f8' '<f4' '<f2' '<i8' '<i4' '<i2' '|i1' '|u1' '|b1' are read;
// everything in the file is validated (magic, version, header syntax and keys, dtype, shape, exact
// data size), and problems end in ras::Error naming the file. Writes are atomic and version 1.0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ras/dtype.hpp"
#include "ras/io/convert.hpp"
#include "ras/io/file.hpp"
#include "ras/tensor.hpp"

namespace ras::io {

// Largest .npy header accepted (numpy itself refuses headers over 10000 bytes by default).
inline constexpr std::uint64_t max_npy_header_bytes = 1 << 20;

// numpy's descr string for a dtype ("<f4"), and back (std::nullopt for unsupported ones).
inline const char* npy_descr(DType t) {
  switch (t) {
    case DType::F64: return "<f8";
    case DType::F32: return "<f4";
    case DType::F16: return "<f2";
    case DType::I64: return "<i8";
    case DType::I32: return "<i4";
    case DType::I16: return "<i2";
    case DType::I8: return "|i1";
    case DType::U8: return "|u1";
    case DType::BOOL: return "|b1";
    case DType::BF16: break;
  }
  ::ras::detail::throw_error("npy: dtype ", dtype_name(t), " has no numpy equivalent");
}
inline std::optional<DType> dtype_from_npy_descr(std::string_view d) {
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::I64, DType::I32, DType::I16, DType::I8, DType::U8,
                  DType::BOOL})
    if (d == npy_descr(t)) return t;
  return std::nullopt;
}

// A rank- and type-erased .npy array: little-endian elements in C order.
struct NpyArray {
  DType dtype = DType::F32;
  std::vector<Index> shape;
  std::vector<unsigned char> bytes;  // numel() * dtype_size(dtype)

  Index numel() const { return ras::numel(shape); }
  // All elements converted to T (see convert.hpp for the rules).
  template <class T>
  std::vector<T> values() const {
    std::vector<T> out(static_cast<std::size_t>(numel()));
    convert_to<T>(dtype, bytes.data(), out.data(), numel(), "NpyArray::values");
    return out;
  }
};

namespace detail {
// Parser for the Python-literal header dict (strings, True/False, tuples of integers).
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, std::string context) : t_(text), ctx_(std::move(context)) {}

  void parse(std::string& descr, bool& fortran, std::vector<Index>& shape) {
    bool has_descr = false, has_fortran = false, has_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek_is('}')) break;
      const std::string key = read_string();
      expect(':');
      if (key == "descr") {
        if (has_descr) fail("duplicate key 'descr'");
        has_descr = true;
        descr = read_string();
      } else if (key == "fortran_order") {
        if (has_fortran) fail("duplicate key 'fortran_order'");
        has_fortran = true;
        fortran = read_bool();
      } else if (key == "shape") {
        if (has_shape) fail("duplicate key 'shape'");
        has_shape = true;
        shape = read_shape();
      } else {
        fail("unexpected key '" + key + "' (expected exactly 'descr', 'fortran_order' and 'shape')");
      }
      skip_ws();
      if (peek_is(',')) {
        ++pos_;
        continue;
      }
      skip_ws();
      if (!peek_is('}')) fail("expected ',' or '}'");
    }
    ++pos_;  // '}'
    skip_ws();
    if (pos_ != t_.size()) fail("unexpected data after the header dict");
    if (!has_descr || !has_fortran || !has_shape)
      fail(std::string("missing key '") + (!has_descr ? "descr" : !has_fortran ? "fortran_order" : "shape") + "'");
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    ::ras::detail::throw_error(ctx_, ": ", msg, " at byte ", pos_, " of the header");
  }
  void skip_ws() {
    while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' || t_[pos_] == '\r')) ++pos_;
  }
  bool peek_is(char c) const { return pos_ < t_.size() && t_[pos_] == c; }
  void expect(char c) {
    skip_ws();
    if (!peek_is(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string read_string() {
    skip_ws();
    if (!peek_is('\'') && !peek_is('"')) fail("expected a quoted string");
    const char q = t_[pos_++];
    std::string out;
    while (pos_ < t_.size() && t_[pos_] != q) {
      if (t_[pos_] == '\\') fail("escape sequences are not supported in header strings");
      out += t_[pos_++];
    }
    if (pos_ >= t_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  bool read_bool() {
    skip_ws();
    if (t_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (t_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<Index> read_shape() {
    expect('(');
    std::vector<Index> shape;
    while (true) {
      skip_ws();
      if (peek_is(')')) break;
      if (pos_ >= t_.size() || t_[pos_] < '0' || t_[pos_] > '9') fail("expected a non-negative integer in 'shape'");
      Index v = 0;
      while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') {
        if (v > (max_file_tensor_elements - (t_[pos_] - '0')) / 10) fail("extent in 'shape' is larger than 2^40");
        v = v * 10 + (t_[pos_++] - '0');
      }
      if (peek_is('L')) ++pos_;  // Python 2 long suffix
      shape.push_back(v);
      if (shape.size() > static_cast<std::size_t>(max_file_tensor_rank)) fail("'shape' has more than 64 extents");
      skip_ws();
      if (peek_is(',')) {
        ++pos_;
        continue;
      }
      skip_ws();
      if (!peek_is(')')) fail("expected ',' or ')' in 'shape'");
    }
    ++pos_;
    return shape;
  }

  std::string_view t_;
  std::string ctx_;
  std::size_t pos_ = 0;
};
}  // namespace detail

// Parses a .npy file from `file` (a BinaryFile or a MemoryFile).
template <class Source>
inline NpyArray read_npy_from(Source& file) {
  const std::string& label = file.label();
  const std::uint64_t size = file.size();
  RAS_CHECK(size >= 10, label, ": truncated: the file has ", size, " bytes, fewer than the 10-byte preamble");
  unsigned char pre[12] = {};
  file.read(0, pre, 8, "the magic string and version");
  RAS_CHECK(std::memcmp(pre, "\x93NUMPY", 6) == 0, label, ": not a .npy file (the magic string \\x93NUMPY is missing)");
  const int major = pre[6], minor = pre[7];
  RAS_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, label, ": unsupported .npy version ", major, ".",
            minor, " (expected 1.0, 2.0 or 3.0)");
  const std::uint64_t len_size = major == 1 ? 2 : 4;
  file.read(8, pre + 8, len_size, "the header length");
  std::uint64_t hlen = 0;
  for (int i = static_cast<int>(len_size) - 1; i >= 0; --i) hlen = (hlen << 8) | pre[8 + i];
  const std::uint64_t data_start = 8 + len_size + hlen;
  RAS_CHECK(hlen <= size - 8 - len_size, label, ": truncated: the header length field declares ", hlen,
            " bytes but only ", size - 8 - len_size, " bytes follow it");
  RAS_CHECK(hlen <= max_npy_header_bytes, label, ": the header length field declares ", hlen,
            " bytes, more than the limit of ", max_npy_header_bytes);
  std::string header(static_cast<std::size_t>(hlen), '\0');
  file.read(8 + len_size, header.data(), hlen, "the header");

  std::string descr;
  bool fortran = false;
  NpyArray a;
  detail::NpyHeaderParser(header, label).parse(descr, fortran, a.shape);
  RAS_CHECK(!fortran, label, ": fortran_order is True; only C-order arrays are supported",
            " (save np.ascontiguousarray(x) instead)");
  auto t = dtype_from_npy_descr(descr);
  if (!t) {
    RAS_CHECK(descr.empty() || descr[0] != '>', label, ": dtype '", descr,
              "' is big-endian; only little-endian arrays are supported");
    ::ras::detail::throw_error(label, ": unsupported dtype '", descr,
                               "' (expected one of <f8 <f4 <f2 <i8 <i4 <i2 |i1 |u1 |b1)");
  }
  a.dtype = *t;
  const Index n = file_numel(a.shape, label);
  const std::uint64_t need = static_cast<std::uint64_t>(n) * dtype_size(a.dtype);
  const std::uint64_t have = size - data_start;
  RAS_CHECK(have >= need, label, ": truncated: dtype ", descr, " and shape ", shape_string(a.shape), " need ", need,
            " bytes of data but the file has ", have, " after the header");
  RAS_CHECK(have == need, label, ": dtype ", descr, " and shape ", shape_string(a.shape), " need ", need,
            " bytes of data but the file has ", have, " after the header (trailing bytes)");
  a.bytes.resize(static_cast<std::size_t>(need));
  file.read(data_start, a.bytes.data(), need, "the array data");
  if (a.dtype == DType::BOOL)
    for (std::size_t i = 0; i < a.bytes.size(); ++i)
      RAS_CHECK(a.bytes[i] <= 1, label, ": bool element ", i, " holds byte ", static_cast<int>(a.bytes[i]),
                " (expected 0 or 1)");
  return a;
}

// Reads any supported .npy file.
inline NpyArray read_npy(const std::filesystem::path& path) {
  BinaryFile file(path, "npy file");
  return read_npy_from(file);
}
// The same from bytes in memory; `label` starts the error messages.
inline NpyArray read_npy_bytes(const unsigned char* data, std::uint64_t size, const std::string& label) {
  MemoryFile file(data, size, label);
  return read_npy_from(file);
}

// Loads a .npy file as Tensor<T, R> (rank must match; the dtype is converted, see convert.hpp).
template <class T, int R>
inline Tensor<T, R> load_npy(const std::filesystem::path& path) {
  NpyArray a = read_npy(path);
  const std::string label = "npy file '" + path.string() + "'";
  RAS_CHECK(a.shape.size() == static_cast<std::size_t>(R), label, ": the array has shape ", shape_string(a.shape),
            " (rank ", a.shape.size(), ") but a rank-", R, " tensor was requested");
  Shape<R> shape{};
  if constexpr (R > 0) std::copy(a.shape.begin(), a.shape.end(), shape.begin());
  auto t = Tensor<T, R>::uninitialized(shape);
  convert_to<T>(a.dtype, a.bytes.data(), t.data(), a.numel(), label);
  return t;
}

// Writes numel(shape) elements of `dtype` (little-endian bytes at `data`) as a version 1.0 .npy
// file, atomically.
inline void write_npy(const std::filesystem::path& path, DType dtype, const std::vector<Index>& shape,
                      const void* data) {
  const Index n = file_numel(shape, "write_npy '" + path.string() + "'");
  std::string header = std::string("{'descr': '") + npy_descr(dtype) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) header += (i ? ", " : "") + std::to_string(shape[i]);
  header += shape.size() == 1 ? ",), }" : "), }";
  // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  RAS_CHECK(header.size() <= 65535, "write_npy '", path.string(), "': header too long");
  write_file_atomic(path, [&](std::ostream& out) {
    const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                   static_cast<unsigned char>(header.size() & 0xff),
                                   static_cast<unsigned char>(header.size() >> 8)};
    out.write(reinterpret_cast<const char*>(pre), 10);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(static_cast<std::size_t>(n) * dtype_size(dtype)));
  });
}

// t: any shape -> a .npy file of T's dtype (float '<f4', double '<f8', int64_t '<i8', bool '|b1', ...).
template <class T, int R, class D>
inline void save_npy(const std::filesystem::path& path, const Tensor<T, R, D>& t) {
  static_assert(is_host_device<D>, "save_npy: only host tensors can be written (copy with to<Cpu>() first)");
  write_npy(path, dtype_v<T>, std::vector<Index>(t.shape().begin(), t.shape().end()), t.data());
}

}  // namespace ras::io
