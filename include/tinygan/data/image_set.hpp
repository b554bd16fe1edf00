/// \file
/// What every data set loads into: images [N, C, H, W] as floats, with a
/// class per image where the source has one, and the classes' names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/tensor.hpp"

namespace tinygan::data {

/// Which part of a data set that comes split in two (MNIST).
enum class Split { train, test };

enum class Scaling {
  zero_to_one,       // x / 255
  minus_one_to_one,  // x / 127.5 - 1, for generators ending in tanh
};

/// The float a byte becomes under a scaling.
inline float scaled(std::uint8_t byte, Scaling scaling) {
  return scaling == Scaling::zero_to_one ? static_cast<float>(byte / 255.0)
                                         : static_cast<float>(byte / 127.5 - 1.0);
}

struct ImageSet {
  static constexpr std::int32_t kUnlabelled = -1;

  Tensor<float> images;              // [N, C, H, W]
  std::vector<std::int32_t> labels;  // N classes 0..K-1 (kUnlabelled where unknown); empty: none at all
  std::vector<std::string> classes;  // K names; empty when the source names none

  Index size() const { return images.rank() ? images.dim(0) : 0; }
  bool labelled() const {
    if (labels.empty()) return false;
    for (auto l : labels)
      if (l == kUnlabelled) return false;
    return true;
  }
};

}  // namespace tinygan::data
