// data/: gzip decoding, gzipped IDX, IDX images, Fashion-MNIST and CIFAR-10,
// on small fixtures written here (gzip bytes made by the gzip command); the
// installed Debian Fashion-MNIST is read only when it is there.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "tinygan/data/cifar.hpp"
#include "tinygan/data/fashion_mnist.hpp"
#include "tinygan/data/gzip.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/data/idx_images.hpp"

using namespace tinygan;
using namespace tinygan::testing;
using namespace tinygan::data;

namespace {
namespace ds_fs = std::filesystem;

// A fresh empty folder of this process's own.
std::string ds_folder(const std::string& name) {
  const std::string dir = temp_path("ds_" + name);
  ds_fs::remove_all(dir);
  ds_fs::create_directories(dir);
  return dir;
}

std::string ds_quote(const std::string& s) { return "'" + s + "'"; }  // temp paths hold no quote

// The bytes `gzip <options>` makes of bytes: an encoder independent of the
// decoder under test.
std::string ds_gzip(const std::string& bytes, const std::string& options = "-n") {
  const std::string plain = temp_path("ds_gzip_input"), packed = plain + ".gz";
  write_bytes(plain, bytes);
  REQUIRE(std::system(("gzip -c " + options + " " + ds_quote(plain) + " > " + ds_quote(packed)).c_str()) == 0);
  const std::string out = read_bytes(packed);
  ds_fs::remove(plain);
  ds_fs::remove(packed);
  return out;
}

// Deterministic bytes, part repetitive and part noisy, so that gzip uses
// both matches and literals.
std::string ds_sample_bytes(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>((i / 700) % 2 ? (x >> 16) & 0xFF : i % 7);
  }
  return s;
}

// The trailer's 4 bytes at `at` as gzip stores them (little-endian), in hex.
std::string ds_le_hex(const std::string& b, std::size_t at) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (int i = 3; i >= 0; --i) {
    const auto v = static_cast<std::uint8_t>(b[at + static_cast<std::size_t>(i)]);
    s += digits[v >> 4];
    s += digits[v & 15];
  }
  return s;
}

void ds_put_le32(std::string& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

IdxArray ds_idx(std::vector<Index> dims, std::uint8_t seed) {
  IdxArray a;
  a.dims = std::move(dims);
  a.data.resize(static_cast<std::size_t>(a.numel()));
  for (std::size_t i = 0; i < a.data.size(); ++i) a.data[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return a;
}

// Writes array as path, gzipped by the gzip command when gz.
void ds_write_idx(const std::string& path, const IdxArray& array, bool gz) {
  write_idx(path, array);
  if (gz) {
    const std::string packed = ds_gzip(read_bytes(path));
    ds_fs::remove(path);
    write_bytes(path + ".gz", packed);
  }
}

// One CIFAR-10 record whose pixel (c, y, x) is ds_cifar_pixel(r, c, y, x).
std::uint8_t ds_cifar_pixel(int r, int c, int y, int x) { return static_cast<std::uint8_t>(r * 50 + c * 70 + y * 3 + x); }
std::string ds_cifar_record(int r, std::uint8_t label) {
  std::string s(1, static_cast<char>(label));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) s += static_cast<char>(ds_cifar_pixel(r, c, y, x));
  return s;
}

bool ds_fashion_installed() {
  std::error_code ec;
  return ds_fs::is_directory(kFashionMnistDebianDir, ec);
}
}  // namespace

TEST_CASE("crc32 gives the standard check values") {
  CHECK(crc32("") == 0u);
  CHECK(crc32("123456789") == 0xCBF43926u);  // the CRC-32 catalogue's check value
  CHECK(crc32("456789", crc32("123")) == 0xCBF43926u);  // continued over pieces
}

TEST_CASE("gunzip decodes what the gzip command makes") {
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{200000}}) {
    const std::string original = ds_sample_bytes(n);
    for (const std::string options : {"-n -1", "-n -9", ""}) {  // "": with the file name (FNAME)
      CAPTURE(n);
      CAPTURE(options);
      const std::string packed = ds_gzip(original, options);
      CHECK(is_gzip(packed));
      CHECK(gunzip(packed, "x.gz") == original);
    }
  }
  CHECK_FALSE(is_gzip(std::string("\0\0\x08\x01", 4)));
  CHECK_FALSE(is_gzip("\x1f"));
}

