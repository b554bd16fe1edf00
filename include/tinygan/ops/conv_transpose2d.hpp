/// \file
/// conv_transpose2d: the gradient of conv2d with respect to its input, used as
/// an upsampling layer. x [N, IC, H, W], weight [IC, OC, kh, kw] (PyTorch's
/// layout), output [N, OC, (H-1)s - 2p + kh + output_padding, likewise W].
#pragma once

#include "tinygan/autograd/var.hpp"
#include "tinygan/ops/channels.hpp"
#include "tinygan/ops/conv2d.hpp"
#include "tinygan/ops/sample_conv.hpp"
#include "tinygan/ops/winograd_conv.hpp"

namespace tinygan {

namespace detail {
/// conv_transpose2d's backward as a graph: it is conv2d's input gradient, so
/// its own gradients are conv2d (for x) and conv2d's weight gradient.
template <class T>
struct ConvTranspose2dGraphRule {
  Index stride, padding;
  void operator()(GradGraph<T>& g) const {
    const Shape& w = g.input_value(1).shape();
    if (g.needs(0)) g.add(0, conv2d(g.grad(), g.input(1), Var<T>(), stride, padding));
    if (g.needs(1)) g.add(1, conv2d_weight_grad(g.grad(), g.input(0), w[2], w[3], stride, padding));
    if (g.needs(2)) g.add(2, sum_channels(g.grad()));
  }
};

/// conv_transpose2d through tap_conv.hpp: the input gradient of the
/// convolution t describes, whose input side is this layer's output.
template <class T>
Var<T> conv_transpose2d_by_taps(const Var<T>& x, const Var<T>& weight, const Var<T>& bias,
                                const TapGeometry& t) {
  const ConvGeometry& g = t.conv;
  Tensor<T> pixels = Tensor<T>::uninitialized(Shape{t.output().size()});
  to_pixels(x.value().data(), t.output(), pixels.data());
  Tensor<T> taps = Tensor<T>::uninitialized(Shape{t.taps() * g.channels * t.out_channels});
  pack_taps(weight.value().data(), t, taps.data());
  Tensor<T> image = Tensor<T>::uninitialized(Shape{t.input().size()});
  tap_conv_input_grad(pixels.data(), taps.data(), t, image.data());
  Tensor<T> out = Tensor<T>::uninitialized(Shape{g.batch, g.channels, g.height, g.width});
  from_pixels(image.data(), t.input(), out.data(), false);
  if (bias.defined())
    add_channel_bias(out.data(), bias.value().data(), g.batch, g.channels, g.plane());

  auto first_order = [t, pixels = std::move(pixels), taps = std::move(taps)](Node<T>& self) {
    const ConvGeometry& g = t.conv;
    Tensor<T> dout = Tensor<T>::uninitialized(Shape{t.input().size()});
    to_pixels(self.grad.data(), t.input(), dout.data());
    if (auto* gw = self.input_grad(1)) {
      Tensor<T> dtaps = Tensor<T>::uninitialized(Shape{t.groups * taps.numel()});
      tap_conv_weight_grad(dout.data(), pixels.data(), t, dtaps.data(), dtaps.data() + taps.numel());
      unpack_taps_add(dtaps.data(), t, gw->data());
    }
    if (auto* gb = self.input_grad(2))
      add_channel_sums(self.grad.data(), g.batch, g.channels, g.plane(), gb->data());
    if (auto* gx = self.input_grad(0)) {
      Tensor<T> dx = Tensor<T>::uninitialized(Shape{t.output().size()});
      tap_conv_forward(dout.data(), taps.data(), t, dx.data());
      from_pixels(dx.data(), t.output(), gx->data(), true);
    }
  };
  return make_result<T>(std::move(out), "conv_transpose2d", {x, weight, bias},
                        BackwardRules{std::move(first_order), ConvTranspose2dGraphRule<T>{g.stride, g.padding}});
}

/// conv_transpose2d through winograd_conv.hpp: with stride 1 it is a
/// correlation of x with the flipped kernel and padding k - 1 - p.
template <class T>
Var<T> conv_transpose2d_by_winograd(const Var<T>& x, const Var<T>& weight, const Var<T>& bias,
                                    const WinogradGeometry& w, Index padding) {
  Tensor<T> pixels = Tensor<T>::uninitialized(Shape{w.input().size()});
  to_pixels(x.value().data(), w.input(), pixels.data());
  Tensor<T> u = Tensor<T>::uninitialized(Shape{w.kernel_size()});
  winograd_kernels_of_transposed(weight.value().data(), w, u.data());
  Tensor<T> v = Tensor<T>::uninitialized(Shape{w.input_tiles_size()});
  Tensor<T> image = Tensor<T>::uninitialized(Shape{w.output().size()});
  winograd_forward(pixels.data(), u.data(), w, v.data(), image.data());
  Tensor<T> out = Tensor<T>::uninitialized(Shape{w.batch, w.out_channels, w.out_h(), w.out_w()});
  from_pixels(image.data(), w.output(), out.data(), false);
  if (bias.defined())
    add_channel_bias(out.data(), bias.value().data(), w.batch, w.out_channels, w.out_h() * w.out_w());

  auto first_order = [w, u = std::move(u), v = std::move(v)](Node<T>& self) {
    Tensor<T> dout = Tensor<T>::uninitialized(Shape{w.output().size()});
    to_pixels(self.grad.data(), w.output(), dout.data());
    T* gw = self.input_grad_data(1);
    T* gx = self.input_grad_data(0);
    Tensor<T> du = Tensor<T>::uninitialized(Shape{gw ? w.kernel_size() : 0});
    Tensor<T> dx = Tensor<T>::uninitialized(Shape{gx ? w.input().size() : 0});
    winograd_backward(dout.data(), u.data(), v.data(), w, gw ? du.data() : nullptr, gx ? dx.data() : nullptr);
    if (gw) winograd_kernel_grad_of_transposed(du.data(), w, gw);
    if (T* gb = self.input_grad_data(2))
      add_channel_sums(self.grad.data(), w.batch, w.out_channels, w.out_h() * w.out_w(), gb);
    if (gx) from_pixels(dx.data(), w.input(), gx, true);
  };
  return make_result<T>(std::move(out), "conv_transpose2d", {x, weight, bias},
                        BackwardRules{std::move(first_order), ConvTranspose2dGraphRule<T>{1, padding}});
}
}  // namespace detail

template <class T>
Var<T> conv_transpose2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias = {},
                        Index stride = 1, Index padding = 0, Index output_padding = 0) {
  detail::check_conv_args("conv_transpose2d", x, weight, 0, stride, padding);
  check(output_padding >= 0 && output_padding < stride,
        "conv_transpose2d: expected 0 <= output_padding < stride (", stride, "), found ",
        output_padding);
  const Shape& xs = x.shape();
  const Index in_channels = xs[1], out_channels = weight.shape()[1];
  const Index kh = weight.shape()[2], kw = weight.shape()[3];
  const Index out_h = (xs[2] - 1) * stride - 2 * padding + kh + output_padding;
  const Index out_w = (xs[3] - 1) * stride - 2 * padding + kw + output_padding;
  check(out_h >= 1 && out_w >= 1, "conv_transpose2d: padding ", padding,
        " leaves no output for input ", xs, " and kernel ", kh, "x", kw);
  check(!bias.defined() || bias.shape() == Shape{out_channels}, "conv_transpose2d: expected bias [",
        out_channels, "], found ", bias.defined() ? bias.shape() : Shape{});
  // The columns are those of a conv2d over the output that would give back x.
  const auto g = ConvGeometry::of(xs[0], out_channels, out_h, out_w, kh, kw, stride, padding);
  check(g.out_h == xs[2] && g.out_w == xs[3], "conv_transpose2d: internal geometry mismatch for ",
        xs);

  const Index flipped_padding = kh - 1 - padding;
  if (WinogradGeometry::applies(kh, kw, stride, flipped_padding, in_channels, out_channels))
    return detail::conv_transpose2d_by_winograd(
        x, weight, bias, WinogradGeometry{xs[0], in_channels, out_channels, xs[2], xs[3], flipped_padding}, padding);

  // As a convolution it runs from the output (OC channels) back to x (IC channels).
  const TapGeometry t = TapGeometry::of(g, in_channels);
  if (t.worthwhile()) return detail::conv_transpose2d_by_taps(x, weight, bias, t);

  Tensor<T> out(Shape{g.batch, out_channels, out_h, out_w});
  sample_conv_input_grad(x.value().data(), weight.value().data(), g, in_channels, out.data());
  if (bias.defined())
    add_channel_bias(out.data(), bias.value().data(), g.batch, out_channels, g.plane());

  const auto first_order = [g, in_channels](Node<T>& self) {
    sample_conv_transpose_backward(self.input_value(0).data(), self.input_value(1).data(), self.grad.data(), g,
                                   in_channels, self.input_grad_data(1), self.input_grad_data(0));
    if (auto* gb = self.input_grad(2))
      add_channel_sums(self.grad.data(), g.batch, g.channels, g.plane(), gb->data());
  };
  return make_result<T>(std::move(out), "conv_transpose2d", {x, weight, bias},
                        BackwardRules{first_order, detail::ConvTranspose2dGraphRule<T>{stride, padding}});
}

}  // namespace tinygan
