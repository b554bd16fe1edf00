/// \file
/// gunzip: one gzip member (RFC 1952) decoded in memory, header and trailer
/// checked, the data's CRC32 compared.
///
/// The deflate data is inflated by stb_image's decoder (data/stb_image.hpp)
/// rather than zlib's: it adds no link dependency, the library stays
/// header-only, and the builds of programs that use tinygan are unchanged.
/// Speed is not the point here (it decodes Fashion-MNIST's 26 MB in well
/// under a second).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "tinygan/core/error.hpp"
#include "tinygan/core/shape.hpp"
#include "tinygan/data/stb_image.hpp"

namespace tinygan::data {

namespace gzip_detail {
constexpr std::uint8_t kMagic0 = 0x1f, kMagic1 = 0x8b, kDeflate = 8;
constexpr std::uint8_t kFhcrc = 0x02, kFextra = 0x04, kFname = 0x08, kFcomment = 0x10;
constexpr std::uint8_t kReservedFlags = 0xE0;
constexpr Index kHeaderBytes = 10, kTrailerBytes = 8;
/// Deflate's best case is a 258-byte match in 2 bits: 1032 bytes out per byte in.
constexpr Index kMaxRatio = 1032;
/// No data set tinygan reads comes near this (Fashion-MNIST's largest file
/// is 47 MB decompressed); stb's inflate counts in int, so it must stay < 2^31.
constexpr Index kMaxDecodedBytes = Index{1} << 30;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}
inline constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

inline std::string hex32(std::uint32_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = kHex[v & 15];
  return s;
}

inline std::string hex8(std::uint8_t v) { return hex32(v).substr(6); }

inline std::uint32_t le32(std::string_view b, std::size_t at) {
  const auto u = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[at + i])); };
  return u(0) | u(1) << 8 | u(2) << 16 | u(3) << 24;
}
}  // namespace gzip_detail

/// The CRC-32 of RFC 1952 (and zlib, PNG): polynomial 0xEDB88320, reflected.
inline std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0) {
  crc = ~crc;
  for (char c : bytes) crc = gzip_detail::kCrcTable[(crc ^ static_cast<std::uint8_t>(c)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

/// Whether bytes start with gzip's magic (1f 8b): how a gzipped file is told
/// from a plain one, whatever its name.
inline bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<std::uint8_t>(bytes[0]) == gzip_detail::kMagic0 &&
         static_cast<std::uint8_t>(bytes[1]) == gzip_detail::kMagic1;
}

/// Decodes a gzip stream holding one member; name (its path) is what errors
/// call it. The size the trailer announces is checked against what the
/// compressed length could hold and against a cap before it is allocated.
inline std::string gunzip(std::string_view bytes, const std::string& name) {
  using namespace gzip_detail;
  const auto size = static_cast<Index>(bytes.size());
  const auto byte = [&](Index i) { return static_cast<std::uint8_t>(bytes[static_cast<std::size_t>(i)]); };
  check(size >= kHeaderBytes + kTrailerBytes, name, ": truncated gzip stream: expected at least ",
        kHeaderBytes + kTrailerBytes, " bytes (header and trailer), found ", size);
  check(is_gzip(bytes), name, ": not gzip (expected the magic 1f 8b, found ", hex8(byte(0)), " ",
        hex8(byte(1)), ")");
  check(byte(2) == kDeflate, name, ": gzip compression method ", int{byte(2)}, " is not supported; expected 8 (deflate)");
  const std::uint8_t flags = byte(3);
  check((flags & kReservedFlags) == 0, name, ": gzip header flags 0x", hex8(flags),
        " set reserved bits (0xe0); expected none");

  // The optional fields, in RFC 1952's order; none may run into the trailer.
  const Index end = size - kTrailerBytes;
  Index at = kHeaderBytes;
  const auto need = [&](Index n, const char* what) {
    check(n <= end - at, name, ": truncated gzip stream: the header's ", what, " runs past the data (",
          n, " bytes needed at offset ", at, ", ", end - at, " left before the trailer)");
  };
  if (flags & kFextra) {
    need(2, "extra field length");
    const Index extra = Index{byte(at)} | Index{byte(at + 1)} << 8;
    at += 2;
    need(extra, "extra field");
    at += extra;
  }
  for (const auto& [flag, what] : {std::pair{kFname, "file name"}, std::pair{kFcomment, "comment"}}) {
    if (!(flags & flag)) continue;
    Index zero = at;
    while (zero < end && byte(zero) != 0) ++zero;
    need(zero - at + 1, what);  // with its terminating zero byte
    at = zero + 1;
  }
  if (flags & kFhcrc) {
    need(2, "header CRC16");
    const std::uint32_t stored = std::uint32_t{byte(at)} | std::uint32_t{byte(at + 1)} << 8;
    const std::uint32_t computed = crc32(bytes.substr(0, static_cast<std::size_t>(at))) & 0xFFFF;
    check(stored == computed, name, ": gzip header CRC16 mismatch: header says ", hex32(stored).substr(4),
          ", header bytes give ", hex32(computed).substr(4));
    at += 2;
  }

  const std::uint32_t expected_crc = le32(bytes, static_cast<std::size_t>(end));
  const Index isize = le32(bytes, static_cast<std::size_t>(end + 4));
  const Index compressed = end - at;
  check(isize <= compressed * kMaxRatio, name, ": truncated or corrupt gzip stream: the trailer's ISIZE says ",
        isize, " bytes, more than the ", compressed, " compressed bytes can hold (at most ", kMaxRatio,
        " bytes each)");
  check(isize <= kMaxDecodedBytes, name, ": the gzip trailer's ISIZE says ", isize,
        " bytes; refusing more than ", kMaxDecodedBytes, " decompressed");

  std::string out(static_cast<std::size_t>(isize), '\0');
  // stb keeps its last reason when it fails without giving one (a reserved block type).
  stbi__g_failure_reason = nullptr;
  // The trailer is handed to stb too, as bytes it may look ahead into:
  // stb 2.27 (Debian 12's) refuses a stream whose last codes lie in its last
  // two bytes, wanting 16 bits buffered. A zlib stream in a PNG always has
  // its 4-byte Adler-32 there; a gzip member has its trailer.
  const int decoded = stbi_zlib_decode_noheader_buffer(out.data(), static_cast<int>(isize), bytes.data() + at,
                                                       static_cast<int>(compressed + kTrailerBytes));
  if (decoded < 0) {
    // Built with STBI_FAILURE_USERMSG, stb calls any bad zlib data "Corrupt
    // PNG", output beyond the ISIZE-sized buffer included.
    const char* reason = stbi_failure_reason();
    throw Error(tinygan::detail::concat(
        name, ": truncated or corrupt gzip stream: the deflate data is invalid or decodes to more than the "
        "trailer's ISIZE of ", isize, " bytes (stb_image's inflate says: ", reason ? reason : "invalid block type", ")"));
  }
  check(decoded == isize, name, ": truncated or corrupt gzip stream: the deflate data decodes to ", decoded,
        " bytes, the trailer's ISIZE says ", isize);
  const std::uint32_t actual_crc = crc32(out);
  check(actual_crc == expected_crc, name, ": CRC32 mismatch: trailer says ", hex32(expected_crc),
        ", data gives ", hex32(actual_crc));
  return out;
}

}  // namespace tinygan::data