TEST_CASE("gunzip reads every optional header field and checks the header CRC16") {
  const std::string original = ds_sample_bytes(5000);
  const std::string packed = ds_gzip(original);  // -n: no optional fields
  REQUIRE(packed[3] == 0);
  // The same member with FEXTRA, FNAME, FCOMMENT and FHCRC set.
  std::string header = packed.substr(0, 10);
  header[3] = 0x04 | 0x08 | 0x10 | 0x02;
  header += std::string("\x05\x00" "ab\0cd", 7);  // XLEN 5, an extra field holding a zero byte
  header += std::string("name.idx\0", 9) + std::string("a comment\0", 10);
  const std::uint32_t crc = crc32(header);
  const std::string rebuilt = header + static_cast<char>(crc & 0xFF) + static_cast<char>((crc >> 8) & 0xFF) +
                              packed.substr(10);
  CHECK(gunzip(rebuilt, "x.gz") == original);

  std::string bad_hcrc = rebuilt;
  bad_hcrc[header.size()] = static_cast<char>(bad_hcrc[header.size()] ^ 0x01);
  CHECK(contains(error_of([&] { gunzip(bad_hcrc, "x.gz"); }), "x.gz: gzip header CRC16 mismatch"));

  // A name with no terminating zero runs into the trailer.
  std::string unterminated = packed.substr(0, 10) + std::string(40, 'n') + packed.substr(packed.size() - 8);
  unterminated[3] = 0x08;
  CHECK(contains(error_of([&] { gunzip(unterminated, "x.gz"); }),
                 "x.gz: truncated gzip stream: the header's file name runs past the data"));
}

TEST_CASE("gunzip names what is wrong with a damaged stream") {
  const std::string original = ds_sample_bytes(20000);
  const std::string packed = ds_gzip(original);
  const std::size_t trailer = packed.size() - 8;
  const auto error = [](const std::string& bytes) { return error_of([&] { gunzip(bytes, "x.gz"); }); };

  SUBCASE("CRC32") {
    std::string bad = packed;
    bad[trailer] = static_cast<char>(bad[trailer] ^ 0x5A);
    const std::string message = error(bad);
    CHECK_MESSAGE(contains(message, "x.gz: CRC32 mismatch: trailer says " + ds_le_hex(bad, trailer) +
                                        ", data gives " + ds_le_hex(packed, trailer)),
                  message);
  }
  SUBCASE("truncated") {
    const std::string message = error(packed.substr(0, packed.size() - 20));
    CHECK_MESSAGE(contains(message, "x.gz: truncated or corrupt gzip stream"), message);
    CHECK(contains(error(packed.substr(0, 12)),
                   "x.gz: truncated gzip stream: expected at least 18 bytes (header and trailer), found 12"));
  }
  SUBCASE("ISIZE one more than the data") {
    std::string bad = packed;
    ds_put_le32(bad, trailer + 4, 20001);
    const std::string message = error(bad);
    CHECK_MESSAGE(contains(message, "deflate data decodes to 20000 bytes, the trailer's ISIZE says 20001"), message);
  }
  SUBCASE("ISIZE one less than the data") {
    std::string bad = packed;
    ds_put_le32(bad, trailer + 4, 19999);
    const std::string message = error(bad);
    CHECK_MESSAGE(contains(message, "the deflate data is invalid or decodes to more than the trailer's ISIZE of 19999 bytes"), message);
  }
  SUBCASE("ISIZE beyond what the compressed bytes can hold, refused before allocating") {
    std::string bad = packed;
    ds_put_le32(bad, trailer + 4, 0xFFFFFFF0u);
    const std::string message = error(bad);
    CHECK_MESSAGE(contains(message, "the trailer's ISIZE says 4294967280 bytes, more than the"), message);
  }
  SUBCASE("header") {
    std::string method = packed, reserved = packed, magic = packed;
    method[2] = 7;
    reserved[3] = static_cast<char>(0x20);
    magic[1] = 0x00;
    CHECK(contains(error(method), "x.gz: gzip compression method 7 is not supported; expected 8 (deflate)"));
    CHECK(contains(error(reserved), "x.gz: gzip header flags 0x20 set reserved bits (0xe0); expected none"));
    CHECK(contains(error(magic), "x.gz: not gzip (expected the magic 1f 8b, found 1f 00)"));
  }
  SUBCASE("flipped bits in the deflate data") {
    for (std::size_t at = 12; at < trailer; at += trailer / 17) {
      std::string bad = packed;
      bad[at] = static_cast<char>(bad[at] ^ 0x10);
      const std::string message = error(bad);
      CAPTURE(at);
      CHECK_MESSAGE(message.rfind("x.gz: ", 0) == 0, message);  // refused, naming the file
    }
  }
}

