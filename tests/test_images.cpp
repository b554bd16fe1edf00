// PNG output: raw images, grey and RGB grids, input/output pairs and line
// plots, each decoded again with stb_image and checked pixel by pixel where it
// matters; and export_samples' three formats (.npy, IDX3, a folder of PNGs),
// each read back.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "tinygan/core/rng.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/io/npy.hpp"
#include "tinygan/io/plot.hpp"
#include "tinygan/io/png.hpp"
#include "tinygan/io/sample_export.hpp"

#include "tinygan/data/stb_image.hpp"  // the decoder the picture readers use

using namespace tinygan;
using namespace tinygan::testing;

namespace {

struct Decoded {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;
  std::uint8_t at(int x, int y, int c = 0) const {
    return pixels[static_cast<std::size_t>((y * width + x) * channels + c)];
  }
  io::Color rgb(int x, int y) const { return {at(x, y, 0), at(x, y, 1), at(x, y, 2)}; }
  long count(io::Color c) const {
    long n = 0;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) n += rgb(x, y) == c;
    return n;
  }
};

// Decodes a PNG as stored (no channel conversion), then deletes the file.
Decoded decode(const std::string& path) {
  Decoded d;
  unsigned char* data = tinygan::testing::load_picture(path, &d.width, &d.height, &d.channels);
  REQUIRE_MESSAGE(data != nullptr, path, ": stb_image cannot decode it: ", stbi_failure_reason());
  d.pixels.assign(data, data + static_cast<std::size_t>(d.width) * d.height * d.channels);
  stbi_image_free(data);
  std::filesystem::remove(path);
  return d;
}
}  // namespace

