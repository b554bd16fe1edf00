// .npy files: round trips bit for bit, hand-written files NumPy could have
// written (float64, version 2.0, other key orders), and malformed files.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "tinygan/core/rng.hpp"
#include "tinygan/io/npy.hpp"

using namespace tinygan;
using namespace tinygan::testing;

namespace {

// A .npy file as NumPy lays it out: magic, version, header length (2 bytes
// in 1.0, 4 in 2.0), the dict padded to 64 bytes with a final newline, data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}
template <class T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}
}  // namespace

TEST_CASE("npy round trip keeps shapes of rank 0 to 4 and every bit of the values") {
  Rng rng(5);
  const std::string path = temp_path("roundtrip.npy");
  for (const Shape& shape : std::vector<Shape>{{}, {7}, {2, 3}, {2, 3, 4}, {2, 1, 3, 5}, {0, 3}, {3, 0, 2}}) {
    INFO("shape ", shape);
    auto t = Tensor<float>::randn(shape, rng);
    if (t.numel() >= 6) {
      t[0] = std::numeric_limits<float>::quiet_NaN();
      t[1] = -0.0f;
      t[2] = std::numeric_limits<float>::infinity();
      t[3] = std::numeric_limits<float>::denorm_min();
      t[4] = std::numeric_limits<float>::max();
      t[5] = -std::numeric_limits<float>::infinity();
    }
    io::save_npy(path, t);
    const std::string bytes = read_bytes(path);
    const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    CHECK((10 + header_len) % 64 == 0);  // data aligned as NumPy does it
    CHECK(bytes[10 + header_len - 1] == '\n');
    CHECK(bytes.size() == 10 + header_len + static_cast<std::size_t>(t.numel()) * 4);

    const auto back = io::load_npy(path);
    CHECK(back.shape() == t.shape());
    REQUIRE(back.numel() == t.numel());
    if (t.numel() > 0)
      CHECK(std::memcmp(back.data(), t.data(), static_cast<std::size_t>(t.numel()) * 4) == 0);
  }
  io::save_npy(path, Tensor<float>::full({3}, 1.0f));
  CHECK(contains(read_bytes(path), "'shape': (3,)"));  // a one-tuple needs its comma
  std::filesystem::remove(path);
}

TEST_CASE("npy files of float64, version 2.0, any key order and Python 2 longs load") {
  const std::string path = temp_path("f8.npy");
  write_bytes(path, npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                              raw<double>({1.5, -2.25, 1e300, 0.1})));
  auto t = io::load_npy(path);
  CHECK(t.shape() == Shape{2, 2});
  CHECK(t[0] == 1.5f);
  CHECK(t[1] == -2.25f);
  CHECK(std::isinf(t[2]));  // beyond float's range
  CHECK(t[3] == 0.1f);

  write_bytes(path, npy_bytes("{\"shape\": (3L,), \"fortran_order\": False, \"descr\": \"<f4\"}",
                              raw<float>({1, 2, 3}), 2));
  t = io::load_npy(path);
  CHECK(t.shape() == Shape{3});
  CHECK(t[2] == 3.0f);

  write_bytes(path, npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (), }", raw<float>({4})));
  CHECK(contains(error_of([&] { io::load_npy(path); }), "fortran_order True"));
  write_bytes(path, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", raw<float>({4})));
  t = io::load_npy(path);
  CHECK(t.rank() == 0);
  CHECK(t[0] == 4.0f);
  std::filesystem::remove(path);
}

TEST_CASE("malformed npy files are refused with the file and a helpful reason") {
  const std::string path = temp_path("bad.npy");
  const auto error_for = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    const std::string e = error_of([&] { io::load_npy(path); });
    CHECK(contains(e, path));
    return e;
  };
  const std::string f4_2x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const std::string six = raw<float>({1, 2, 3, 4, 5, 6});
  const std::string good = npy_bytes(f4_2x3, six);

  std::string magic = good;
  magic[1] = 'X';
  CHECK(contains(error_for(magic), "not a .npy file: expected the magic"));
  CHECK(contains(error_for("\x93NUM"), "not a .npy file"));
  std::string version = good;
  version[6] = 4;
  CHECK(contains(error_for(version), "version 1.0, 2.0 or 3.0, found 4.0"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", six)),
                 "fortran_order True (column-major) is not supported"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", six)),
                 "expected dtype '<f4' or '<f8', found '<i4'"));
  CHECK(contains(error_for(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", six)),
                 "found '>f4'"));
  CHECK(contains(error_for(npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", six)),
                 "structured arrays are not supported"));
  CHECK(contains(error_for(good.substr(0, good.size() - 3)),
                 "truncated .npy file: shape [2, 3] of <f4 needs 24 data bytes, found 21"));
  CHECK(contains(error_for(good.substr(0, 40)), "truncated .npy file: header claims 118 bytes"));
  CHECK(contains(error_for(good + "abcd"), "4 trailing bytes after the data"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }", "")),
                 "exceeds 2147483648 elements"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", "")),
                 "exceeds"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }", raw<float>({1}))),
                 "5 dimensions; expected at most 4"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<f4', 'shape': (2, 3), }", six)),
                 "expected the keys 'descr', 'fortran_order' and 'shape'"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", six)),
                 "found 'extra'"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<f4', 'fortran_order': Nope, 'shape': (2, 3), }", six)),
                 "expected True or False"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", six)),
                 "non-negative integer in 'shape'"));
  CHECK(contains(error_for(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk", six)),
                 "only padding after the dict"));
  CHECK(contains(error_of([] { io::load_npy("/nonexistent/x.npy"); }), "no such file"));
  CHECK(contains(error_of([] { io::load_npy(std::filesystem::temp_directory_path().string()); }),
                 "not a regular file"));
  std::filesystem::remove(path);
}

TEST_CASE("npy save is atomic: a failed write leaves the previous file") {
  const std::string path = temp_path("atomic.npy");
  io::save_npy(path, Tensor<float>::full({2}, 3.0f));
  const std::string before = read_bytes(path);
  CHECK_THROWS_AS(io::save_npy("/nonexistent/dir/x.npy", Tensor<float>({2})), Error);
  CHECK(read_bytes(path) == before);
  std::filesystem::remove(path);
}

TEST_CASE("an empty .npy array whose other dimensions multiply past 2^31 is refused") {
  // Regression: (0, 2^31, 2^31) was accepted (it holds no element), but any
  // product that skips the zero, such as Shape::per_sample, overflowed.
  const auto load = [](const std::string& shape) {
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    return error_of([&] { io::load_npy_bytes(npy_bytes(dict, ""), "empty.npy"); });
  };
  const std::string e = load("(0, 2147483648, 2147483648)");
  CHECK_MESSAGE(e == "empty.npy: .npy shape (0, 2147483648, 2147483648) exceeds 2147483648 elements", e);
  CHECK(contains(load("(65536, 0, 65536, 2)"), "exceeds"));
  CHECK(load("(0, 65536, 32768)") == "");
  CHECK(io::load_npy_bytes(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", ""), "e.npy")
            .shape() == Shape{0, 3});
}
