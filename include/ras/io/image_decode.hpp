// ras/io/image_decode.hpp — decoding image bytes in memory, with decoders we can defend: PNG with
// Debian's libpng, JPEG with Debian's libjpeg-turbo (both fuzzed continuously for years; libjpeg-turbo
// is also what Pillow and OpenCV decode with, so JPEG pixels equal the reference pipeline's), and
// uncompressed BMP (8-bit palette, 24-bit, 32-bit) with our own strict reader. Nothing else is
// accepted. Every size a header claims is checked before anything is allocated; truncated or corrupt
// data is an error (libjpeg's "corrupt data" warnings included). Errors are ras::Error naming `label`.
// libpng and libjpeg report errors through longjmp: the functions that call them keep only plain
// data between setjmp and the end (no C++ objects with destructors), see png_decode / jpeg_decode.
#pragma once

#include <algorithm>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "ras/config.hpp"

namespace ras::io {

// Largest image the decoders agree to decode; checked on the header before anything is allocated.
inline constexpr Index max_image_side = 16384;
inline constexpr Index max_image_pixels = Index(1) << 28;

// Decoded samples: height x width x channels (1: gray, 3: RGB), row-major, 8 or 16 bits.
struct DecodedImage {
  Index width = 0, height = 0;
  int channels = 0;
  int bits = 8;
  std::vector<std::uint8_t> samples8;    // bits == 8
  std::vector<std::uint16_t> samples16;  // bits == 16
};

namespace detail {

inline std::string dims_error(Index w, Index h, Index max_pixels) {
  return "the header claims " + std::to_string(w) + "x" + std::to_string(h) + " pixels; expected 1.." +
         std::to_string(max_image_side) + " per side and at most " + std::to_string(max_pixels) + " pixels";
}
inline bool dims_ok(Index w, Index h, Index max_pixels) {
  return w >= 1 && h >= 1 && w <= max_image_side && h <= max_image_side && w * h <= max_pixels;
}

// ---- PNG (libpng) ----------------------------------------------------------------------------
struct PngJob {  // plain data only: it lives across setjmp/longjmp
  const unsigned char* data;
  std::size_t size;
  std::size_t pos;
  Index max_pixels;
  char error[300];
  png_uint_32 width, height;
  int channels, bits;
  unsigned char* pixels;  // malloc'd, height * rowbytes
  std::size_t rowbytes;
};

inline void ras_png_error(png_structp png, png_const_charp msg) {
  auto* job = static_cast<PngJob*>(png_get_error_ptr(png));
  std::snprintf(job->error, sizeof job->error, "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}
inline void ras_png_warning(png_structp, png_const_charp) {}  // ancillary-chunk trouble: ignored
inline void ras_png_read(png_structp png, png_bytep out, png_size_t n) {
  auto* job = static_cast<PngJob*>(png_get_io_ptr(png));
  if (n > job->size - job->pos) png_error(png, "truncated: the file ends inside a chunk");
  std::memcpy(out, job->data + job->pos, n);
  job->pos += n;
}

// Returns true on success (job->pixels then owned by the caller, free()).
inline bool png_decode(PngJob* job) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, ras_png_error, ras_png_warning);
  if (!png) {
    std::snprintf(job->error, sizeof job->error, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  png_bytep* volatile rows = nullptr;
  job->pixels = nullptr;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    std::free(rows);
    std::free(job->pixels);
    job->pixels = nullptr;
    return false;
  }
  if (!info) png_error(png, "out of memory");
  png_set_user_limits(png, 0x7fffffffu, 0x7fffffffu);  // our own check below gives the message
  png_set_read_fn(png, job, ras_png_read);
  png_read_info(png, info);
  job->width = png_get_image_width(png, info);
  job->height = png_get_image_height(png, info);
  if (!dims_ok(Index(job->width), Index(job->height), job->max_pixels)) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "the header claims %ux%u pixels; expected 1..%lld per side and at most %lld pixels",
                  unsigned(job->width), unsigned(job->height), static_cast<long long>(max_image_side),
                  static_cast<long long>(job->max_pixels));
    png_error(png, msg);
  }
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  // Alpha (and tRNS transparency, which the expansions turn into alpha) is dropped, not composited.
  if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);  // dropped, not composited (as cv2 / PIL RGB)
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  job->channels = png_get_channels(png, info);
  job->bits = png_get_bit_depth(png, info);
  if (!((job->channels == 1 || job->channels == 3) && (job->bits == 8 || job->bits == 16)))
    png_error(png, "unsupported sample layout after expansion");
  job->rowbytes = png_get_rowbytes(png, info);
  if (job->rowbytes != std::size_t(job->width) * std::size_t(job->channels) * std::size_t(job->bits / 8))
    png_error(png, "unexpected row size");
  job->pixels = static_cast<unsigned char*>(std::malloc(job->rowbytes * job->height));
  rows = static_cast<png_bytep*>(std::malloc(sizeof(png_bytep) * job->height));
  if (!job->pixels || !rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < job->height; ++y) rows[y] = job->pixels + std::size_t(y) * job->rowbytes;
  png_read_image(png, rows);
  png_read_end(png, nullptr);  // the remaining chunks up to IEND: a file cut after the pixels is refused too
  std::free(rows);
  rows = nullptr;
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

inline DecodedImage decode_png(const std::uint8_t* data, std::size_t size, const std::string& label, Index max_pixels) {
  PngJob job{};
  job.data = data;
  job.size = size;
  job.max_pixels = max_pixels;
  if (!png_decode(&job)) ::ras::detail::throw_error(label, ": cannot decode the PNG (libpng: ", job.error, ")");
  DecodedImage out;
  out.width = job.width, out.height = job.height, out.channels = job.channels, out.bits = job.bits;
  const std::size_t n = std::size_t(job.width) * job.height * std::size_t(job.channels);
  try {
    if (job.bits == 8) {
      out.samples8.assign(job.pixels, job.pixels + n);
    } else {
      out.samples16.resize(n);
      for (std::size_t i = 0; i < n; ++i)
        out.samples16[i] = std::uint16_t(job.pixels[2 * i] << 8 | job.pixels[2 * i + 1]);  // big-endian in PNG
    }
  } catch (...) {
    std::free(job.pixels);
    throw;
  }
  std::free(job.pixels);
  return out;
}

// ---- JPEG (libjpeg-turbo) --------------------------------------------------------------------
inline constexpr int max_jpeg_scans = 100;  // progressive files have ~10; thousands are a CPU bomb

struct JpegJob {  // plain data only
  jpeg_error_mgr pub;  // first member: libjpeg's error manager
  jpeg_progress_mgr progress;
  std::jmp_buf jump;
  char error[JMSG_LENGTH_MAX + 100];
  bool truncated;
  bool pixels_done;  // after the last scanline, a missing end-of-image marker is accepted (as by libjpeg)
  Index max_pixels;
  JDIMENSION width, height;
  int channels;
  unsigned char* pixels;  // malloc'd
};

inline void ras_jpeg_error_exit(j_common_ptr cinfo) {
  auto* job = reinterpret_cast<JpegJob*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, job->error);
  std::longjmp(job->jump, 1);
}
// Warnings (level -1) mean corrupt or truncated data that libjpeg would paper over: refused.
inline void ras_jpeg_emit(j_common_ptr cinfo, int level) {
  auto* job = reinterpret_cast<JpegJob*>(cinfo->err);
  if (level >= 0 || job->pixels_done) return;
  const int code = cinfo->err->msg_code;
  if (code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR) return;  // harmless, common in camera files
  job->truncated = code == JWRN_JPEG_EOF;
  (*cinfo->err->format_message)(cinfo, job->error);
  std::longjmp(job->jump, 1);
}
inline void ras_jpeg_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > max_jpeg_scans) {
    auto* job = reinterpret_cast<JpegJob*>(cinfo->err);
    std::snprintf(job->error, sizeof job->error, "more than %d scans", max_jpeg_scans);
    std::longjmp(job->jump, 1);
  }
}

