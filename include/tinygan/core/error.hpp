/// \file
/// tinygan::Error and the checks that raise it.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace tinygan {

/// Every misuse and every bad input raises this (or a subclass), with a message
/// that names where it happened, what was expected and what was found.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}
}  // namespace detail

/// check(cond, "conv2d: expected ", a, ", found ", b) throws Error when cond is false.
/// The message parts are only formatted on failure.
template <class... Parts>
inline void check(bool condition, Parts&&... parts) {
  if (!condition) throw Error(detail::concat(std::forward<Parts>(parts)...));
}

}  // namespace tinygan
