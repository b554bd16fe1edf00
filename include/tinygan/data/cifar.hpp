/// \file
/// CIFAR-10, binary version: 60,000 colour images 32x32 in ten classes.
/// Each file (data_batch_1.bin to data_batch_5.bin for training,
/// test_batch.bin for testing) is a sequence of 3,073-byte records: a label
/// byte 0..9, then the 1,024 red, 1,024 green and 1,024 blue bytes of the
/// image, each plane row by row. Loaded as an ImageSet [N, 3, 32, 32].
///
/// No Debian or npm package ships CIFAR-10, so tinygan does not fetch it:
/// the user downloads and unpacks it (the error when it is missing says how).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/read_file.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/data/image_set.hpp"

namespace tinygan::data {

inline constexpr Index kCifarSide = 32;
inline constexpr Index kCifarPixelBytes = 3 * kCifarSide * kCifarSide;
inline constexpr Index kCifarRecordBytes = 1 + kCifarPixelBytes;  // 3,073
inline constexpr const char* kCifar10Url = "https://www.cs.toronto.edu/~kriz/cifar.html";
/// The folder cifar-10-binary.tar.gz unpacks into.
inline constexpr const char* kCifar10Subfolder = "cifar-10-batches-bin";

inline const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> classes{"airplane", "automobile", "bird",  "cat",  "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};
  return classes;
}

/// The files holding a split, in the order their records are loaded.
inline std::vector<std::string> cifar10_files(Split split) {
  if (split == Split::test) return {"test_batch.bin"};
  return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"};
}

namespace cifar_detail {
/// How many records a file of this size holds; refuses a size that is not a
/// whole number of them.
inline Index record_count(Index size, const std::string& name) {
  check(size > 0, name, ": empty; expected CIFAR-10 records of ", kCifarRecordBytes, " bytes each");
  check(size % kCifarRecordBytes == 0, name, ": ", size, " bytes is not a whole number of ", kCifarRecordBytes,
        "-byte CIFAR-10 records (1 label byte + 3,072 pixel bytes): ", size / kCifarRecordBytes,
        " records and ", size % kCifarRecordBytes, " bytes over");
  return size / kCifarRecordBytes;
}

/// Decodes bytes' records into images (3,072 floats a record: the file is
/// already channels first) and labels (one a record).
inline void decode_records(std::string_view bytes, const std::string& name, Scaling scaling, float* images,
                           std::int32_t* labels) {
  const Index count = record_count(static_cast<Index>(bytes.size()), name);
  float value[256];
  for (int b = 0; b < 256; ++b) value[b] = scaled(static_cast<std::uint8_t>(b), scaling);
  const auto* in = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const auto& classes = cifar10_classes();
  for (Index r = 0; r < count; ++r, in += kCifarRecordBytes) {
    check(in[0] < classes.size(), name, ": record ", r, " (at byte ", r * kCifarRecordBytes, ") has label ",
          int{in[0]}, ", expected 0 to ", classes.size() - 1);
    labels[r] = in[0];
    for (Index k = 0; k < kCifarPixelBytes; ++k) *images++ = value[in[1 + k]];
  }
}

inline std::string missing_in(const std::filesystem::path& folder, Split split) {
  std::error_code ec;
  std::string missing;
  for (const auto& f : cifar10_files(split))
    if (!std::filesystem::is_regular_file(folder / f, ec)) missing += (missing.empty() ? "" : ", ") + f;
  return missing;
}
}  // namespace cifar_detail

/// CIFAR-10 records already in memory (one file's bytes); name is what
/// errors call them.
inline ImageSet parse_cifar10(std::string_view bytes, const std::string& name, Scaling scaling) {
  const Index count = cifar_detail::record_count(static_cast<Index>(bytes.size()), name);
  ImageSet set;
  set.images = Tensor<float>(Shape{count, 3, kCifarSide, kCifarSide});
  set.labels.resize(static_cast<std::size_t>(count));
  cifar_detail::decode_records(bytes, name, scaling, set.images.data(), set.labels.data());
  set.classes = cifar10_classes();
  return set;
}

/// The folder holding a split's files: dir itself or dir/cifar-10-batches-bin.
/// Throws Error naming the files looked for, where, and how to get them.
inline std::string find_cifar10(const std::string& dir, Split split) {
  namespace fs = std::filesystem;
  const fs::path given = dir.empty() ? fs::path(".") : fs::path(dir);
  for (const fs::path& folder : {given, given / kCifar10Subfolder})
    if (cifar_detail::missing_in(folder, split).empty()) return folder.string();

  std::string names;
  for (const auto& f : cifar10_files(split)) names += (names.empty() ? "" : ", ") + f;
  std::error_code ec;
  const bool python = fs::exists(given / "cifar-10-batches-py", ec) || fs::exists(given / "data_batch_1", ec);
  throw Error(tinygan::detail::concat(
      "CIFAR-10 not found: looked in ", given.string(), " and ", (given / kCifar10Subfolder).string(), " for the ",
      split == Split::train ? "training" : "test", " files ", names, "; missing in ", given.string(), ": ",
      cifar_detail::missing_in(given, split), python ? "\n(found the Python version there; tinygan reads the binary one)" : "",
      "\nNo Debian or npm package ships CIFAR-10: download the binary version (cifar-10-binary.tar.gz) from ",
      kCifar10Url, " and unpack it (tar -xzf cifar-10-binary.tar.gz), then give the folder it makes (",
      kCifar10Subfolder, ") or the one holding it"));
}

/// Loads a split (training: the five data batches, 50,000 images; test:
/// 10,000) from dir or dir/cifar-10-batches-bin. Any whole number of records
/// per file is accepted, so that a subset loads too.
inline ImageSet load_cifar10(const std::string& dir, Split split, Scaling scaling) {
  namespace fs = std::filesystem;
  const fs::path folder = find_cifar10(dir, split);
  // Sizes first, so the images are allocated once and a bad file is named
  // before anything large is read.
  std::vector<std::string> paths;
  Index total = 0;
  for (const auto& f : cifar10_files(split)) {
    paths.push_back((folder / f).string());
    std::error_code ec;
    const auto size = fs::file_size(paths.back(), ec);
    check(!ec, paths.back(), ": cannot read its size (", ec.message(), ")");
    total += cifar_detail::record_count(static_cast<Index>(size), paths.back());
  }
  ImageSet set;
  set.images = Tensor<float>(Shape{total, 3, kCifarSide, kCifarSide});
  set.labels.resize(static_cast<std::size_t>(total));
  Index done = 0;
  for (const auto& path : paths) {
    const std::string bytes = read_whole_file(path);
    const Index count = cifar_detail::record_count(static_cast<Index>(bytes.size()), path);
    check(done + count <= total, path, ": grew while being read (", bytes.size(), " bytes now)");
    cifar_detail::decode_records(bytes, path, scaling, set.images.data() + done * kCifarPixelBytes,
                                 set.labels.data() + done);
    done += count;
  }
  check(done == total, folder.string(), ": the CIFAR-10 files shrank while being read (", done, " records of ",
        total, ")");
  set.classes = cifar10_classes();
  return set;
}

}  // namespace tinygan::data
