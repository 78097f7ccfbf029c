// tests/fuzz/fuzz_common.hpp — shared by the libFuzzer harnesses: the rule every harness enforces:
// bad input may only end in ras::Error; any other exception, crash, leak or sanitizer report is a finding.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "ras/config.hpp"

namespace ras_fuzz {

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
