// tests/fuzz/fuzz_metadata.cpp — libFuzzer harness for the validation of checkpoint and model
// metadata: the input is "key=value" lines (a map like a safetensors "__metadata__"), read by
// ras::train::read_checkpoint_progress (format, train.* fields) and ras::nn::config_from_metadata
// (ras.* fields, RasConfig::validate). The strict number parsers are checked against round trips.
#include <string>

#include "fuzz_common.hpp"
#include "ras/train/trainer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ras::io::Metadata m;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    const std::size_t eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
    pos = end + 1;
  }
  // Epoch count and steps per epoch as a run would have them (from the first bytes).
  const int epochs = size > 0 ? data[0] % 60 + 1 : 1;
  const ras::Index steps = size > 1 ? data[1] % 20 + 1 : 1;
  ras_fuzz::expect_only_ras_errors([&] {
    auto p = ras::train::read_checkpoint_progress(m, "fuzz", epochs, steps);
    if (p.epoch < 0 || p.epoch > epochs || p.step_in_epoch < 0 || p.step_in_epoch >= steps ||
        p.history.size() != static_cast<std::size_t>(p.epoch) || p.batch_size < 1)
      std::abort();
  });
  ras_fuzz::expect_only_ras_errors([&] {
    auto c = ras::nn::config_from_metadata(m, "fuzz");
    if (c.channels < 1 || c.hidden < 1 || c.heads < 1 || c.decoder_layers < 1 || c.feature_h < 1) std::abort();
    if (ras::nn::config_from_metadata(ras::nn::to_metadata(c), "round trip").hidden != c.hidden) std::abort();
  });
  for (const auto& [k, v] : m) {
    std::int64_t i = 0;
    if (ras::io::parse_int64(v, i) && std::to_string(i) != v && !(v.size() > 1 && (v[0] == '0' || (v[0] == '-' && v[1] == '0'))))
      std::abort();  // a successful parse consumed the whole text
  }
  return 0;
}
