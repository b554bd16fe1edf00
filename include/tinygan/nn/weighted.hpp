/// \file
/// The part Dense, Conv2D and Conv2DTranspose share: a weight, an optional
/// bias, PyTorch's default initialization of both, and optionally spectral
/// normalization of the weight (nn/spectral_norm.hpp).
#pragma once

#include <optional>

#include "tinygan/nn/init.hpp"
#include "tinygan/nn/module.hpp"
#include "tinygan/nn/spectral_norm.hpp"

namespace tinygan::nn {

template <class T>
class Weighted : public Module<T> {
 public:
  void initialize(Rng& rng) override {
    const double bound = init::default_bound(weight_.value());
    init::uniform(weight_.value(), rng, -bound, bound);
    if (bias_.defined()) init::uniform(bias_.value(), rng, -bound, bound);
    if (spectral_norm_) spectral_norm_->initialize(rng);
  }

  /// The trained weight: with spectral normalization, weight_orig.
  Var<T>& weight() { return weight_; }
  bool spectrally_normalized() const { return spectral_norm_.has_value(); }
  Var<T>& bias() { return bias_; }  // undefined when the layer has no bias

 protected:
  /// Registers the parameters and draws them from a construction seed; call
  /// Module::initialize with the run's Rng for a reproducible model.
  /// spectral_norm_dim >= 0 normalizes the weight spectrally along that axis.
  void create_parameters(const Shape& weight_shape, Index bias_size, bool with_bias, int spectral_norm_dim = -1) {
    if (spectral_norm_dim < 0) {
      weight_ = this->register_parameter("weight", Tensor<T>(weight_shape));
    } else {
      using SN = SpectralNorm<T>;
      weight_ = this->register_parameter("weight_orig", Tensor<T>(weight_shape));
      Var<T> u = this->register_buffer("weight_u", Tensor<T>(Shape{SN::rows_of(weight_shape, spectral_norm_dim)}));
      Var<T> v = this->register_buffer("weight_v", Tensor<T>(Shape{SN::columns_of(weight_shape, spectral_norm_dim)}));
      spectral_norm_.emplace(weight_shape, spectral_norm_dim, std::move(u), std::move(v));
    }
    if (with_bias) bias_ = this->register_parameter("bias", Tensor<T>(Shape{bias_size}));
    Rng rng(init::next_construction_seed());
    initialize(rng);
  }

  /// The weight the layer computes with: weight_, or weight_orig / sigma, whose
  /// power iteration runs in training (and not in a frozen module's pass,
  /// which changes nothing of it).
  Var<T> effective_weight() {
    return spectral_norm_ ? spectral_norm_->normalized(weight_, this->is_training() && this->trainable()) : weight_;
  }

  Var<T> weight_, bias_;
  std::optional<SpectralNorm<T>> spectral_norm_;
};

}  // namespace tinygan::nn
