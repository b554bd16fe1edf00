// A folder of pictures as a training set (data/image_folder.hpp) and the
// decoding of one picture (data/image_decode.hpp). Every fixture is written
// here, into a temp folder; expected pixels are worked out by hand from the
// formulas the headers document (alpha over the background, Rec. 601 luma,
// centre square), not read back from the code under test.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/data/image_folder.hpp"
#include "tinygan/io/png.hpp"

namespace {

namespace fs = std::filesystem;
using tinygan::Index;
using tinygan::data::FolderOptions;
using tinygan::data::FolderReport;
using tinygan::data::ImageSet;
using tinygan::data::Scaling;
using tinygan::testing::contains;
using tinygan::testing::error_of;

using FolderBytes = std::vector<std::uint8_t>;

// A fresh, empty folder in this process's temp space.
std::string folder_fresh(const std::string& name) {
  const std::string root = tinygan::testing::temp_path("image_folder_" + name);
  fs::remove_all(root);
  fs::create_directories(root);
  return root;
}

void folder_write(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  tinygan::testing::write_bytes(path, bytes);
}

void folder_png(const std::string& path, int width, int height, int channels,
                const FolderBytes& pixels) {
  fs::create_directories(fs::path(path).parent_path());
  tinygan::io::save_png(path, pixels, width, height, channels);
}

void folder_append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             static_cast<std::size_t>(size));
}

std::string folder_jpeg_bytes(int width, int height, int channels, const FolderBytes& pixels,
                              int quality) {
  std::string bytes;
  REQUIRE(stbi_write_jpg_to_func(folder_append, &bytes, width, height, channels, pixels.data(),
                                 quality) != 0);
  return bytes;
}

void folder_bmp(const std::string& path, int width, int height, int channels,
                const FolderBytes& pixels) {
  std::string bytes;
  REQUIRE(stbi_write_bmp_to_func(folder_append, &bytes, width, height, channels, pixels.data()) !=
          0);
  folder_write(path, bytes);
}

// width x height pixels, all of one colour (its size says the channels).
FolderBytes folder_uniform(int width, int height, const FolderBytes& colour) {
  FolderBytes pixels;
  for (int i = 0; i < width * height; ++i)
    pixels.insert(pixels.end(), colour.begin(), colour.end());
  return pixels;
}

// Image i's channel c at (y, x) as the byte it came from (zero_to_one scaling).
int folder_byte(const ImageSet& set, Index i, Index c, Index y, Index x) {
  return static_cast<int>(std::lround(set.images(i, c, y, x) * 255.0f));
}

FolderOptions folder_exact(int size) {
  FolderOptions options;
  options.size = size;
  options.scaling = Scaling::zero_to_one;
  return options;
}

}  // namespace

