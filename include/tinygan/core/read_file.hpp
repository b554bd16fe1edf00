/// \file
/// Opening a file for reading with the checks every reader needs first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "tinygan/core/error.hpp"

namespace tinygan {

/// Opens path (a regular file) and reports its size; an Error names the path
/// and what is wrong otherwise (missing, a folder, unreadable).
inline std::ifstream open_for_reading(const std::string& path, std::uint64_t& size) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), path, ": cannot open for reading (",
        std::filesystem::exists(path, ec) ? "not a regular file" : "no such file", ")");
  std::ifstream in(path, std::ios::binary);
  check(in.good(), path, ": cannot open for reading");
  in.seekg(0, std::ios::end);
  size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  return in;
}

inline std::string read_whole_file(const std::string& path) {
  std::uint64_t size = 0;
  std::ifstream in = open_for_reading(path, size);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  check(static_cast<std::uint64_t>(in.gcount()) == size, path, ": read ", in.gcount(), " of ", size, " bytes");
  return bytes;
}

}  // namespace tinygan
