/// \file
/// PNG output: raw 8-bit images, and grids of grey or RGB images (generated
/// samples; autoencoder inputs beside their reconstructions). Images come as
/// [N, C, H, W] with C = 1 (grey) or 3 (RGB, channels planar as in PyTorch),
/// or as [N, H, W] or [N, H*W] (square) for grey. Encoded in memory with
/// stb_image_write, then written atomically.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tinygan/core/tensor.hpp"
#include "tinygan/core/atomic_file.hpp"

// A header-only library has no .cpp to hold one shared copy of stb_image_write,
// so each translation unit compiles its own static copy (encoding to memory
// only: STBI_WRITE_NO_STDIO). Such a unit may call stbi_write_*_to_func itself,
// but must not include stb_image_write.h's implementation a second time.
#ifndef TINYGAN_STB_IMAGE_WRITE_INCLUDED
#define TINYGAN_STB_IMAGE_WRITE_INCLUDED
#ifdef INCLUDE_STB_IMAGE_WRITE_H
#error "tinygan/io/png.hpp compiles its own static stb_image_write: include it before <stb/stb_image_write.h>"
#endif
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include "tinygan/core/third_party_begin.hpp"
#include <stb/stb_image_write.h>
#include "tinygan/core/third_party_end.hpp"
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#undef STB_IMAGE_WRITE_STATIC
#endif

namespace tinygan::io {

/// Encodes 8-bit pixels (row by row from the top; channels 1 gray, 2 gray+alpha,
/// 3 RGB, 4 RGBA) as PNG and writes the file atomically.
inline void save_png(const std::string& path, const std::vector<std::uint8_t>& pixels, int width,
                     int height, int channels) {
  check(channels >= 1 && channels <= 4, path, ": save_png: expected 1 to 4 channels, found ",
        channels);
  check(width >= 1 && height >= 1, path, ": save_png: expected a non-empty image, found ",
        width, "x", height);
  // stb_image_write counts bytes (one filter byte per row included) in an int.
  const auto row = static_cast<std::int64_t>(width) * channels + 1;
  check(row * height < INT_MAX / 2, path, ": save_png: ", width, "x", height, "x", channels,
        " is too large to encode (at most 2^30 bytes)");
  const auto expected = static_cast<std::size_t>(width) * static_cast<std::size_t>(height) *
                        static_cast<std::size_t>(channels);
  check(pixels.size() == expected, path, ": save_png: a ", width, "x", height, " image of ",
        channels, " channel(s) needs ", expected, " bytes, found ", pixels.size());
  std::string png;
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                               static_cast<std::size_t>(size));
  };
  const int ok = stbi_write_png_to_func(append, &png, width, height, channels, pixels.data(),
                                        width * channels);
  check(ok != 0, path, ": save_png: stb_image_write failed to encode the image");
  write_file_atomically(path, png);
}

namespace detail {
constexpr int kGap = 2;                 // pixels between images
constexpr int kPairGap = 8;             // pixels between input/output pairs
constexpr std::uint8_t kGapGray = 128;  // mid-grey: visible against black and white digits

/// A batch of images, C planes of H x W each (NCHW), C = 1 (grey) or 3 (RGB).
struct ImageStack {
  Index count = 0, channels = 1, height = 0, width = 0;
};

/// Reads the layout of images given as [N, C, H, W] (C = 1 or 3), [N, H, W]
/// (grey), or [N, H*W] (grey square images: 784 -> 28x28).
inline ImageStack image_stack(const Tensor<float>& images, const std::string& where) {
  const Shape& s = images.shape();
  ImageStack stack;
  if (s.rank() == 4) {
    check(s[1] == 1 || s[1] == 3, where,
          ": expected 1 channel (grey) or 3 (RGB) in [N, C, H, W], found ", s[1],
          " channels in shape ", s);
    stack = {s[0], s[1], s[2], s[3]};
  } else if (s.rank() == 3) {
    stack = {s[0], 1, s[1], s[2]};
  } else if (s.rank() == 2) {
    const auto side = static_cast<Index>(std::llround(std::sqrt(static_cast<double>(s[1]))));
    check(side * side == s[1], where, ": expected [N, H*W] rows of square images, found ", s[1],
          " values per row (not a square number)");
    stack = {s[0], 1, side, side};
  } else {
    throw Error(tinygan::detail::concat(
        where, ": expected images shaped [N, C, H, W] with C = 1 or 3, [N, H, W] or [N, H*W], found ",
        s));
  }
  check(stack.count >= 1 && stack.height >= 1 && stack.width >= 1, where,
        ": expected at least one non-empty image, found shape ", s);
  return stack;
}

inline void check_image_args(const std::string& where, float lo, float hi, int upscale) {
  check(std::isfinite(lo) && std::isfinite(hi) && lo < hi, where,
        ": expected a finite value range lo < hi, found [", lo, ", ", hi, "]");
  check(upscale >= 1 && upscale <= 16, where, ": expected upscale between 1 and 16, found ",
        upscale);
}

inline void check_image_size(const std::string& where, Index width, Index height) {
  // Canvas's limit, kept here too so that both kinds of picture agree.
  constexpr Index kMaxSide = 16384;
  check(width <= kMaxSide && height <= kMaxSide, where, ": the picture would be ", width, "x",
        height, " pixels, more than ", kMaxSide, " on a side; draw fewer images or a smaller upscale");
}

/// lo -> 0, hi -> 255, clamped; NaN -> 0 (black).
inline std::uint8_t to_gray(float v, float lo, float hi) {
  if (std::isnan(v)) return 0;
  const double t = (static_cast<double>(v) - lo) / (static_cast<double>(hi) - lo) * 255.0;
  return static_cast<std::uint8_t>(std::lround(std::clamp(t, 0.0, 255.0)));
}

/// A picture `width` x `height` of `channels` interleaved 8-bit channels,
/// all mid-grey (128 in every channel) until images are drawn on it.
inline std::vector<std::uint8_t> gap_picture(Index width, Index height, Index channels) {
  return std::vector<std::uint8_t>(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) *
                                       static_cast<std::size_t>(channels),
                                   kGapGray);
}

