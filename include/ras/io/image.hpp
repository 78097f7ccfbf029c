// ras/io/image.hpp — image files in and out, and the RAS input preprocessing: decode PNG / JPEG / BMP
// (8- or 16-bit, gray, gray+alpha, RGB, RGBA, palette) with stb_image into RGB, resize like
// torchvision.transforms.Resize((s, s), Image.BILINEAR) on a PIL image (ras/io/image_resize.hpp),
// then ToTensor + Normalize (ImageNet mean/std) or x / 127.5 - 1; masks with Resize(NEAREST) and > 0
// (UniAD datasets/custom_dataset.py). Writes PNGs with stb_image_write (heatmaps).
// Links Debian's compiled libstb (pkg-config stb); never define STB_IMAGE_IMPLEMENTATION.
#pragma once

#if defined(STB_IMAGE_IMPLEMENTATION) || defined(STB_IMAGE_WRITE_IMPLEMENTATION)
#error "ras/io/image.hpp links the compiled libstb: do not define STB_IMAGE(_WRITE)_IMPLEMENTATION (ODR clash)"
#endif
#if defined(STB_IMAGE_STATIC) || defined(STB_IMAGE_WRITE_STATIC)
#error "ras/io/image.hpp needs stb's extern declarations: do not define STB_IMAGE(_WRITE)_STATIC"
#endif

#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#else
#include <stb_image.h>
#include <stb_image_write.h>
#endif

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ras/io/file.hpp"
#include "ras/io/image_resize.hpp"
#include "ras/tensor.hpp"

namespace ras::io {

// Largest image the loaders agree to decode; checked on the header before anything is allocated.
inline constexpr Index max_image_side = 16384;
inline constexpr Index max_image_pixels = Index(1) << 28;
// Largest image file read into memory (stb decodes from a buffer whose length is an int).
inline constexpr std::uint64_t max_image_file_bytes = std::uint64_t(1) << 30;

namespace detail {

struct StbiFree {
  void operator()(void* p) const noexcept { stbi_image_free(p); }
};

inline const char* stbi_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown reason";
}

inline bool starts_with(const std::vector<std::uint8_t>& b, std::initializer_list<int> sig) {
  if (b.size() < sig.size()) return false;
  std::size_t i = 0;
  for (int s : sig)
    if (b[i++] != static_cast<std::uint8_t>(s)) return false;
  return true;
}

// A complete baseline or progressive JPEG has an EOI marker (FF D9) after its last SOS (FF DA):
// entropy-coded data never holds FF followed by a marker byte, and an EXIF thumbnail (with its
// own SOS and EOI) precedes the main scans. Only used to explain a decoding failure ("expected
// marker" from stb_image): files that lack just the EOI but decode are accepted, as by libjpeg.
inline bool jpeg_has_eoi_after_last_scan(const std::vector<std::uint8_t>& b) {
  std::size_t last_sos = 0;
  bool eoi_after = false;
  for (std::size_t i = 2; i + 1 < b.size(); ++i) {
    if (b[i] != 0xFF) continue;
    if (b[i + 1] == 0xDA) {
      last_sos = i;
      eoi_after = false;
    } else if (b[i + 1] == 0xD9 && last_sos != 0) {
      eoi_after = true;
    }
  }
  return last_sos != 0 && eoi_after;
}

// An uncompressed BMP (BI_RGB / BI_BITFIELDS) must hold its pixel rows: stb_image (2.27) decodes a
// truncated BMP without error, reading zeros past the end. Returns the bytes needed, or 0 when the header cannot say.
inline std::uint64_t bmp_bytes_needed(const std::vector<std::uint8_t>& b) {
  auto u32 = [&](std::size_t o) {
    return std::uint32_t(b[o]) | std::uint32_t(b[o + 1]) << 8 | std::uint32_t(b[o + 2]) << 16 |
           std::uint32_t(b[o + 3]) << 24;
  };
  auto u16 = [&](std::size_t o) { return std::uint32_t(b[o]) | std::uint32_t(b[o + 1]) << 8; };
  if (b.size() < 30) return 0;
  const std::uint32_t hsz = u32(14);
  if (hsz < 40 || b.size() < 14 + 40) return 0;  // OS/2 core headers: leave to stb
  const std::uint64_t offset = u32(10);
  const std::int64_t w = static_cast<std::int32_t>(u32(18));
  std::int64_t h = static_cast<std::int32_t>(u32(22));
  const std::uint32_t bpp = u16(28), compression = u32(30);
  if (compression != 0 && compression != 3) return 0;  // RLE: size unknown in advance
  if (h < 0) h = -h;
  if (w <= 0 || bpp == 0 || bpp > 32) return 0;
  if (h == 0) return 0;
  const std::uint64_t row = (static_cast<std::uint64_t>(w) * bpp + 31) / 32 * 4;  // padded to 4 bytes
  const std::uint64_t last = (static_cast<std::uint64_t>(w) * bpp + 7) / 8;       // its padding may be missing
  return offset + row * static_cast<std::uint64_t>(h - 1) + last;
}

// Width and height as the header states them (PNG IHDR, BMP info header, JPEG SOFn, GIF screen),
// read before stb so that absurd sizes get a clear message; false when not found (stb then decides).
inline bool header_dimensions(const std::vector<std::uint8_t>& b, std::int64_t& w, std::int64_t& h) {
  auto be16 = [&](std::size_t o) { return std::int64_t(b[o]) << 8 | b[o + 1]; };
  auto le16 = [&](std::size_t o) { return std::int64_t(b[o + 1]) << 8 | b[o]; };
  auto be32 = [&](std::size_t o) { return be16(o) << 16 | be16(o + 2); };
  auto le32s = [&](std::size_t o) {
    return std::int64_t(std::int32_t(std::uint32_t(le16(o + 2)) << 16 | std::uint32_t(le16(o))));
  };
  if (b.size() >= 24 && b[0] == 0x89 && b[12] == 'I' && b[13] == 'H' && b[14] == 'D' && b[15] == 'R') {
    w = be32(16), h = be32(20);
    return true;
  }
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M' && le32s(14) >= 40) {
    w = le32s(18), h = le32s(22);
    if (h < 0) h = -h;
    return true;
  }
  if (b.size() >= 10 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F') {
    w = le16(6), h = le16(8);
    return true;
  }
  if (b.size() >= 4 && b[0] == 0xFF && b[1] == 0xD8) {  // walk the marker segments up to SOFn
    std::size_t i = 2;
    while (i + 9 < b.size()) {
      if (b[i] != 0xFF) return false;
      const int m = b[i + 1];
      if (m == 0xFF) { ++i; continue; }
      if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
        h = be16(i + 5), w = be16(i + 7);
        return true;
      }
      if (m == 0xDA || m == 0xD9) return false;
      i += 2 + static_cast<std::size_t>(be16(i + 2));
    }
  }
  return false;
}

