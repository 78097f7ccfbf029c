// ras/io/safetensors.hpp — read and write the safetensors format (huggingface/safetensors):
//   8-byte little-endian header length N | N bytes of JSON | the data buffer
// where the JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the buffer) plus an optional "__metadata__" object of string -> string.
// The reader validates everything the reference implementation (safetensors' Rust crate) does:
// header size (<= 100 MB, checked before allocating), JSON syntax, field types, dtype names,
// shapes, offsets that tile the buffer exactly (no overlap, gap or trailing byte), duplicate keys.
// Every error is a ras::Error whose message names the file and, where there is one, the tensor.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ras/dtype.hpp"
#include "ras/io/convert.hpp"
#include "ras/io/file.hpp"
#include "ras/io/json.hpp"
#include "ras/tensor.hpp"

namespace ras::io {

// Largest header accepted (the reference implementation's limit).
inline constexpr std::uint64_t max_safetensors_header_bytes = 100'000'000;
// "F32" -> DType::F32; std::nullopt for a name safetensors does not define (or ras does not read).
inline std::optional<DType> dtype_from_name(std::string_view name) {
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16,
                  DType::I8, DType::U8, DType::BOOL})
    if (name == dtype_name(t)) return t;
  return std::nullopt;
}

// One tensor entry of a safetensors header.
struct TensorInfo {
  DType dtype = DType::F32;
  std::vector<Index> shape;
  Index numel = 0;
  std::uint64_t begin = 0;  // byte offsets into the data buffer
  std::uint64_t end = 0;
  std::uint64_t nbytes() const { return end - begin; }
};

