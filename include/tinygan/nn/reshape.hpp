/// \file
/// Reshape (to per-sample dimensions, keeping the batch) and Flatten.
#pragma once

#include "tinygan/nn/module.hpp"
#include "tinygan/ops/reshape.hpp"

namespace tinygan::nn {

template <class T>
class Reshape : public Module<T> {
 public:
  /// sample_shape excludes the batch: Reshape({256, 7, 7}) maps [N, 12544] to [N, 256, 7, 7].
  explicit Reshape(std::initializer_list<Index> sample_shape) : sample_shape_(sample_shape) {}
  Var<T> forward(const Var<T>& x) override {
    check(x.shape().rank() >= 1, "Reshape: expected a batch dimension, found a scalar");
    Shape target{x.shape()[0]};
    for (int i = 0; i < sample_shape_.rank(); ++i) target.push_back(sample_shape_[i]);
    check(x.shape().per_sample() == sample_shape_.numel(), "Reshape: cannot reshape ", x.shape(),
          " to [N] + ", sample_shape_, ": ", x.shape().per_sample(), " values per sample, expected ",
          sample_shape_.numel());
    return reshape(x, target);
  }
  std::string type_name() const override { return "Reshape"; }

 private:
  Shape sample_shape_;
};

template <class T>
class Flatten : public Module<T> {
 public:
  Var<T> forward(const Var<T>& x) override { return flatten(x); }
  std::string type_name() const override { return "Flatten"; }
};

}  // namespace tinygan::nn