// Reads the file, checks its signature and header dimensions; returns the bytes for stb.
inline std::vector<std::uint8_t> read_image_file(const std::string& path, const char* who) {
  BinaryFile f(path, std::string(who) + ": image file");
  RAS_CHECK(f.size() > 0, f.label(), ": the file is empty (0 bytes)");
  RAS_CHECK(f.size() <= max_image_file_bytes, f.label(), ": the file has ", f.size(),
            " bytes, more than the limit of ", max_image_file_bytes);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(f.size()));
  f.read(0, bytes.data(), bytes.size(), "the image data");

  const bool png = starts_with(bytes, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
  const bool jpeg = starts_with(bytes, {0xFF, 0xD8, 0xFF});
  const bool bmp = starts_with(bytes, {'B', 'M'});
  const bool gif = starts_with(bytes, {'G', 'I', 'F', '8'});
  const bool pnm = starts_with(bytes, {'P', '5'}) || starts_with(bytes, {'P', '6'});
  if (!(png || jpeg || bmp || gif || pnm)) {
    std::ostringstream head;
    for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 8); ++i)
      head << (i ? " " : "") << std::hex << static_cast<int>(bytes[i]);
    ras::detail::throw_error(f.label(), ": not an image: expected a PNG, JPEG, BMP, GIF or binary PNM signature "
                             "but the file starts with bytes [", head.str(), "]");
  }
  std::int64_t hw = 0, hh = 0;
  if (header_dimensions(bytes, hw, hh))
    RAS_CHECK(hw >= 1 && hh >= 1 && hw <= max_image_side && hh <= max_image_side && hw * hh <= max_image_pixels,
              f.label(), ": the header claims ", hw, "x", hh, " pixels; expected 1..", max_image_side,
              " per side and at most ", max_image_pixels, " pixels");
  int w = 0, h = 0, n = 0;
  RAS_CHECK(stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n), f.label(),
            ": cannot read the image header (stb_image: ", stbi_reason(), ")");
  RAS_CHECK(w >= 1 && h >= 1 && w <= max_image_side && h <= max_image_side &&
                Index(w) * Index(h) <= max_image_pixels,
            f.label(), ": the header claims ", w, "x", h, " pixels; expected 1..", max_image_side,
            " per side and at most ", max_image_pixels, " pixels");
  if (bmp) {
    const std::uint64_t need = bmp_bytes_needed(bytes);
    RAS_CHECK(need == 0 || need <= bytes.size(), f.label(), ": truncated BMP: the header needs ", need,
              " bytes but the file has ", bytes.size());
  }
  return bytes;
}