TEST_CASE(
    "image folder: grey, RGB, RGBA and grey+alpha PNGs keep their pixels; alpha goes over white") {
  const std::string root = folder_fresh("png");
  folder_png(root + "/a_grey.png", 2, 2, 1, {0, 60, 200, 255});
  folder_png(root + "/b_rgb.png", 2, 2, 3, {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30});
  // (colour, alpha): transparent, opaque, 128 of black, 128 of 200.
  folder_png(root + "/c_rgba.png", 2, 2, 4,
             {9, 9, 9, 0, 40, 50, 60, 255, 0, 0, 0, 128, 200, 200, 200, 128});
  folder_png(root + "/d_grey_alpha.png", 2, 2, 2, {100, 0, 100, 255, 100, 128, 0, 128});
  FolderReport report;
  const ImageSet set = tinygan::data::load_image_folder(root, folder_exact(2), &report);
  REQUIRE(set.images.shape() == tinygan::Shape{4, 3, 2, 2});
  CHECK(set.labels.empty());
  CHECK(set.classes.empty());
  REQUIRE(report.files.size() == 4);
  CHECK(fs::path(report.files[2]).filename() == "c_rgba.png");
  CHECK(report.skipped.empty());
  const auto rgb = [&](Index i, Index y, Index x) {
    return std::vector<int>{folder_byte(set, i, 0, y, x), folder_byte(set, i, 1, y, x),
                            folder_byte(set, i, 2, y, x)};
  };
  using V = std::vector<int>;
  CHECK(rgb(0, 0, 1) == V{60, 60, 60});  // grey copied to R, G and B
  CHECK(rgb(0, 1, 0) == V{200, 200, 200});
  CHECK(rgb(1, 0, 0) == V{255, 0, 0});  // rows from the top, planar channels
  CHECK(rgb(1, 0, 1) == V{0, 255, 0});
  CHECK(rgb(1, 1, 0) == V{0, 0, 255});
  CHECK(rgb(1, 1, 1) == V{10, 20, 30});
  // c * a/255 + 255 * (1 - a/255), rounded: 0 -> 255; 0 at 128 -> 127; 200 at 128 -> 227.39.
  CHECK(rgb(2, 0, 0) == V{255, 255, 255});
  CHECK(rgb(2, 0, 1) == V{40, 50, 60});
  CHECK(rgb(2, 1, 0) == V{127, 127, 127});
  CHECK(rgb(2, 1, 1) == V{227, 227, 227});
  // grey 100 at 128 -> 177.2
  CHECK(rgb(3, 0, 0) == V{255, 255, 255});
  CHECK(rgb(3, 0, 1) == V{100, 100, 100});
  CHECK(rgb(3, 1, 0) == V{177, 177, 177});
  CHECK(rgb(3, 1, 1) == V{127, 127, 127});
}

TEST_CASE("image folder: alpha over another background, and grey by the Rec. 601 luma weights") {
  const std::string root = folder_fresh("background");
  folder_png(root + "/a.png", 2, 2, 4,
             {9, 9, 9, 0, 40, 50, 60, 255, 0, 0, 0, 128, 200, 200, 200, 128});
  folder_png(root + "/b.png", 2, 2, 3, {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30});
  FolderOptions options = folder_exact(2);
  options.background = {0, 64, 255};
  const ImageSet colour = tinygan::data::load_image_folder(root, options);
  const auto rgb = [&](Index y, Index x) {
    return std::vector<int>{folder_byte(colour, 0, 0, y, x), folder_byte(colour, 0, 1, y, x),
                            folder_byte(colour, 0, 2, y, x)};
  };
  using V = std::vector<int>;
  CHECK(rgb(0, 0) == V{0, 64, 255});  // transparent: the background itself
  CHECK(rgb(0, 1) == V{40, 50, 60});
  CHECK(rgb(1, 0) == V{0, 32, 127});     // 64 * 127/255 = 31.9, 255 * 127/255 = 127
  CHECK(rgb(1, 1) == V{100, 132, 227});  // 100.4, 100.4 + 31.9, 100.4 + 127

  options.channels = 1;
  const ImageSet grey = tinygan::data::load_image_folder(root, options);
  REQUIRE(grey.images.shape() == tinygan::Shape{2, 1, 2, 2});
  CHECK(folder_byte(grey, 0, 0, 0, 0) == 67);   // .587 * 64 + .114 * 255 = 66.6
  CHECK(folder_byte(grey, 0, 0, 0, 1) == 48);   // .299 * 40 + .587 * 50 + .114 * 60 = 48.2
  CHECK(folder_byte(grey, 1, 0, 0, 0) == 76);   // .299 * 255 = 76.2
  CHECK(folder_byte(grey, 1, 0, 0, 1) == 150);  // .587 * 255 = 149.7
  CHECK(folder_byte(grey, 1, 0, 1, 0) == 29);   // .114 * 255 = 29.1
  CHECK(folder_byte(grey, 1, 0, 1, 1) == 124);  // 3.0 + 117.4 + 3.4 = 123.8
}

