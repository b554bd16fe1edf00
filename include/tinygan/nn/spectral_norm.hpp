/// \file
/// Spectral normalization (Miyato et al., 2018) of a layer's weight, as
/// PyTorch's torch.nn.utils.spectral_norm does it: the layer trains
/// weight_orig, and uses weight_orig / sigma, where sigma, its largest
/// singular value, is estimated by one step of power iteration per training
/// forward pass with the vectors weight_u and weight_v kept as buffers. The
/// names are PyTorch's, so weights travel both ways.
#pragma once

#include <cmath>

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/rng.hpp"
#include "tinygan/ops/elementwise.hpp"

namespace tinygan::nn {

namespace detail {
/// v / max(|v|, 1e-12), PyTorch's F.normalize with its default eps.
template <class T>
void normalize(Tensor<T>& v) {
  const double norm = std::sqrt(v.array().template cast<double>().square().sum());
  v.array() /= static_cast<T>(std::max(norm, 1e-12));
}
}  // namespace detail

/// The state of one layer's spectral normalization. `dim` is the weight's
/// axis of output units: 0 for Dense and Conv2D, 1 for Conv2DTranspose (as
/// PyTorch's default); the weight is read as a matrix [that axis, the rest].
template <class T>
class SpectralNorm {
 public:
  SpectralNorm(const Shape& weight_shape, int dim, Var<T> u, Var<T> v)
      : shape_(weight_shape), dim_(dim), u_(std::move(u)), v_(std::move(v)) {}

  static Index rows_of(const Shape& weight, int dim) { return weight[dim]; }
  static Index columns_of(const Shape& weight, int dim) { return weight.numel() / weight[dim]; }

  /// Fresh u and v, each a normalized standard-normal draw, as PyTorch starts them.
  void initialize(Rng& rng) {
    for (Var<T>* vec : {&u_, &v_}) {
      vec->value() = Tensor<T>::randn(vec->shape(), rng);
      detail::normalize(vec->value());
    }
  }

  /// weight_orig / sigma; with `iterate`, u and v first take one step of
  /// power iteration (training). sigma = u^T W v is differentiated with u and
  /// v held fixed, as in PyTorch.
  Var<T> normalized(const Var<T>& weight_orig, bool iterate) {
    const Index rows = u_.numel(), columns = v_.numel();
    if (iterate) {
      // W^T u, then W v, on the weight read as [rows, columns].
      Tensor<T>& u = u_.value();
      Tensor<T>& v = v_.value();
      v.fill(T(0));
      for_each_entry(weight_orig.value(), [&](Index r, Index c, T w) { v[c] += w * u[r]; });
      detail::normalize(v);
      u.fill(T(0));
      for_each_entry(weight_orig.value(), [&](Index r, Index c, T w) { u[r] += w * v[c]; });
      detail::normalize(u);
    }
    // sigma = sum(W * u v^T), with u v^T laid out as the weight.
    Tensor<T> outer = Tensor<T>::uninitialized(shape_);
    Index at = 0;
    for_each_entry(outer, [&](Index r, Index c, T) { outer[at++] = u_.value()[r] * v_.value()[c]; });
    check(at == rows * columns, "spectral norm: internal layout mismatch");
    const Var<T> sigma = sum(mul(weight_orig, Var<T>(std::move(outer))));
    return mul(weight_orig, broadcast_to(reciprocal(sigma), shape_));
  }

 private:
  /// f(row, column, value) for every entry of a tensor of the weight's shape,
  /// in storage order; row is the index along dim_, column the rest's.
  template <class F>
  void for_each_entry(const Tensor<T>& w, F f) const {
    const Index outer = dim_ == 0 ? 1 : shape_[0];  // dim 1: the leading axis comes first in storage
    const Index rows = shape_[dim_], inner = shape_.numel() / (outer * rows);
    Index at = 0;
    for (Index o = 0; o < outer; ++o)
      for (Index r = 0; r < rows; ++r)
        for (Index i = 0; i < inner; ++i, ++at) f(r, o * inner + i, w[at]);
  }

  Shape shape_;
  int dim_;
  Var<T> u_, v_;
};

}  // namespace tinygan::nn
