// ras/io/image.hpp — image files in and out, and the RAS input preprocessing: decode PNG (libpng),
// JPEG (libjpeg-turbo) and uncompressed BMP (own strict reader) — see ras/io/image_decode.hpp — into
// RGB or gray, resize like torchvision.transforms.Resize((s, s), Image.BILINEAR) on a PIL image
// (ras/io/image_resize.hpp), then ToTensor + Normalize (ImageNet mean/std) or x / 127.5 - 1; masks
// with Resize(NEAREST) and > 0 (UniAD datasets/custom_dataset.py). Writes PNGs with
// stb_image_write (heatmaps). Links libpng, libjpeg and Debian's compiled libstb (target ras::image);
// never define STB_IMAGE_WRITE_IMPLEMENTATION.
#pragma once

#if defined(STB_IMAGE_WRITE_IMPLEMENTATION)
#error "ras/io/image.hpp links the compiled libstb: do not define STB_IMAGE_WRITE_IMPLEMENTATION (ODR clash)"
#endif
#if defined(STB_IMAGE_WRITE_STATIC)
#error "ras/io/image.hpp needs stb's extern declarations: do not define STB_IMAGE_WRITE_STATIC"
#endif

#if __has_include(<stb/stb_image_write.h>)
#include <stb/stb_image_write.h>
#else
#include <stb_image_write.h>
#endif

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ras/io/file.hpp"
#include "ras/io/image_decode.hpp"
#include "ras/io/image_resize.hpp"
#include "ras/tensor.hpp"

namespace ras::io {

// Largest image file read into memory.
inline constexpr std::uint64_t max_image_file_bytes = std::uint64_t(1) << 30;

namespace detail {

// Reads and decodes the file; `who` starts the label ("load_image: image file '<path>'").
inline DecodedImage read_and_decode(const std::string& path, const char* who) {
  BinaryFile f(path, std::string(who) + ": image file");
  RAS_CHECK(f.size() > 0, f.label(), ": the file is empty (0 bytes)");
  RAS_CHECK(f.size() <= max_image_file_bytes, f.label(), ": the file has ", f.size(),
            " bytes, more than the limit of ", max_image_file_bytes);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(f.size()));
  f.read(0, bytes.data(), bytes.size(), "the image data");
  return decode_image(bytes.data(), bytes.size(), f.label());
}

// Gray from RGB as stb_image computes it: (77 R + 150 G + 29 B) >> 8 (on 16-bit values for 16-bit files).
template <class T>
inline T luma(T r, T g, T b) {
  return static_cast<T>((std::uint32_t(r) * 77 + std::uint32_t(g) * 150 + std::uint32_t(b) * 29) >> 8);
}

}  // namespace detail

// Decodes a decoded image's samples into `channels` (3: RGB, 1: gray) values per pixel, with the
// conversions of load_image; T is std::uint8_t (16-bit samples keep their high byte) or float
// (16-bit samples become v / 257, 8-bit samples their byte value).
template <class T>
inline BasicImage<T> convert_decoded(const DecodedImage& d, int channels) {
  RAS_CHECK(channels == 1 || channels == 3, "convert_decoded: expected channels 1 or 3 but got ", channels);
  BasicImage<T> img(d.height, d.width, channels);
  const std::size_t n = static_cast<std::size_t>(d.width * d.height);
  auto sample = [&](std::size_t i) -> std::uint32_t { return d.bits == 16 ? d.samples16[i] : d.samples8[i]; };
  auto out = [&](std::uint32_t v) -> T {
    if constexpr (std::is_same_v<T, float>) return d.bits == 16 ? static_cast<float>(v) / 257.0f : static_cast<float>(v);
    else return static_cast<T>(d.bits == 16 ? v >> 8 : v);
  };
  for (std::size_t p = 0; p < n; ++p) {
    if (d.channels == 1) {
      const T v = out(sample(p));
      for (int c = 0; c < channels; ++c) img.pixels[p * std::size_t(channels) + std::size_t(c)] = v;
    } else if (channels == 3) {
      for (int c = 0; c < 3; ++c) img.pixels[p * 3 + std::size_t(c)] = out(sample(p * 3 + std::size_t(c)));
    } else {
      img.pixels[p] = out(detail::luma(sample(p * 3), sample(p * 3 + 1), sample(p * 3 + 2)));
    }
  }
  return img;
}

// Decodes an image file into `channels` (3: RGB, 1: gray) 8-bit values per pixel. Gray is replicated
// to RGB, alpha is dropped (no compositing), as cv2.imread(IMREAD_COLOR) and PIL's convert("RGB") do;
// colour to gray uses stb's luma (77 R + 150 G + 29 B) >> 8. 16-bit samples keep their high byte
// (v >> 8): what Pillow does for 16-bit RGB(A) PNGs and libpng's png_set_strip_16 (OpenCV) does;
// Pillow alone clips 16-bit *gray* ("I;16" -> "RGB" gives min(v, 255)), which we do not copy.
// PNG and BMP decoding is lossless; JPEG is decoded by libjpeg-turbo with its defaults (islow IDCT,
// fancy upsampling), as Pillow and OpenCV do, hence the same pixels as the reference pipeline.
// Refused with ras::Error naming the file: missing/empty/unreadable files, unknown or unsupported
// formats (GIF, PNM, TIFF, compressed BMP), headers above max_image_side / max_image_pixels (checked
// before decoding), truncated or corrupt data.
inline Image load_image(const std::string& path, int channels = 3) {
  RAS_CHECK(channels == 1 || channels == 3, "load_image: expected channels 1 or 3 but got ", channels);
  return convert_decoded<std::uint8_t>(detail::read_and_decode(path, "load_image"), channels);
}

// As load_image with channels = 3, into floats on the 0..255 scale; 16-bit files keep their
// precision as v / 257 (so 65535 -> 255), 8-bit files give exactly their byte values.
inline ImageF load_image_f(const std::string& path) {
  return convert_decoded<float>(detail::read_and_decode(path, "load_image_f"), 3);
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