// A safetensors file read into memory (header parsed and validated, data buffer loaded).
//   SafetensorsFile f("model.safetensors");
//   auto w = f.get<float, 2>("fc.weight");   // any stored dtype converted to float
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path) {
    BinaryFile file(path, "safetensors file");
    path_ = path.string();
    init(file);
  }
  // Parses a safetensors file held in memory; `label` starts the error messages.
  static SafetensorsFile from_bytes(const unsigned char* data, std::uint64_t size, const std::string& label) {
    SafetensorsFile f;
    MemoryFile file(data, size, label);
    f.path_ = label;
    f.init(file);
    return f;
  }

 private:
  SafetensorsFile() = default;
  template <class Source>
  void init(Source& file) {
    label_ = file.label();
    const std::uint64_t size = file.size();
    RAS_CHECK(size >= 8, label_, ": truncated: the file has ", size,
              " bytes, fewer than the 8-byte header length");
    unsigned char len_bytes[8];
    file.read(0, len_bytes, 8, "the header length");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
    RAS_CHECK(n <= size - 8, label_, ": truncated: the header length field declares ", n,
              " bytes of JSON but only ", size - 8, " bytes follow it");
    RAS_CHECK(n <= max_safetensors_header_bytes, label_, ": the header length field declares ", n,
              " bytes, more than the limit of ", max_safetensors_header_bytes);
    std::string header(static_cast<std::size_t>(n), '\0');
    file.read(8, header.data(), n, "the JSON header");
    parse_header(header);
    const std::uint64_t buffer_size = size - 8 - n;
    check_offsets(buffer_size);
    data_.resize(static_cast<std::size_t>(buffer_size));
    file.read(8 + n, data_.data(), buffer_size, "the data buffer");
  }

 public:

  // The path as given, and the "safetensors file '<path>'" prefix of this file's errors.
  const std::string& path() const { return path_; }
  const std::string& label() const { return label_; }

  // Tensor names in the order of the header.
  const std::vector<std::string>& keys() const { return keys_; }
  bool has(const std::string& name) const { return infos_.count(name) != 0; }
  std::size_t size() const { return keys_.size(); }
  const TensorInfo& info(const std::string& name) const {
    auto it = infos_.find(name);
    RAS_CHECK(it != infos_.end(), label_, ": no tensor named '", name, "' (the file holds ", keys_.size(),
              " tensors)");
    return it->second;
  }
  // The "__metadata__" entries (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The stored little-endian bytes of a tensor (info(name).nbytes() of them).
  const unsigned char* raw(const std::string& name) const { return data_.data() + info(name).begin; }

  // The tensor `name` as Tensor<T, R>, converted from the stored dtype (see convert.hpp).
  template <class T, int R>
  Tensor<T, R> get(const std::string& name) const {
    const TensorInfo& inf = info(name);
    RAS_CHECK(inf.shape.size() == static_cast<std::size_t>(R), label_, ": tensor '", name, "' has shape ",
              shape_string(inf.shape), " (rank ", inf.shape.size(), ") but a rank-", R, " tensor was requested");
    Shape<R> shape{};
    if constexpr (R > 0) std::copy(inf.shape.begin(), inf.shape.end(), shape.begin());
    auto t = Tensor<T, R>::uninitialized(shape);
    convert_to<T>(inf.dtype, data_.data() + inf.begin, t.data(), inf.numel, tensor_label(name));
    return t;
  }

  // Copies the tensor `name` into dst (expected_shape.numel() elements), converting to T.
  // The stored shape must equal expected_shape.
  template <class T>
  void get_into(const std::string& name, T* dst, const std::vector<Index>& expected_shape) const {
    const TensorInfo& inf = check_shape(name, expected_shape);
    convert_to<T>(inf.dtype, data_.data() + inf.begin, dst, inf.numel, tensor_label(name));
  }
  // Rank- and type-erased form: dst holds elements of dtype dst_dtype.
  void get_into(const std::string& name, DType dst_dtype, void* dst, const std::vector<Index>& expected_shape) const {
    const TensorInfo& inf = check_shape(name, expected_shape);
    convert_dtype(inf.dtype, data_.data() + inf.begin, dst_dtype, dst, inf.numel, tensor_label(name));
  }

 private:
  std::string tensor_label(const std::string& name) const { return label_ + ": tensor '" + name + "'"; }

  const TensorInfo& check_shape(const std::string& name, const std::vector<Index>& expected) const {
    const TensorInfo& inf = info(name);
    RAS_CHECK(inf.shape == expected, label_, ": tensor '", name, "': expected shape ", shape_string(expected),
              " but the file holds shape ", shape_string(inf.shape));
    return inf;
  }

  void parse_header(const std::string& header) {
    json::Reader r(header, label_ + ": header");
    if (r.peek() != '{') r.fail(std::string("the header must be a JSON object but is a(n) ") + r.peek_kind());
    r.begin_object();
    std::string key;
    bool seen_metadata = false;
    for (bool first = true; r.next_member(key, first); first = false) {
      if (key == "__metadata__") {
        if (seen_metadata) r.fail("duplicate key \"__metadata__\"");
        seen_metadata = true;
        parse_metadata(r);
        continue;
      }
      if (infos_.count(key)) r.fail("duplicate tensor name " + json::quote(key));
      infos_.emplace(key, parse_entry(r, key));
      keys_.push_back(key);
    }
    r.end();
  }

  void parse_metadata(json::Reader& r) {
    if (r.peek() != '{')
      r.fail(std::string("\"__metadata__\" must be an object of strings but is a(n) ") + r.peek_kind());
    r.begin_object();
    std::string key;
    for (bool first = true; r.next_member(key, first); first = false) {
      if (metadata_.count(key)) r.fail("duplicate \"__metadata__\" key " + json::quote(key));
      if (r.peek() != '"')
        r.fail("\"__metadata__\" value of " + json::quote(key) + " must be a string but is a(n) " + r.peek_kind());
      metadata_[key] = r.read_string();
    }
  }

  TensorInfo parse_entry(json::Reader& r, const std::string& name) {
    const std::string where = "tensor '" + name + "'";
    if (r.peek() != '{') r.fail(where + ": expected an object but found a(n) " + r.peek_kind());
    r.begin_object();
    TensorInfo inf;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    std::string field;
    for (bool first = true; r.next_member(field, first); first = false) {
      if (field == "dtype") {
        if (has_dtype) r.fail(where + ": duplicate field \"dtype\"");
        has_dtype = true;
        if (r.peek() != '"') r.fail(where + ": \"dtype\" must be a string but is a(n) " + r.peek_kind());
        const std::string d = r.read_string();
        auto t = dtype_from_name(d);
        if (!t)
          r.fail(where + ": unknown dtype " + json::quote(d) +
                 " (expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
        inf.dtype = *t;
      } else if (field == "shape") {
        if (has_shape) r.fail(where + ": duplicate field \"shape\"");
        has_shape = true;
        inf.shape = read_int_array(r, where + ": \"shape\"", max_file_tensor_rank);
      } else if (field == "data_offsets") {
        if (has_offsets) r.fail(where + ": duplicate field \"data_offsets\"");
        has_offsets = true;
        auto off = read_int_array(r, where + ": \"data_offsets\"", 2);
        if (off.size() != 2)
          r.fail(where + ": \"data_offsets\" must hold 2 integers [begin, end] but holds " +
                 std::to_string(off.size()));
        if (off[0] < 0 || off[1] < 0)
          r.fail(where + ": \"data_offsets\" [" + std::to_string(off[0]) + ", " + std::to_string(off[1]) +
                 "] must not be negative");
        inf.begin = static_cast<std::uint64_t>(off[0]);
        inf.end = static_cast<std::uint64_t>(off[1]);
      } else {
        r.skip_value();  // unknown fields are ignored, as by the reference implementation
      }
    }
    const char* missing = !has_dtype ? "dtype" : !has_shape ? "shape" : !has_offsets ? "data_offsets" : nullptr;
    if (missing) r.fail(where + ": missing field \"" + missing + "\"");
    const std::string ctx = label_ + ": tensor '" + name + "'";
    inf.numel = file_numel(inf.shape, ctx);
    RAS_CHECK(inf.begin <= inf.end, ctx, ": data_offsets [", inf.begin, ", ", inf.end, "] have begin > end");
    const std::uint64_t need = static_cast<std::uint64_t>(inf.numel) * dtype_size(inf.dtype);
    RAS_CHECK(inf.end - inf.begin == need, ctx, ": data_offsets [", inf.begin, ", ", inf.end, "] span ",
              inf.end - inf.begin, " bytes but dtype ", dtype_name(inf.dtype), " and shape ",
              shape_string(inf.shape), " need ", need, " bytes");
    return inf;
  }

  // An array of at most max_len integers (one more is read to report the length).
  static std::vector<Index> read_int_array(json::Reader& r, const std::string& where, int max_len) {
    if (r.peek() != '[') r.fail(where + " must be an array of integers but is a(n) " + r.peek_kind());
    r.begin_array();
    std::vector<Index> out;
    for (bool first = true; r.next_element(first); first = false) {
      const char c = r.peek();
      if (c != '-' && (c < '0' || c > '9'))
        r.fail(where + " must be an array of integers but holds a(n) " + r.peek_kind());
      try {
        out.push_back(r.read_int());
      } catch (const Error& e) {
        throw Error(std::string(e.what()) + " (in " + where + ")");
      }
      if (out.size() > static_cast<std::size_t>(max_len))
        r.fail(where + " holds more than " + std::to_string(max_len) + " elements");
    }
    return out;
  }

  // The tensors must tile [0, buffer_size) exactly, as the reference implementation requires.
  void check_offsets(std::uint64_t buffer_size) const {
    std::vector<const std::string*> order;
    order.reserve(keys_.size());
    for (const auto& k : keys_) order.push_back(&k);
    std::sort(order.begin(), order.end(), [&](const std::string* a, const std::string* b) {
      const auto &ia = infos_.at(*a), &ib = infos_.at(*b);
      return ia.begin != ib.begin ? ia.begin < ib.begin : ia.end < ib.end;
    });
    std::uint64_t pos = 0;
    const std::string* prev = nullptr;
    for (const std::string* k : order) {
      const TensorInfo& inf = infos_.at(*k);
      RAS_CHECK(inf.end <= buffer_size, label_, ": tensor '", *k, "': data_offsets [", inf.begin, ", ", inf.end,
                "] reach past the end of the ", buffer_size, "-byte data buffer (truncated file?)");
      if (inf.begin < pos)
        ::ras::detail::throw_error(label_, ": tensors '", *prev, "' [", infos_.at(*prev).begin, ", ", pos,
                                   ") and '", *k, "' [", inf.begin, ", ", inf.end, ") overlap");
      RAS_CHECK(inf.begin == pos, label_, ": tensor '", *k, "' starts at byte ", inf.begin, " of the data buffer",
                " but the previous tensor ends at ", pos, " (gaps are not allowed)");
      pos = inf.end;
      prev = k;
    }
    RAS_CHECK(pos == buffer_size, label_, ": the data buffer has ", buffer_size, " bytes but the tensors cover ",
              pos, " (trailing bytes)");
  }

  std::string path_;
  std::string label_;
  std::vector<std::string> keys_;
  std::map<std::string, TensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
  std::vector<unsigned char> data_;
};

