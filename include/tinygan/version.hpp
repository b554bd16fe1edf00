/// \file
/// The library's version.
#pragma once

#define TINYGAN_VERSION_MAJOR 0
#define TINYGAN_VERSION_MINOR 1
#define TINYGAN_VERSION_PATCH 0
#define TINYGAN_VERSION_STRING "0.1.0"
