// tests/fuzz/fuzz_npy.cpp — libFuzzer harness for the .npy reader (ras/io/npy.hpp): magic, version,
// header dict, dtype, shape, data size, and the values converted to double.
#include "fuzz_common.hpp"
#include "ras/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ras_fuzz::expect_only_ras_errors([&] {
    auto a = ras::io::read_npy_bytes(data, size, "fuzz");
    if (a.numel() <= (1 << 20)) {
      auto v = a.values<double>();
      if (static_cast<ras::Index>(v.size()) != a.numel()) std::abort();
    }
  });
  return 0;
}