template <class T>
inline void check_decoded(const char* who, const std::string& path, const T* data, int w, int h,
                          const std::vector<std::uint8_t>& bytes) {
  if (data == nullptr) {
    const bool cut_jpeg = starts_with(bytes, {0xFF, 0xD8, 0xFF}) && !jpeg_has_eoi_after_last_scan(bytes);
    ras::detail::throw_error(who, ": image file '", path, "': cannot decode (stb_image: ", stbi_reason(), ")",
                             cut_jpeg ? "; it looks like a truncated JPEG (no end-of-image marker after the last scan)"
                                      : "");
  }
  int iw = 0, ih = 0, in = 0;
  stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &iw, &ih, &in);
  RAS_CHECK(w == iw && h == ih, who, ": image file '", path, "': header says ", iw, "x", ih,
            " but decoding gave ", w, "x", h);
}

}  // namespace detail

// Decodes an image file into `channels` (3: RGB, 1: gray) 8-bit values per pixel. Gray is replicated
// to RGB, alpha is dropped (no compositing), as cv2.imread(IMREAD_COLOR) and PIL's convert("RGB") do;
// colour to gray uses stb's luma (77 R + 150 G + 29 B) >> 8. 16-bit samples keep their high byte
// (v >> 8): what Pillow does for 16-bit RGB(A) PNGs and libpng's png_set_strip_16 (OpenCV) does;
// Pillow alone clips 16-bit *gray* ("I;16" -> "RGB" gives min(v, 255)), which we do not copy.
// PNG/BMP/GIF decoding is lossless, hence identical to Pillow/OpenCV (MVTec-AD is PNG); JPEG is not:
// stb's IDCT, chroma upsampling and YCbCr rounding differ from libjpeg-turbo by up to 3 levels on a
// few % of the values (grace_hopper.jpg: 3.9 % differ, max 3, mean 0.05; after the 224 resize max 2).
// Refused with ras::Error naming the file: missing/empty/unreadable files, unknown signatures, headers
// above max_image_side / max_image_pixels (checked before decoding), truncated or corrupt data.
inline Image load_image(const std::string& path, int channels = 3) {
  RAS_CHECK(channels == 1 || channels == 3, "load_image: expected channels 1 or 3 but got ", channels);
  auto bytes = detail::read_image_file(path, "load_image");
  int w = 0, h = 0, n = 0;
  std::unique_ptr<stbi_uc, detail::StbiFree> data(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n, channels));
  detail::check_decoded("load_image", path, data.get(), w, h, bytes);
  Image img(h, w, channels);
  std::copy(data.get(), data.get() + img.numel(), img.pixels.begin());
  return img;
}

// As load_image with channels = 3, into floats on the 0..255 scale; 16-bit files keep their
// precision as v / 257 (so 65535 -> 255), 8-bit files give exactly their byte values.
inline ImageF load_image_f(const std::string& path) {
  auto bytes = detail::read_image_file(path, "load_image_f");
  ImageF img;
  int w = 0, h = 0, n = 0;
  if (stbi_is_16_bit_from_memory(bytes.data(), static_cast<int>(bytes.size()))) {
    std::unique_ptr<stbi_us, detail::StbiFree> data(
        stbi_load_16_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n, 3));
    detail::check_decoded("load_image_f", path, data.get(), w, h, bytes);
    img = ImageF(h, w, 3);
    for (Index i = 0; i < img.numel(); ++i) img.pixels[static_cast<std::size_t>(i)] = static_cast<float>(data.get()[i]) / 257.0f;
  } else {
    std::unique_ptr<stbi_uc, detail::StbiFree> data(
        stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n, 3));
    detail::check_decoded("load_image_f", path, data.get(), w, h, bytes);
    img = ImageF(h, w, 3);
    for (Index i = 0; i < img.numel(); ++i) img.pixels[static_cast<std::size_t>(i)] = static_cast<float>(data.get()[i]);
  }
  return img;
}

// Writes an 8-bit image (1: gray, 2: gray+alpha, 3: RGB, 4: RGBA channels) as PNG, atomically.
// img: (H, W, C)
inline void save_png(const std::string& path, const Image& img) {
  RAS_CHECK(img.height >= 1 && img.width >= 1 && img.height <= max_image_side && img.width <= max_image_side,
            "save_png '", path, "': expected 1..", max_image_side, " pixels per side but got ", img.height, "x",
            img.width);
  RAS_CHECK(img.channels >= 1 && img.channels <= 4, "save_png '", path, "': expected 1..4 channels but got ",
            img.channels);
  RAS_CHECK(static_cast<Index>(img.pixels.size()) == img.numel(), "save_png '", path, "': the image holds ",
            img.pixels.size(), " values but its shape needs ", img.numel());
  struct Sink {
    std::vector<std::uint8_t> bytes;
    bool failed = false;
  } png;
  auto append = [](void* ctx, void* data, int size) {  // called from C: must not throw
    auto* sink = static_cast<Sink*>(ctx);
    try {
      sink->bytes.insert(sink->bytes.end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
    } catch (...) {
      sink->failed = true;
    }
  };
  const int ok = stbi_write_png_to_func(append, &png, static_cast<int>(img.width), static_cast<int>(img.height),
                                        img.channels, img.pixels.data(), static_cast<int>(img.width * img.channels));
  RAS_CHECK(ok != 0 && !png.failed && !png.bytes.empty(), "save_png '", path,
            "': stb_image_write failed to encode the image (out of memory?)");
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(png.bytes.data()), static_cast<std::streamsize>(png.bytes.size()));
  });
}