// Collects tensors (copied when added) and metadata, then writes one safetensors file atomically.
//   SafetensorsWriter w;
//   w.set_metadata("format", "ras");
//   w.add("fc.weight", weight);                 // stored as the tensor's own dtype
//   w.add("fc.weight_bf16", weight, DType::BF16);  // converted (round to nearest even)
//   w.write("model.safetensors");
// Data are laid out by decreasing element size, so every tensor is aligned to its element size.
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  // t: any shape, stored as dtype `as` (default: T's own dtype).
  template <class T, int R, class D>
  void add(const std::string& name, const Tensor<T, R, D>& t, DType as = dtype_v<T>) {
    static_assert(is_host_device<D>, "SafetensorsWriter: only host tensors can be written");
    add(name, t.data(), std::vector<Index>(t.shape().begin(), t.shape().end()), as);
  }
  // data: numel(shape) values in row-major order.
  template <class T>
  void add(const std::string& name, const T* data, const std::vector<Index>& shape, DType as = dtype_v<T>) {
    const Index n = check_new(name, shape);
    std::vector<unsigned char> bytes(static_cast<std::size_t>(n) * dtype_size(as));
    convert_from<T>(data, as, bytes.data(), n, "SafetensorsWriter: tensor '" + name + "'");
    entries_.push_back({name, as, shape, std::move(bytes)});
    names_.insert(name);
  }
  // Already encoded little-endian bytes (numel(shape) * dtype_size(dtype) of them).
  void add_raw(const std::string& name, DType dtype, const std::vector<Index>& shape, std::vector<unsigned char> bytes) {
    const Index n = check_new(name, shape);
    RAS_CHECK(bytes.size() == static_cast<std::size_t>(n) * dtype_size(dtype), "SafetensorsWriter: tensor '", name,
              "': expected ", static_cast<std::size_t>(n) * dtype_size(dtype), " bytes for ", dtype_name(dtype),
              " shape ", shape_string(shape), " but got ", bytes.size());
    if (dtype == DType::BOOL)
      for (std::size_t i = 0; i < bytes.size(); ++i)
        RAS_CHECK(bytes[i] <= 1, "SafetensorsWriter: tensor '", name, "': BOOL byte ", i, " is ",
                  static_cast<int>(bytes[i]), " (expected 0 or 1)");
    entries_.push_back({name, dtype, shape, std::move(bytes)});
    names_.insert(name);
  }

  bool has(const std::string& name) const {
    return names_.count(name) != 0;
  }
  std::size_t size() const { return entries_.size(); }

  // The complete file content.
  std::vector<unsigned char> to_bytes() const {
    std::ostringstream s;
    write_to(s);
    const std::string out = s.str();
    return std::vector<unsigned char>(out.begin(), out.end());
  }
  // Writes the file atomically (temporary file + rename); ras::Error names the path on failure.
  void write(const std::filesystem::path& path) const {
    write_file_atomic(path, [&](std::ostream& out) { write_to(out); });
  }

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<Index> shape;
    std::vector<unsigned char> bytes;
  };

  Index check_new(const std::string& name, const std::vector<Index>& shape) const {
    RAS_CHECK(!name.empty() && name != "__metadata__", "SafetensorsWriter: invalid tensor name '", name, "'");
    RAS_CHECK(!has(name), "SafetensorsWriter: tensor '", name, "' was already added");
    return file_numel(shape, "SafetensorsWriter: tensor '" + name + "'");
  }

  void write_to(std::ostream& out) const {
    std::vector<std::size_t> order(entries_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return dtype_size(entries_[a].dtype) > dtype_size(entries_[b].dtype);
    });
    std::vector<std::uint64_t> begin(entries_.size());
    std::uint64_t pos = 0;
    for (std::size_t i : order) {
      begin[i] = pos;
      pos += entries_[i].bytes.size();
    }
    std::string h = "{\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata_) {
      h += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    h += "}";
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      h += "," + json::quote(e.name) + ":{\"dtype\":\"" + dtype_name(e.dtype) + "\",\"shape\":[";
      for (std::size_t d = 0; d < e.shape.size(); ++d) h += (d ? "," : "") + std::to_string(e.shape[d]);
      h += "],\"data_offsets\":[" + std::to_string(begin[i]) + "," + std::to_string(begin[i] + e.bytes.size()) + "]}";
    }
    h += "}";
    h.append((8 - h.size() % 8) % 8, ' ');
    RAS_CHECK(h.size() <= max_safetensors_header_bytes, "SafetensorsWriter: the header would have ", h.size(),
              " bytes, more than the limit of ", max_safetensors_header_bytes);
    unsigned char len[8];
    std::uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (std::size_t i : order)
      out.write(reinterpret_cast<const char*>(entries_[i].bytes.data()),
                static_cast<std::streamsize>(entries_[i].bytes.size()));
  }

  std::map<std::string, std::string> metadata_;
  std::vector<Entry> entries_;
  std::set<std::string> names_;
};

}  // namespace ras::io