inline bool jpeg_decode(JpegJob* job, const unsigned char* data, std::size_t size) {
  jpeg_decompress_struct cinfo;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&job->pub);
  job->pub.error_exit = ras_jpeg_error_exit;
  job->pub.emit_message = ras_jpeg_emit;
  job->pixels = nullptr;
  if (setjmp(job->jump)) {
    jpeg_destroy_decompress(&cinfo);
    std::free(job->pixels);
    job->pixels = nullptr;
    return false;
  }
  jpeg_create_decompress(&cinfo);
  job->progress.progress_monitor = ras_jpeg_progress;
  cinfo.progress = &job->progress;
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  job->width = cinfo.image_width;
  job->height = cinfo.image_height;
  if (!dims_ok(Index(job->width), Index(job->height), job->max_pixels)) {
    std::snprintf(job->error, sizeof job->error,
                  "the header claims %ux%u pixels; expected 1..%lld per side and at most %lld pixels",
                  unsigned(job->width), unsigned(job->height), static_cast<long long>(max_image_side),
                  static_cast<long long>(job->max_pixels));
    std::longjmp(job->jump, 1);
  }
  if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
    cinfo.out_color_space = JCS_GRAYSCALE;
  } else if (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB) {
    cinfo.out_color_space = JCS_RGB;
  } else {
    std::snprintf(job->error, sizeof job->error, "unsupported colour space (CMYK/YCCK); expected gray, YCbCr or RGB");
    std::longjmp(job->jump, 1);
  }
  cinfo.mem->max_memory_to_use = 4L << 30;  // progressive files buffer all coefficients
  jpeg_start_decompress(&cinfo);
  job->channels = cinfo.output_components;
  if (cinfo.output_width != job->width || cinfo.output_height != job->height ||
      (job->channels != 1 && job->channels != 3)) {
    std::snprintf(job->error, sizeof job->error, "unexpected output layout");
    std::longjmp(job->jump, 1);
  }
  const std::size_t row = std::size_t(job->width) * std::size_t(job->channels);
  job->pixels = static_cast<unsigned char*>(std::malloc(row * job->height));
  if (!job->pixels) {
    std::snprintf(job->error, sizeof job->error, "out of memory");
    std::longjmp(job->jump, 1);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW r = job->pixels + std::size_t(cinfo.output_scanline) * row;
    if (jpeg_read_scanlines(&cinfo, &r, 1) != 1) {
      std::snprintf(job->error, sizeof job->error, "the decoder stopped at row %u", cinfo.output_scanline);
      job->truncated = true;
      std::longjmp(job->jump, 1);
    }
  }
  job->pixels_done = true;
  jpeg_destroy_decompress(&cinfo);  // no jpeg_finish_decompress: data after the last row is not needed
  return true;
}

