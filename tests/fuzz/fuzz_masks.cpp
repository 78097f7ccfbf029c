// tests/fuzz/fuzz_masks.cpp — libFuzzer harness for the dataset scanner's mask pairing
// (ras::data::detail::pair_masks): the input is a list of file names (one per line; the first byte
// picks the suffix rule: "_mask", "" or "_mask" with plain names accepted), as a folder listing
// would give them. Every mask found must belong to its stem, and every stem to one file.
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "ras/data/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 3;
  const std::string suffix = mode == 1 ? "" : "_mask";
  const bool accept_plain = mode == 2;
  std::vector<std::filesystem::path> files;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string name = text.substr(pos, end - pos);
    pos = end + 1;
    // What list_dir would return: image files (by extension), not hidden, no '/' or NUL in a name.
    if (name.empty() || name.find('/') != std::string::npos || name.find('\0') != std::string::npos) continue;
    const std::filesystem::path p = std::filesystem::path("/data/ground_truth/x") / name;
    if (ras::data::is_image_file(p)) files.push_back(p);
  }
  ras_fuzz::expect_only_ras_errors([&] {
    auto masks = ras::data::detail::pair_masks(files, suffix, accept_plain);
    for (const auto& [stem, path] : masks) {
      const std::string s = path.stem().string();
      if (!(s == stem || s == stem + suffix)) std::abort();
      if (!suffix.empty() && !accept_plain && s != stem + suffix) std::abort();
    }
    if (masks.size() > files.size()) std::abort();
  });
  return 0;
}
