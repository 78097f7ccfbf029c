// tests/fuzz/fuzz_safetensors.cpp — libFuzzer harness for the safetensors reader
// (ras/io/safetensors.hpp): header length, JSON header, metadata, offsets, and every tensor read
// back converted to double. Parses from memory (MemoryFile), exactly as from a file.
#include <vector>

#include "fuzz_common.hpp"
#include "ras/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ras_fuzz::expect_only_ras_errors([&] {
    auto f = ras::io::SafetensorsFile::from_bytes(data, size, "fuzz");
    std::vector<double> values;
    for (const auto& k : f.keys()) {
      const auto& inf = f.info(k);
      if (inf.numel > (1 << 20)) continue;
      values.resize(static_cast<std::size_t>(inf.numel));
      f.get_into(k, ras::DType::F64, values.data(), inf.shape);
    }
  });
  return 0;
}