inline DecodedImage decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& label, Index max_pixels) {
  JpegJob job{};
  job.max_pixels = max_pixels;
  if (!jpeg_decode(&job, data, size))
    ::ras::detail::throw_error(label, job.truncated ? ": truncated JPEG: the data ends before the image is complete" : "",
                               ": cannot decode the JPEG (libjpeg: ", job.error, ")");
  DecodedImage out;
  out.width = job.width, out.height = job.height, out.channels = job.channels, out.bits = 8;
  try {
    out.samples8.assign(job.pixels, job.pixels + std::size_t(job.width) * job.height * std::size_t(job.channels));
  } catch (...) {
    std::free(job.pixels);
    throw;
  }
  std::free(job.pixels);
  return out;
}

// ---- BMP (own reader) ------------------------------------------------------------------------
// Uncompressed Windows bitmaps only: BITMAPINFOHEADER or later (40..124-byte headers), 8-bit with a
// palette, 24-bit BGR, 32-bit BGRx (BI_RGB, or BI_BITFIELDS with the standard masks), bottom-up or
// top-down. The pixel rows (padded to 4 bytes; the last row's padding may be missing) must be present.
inline DecodedImage decode_bmp(const std::uint8_t* b, std::size_t size, const std::string& label, Index max_pixels) {
  auto u16 = [&](std::size_t o) { return std::uint32_t(b[o]) | std::uint32_t(b[o + 1]) << 8; };
  auto u32 = [&](std::size_t o) { return u16(o) | u16(o + 2) << 16; };
  auto fail = [&](const std::string& what) { ::ras::detail::throw_error(label, ": unsupported or corrupt BMP: ", what); };
  if (size < 54) fail("the file has " + std::to_string(size) + " bytes, fewer than the 54-byte headers");
  const std::uint32_t offset = u32(10), hsz = u32(14);
  if (hsz != 40 && hsz != 52 && hsz != 56 && hsz != 108 && hsz != 124)
    fail("info header of " + std::to_string(hsz) + " bytes; expected 40, 52, 56, 108 or 124 (BITMAPINFOHEADER..V5)");
  if (14 + std::uint64_t(hsz) > size) fail("the info header is cut off");
  const Index w = static_cast<std::int32_t>(u32(18));
  const std::int32_t hraw = static_cast<std::int32_t>(u32(22));
  const bool top_down = hraw < 0;
  const Index h = top_down ? -Index(hraw) : Index(hraw);
  const std::uint32_t planes = u16(26), bpp = u16(28), compression = u32(30);
  if (!dims_ok(w, h, max_pixels)) ::ras::detail::throw_error(label, ": ", dims_error(w, h, max_pixels));
  if (planes != 1) fail(std::to_string(planes) + " planes; expected 1");
  if (bpp != 8 && bpp != 24 && bpp != 32) fail(std::to_string(bpp) + " bits per pixel; expected 8, 24 or 32");
  if (compression == 3) {  // BI_BITFIELDS: masks after a 40-byte header, or inside V2+ headers
    if (bpp != 32) fail("BI_BITFIELDS with " + std::to_string(bpp) + " bits per pixel");
    if (14 + 40 + 12 > size) fail("the colour masks are cut off");
    if (u32(54) != 0x00FF0000u || u32(58) != 0x0000FF00u || u32(62) != 0x000000FFu)
      fail("non-standard BI_BITFIELDS colour masks");
  } else if (compression != 0) {
    fail("compression " + std::to_string(compression) + "; expected uncompressed (BI_RGB or BI_BITFIELDS)");
  }
  std::uint32_t palette[256] = {};
  std::uint32_t colors = 0;
  if (bpp == 8) {
    colors = u32(46);
    if (colors == 0) colors = 256;
    if (colors > 256) fail(std::to_string(colors) + " palette colours; expected at most 256");
    const std::uint64_t pal = 14 + std::uint64_t(hsz);
    if (pal + 4ull * colors > size || pal + 4ull * colors > offset) fail("the palette is cut off");
    for (std::uint32_t i = 0; i < colors; ++i) palette[i] = u32(std::size_t(pal + 4 * i));
  }
  const std::uint64_t row = (std::uint64_t(w) * bpp + 31) / 32 * 4, last = (std::uint64_t(w) * bpp + 7) / 8;
  const std::uint64_t need = std::uint64_t(offset) + row * std::uint64_t(h - 1) + last;
  if (offset < 14 + std::uint64_t(hsz) || need > size)
    ::ras::detail::throw_error(label, ": truncated BMP: the header needs ", need, " bytes but the file has ", size);
  DecodedImage out;
  out.width = w, out.height = h, out.channels = 3, out.bits = 8;
  out.samples8.resize(std::size_t(w * h * 3));
  for (Index y = 0; y < h; ++y) {
    const std::uint8_t* src = b + offset + row * std::uint64_t(top_down ? y : h - 1 - y);
    std::uint8_t* dst = out.samples8.data() + y * w * 3;
    for (Index x = 0; x < w; ++x, dst += 3) {
      if (bpp == 8) {
        const std::uint32_t i = src[x];
        if (i >= colors) fail("pixel (" + std::to_string(x) + ", " + std::to_string(y) + ") uses palette entry " +
                              std::to_string(i) + " of " + std::to_string(colors));
        dst[0] = std::uint8_t(palette[i] >> 16), dst[1] = std::uint8_t(palette[i] >> 8), dst[2] = std::uint8_t(palette[i]);
      } else {
        const std::uint8_t* p = src + x * (bpp / 8);
        dst[0] = p[2], dst[1] = p[1], dst[2] = p[0];
      }
    }
  }
  return out;
}

