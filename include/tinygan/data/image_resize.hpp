/// \file
/// Data sets of one size and colour made into another: grey to RGB (the grey
/// repeated), RGB to grey (Rec. 601 luma, as pictures are read), and square
/// images resized with stb_image_resize (MNIST at 32 pixels, CIFAR-10 at 64).
#pragma once

#include <algorithm>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/data/image_set.hpp"
#include "tinygan/data/stb_image.hpp"

namespace tinygan::data {

/// The images of set at these indices, with their labels.
inline ImageSet select_images(const ImageSet& set, const std::vector<Index>& indices) {
  Shape shape = set.images.shape();
  shape[0] = static_cast<Index>(indices.size());
  ImageSet out;
  out.images = Tensor<float>::uninitialized(shape);
  out.classes = set.classes;
  const Index per = set.images.numel() / std::max<Index>(1, set.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    std::copy_n(set.images.data() + indices[k] * per, per, out.images.data() + static_cast<Index>(k) * per);
    if (!set.labels.empty()) out.labels.push_back(set.labels[static_cast<std::size_t>(indices[k])]);
  }
  return out;
}

/// set with `channels` channels (0: as it is) and sides of `size` pixels (0: as it is).
inline ImageSet fit_images(ImageSet set, Index channels, Index size) {
  const Tensor<float>& in = set.images;
  check(in.rank() == 4, "fit_images: expected images [N, C, H, W], found ", in.shape());
  const Index n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
  const Index c_out = channels ? channels : c, side = size ? size : h;
  if (c_out == c && (size == 0 || (h == size && w == size))) return set;
  check(c == 1 || c == 3, "fit_images: expected 1 or 3 channels, found ", c);
  check(size == 0 || h == w, "fit_images: resizing expects square images, found ", h, "x", w);
  Tensor<float> out = Tensor<float>::uninitialized({n, c_out, side, size ? side : w});
  std::vector<float> plane(static_cast<std::size_t>(h * w));
  for (Index i = 0; i < n; ++i) {
    for (Index k = 0; k < c_out; ++k) {
      // This output channel's plane at the input's size.
      const float* src = in.data() + (i * c) * h * w;
      if (c == c_out) {
        std::copy_n(src + k * h * w, h * w, plane.data());
      } else if (c == 1) {
        std::copy_n(src, h * w, plane.data());
      } else {
        for (Index p = 0; p < h * w; ++p)
          plane[static_cast<std::size_t>(p)] = 0.299f * src[p] + 0.587f * src[h * w + p] + 0.114f * src[2 * h * w + p];
      }
      float* dst = out.data() + (i * c_out + k) * out.dim(2) * out.dim(3);
      if (out.dim(2) == h && out.dim(3) == w) {
        std::copy(plane.begin(), plane.end(), dst);
        continue;
      }
      const auto [lo, hi] = std::minmax_element(plane.begin(), plane.end());
      const float low = *lo, high = *hi;
      check(stbir_resize_float(plane.data(), static_cast<int>(w), static_cast<int>(h), 0, dst, static_cast<int>(side),
                               static_cast<int>(side), 0, 1) == 1,
            "fit_images: stb_image_resize failed on image ", i);
      // The filter overshoots a little at edges; the pixels stay in the image's range.
      for (Index p = 0; p < side * side; ++p) dst[p] = std::clamp(dst[p], low, high);
    }
  }
  set.images = std::move(out);
  return set;
}

}  // namespace tinygan::data
