/// \file
/// Shape: the dimensions of a tensor, rank 0 to 4 (NCHW order).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>

#include "tinygan/core/error.hpp"

namespace tinygan {

using Index = std::int64_t;

class Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;
  Shape(std::initializer_list<Index> dims) {
    check(dims.size() <= kMaxRank, "Shape: expected at most ", kMaxRank, " dimensions, found ",
          dims.size());
    for (Index d : dims) push_back(d);
  }

  int rank() const { return rank_; }
  Index operator[](int i) const { return dims_[static_cast<std::size_t>(i)]; }
  Index& operator[](int i) { return dims_[static_cast<std::size_t>(i)]; }

  Index numel() const {
    Index n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }

  void push_back(Index d) {
    check(rank_ < kMaxRank, "Shape: cannot exceed ", kMaxRank, " dimensions");
    check(d >= 0, "Shape: dimensions must be non-negative, found ", d);
    dims_[static_cast<std::size_t>(rank_++)] = d;
  }

  /// The shape without its first (batch) dimension.
  Shape tail() const {
    Shape s;
    for (int i = 1; i < rank_; ++i) s.push_back((*this)[i]);
    return s;
  }

  /// n samples of this shape: [n, dims...].
  Shape batch_of(Index n) const {
    Shape s{n};
    for (int i = 0; i < rank_; ++i) s.push_back((*this)[i]);
    return s;
  }

  /// The product of all dimensions after the first: features per sample.
  Index per_sample() const {
    Index n = 1;
    for (int i = 1; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  std::string str() const {
    std::ostringstream out;
    out << '[';
    for (int i = 0; i < rank_; ++i) out << (i ? ", " : "") << (*this)[i];
    out << ']';
    return out.str();
  }
  friend std::ostream& operator<<(std::ostream& out, const Shape& s) { return out << s.str(); }

 private:
  std::array<Index, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace tinygan
