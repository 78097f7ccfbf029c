// Tests for ras/io/image.hpp and ras/io/image_resize.hpp against Pillow 9.4 / torchvision 0.14
// (fixtures from tests/fixtures/make_image_fixtures.py): decoding of PNG (8/16-bit, gray, LA, RGBA,
// palette), BMP and JPEG, Pillow's BILINEAR and NEAREST resizes bit for bit, the normalisations,
// masks, PNG writing, and refusal of hostile files. Needs libpng, libjpeg and libstb (ras::image).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ras/io/image.hpp"
#include "ras/random.hpp"

namespace fs = std::filesystem;
using ras::Index;
using ras::io::Image;

namespace {
const std::string fixtures = std::string(RAS_SOURCE_DIR) + "/tests/fixtures/images/";

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.is_open(), "missing fixture " << path << " (run tests/fixtures/make_image_fixtures.py)");
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
template <class T>
std::vector<T> read_raw(const std::string& name) {
  auto b = read_bytes(fixtures + name);
  std::vector<T> v(b.size() / sizeof(T));
  std::memcpy(v.data(), b.data(), v.size() * sizeof(T));  // fixtures are little-endian, like x86/ARM
  return v;
}
void write_bytes(const fs::path& p, const std::vector<std::uint8_t>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
int max_abs_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  REQUIRE(a.size() == b.size());
  int m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(int(a[i]) - int(b[i])));
  return m;
}
// A fresh folder under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    ras::Rng rng(static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    path = fs::temp_directory_path() / ("ras_test_image_" + std::to_string(rng.next_u64()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
// The message of the ras::Error thrown by f, or "" when nothing is thrown.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ras::Error& e) {
    return e.what();
  }
  return "";
}
std::uint32_t crc32(const std::uint8_t* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
}  // namespace

TEST_CASE("image: decoding PNG, BMP, gray, LA, RGBA, palette into RGB") {
  auto rgb = ras::io::load_image(fixtures + "rgb.png");
  CHECK(rgb.height == 23);
  CHECK(rgb.width == 37);
  CHECK(rgb.channels == 3);
  CHECK(ras::io::load_image(fixtures + "rgb.bmp").pixels == rgb.pixels);
  CHECK(ras::io::load_image(fixtures + "rgba.png").pixels == rgb.pixels);  // alpha dropped
  CHECK(ras::io::load_image(fixtures + "palette.png").pixels == read_raw<std::uint8_t>("palette_rgb.u8"));

  auto gray = ras::io::load_image(fixtures + "gray.png", 1);
  REQUIRE(gray.channels == 1);
  CHECK(ras::io::load_image(fixtures + "gray.bmp", 1).pixels == gray.pixels);
  CHECK(ras::io::load_image(fixtures + "la.png", 1).pixels == gray.pixels);
  auto gray3 = ras::io::load_image(fixtures + "gray.png");
  bool replicated = true;
  for (Index i = 0; i < gray.numel(); ++i)
    for (int c = 0; c < 3; ++c) replicated &= gray3.pixels[std::size_t(i * 3 + c)] == gray.pixels[std::size_t(i)];
  CHECK(replicated);
  CHECK(ras::io::load_image(fixtures + "la.png").pixels == gray3.pixels);
  CHECK(error_of([] { ras::io::load_image(fixtures + "rgb.png", 2); }).find("channels 1 or 3") != std::string::npos);
}

TEST_CASE("image: 16-bit PNGs keep the high byte (Pillow for RGB), load_image_f gives v / 257") {
  auto v = read_raw<std::uint16_t>("rgb16.u16");
  auto img = ras::io::load_image(fixtures + "rgb16.png");
  REQUIRE(img.height == 11);
  REQUIRE(img.width == 13);
  auto f = ras::io::load_image_f(fixtures + "rgb16.png");
  REQUIRE(f.numel() == Index(v.size()));
  bool high = true, scaled = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    high &= img.pixels[i] == (v[i] >> 8);
    scaled &= f.pixels[i] == float(v[i]) / 257.0f;
  }
  CHECK(high);
  CHECK(scaled);
  CHECK(f.pixels != std::vector<float>(img.pixels.begin(), img.pixels.end()));  // the low byte is kept

  auto g = read_raw<std::uint16_t>("gray16.u16");
  auto gi = ras::io::load_image(fixtures + "gray16.png");
  auto gf = ras::io::load_image_f(fixtures + "gray16.png");
  REQUIRE(gi.numel() == Index(3 * g.size()));
  bool ok = true;
  for (std::size_t i = 0; i < g.size(); ++i)
    for (int c = 0; c < 3; ++c)
      ok &= gi.pixels[3 * i + std::size_t(c)] == (g[i] >> 8) && gf.pixels[3 * i + std::size_t(c)] == float(g[i]) / 257.0f;
  CHECK(ok);
  // 8-bit files: load_image_f holds exactly the bytes.
  auto rgb = ras::io::load_image(fixtures + "rgb.png");
  auto rgbf = ras::io::load_image_f(fixtures + "rgb.png");
  CHECK(rgbf.pixels == std::vector<float>(rgb.pixels.begin(), rgb.pixels.end()));
}

