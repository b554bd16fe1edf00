/// \file
/// NumPy's .npy files: a magic string, a version, a Python-literal dict header
/// ({'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }) padded with
/// spaces to a 64-byte boundary and ending in a newline, then the raw data.
/// Reads float32 and float64 (converted) arrays in C order, rank 0 to 4; writes
/// version 1.0 float32.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tinygan/core/read_file.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/core/atomic_file.hpp"

namespace tinygan::io {

static_assert(std::endian::native == std::endian::little,
              ".npy data here is little-endian ('<f4'); this reader copies it as it is");

namespace detail {
constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr std::size_t kNpyMagicSize = 6;
/// More elements than a .npy file we load may hold (2^31, 8 GiB of float32); refused before allocating.
constexpr std::uint64_t kNpyMaxElements = 1ULL << 31;
/// NumPy itself refuses headers over 10,000 bytes by default; this is laxer but still bounded.
constexpr std::uint32_t kNpyMaxHeader = 1U << 20;

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
  std::uint64_t count = 1;
};

/// Parses the header dict: a Python literal with exactly the keys 'descr' (a
/// string), 'fortran_order' (True or False) and 'shape' (a tuple of integers).
class NpyHeaderParser {
 public:
  NpyHeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        check(!seen_descr, path_, ": .npy header has 'descr' twice");
        check(peek() == '\'' || peek() == '"', path_,
              ": .npy header: expected a dtype string such as '<f4' for 'descr' (structured "
              "arrays are not supported), found ", rest());
        h.descr = string_literal();
        seen_descr = true;
      } else if (key == "fortran_order") {
        check(!seen_order, path_, ": .npy header has 'fortran_order' twice");
        h.fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        check(!seen_shape, path_, ": .npy header has 'shape' twice");
        shape(h);
        seen_shape = true;
      } else {
        fail("expected the keys 'descr', 'fortran_order' and 'shape', found '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      check(peek() == '}', path_, ": .npy header: expected ',' or '}' after '", key, "', found ", rest());
    }
    ++pos_;
    for (; pos_ < s_.size(); ++pos_)
      check(s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r', path_,
            ": .npy header: expected only padding after the dict, found ", rest());
    check(seen_descr && seen_order && seen_shape, path_,
          ": .npy header: expected the keys 'descr', 'fortran_order' and 'shape', found only some in ",
          s_);
    return h;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  std::string rest() const {
    if (pos_ >= s_.size()) return "the end of the header";
    return "'" + s_.substr(pos_, 20) + "'";
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ": .npy header: " + what + " (header: " + s_ + ")");
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "', found " + rest());
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted key or string, found " + rest());
    const std::size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.compare(pos_, 4, "True") == 0) return pos_ += 4, true;
    if (s_.compare(pos_, 5, "False") == 0) return pos_ += 5, false;
    fail("expected True or False for 'fortran_order', found " + rest());
  }
  /// A tuple: "()", "(3,)", "(2, 3)", "(2, 3,)". Python 2's longs ("3L") are accepted.
  void shape(NpyHeader& h) {
    expect('(');
    std::vector<std::uint64_t> dims;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("expected a non-negative integer in 'shape', found " + rest());
      std::uint64_t d = 0;
      while (peek() >= '0' && peek() <= '9') {
        d = d * 10 + static_cast<std::uint64_t>(peek() - '0');
        if (d > kNpyMaxElements) fail("dimension in 'shape' exceeds " + std::to_string(kNpyMaxElements) + " elements");
        ++pos_;
      }
      if (peek() == 'L') ++pos_;
      dims.push_back(d);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in 'shape', found " + rest());
    }
    ++pos_;
    check(dims.size() <= static_cast<std::size_t>(Shape::kMaxRank), path_, ": .npy shape has ",
          dims.size(), " dimensions; expected at most ", Shape::kMaxRank);
    // span, the product of the nonzero dimensions, is bounded too: an empty
    // (0, 2^31, 2^31) would overflow any product that skips the zero.
    h.count = 1;
    std::uint64_t span = 1;
    for (std::uint64_t d : dims) {
      // Checked before multiplying, so the product cannot wrap around.
      check(span <= kNpyMaxElements / std::max<std::uint64_t>(d, 1), path_, ": .npy shape ",
            shape_text(dims), " exceeds ", kNpyMaxElements, " elements");
      h.count *= d;
      span *= std::max<std::uint64_t>(d, 1);
      h.shape.push_back(static_cast<Index>(d));
    }
  }
  static std::string shape_text(const std::vector<std::uint64_t>& dims) {
    std::string t = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) t += (i ? ", " : "") + std::to_string(dims[i]);
    return t + (dims.size() == 1 ? ",)" : ")");
  }

  const std::string& s_;
  const std::string& path_;
  std::size_t pos_ = 0;
};
}  // namespace detail

