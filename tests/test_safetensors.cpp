// safetensors: round trip, a file PyTorch's side wrote, and malformed files.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

namespace {
// A safetensors file of one I64 tensor holding `values`, as PyTorch writes
// BatchNorm's num_batches_tracked.
std::string i64_file(const std::vector<std::int64_t>& values) {
  const std::string header = "{\"n\":{\"dtype\":\"I64\",\"shape\":[" + std::to_string(values.size()) +
                             "],\"data_offsets\":[0," + std::to_string(8 * values.size()) + "]}}";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header;
  for (const std::int64_t v : values) bytes.append(reinterpret_cast<const char*>(&v), 8);  // little-endian here
  return bytes;
}
}  // namespace

TEST_CASE("I64 tensors (PyTorch's num_batches_tracked) load; values a float would round are refused") {
  const std::string path = temp_path("i64.safetensors");
  write_bytes(path, i64_file({0, 46850, -7, 1 << 24}));
  const auto f = io::load_safetensors<float>(path);
  REQUIRE(f.at("n").shape() == Shape{4});
  CHECK(f.at("n")[1] == 46850.0f);
  CHECK(f.at("n")[2] == -7.0f);
  CHECK(f.at("n")[3] == 16777216.0f);

  write_bytes(path, i64_file({5, (1 << 24) + 1}));
  CHECK(error_of([&] { io::load_safetensors<float>(path); })
            .find("tensor 'n': I64 value 16777217 at element 1 is not exact as a float") != std::string::npos);
  CHECK(io::load_safetensors<double>(path).at("n")[1] == 16777217.0);  // a double holds it
  std::filesystem::remove(path);
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
  dtype.replace(dtype.find("F32"), 3, "F16");
  write_bytes(path, dtype);
  CHECK(error_of(load).find("expected dtype F32, F64 or I64, found F16") != std::string::npos);

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

TEST_CASE("an empty tensor whose other dimensions multiply past 2^40 is refused") {
  // Regression: [0, 2^40, 2^40] was accepted (it holds no element), but any
  // product that skips the zero, such as Shape::per_sample, overflowed.
  const auto load = [](const std::string& json) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((json.size() >> (8 * i)) & 0xFF);
    return error_of([&] { io::load_safetensors_bytes<float>(bytes + json, "empty.safetensors"); });
  };
  const std::string refused = load(R"({"t":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}})");
  CHECK_MESSAGE(refused.rfind("empty.safetensors: tensor 't'", 0) == 0, refused);
  CHECK_MESSAGE(contains(refused, "exceeds 1099511627776 elements"), refused);
  CHECK(contains(load(R"({"t":{"dtype":"F32","shape":[1048576,0,1048576,2],"data_offsets":[0,0]}})"), "exceeds"));
  CHECK(load(R"({"t":{"dtype":"F32","shape":[0,1048576,1048576],"data_offsets":[0,0]}})") == "");
}

namespace {
// A saved and reloaded checkpoint whose metadata name is set to text.
io::Checkpoint<float> checkpoint_with(const std::string& name, const std::string& text) {
  io::Checkpoint<float> c;
  c.put_rng("noise", Rng(7));
  c.put_int("iteration", 12);
  c.put_text(name, text);
  const std::string path = temp_path("meta.ckpt.safetensors");
  c.save(path);
  auto loaded = io::Checkpoint<float>::load(path);
  std::filesystem::remove(path);
  return loaded;
}
}  // namespace

TEST_CASE("checkpoint random states: junk is a tinygan::Error, never std::invalid_argument") {
  const std::string good = "0123456789abcdef:fedcba9876543210:0000000000000001:8000000000000000";
  Rng rng;
  checkpoint_with("rng.noise", good).get_rng("noise", rng);
  CHECK(rng.state() == Rng::State{0x0123456789abcdefULL, 0xfedcba9876543210ULL, 1, 0x8000000000000000ULL});

  // Regression: std::stoull threw std::invalid_argument on a non-hex word and
  // accepted signs, spaces and "0x" prefixes, and any separator.
  for (const std::string& bad : std::vector<std::string>{
        "0123456789abcdeg:fedcba9876543210:0000000000000001:8000000000000000",
        "-123456789abcdef:fedcba9876543210:0000000000000001:8000000000000000",
        " 123456789abcdef:fedcba9876543210:0000000000000001:8000000000000000",
        "0x23456789abcdef:fedcba9876543210:0000000000000001:8000000000000000",
        "0123456789abcdef;fedcba9876543210;0000000000000001;8000000000000000", std::string(67, ':')}) {
    const Rng::State before = rng.state();
    const std::string e = error_of([&] { checkpoint_with("rng.noise", bad).get_rng("noise", rng); });
    CHECK_MESSAGE(contains(e, "meta.ckpt.safetensors: random state 'rng.noise' is malformed"), e);
    CHECK_MESSAGE(contains(e, "found '" + bad + "'"), e);
    CHECK(rng.state() == before);
  }
  // xoshiro's all-zero state would draw zeros forever: a silent wrong result.
  const std::string zeros = "0000000000000000:0000000000000000:0000000000000000:0000000000000000";
  CHECK(contains(error_of([&] { checkpoint_with("rng.noise", zeros).get_rng("noise", rng); }), "all zeros"));
}

TEST_CASE("checkpoint counters must be whole integers, and Adam's steps non-negative") {
  CHECK(checkpoint_with("iteration", "-5").get_int("iteration") == -5);
  for (const std::string& bad : std::vector<std::string>{"", "12abc", " 12", "+12", "1e3", "99999999999999999999"}) {
    const std::string e = error_of([&] { checkpoint_with("iteration", bad).get_int("iteration"); });
    CHECK_MESSAGE(contains(e, "'iteration' should be an integer, found '" + bad + "'"), e);
  }

  nn::Dense<float> model(2, 3);
  optim::Adam<float> adam(model.parameters());
  io::Checkpoint<float> c;
  c.put_adam("opt", adam);
  c.put_int("opt.1.step", -3);  // corrupt: bias correction would divide by 1 - beta^-3
  const std::string path = temp_path("adam.ckpt.safetensors");
  c.save(path);
  const std::string e = error_of([&] { io::Checkpoint<float>::load(path).get_adam("opt", adam); });
  std::filesystem::remove(path);
  CHECK_MESSAGE(contains(e, "'opt.1.step' should be non-negative, found -3"), e);
  CHECK(adam.state()[1].step == 0);
}
