/// \file
/// Generated samples written out for other tools, in one of three formats
/// picked by the path: float32 .npy, a folder of PNGs, or IDX3 unsigned bytes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "tinygan/core/tensor.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/io/npy.hpp"
#include "tinygan/io/png.hpp"

namespace tinygan::io {

namespace detail {

/// The layout of samples [N, C, H, W], or [N, H, W] as C = 1.
inline ImageStack sample_stack(const Tensor<float>& samples, const std::string& where) {
  const Shape& s = samples.shape();
  ImageStack stack;
  if (s.rank() == 4) {
    stack = {s[0], s[1], s[2], s[3]};
  } else if (s.rank() == 3) {
    stack = {s[0], 1, s[1], s[2]};
  } else {
    throw Error(tinygan::detail::concat(where, ": expected samples shaped [N, C, H, W] or [N, H, W], found ", s));
  }
  check(stack.count >= 1 && stack.channels >= 1 && stack.height >= 1 && stack.width >= 1, where,
        ": expected at least one non-empty sample, found shape ", s);
  return stack;
}

inline bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

/// "sample_000042.png": 6 digits, or as many as the largest index needs.
inline std::string sample_file_name(Index i, Index count) {
  const std::string last = std::to_string(count - 1);
  std::string digits = std::to_string(i);
  const std::size_t width = std::max<std::size_t>(6, last.size());
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return "sample_" + digits + ".png";
}

}  // namespace detail

/// Writes samples in the generator's range [lo, hi], the format chosen by the path:
///   - ending in ".npy": float32 .npy, the shape as given ((N, C, H, W) or
///     (N, H, W)), values unchanged;
///   - ending in '/', or naming an existing directory: one PNG per sample,
///     sample_000000.png, sample_000001.png, ... (6 digits, more when N needs
///     them), grey for C = 1 and RGB for C = 3; the folder is created if missing
///     and each file is written atomically; files already there under other
///     names are left as they are;
///   - anything else: IDX3 unsigned bytes (N, H, W), one channel only.
/// Bytes (PNG and IDX3) are round(clamp((x - lo) / (hi - lo), 0, 1) x 255),
/// NaN 0: the mapping of the sample grids (detail::to_gray).
/// Samples are [N, C, H, W], or [N, H, W] for one channel; anything else, or a
/// channel count the format cannot hold, is refused before anything is written.
inline void export_samples(const std::string& path, const Tensor<float>& samples, float lo, float hi) {
  const std::string where = path + ": export_samples";
  check(std::isfinite(lo) && std::isfinite(hi) && lo < hi, where,
        ": expected a finite value range lo < hi, found [", lo, ", ", hi, "]");
  const detail::ImageStack stack = detail::sample_stack(samples, where);
  const Index plane = stack.height * stack.width;

  std::error_code ec;
  const bool folder = detail::ends_with(path, "/") || std::filesystem::is_directory(path, ec);
  if (folder) {
    check(stack.channels == 1 || stack.channels == 3, where,
          ": a folder of PNGs holds 1 channel (grey) or 3 (RGB), found ", stack.channels,
          " channels in shape ", samples.shape(), "; export to a .npy file to keep them all");
    std::filesystem::create_directories(path, ec);
    check(!ec && std::filesystem::is_directory(path), where, ": cannot create the folder: ",
          ec ? ec.message() : std::string("a file of that name is in the way"));
    const std::filesystem::path dir(path);
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(plane * stack.channels));
    for (Index i = 0; i < stack.count; ++i) {
      // One image at its own size: a 1x picture with no gaps.
      detail::blit(samples, stack, i, lo, hi, 1, pixels, stack.width, 0, 0);
      save_png((dir / detail::sample_file_name(i, stack.count)).string(), pixels,
               static_cast<int>(stack.width), static_cast<int>(stack.height),
               static_cast<int>(stack.channels));
    }
    return;
  }
  if (detail::ends_with(path, ".npy")) {
    save_npy(path, samples);
    return;
  }
  check(stack.channels == 1, where, ": IDX3 holds one channel (N, H, W), found ", stack.channels,
        " channels in shape ", samples.shape(),
        "; export to a .npy file or to a folder of PNGs (a path ending in '/') instead");
  data::IdxArray idx;
  idx.dims = {stack.count, stack.height, stack.width};
  idx.data.resize(static_cast<std::size_t>(samples.numel()));
  const float* src = samples.data();
  for (std::size_t i = 0; i < idx.data.size(); ++i) idx.data[i] = detail::to_gray(src[i], lo, hi);
  data::write_idx(path, idx);
}

}  // namespace tinygan::io
