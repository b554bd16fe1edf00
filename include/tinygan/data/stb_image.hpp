/// \file
/// stb_image (PNG, JPEG, BMP, ...; and its inflate, for gzip) and
/// stb_image_resize, compiled into each translation unit that includes this
/// header as static functions: a header-only library has no .cpp to hold one
/// shared copy. Decoding is from memory only (STBI_NO_STDIO): tinygan reads
/// the files itself, so that its errors name them.
#pragma once

#ifndef TINYGAN_STB_IMAGE_INCLUDED
#define TINYGAN_STB_IMAGE_INCLUDED
#if defined(STBI_INCLUDE_STB_IMAGE_H) || defined(STBIR_INCLUDE_STB_IMAGE_RESIZE_H)
#error "tinygan/data/stb_image.hpp compiles its own static stb_image: include it before <stb/stb_image.h>"
#endif
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG  // stbi_failure_reason() says what is wrong in words
// Formats decoded; see data/image_folder.hpp for why the others are left out.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
/// A side longer than this is refused before its pixels are allocated.
#define STBI_MAX_DIMENSIONS (1 << 14)
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wzero-as-null-pointer-constant"
#pragma GCC diagnostic ignored "-Wshadow"
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#pragma GCC diagnostic pop
#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_STATIC
#undef STB_IMAGE_RESIZE_IMPLEMENTATION
#undef STB_IMAGE_RESIZE_STATIC
#endif