TEST_CASE("image folder: a JPEG comes back close, a BMP exactly; scaling to [-1, 1]") {
  const std::string root = folder_fresh("jpeg_bmp");
  folder_write(root + "/a.jpg",
               folder_jpeg_bytes(8, 8, 3, folder_uniform(8, 8, {200, 100, 50}), 95));
  folder_write(root + "/b.JPEG", folder_jpeg_bytes(8, 8, 1, folder_uniform(8, 8, {90}), 95));
  FolderBytes bmp;
  for (int i = 0; i < 64; ++i)
    bmp.insert(bmp.end(), {std::uint8_t(i * 4), std::uint8_t(255 - i), 7});
  folder_bmp(root + "/c.bmp", 8, 8, 3, bmp);
  FolderOptions options = folder_exact(0);  // their own size
  const ImageSet set = tinygan::data::load_image_folder(root, options);
  REQUIRE(set.images.shape() == tinygan::Shape{3, 3, 8, 8});
  for (Index y = 0; y < 8; ++y)
    for (Index x = 0; x < 8; ++x) {
      CHECK(std::abs(folder_byte(set, 0, 0, y, x) - 200) <= 4);
      CHECK(std::abs(folder_byte(set, 0, 1, y, x) - 100) <= 4);
      CHECK(std::abs(folder_byte(set, 0, 2, y, x) - 50) <= 4);
      for (Index c = 0; c < 3; ++c) CHECK(std::abs(folder_byte(set, 1, c, y, x) - 90) <= 3);
      const int i = static_cast<int>(y * 8 + x);
      CHECK(folder_byte(set, 2, 0, y, x) == i * 4);
      CHECK(folder_byte(set, 2, 1, y, x) == 255 - i);
      CHECK(folder_byte(set, 2, 2, y, x) == 7);
    }

  options.scaling = Scaling::minus_one_to_one;
  const ImageSet centred = tinygan::data::load_image_folder(root, options);
  CHECK(centred.images(2, 0, 0, 0) == doctest::Approx(-1.0));  // byte 0
  CHECK(centred.images(2, 1, 0, 0) == doctest::Approx(1.0));   // byte 255
  CHECK(centred.images(2, 2, 0, 0) == doctest::Approx(7 / 127.5 - 1));
}

TEST_CASE(
    "image folder: first-level sub-folders are the classes, sorted; nested pictures belong to "
    "them") {
  const std::string root = folder_fresh("classes");
  // Each picture one grey value, to follow it into the set.
  const auto grey = [&](const std::string& relative, std::uint8_t value) {
    folder_png(root + "/" + relative, 2, 2, 1, folder_uniform(2, 2, {value}));
  };
  grey("zebra/a.png", 10);
  grey("apple/deep/nested/b.png", 20);
  grey("apple/c.png", 30);
  grey("mango/x.png", 40);
  grey("mango/Y.PNG", 50);    // upper-case extension; 'Y' sorts before 'x'
  grey(".hidden/h.png", 60);  // hidden folder and hidden file: skipped
  grey("apple/.h.png", 70);
  folder_write(root + "/notes/readme.txt", "not a picture");  // no picture: not a class
  folder_write(root + "/apple/info.csv", "1,2");
  FolderReport report;
  FolderOptions options = folder_exact(2);
  options.channels = 1;
  const ImageSet set = tinygan::data::load_image_folder(root, options, &report);
  CHECK(set.classes == std::vector<std::string>{"apple", "mango", "zebra"});
  REQUIRE(set.size() == 5);
  CHECK(set.labels == std::vector<std::int32_t>{0, 0, 1, 1, 2});
  CHECK(set.labelled());
  std::vector<int> values;
  for (Index i = 0; i < set.size(); ++i) values.push_back(folder_byte(set, i, 0, 1, 1));
  CHECK(values == std::vector<int>{30, 20, 50, 40, 10});
  REQUIRE(report.files.size() == 5);
  CHECK(fs::path(report.files[1]).lexically_relative(root).generic_string() ==
        "apple/deep/nested/b.png");
  CHECK_NOTHROW(tinygan::data::require_labels(set, root));
}

