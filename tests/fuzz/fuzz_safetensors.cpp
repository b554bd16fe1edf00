// libFuzzer target: the safetensors reader on arbitrary bytes, as float and
// as double. Only tinygan::Error may come out.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tinygan/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto file = tinygan::io::load_safetensors_bytes<float>(bytes, "fuzz.safetensors");
    for (const auto& [name, t] : file.tensors)
      if (t.numel() != t.shape().numel()) __builtin_trap();
  } catch (const tinygan::Error&) {
  }
  try {
    tinygan::io::load_safetensors_bytes<double>(bytes, "fuzz.safetensors");
  } catch (const tinygan::Error&) {
  }
  return 0;
}