TEST_CASE("image: JPEG decoding equals Pillow's (both libjpeg-turbo) byte for byte") {
  auto img = ras::io::load_image(fixtures + "photo.jpg");
  auto pil = read_raw<std::uint8_t>("photo_pil.u8");
  REQUIRE(img.numel() == Index(pil.size()));
  CHECK(max_abs_diff(img.pixels, pil) == 0);
}

TEST_CASE("image: resize_bilinear equals Pillow's Image.resize(BILINEAR) bit for bit") {
  auto rgb = ras::io::load_image(fixtures + "rgb.png");
  for (auto [h, w] : {std::pair<Index, Index>{16, 16}, {40, 50}, {7, 30}, {11, 60}}) {
    CAPTURE(h);
    CAPTURE(w);
    auto r = ras::io::resize_bilinear(rgb, h, w);
    CHECK(r.height == h);
    CHECK(r.width == w);
    CHECK(r.pixels == read_raw<std::uint8_t>("rgb_bil_" + std::to_string(h) + "x" + std::to_string(w) + ".u8"));
  }
  auto gray = ras::io::load_image(fixtures + "gray.png", 1);
  CHECK(ras::io::resize_bilinear(gray, 16, 16).pixels == read_raw<std::uint8_t>("gray_bil_16x16.u8"));
  // 1024 -> 224: a 4.57x downscale (support 4.57 taps each side), along either axis.
  auto wide = ras::io::load_image(fixtures + "ramp_wide.png");
  CHECK(ras::io::resize_bilinear(wide, 3, 224).pixels == read_raw<std::uint8_t>("ramp_wide_bil_3x224.u8"));
  auto tall = ras::io::load_image(fixtures + "ramp_tall.png");
  CHECK(ras::io::resize_bilinear(tall, 224, 3).pixels == read_raw<std::uint8_t>("ramp_tall_bil_224x3.u8"));
  // Same size is the identity (Pillow returns a copy).
  CHECK(ras::io::resize_bilinear(rgb, 23, 37).pixels == rgb.pixels);
  CHECK(error_of([&] { ras::io::resize_bilinear(rgb, 0, 5); }).find("0x5") != std::string::npos);
  Image broken(4, 4, 3);
  broken.pixels.pop_back();
  CHECK_THROWS_AS(ras::io::resize_bilinear(broken, 2, 2), ras::Error);
}

TEST_CASE("image: resize_nearest equals Pillow's Image.resize(NEAREST), including its rounding at ties") {
  auto rgb = ras::io::load_image(fixtures + "rgb.png");
  CHECK(ras::io::resize_nearest(rgb, 16, 16).pixels == read_raw<std::uint8_t>("rgb_nn_16x16.u8"));
  CHECK(ras::io::resize_nearest(rgb, 40, 50).pixels == read_raw<std::uint8_t>("rgb_nn_40x50.u8"));
  // The ramps encode each source index: Pillow accumulates x_o += 1024 / 224 in double, so output
  // column 3 reads source 15 although (3 + 0.5) * 1024 / 224 is exactly 16.
  auto wide = ras::io::resize_nearest(ras::io::load_image(fixtures + "ramp_wide.png"), 3, 224);
  CHECK(wide.pixels == read_raw<std::uint8_t>("ramp_wide_nn_3x224.u8"));
  CHECK(wide(0, 3, 0) + 256 * wide(0, 3, 1) == 15);
  auto tall = ras::io::resize_nearest(ras::io::load_image(fixtures + "ramp_tall.png"), 224, 3);
  CHECK(tall.pixels == read_raw<std::uint8_t>("ramp_tall_nn_224x3.u8"));
}