// torchvision.transforms.ToTensor: value / 255 in S, channels first.
// img: (H, W, C) -> (1, C, H, W)
template <class S = float, class T>
inline Tensor<S, 4> to_tensor(const BasicImage<T>& img) {
  RAS_CHECK(static_cast<Index>(img.pixels.size()) == img.numel() && img.numel() > 0,
            "to_tensor: expected a non-empty image with ", img.numel(), " values but it holds ", img.pixels.size());
  auto t = Tensor<S, 4>::uninitialized({1, img.channels, img.height, img.width});
  for (int c = 0; c < img.channels; ++c)
    for (Index y = 0; y < img.height; ++y)
      for (Index x = 0; x < img.width; ++x) t(0, c, y, x) = static_cast<S>(img(y, x, c)) / S(255);
  return t;
}

// Input normalisations: imagenet = ToTensor then Normalize(mean=(0.485, 0.456, 0.406),
// std=(0.229, 0.224, 0.225)), i.e. (v / 255 - mean) / std, each step rounded in S as torchvision
// does in float32 (EfficientNet-B4, the RAS reference); symmetric = v / 127.5 - 1 (MobileNetV2);
// unit = v / 255 (ToTensor only).
enum class Normalization { imagenet, symmetric, unit };

// img: (H, W, 3) -> (1, 3, H, W)
template <class S = float, class T>
inline Tensor<S, 4> normalize(const BasicImage<T>& img, Normalization norm) {
  RAS_CHECK(img.channels == 3, "normalize: expected an RGB image with 3 channels but got ", img.channels);
  auto t = to_tensor<S>(img);
  const S mean[3] = {S(0.485), S(0.456), S(0.406)}, stdev[3] = {S(0.229), S(0.224), S(0.225)};
  for (int c = 0; c < 3; ++c)
    for (Index y = 0; y < img.height; ++y)
      for (Index x = 0; x < img.width; ++x) {
        S& v = t(0, c, y, x);
        if (norm == Normalization::imagenet) {
          v = (v - mean[c]) / stdev[c];
        } else if (norm == Normalization::symmetric) {
          v = static_cast<S>(img(y, x, c)) / S(127.5) - S(1);
        }
      }
  return t;
}

// The RAS input pipeline: PIL bilinear resize to size x size, then the normalisation.
// img: (H, W, 3) uint8 -> (1, 3, size, size)
template <class S = float>
inline Tensor<S, 4> preprocess(const Image& img, Index size, Normalization norm = Normalization::imagenet) {
  RAS_CHECK(size >= 1, "preprocess: expected size >= 1 but got ", size);
  RAS_CHECK(img.channels == 3, "preprocess: expected an RGB image with 3 channels but got ", img.channels);
  return normalize<S>(resize_bilinear(img, size, size), norm);
}

// load_image + preprocess. -> (1, 3, size, size)
template <class S = float>
inline Tensor<S, 4> load_preprocessed(const std::string& path, Index size, Normalization norm = Normalization::imagenet) {
  return preprocess<S>(load_image(path, 3), size, norm);
}

// A ground-truth mask as UniAD reads it: gray (stb luma for colour files; 16-bit files keep the
// high byte), PIL NEAREST resize to size x size, then 1 where the value is > 0, else 0.
// mask: (H, W, 1) -> (size, size)
template <class S = float>
inline Tensor<S, 2> mask_to_tensor(const Image& mask, Index size) {
  RAS_CHECK(size >= 1, "mask_to_tensor: expected size >= 1 but got ", size);
  RAS_CHECK(mask.channels == 1, "mask_to_tensor: expected a 1-channel mask but got ", mask.channels, " channels");
  auto r = resize_nearest(mask, size, size);
  auto t = Tensor<S, 2>::uninitialized({size, size});
  for (Index i = 0; i < t.numel(); ++i) t.data()[i] = r.pixels[static_cast<std::size_t>(i)] > 0 ? S(1) : S(0);
  return t;
}

// -> (size, size)
template <class S = float>
inline Tensor<S, 2> load_mask(const std::string& path, Index size) {
  return mask_to_tensor<S>(load_image(path, 1), size);
}

}  // namespace ras::io
