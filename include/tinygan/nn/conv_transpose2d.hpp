/// \file
/// Conv2DTranspose: PyTorch's ConvTranspose2d with square kernels, weight [in, out, k, k].
#pragma once

#include "tinygan/nn/options.hpp"
#include "tinygan/nn/weighted.hpp"
#include "tinygan/ops/conv_transpose2d.hpp"

namespace tinygan::nn {

struct Conv2DTransposeOptions {
  Conv2DTransposeOptions(Index in_channels, Index out_channels, Index kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TINYGAN_ARG(Index, in_channels, 0)
  TINYGAN_ARG(Index, out_channels, 0)
  TINYGAN_ARG(Index, kernel_size, 0)
  TINYGAN_ARG(Index, stride, 1)
  TINYGAN_ARG(Index, padding, 0)
  /// Extra rows/columns on the bottom/right: with k5, padding 2, stride 2 and
  /// output_padding 1 the output is exactly twice the input ("same").
  TINYGAN_ARG(Index, output_padding, 0)
  TINYGAN_ARG(bool, bias, true)
  TINYGAN_ARG(bool, spectral_norm, false)  // weight_orig / its largest singular value (nn/spectral_norm.hpp)
};

template <class T>
class Conv2DTranspose : public Weighted<T> {
 public:
  explicit Conv2DTranspose(const Conv2DTransposeOptions& o) : options_(o) {
    check(o.in_channels() > 0 && o.out_channels() > 0 && o.kernel_size() > 0,
          "Conv2DTranspose: expected positive channels and kernel size, found ", o.in_channels(),
          " -> ", o.out_channels(), ", kernel ", o.kernel_size());
    this->create_parameters(Shape{o.in_channels(), o.out_channels(), o.kernel_size(), o.kernel_size()},
                            o.out_channels(), o.bias(), o.spectral_norm() ? 1 : -1);
  }

  Var<T> forward(const Var<T>& x) override {
    return conv_transpose2d(x, this->effective_weight(), this->bias_, options_.stride(), options_.padding(),
                            options_.output_padding());
  }
  std::string type_name() const override { return "Conv2DTranspose"; }

  const Conv2DTransposeOptions& options() const { return options_; }

 private:
  Conv2DTransposeOptions options_;
};

}  // namespace tinygan::nn