TEST_CASE("image: to_tensor, the normalisations and preprocess match torchvision") {
  auto rgb = ras::io::load_image(fixtures + "rgb.png");
  auto t = ras::io::to_tensor(rgb);
  CHECK(t.shape() == ras::Shape<4>{1, 3, 23, 37});
  CHECK(t(0, 2, 5, 7) == float(rgb(5, 7, 2)) / 255.0f);
  CHECK(t(0, 0, 22, 36) == float(rgb(22, 36, 0)) / 255.0f);

  // Resize((16, 16)) + ToTensor + Normalize(ImageNet) in torchvision: float32 results are identical.
  auto x = ras::io::preprocess(rgb, 16, ras::io::Normalization::imagenet);
  CHECK(x.shape() == ras::Shape<4>{1, 3, 16, 16});
  auto ref = read_raw<float>("rgb_imagenet_16.f32");
  REQUIRE(ref.size() == std::size_t(x.numel()));
  CHECK(std::equal(ref.begin(), ref.end(), x.data()));
  auto y = ras::io::preprocess(rgb, 16, ras::io::Normalization::symmetric);
  auto ref_sym = read_raw<float>("rgb_symmetric_16.f32");
  REQUIRE(ref_sym.size() == std::size_t(y.numel()));
  CHECK(std::equal(ref_sym.begin(), ref_sym.end(), y.data()));
  auto u = ras::io::preprocess(rgb, 16, ras::io::Normalization::unit);
  auto small = ras::io::resize_bilinear(rgb, 16, 16);
  CHECK(u(0, 1, 3, 4) == float(small(3, 4, 1)) / 255.0f);
  // Double precision is available for gradient checks.
  auto d = ras::io::preprocess<double>(rgb, 16);
  CHECK(d(0, 0, 0, 0) == doctest::Approx(double(x(0, 0, 0, 0))).epsilon(1e-6));
  auto gray = ras::io::load_image(fixtures + "gray.png", 1);
  CHECK(error_of([&] { ras::io::preprocess(gray, 16); }).find("3 channels but got 1") != std::string::npos);
  CHECK(ras::io::load_preprocessed(fixtures + "rgb.png", 16).shape() == ras::Shape<4>{1, 3, 16, 16});
}

TEST_CASE("image: load_mask is Pillow NEAREST then > 0") {
  for (auto [h, w] : {std::pair<Index, Index>{16, 16}, {40, 50}}) {
    CAPTURE(h);
    auto ref = read_raw<std::uint8_t>("mask_nn_" + std::to_string(h) + "x" + std::to_string(w) + ".u8");
    auto r = ras::io::resize_nearest(ras::io::load_image(fixtures + "mask.png", 1), h, w);
    CHECK(r.pixels == ref);
  }
  auto m = ras::io::load_mask(fixtures + "mask.png", 40);
  CHECK(m.shape() == ras::Shape<2>{40, 40});
  auto src = ras::io::resize_nearest(ras::io::load_image(fixtures + "mask.png", 1), 40, 40);
  bool ok = true;
  int ones = 0, faint = 0;
  for (Index i = 0; i < m.numel(); ++i) {
    const auto v = src.pixels[std::size_t(i)];
    ok &= m.data()[i] == (v > 0 ? 1.0f : 0.0f);
    ones += m.data()[i] == 1.0f;
    faint += v > 0 && v < 255;  // the faint pixels (1, 7, 128) count as anomalous too
  }
  CHECK(ok);
  CHECK(ones > 0);
  CHECK(ones < 40 * 40);
  CHECK(faint > 0);
}

TEST_CASE("image: save_png round-trips and reports unwritable paths") {
  TempDir tmp;
  auto rgb = ras::io::load_image(fixtures + "rgb.png");
  const std::string p = (tmp.path / "out.png").string();
  ras::io::save_png(p, rgb);
  CHECK(ras::io::load_image(p).pixels == rgb.pixels);
  auto gray = ras::io::load_image(fixtures + "gray.png", 1);
  ras::io::save_png(p, gray);  // overwrites
  CHECK(ras::io::load_image(p, 1).pixels == gray.pixels);
  const std::string bad = (tmp.path / "no_such_dir" / "x.png").string();
  CHECK(error_of([&] { ras::io::save_png(bad, rgb); }).find(bad) != std::string::npos);
  CHECK_THROWS_AS(ras::io::save_png(p, Image()), ras::Error);
}

