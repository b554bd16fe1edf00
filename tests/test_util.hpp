// Small helpers shared by the unit tests: files in the temp folder, and the
// message of the Error a call throws.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tinygan/core/error.hpp"
#include "tinygan/data/stb_image.hpp"

namespace tinygan::testing {

#ifdef TINYGAN_FIXTURE_DIR
// The committed MNIST fixture: 300 training and 100 test images.
inline const std::string kFixture = std::string(TINYGAN_FIXTURE_DIR) + "/mnist";
#endif

// A path in the temp folder of this process alone: ctest runs test cases as
// parallel processes, and two of them must never share a file.
inline std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("tinygan_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// stb_image's stbi_load for a file: tinygan's static copy decodes from memory
// only (STBI_NO_STDIO).
inline unsigned char* load_picture(const std::string& path, int* width, int* height, int* channels) {
  const std::string bytes = read_bytes(path);
  return stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()),
                               width, height, channels, 0);
}

// The message of the tinygan::Error that f throws, or "" if it throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace tinygan::testing
