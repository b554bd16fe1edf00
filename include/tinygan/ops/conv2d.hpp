/// \file
/// conv2d: cross-correlation of x [N, C, H, W] with weight [OC, C, kh, kw]
/// (PyTorch's layout), symmetric zero padding, optional bias [OC].
#pragma once

#include "tinygan/autograd/var.hpp"
#include "tinygan/ops/channels.hpp"
#include "tinygan/ops/sample_conv.hpp"
#include "tinygan/ops/tap_conv.hpp"

namespace tinygan {

namespace detail {
template <class T>
void check_conv_args(const char* op, const Var<T>& x, const Var<T>& weight, Index x_channels_dim,
                     Index stride, Index padding) {
  check(x.shape().rank() == 4, op, ": expected input [N, C, H, W], found ", x.shape());
  check(weight.shape().rank() == 4, op, ": expected a 4-d weight, found ", weight.shape());
  check(weight.shape()[x_channels_dim] == x.shape()[1], op, ": weight ", weight.shape(),
        " expects ", weight.shape()[x_channels_dim], " input channels, input ", x.shape(),
        " has ", x.shape()[1]);
  check(stride >= 1 && padding >= 0, op, ": expected stride >= 1 and padding >= 0, found stride ",
        stride, ", padding ", padding);
}

/// conv2d's backward as a graph: its two gradient ops (conv2d_grads.hpp) and a channel sum.
template <class T>
struct Conv2dGraphRule {
  Index stride, padding;
  void operator()(GradGraph<T>& g) const {
    const Shape& w = g.input_value(1).shape();
    if (g.needs(0)) g.add(0, conv2d_input_grad(g.grad(), g.input(1), g.input_value(0).shape(), stride, padding));
    if (g.needs(1)) g.add(1, conv2d_weight_grad(g.input(0), g.grad(), w[2], w[3], stride, padding));
    if (g.needs(2)) g.add(2, sum_channels(g.grad()));
  }
};

/// conv2d through tap_conv.hpp's per-tap products (enough channels on both sides).
template <class T>
Var<T> conv2d_by_taps(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const TapGeometry& t) {
  const ConvGeometry& g = t.conv;
  Tensor<T> input = Tensor<T>::uninitialized(Shape{t.input().size()});
  to_pixels(x.value().data(), t.input(), input.data());
  Tensor<T> taps = Tensor<T>::uninitialized(Shape{t.taps() * g.channels * t.out_channels});
  pack_taps(weight.value().data(), t, taps.data());
  Tensor<T> pixels = Tensor<T>::uninitialized(Shape{t.output().size()});
  tap_conv_forward(input.data(), taps.data(), t, pixels.data());
  Tensor<T> out = Tensor<T>::uninitialized(Shape{g.batch, t.out_channels, g.out_h, g.out_w});
  from_pixels(pixels.data(), t.output(), out.data(), false);
  if (bias.defined())
    add_channel_bias(out.data(), bias.value().data(), g.batch, t.out_channels, g.out_plane());

  auto first_order = [t, input = std::move(input), taps = std::move(taps)](Node<T>& self) {
    const ConvGeometry& g = t.conv;
    Tensor<T> dy = Tensor<T>::uninitialized(Shape{t.output().size()});
    to_pixels(self.grad.data(), t.output(), dy.data());
    if (auto* gw = self.input_grad(1)) {
      Tensor<T> dtaps = Tensor<T>::uninitialized(Shape{t.groups * taps.numel()});
      tap_conv_weight_grad(input.data(), dy.data(), t, dtaps.data(), dtaps.data() + taps.numel());
      unpack_taps_add(dtaps.data(), t, gw->data());
    }
    if (auto* gb = self.input_grad(2))
      add_channel_sums(self.grad.data(), g.batch, t.out_channels, g.out_plane(), gb->data());
    if (auto* gx = self.input_grad(0)) {
      Tensor<T> dx = Tensor<T>::uninitialized(Shape{t.input().size()});
      tap_conv_input_grad(dy.data(), taps.data(), t, dx.data());
      from_pixels(dx.data(), t.input(), gx->data(), true);
    }
  };
  return make_result<T>(std::move(out), "conv2d", {x, weight, bias},
                        BackwardRules{std::move(first_order), Conv2dGraphRule<T>{g.stride, g.padding}});
}
}  // namespace detail

template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias = {}, Index stride = 1,
              Index padding = 0) {
  detail::check_conv_args("conv2d", x, weight, 1, stride, padding);
  const Shape& xs = x.shape();
  const Index out_channels = weight.shape()[0];
  const auto g = ConvGeometry::of(xs[0], xs[1], xs[2], xs[3], weight.shape()[2],
                                  weight.shape()[3], stride, padding);
  check(g.fits(), "conv2d: kernel ", weight.shape()[2], "x",
        weight.shape()[3], " with padding ", padding, " does not fit input ", xs);
  check(!bias.defined() || bias.shape() == Shape{out_channels}, "conv2d: expected bias [",
        out_channels, "], found ", bias.defined() ? bias.shape() : Shape{});

  const TapGeometry t = TapGeometry::of(g, out_channels);
  if (t.worthwhile()) return detail::conv2d_by_taps(x, weight, bias, t);

  Tensor<T> out = Tensor<T>::uninitialized(Shape{g.batch, out_channels, g.out_h, g.out_w});
  sample_conv_forward(x.value().data(), weight.value().data(), bias.defined() ? bias.value().data() : nullptr,
                      g, out_channels, out.data(), Accumulate::no);

  const auto first_order = [g, out_channels](Node<T>& self) {
    sample_conv_backward(self.input_value(0).data(), self.input_value(1).data(), self.grad.data(), g, out_channels,
                         self.input_grad_data(1), self.input_grad_data(2), self.input_grad_data(0));
  };
  return make_result<T>(std::move(out), "conv2d", {x, weight, bias},
                        BackwardRules{first_order, detail::Conv2dGraphRule<T>{stride, padding}});
}

}  // namespace tinygan

#include "tinygan/ops/conv2d_grads.hpp"  // the gradient ops conv2d's graph rule is made of