TEST_CASE("a gzipped IDX file reads as the plain one, told by its magic") {
  const std::string dir = ds_folder("idx_gz");
  const IdxArray array = ds_idx({5, 28, 28}, 3);
  ds_write_idx(dir + "/plain", array, false);
  ds_write_idx(dir + "/packed", array, true);
  ds_fs::copy_file(dir + "/packed.gz", dir + "/no_suffix");  // the name says nothing

  for (const std::string& path : {dir + "/plain", dir + "/packed.gz", dir + "/no_suffix"}) {
    CAPTURE(path);
    const IdxArray from_file = read_idx(path);
    const IdxArray from_bytes = read_idx_bytes(read_bytes(path), path);
    CHECK(from_file.dims == array.dims);
    CHECK(from_file.data == array.data);
    CHECK(from_bytes.dims == array.dims);
    CHECK(from_bytes.data == array.data);
  }

  // What is wrong inside is reported as before, for the decompressed bytes.
  write_bytes(dir + "/trailing.gz", ds_gzip(read_bytes(dir + "/plain") + "xyz"));
  const std::string message = error_of([&] { read_idx(dir + "/trailing.gz"); });
  CHECK_MESSAGE(contains(message, dir + "/trailing.gz (decompressed): 3 trailing bytes"), message);
  std::string bad_crc = read_bytes(dir + "/packed.gz");
  bad_crc[bad_crc.size() - 8] = static_cast<char>(bad_crc[bad_crc.size() - 8] ^ 1);
  CHECK(contains(error_of([&] { read_idx_bytes(bad_crc, "p.gz"); }), "p.gz: CRC32 mismatch"));
  ds_fs::remove_all(dir);
}

TEST_CASE("idx_to_image_set: grey and channels-last images, labels checked") {
  const IdxArray grey = ds_idx({2, 3, 4}, 1);
  const IdxArray labels{{2}, {1, 0}};
  const ImageSet g = idx_to_image_set(grey, "g", labels, "l", Scaling::zero_to_one, {"a", "b"});
  REQUIRE(g.images.shape() == Shape{2, 1, 3, 4});
  for (std::size_t i = 0; i < grey.data.size(); ++i) CHECK(g.images.data()[i] == scaled(grey.data[i], Scaling::zero_to_one));
  CHECK(g.labels == std::vector<std::int32_t>{1, 0});
  CHECK(g.classes == std::vector<std::string>{"a", "b"});

  const IdxArray rgb = ds_idx({2, 3, 4, 3}, 9);  // [N, H, W, C]
  const ImageSet c = idx_to_image_set(rgb, "c", IdxArray{}, "", Scaling::minus_one_to_one);
  REQUIRE(c.images.shape() == Shape{2, 3, 3, 4});
  CHECK(c.labels.empty());
  for (Index n = 0; n < 2; ++n)
    for (Index ch = 0; ch < 3; ++ch)
      for (Index y = 0; y < 3; ++y)
        for (Index x = 0; x < 4; ++x) {
          const auto byte = rgb.data[static_cast<std::size_t>(((n * 3 + y) * 4 + x) * 3 + ch)];
          CHECK(c.images(n, ch, y, x) == scaled(byte, Scaling::minus_one_to_one));
        }

  CHECK(contains(error_of([&] { idx_to_image_set(grey, "g", IdxArray{{3}, {0, 0, 0}}, "l", Scaling::zero_to_one); }),
                 "g holds 2 images but l holds 3 labels"));
  CHECK(contains(error_of([&] { idx_to_image_set(grey, "g", IdxArray{{2}, {0, 2}}, "l", Scaling::zero_to_one, {"a", "b"}); }),
                 "l: label at index 1 is 2, expected 0 to 1 (2 classes)"));
  CHECK(contains(error_of([&] { idx_to_image_set(ds_idx({6}, 0), "v", IdxArray{}, "", Scaling::zero_to_one); }),
                 "v: expected images [N, H, W] or [N, H, W, C], found [6]"));
}