TEST_CASE("image: hostile files give a ras::Error naming the file") {
  TempDir tmp;
  auto expect_error = [](const fs::path& p, const char* words) {
    const std::string msg = error_of([&] { ras::io::load_image(p.string()); });
    CAPTURE(msg);
    CHECK(msg.find(p.string()) != std::string::npos);
    CHECK(msg.find(words) != std::string::npos);
    CHECK(error_of([&] { ras::io::load_image_f(p.string()); }).find(p.string()) != std::string::npos);
    CHECK(error_of([&] { ras::io::load_mask(p.string(), 8); }).find(p.string()) != std::string::npos);
  };
  expect_error(tmp.path / "missing.png", "does not exist");
  expect_error(tmp.path, "not a regular file");
  write_bytes(tmp.path / "empty.png", {});
  expect_error(tmp.path / "empty.png", "empty");

  ras::Rng rng(7);
  std::vector<std::uint8_t> noise(4096);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng.next_u64());
  noise[0] = 0x13;  // not by chance a signature
  write_bytes(tmp.path / "noise.png", noise);
  expect_error(tmp.path / "noise.png", "not an image");
  const std::string text = "this is not an image\n";
  write_bytes(tmp.path / "text.jpg", std::vector<std::uint8_t>(text.begin(), text.end()));
  expect_error(tmp.path / "text.jpg", "not an image");

  // Truncated PNGs: inside the signature, inside IHDR, inside IDAT, without IEND.
  const auto png = read_bytes(fixtures + "rgb.png");
  for (std::size_t keep : {std::size_t(5), std::size_t(20), png.size() / 2, png.size() - 12}) {
    CAPTURE(keep);
    write_bytes(tmp.path / "cut.png", std::vector<std::uint8_t>(png.begin(), png.begin() + std::ptrdiff_t(keep)));
    expect_error(tmp.path / "cut.png", "");
  }
  // A valid PNG signature with random bytes after it.
  auto garbage = noise;
  std::copy(png.begin(), png.begin() + 8, garbage.begin());
  write_bytes(tmp.path / "garbage.png", garbage);
  expect_error(tmp.path / "garbage.png", "libpng");
  const auto jpg = read_bytes(fixtures + "photo.jpg");
  write_bytes(tmp.path / "cut.jpg", std::vector<std::uint8_t>(jpg.begin(), jpg.begin() + std::ptrdiff_t(jpg.size() * 2 / 3)));
  expect_error(tmp.path / "cut.jpg", "truncated JPEG");
  const auto bmp = read_bytes(fixtures + "rgb.bmp");
  write_bytes(tmp.path / "cut.bmp", std::vector<std::uint8_t>(bmp.begin(), bmp.end() - 200));
  expect_error(tmp.path / "cut.bmp", "truncated BMP");

  // Headers claiming 100000 x 100000 pixels (a valid IHDR with its CRC; a BMP header): refused
  // from the header, before stb allocates anything.
  std::vector<std::uint8_t> huge(png.begin(), png.begin() + 33);
  auto put32be = [&](std::size_t off, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) huge[off + std::size_t(i)] = std::uint8_t(v >> (24 - 8 * i));
  };
  put32be(16, 100000);
  put32be(20, 100000);
  put32be(29, crc32(&huge[12], 17));
  huge.insert(huge.end(), png.begin() + 33, png.end());  // the original IDAT and IEND
  write_bytes(tmp.path / "huge.png", huge);
  expect_error(tmp.path / "huge.png", "100000x100000");
  auto huge_bmp = bmp;
  for (std::size_t off : {std::size_t(18), std::size_t(22)})
    for (int i = 0; i < 4; ++i) huge_bmp[off + std::size_t(i)] = std::uint8_t(100000u >> (8 * i));
  write_bytes(tmp.path / "huge.bmp", huge_bmp);
  expect_error(tmp.path / "huge.bmp", "100000x100000");
  auto huge_jpg = jpg;  // baseline SOF0: FF C0, length, precision, height, width
  const int sof0[] = {0xFF, 0xC0};
  const auto sof = std::search(huge_jpg.begin(), huge_jpg.end(), std::begin(sof0), std::end(sof0),
                               [](std::uint8_t a, int b) { return a == b; });
  REQUIRE(sof != huge_jpg.end());
  for (int i : {5, 6, 7, 8}) sof[i] = 0xEA;  // 60138 x 60138
  write_bytes(tmp.path / "huge.jpg", huge_jpg);
  expect_error(tmp.path / "huge.jpg", "60138x60138");
}

