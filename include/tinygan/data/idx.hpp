/// \file
/// IDX files, the format MNIST ships in: two zero bytes, a type byte, a rank
/// byte, rank big-endian uint32 dimensions, then the elements in row-major
/// order. Only unsigned bytes (type 0x08) are supported: that is all MNIST uses.
/// A gzipped IDX file (as Fashion-MNIST ships) is read the same way.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "tinygan/core/atomic_file.hpp"
#include "tinygan/core/error.hpp"
#include "tinygan/core/read_file.hpp"
#include "tinygan/core/shape.hpp"
#include "tinygan/data/gzip.hpp"

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
/// Far beyond any real IDX file (MNIST's largest holds 47 million); checked
/// before allocating so a corrupt header cannot ask for terabytes.
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

namespace idx_detail {
/// Checks the header (head: the file's first bytes, at least 20 unless the
/// file is shorter) against the file's size and fills array.dims; returns the
/// header's length. Everything is checked before the data is allocated.
inline Index parse_header(std::string_view head, Index size, const std::string& name, IdxArray& array) {
  check(size >= 4, name, ": shorter than an IDX header (expected at least 4 bytes, found ", size, ")");
  const auto byte = [&](Index i) { return static_cast<std::uint8_t>(head[static_cast<std::size_t>(i)]); };
  const std::uint8_t magic[4] = {byte(0), byte(1), byte(2), byte(3)};
  check(magic[0] == 0 && magic[1] == 0, name,
        ": not an IDX file (expected the magic 00 00 <type> <rank>, found ", hex_byte(magic[0]), " ",
        hex_byte(magic[1]), " ", hex_byte(magic[2]), " ", hex_byte(magic[3]), ")");
  check(magic[2] == kUnsignedByte, name, ": element type 0x", hex_byte(magic[2]), " (", type_name(magic[2]),
        ") is not supported; expected 0x08 (unsigned byte)");
  const int rank = magic[3];
  check(rank >= 1 && rank <= kMaxRank, name, ": expected rank 1 to ", kMaxRank, ", found ", rank);
  const Index header = 4 + 4 * Index{rank};
  check(size >= header, name, ": shorter than its header (rank ", rank, " needs ", header,
        " bytes, found ", size, ")");

  Index count = 1;
  for (int i = 0; i < rank; ++i) {
    const Index at = 4 + 4 * Index{i};
    const Index d = Index{byte(at)} << 24 | Index{byte(at + 1)} << 16 | Index{byte(at + 2)} << 8 | Index{byte(at + 3)};
    check(d > 0, name, ": dimension ", i, " is zero");
    array.dims.push_back(d);
    count *= d;  // cannot overflow: count <= 2^31 and d < 2^32
    if (count > kMaxElements) {
      std::string read_so_far = dims_str(array.dims);
      if (i + 1 < rank) read_so_far.insert(read_so_far.size() - 1, ", ...");
      throw Error(tinygan::detail::concat(name, ": dimensions ", read_so_far, " hold more than ", kMaxElements,
                                 " elements; refusing a file this large"));
    }
  }
  const Index expected = header + count;
  check(size >= expected, name, ": truncated: dimensions ", dims_str(array.dims), " need ", expected,
        " bytes, found ", size);
  check(size == expected, name, ": ", size - expected, " trailing bytes: dimensions ",
        dims_str(array.dims), " need ", expected, " bytes, found ", size);
  return header;
}
}  // namespace idx_detail

namespace idx_detail {
inline IdxArray read_plain_bytes(std::string_view bytes, const std::string& name) {
  IdxArray array;
  const Index header = parse_header(bytes, static_cast<Index>(bytes.size()), name, array);
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data()) + header;
  array.data.assign(data, data + array.numel());
  return array;
}

/// What errors about a gzipped file's contents call it: their sizes are the
/// decompressed ones, not the file's.
inline std::string decompressed_name(const std::string& name) { return name + " (decompressed)"; }
}  // namespace idx_detail

/// An IDX file already in memory, plain or gzipped (told by gzip's magic, not
/// by the name); name (its path) is what errors call it.
inline IdxArray read_idx_bytes(std::string_view bytes, const std::string& name) {
  if (is_gzip(bytes)) return idx_detail::read_plain_bytes(gunzip(bytes, name), idx_detail::decompressed_name(name));
  return idx_detail::read_plain_bytes(bytes, name);
}

inline IdxArray read_idx(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  check(fs::exists(status), path, ": no such file (expected an IDX file)");
  check(fs::is_regular_file(status), path, ": not a regular file (expected an IDX file)");
  std::uint64_t size = 0;
  std::ifstream in = open_for_reading(path, size);
  const auto read = [&](void* into, Index bytes) {
    in.read(static_cast<char*>(into), static_cast<std::streamsize>(bytes));
    check(in.gcount() == bytes, path, ": read failed after ", in.gcount(), " of ", bytes, " bytes");
  };
  // The longest header (rank 4) is 20 bytes; the data is read only once they check out.
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(size, 20)), '\0');
  read(head.data(), static_cast<Index>(head.size()));
  if (is_gzip(head)) {
    // Its size is known only once decoded: read whole (the compressed bytes
    // are freed before the array is filled).
    in.close();
    const std::string decoded = gunzip(read_whole_file(path), path);
    return idx_detail::read_plain_bytes(decoded, idx_detail::decompressed_name(path));
  }
  IdxArray array;
  const Index header = idx_detail::parse_header(head, static_cast<Index>(size), path, array);
  array.data.resize(static_cast<std::size_t>(array.numel()));
  in.seekg(header);
  read(array.data.data(), array.numel());
  return array;
}

/// Writes an unsigned-byte IDX file atomically (never seen half-written).
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
