/// \file
/// One picture file (PNG, JPEG or BMP, as bytes in memory) made into a
/// training image: decoded with stb_image to 8 bits, any transparency
/// composited onto a background colour, made grey or RGB, and brought to a
/// square of a given side (the short side resized to it, the long side
/// centre-cropped). data/image_folder.hpp does this for a folder of them.
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/shape.hpp"
#include "tinygan/data/image_set.hpp"
#include "tinygan/data/stb_image.hpp"

namespace tinygan::data {

/// The most pixels (width x height) a picture may have: 2^25, e.g. 8192 x 4096
/// or a 32-megapixel photo. Checked from the file's header before stb_image
/// allocates anything: its largest buffer is then at most 2^25 pixels x 4
/// channels x 2 bytes (a 16-bit RGBA PNG before its conversion to 8 bits) =
/// 256 MiB, so a corrupt or hostile header cannot ask for gigabytes.
inline constexpr std::int64_t kMaxPicturePixels = std::int64_t{1} << 25;

/// How a picture becomes a training image.
struct PictureOptions {
  int channels = 3;  ///< 1 (grey) or 3 (RGB)
  /// What transparent pixels show: alpha is composited onto this RGB colour.
  std::array<std::uint8_t, 3> background{255, 255, 255};
  int size = 64;  ///< side of the square result; 0 keeps the picture's own size
  std::int64_t max_pixels = kMaxPicturePixels;  ///< larger pictures are refused
};

/// 8-bit pixels, rows from the top, channels interleaved (HWC).
struct Picture {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels;  // height * width * channels
};

namespace detail {

// Grey from RGB with the Rec. 601 luma weights (0.299, 0.587, 0.114), in
// thousandths: what PIL's convert("L") and JPEG's Y channel use. They sum to
// 1000, so a grey pixel (r = g = b) stays exactly itself.
inline std::uint8_t picture_luma(int r, int g, int b) {
  return static_cast<std::uint8_t>((299 * r + 587 * g + 114 * b + 500) / 1000);
}

// Colour c with opacity a (0..255) over the background colour bg, rounded:
// the usual "flatten" in the picture's own (sRGB-encoded) values.
inline std::uint8_t picture_over(int c, int a, int bg) {
  return static_cast<std::uint8_t>((c * a + bg * (255 - a) + 127) / 255);
}

inline const char* picture_failure_reason() {
  const char* reason = stbi_failure_reason();  // thread-local in stb_image >= 2.26
  return reason ? reason : "no reason given";
}

// Why a JPEG must not reach stb_image 2.27 (Debian 12's), or "" when it may:
// its Huffman table reader writes past a 257-byte array when a table's 16
// code counts sum to more than 256 (2.28 refuses such tables). Follows the
// markers as stb does: length-delimited segments, and after a scan header
// the entropy-coded bytes up to the next marker (0xFF then a byte other than
// 0x00 or a restart 0xD0-0xD7). Stops, letting stb report the damage, where
// stb would stop itself.
inline std::string jpeg_tables_problem(std::string_view bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t at = 0;
  const auto byte = [&](std::size_t i) { return i < n ? b[i] : 0; };  // stb reads 0 past the end
  const auto be16 = [&](std::size_t i) { return (byte(i) << 8) | byte(i + 1); };
  // stb's SOI test: 0xFF, any further 0xFF, then 0xD8.
  if (byte(0) != 0xFF) return "";
  while (at < n && b[at] == 0xFF) ++at;
  if (byte(at) != 0xD8) return "";
  ++at;
  bool in_scan = false;  // between a scan header and the next marker
  while (at < n) {
    if (b[at] != 0xFF) {  // entropy-coded data, or junk stb skips between segments
      ++at;
      continue;
    }
    while (at < n && b[at] == 0xFF) ++at;
    if (at >= n) break;
    const unsigned marker = b[at++];
    if (marker == 0x00 || (marker >= 0xD0 && marker <= 0xD7)) {
      if (in_scan) continue;  // a stuffed 0xFF or a restart marker inside the scan
      break;                  // stb refuses these between segments
    }
    if (marker == 0xD9) break;  // end of image
    const std::size_t length = static_cast<std::size_t>(be16(at));
    if (length < 2) break;
    if (marker == 0xC4) {  // DHT: tables read one after another as stb reads them
      std::size_t table = at + 2;
      long left = static_cast<long>(length) - 2;
      while (left > 0) {
        const unsigned q = byte(table);
        if ((q >> 4) > 1 || (q & 15) > 3) return "";  // stb refuses this itself
        unsigned codes = 0;
        for (std::size_t i = 1; i <= 16; ++i) codes += byte(table + i);
        if (codes > 256)
          return tinygan::detail::concat("a Huffman table declares ", codes,
                                         " codes, more than the 256 a JPEG allows");
        table += 17 + codes;
        left -= 17 + static_cast<long>(codes);
      }
      if (left != 0) return "";  // stb refuses the segment
    }
    in_scan = marker == 0xDA;
    at += length;
  }
  return "";
}

// Why a PNG must not reach stb_image 2.27, or "" when it may: stb grows its
// buffer to an IDAT chunk's declared length before reading it, so a few
// bytes could ask for gigabytes. A chunk (8 bytes of length and type, the
// data, 4 of CRC) must fit in the bytes that follow it, up to IEND.
inline std::string png_chunks_problem(std::string_view bytes) {
  static constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  if (bytes.substr(0, 8) != kSignature) return "";
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t at = 8; at + 8 <= bytes.size();) {
    const std::uint64_t length = (std::uint64_t{b[at]} << 24) | (std::uint64_t{b[at + 1]} << 16) |
                                 (std::uint64_t{b[at + 2]} << 8) | b[at + 3];
    const std::string_view type = bytes.substr(at + 4, 4);
    const std::uint64_t left = bytes.size() - at - 8;
    if (length + 4 > left)
      return tinygan::detail::concat("its chunk ", type, " declares ", length, " bytes, but ", left,
                                     " remain in the file");
    if (type == "IEND") break;
    at += static_cast<std::size_t>(8 + length + 4);
  }
  return "";
}

// Decoded pixels of `from` channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) made
// opaque on the background, then grey (channels 1) or RGB (channels 3).
inline std::vector<std::uint8_t> flatten_picture(const std::uint8_t* in, std::int64_t pixels,
                                                 int from, const PictureOptions& options) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(pixels * options.channels));
  const bool colour = from >= 3, alpha = from == 2 || from == 4;
  const auto& bg = options.background;
  for (std::int64_t p = 0; p < pixels; ++p) {
    const std::uint8_t* px = in + p * from;
    const int a = alpha ? px[from - 1] : 255;
    const int r = picture_over(px[0], a, bg[0]);
    const int g = picture_over(colour ? px[1] : px[0], a, bg[1]);
    const int b = picture_over(colour ? px[2] : px[0], a, bg[2]);
    if (options.channels == 1) {
      out[static_cast<std::size_t>(p)] = picture_luma(r, g, b);
    } else {
      std::uint8_t* o = out.data() + p * 3;
      o[0] = static_cast<std::uint8_t>(r);
      o[1] = static_cast<std::uint8_t>(g);
      o[2] = static_cast<std::uint8_t>(b);
    }
  }
  return out;
}

