// libFuzzer target: the .npy reader on arbitrary bytes. Only tinygan::Error
// may come out.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tinygan/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto t = tinygan::io::load_npy_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
    if (t.numel() != t.shape().numel()) __builtin_trap();
  } catch (const tinygan::Error&) {
  }
  return 0;
}