TEST_CASE("parse_cifar10: labels, pixels and channel order of three records") {
  const std::vector<std::uint8_t> labels{7, 0, 9};
  std::string bytes;
  for (int r = 0; r < 3; ++r) bytes += ds_cifar_record(r, labels[static_cast<std::size_t>(r)]);
  REQUIRE(bytes.size() == 3 * 3073);
  for (const Scaling scaling : {Scaling::zero_to_one, Scaling::minus_one_to_one}) {
    const ImageSet set = parse_cifar10(bytes, "c.bin", scaling);
    REQUIRE(set.images.shape() == Shape{3, 3, 32, 32});
    CHECK(set.labels == std::vector<std::int32_t>{7, 0, 9});
    CHECK(set.classes.size() == 10);
    CHECK(set.classes[7] == "horse");
    int wrong = 0;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 32; ++y)
          for (int x = 0; x < 32; ++x)
            wrong += set.images(r, c, y, x) != scaled(ds_cifar_pixel(r, c, y, x), scaling);
    CHECK(wrong == 0);
  }
  // Red is first: record 0's pixel (0, 0) is 0 red, 70 green, 140 blue.
  const ImageSet set = parse_cifar10(bytes, "c.bin", Scaling::zero_to_one);
  CHECK(set.images(0, 0, 0, 0) == 0.0f);
  CHECK(set.images(0, 1, 0, 0) == scaled(70, Scaling::zero_to_one));
  CHECK(set.images(0, 2, 0, 0) == scaled(140, Scaling::zero_to_one));
}

TEST_CASE("parse_cifar10 refuses partial records and labels above 9") {
  const std::string two = ds_cifar_record(0, 1) + ds_cifar_record(1, 2);
  const auto error = [](const std::string& bytes) {
    return error_of([&] { parse_cifar10(bytes, "c.bin", Scaling::zero_to_one); });
  };
  CHECK(contains(error(two + "12345"), "c.bin: 6151 bytes is not a whole number of 3073-byte CIFAR-10 records"));
  CHECK(contains(error(two + "12345"), "2 records and 5 bytes over"));
  CHECK(contains(error(two.substr(0, 3072)), "0 records and 3072 bytes over"));
  CHECK(contains(error(""), "c.bin: empty"));
  CHECK(contains(error(ds_cifar_record(0, 3) + ds_cifar_record(1, 10)), "c.bin: record 1 (at byte 3073) has label 10, expected 0 to 9"));
}