// The centre square of an opaque picture (side min(width, height); an odd
// leftover pixel goes to the right or bottom) brought to size x size.
// Cropping before resizing gives the same square as resizing the short side
// to `size` and then cropping, without resampling pixels that are then
// thrown away.
inline Picture square_picture(const std::vector<std::uint8_t>& pixels, int width, int height,
                              int channels, int size, const std::string& name) {
  const int side = std::min(width, height);
  const int x0 = (width - side) / 2, y0 = (height - side) / 2;
  const std::size_t row = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
  const std::uint8_t* corner = pixels.data() + static_cast<std::size_t>(y0) * row +
                               static_cast<std::size_t>(x0) * static_cast<std::size_t>(channels);
  Picture out{size, size, channels, {}};
  out.pixels.resize(static_cast<std::size_t>(size) * static_cast<std::size_t>(size) *
                    static_cast<std::size_t>(channels));
  const std::size_t out_row = static_cast<std::size_t>(size) * static_cast<std::size_t>(channels);
  if (side == size) {  // only a crop: the pixels stay exactly as they are
    for (int y = 0; y < size; ++y)
      std::copy_n(corner + static_cast<std::size_t>(y) * row, out_row,
                  out.pixels.data() + static_cast<std::size_t>(y) * out_row);
    return out;
  }
  // The sRGB variant: picture values are sRGB-encoded, and averaging them as
  // they are darkens fine light detail (black and white stripes become 128
  // instead of the 188 that has their mean light); stb converts to linear
  // light, filters there and converts back, at little extra cost. Alpha was
  // composited already, so there is no alpha channel to treat apart.
  const int ok =
      stbir_resize_uint8_srgb(corner, side, side, static_cast<int>(row), out.pixels.data(), size,
                              size, 0, channels, STBIR_ALPHA_CHANNEL_NONE, 0);
  check(ok == 1, name, ": stb_image_resize failed to resize ", side, "x", side, " to ", size, "x",
        size);
  return out;
}

}  // namespace detail

