// ras/io/metadata.hpp — strict readers for the string -> string metadata of safetensors files
// (checkpoints, models): a field is looked up, parsed in full (no leading '+', spaces or trailing
// characters, no overflow) and range-checked, and every failure is one ras::Error naming the file,
// the field, what was expected and what was found. Never std::stoi / map::at on file content.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <system_error>

#include "ras/config.hpp"

namespace ras::io {

using Metadata = std::map<std::string, std::string>;

// Parses the whole of `s` as a decimal integer ("-12", "0"); false on anything else or overflow.
inline bool parse_int64(const std::string& s, std::int64_t& out) {
  if (s.empty() || s.size() > 24) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto [p, ec] = std::from_chars(b, e, out, 10);
  return ec == std::errc() && p == e;
}
inline bool parse_uint64(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.size() > 24 || s[0] == '-') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  return ec == std::errc() && p == s.data() + s.size();
}
// Parses the whole of `s` as a finite real number ("1e-4", "-0.5"); false on anything else, NaN or Inf.
inline bool parse_finite_double(const std::string& s, double& out) {
  if (s.empty() || s.size() > 64) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::general);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

// The value of `key`; `where` ("checkpoint '/run/checkpoint.safetensors'") starts the message.
inline const std::string& meta_string(const Metadata& m, const std::string& key, const std::string& where) {
  auto it = m.find(key);
  RAS_CHECK(it != m.end(), where, ": metadata field '", key, "' is missing");
  return it->second;
}

// The value of `key` as an integer in [lo, hi].
inline std::int64_t meta_int(const Metadata& m, const std::string& key, std::int64_t lo, std::int64_t hi,
                             const std::string& where) {
  const std::string& v = meta_string(m, key, where);
  std::int64_t x = 0;
  RAS_CHECK(parse_int64(v, x) && x >= lo && x <= hi, where, ": metadata field '", key, "': expected an integer in [",
            lo, ", ", hi, "] but found '", v.substr(0, 64), v.size() > 64 ? "..." : "", "'");
  return x;
}

// The value of `key` as a finite real number in [lo, hi].
inline double meta_real(const Metadata& m, const std::string& key, double lo, double hi, const std::string& where) {
  const std::string& v = meta_string(m, key, where);
  double x = 0;
  RAS_CHECK(parse_finite_double(v, x) && x >= lo && x <= hi, where, ": metadata field '", key,
            "': expected a finite number in [", lo, ", ", hi, "] but found '", v.substr(0, 64),
            v.size() > 64 ? "..." : "", "'");
  return x;
}

}  // namespace ras::io
