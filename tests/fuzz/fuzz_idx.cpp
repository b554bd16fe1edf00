// libFuzzer target: the IDX reader on arbitrary bytes, gzipped ones included
// (read_idx_bytes decodes what starts with gzip's magic), and the CIFAR-10
// record parser on the same bytes. Only tinygan::Error may come out;
// anything else escapes and libFuzzer reports it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tinygan/data/cifar.hpp"
#include "tinygan/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto array = tinygan::data::read_idx_bytes(bytes, "fuzz.idx");
    if (static_cast<std::size_t>(array.numel()) != array.data.size()) __builtin_trap();
  } catch (const tinygan::Error&) {
  }
  try {
    const auto set = tinygan::data::parse_cifar10(bytes, "fuzz.bin", tinygan::data::Scaling::zero_to_one);
    if (set.size() * tinygan::data::kCifarRecordBytes != static_cast<tinygan::Index>(size)) __builtin_trap();
    for (auto label : set.labels)
      if (label < 0 || label > 9) __builtin_trap();
  } catch (const tinygan::Error&) {
  }
  return 0;
}