/// Decodes a picture file's bytes (`name` is for messages) into 8-bit HWC
/// pixels of options.channels channels: size x size when options.size > 0,
/// else the picture's own size. An Error names the file and, when stb_image
/// cannot decode it, stb's reason.
inline Picture decode_picture(std::string_view bytes, const std::string& name,
                              const PictureOptions& options = {}) {
  check(options.channels == 1 || options.channels == 3, name,
        ": expected 1 (grey) or 3 (RGB) channels, found ", options.channels);
  check(options.size >= 0 && options.size <= STBI_MAX_DIMENSIONS, name,
        ": expected a size from 0 (keep) to ", STBI_MAX_DIMENSIONS, ", found ", options.size);
  check(!bytes.empty(), name, ": cannot decode the picture (the file is empty)");
  check(bytes.size() <= static_cast<std::size_t>(INT_MAX), name, ": cannot decode the picture (",
        bytes.size(), " bytes is more than stb_image reads, 2 GiB)");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int length = static_cast<int>(bytes.size());

  // Two faults of stb_image 2.27 kept away from it (see data/stb_image.hpp).
  const std::string jpeg_problem = detail::jpeg_tables_problem(bytes);
  check(jpeg_problem.empty(), name, ": cannot decode the picture (Corrupt JPEG: ", jpeg_problem,
        ")");
  const std::string png_problem = detail::png_chunks_problem(bytes);
  check(png_problem.empty(), name, ": cannot decode the picture (Corrupt PNG: ", png_problem, ")");
  // The header next, so that a huge claimed size is refused before any pixel
  // buffer is allocated.
  int width = 0, height = 0, from = 0;
  check(stbi_info_from_memory(data, length, &width, &height, &from) == 1, name,
        ": cannot decode the picture (", detail::picture_failure_reason(), ")");
  // stb reports a top-down BMP's height negative, as its header stores it.
  const std::int64_t claimed_width = std::abs(std::int64_t{width});
  const std::int64_t claimed_height = std::abs(std::int64_t{height});
  check(claimed_width <= STBI_MAX_DIMENSIONS && claimed_height <= STBI_MAX_DIMENSIONS, name,
        ": the picture is ", claimed_width, "x", claimed_height, ", more than the ",
        STBI_MAX_DIMENSIONS, " pixels a side allowed");
  check(claimed_width >= 1 && claimed_height >= 1, name, ": the picture is ", claimed_width, "x",
        claimed_height, ", without a pixel");  // stb 2.27 decodes a BMP of width 0
  const std::int64_t pixels = claimed_width * claimed_height;
  check(pixels <= options.max_pixels, name, ": the picture is ", claimed_width, "x", claimed_height,
        " = ", pixels, " pixels, more than the ", options.max_pixels, " allowed");

  int loaded_width = 0, loaded_height = 0;
  const std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_memory(data, length, &loaded_width, &loaded_height, &from, 0),
      stbi_image_free);
  check(decoded != nullptr, name, ": cannot decode the picture (", detail::picture_failure_reason(),
        ")");
  check(loaded_width == claimed_width && loaded_height == claimed_height && from >= 1 && from <= 4,
        name, ": the picture's header says ", claimed_width, "x", claimed_height,
        " but it decoded as ", loaded_width, "x", loaded_height, " with ", from, " channels");
  width = loaded_width;
  height = loaded_height;

  std::vector<std::uint8_t> flat = detail::flatten_picture(decoded.get(), pixels, from, options);
  if (options.size == 0 || (width == options.size && height == options.size))
    return Picture{width, height, options.channels, std::move(flat)};
  return detail::square_picture(flat, width, height, options.channels, options.size, name);
}

/// Writes a picture's pixels planar (CHW, as tensors hold them) as floats
/// under a scaling: channels * height * width values from out on.
inline void picture_to_chw(const Picture& picture, Scaling scaling, float* out) {
  const std::size_t plane =
      static_cast<std::size_t>(picture.width) * static_cast<std::size_t>(picture.height);
  const auto channels = static_cast<std::size_t>(picture.channels);
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t p = 0; p < plane; ++p)
      out[c * plane + p] = scaled(picture.pixels[p * channels + c], scaling);
}

}  // namespace tinygan::data
