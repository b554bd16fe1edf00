/// \file
/// Command-line values: each parser names the program, the flag, what it
/// expects and what it found, in one UsageError (the programs exit with 2).
#pragma once

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tinygan/core/error.hpp"

namespace tinygan::gan {

/// A bad command line: the programs print what() and exit with code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

namespace detail {
inline std::int64_t parse_count(const std::string& program, const std::string& flag,
                                const std::string& text, std::int64_t lo, std::int64_t hi) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError(program + ": " + flag + " expects a whole number, found '" + text + "'");
  if (v < lo || v > hi)
    throw UsageError(program + ": " + flag + " expects a number from " + std::to_string(lo) +
                     " to " + std::to_string(hi) + ", found " + text);
  return v;
}

inline double parse_real(const std::string& program, const std::string& flag,
                         const std::string& text, double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !(v == v))
    throw UsageError(program + ": " + flag + " expects a number, found '" + text + "'");
  if (!(v > lo && v <= hi)) {
    std::ostringstream msg;
    msg << program << ": " << flag << " expects a number above " << lo << " and at most " << hi
        << ", found " << text;
    throw UsageError(msg.str());
  }
  return v;
}

/// A number in [0, hi), where 0 turns a switch off: label smoothing, EMA decay, R1 weight.
inline double parse_fraction(const std::string& program, const std::string& flag, const std::string& text,
                             double hi) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !(v == v))
    throw UsageError(program + ": " + flag + " expects a number, found '" + text + "'");
  if (!(v >= 0 && v < hi)) {
    std::ostringstream msg;
    msg << program << ": " << flag << " expects a number from 0 to below " << hi << ", found " << text;
    throw UsageError(msg.str());
  }
  return v;
}

inline std::string existing_file(const std::string& program, const std::string& flag,
                                 const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw UsageError(program + ": " + flag + " names '" + path + "', which is not a readable file");
  return path;
}

/// One of a list of words.
inline std::string parse_choice(const std::string& program, const std::string& flag, const std::string& text,
                                const std::vector<std::string>& choices) {
  std::string list;
  for (const auto& c : choices) {
    if (c == text) return text;
    list += (list.empty() ? "" : ", ") + c;
  }
  throw UsageError(program + ": " + flag + " expects one of " + list + ", found '" + text + "'");
}

/// A colour as six hex digits, RRGGBB (a leading # allowed).
inline std::array<std::uint8_t, 3> parse_colour(const std::string& program, const std::string& flag,
                                                const std::string& text) {
  const std::string hex = !text.empty() && text[0] == '#' ? text.substr(1) : text;
  const bool six_digits = hex.size() == 6 && hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
  if (!six_digits)
    throw UsageError(program + ": " + flag + " expects a colour as RRGGBB in hex (ffffff is white), found '" + text +
                     "'");
  std::array<std::uint8_t, 3> rgb{};
  for (std::size_t i = 0; i < 3; ++i)
    rgb[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return rgb;
}
/// Walks a command line flag by flag: next() moves to the next argument,
/// value() takes the one after it as the flag's value, refusing a missing one.
class Arguments {
 public:
  Arguments(std::string program, int argc, const char* const* argv)
      : program_(std::move(program)), args_(argv + 1, argv + argc) {}

  bool next() {
    if (position_ >= args_.size()) return false;
    flag_ = args_[position_++];
    return true;
  }
  const std::string& flag() const { return flag_; }
  /// Whether a value follows the flag (for a flag whose value may be left out).
  bool has_value() const { return position_ < args_.size() && args_[position_].rfind("--", 0) != 0; }
  std::string value() {
    if (position_ >= args_.size() || args_[position_].rfind("--", 0) == 0)
      throw UsageError(program_ + ": " + flag_ + " needs a value");
    return args_[position_++];
  }

 private:
  std::string program_, flag_;
  std::vector<std::string> args_;
  std::size_t position_ = 0;
};
}  // namespace detail

}  // namespace tinygan::gan
