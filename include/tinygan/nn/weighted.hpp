/// \file
/// The part Dense, Conv2D and Conv2DTranspose share: a weight, an optional
/// bias, and PyTorch's default initialization of both.
#pragma once

#include "tinygan/nn/init.hpp"
#include "tinygan/nn/module.hpp"

namespace tinygan::nn {

template <class T>
class Weighted : public Module<T> {
 public:
  void initialize(Rng& rng) override {
    const double bound = init::default_bound(weight_.value());
    init::uniform(weight_.value(), rng, -bound, bound);
    if (bias_.defined()) init::uniform(bias_.value(), rng, -bound, bound);
  }

  Var<T>& weight() { return weight_; }
  Var<T>& bias() { return bias_; }  // undefined when the layer has no bias

 protected:
  /// Registers the parameters and draws them from a construction seed; call
  /// Module::initialize with the run's Rng for a reproducible model.
  void create_parameters(const Shape& weight_shape, Index bias_size, bool with_bias) {
    weight_ = this->register_parameter("weight", Tensor<T>(weight_shape));
    if (with_bias) bias_ = this->register_parameter("bias", Tensor<T>(Shape{bias_size}));
    Rng rng(init::next_construction_seed());
    initialize(rng);
  }

  Var<T> weight_, bias_;
};

}  // namespace tinygan::nn
