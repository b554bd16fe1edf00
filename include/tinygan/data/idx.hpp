// IDX files, the format MNIST ships in: two zero bytes, a type byte, a rank
// byte, rank big-endian uint32 dimensions, then the elements in row-major
// order. Only unsigned bytes (type 0x08) are supported: that is all MNIST uses.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tinygan/core/atomic_file.hpp"
#include "tinygan/core/error.hpp"
#include "tinygan/core/shape.hpp"

namespace tinygan::data {

struct IdxArray {
  std::vector<Index> dims;
  std::vector<std::uint8_t> data;  // row-major, dims' product elements

  Index numel() const {
    Index n = 1;
    for (Index d : dims) n *= d;
    return n;
  }
};

namespace idx_detail {
constexpr std::uint8_t kUnsignedByte = 0x08;
constexpr int kMaxRank = 4;
// Far beyond any real IDX file (MNIST's largest holds 47 million); checked
// before allocating so a corrupt header cannot ask for terabytes.
constexpr Index kMaxElements = Index{1} << 31;

inline const char* type_name(std::uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "16-bit integer";
    case 0x0C: return "32-bit integer";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
  }
}

inline std::string hex_byte(std::uint8_t b) {
  static constexpr char kHex[] = "0123456789abcdef";
  return {kHex[b >> 4], kHex[b & 15]};
}

inline std::string dims_str(const std::vector<Index>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}
}  // namespace idx_detail

inline IdxArray read_idx(const std::string& path) {
  namespace fs = std::filesystem;
  using namespace idx_detail;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  check(fs::exists(status), path, ": no such file (expected an IDX file)");
  check(fs::is_regular_file(status), path, ": not a regular file (expected an IDX file)");
  const auto size = static_cast<Index>(fs::file_size(path, ec));
  check(!ec, path, ": cannot read its size (", ec.message(), ")");
  std::ifstream in(path, std::ios::binary);
  check(in.good(), path, ": cannot open for reading");

  const auto read = [&](void* into, Index bytes) {
    in.read(static_cast<char*>(into), static_cast<std::streamsize>(bytes));
    check(in.gcount() == bytes, path, ": read failed after ", in.gcount(), " of ", bytes, " bytes");
  };
  check(size >= 4, path, ": shorter than an IDX header (expected at least 4 bytes, found ", size, ")");
  std::uint8_t magic[4];
  read(magic, 4);
  if (magic[0] == 0x1f && magic[1] == 0x8b) {
    const bool gz = path.size() > 3 && path.ends_with(".gz");
    throw Error(path + ": gzip-compressed: decompress it first (" +
                (gz ? "gzip -dk " + path : "gzip -dc < " + path + " > " + path + ".idx") + ")");
  }
  check(magic[0] == 0 && magic[1] == 0, path,
        ": not an IDX file (expected the magic 00 00 <type> <rank>, found ", hex_byte(magic[0]), " ",
        hex_byte(magic[1]), " ", hex_byte(magic[2]), " ", hex_byte(magic[3]), ")");
  check(magic[2] == kUnsignedByte, path, ": element type 0x", hex_byte(magic[2]), " (", type_name(magic[2]),
        ") is not supported; expected 0x08 (unsigned byte)");
  const int rank = magic[3];
  check(rank >= 1 && rank <= kMaxRank, path, ": expected rank 1 to ", kMaxRank, ", found ", rank);
  const Index header = 4 + 4 * Index{rank};
  check(size >= header, path, ": shorter than its header (rank ", rank, " needs ", header,
        " bytes, found ", size, ")");

  IdxArray array;
  Index count = 1;
  for (int i = 0; i < rank; ++i) {
    std::uint8_t b[4];
    read(b, 4);
    const Index d = Index{b[0]} << 24 | Index{b[1]} << 16 | Index{b[2]} << 8 | Index{b[3]};
    check(d > 0, path, ": dimension ", i, " is zero");
    array.dims.push_back(d);
    count *= d;  // cannot overflow: count <= 2^31 and d < 2^32
    if (count > kMaxElements) {
      std::string read_so_far = dims_str(array.dims);
      if (i + 1 < rank) read_so_far.insert(read_so_far.size() - 1, ", ...");
      throw Error(tinygan::detail::concat(path, ": dimensions ", read_so_far, " hold more than ", kMaxElements,
                                 " elements; refusing a file this large"));
    }
  }
  const Index expected = header + count;
  check(size >= expected, path, ": truncated: dimensions ", dims_str(array.dims), " need ", expected,
        " bytes, found ", size);
  check(size == expected, path, ": ", size - expected, " trailing bytes: dimensions ",
        dims_str(array.dims), " need ", expected, " bytes, found ", size);
  array.data.resize(static_cast<std::size_t>(count));
  read(array.data.data(), count);
  return array;
}

// Writes an unsigned-byte IDX file atomically (never seen half-written).
inline void write_idx(const std::string& path, const IdxArray& array) {
  using namespace idx_detail;
  const auto rank = static_cast<int>(array.dims.size());
  check(rank >= 1 && rank <= kMaxRank, path, ": write_idx: expected rank 1 to ", kMaxRank, ", found ", rank);
  for (Index d : array.dims)
    check(d > 0 && d <= 0xFFFFFFFF, path, ": write_idx: dimensions must be 1 to 2^32-1, found ",
          dims_str(array.dims));
  // The product is compared piecewise so that four large dimensions cannot overflow it.
  std::uint64_t count = 1;
  bool fits = true;
  for (Index d : array.dims) {
    fits = fits && count <= array.data.size() / static_cast<std::uint64_t>(d);
    if (fits) count *= static_cast<std::uint64_t>(d);
  }
  check(fits && count == array.data.size(), path, ": write_idx: dimensions ", dims_str(array.dims),
        " do not match the ", array.data.size(), " elements given");
  std::string bytes{'\0', '\0', static_cast<char>(kUnsignedByte), static_cast<char>(rank)};
  for (Index d : array.dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((d >> shift) & 0xFF);
  bytes.append(reinterpret_cast<const char*>(array.data.data()), array.data.size());
  write_file_atomically(path, bytes);
}

}  // namespace tinygan::data
