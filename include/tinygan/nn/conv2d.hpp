/// \file
/// Conv2D: PyTorch's Conv2d with square kernels, weight [out, in, k, k].
#pragma once

#include "tinygan/nn/options.hpp"
#include "tinygan/nn/weighted.hpp"
#include "tinygan/ops/conv2d.hpp"

namespace tinygan::nn {

struct Conv2DOptions {
  Conv2DOptions(Index in_channels, Index out_channels, Index kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TINYGAN_ARG(Index, in_channels, 0)
  TINYGAN_ARG(Index, out_channels, 0)
  TINYGAN_ARG(Index, kernel_size, 0)
  TINYGAN_ARG(Index, stride, 1)
  TINYGAN_ARG(Index, padding, 0)  // symmetric; k5 "same" is padding 2
  TINYGAN_ARG(bool, bias, true)
  TINYGAN_ARG(bool, spectral_norm, false)  // weight_orig / its largest singular value (nn/spectral_norm.hpp)
};

template <class T>
class Conv2D : public Weighted<T> {
 public:
  explicit Conv2D(const Conv2DOptions& o) : options_(o) {
    check(o.in_channels() > 0 && o.out_channels() > 0 && o.kernel_size() > 0,
          "Conv2D: expected positive channels and kernel size, found ", o.in_channels(), " -> ",
          o.out_channels(), ", kernel ", o.kernel_size());
    this->create_parameters(Shape{o.out_channels(), o.in_channels(), o.kernel_size(), o.kernel_size()},
                            o.out_channels(), o.bias(), o.spectral_norm() ? 0 : -1);
  }

  Var<T> forward(const Var<T>& x) override {
    return conv2d(x, this->effective_weight(), this->bias_, options_.stride(), options_.padding());
  }
  std::string type_name() const override { return "Conv2D"; }

  const Conv2DOptions& options() const { return options_; }

 private:
  Conv2DOptions options_;
};

}  // namespace tinygan::nn
