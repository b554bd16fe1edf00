/// \file
/// Images stored as IDX arrays (MNIST's format, also Fashion-MNIST's and
/// EMNIST's) turned into an ImageSet: [N, H, W] grey or [N, H, W, C] channels
/// last, with an optional IDX label array [N].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/data/image_set.hpp"

namespace tinygan::data {

/// images: [N, H, W] or [N, H, W, C]; labels: [N] or, when unlabelled, no
/// dimensions at all. With classes given, every label must name one of them.
/// images_name and labels_name are what errors call the two arrays.
inline ImageSet idx_to_image_set(const IdxArray& images, const std::string& images_name, const IdxArray& labels,
                                 const std::string& labels_name, Scaling scaling,
                                 std::vector<std::string> classes = {}) {
  const auto rank = images.dims.size();
  check(rank == 3 || rank == 4, images_name, ": expected images [N, H, W] or [N, H, W, C], found ",
        idx_detail::dims_str(images.dims));
  const Index n = images.dims[0], h = images.dims[1], w = images.dims[2];
  const Index c = rank == 4 ? images.dims[3] : 1;
  check(c <= 4, images_name, ": expected at most 4 channels (the last of [N, H, W, C]), found ", c);
  check(static_cast<Index>(images.data.size()) == n * h * w * c, images_name, ": holds ", images.data.size(),
        " bytes, dimensions ", idx_detail::dims_str(images.dims), " need ", n * h * w * c);

  ImageSet set;
  if (!labels.dims.empty()) {
    check(labels.dims.size() == 1, labels_name, ": expected labels [N], found ", idx_detail::dims_str(labels.dims));
    check(labels.dims[0] == n, images_name, " holds ", n, " images but ", labels_name, " holds ",
          labels.dims[0], " labels");
    set.labels.reserve(labels.data.size());
    for (std::size_t i = 0; i < labels.data.size(); ++i) {
      const std::uint8_t label = labels.data[i];
      check(classes.empty() || label < classes.size(), labels_name, ": label at index ", i, " is ", int{label},
            ", expected 0 to ", classes.size() - 1, " (", classes.size(), " classes)");
      set.labels.push_back(label);
    }
  }

  // One value per byte: scaling costs a table look-up.
  float value[256];
  for (int b = 0; b < 256; ++b) value[b] = scaled(static_cast<std::uint8_t>(b), scaling);
  set.images = Tensor<float>(Shape{n, c, h, w});
  float* out = set.images.data();
  const std::uint8_t* in = images.data.data();
  const Index plane = h * w;
  for (Index i = 0; i < n; ++i, out += c * plane, in += c * plane)
    for (Index p = 0; p < plane; ++p)
      for (Index k = 0; k < c; ++k) out[k * plane + p] = value[in[p * c + k]];  // channels last -> first
  set.classes = std::move(classes);
  return set;
}

/// Loads an IDX image file (plain or gzipped) and, unless labels_path is
/// empty, its IDX label file.
inline ImageSet load_idx_images(const std::string& images_path, const std::string& labels_path, Scaling scaling,
                                std::vector<std::string> classes = {}) {
  const IdxArray images = read_idx(images_path);
  const IdxArray labels = labels_path.empty() ? IdxArray{} : read_idx(labels_path);
  return idx_to_image_set(images, images_path, labels, labels_path, scaling, std::move(classes));
}

}  // namespace tinygan::data