TEST_CASE("load_cifar10 finds the batches in the folder or its cifar-10-batches-bin, in order") {
  const std::string root = ds_folder("cifar");
  const std::string dir = root + "/cifar-10-batches-bin";
  ds_fs::create_directories(dir);
  // data_batch_k holds k records labelled k-1 (label 9 for the test batch).
  for (int k = 1; k <= 5; ++k) {
    std::string bytes;
    for (int r = 0; r < k; ++r) bytes += ds_cifar_record(r, static_cast<std::uint8_t>(k - 1));
    write_bytes(dir + "/data_batch_" + std::to_string(k) + ".bin", bytes);
  }
  write_bytes(dir + "/test_batch.bin", ds_cifar_record(0, 9) + ds_cifar_record(1, 9));

  std::vector<std::int32_t> expected;
  for (int k = 1; k <= 5; ++k) expected.insert(expected.end(), static_cast<std::size_t>(k), k - 1);
  for (const std::string& given : {root, dir}) {
    const ImageSet train = load_cifar10(given, Split::train, Scaling::zero_to_one);
    CHECK(train.images.shape() == Shape{15, 3, 32, 32});
    CHECK(train.labels == expected);
    // The last image is data_batch_5's record 4.
    CHECK(train.images(14, 2, 31, 31) == scaled(ds_cifar_pixel(4, 2, 31, 31), Scaling::zero_to_one));
    CHECK(load_cifar10(given, Split::test, Scaling::zero_to_one).labels == std::vector<std::int32_t>{9, 9});
  }

  write_bytes(dir + "/data_batch_3.bin", ds_cifar_record(0, 1) + "x");
  CHECK(contains(error_of([&] { load_cifar10(root, Split::train, Scaling::zero_to_one); }),
                 dir + "/data_batch_3.bin: 3074 bytes is not a whole number"));

  ds_fs::remove(dir + "/data_batch_2.bin");
  const std::string message = error_of([&] { load_cifar10(root, Split::train, Scaling::zero_to_one); });
  for (const char* part : {"CIFAR-10 not found", "data_batch_1.bin, data_batch_2.bin, data_batch_3.bin",
                           "data_batch_5.bin", "No Debian or npm package ships CIFAR-10",
                           "https://www.cs.toronto.edu/~kriz/cifar.html"})
    CHECK_MESSAGE(contains(message, part), message);
  CHECK_MESSAGE(contains(message, "looked in " + root + " and " + dir), message);
  CHECK(load_cifar10(root, Split::test, Scaling::zero_to_one).size() == 2);  // the test split is whole
  ds_fs::remove_all(root);
}

TEST_CASE("load_dataset keeps the chosen classes alone, in order, and names a class it does not have") {
  const std::string root = ds_folder("cifar_classes");
  // data_batch_k holds records labelled k-1 and k % 2.
  for (int k = 1; k <= 5; ++k)
    write_bytes(root + "/data_batch_" + std::to_string(k) + ".bin",
                ds_cifar_record(k, static_cast<std::uint8_t>(k - 1)) + ds_cifar_record(k + 10, static_cast<std::uint8_t>(k % 2)));
  write_bytes(root + "/test_batch.bin", ds_cifar_record(0, 9));
  DatasetOptions options;
  options.name = "cifar10";
  options.path = root;
  options.scaling = Scaling::zero_to_one;
  const ImageSet all = load_dataset(options, Split::train);
  REQUIRE(all.labels == std::vector<std::int32_t>{0, 1, 1, 0, 2, 1, 3, 0, 4, 1});
  options.classes = {3, 1};
  const ImageSet some = load_dataset(options, Split::train);
  CHECK(some.labels == std::vector<std::int32_t>{1, 1, 1, 3, 1});
  CHECK(some.classes == all.classes);
  REQUIRE(some.images.shape() == Shape{5, 3, 32, 32});
  // The fourth kept is record 6 of all (data_batch_4's first, drawn from seed 4).
  CHECK(some.images(3, 1, 5, 7) == all.images(6, 1, 5, 7));
  CHECK(some.images(3, 1, 5, 7) == scaled(ds_cifar_pixel(4, 1, 5, 7), Scaling::zero_to_one));
  options.classes = {10};
  CHECK(contains(error_of([&] { load_dataset(options, Split::train); }),
                 "class 10 is outside the 10 classes of cifar10 (0 to 9)"));
  options.classes = {7};
  CHECK(contains(error_of([&] { load_dataset(options, Split::train); }), "no pictures of cifar10 are of the chosen classes"));
  ds_fs::remove_all(root);
}