TEST_CASE("image: grace_hopper.jpg decoded and resized to 224 exactly like Pillow") {
  const char* env = std::getenv("RAS_GRACE_HOPPER");
  std::vector<std::string> candidates = {"/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                                         "/usr/share/matplotlib/sample_data/grace_hopper.jpg"};
  if (env) candidates.insert(candidates.begin(), env);
  std::string path;
  for (const auto& c : candidates)
    if (fs::is_regular_file(c)) {
      path = c;
      break;
    }
  if (path.empty()) {
    MESSAGE("skipped: grace_hopper.jpg not found (apt install python-matplotlib-data, or set RAS_GRACE_HOPPER)");
    return;
  }
  auto img = ras::io::load_image(path);
  CHECK(img.height == 600);
  CHECK(img.width == 512);
  auto r = ras::io::resize_bilinear(img, 224, 224);
  // Pillow's result (on Pillow's own decoding, libjpeg-turbo like ours) sampled at rows and columns
  // 3, 10, ..., 220: decoding and resize are both exact.
  auto grid = read_raw<std::uint8_t>("grace_hopper_224_grid.u8");
  REQUIRE(grid.size() == 32 * 32 * 3);
  std::vector<std::uint8_t> ours;
  for (Index y = 3; y < 224; y += 7)
    for (Index x = 3; x < 224; x += 7)
      for (int c = 0; c < 3; ++c) ours.push_back(r(y, x, c));
  CHECK(max_abs_diff(ours, grid) == 0);
  auto x = ras::io::preprocess(img, 224);
  CHECK(x.shape() == ras::Shape<4>{1, 3, 224, 224});
}

TEST_CASE("image: unsupported formats and forged headers are refused before decoding") {
  TempDir tmp;
  auto expect_error = [](const fs::path& p, const char* words) {
    const std::string msg = error_of([&] { ras::io::load_image(p.string()); });
    CAPTURE(msg);
    CHECK(msg.find(p.string()) != std::string::npos);
    CHECK(msg.find(words) != std::string::npos);
  };
  // The case: a 16-bit binary PGM claiming 8192 x 8192 pixels with 64 bytes of data.
  std::string pgm = "P5\n8192 8192\n65535\n";
  std::vector<std::uint8_t> pgm_bytes(pgm.begin(), pgm.end());
  pgm_bytes.resize(pgm_bytes.size() + 64, 0x7F);
  write_bytes(tmp.path / "big16.pgm", pgm_bytes);
  expect_error(tmp.path / "big16.pgm", "PNM/PGM/PPM images are not supported");
  const std::string gif = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
  write_bytes(tmp.path / "x.gif", std::vector<std::uint8_t>(gif.begin(), gif.end()));
  expect_error(tmp.path / "x.gif", "GIF");

  auto bmp = read_bytes(fixtures + "gray.bmp");  // 8-bit palette BMP, 256 colours
  auto rle = bmp;
  rle[30] = 1;  // BI_RLE8
  write_bytes(tmp.path / "rle.bmp", rle);
  expect_error(tmp.path / "rle.bmp", "compression 1");
  auto few = bmp;
  few[46] = 2, few[47] = 0;  // 2 palette colours, but the pixels use more
  write_bytes(tmp.path / "few.bmp", few);
  expect_error(tmp.path / "few.bmp", "palette entry");
  auto bpp = bmp;
  bpp[28] = 16;
  write_bytes(tmp.path / "bpp.bmp", bpp);
  expect_error(tmp.path / "bpp.bmp", "16 bits per pixel");

  // A progressive-JPEG-sized claim in memory: the decoder's own limit (used by the fuzz harness).
  const auto jpg = read_bytes(fixtures + "photo.jpg");
  CHECK(error_of([&] { ras::io::decode_image(jpg.data(), jpg.size(), "mem", 100); }).find("37x23") !=
        std::string::npos);
  auto d = ras::io::decode_image(jpg.data(), jpg.size(), "mem");
  CHECK(d.width == 37);
  CHECK(d.height == 23);
  CHECK(d.channels == 3);
}
