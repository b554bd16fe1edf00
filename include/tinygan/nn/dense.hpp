/// \file
/// Dense (PyTorch's Linear): y = x W^T + b, W [out, in].
#pragma once

#include "tinygan/nn/options.hpp"
#include "tinygan/nn/weighted.hpp"
#include "tinygan/ops/linear.hpp"

namespace tinygan::nn {

struct DenseOptions {
  DenseOptions(Index in_features, Index out_features) : in_features_(in_features), out_features_(out_features) {}
  TINYGAN_ARG(Index, in_features, 0)
  TINYGAN_ARG(Index, out_features, 0)
  TINYGAN_ARG(bool, bias, true)
  TINYGAN_ARG(bool, spectral_norm, false)  // weight_orig / its largest singular value (nn/spectral_norm.hpp)
};

template <class T>
class Dense : public Weighted<T> {
 public:
  explicit Dense(const DenseOptions& options) : options_(options) {
    check(options.in_features() > 0 && options.out_features() > 0,
          "Dense: expected positive feature counts, found ", options.in_features(), " -> ",
          options.out_features());
    this->create_parameters(Shape{options.out_features(), options.in_features()},
                            options.out_features(), options.bias(), options.spectral_norm() ? 0 : -1);
  }
  Dense(Index in_features, Index out_features) : Dense(DenseOptions(in_features, out_features)) {}

  Var<T> forward(const Var<T>& x) override {
    check(x.shape().rank() == 2 && x.shape()[1] == options_.in_features(), "Dense(",
          options_.in_features(), " -> ", options_.out_features(), "): expected input [N, ",
          options_.in_features(), "], found ", x.shape());
    return linear(x, this->effective_weight(), this->bias_);
  }
  std::string type_name() const override { return "Dense"; }

  const DenseOptions& options() const { return options_; }

 private:
  DenseOptions options_;
};

}  // namespace tinygan::nn
