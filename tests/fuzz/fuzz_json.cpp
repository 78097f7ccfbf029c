// tests/fuzz/fuzz_json.cpp — libFuzzer harness for the JSON reader (ras/io/json.hpp): a full
// structural walk (objects, arrays, strings with escapes and surrogates, integers, other values
// skipped), skip_value + end on the same text, and quote() of every string read, which must parse
// back to the same string.
#include <string>

#include "fuzz_common.hpp"
#include "ras/io/json.hpp"

namespace {
void walk(ras::io::json::Reader& r, int depth) {
  const char c = r.peek();
  if (depth >= 64) {
    r.skip_value();  // deeper levels: the reader's own depth limit applies
  } else if (c == '{') {
    r.begin_object();
    std::string key;
    for (bool first = true; r.next_member(key, first); first = false) walk(r, depth + 1);
  } else if (c == '[') {
    r.begin_array();
    for (bool first = true; r.next_element(first); first = false) walk(r, depth + 1);
  } else if (c == '"') {
    const std::string s = r.read_string();
    const std::string quoted = ras::io::json::quote(s);  // the Reader keeps a view: keep the text alive
    ras::io::json::Reader back(quoted, "quote");
    if (back.read_string() != s) std::abort();
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    r.read_int();  // non-integers are refused with ras::Error
  } else {
    r.skip_value();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ras_fuzz::expect_only_ras_errors([&] {
    ras::io::json::Reader r(text, "fuzz", 64);
    r.skip_value();
    r.end();
  });
  ras_fuzz::expect_only_ras_errors([&] {
    ras::io::json::Reader r(text, "fuzz", 64);
    walk(r, 0);
    r.end();
  });
  return 0;
}