TEST_CASE("Fashion-MNIST: found gzipped or plain in a folder given, loaded with its classes") {
  const std::string dir = ds_folder("fashion");
  const IdxArray train_images = ds_idx({3, 28, 28}, 5), test_images = ds_idx({2, 28, 28}, 11);
  const IdxArray train_labels{{3}, {9, 0, 4}}, test_labels{{2}, {8, 1}};
  ds_write_idx(dir + "/train-images-idx3-ubyte", train_images, true);
  ds_write_idx(dir + "/train-labels-idx1-ubyte", train_labels, true);
  ds_write_idx(dir + "/t10k-images-idx3-ubyte", test_images, true);
  CHECK(contains(error_of([&] { find_fashion_mnist(dir); }), "missing: t10k-labels-idx1-ubyte"));
  ds_write_idx(dir + "/t10k-labels-idx1-ubyte", test_labels, false);  // plain is accepted too
  CHECK(find_fashion_mnist(dir) == dir);

  const ImageSet train = load_fashion_mnist(dir, Split::train, Scaling::minus_one_to_one);
  REQUIRE(train.images.shape() == Shape{3, 1, 28, 28});
  CHECK(train.labels == std::vector<std::int32_t>{9, 0, 4});
  CHECK(train.classes.size() == 10);
  CHECK(train.classes[9] == "Ankle boot");
  CHECK(train.classes[0] == "T-shirt/top");
  int wrong = 0;
  for (std::size_t i = 0; i < train_images.data.size(); ++i)
    wrong += train.images.data()[i] != scaled(train_images.data[i], Scaling::minus_one_to_one);
  CHECK(wrong == 0);
  const ImageSet test = load_fashion_mnist(dir, Split::test, Scaling::zero_to_one);
  CHECK(test.images.shape() == Shape{2, 1, 28, 28});
  CHECK(test.labels == std::vector<std::int32_t>{8, 1});

  ds_fs::remove(dir + "/t10k-images-idx3-ubyte.gz");
  ds_write_idx(dir + "/t10k-images-idx3-ubyte", ds_idx({2, 27, 27}, 0), true);
  CHECK(contains(error_of([&] { load_fashion_mnist(dir, Split::test, Scaling::zero_to_one); }),
                 "expected Fashion-MNIST images [N, 28, 28], found [2, 27, 27]"));
  ds_fs::remove_all(dir);
}

TEST_CASE("Fashion-MNIST not found: the files, the folder and the Debian package are named") {
  const std::string dir = ds_folder("fashion_empty");
  const std::string message = error_of([&] { find_fashion_mnist(dir); });
  for (const std::string& part :
       {"Fashion-MNIST not found: looked in " + dir, std::string("train-images-idx3-ubyte[.gz]"),
        std::string("t10k-labels-idx1-ubyte[.gz]"),
        std::string("install them with: sudo apt-get install dataset-fashion-mnist"), std::string("--data DIR")})
    CHECK_MESSAGE(contains(message, part), message);
  ds_fs::remove_all(dir);
}

TEST_CASE("the installed Debian Fashion-MNIST loads whole" * doctest::skip(!ds_fashion_installed())) {
  const std::string dir = find_fashion_mnist("");
  CHECK(dir == kFashionMnistDebianDir);
  for (const Split split : {Split::train, Split::test}) {
    const ImageSet set = load_fashion_mnist("", split, Scaling::zero_to_one);
    const Index n = split == Split::train ? 60000 : 10000;
    CHECK(set.images.shape() == Shape{n, 1, 28, 28});
    CHECK(set.classes.size() == 10);
    std::vector<Index> per_class(10, 0);
    for (auto l : set.labels) ++per_class.at(static_cast<std::size_t>(l));
    CHECK(per_class == std::vector<Index>(10, n / 10));
  }
  // The decoder agrees with the gzip command on a real file (dynamic Huffman blocks).
  const std::string path = dir + "/t10k-images-idx3-ubyte.gz";
  const std::string plain = temp_path("ds_fashion_t10k");
  REQUIRE(std::system(("gzip -dc " + ds_quote(path) + " > " + ds_quote(plain)).c_str()) == 0);
  CHECK(gunzip(read_bytes(path), path) == read_bytes(plain));
  ds_fs::remove(plain);
}