TEST_CASE("save_png writes gray and RGB images that decode to the same pixels") {
  const std::string path = temp_path("raw.png");
  const std::vector<std::uint8_t> rgb{255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90};
  io::save_png(path, rgb, 3, 2, 3);
  auto d = decode(path);
  CHECK(d.width == 3);
  CHECK(d.height == 2);
  REQUIRE(d.channels == 3);
  CHECK(d.pixels == rgb);

  const std::vector<std::uint8_t> gray{0, 64, 128, 255};
  io::save_png(path, gray, 2, 2, 1);
  d = decode(path);
  REQUIRE(d.channels == 1);
  CHECK(d.pixels == gray);

  CHECK(contains(error_of([&] { io::save_png(path, gray, 3, 2, 1); }), "needs 6 bytes, found 4"));
  CHECK(contains(error_of([&] { io::save_png(path, gray, 2, 2, 5); }), "1 to 4 channels"));
  CHECK(contains(error_of([&] { io::save_png(path, {}, 0, 2, 1); }), "non-empty image"));
  CHECK(contains(error_of([&] { io::save_png("/nonexistent/dir/x.png", gray, 2, 2, 1); }),
                 "/nonexistent/dir/x.png"));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("image grid png: size, scaled digit pixels, value mapping and grey gaps") {
  // Three 4x4 images in two columns, upscaled 3x: cells of 12x12, 2-pixel gaps.
  Tensor<float> images({3, 1, 4, 4});
  for (Index i = 0; i < 16; ++i) {
    images[i] = 1.0f;        // image 0: all hi -> white
    images[16 + i] = -1.0f;  // image 1: all lo -> black
  }
  float* third = images.data() + 32;
  third[0] = std::numeric_limits<float>::quiet_NaN();  // NaN -> black
  third[1] = 0.0f;                                      // middle -> 128
  third[2] = 7.0f;                                      // above hi -> clamped white
  third[3] = -7.0f;                                     // below lo -> clamped black
  third[4] = std::numeric_limits<float>::infinity();    // +inf -> white
  const std::string path = temp_path("grid.png");
  io::save_image_grid(path, images, 2, -1.0f, 1.0f, 3);
  const auto d = decode(path);
  CHECK(d.width == 2 + 2 * (12 + 2));
  CHECK(d.height == 2 + 2 * (12 + 2));
  REQUIRE(d.channels == 1);

  // Image 0 covers x, y in [2, 14), image 1 x in [16, 28), image 2 y in [16, 28).
  CHECK(d.at(2, 2) == 255);
  CHECK(d.at(13, 13) == 255);
  CHECK(d.at(16, 2) == 0);
  CHECK(d.at(27, 13) == 0);
  CHECK(d.at(2, 16) == 0);    // NaN, block of 3x3
  CHECK(d.at(4, 18) == 0);
  CHECK(d.at(5, 16) == 128);  // value 0 in [-1, 1]
  CHECK(d.at(8, 16) == 255);  // 7 clamped
  CHECK(d.at(11, 16) == 0);   // -7 clamped
  CHECK(d.at(2, 19) == 255);  // +inf
  // Gaps: the border, between columns and rows, and the empty fourth cell are mid-grey.
  for (const auto& [x, y] : std::vector<std::pair<int, int>>{{0, 0}, {1, 7}, {14, 5}, {15, 5}, {7, 14}, {29, 29}, {20, 20}})
    CHECK(d.at(x, y) == 128);
}

TEST_CASE("image grid png accepts [N, H, W] and [N, H*W] square images") {
  const std::string path = temp_path("grid_flat.png");
  io::save_image_grid(path, Tensor<float>::full({2, 784}, 0.5f), 8, 0.0f, 1.0f, 1);
  auto d = decode(path);
  CHECK(d.width == 2 + 2 * (28 + 2));  // fewer images than columns: only two cells wide
  CHECK(d.height == 2 + 28 + 2);
  CHECK(d.at(2, 2) == 128);

  io::save_image_grid(path, Tensor<float>::full({5, 3, 6}, 1.0f), 2, 0.0f, 1.0f);
  d = decode(path);
  CHECK(d.width == 2 + 2 * (12 + 2));
  CHECK(d.height == 2 + 3 * (6 + 2));
}

TEST_CASE("image grid png refuses bad arguments with the file and the reason") {
  const std::string path = temp_path("grid_bad.png");
  const Tensor<float> ok({2, 1, 4, 4});
  const auto grid = [&](const Tensor<float>& t, Index columns, float lo, float hi, int upscale) {
    return error_of([&] { io::save_image_grid(path, t, columns, lo, hi, upscale); });
  };
  CHECK(contains(grid(ok, 0, 0, 1, 2), path));
  CHECK(contains(grid(ok, 0, 0, 1, 2), "columns >= 1, found 0"));
  CHECK(contains(grid(ok, 4, 0, 1, 0), "upscale between 1 and 16, found 0"));
  CHECK(contains(grid(ok, 4, 0, 1, 17), "upscale between 1 and 16, found 17"));
  CHECK(contains(grid(ok, 4, 1, 1, 2), "lo < hi"));
  CHECK(contains(grid(ok, 4, std::nanf(""), 1, 2), "lo < hi"));
  CHECK(contains(grid(Tensor<float>({0, 1, 4, 4}), 4, 0, 1, 2), "at least one non-empty image"));
  CHECK(contains(grid(Tensor<float>({2, 10}), 4, 0, 1, 2), "not a square number"));
  CHECK(contains(grid(Tensor<float>({2, 2, 4, 4}), 4, 0, 1, 2),
                 "expected 1 channel (grey) or 3 (RGB) in [N, C, H, W], found 2 channels in shape [2, 2, 4, 4]"));
  CHECK(contains(grid(Tensor<float>({2, 4, 4, 4}), 4, 0, 1, 2), "found 4 channels in shape [2, 4, 4, 4]"));
  CHECK(contains(grid(Tensor<float>({16}), 4, 0, 1, 2),
                 "expected images shaped [N, C, H, W] with C = 1 or 3, [N, H, W] or [N, H*W], found [16]"));
  CHECK(contains(grid(Tensor<float>({4000, 1, 28, 28}), 4000, 0, 1, 16), "more than 16384 on a side"));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("image pairs png: inputs beside outputs, wider gaps between pairs") {
  // Ten pairs, eight per row: inputs black, outputs white, in different layouts.
  const std::string path = temp_path("pairs.png");
  io::save_image_pairs(path, Tensor<float>::full({10, 784}, 0.0f),
                       Tensor<float>::full({10, 1, 28, 28}, 1.0f), 0.0f, 1.0f, 1);
  const auto d = decode(path);
  const int pair_w = 28 + 2 + 28, pair_gap = 8;
  CHECK(d.width == 2 + 8 * pair_w + 7 * pair_gap + 2);
  CHECK(d.height == 2 + 2 * (28 + 2));
  CHECK(d.at(2, 2) == 0);                    // first input
  CHECK(d.at(29, 29) == 0);
  CHECK(d.at(30, 2) == 128);                 // the 2-pixel gap inside a pair
  CHECK(d.at(32, 2) == 255);                 // first output
  CHECK(d.at(59, 29) == 255);
  CHECK(d.at(60, 2) == 128);                 // the gap between pairs
  CHECK(d.at(67, 2) == 128);
  CHECK(d.at(68, 2) == 0);                   // second input
  CHECK(d.at(2 + pair_w + pair_gap + 30, 32) == 255);  // the tenth pair's output, second row
  CHECK(d.at(2 + 2 * (pair_w + pair_gap), 32) == 128);  // no eleventh pair

  CHECK(contains(error_of([&] {
                   io::save_image_pairs(path, Tensor<float>({10, 784}), Tensor<float>({9, 784}), 0, 1);
                 }),
                 "same number of images of the same size"));
  CHECK(contains(error_of([&] {
                   io::save_image_pairs(path, Tensor<float>({4, 784}), Tensor<float>({4, 1, 14, 14}), 0, 1);
                 }),
                 "inputs [4, 784] and outputs [4, 1, 14, 14]"));
  CHECK(contains(error_of([&] {
                   io::save_image_pairs(path, Tensor<float>({4, 784}), Tensor<float>({4, 784}), 0, 1, 2, 0);
                 }),
                 "pairs_per_row >= 1"));
}

namespace {
// A distinct byte for every image, channel, row and column (0..255), and the
// value in [0, 1] that maps to it exactly.
std::uint8_t rgb_test_byte(Index i, Index ch, Index r, Index c) {
  return static_cast<std::uint8_t>((11 + 97 * i + 61 * ch + 13 * r + 5 * c) % 256);
}

// images [n, channels, h, w] (planar) filled with rgb_test_byte / 255.
Tensor<float> rgb_test_images(Index n, Index channels, Index h, Index w) {
  Tensor<float> t({n, channels, h, w});
  for (Index i = 0; i < n; ++i)
    for (Index ch = 0; ch < channels; ++ch)
      for (Index r = 0; r < h; ++r)
        for (Index c = 0; c < w; ++c)
          t[((i * channels + ch) * h + r) * w + c] = rgb_test_byte(i, ch, r, c) / 255.0f;
  return t;
}

// A folder in the temp folder of this process, removed with everything in it.
struct ExportDir {
  std::filesystem::path path;
  explicit ExportDir(const std::string& name) : path(temp_path(name)) { std::filesystem::remove_all(path); }
  ~ExportDir() { std::filesystem::remove_all(path); }
  ExportDir(const ExportDir&) = delete;
  ExportDir& operator=(const ExportDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST_CASE("image grid png in RGB: planar channels land in their pixels, gaps stay mid-grey") {
  // Three 2x3 RGB images [3, 3, 2, 3] in two columns, upscaled 2x: 6x4 cells.
  Tensor<float> images = rgb_test_images(3, 3, 2, 3);
  images[(2 * 3 + 1) * 6 + 0] = std::numeric_limits<float>::quiet_NaN();  // image 2, green, (0, 0)
  images[(2 * 3 + 2) * 6 + 1] = 9.0f;                                      // image 2, blue, (0, 1)
  const std::string path = temp_path("grid_rgb.png");
  io::save_image_grid(path, images, 2, 0.0f, 1.0f, 2);
  const auto d = decode(path);
  CHECK(d.width == 2 + 2 * (6 + 2));
  CHECK(d.height == 2 + 2 * (4 + 2));
  REQUIRE(d.channels == 3);
  std::vector<bool> covered(static_cast<std::size_t>(d.width * d.height), false);
  for (Index i = 0; i < 3; ++i) {
    const int x0 = 2 + static_cast<int>(i % 2) * 8, y0 = 2 + static_cast<int>(i / 2) * 6;
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 6; ++x) {
        covered[static_cast<std::size_t>((y0 + y) * d.width + x0 + x)] = true;
        for (int ch = 0; ch < 3; ++ch) {
          std::uint8_t want = rgb_test_byte(i, ch, y / 2, x / 2);
          if (i == 2 && ch == 1 && y / 2 == 0 && x / 2 == 0) want = 0;    // NaN
          if (i == 2 && ch == 2 && y / 2 == 0 && x / 2 == 1) want = 255;  // clamped
          CHECK_MESSAGE(d.at(x0 + x, y0 + y, ch) == want, "image ", i, " channel ", ch, " at (", x, ", ", y, ")");
        }
      }
  }
  // Everything else (the border, gaps and the empty fourth cell) is 128,128,128.
  long grey = 0, other = 0;
  for (int y = 0; y < d.height; ++y)
    for (int x = 0; x < d.width; ++x)
      if (!covered[static_cast<std::size_t>(y * d.width + x)])
        ++(d.rgb(x, y) == io::Color{128, 128, 128} ? grey : other);
  CHECK(grey == d.width * d.height - 3 * 24);
  CHECK(other == 0);
}

TEST_CASE("image grid png in grey is byte for byte the picture drawn by hand, in every layout") {
  // Two 2x2 images in two columns, upscale 1: the whole 8x4 picture is known.
  const Tensor<float> images = Tensor<float>::from({2, 1, 2, 2}, {-1.0f, 0.0f, 1.0f, 0.5f, 2.0f, -2.0f, 0.25f, -0.5f});
  // 10x6 pixels, all mid-grey but for the two images at x 2-3 and 6-7, y 2-3.
  const int width = 2 + 2 * (2 + 2), height = 2 + 2 + 2;
  std::vector<std::uint8_t> expected(static_cast<std::size_t>(width * height), 128);
  const std::uint8_t values[2][4] = {{0, 128, 255, 191}, {255, 0, 159, 64}};
  for (int i = 0; i < 2; ++i)
    for (int p = 0; p < 4; ++p)
      expected[static_cast<std::size_t>((2 + p / 2) * width + 2 + i * 4 + p % 2)] = values[i][p];
  const std::string want_path = temp_path("grid_grey_expected.png"), path = temp_path("grid_grey.png");
  io::save_png(want_path, expected, width, height, 1);
  const std::string want = read_bytes(want_path);
  std::filesystem::remove(want_path);
  for (const Shape& layout : {Shape{2, 1, 2, 2}, Shape{2, 2, 2}, Shape{2, 4}}) {
    io::save_image_grid(path, images.reshaped(layout), 2, -1.0f, 1.0f, 1);
    CHECK_MESSAGE(read_bytes(path) == want, "layout ", layout);
    const auto d = decode(path);
    CHECK(d.channels == 1);
  }
}

TEST_CASE("image pairs png in RGB, and inputs and outputs of different channels refused") {
  const std::string path = temp_path("pairs_rgb.png");
  const Tensor<float> in = rgb_test_images(2, 3, 2, 2), out = Tensor<float>::full({2, 3, 2, 2}, 1.0f);
  io::save_image_pairs(path, in, out, 0.0f, 1.0f, 1, 8);
  const auto d = decode(path);
  CHECK(d.width == 2 + 2 * (2 + 2 + 2) + 8 + 2);
  CHECK(d.height == 2 + 2 + 2);
  REQUIRE(d.channels == 3);
  for (int ch = 0; ch < 3; ++ch) {
    CHECK(d.at(2, 2, ch) == rgb_test_byte(0, ch, 0, 0));
    CHECK(d.at(3, 3, ch) == rgb_test_byte(0, ch, 1, 1));
    CHECK(d.at(6, 2, ch) == 255);                         // first output
    CHECK(d.at(2 + 6 + 8, 3, ch) == rgb_test_byte(1, ch, 1, 0));  // second input
    CHECK(d.at(4, 2, ch) == 128);                         // the gap inside a pair
    CHECK(d.at(10, 2, ch) == 128);                        // the gap between pairs
  }
  const auto err = error_of([&] {
    io::save_image_pairs(path, Tensor<float>({2, 1, 2, 2}), Tensor<float>({2, 3, 2, 2}), 0, 1);
  });
  CHECK(contains(err, "inputs [2, 1, 2, 2] and outputs [2, 3, 2, 2] must hold the same number of images of the same size and channels"));
  CHECK(contains(error_of([&] {
                   io::save_image_pairs(path, Tensor<float>({2, 2, 2, 2}), Tensor<float>({2, 2, 2, 2}), 0, 1);
                 }),
                 "inputs: expected 1 channel (grey) or 3 (RGB) in [N, C, H, W], found 2 channels in shape [2, 2, 2, 2]"));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("export samples to .npy reads back with the shape and values given") {
  const ExportDir dir("export_npy");
  std::filesystem::create_directories(dir.path);
  Rng rng(5);
  const Tensor<float> rgb = Tensor<float>::randn({3, 3, 4, 5}, rng);  // out of [lo, hi] too: unchanged
  io::export_samples(dir.file("rgb.npy"), rgb, -1.0f, 1.0f);
  const Tensor<float> back = io::load_npy(dir.file("rgb.npy"));
  CHECK(back.shape() == Shape{3, 3, 4, 5});
  CHECK(std::equal(back.data(), back.data() + back.numel(), rgb.data()));

  const Tensor<float> grey = Tensor<float>::rand({2, 6, 7}, rng);
  io::export_samples(dir.file("grey.npy"), grey, 0.0f, 1.0f);
  const Tensor<float> grey_back = io::load_npy(dir.file("grey.npy"));
  CHECK(grey_back.shape() == Shape{2, 6, 7});
  CHECK(std::equal(grey_back.data(), grey_back.data() + grey_back.numel(), grey.data()));
}

TEST_CASE("export samples to IDX3 reads back as the mapped bytes, and refuses RGB naming the other formats") {
  const ExportDir dir("export_idx");
  std::filesystem::create_directories(dir.path);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor<float> samples = Tensor<float>::from({2, 1, 2, 3}, {-1.0f, 1.0f, 0.0f, nan, 5.0f, -5.0f,  //
                                                                    0.5f, -0.5f, 0.2f, -0.2f, 0.999f, -0.999f});
  for (const Shape& layout : {Shape{2, 1, 2, 3}, Shape{2, 2, 3}}) {
    const std::string path = dir.file("samples-idx3-ubyte");
    io::export_samples(path, samples.reshaped(layout), -1.0f, 1.0f);
    const data::IdxArray back = data::read_idx(path);
    CHECK(back.dims == std::vector<Index>{2, 2, 3});
    CHECK(back.data == std::vector<std::uint8_t>{0, 255, 128, 0, 255, 0, 191, 64, 153, 102, 255, 0});
  }

  const std::string rgb_path = dir.file("rgb-idx3-ubyte");
  const auto err = error_of([&] { io::export_samples(rgb_path, Tensor<float>({2, 3, 4, 4}), -1.0f, 1.0f); });
  CHECK(contains(err, rgb_path));
  CHECK(contains(err, "IDX3 holds one channel (N, H, W), found 3 channels in shape [2, 3, 4, 4]"));
  CHECK(contains(err, ".npy"));
  CHECK(contains(err, "folder of PNGs"));
  CHECK_FALSE(std::filesystem::exists(rgb_path));
}

TEST_CASE("export samples to a folder of PNGs: one numbered file per sample, grey or RGB") {
  const ExportDir dir("export_png");
  // RGB into a folder that does not exist yet (a path ending in '/').
  const Tensor<float> rgb = rgb_test_images(3, 3, 4, 5);
  io::export_samples(dir.path.string() + "/rgb/", rgb, 0.0f, 1.0f);
  REQUIRE(std::filesystem::is_directory(dir.path / "rgb"));
  CHECK(files_in(dir.path / "rgb") == 3);
  for (Index i = 0; i < 3; ++i) {
    const std::string name = "rgb/sample_00000" + std::to_string(i) + ".png";
    REQUIRE(std::filesystem::exists(dir.path / name));
    const auto d = decode(dir.file(name));
    CHECK(d.width == 5);
    CHECK(d.height == 4);
    REQUIRE(d.channels == 3);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x)
        for (int ch = 0; ch < 3; ++ch) CHECK(d.at(x, y, ch) == rgb_test_byte(i, ch, y, x));
  }

  // Grey [N, H, W] into an existing folder named without the '/'; bytes as for IDX3.
  std::filesystem::create_directories(dir.path / "grey");
  const Tensor<float> grey = Tensor<float>::from({2, 1, 3}, {-1.0f, 0.0f, std::nanf(""), 1.0f, 7.0f, 0.5f});
  io::export_samples((dir.path / "grey").string(), grey, -1.0f, 1.0f);
  CHECK(files_in(dir.path / "grey") == 2);
  auto d = decode(dir.file("grey/sample_000000.png"));
  REQUIRE(d.channels == 1);
  CHECK(d.width == 3);
  CHECK(d.height == 1);
  CHECK(d.pixels == std::vector<std::uint8_t>{0, 128, 0});
  d = decode(dir.file("grey/sample_000001.png"));
  CHECK(d.pixels == std::vector<std::uint8_t>{255, 255, 191});

  // Names grow past 6 digits only when the count needs it.
  CHECK(io::detail::sample_file_name(0, 1) == "sample_000000.png");
  CHECK(io::detail::sample_file_name(999999, 1000000) == "sample_999999.png");
  CHECK(io::detail::sample_file_name(5, 1000001) == "sample_0000005.png");
}

TEST_CASE("export samples refuses shapes and channels its format cannot hold, writing nothing") {
  const ExportDir dir("export_bad");
  const std::string folder = dir.path.string() + "/two/";
  auto err = error_of([&] { io::export_samples(folder, Tensor<float>({2, 2, 4, 4}), 0.0f, 1.0f); });
  CHECK(contains(err, "a folder of PNGs holds 1 channel (grey) or 3 (RGB), found 2 channels in shape [2, 2, 4, 4]"));
  CHECK_FALSE(std::filesystem::exists(dir.path));
  // .npy keeps any channel count.
  std::filesystem::create_directories(dir.path);
  io::export_samples(dir.file("four.npy"), Tensor<float>({2, 4, 3, 3}), 0.0f, 1.0f);
  CHECK(io::load_npy(dir.file("four.npy")).shape() == Shape{2, 4, 3, 3});

  for (const auto& path_and_shape : std::vector<std::pair<std::string, Shape>>{
           {dir.file("flat.npy"), Shape{2, 784}}, {dir.file("flat-idx3"), Shape{16}}, {folder, Shape{2, 784}}}) {
    const std::string& path = path_and_shape.first;  // named, not bound: the lambda captures it (clang 14)
    const Shape& shape = path_and_shape.second;
    err = error_of([&] { io::export_samples(path, Tensor<float>(shape), 0.0f, 1.0f); });
    CHECK(contains(err, path + ": export_samples: expected samples shaped [N, C, H, W] or [N, H, W], found " + shape.str()));
  }
  err = error_of([&] { io::export_samples(dir.file("empty.npy"), Tensor<float>({0, 1, 4, 4}), 0.0f, 1.0f); });
  CHECK(contains(err, "at least one non-empty sample, found shape [0, 1, 4, 4]"));
  err = error_of([&] { io::export_samples(dir.file("range-idx3"), Tensor<float>({1, 4, 4}), 1.0f, 1.0f); });
  CHECK(contains(err, "finite value range lo < hi, found [1, 1]"));
  CHECK(files_in(dir.path) == 1);  // four.npy alone
}

namespace {
constexpr io::Color kRed{220, 40, 40}, kBlue{30, 90, 200};

// Counts pixels that are not white inside [x0, x1) x [y0, y1).
long non_white(const Decoded& d, int x0, int y0, int x1, int y1) {
  long n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) n += d.rgb(x, y) != io::Color{255, 255, 255};
  return n;
}
}  // namespace

TEST_CASE("line plot png: expected size, curves in each series' colour, text and axes") {
  io::Series a{"sine", {}, {}, kRed}, b{"cosine", {}, {}, kBlue};
  for (int i = 0; i < 60; ++i) {
    a.x.push_back(i * 0.1), a.y.push_back(std::sin(i * 0.1));
    b.x.push_back(i * 0.1), b.y.push_back(std::cos(i * 0.1));
  }
  a.y[10] = std::numeric_limits<double>::quiet_NaN();  // skipped, not a crash
  b.x[20] = std::numeric_limits<double>::infinity();
  const std::string path = temp_path("plot.png");
  io::save_line_plot(path, "Two curves", "t", "value", {a, b});
  const auto d = decode(path);
  CHECK(d.width == 900);
  CHECK(d.height == 520);
  REQUIRE(d.channels == 3);
  CHECK(d.rgb(0, 0) == io::Color{255, 255, 255});
  CHECK(d.count(kRed) > 500);   // a 2-pixel curve across the plot, plus the legend swatch
  CHECK(d.count(kBlue) > 500);
  CHECK(non_white(d, 0, 0, 900, 30) > 50);      // the title
  CHECK(non_white(d, 0, 490, 900, 520) > 20);   // the x-axis label
  CHECK(non_white(d, 0, 100, 30, 420) > 20);    // the y-axis label, drawn vertically
}

TEST_CASE("line plot png: a noisy series of 20,000 points gets a light raw line and a moving average") {
  Rng rng(3);
  io::Series loss{"G loss", {}, {}, kBlue};
  for (int i = 0; i < 20000; ++i) loss.y.push_back(2.0 * std::exp(-i / 5000.0) + rng.normal(0, 0.3));
  const std::string path = temp_path("plot_long.png");
  io::save_line_plot(path, "GAN losses", "iteration", "loss", {loss}, 640, 400);
  const auto d = decode(path);
  CHECK(d.width == 640);
  CHECK(d.height == 400);
  CHECK(d.count(kBlue) > 600);                       // the smoothed curve
  CHECK(d.count(io::detail::lighter(kBlue, 0.65)) > 2000);  // the raw values under it
}

TEST_CASE("line plot png with no data, empty or all-NaN series still renders with a note") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& series : std::vector<std::vector<io::Series>>{
           {},
           {io::Series{"empty", {}, {}, kRed}},
           {io::Series{"nan", {1, 2, 3}, {nan, nan, nan}, kRed}, io::Series{"", {}, {}, kBlue}}}) {
    const std::string path = temp_path("plot_empty.png");
    io::save_line_plot(path, "Nothing yet", "x", "y", series, 400, 300);
    const auto d = decode(path);
    CHECK(d.width == 400);
    CHECK(d.height == 300);
    CHECK(d.count(io::detail::kMuted) > 20);  // "no data"
  }
  // One point, and a constant series: both show.
  const std::string path = temp_path("plot_point.png");
  io::save_line_plot(path, "", "", "", {io::Series{"one", {5}, {5}, kRed}, io::Series{"flat", {}, {2, 2, 2}, kBlue}});
  const auto d = decode(path);
  CHECK(d.count(kRed) >= 25);
  CHECK(d.count(kBlue) > 100);
}

TEST_CASE("line plot with forty series at the smallest size caps its legend with '+N more'") {
  std::vector<io::Series> many;
  for (int i = 0; i < 40; ++i)
    many.push_back(io::Series{"series " + std::to_string(i), {0, 1}, {1.0 * i, i + 1.0}, kBlue});
  const std::string path = temp_path("plot_many.png");
  io::save_line_plot(path, "forty", "x", "y", many, 240, 180);
  const auto d = decode(path);
  CHECK(d.width == 240);
  CHECK(d.height == 180);
  CHECK(d.count(io::detail::kMuted) > 10);  // "+N more"
}

TEST_CASE("line plot refuses mismatched series and impossible sizes, naming the file") {
  const std::string path = temp_path("plot_bad.png");
  const auto err = error_of([&] {
    io::save_line_plot(path, "t", "x", "y", {io::Series{"d", {1, 2, 3}, {1, 2}, kRed}});
  });
  CHECK(contains(err, path));
  CHECK(contains(err, "series 'd' has 3 x values but 2 y values"));
  CHECK(contains(error_of([&] { io::save_line_plot(path, "t", "x", "y", {}, 100, 100); }),
                 "expected a size between 240x180"));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("plot canvas: text, thick lines and clipping stay where they are put") {
  io::Canvas c(60, 40);
  c.text(5, 5, "A1", kRed, 2);
  long inside = 0, outside = 0;
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 60; ++x) {
      const bool in_box = x >= 5 && x < 5 + io::Canvas::text_width("A1", 2) && y >= 5 && y < 5 + io::Canvas::text_height(2);
      if (c.at(x, y) == kRed) ++(in_box ? inside : outside);
    }
  CHECK(inside > 20);
  CHECK(outside == 0);
  c.text(0, 0, "\xc3\xa9\n\x7f", kBlue);  // bytes without glyphs become '?', never a crash

  io::Canvas lines(50, 50);
  lines.set_clip(10, 10, 40, 40);
  lines.line(-1e9, 25, 1e9, 25, kBlue, 2);  // far outside: clipped, and quick
  CHECK(lines.at(9, 25) == io::Color{255, 255, 255});
  CHECK(lines.at(10, 25) == kBlue);
  CHECK(lines.at(39, 26) == kBlue);
  CHECK(lines.at(40, 25) == io::Color{255, 255, 255});
  lines.line(std::nan(""), 0, 5, 5, kRed);  // ignored
  CHECK(lines.at(5, 5) == io::Color{255, 255, 255});
}