TEST_CASE(
    "image folder: pictures directly in the root have no class; require_labels says what to do") {
  const std::string root = folder_fresh("unlabelled");
  folder_png(root + "/cats/a.png", 2, 2, 3, folder_uniform(2, 2, {1, 2, 3}));
  folder_png(root + "/loose.png", 2, 2, 3, folder_uniform(2, 2, {4, 5, 6}));
  folder_png(root + "/also_loose.bmp.png", 2, 2, 3, folder_uniform(2, 2, {4, 5, 6}));
  const ImageSet set = tinygan::data::load_image_folder(root, folder_exact(2));
  CHECK(set.classes == std::vector<std::string>{"cats"});
  CHECK(set.labels == std::vector<std::int32_t>{ImageSet::kUnlabelled, 0, ImageSet::kUnlabelled});
  CHECK_FALSE(set.labelled());
  const std::string message = error_of([&] { tinygan::data::require_labels(set, root); });
  CHECK(contains(message, "2 of the 3 pictures lie directly in the folder"));
  CHECK(contains(message, "also_loose.bmp.png"));
  CHECK(contains(message, "move them into a sub-folder per class"));

  const std::string flat = folder_fresh("flat");
  folder_png(flat + "/one.png", 2, 2, 1, folder_uniform(2, 2, {9}));
  const ImageSet none = tinygan::data::load_image_folder(flat, folder_exact(2));
  CHECK(none.labels.empty());
  CHECK(none.classes.empty());
  const std::string flat_message = error_of([&] { tinygan::data::require_labels(none, flat); });
  CHECK(contains(flat_message, "1 of the 1 pictures"));
  CHECK(contains(flat_message, "one.png"));
  CHECK(contains(flat_message, "no class sub-folders"));
}

TEST_CASE("image folder: an undecodable picture is refused by name, or skipped and listed") {
  const std::string root = folder_fresh("corrupt");
  folder_png(root + "/a.png", 2, 2, 1, folder_uniform(2, 2, {80}));
  folder_write(root + "/b.png", "this is not a PNG file");
  const std::string png = tinygan::testing::read_bytes(root + "/a.png");
  folder_write(root + "/c.png", png.substr(0, png.size() / 2));  // truncated
  const std::string message =
      error_of([&] { tinygan::data::load_image_folder(root, folder_exact(2)); });
  CHECK(contains(message, "b.png: cannot decode the picture ("));
  CHECK(contains(message, "and 1 more unreadable"));
  CHECK(contains(message, "skip_unreadable"));

  FolderOptions options = folder_exact(2);
  options.skip_unreadable = true;
  FolderReport report;
  const ImageSet set = tinygan::data::load_image_folder(root, options, &report);
  CHECK(set.size() == 1);
  CHECK(folder_byte(set, 0, 0, 0, 0) == 80);
  REQUIRE(report.skipped.size() == 2);
  CHECK(contains(report.skipped[0], "b.png"));
  CHECK(contains(report.skipped[1], "c.png"));
  REQUIRE(report.files.size() == 1);
  CHECK(contains(report.files[0], "a.png"));

  fs::remove(root + "/a.png");  // nothing left that decodes
  CHECK(contains(error_of([&] { tinygan::data::load_image_folder(root, options); }),
                 "none of the 2 pictures could be decoded"));
}

TEST_CASE("image folder: a missing, empty or picture-less folder is refused saying what it found") {
  const std::string root = folder_fresh("empty");
  CHECK(contains(error_of([&] { tinygan::data::load_image_folder(root + "/nope"); }),
                 "no such folder"));
  folder_write(root + "/file.png", "x");
  CHECK(contains(error_of([&] { tinygan::data::load_image_folder(root + "/file.png"); }),
                 "not a folder"));
  fs::remove(root + "/file.png");
  fs::create_directories(root + "/sub/.git");
  folder_write(root + "/.DS_Store", "hidden");
  CHECK(contains(error_of([&] { tinygan::data::load_image_folder(root); }), "the folder is empty"));
  folder_write(root + "/notes.txt", "n");
  folder_write(root + "/sub/data.csv", "d");
  folder_write(root + "/picture.gif", "g");
  CHECK(error_of([&] { tinygan::data::load_image_folder(root); }) ==
        root +
            ": found 3 files, none a picture (.png .jpg .jpeg .bmp): notes.txt, picture.gif, "
            "sub/data.csv");
}

