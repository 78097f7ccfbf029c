// tests/fuzz/fuzz_image.cpp — libFuzzer harness for image decoding (ras/io/image_decode.hpp: PNG via
// libpng, JPEG via libjpeg-turbo, BMP via our reader) and the conversions of load_image (RGB, gray,
// float). The pixel limit is lowered to 2^22 so that huge claims are refused fast.
#include "fuzz_common.hpp"
#include "ras/io/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ras_fuzz::expect_only_ras_errors([&] {
    auto d = ras::io::decode_image(data, size, "fuzz", ras::Index(1) << 22);
    if (d.width * d.height * d.channels != ras::Index(d.bits == 8 ? d.samples8.size() : d.samples16.size())) std::abort();
    auto rgb = ras::io::convert_decoded<std::uint8_t>(d, 3);
    auto gray = ras::io::convert_decoded<std::uint8_t>(d, 1);
    auto f = ras::io::convert_decoded<float>(d, 3);
    if (rgb.numel() != 3 * gray.numel() || f.numel() != rgb.numel()) std::abort();
  });
  return 0;
}