/// Reads a .npy array of '<f4' or '<f8' (converted to float: values beyond
/// float's range become infinite) in C order from a file's bytes. Anything
/// else, or any mismatch between header and size, raises an Error naming path.
inline Tensor<float> load_npy_bytes(const std::string& bytes, const std::string& path) {
  const std::uint64_t file_size = bytes.size();
  const auto byte = [&](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])); };
  check(file_size >= 10 && bytes.compare(0, detail::kNpyMagicSize, detail::kNpyMagic) == 0, path,
        ": not a .npy file: expected the magic \\x93NUMPY and a version in the first 10 bytes");
  const auto major = static_cast<int>(byte(6)), minor = static_cast<int>(byte(7));
  check((major >= 1 && major <= 3) && minor == 0, path,
        ": expected .npy format version 1.0, 2.0 or 3.0, found ", major, ".", minor);
  // Version 1.0 stores the header length in 2 bytes, later versions in 4.
  std::uint64_t header_len = byte(8) | (byte(9) << 8);
  std::uint64_t header_start = 10;
  if (major >= 2) {
    check(file_size >= 12, path, ": truncated .npy file: ", file_size,
          " bytes end inside the header length");
    header_len |= (byte(10) << 16) | (byte(11) << 24);
    header_start = 12;
  }
  check(header_len <= detail::kNpyMaxHeader, path, ": .npy header claims ", header_len,
        " bytes, more than the ", detail::kNpyMaxHeader, " allowed");
  check(header_start + header_len <= file_size, path, ": truncated .npy file: header claims ",
        header_len, " bytes but only ", file_size - header_start, " follow");
  const std::string text = bytes.substr(header_start, header_len);

  const detail::NpyHeader h = detail::NpyHeaderParser(text, path).parse();
  check(h.descr == "<f4" || h.descr == "<f8", path, ": expected dtype '<f4' or '<f8', found '",
        h.descr, "'");
  check(!h.fortran_order, path,
        ": fortran_order True (column-major) is not supported; save the array in C order, e.g. "
        "numpy.save(path, numpy.ascontiguousarray(a))");
  const std::uint64_t element = h.descr == "<f4" ? 4 : 8;
  const std::uint64_t data_start = header_start + header_len;
  const std::uint64_t expected = h.count * element, found = file_size - data_start;
  check(found >= expected, path, ": truncated .npy file: shape ", h.shape, " of ", h.descr,
        " needs ", expected, " data bytes, found ", found);
  check(found == expected, path, ": .npy file has ", found - expected,
        " trailing bytes after the data (shape ", h.shape, " of ", h.descr, " needs ", expected,
        " bytes)");

  Tensor<float> t(h.shape);
  const char* src = bytes.data() + data_start;
  if (element == 4) {
    if (expected) std::memcpy(t.data(), src, static_cast<std::size_t>(expected));  // no null pointer to memcpy
  } else {
    for (std::uint64_t i = 0; i < h.count; ++i) {
      double v;
      std::memcpy(&v, src + i * 8, 8);
      t.data()[i] = static_cast<float>(v);
    }
  }
  return t;
}

inline Tensor<float> load_npy(const std::string& path) { return load_npy_bytes(read_whole_file(path), path); }

/// Writes a version 1.0 '<f4' .npy file in C order, atomically.
inline void save_npy(const std::string& path, const Tensor<float>& t) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < t.rank(); ++i) dict += (i ? ", " : "") + std::to_string(t.dim(i));
  dict += t.rank() == 1 ? ",), }" : "), }";
  // Magic (6) + version (2) + length (2) + dict + padding + '\n' is a multiple of 64.
  const std::size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(detail::kNpyMagic, detail::kNpyMagicSize);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>((dict.size() >> 8) & 0xFF);
  out += dict;
  out.append(reinterpret_cast<const char*>(t.data()), static_cast<std::size_t>(t.numel()) * sizeof(float));
  write_file_atomically(path, out);
}

}  // namespace tinygan::io
