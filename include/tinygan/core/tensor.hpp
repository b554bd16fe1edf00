/// \file
/// Tensor<T>: a contiguous, SIMD-aligned array of up to four dimensions (NCHW),
/// with Eigen views of its memory that copy nothing. Its memory comes from the
/// caching pool (core/memory.hpp), so buffers freed by one training step are
/// reused by the next.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <initializer_list>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/memory.hpp"
#include "tinygan/core/rng.hpp"
#include "tinygan/core/shape.hpp"
#include "tinygan/core/threads.hpp"

namespace tinygan {

template <class T>
class Tensor {
 public:
  using Scalar = T;
  using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using MatrixMap = Eigen::Map<RowMatrix>;
  using ConstMatrixMap = Eigen::Map<const RowMatrix>;
  using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
  using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

  Tensor() = default;
  explicit Tensor(const Shape& shape, T value = T(0))
      : shape_(shape), data_(static_cast<std::size_t>(shape.numel()), value) {}

  static Tensor zeros(const Shape& shape) { return Tensor(shape); }
  /// For results that are written in full before they are read: skips the fill.
  static Tensor uninitialized(const Shape& shape) {
    Tensor t;
    t.resize(shape);
    return t;
  }
  static Tensor full(const Shape& shape, T value) { return Tensor(shape, value); }
  static Tensor from(const Shape& shape, std::initializer_list<T> values) {
    return from(shape, std::vector<T>(values));
  }
  template <class Range>
  static Tensor from(const Shape& shape, const Range& values) {
    const auto n = static_cast<Index>(std::size(values));
    check(n == shape.numel(), "Tensor::from: shape ", shape, " needs ", shape.numel(),
          " values, found ", n);
    Tensor t(shape);
    std::copy(std::begin(values), std::end(values), t.data());
    return t;
  }
  static Tensor randn(const Shape& shape, Rng& rng, double mean = 0, double stddev = 1) {
    Tensor t = uninitialized(shape);
    for (auto& v : t.data_) v = static_cast<T>(rng.normal(mean, stddev));
    return t;
  }
  static Tensor rand(const Shape& shape, Rng& rng, double lo = 0, double hi = 1) {
    Tensor t = uninitialized(shape);
    for (auto& v : t.data_) v = static_cast<T>(rng.uniform(lo, hi));
    return t;
  }

  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  Index dim(int i) const { return shape_[i]; }
  Index numel() const { return static_cast<Index>(data_.size()); }
  bool empty() const { return data_.empty(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T* begin() { return data(); }
  T* end() { return data() + numel(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + numel(); }

  T& operator[](Index i) { return data_[static_cast<std::size_t>(i)]; }
  T operator[](Index i) const { return data_[static_cast<std::size_t>(i)]; }

  /// Element access by NCHW indices; the count of indices must equal the rank.
  template <class... I>
  T& operator()(I... idx) { return data_[offset({static_cast<Index>(idx)...})]; }
  template <class... I>
  T operator()(I... idx) const { return data_[offset({static_cast<Index>(idx)...})]; }

  Tensor& fill(T value) {
    for_each_share(numel(), [&](Index b, Index n) { array(b, n).setConstant(value); });
    return *this;
  }

  /// Same memory, new dimensions (the element count must not change).
  Tensor& reshape(const Shape& shape) {
    check(shape.numel() == numel(), "reshape: cannot view ", numel(), " elements ", shape_,
          " as ", shape, " (", shape.numel(), " elements)");
    shape_ = shape;
    return *this;
  }
  Tensor reshaped(const Shape& shape) const {
    Tensor t = *this;
    return std::move(t.reshape(shape));
  }

  /// Resizes to shape, reusing the allocation when it is large enough. Contents are unspecified.
  void resize(const Shape& shape) {
    shape_ = shape;
    data_.resize(static_cast<std::size_t>(shape.numel()));
  }

  /// Row-major matrix views: rows x cols must equal numel. matrix() is
  /// [batch, features] for rank >= 1.
  MatrixMap matrix(Index rows, Index cols) {
    check_matrix(rows, cols);
    return MatrixMap(data(), rows, cols);
  }
  ConstMatrixMap matrix(Index rows, Index cols) const {
    check_matrix(rows, cols);
    return ConstMatrixMap(data(), rows, cols);
  }
  MatrixMap matrix() { return matrix(leading(), shape_.per_sample()); }
  ConstMatrixMap matrix() const { return matrix(leading(), shape_.per_sample()); }
  ArrayMap array() { return ArrayMap(data(), numel()); }
  ConstArrayMap array() const { return ConstArrayMap(data(), numel()); }
  /// Elements [begin, begin + length): one thread's share of an element-wise loop.
  ArrayMap array(Index begin, Index length) { return ArrayMap(data() + begin, length); }
  ConstArrayMap array(Index begin, Index length) const { return ConstArrayMap(data() + begin, length); }

  template <class U>
  Tensor<U> cast() const {
    Tensor<U> t(shape_);
    std::transform(begin(), end(), t.data(), [](T v) { return static_cast<U>(v); });
    return t;
  }

 private:
  using Storage = memory::PooledVector<T>;

  Index leading() const { return rank() == 0 ? 1 : dim(0); }

  void check_matrix(Index rows, Index cols) const {
    check(rows * cols == numel(), "Tensor::matrix: cannot view ", shape_, " as ", rows, "x",
          cols);
  }

  std::size_t offset(std::initializer_list<Index> idx) const {
    check(static_cast<int>(idx.size()) == rank(), "Tensor: ", idx.size(),
          " indices given for a tensor of shape ", shape_);
    Index flat = 0;
    int axis = 0;
    for (Index i : idx) {
      check(i >= 0 && i < shape_[axis], "Tensor: index ", i, " out of range for axis ", axis,
            " of shape ", shape_);
      flat = flat * shape_[axis] + i;
      ++axis;
    }
    return static_cast<std::size_t>(flat);
  }

  Shape shape_;
  Storage data_;
};

}  // namespace tinygan