TEST_CASE("image folder: the short side is resized and the long side centre-cropped") {
  const std::string root = folder_fresh("crop");
  // 12 x 6: three red columns, six blue, three green. The centre square is
  // the blue; brought to 3 x 3 it must stay blue, with nothing of the sides.
  FolderBytes wide;
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 12; ++x) {
      const FolderBytes colour = x < 3   ? FolderBytes{255, 0, 0}
                                 : x < 9 ? FolderBytes{0, 0, 255}
                                         : FolderBytes{0, 255, 0};
      wide.insert(wide.end(), colour.begin(), colour.end());
    }
  folder_png(root + "/wide.png", 12, 6, 3, wide);
  // 4 x 8: two rows of black above and below four of grey 120. At size 4 the
  // crop alone gives the square: exactly the grey.
  FolderBytes tall;
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 4; ++x) tall.insert(tall.end(), 3, y < 2 || y >= 6 ? 0 : 120);
  folder_png(root + "/x_tall.png", 4, 8, 3, tall);
  FolderOptions options = folder_exact(3);
  const ImageSet small = tinygan::data::load_image_folder(root, options);
  REQUIRE(small.images.shape() == tinygan::Shape{2, 3, 3, 3});
  for (Index y = 0; y < 3; ++y)
    for (Index x = 0; x < 3; ++x) {
      CHECK(folder_byte(small, 0, 0, y, x) <= 1);
      CHECK(folder_byte(small, 0, 1, y, x) <= 1);
      CHECK(folder_byte(small, 0, 2, y, x) >= 254);
    }
  options.size = 4;
  const ImageSet exact = tinygan::data::load_image_folder(root, options);
  for (Index y = 0; y < 4; ++y)
    for (Index x = 0; x < 4; ++x) CHECK(folder_byte(exact, 1, 1, y, x) == 120);
  // The wide one at 4: the 6 x 6 blue centre resized, still only blue.
  CHECK(folder_byte(exact, 0, 0, 0, 0) <= 1);
  CHECK(folder_byte(exact, 0, 2, 3, 3) >= 254);
}

TEST_CASE("image folder: resizing averages light, not sRGB values") {
  // Black and white columns brought to one pixel: their mean light (0.5) is
  // sRGB 188; averaging the stored values would give 128.
  const std::string root = folder_fresh("srgb");
  FolderBytes stripes;
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) stripes.push_back(x % 2 ? 255 : 0);
  folder_png(root + "/stripes.png", 8, 8, 1, stripes);
  FolderOptions options = folder_exact(1);
  options.channels = 1;
  const ImageSet set = tinygan::data::load_image_folder(root, options);
  CHECK(std::abs(folder_byte(set, 0, 0, 0, 0) - 188) <= 8);
}

TEST_CASE("image folder: with size 0 every picture must be the same size") {
  const std::string root = folder_fresh("mismatch");
  folder_png(root + "/a.png", 4, 4, 1, folder_uniform(4, 4, {1}));
  folder_png(root + "/b.png", 5, 4, 1, folder_uniform(5, 4, {1}));
  const std::string message =
      error_of([&] { tinygan::data::load_image_folder(root, folder_exact(0)); });
  CHECK(contains(message, "a.png is 4x4"));
  CHECK(contains(message, "b.png is 5x4"));
}