/// Draws image i of the stack, each value as an upscale x upscale block, with
/// its top-left corner at (x0, y0) of a picture `width` pixels wide whose
/// pixels hold stack.channels interleaved bytes (grey, or R, G, B), read from
/// the image's planar channels.
inline void blit(const Tensor<float>& images, const ImageStack& stack, Index i, float lo, float hi,
                 int upscale, std::vector<std::uint8_t>& picture, Index width, Index x0, Index y0) {
  const Index channels = stack.channels, plane = stack.height * stack.width;
  const float* src = images.data() + i * channels * plane;
  for (Index ch = 0; ch < channels; ++ch)
    for (Index r = 0; r < stack.height; ++r)
      for (Index c = 0; c < stack.width; ++c) {
        const std::uint8_t g = to_gray(src[ch * plane + r * stack.width + c], lo, hi);
        for (int dy = 0; dy < upscale; ++dy) {
          auto* dst = picture.data() +
                      ((y0 + r * upscale + dy) * width + x0 + c * upscale) * channels + ch;
          for (int dx = 0; dx < upscale; ++dx) dst[dx * channels] = g;
        }
      }
}
}  // namespace detail

/// Saves images as a grid, `columns` per row: a grey PNG for one channel, an
/// RGB PNG for three (images [N, C, H, W], [N, H, W] or square [N, H*W]; see
/// detail::image_stack). Values map from [lo, hi] to 0..255 in each channel
/// (clamped; NaN 0), each pixel is enlarged to an upscale x upscale block, and
/// 2-pixel mid-grey gaps (128, or 128,128,128) surround every image.
inline void save_image_grid(const std::string& path, const Tensor<float>& images, Index columns,
                            float lo, float hi, int upscale = 2) {
  const std::string where = path + ": save_image_grid";
  detail::check_image_args(where, lo, hi, upscale);
  check(columns >= 1, where, ": expected columns >= 1, found ", columns);
  const auto stack = detail::image_stack(images, where);
  const Index cols = std::min(columns, stack.count), rows = (stack.count + cols - 1) / cols;
  const Index cell_w = stack.width * upscale, cell_h = stack.height * upscale;
  const Index width = detail::kGap + cols * (cell_w + detail::kGap);
  const Index height = detail::kGap + rows * (cell_h + detail::kGap);
  detail::check_image_size(where, width, height);
  auto picture = detail::gap_picture(width, height, stack.channels);
  for (Index i = 0; i < stack.count; ++i)
    detail::blit(images, stack, i, lo, hi, upscale, picture, width,
                 detail::kGap + (i % cols) * (cell_w + detail::kGap),
                 detail::kGap + (i / cols) * (cell_h + detail::kGap));
  save_png(path, picture, static_cast<int>(width), static_cast<int>(height),
           static_cast<int>(stack.channels));
}

/// Saves inputs beside their reconstructions: each row holds pairs_per_row
/// pairs (input, then output), 2 pixels apart, with a wider gap between pairs.
/// inputs and outputs may be laid out differently ([N, 784] and [N, 1, 28, 28])
/// but must hold the same number of images of the same size and channels
/// (grey, or RGB as [N, 3, H, W]: then the PNG is RGB).
inline void save_image_pairs(const std::string& path, const Tensor<float>& inputs,
                             const Tensor<float>& outputs, float lo, float hi, int upscale = 2,
                             Index pairs_per_row = 8) {
  const std::string where = path + ": save_image_pairs";
  detail::check_image_args(where, lo, hi, upscale);
  check(pairs_per_row >= 1, where, ": expected pairs_per_row >= 1, found ", pairs_per_row);
  const auto in = detail::image_stack(inputs, where + " inputs");
  const auto out = detail::image_stack(outputs, where + " outputs");
  check(in.count == out.count && in.channels == out.channels && in.height == out.height &&
            in.width == out.width,
        where, ": inputs ", inputs.shape(), " and outputs ", outputs.shape(),
        " must hold the same number of images of the same size and channels");
  const Index cols = std::min(pairs_per_row, in.count), rows = (in.count + cols - 1) / cols;
  const Index cell_w = in.width * upscale, cell_h = in.height * upscale;
  const Index pair_w = 2 * cell_w + detail::kGap;
  const Index width = 2 * detail::kGap + cols * pair_w + (cols - 1) * detail::kPairGap;
  const Index height = detail::kGap + rows * (cell_h + detail::kGap);
  detail::check_image_size(where, width, height);
  auto picture = detail::gap_picture(width, height, in.channels);
  for (Index i = 0; i < in.count; ++i) {
    const Index x = detail::kGap + (i % cols) * (pair_w + detail::kPairGap);
    const Index y = detail::kGap + (i / cols) * (cell_h + detail::kGap);
    detail::blit(inputs, in, i, lo, hi, upscale, picture, width, x, y);
    detail::blit(outputs, out, i, lo, hi, upscale, picture, width, x + cell_w + detail::kGap, y);
  }
  save_png(path, picture, static_cast<int>(width), static_cast<int>(height),
           static_cast<int>(in.channels));
}

}  // namespace tinygan::io
