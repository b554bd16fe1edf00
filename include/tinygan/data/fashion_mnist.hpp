/// \file
/// Fashion-MNIST (Zalando's ten kinds of clothing, MNIST's format and
/// sizes): find the four IDX files and load a split as an ImageSet
/// [N, 1, 28, 28] with ten named classes.
///
/// Debian's package dataset-fashion-mnist installs them gzipped in
/// /usr/share/datasets/fashion-mnist, the default place looked in; a folder
/// given instead may hold them gzipped (name.gz) or plain.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/data/idx_images.hpp"
#include "tinygan/data/image_set.hpp"

namespace tinygan::data {

inline constexpr const char* kFashionMnistDebianDir = "/usr/share/datasets/fashion-mnist";
inline constexpr const char* kFashionMnistDebianPackage = "dataset-fashion-mnist";

inline const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> classes{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return classes;
}

namespace fashion_detail {
namespace fs = std::filesystem;

inline constexpr std::array<const char*, 4> kFiles{"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/// dir/base if it is there, else dir/base.gz if that is, else "".
inline std::string existing(const fs::path& dir, const std::string& base) {
  std::error_code ec;
  for (const std::string& name : {base, base + ".gz"})
    if (fs::is_regular_file(dir / name, ec)) return (dir / name).string();
  return "";
}
}  // namespace fashion_detail

/// The folder holding all four Fashion-MNIST files: dir when given, else
/// Debian's /usr/share/datasets/fashion-mnist. Throws Error naming the
/// files looked for, where, and how to install them.
inline std::string find_fashion_mnist(const std::string& dir = "") {
  namespace fs = std::filesystem;
  const bool debian = dir.empty();
  const fs::path folder = debian ? fs::path(kFashionMnistDebianDir) : fs::path(dir);
  std::string missing;
  for (const char* base : fashion_detail::kFiles)
    if (fashion_detail::existing(folder, base).empty()) missing += std::string(missing.empty() ? "" : ", ") + base;
  if (missing.empty()) return folder.string();

  std::string looked_for;
  for (const char* base : fashion_detail::kFiles) looked_for += std::string("\n    ") + base + "[.gz]";
  throw Error(tinygan::detail::concat(
      "Fashion-MNIST not found: looked in ", folder.string(), debian ? " (Debian's place for it)" : "",
      " for these four files, gzipped or not:", looked_for, "\nmissing: ", missing,
      "\ninstall them with: sudo apt-get install ", kFashionMnistDebianPackage, " (it puts them in ",
      kFashionMnistDebianDir, "), or give --data DIR for a folder that holds them"));
}

/// Loads one split of Fashion-MNIST from dir (see find_fashion_mnist; empty:
/// Debian's place): images [N, 1, 28, 28], labels 0..9, the ten class names.
/// Any N is accepted, so that a subset loads too.
inline ImageSet load_fashion_mnist(const std::string& dir, Split split, Scaling scaling) {
  const std::filesystem::path folder = find_fashion_mnist(dir);
  const bool train = split == Split::train;
  const std::string images_path = fashion_detail::existing(folder, fashion_detail::kFiles[train ? 0 : 2]);
  const std::string labels_path = fashion_detail::existing(folder, fashion_detail::kFiles[train ? 1 : 3]);
  const IdxArray images = read_idx(images_path);
  check(images.dims.size() == 3 && images.dims[1] == 28 && images.dims[2] == 28, images_path,
        ": expected Fashion-MNIST images [N, 28, 28], found ", idx_detail::dims_str(images.dims));
  return idx_to_image_set(images, images_path, read_idx(labels_path), labels_path, scaling,
                          fashion_mnist_classes());
}

}  // namespace tinygan::data
