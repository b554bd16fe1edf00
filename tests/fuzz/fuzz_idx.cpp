// libFuzzer target: the IDX reader on arbitrary bytes. Only tinygan::Error
// may come out; anything else escapes and libFuzzer reports it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tinygan/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto array = tinygan::data::read_idx_bytes(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.idx");
    if (static_cast<std::size_t>(array.numel()) != array.data.size()) __builtin_trap();
  } catch (const tinygan::Error&) {
  }
  return 0;
}
