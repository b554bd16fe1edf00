// libFuzzer target: a picture's bytes through the decode, composite and
// resize path of data/image_decode.hpp. The first byte picks the options
// (grey or RGB; a 16x16 square, a 5x5 one, or the picture's own size), the
// rest is the file. Only tinygan::Error may come out.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tinygan/data/image_decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  tinygan::data::PictureOptions options;
  options.channels = data[0] & 1 ? 1 : 3;
  const int sizes[4] = {16, 5, 0, 16};
  options.size = sizes[(data[0] >> 1) & 3];
  options.background = {static_cast<std::uint8_t>(data[0]), 0, 255};
  // 4 megapixels, not the default 32: a 58-byte BMP may claim 14 million
  // pixels (stb fills what is missing), and decoding and resizing so many
  // takes seconds under the sanitizers: slow, not wrong. The cap's check runs
  // all the same.
  options.max_pixels = std::int64_t{1} << 22;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const auto picture = tinygan::data::decode_picture(bytes, "fuzz", options);
    const auto expected = static_cast<std::size_t>(picture.width) *
                          static_cast<std::size_t>(picture.height) *
                          static_cast<std::size_t>(picture.channels);
    if (picture.channels != options.channels || picture.pixels.size() != expected ||
        (options.size > 0 && (picture.width != options.size || picture.height != options.size)))
      __builtin_trap();
    if (expected <= (1u << 16)) {  // the float conversion too, where it is cheap
      std::vector<float> chw(expected);
      tinygan::data::picture_to_chw(picture, tinygan::data::Scaling::minus_one_to_one, chw.data());
    }
  } catch (const tinygan::Error&) {
  }
  return 0;
}