inline bool has_signature(const std::uint8_t* b, std::size_t n, std::initializer_list<int> sig) {
  if (n < sig.size()) return false;
  std::size_t i = 0;
  for (int s : sig)
    if (b[i++] != static_cast<std::uint8_t>(s)) return false;
  return true;
}

}  // namespace detail

// Decodes PNG, JPEG or BMP bytes (by signature) without conversion: gray stays 1 channel, RGB 3
// (alpha dropped, palettes expanded), 16-bit PNG samples stay 16-bit. `label` starts every error.
inline DecodedImage decode_image(const std::uint8_t* data, std::size_t size, const std::string& label,
                                 Index max_pixels = max_image_pixels) {
  RAS_CHECK(size > 0, label, ": the file is empty (0 bytes)");
  if (detail::has_signature(data, size, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}))
    return detail::decode_png(data, size, label, max_pixels);
  if (detail::has_signature(data, size, {0xFF, 0xD8, 0xFF})) return detail::decode_jpeg(data, size, label, max_pixels);
  if (detail::has_signature(data, size, {'B', 'M'})) return detail::decode_bmp(data, size, label, max_pixels);
  if (detail::has_signature(data, size, {'G', 'I', 'F', '8'}) || (size >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7'))
    ::ras::detail::throw_error(label, ": GIF and PNM/PGM/PPM images are not supported; expected PNG, JPEG or BMP "
                               "(convert the file to PNG)");
  std::string head;
  char hex[4];
  for (std::size_t i = 0; i < std::min<std::size_t>(size, 8); ++i) {
    std::snprintf(hex, sizeof hex, "%x", data[i]);
    head += (i ? " " : "") + std::string(hex);
  }
  ::ras::detail::throw_error(label, ": not an image: expected a PNG, JPEG or BMP signature but the file starts with "
                             "bytes [", head, "]");
}

}  // namespace ras::io
