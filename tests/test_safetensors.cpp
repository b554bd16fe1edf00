// safetensors: round trip, a file PyTorch's side wrote, and malformed files.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "test_util.hpp"
#include "golden.hpp"

using namespace tinygan;
using namespace tinygan::testing;

TEST_CASE("safetensors round trip keeps names, shapes, values and metadata") {
  Rng rng(1);
  std::map<std::string, Tensor<float>> tensors{{"0.weight", Tensor<float>::randn({3, 4}, rng)},
                                               {"0.bias", Tensor<float>::randn({3}, rng)},
                                               {"scalar", Tensor<float>(Shape{})}};
  const std::string path = temp_path("roundtrip.safetensors");
  io::save_safetensors(path, tensors, {{"format", "pt"}});
  const auto back = io::load_safetensors<float>(path);
  CHECK(back.metadata.at("format") == "pt");
  REQUIRE(back.tensors.size() == 3);
  for (const auto& [name, t] : tensors) {
    const auto& u = back.at(name);
    CHECK(u.shape() == t.shape());
    for (Index i = 0; i < t.numel(); ++i) CHECK(u[i] == t[i]);
  }
  std::filesystem::remove(path);
}

TEST_CASE("a safetensors file written on PyTorch's side loads") {
  const auto f = testing::golden("convt_small");
  CHECK(f.metadata.at("op") == "conv_transpose2d");
  CHECK(f.at("weight").shape() == Shape{3, 2, 3, 3});
  CHECK(f.at("y").shape() == Shape{2, 2, 8, 10});
}

TEST_CASE("malformed safetensors files are refused with a clear error") {
  const std::string good_path = std::string(TINYGAN_GOLDEN_DIR) + "/dense_head.safetensors";
  const std::string good = read_bytes(good_path);
  const std::string path = temp_path("bad.safetensors");
  const auto load = [&] { io::load_safetensors<float>(path); };

  write_bytes(path, good.substr(0, 5));
  CHECK(error_of(load).find("at least 8 bytes") != std::string::npos);

  write_bytes(path, good.substr(0, good.size() - 4));  // truncated data
  CHECK(error_of(load).find("outside") != std::string::npos);

  std::string huge = good;
  huge[7] = '\x7f';  // a header size far beyond the file
  write_bytes(path, huge);
  CHECK(error_of(load).find("header claims") != std::string::npos);

  std::string garbled = good;
  garbled[9] = '#';  // breaks the JSON
  write_bytes(path, garbled);
  CHECK(error_of(load).find("invalid JSON") != std::string::npos);

  std::string dtype = good;
  dtype.replace(dtype.find("F32"), 3, "I64");
  write_bytes(path, dtype);
  CHECK(error_of(load).find("expected dtype F32 or F64, found I64") != std::string::npos);

  CHECK(error_of([] { io::load_safetensors<float>("/nonexistent/x.safetensors"); })
            .find("cannot open") != std::string::npos);
  std::filesystem::remove(path);
}

TEST_CASE("a failed write leaves the previous file intact") {
  const std::string path = temp_path("atomic.safetensors");
  std::map<std::string, Tensor<float>> tensors{{"w", Tensor<float>::full({4}, 2.0f)}};
  io::save_safetensors(path, tensors);
  const std::string before = read_bytes(path);
  // A target in a folder that does not exist cannot be written at all.
  CHECK_THROWS_AS(io::save_safetensors("/nonexistent/dir/x.safetensors", tensors), Error);
  CHECK(read_bytes(path) == before);
  std::filesystem::remove(path);
}

TEST_CASE("hostile safetensors headers: overflowing shapes, fractional offsets, a folder") {
  const std::string path = temp_path("hostile.safetensors");
  const auto with_header = [&](const std::string& json) {
    std::string header = json;
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
    write_bytes(path, bytes + header + std::string(16, '\0'));
    return error_of([&] { io::load_safetensors<float>(path); });
  };
  CHECK(with_header(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})")
            .find("exceeds") != std::string::npos);
  CHECK(with_header(R"({"t":{"dtype":"F32","shape":[0,9007199254740992,9007199254740992],"data_offsets":[0,0]}})")
            .find("exceeds") != std::string::npos);
  CHECK(with_header(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0.5,4.5]}})")
            .find("non-negative integers") != std::string::npos);
  CHECK(with_header(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})")
            .find("non-negative integers") != std::string::npos);
  CHECK(with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})")
            .find("needs 8 bytes") != std::string::npos);
  CHECK(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})")
            .find("overlap") != std::string::npos);
  CHECK(error_of([] { io::load_safetensors<float>(std::filesystem::temp_directory_path().string()); })
            .find("not a regular file") != std::string::npos);
  std::filesystem::remove(path);
}
