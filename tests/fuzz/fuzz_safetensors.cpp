// tests/fuzz/fuzz_safetensors.cpp — libFuzzer harness for the safetensors reader
// (ras/io/safetensors.hpp): header length, JSON header, metadata, offsets, and every tensor read
// back converted to double.
#include <vector>

#include "fuzz_common.hpp"
#include "ras/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = ras_fuzz::scratch_path(".safetensors");
  ras_fuzz::write_scratch(path, data, size);
  ras_fuzz::expect_only_ras_errors([&] {
    ras::io::SafetensorsFile f(path);
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
