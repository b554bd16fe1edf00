/// \file
/// stb_image (PNG, JPEG, BMP, ...; and its inflate, for gzip) and
/// stb_image_resize, compiled into each translation unit that includes this
/// header as static functions: a header-only library has no .cpp to hold one
/// shared copy. Decoding is from memory only (STBI_NO_STDIO): tinygan reads
/// the files itself, so that its errors name them.
///
/// Formats: PNG, JPEG and BMP, each fuzzed through data/image_decode.hpp
/// (tests/fuzz/fuzz_image.cpp) against the stb_image 2.27 that Debian 12
/// ships. What it found: JPEG Huffman tables of more than 256 codes overflow
/// an array in 2.27 (2.28 refuses them), and a PNG chunk's declared length
/// is allocated before it is read (gigabytes for a few bytes), so
/// image_decode.hpp refuses both before stb sees the file; a PNG whose first
/// IDAT chunk is empty makes 2.27 copy 0 bytes to a null pointer, and a
/// corrupt JPEG scan that runs out of bits makes its bit reader shift by 32
/// or more (2.28 stops there): both touch no memory and only give a corrupt
/// file wrong pixels, so they (and int overflow) are exempted below from
/// UndefinedBehaviorSanitizer; and a JPEG scan that
/// names a Huffman table never defined makes 2.27 read its uninitialized
/// memory (an assertion fails, or worse without asserts), so stb's
/// allocations are zeroed here (2.28 zeroes that decoder state itself). GIF, TGA,
/// PNM, PSD, PIC and HDR stay out: not fuzzed here, and not wanted (GIF is
/// animated; TGA has no signature, so any corrupt file could be taken for one
/// and reported as a broken TGA).
#pragma once

#ifndef TINYGAN_STB_IMAGE_INCLUDED
#define TINYGAN_STB_IMAGE_INCLUDED
#include <cstdlib>
#if defined(STBI_INCLUDE_STB_IMAGE_H) || defined(STBIR_INCLUDE_STB_IMAGE_RESIZE_H)
#error "tinygan/data/stb_image.hpp compiles its own static stb_image: include it before <stb/stb_image.h>"
#endif
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG  // stbi_failure_reason() says what is wrong in words
// Zeroed: an undefined Huffman table then decodes as zeros (see above).
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(pointer, size) std::realloc(pointer, size)
#define STBI_FREE(pointer) std::free(pointer)
// Formats decoded: see the \file comment.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
/// A side longer than this is refused before its pixels are allocated.
#define STBI_MAX_DIMENSIONS (1 << 14)
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include "tinygan/core/third_party_begin.hpp"
#ifdef __clang__
// UndefinedBehaviorSanitizer checks stb's code except for three faults of
// 2.27 on corrupt files that touch no memory (see the \file comment): 0 bytes
// copied to a null pointer, shifts of 32 bits or more when a JPEG scan runs
// out of bits, and int overflow in its arithmetic. AddressSanitizer still
// checks every access.
#pragma clang attribute push(__attribute__((no_sanitize("nonnull-attribute", "shift", "signed-integer-overflow"))), apply_to = function)
#endif
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#ifdef __clang__
#pragma clang attribute pop
#endif
#include "tinygan/core/third_party_end.hpp"
#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_STATIC
#undef STB_IMAGE_RESIZE_IMPLEMENTATION
#undef STB_IMAGE_RESIZE_STATIC
#endif