TEST_CASE("image folder: the same set on 1 and 2 threads; progress from the calling thread") {
  const std::string root = folder_fresh("threads");
  for (int i = 0; i < 24; ++i) {
    FolderBytes pixels;
    for (int p = 0; p < 9 * 7 * 3; ++p)
      pixels.push_back(static_cast<std::uint8_t>((p * 37 + i * 11) % 256));
    folder_write(root + "/class" + std::to_string(i % 3) + "/" + std::to_string(i) + ".jpg",
                 folder_jpeg_bytes(9, 7, 3, pixels, 80));
  }
  const int before = tinygan::num_threads();
  FolderOptions options;
  options.size = 5;
  std::vector<std::pair<Index, Index>> calls;
  const auto caller = std::this_thread::get_id();
  bool other_thread = false;
  options.progress = [&](Index done, Index total) {
    calls.emplace_back(done, total);
    other_thread = other_thread || std::this_thread::get_id() != caller;
  };
  tinygan::set_num_threads(1);
  const ImageSet one = tinygan::data::load_image_folder(root, options);
  tinygan::set_num_threads(2);
  calls.clear();
  const ImageSet two = tinygan::data::load_image_folder(root, options);
  tinygan::set_num_threads(before);
  REQUIRE(one.images.shape() == tinygan::Shape{24, 3, 5, 5});
  CHECK(std::equal(one.images.begin(), one.images.end(), two.images.begin(), two.images.end()));
  CHECK(one.labels == two.labels);
  CHECK_FALSE(other_thread);
  REQUIRE_FALSE(calls.empty());
  CHECK(calls.size() <= 101);
  CHECK(calls.back() == std::pair<Index, Index>{24, 24});
  for (std::size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].first >= calls[i - 1].first);
}

TEST_CASE(
    "image decode: options, huge claimed sizes and a JPEG's oversized Huffman table are refused") {
  FolderBytes pixels = folder_uniform(8, 8, {50, 60, 70});
  const std::string jpeg = folder_jpeg_bytes(8, 8, 3, pixels, 90);
  tinygan::data::PictureOptions options;
  options.size = 4;
  const auto picture = tinygan::data::decode_picture(jpeg, "x.jpg", options);
  CHECK(picture.width == 4);
  CHECK(picture.height == 4);
  CHECK(picture.pixels.size() == 4 * 4 * 3);

  options.channels = 2;
  CHECK(contains(error_of([&] { tinygan::data::decode_picture(jpeg, "x.jpg", options); }),
                 "x.jpg: expected 1 (grey) or 3 (RGB) channels, found 2"));
  options.channels = 3;
  CHECK(contains(error_of([&] { tinygan::data::decode_picture("", "e.png", options); }),
                 "e.png: cannot decode the picture (the file is empty)"));
  options.max_pixels = 63;  // the 8 x 8 JPEG is one pixel too many
  CHECK(contains(error_of([&] { tinygan::data::decode_picture(jpeg, "x.jpg", options); }),
                 "8x8 = 64 pixels, more than the 63 allowed"));
  options.max_pixels = tinygan::data::kMaxPicturePixels;

  // The first Huffman table's 16 code counts made to sum to 16 * 255.
  std::string bad = jpeg;
  const std::size_t dht = bad.find("\xFF\xC4");
  REQUIRE(dht != std::string::npos);
  for (std::size_t i = 0; i < 16; ++i) bad[dht + 5 + i] = '\xFF';
  CHECK(contains(
      error_of([&] { tinygan::data::decode_picture(bad, "bad.jpg", options); }),
      "bad.jpg: cannot decode the picture (Corrupt JPEG: a Huffman table declares 4080 codes"));

  // A PNG whose IDAT chunk declares 2^31 - 1 bytes: refused before any allocation.
  const std::string root = folder_fresh("decode");
  folder_png(root + "/p.png", 2, 2, 3, folder_uniform(2, 2, {1, 2, 3}));
  std::string png = tinygan::testing::read_bytes(root + "/p.png");
  const std::size_t idat = png.find("IDAT");
  REQUIRE(idat != std::string::npos);
  png.replace(idat - 4, 4, "\x7F\xFF\xFF\xFF");
  CHECK(contains(error_of([&] { tinygan::data::decode_picture(png, "p.png", options); }),
                 "p.png: cannot decode the picture (Corrupt PNG: its chunk IDAT declares "
                 "2147483647 bytes, but"));
}
