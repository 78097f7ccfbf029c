// Downstream consumer of ras::image (libpng, libjpeg-turbo and libstb found through rasConfig.cmake):
// writes a PNG with save_png, decodes it again with load_image and exits 0 only if the pixels match.
#include <cstdio>
#include <filesystem>

#include <ras/io/image.hpp>

int main() {
  ras::io::Image img(5, 7, 3);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 37);
  const auto path = std::filesystem::temp_directory_path() / "ras_consumer_roundtrip.png";
  ras::io::save_png(path.string(), img);
  const auto back = ras::io::load_image(path.string());
  std::filesystem::remove(path);
  const bool ok = back.height == 5 && back.width == 7 && back.pixels == img.pixels;
  std::printf("image round trip through ras::image: %s\n", ok ? "identical" : "DIFFERENT");
  return ok ? 0 : 1;
}
