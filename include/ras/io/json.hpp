// ras/io/json.hpp — a minimal, strict JSON pull reader and a string quoter, enough for the
// safetensors header. The reader builds no tree: the caller asks for the value it expects
// (object member, array element, string, integer) and unknown values are skipped, so memory stays
// proportional to what is kept and hostile input (deep nesting, huge numbers, bad escapes,
// trailing commas, control characters) ends in ras::Error naming the byte offset. RFC 8259
// grammar; nesting is limited to max_depth.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "ras/config.hpp"

namespace ras::io::json {

class Reader {
 public:
  // `context` prefixes every error, e.g. "safetensors file 'x.safetensors': header".
  Reader(std::string_view text, std::string context, int max_depth = 64)
      : text_(text), context_(std::move(context)), max_depth_(max_depth) {}

  std::size_t offset() const { return pos_; }
  const std::string& context() const { return context_; }

  // The first character of the next value: '{', '[', '"', 't', 'f', 'n', '-' or a digit.
  char peek() {
    skip_ws();
    RAS_CHECK(pos_ < text_.size(), context_, ": unexpected end of JSON at byte ", pos_);
    return text_[pos_];
  }
  // A name for the kind of the next value ("object", "array", "string", "number", ...).
  const char* peek_kind() {
    switch (peek()) {
      case '{': return "object";
      case '[': return "array";
      case '"': return "string";
      case 't': case 'f': return "boolean";
      case 'n': return "null";
      case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8':
      case '9': return "number";
      default: return "invalid JSON value";
    }
  }

  void begin_object() { expect('{', "an object"); }
  // Object iteration: for (bool first = true; r.next_member(key, first); first = false) { read value }
  // Returns false (and consumes '}') at the end of the object.
  bool next_member(std::string& key, bool first) {
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return false;
    }
    if (!first) expect(',', "',' or '}'");
    key = read_string();
    expect(':', "':'");
    return true;
  }

  void begin_array() { expect('[', "an array"); }
  // Array iteration, like next_member. Returns false (and consumes ']') at the end.
  bool next_element(bool first) {
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return false;
    }
    if (!first) expect(',', "',' or ']'");
    return true;
  }

  std::string read_string() {
    skip_ws();
    if (pos_ >= text_.size() || text_[pos_] != '"') fail_expected("a string");
    ++pos_;
    std::string out;
    while (true) {
      RAS_CHECK(pos_ < text_.size(), context_, ": unterminated string at byte ", pos_);
      const auto c = static_cast<unsigned char>(text_[pos_++]);
      if (c == '"') return out;
      if (c < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      RAS_CHECK(pos_ < text_.size(), context_, ": unterminated string at byte ", pos_);
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = read_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // high surrogate: a low one must follow
            if (pos_ + 1 < text_.size() && text_[pos_] == '\\' && text_[pos_ + 1] == 'u') {
              pos_ += 2;
              const std::uint32_t lo = read_hex4();
              if (lo < 0xDC00 || lo > 0xDFFF) fail("invalid UTF-16 surrogate pair in \\u escape");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              fail("unpaired UTF-16 surrogate in \\u escape");
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired UTF-16 surrogate in \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("invalid escape sequence in a string");
      }
    }
  }

  // An integer literal (no fraction or exponent) that fits in int64.
  std::int64_t read_int() {
    skip_ws();
    const std::size_t start = pos_;
    bool negative = false;
    if (pos_ < text_.size() && text_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    if (pos_ >= text_.size() || !is_digit(text_[pos_])) {
      pos_ = start;
      fail_expected("an integer");
    }
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))
      fail("leading zeros are not allowed in JSON numbers");
    // Accumulate as a negative number so INT64_MIN is representable.
    std::int64_t v = 0;
    constexpr std::int64_t lo = std::numeric_limits<std::int64_t>::min();
    while (pos_ < text_.size() && is_digit(text_[pos_])) {
      const int d = text_[pos_] - '0';
      if (v < (lo + d) / 10) fail("integer out of the 64-bit range");
      v = v * 10 - d;
      ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      pos_ = start;
      fail_expected("an integer (got a number with a fraction or exponent)");
    }
    if (!negative) {
      if (v == lo) fail("integer out of the 64-bit range");
      v = -v;
    }
    return v;
  }

  // Skips any one value (validating its syntax).
  void skip_value() { skip_value(0); }

  // Requires that only whitespace remains.
  void end() {
    skip_ws();
    if (pos_ != text_.size()) fail("unexpected data after the JSON value");
  }

  [[noreturn]] void fail(const std::string& message) const {
    ::ras::detail::throw_error(context_, ": ", message, " at byte ", pos_);
  }
  [[noreturn]] void fail_expected(const char* expected) {
    std::string got = "end of input";
    if (pos_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      got = (c >= 0x20 && c < 0x7f) ? std::string("'") + static_cast<char>(c) + "'"
                                    : "byte " + std::to_string(static_cast<int>(c));
    }
    fail(std::string("expected ") + expected + " but found " + got);
  }

 private:
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  void skip_ws() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c, const char* what) {
    skip_ws();
    if (pos_ >= text_.size() || text_[pos_] != c) fail_expected(what);
    ++pos_;
  }

  std::uint32_t read_hex4() {
    if (text_.size() - pos_ < 4) fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else fail("invalid hex digit in \\u escape");
    }
    return v;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  void skip_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail_expected("a JSON value");
    pos_ += word.size();
  }

  void skip_number() {
    const std::size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ >= text_.size() || !is_digit(text_[pos_])) {
      pos_ = start;
      fail_expected("a JSON value");
    }
    if (text_[pos_] == '0') {
      ++pos_;
      if (pos_ < text_.size() && is_digit(text_[pos_])) fail("leading zeros are not allowed in JSON numbers");
    } else {
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (pos_ >= text_.size() || !is_digit(text_[pos_])) fail("expected a digit after '.'");
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (pos_ >= text_.size() || !is_digit(text_[pos_])) fail("expected a digit in the exponent");
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
  }

  void skip_value(int depth) {
    if (depth >= max_depth_) fail("JSON nested deeper than " + std::to_string(max_depth_) + " levels");
    switch (peek()) {
      case '{': {
        begin_object();
        std::string key;
        for (bool first = true; next_member(key, first); first = false) skip_value(depth + 1);
        return;
      }
      case '[': {
        begin_array();
        for (bool first = true; next_element(first); first = false) skip_value(depth + 1);
        return;
      }
      case '"': (void)read_string(); return;
      case 't': skip_literal("true"); return;
      case 'f': skip_literal("false"); return;
      case 'n': skip_literal("null"); return;
      default: skip_number(); return;
    }
  }

  std::string_view text_;
  std::string context_;
  int max_depth_;
  std::size_t pos_ = 0;
};

// A JSON string literal for s (quotes added; '"', '\\' and control characters escaped; other bytes,
// UTF-8 included, copied as they are).
inline std::string quote(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

}  // namespace ras::io::json
